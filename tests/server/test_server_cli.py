"""``responses-fast serve`` as a subprocess: --help, startup line, a request, clean stop."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx

CMD = [sys.executable, "-c", "from responses_fast.cli.main import main; raise SystemExit(main())"]


def test_serve_help() -> None:
    out = subprocess.run([*CMD, "serve", "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    for flag in ("--host", "--port", "--script", "--tokens-per-second", "--ttft",
                 "--api-key-env"):
        assert flag in out.stdout


def test_serve_runs_a_script(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"tokens_per_second": 0, "turns": [["from the file"]]}))
    with subprocess.Popen([*CMD, "serve", "--port", "0", "--script", str(script)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            base = line.split(" on ")[1].split(" ")[0]
            r = httpx.post(f"{base}/responses", json={"model": "scripted", "input": "x"},
                           timeout=30)
            assert r.json()["output"][0]["content"][0]["text"] == "from the file"
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
    assert "Traceback" not in err
    assert proc.returncode == 0


def test_serve_missing_key_env() -> None:
    out = subprocess.run([*CMD, "serve", "--api-key-env", "RF_SURELY_UNSET_VAR"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "RF_SURELY_UNSET_VAR" in out.stderr

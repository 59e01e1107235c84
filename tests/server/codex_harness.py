"""Run the real Codex CLI against the local server; meant to run inside ``unshare -rn``.

Usage: ``python codex_harness.py SPEC.json`` where SPEC has ``codex`` (the binary), ``script``
(the scripted model's turns), ``prompt``, ``workdir``, ``codex_home``, ``websocket`` (bool),
``provider`` (``"custom"``: a ``model_providers`` entry with ``wire_api = "responses"``;
``"openai"``: the built-in provider with ``openai_base_url``), ``extra_config`` (TOML lines) and
``cli`` (true: the server is the ``responses-fast serve`` command, started here, and no records
come back; false: the same server in this process, whose request records come back).
The server and Codex share the private network namespace, so only loopback exists. Prints one
JSON object: Codex's exit code, stdout and stderr, and the server's request records.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from responses_fast.server import serve_in_thread

#: A model catalog entry for model "scripted", so Codex offers apply_patch as a freeform tool.
CATALOG: dict[str, Any] = {"models": [{
    "slug": "scripted", "display_name": "scripted", "description": "responses_fast scripted model",
    "supports_reasoning_summaries": False, "support_verbosity": False,
    "default_verbosity": None, "apply_patch_tool_type": "freeform",
    "input_modalities": ["text"], "truncation_policy": {"mode": "tokens", "limit": 10000},
    "supports_parallel_tool_calls": True, "context_window": 272000,
    "reasoning_summary_format": "none", "default_reasoning_level": None,
    "supported_reasoning_levels": [], "shell_type": "shell_command", "visibility": "list",
    "minimal_client_version": "0.0.1", "supported_in_api": True, "upgrade": None,
    "priority": 0, "base_instructions": "You are a scripted test model.",
    "experimental_supported_tools": [],
}]}


def config_toml(spec: dict[str, Any], base_url: str, catalog: Path) -> str:
    lines = ['model = "scripted"', f"model_catalog_json = {json.dumps(str(catalog))}"]
    if spec["provider"] == "openai":
        lines += ['model_provider = "openai"', f"openai_base_url = {json.dumps(base_url)}"]
    else:
        lines.append('model_provider = "rf"')
    lines += spec.get("extra_config", [])  # top-level keys: before the first table
    # Nothing to phone home to in the namespace; analytics alone made every run wait ~5 s.
    lines += ["check_for_update_on_startup = false", "[analytics]", "enabled = false",
              "[feedback]", "enabled = false", "[history]", 'persistence = "none"']
    if spec["provider"] != "openai":
        lines += [
            "[model_providers.rf]",
            'name = "responses-fast"',
            f"base_url = {json.dumps(base_url)}",
            'wire_api = "responses"',
            'env_key = "RF_API_KEY"',
            f"supports_websockets = {'true' if spec['websocket'] else 'false'}",
            "request_max_retries = 0",
            "stream_max_retries = 0",
        ]
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def cli_server(script: Any, home: Path) -> Iterator[str]:
    """``responses-fast serve`` on a free port; yields its base URL (from its first line)."""
    script_file = home / "script.json"
    script_file.write_text(json.dumps(script))
    command = [sys.executable, "-c", "from responses_fast.cli.main import main; main()",
               "serve", "--port", "0", "--script", str(script_file)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # "responses_fast local server on http://... (ws: ...)"
        yield line.split(" on ", 1)[1].split()[0]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_codex(spec: dict[str, Any], home: Path, base_url: str) -> subprocess.CompletedProcess[str]:
    catalog = home / "catalog.json"
    catalog.write_text(json.dumps(CATALOG))
    (home / "config.toml").write_text(config_toml(spec, base_url, catalog))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "CODEX_HOME": str(home), "RF_API_KEY": "sk-local", "OPENAI_API_KEY": "sk-local"}
    return subprocess.run(
        [spec["codex"], "exec", "--skip-git-repo-check",
         "--dangerously-bypass-approvals-and-sandbox", "-C", spec["workdir"], spec["prompt"]],
        env=env, capture_output=True, text=True, timeout=spec.get("timeout", 90),
        stdin=subprocess.DEVNULL, check=False)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    home = Path(spec["codex_home"])
    records: list[dict[str, Any]] = []
    if spec.get("cli"):
        with cli_server(spec["script"], home) as base_url:
            proc = run_codex(spec, home, base_url)
    else:
        with serve_in_thread(spec["script"]) as server:
            proc = run_codex(spec, home, server.base_url)
            records = [dataclasses.asdict(r) for r in server.requests]
    print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                      "records": records}))


if __name__ == "__main__":
    main()

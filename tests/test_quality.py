"""Static checks run by the test command: types (mypy --strict), lint (ruff) and layering."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed (it is in the dev extra)")
    return found


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_mypy_strict_on_the_package() -> None:
    proc = _run(_tool("mypy"))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_ruff_is_clean() -> None:
    proc = _run(_tool("ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_layer_contracts_hold() -> None:
    proc = _run(_tool("lint-imports"))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_public_api_is_documented() -> None:
    import responses_fast

    api_doc = (ROOT / "docs" / "api.md").read_text()
    missing = [name for name in responses_fast.__all__ if f"`{name}" not in api_doc]
    assert not missing, f"public names missing from docs/api.md: {missing}"

"""Static checks run by the test command: types (mypy --strict), lint (ruff) and layering."""

from __future__ import annotations

import re
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


#: Public names users receive rather than build: documented by their fields, not a signature.
_RESULT_TYPES = {"RunResult", "TurnMetrics", "Usage", "Event", "RunStream", "SessionSnapshot"}


def _doc_signature(doc: str, name: str) -> str | None:
    """The parameter list written in docs/api.md for ``name`` (``Name(...)`` in backticks)."""
    for m in re.finditer(rf"`@?{re.escape(name)}\(([^`]*)\)`", doc):
        inner, depth = m.group(1), 0
        for ch in inner:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth < 0:
                break  # `Name(path).method(x)` is not a signature
        else:
            if depth == 0:
                return inner
    return None


def _default_text(value: object) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value.is_integer() and value >= 1e4:
        return str(int(value))
    return repr(value)


def test_public_signatures_and_defaults_are_documented() -> None:
    """Every public class and function shows its parameters and their defaults in docs/api.md,
    in the code's order (the page is what a user reads instead of the source)."""
    import dataclasses
    import inspect

    import responses_fast

    doc = (ROOT / "docs" / "api.md").read_text()
    problems: list[str] = []
    for name in responses_fast.__all__:
        obj = getattr(responses_fast, name)
        if name in _RESULT_TYPES or (isinstance(obj, type) and issubclass(obj, BaseException)):
            continue
        if not callable(obj):
            continue
        written = _doc_signature(doc, name)
        if written is None:
            problems.append(f"{name}: no `{name}(...)` signature in docs/api.md")
            continue
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            continue
        documented = [p.strip() for p in written.split(",") if p.strip() and p.strip() != "*"]
        is_dc = dataclasses.is_dataclass(obj)
        fields = {f.name: f for f in dataclasses.fields(obj)} if is_dc else {}
        expected = []
        for p in sig.parameters.values():
            if p.kind is p.POSITIONAL_ONLY and p.default is None:
                continue  # a decorator's function argument (``@tool`` / ``tool(fn)``)
            field = fields.get(p.name)
            if field is not None and field.default_factory is not dataclasses.MISSING:
                expected.append(f"{p.name}={_default_text(field.default_factory())}")
            elif p.kind is p.VAR_KEYWORD:
                expected.append(f"**{p.name}")
            elif p.kind is p.VAR_POSITIONAL:
                expected.append(f"*{p.name}")
            elif p.default is p.empty:
                expected.append(p.name)
            else:
                expected.append(f"{p.name}={_default_text(p.default)}")
        if [d for d in documented if d != "/"] != expected:
            problems.append(f"{name}: docs say ({written}), the code is ({', '.join(expected)})")
    assert not problems, "docs/api.md is out of step:\n" + "\n".join(problems)

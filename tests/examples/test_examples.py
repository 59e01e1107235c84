"""Every example script and the quickstart notebook run, without an API key, against the local
server they start themselves (examples/ in the source checkout)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))
NO_KEYS = {"OPENAI_API_KEY", "CEREBRAS_API_KEY", "OPENAI_BASE_URL", "CEREBRAS_BASE_URL"}

#: What each script must print, so a silent no-op does not pass.
EXPECTED = {
    "bugfix.py": "tests: PASSED",
    "custom_tools.py": "12 apples",
    "streaming_events.py": "done (completed)",
    "cerebras_example.py": "9 words",
    "durable_session.py": "resumed with 4 saved items",
    "mcp_tools.py": "the MCP tool answered: Lyon: sunny, 21 C",
    "typed_output.py": "3 days in Paris: Louvre, Montmartre",
    "tool_context.py": "call call_0_0 in turn 1 for ada",
    "subagents.py": "writer alone: Headline(text='Rivers Shape Europe', words=3)",
    "tracing.py": "execute_tool word_count",
    "hooks.py": "balances unchanged: {'alice': 120, 'bob': 30}",
}


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in NO_KEYS}


def test_every_example_is_covered() -> None:
    assert set(SCRIPTS) == set(EXPECTED)
    assert (EXAMPLES / "quickstart.ipynb").is_file()


@pytest.mark.parametrize("name", SCRIPTS)
def test_example_runs_without_a_key(name: str) -> None:
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(),
        cwd=EXAMPLES.parent,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "local server" in proc.stdout
    assert EXPECTED[name] in proc.stdout


def test_quickstart_notebook_runs_top_to_bottom(monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    for key in NO_KEYS:
        monkeypatch.delenv(key, raising=False)
    nb = nbformat.read(EXAMPLES / "quickstart.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "clear outputs"
    # kernel "python3" resolves to this interpreter's ipykernel (jupyter_client's native kernel),
    # so a fresh machine needs no 'ipykernel install'.
    client = nbclient.NotebookClient(
        nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(EXAMPLES)}}
    )
    client.execute()
    text = "\n".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
    )
    assert "tests: PASSED" in text
    assert "local server" in text
    assert "turn 5: wall" in text

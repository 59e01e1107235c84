"""Every Python block of README.md and docs/ runs (issue 14), against the local server.

Each block runs as its own script in a fresh interpreter, in an empty temporary folder, with
``OPENAI_BASE_URL`` pointing at a local server that serves every model name (``any_model``: the
echo model, since no script is loaded) and a throwaway key. Markers, on the line just before a
block's fence:

- ``<!-- docs-test: skip REASON -->``: not run; REASON says why (a real API key, a service that
  cannot run here). Every skip is listed by name in the test ids.
- ``<!-- docs-test: continue -->``: runs after the previous block of the same page, in the same
  script (a page that builds an example over several blocks).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from responses_fast.server import ServerThread, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_FENCE = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
_MARK = re.compile(r"<!--\s*docs-test:\s*(skip|continue)\b\s*(.*?)\s*-->\s*$")
KEYS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "CEREBRAS_API_KEY", "CEREBRAS_BASE_URL")


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    code: str
    skip: str | None  # the reason, when marked skip

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}" + (" [skip]" if self.skip else "")


def collect() -> list[Block]:
    blocks: list[Block] = []
    for page in PAGES:
        text = page.read_text()
        name = str(page.relative_to(ROOT))
        for m in _FENCE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            before = text[: m.start()].rstrip("\n").rsplit("\n", 1)[-1]
            mark = _MARK.search(before)
            code = m.group(1)
            if mark and mark.group(1) == "continue":
                prev = next((b for b in reversed(blocks) if b.page == name), None)
                if prev is None:
                    raise AssertionError(f"{name}:{line}: 'continue' without an earlier block")
                blocks.remove(prev)
                blocks.append(Block(name, prev.line, prev.code + "\n" + code, prev.skip))
                continue
            reason = mark.group(2) if mark and mark.group(1) == "skip" else None
            blocks.append(Block(name, line, code, reason))
    return blocks


BLOCKS = collect()


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with serve_in_thread(tokens_per_second=None, any_model=True) as srv:
        yield srv


def test_there_are_blocks_and_every_skip_says_why() -> None:
    assert len(BLOCKS) >= 10
    for block in BLOCKS:
        if block.skip is not None:
            assert len(block.skip) >= 8, f"{block.id}: a skip needs a reason"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.skip is None], ids=lambda b: b.id)
def test_python_block_runs(block: Block, server: ServerThread, tmp_path: Path) -> None:
    script = tmp_path / "block.py"
    script.write_text(block.code)
    env = {k: v for k, v in os.environ.items() if k not in KEYS}
    env.update(OPENAI_BASE_URL=server.base_url, OPENAI_API_KEY="sk-docs-test-0000")
    proc = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"{block.id} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.skip], ids=lambda b: b.id)
def test_skipped_block_is_still_valid_python(block: Block) -> None:
    compile(block.code, block.id, "exec")  # at least it parses

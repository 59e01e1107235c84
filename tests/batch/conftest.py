"""Fixtures of the batch tests: the local server playing the sample scripts, one sample run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from _batch_helpers import TEST_SPEED, final_turns

from responses_fast.batch import BatchSummary, run_batch, sample_scripts, sample_tasks
from responses_fast.server import ServerThread, serve_in_thread


@pytest.fixture(scope="session")
def sample_server() -> Iterator[ServerThread]:
    with serve_in_thread(None, scripts=sample_scripts(), tokens_per_second=TEST_SPEED) as server:
        yield server


@pytest.fixture(scope="session")
def local_sample_run(
    sample_server: ServerThread, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BatchSummary, Path, Counter[str]]:
    """The whole sample batch on one machine (-j 2), once per session: summary, store, and the
    server's final-turn counts."""
    out = tmp_path_factory.mktemp("local") / "results.db"
    before = final_turns(sample_server)
    summary = run_batch(sample_tasks(), out, jobs=2, base_url=sample_server.base_url)
    after = final_turns(sample_server)
    after.subtract(before)
    return summary, out, after

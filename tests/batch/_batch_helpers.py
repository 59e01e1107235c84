"""Helpers shared by the batch tests (imported by name: tests/ has no packages)."""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path
from typing import Any

from responses_fast.batch import ResultStore, TaskSpec
from responses_fast.server import ServerThread

#: The sample's last turn (the answer after the tests pass): one per task run to completion.
FINAL_TURN = 4
#: Fast pacing for tests (the benchmark uses 1000 tokens/s).
TEST_SPEED = 20_000


def with_fault(script: dict[str, Any], turn: int, fault: dict[str, Any]) -> dict[str, Any]:
    """A copy of a sample script whose ``turn`` carries ``fault``."""
    out = copy.deepcopy(script)
    t = out["turns"][turn]
    out["turns"][turn] = (
        {"output": t, "fault": fault} if isinstance(t, list) else {**t, "fault": fault}
    )
    return out


def final_turns(server: ServerThread) -> Counter[str]:
    """Per task id: how many times the server played its final turn to completion."""
    return Counter(
        (r.model or "").removeprefix("scripted:")
        for r in server.requests
        if r.turn_index == FINAL_TURN and r.status == "completed"
    )


def requests_by_task(server: ServerThread) -> Counter[str]:
    return Counter((r.model or "").removeprefix("scripted:") for r in server.requests)


def write_tasks(path: Path, tasks: list[TaskSpec]) -> Path:
    path.write_text("".join(t.model_dump_json() + "\n" for t in tasks))
    return path


def per_task(path: Path) -> dict[str, tuple[str, str]]:
    """task id -> (status, diff) of a store."""
    with ResultStore.read(path) as store:
        return {r["task_id"]: (r["status"], r["diff"]) for r in store.results()}

"""The task file: validation with the line named, and a bad file touches no store."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from responses_fast.batch import ResultStore, TaskFileError, load_tasks, run_batch

GOOD = {"id": "t1", "prompt": "fix it", "workspace": {"path": "repo"}, "check": "true"}


def _file(tmp_path: Path, *lines: str) -> Path:
    (tmp_path / "repo").mkdir(exist_ok=True)
    path = tmp_path / "tasks.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_good_file_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    path = _file(tmp_path, "# a comment", json.dumps(GOOD), "", json.dumps({**GOOD, "id": "t2"}))
    tasks = load_tasks(path)
    assert [t.id for t in tasks] == ["t1", "t2"]
    assert tasks[0].workspace.path == str((tmp_path / "repo").resolve())
    assert tasks[0].max_turns == 30 and tasks[0].tools is None


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "a task is a JSON object"),
        (json.dumps({**GOOD, "prompt": ""}), "prompt"),
        (
            json.dumps({k: v for k, v in GOOD.items() if k != "workspace"}),
            "workspace: Field required",
        ),
        (json.dumps({**GOOD, "workspace": {"path": "a", "git": "b"}}), "exactly one of"),
        (
            json.dumps({**GOOD, "workspace": {"path": "a", "commit": "abc"}}),
            "'commit' goes with 'git'",
        ),
        (json.dumps({**GOOD, "tools": ["rm_rf"]}), "tools.0"),
        (json.dumps({**GOOD, "max_turns": 0}), "max_turns"),
        (json.dumps({**GOOD, "colour": "red"}), "colour: Extra inputs"),
        (json.dumps({**GOOD, "id": "has space"}), "id: String should match"),
        (json.dumps(GOOD), "task id 't1' already used on line 1"),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, line: str, needle: str) -> None:
    path = _file(tmp_path, json.dumps(GOOD), line)
    with pytest.raises(TaskFileError) as info:
        load_tasks(path)
    assert info.value.line == 2
    assert f"{path}:2: " in str(info.value)
    assert needle in str(info.value)


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="does not exist"):
        load_tasks(tmp_path / "nope.jsonl")
    with pytest.raises(TaskFileError, match="no tasks"):
        load_tasks(_file(tmp_path, "", "# nothing"))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_bad_file_leaves_an_existing_store_untouched(tmp_path: Path) -> None:
    db = tmp_path / "results.db"
    good = load_tasks(_file(tmp_path, json.dumps(GOOD)))
    with ResultStore.open(db) as store:
        store.register(good)
        run = store.begin_run("local", {})
        attempt = store.claim("t1", run, "w")
        store.finish(attempt, {"passed": True, "final_text": "done", "diff": ""})
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = _digest(db)
    bad = _file(tmp_path, json.dumps({**GOOD, "id": "t2"}), "{oops")
    with pytest.raises(TaskFileError, match=":2: not valid JSON"):
        run_batch(bad, db, jobs=1)
    assert _digest(db) == before
    with ResultStore.read(db) as store:
        assert [(r["task_id"], r["final_text"]) for r in store.results()] == [("t1", "done")]


def test_the_cli_names_the_line_and_creates_no_store(tmp_path: Path) -> None:
    bad = _file(tmp_path, json.dumps(GOOD), json.dumps({**GOOD, "id": "t2", "max_turns": -1}))
    db = tmp_path / "out.db"
    proc = subprocess.run(
        [sys.executable, "-m", "responses_fast.cli", "batch", str(bad), "--out", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert f"{bad}:2: max_turns" in lines[0]
    assert not db.exists()


def test_a_changed_task_under_a_known_id_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "results.db"
    first = load_tasks(_file(tmp_path, json.dumps(GOOD)))
    with ResultStore.open(db) as store:
        store.register(first)
    changed = load_tasks(_file(tmp_path, json.dumps({**GOOD, "prompt": "something else"})))
    with ResultStore.open(db) as store, pytest.raises(Exception, match="different definition"):
        store.register(changed)

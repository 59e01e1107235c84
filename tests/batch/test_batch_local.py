"""The batch on one machine against the local server: worker processes, real sessions, real
tests as checks, the store on disk."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from _batch_helpers import TEST_SPEED, final_turns, requests_by_task, with_fault

from responses_fast.batch import (
    BatchEvent,
    BatchSummary,
    ResultStore,
    TaskSpec,
    WorkspaceSource,
    run_batch,
    sample_scripts,
    sample_tasks,
)
from responses_fast.batch.samples import sample_dir
from responses_fast.server import ServerThread, serve_in_thread


def test_the_sample_batch_passes_every_check(
    local_sample_run: tuple[BatchSummary, Path, Counter[str]],
) -> None:
    summary, db, completions = local_sample_run
    assert summary.counts == {"passed": 20}
    assert (summary.finished, summary.retries, summary.crashes) == (20, 0, 0)
    fixes = json.loads((sample_dir() / "fixes.json").read_text())
    assert set(fixes) == {t.id for t in sample_tasks()}
    with ResultStore.read(db) as store:
        results = store.results()
        assert {r["task_id"] for r in results} == set(fixes)
        for r in results:
            assert r["check_exit_code"] == 0, r["check_output_tail"]
            assert "OK" in r["check_output_tail"]
            fix = fixes[r["task_id"]]
            changed = [
                ln
                for ln in r["diff"].splitlines()
                if ln[:1] in "+-" and ln[:3] not in ("---", "+++")
            ]
            assert changed == ["-" + fix["old"], "+" + fix["new"]], r["diff"]
            assert len(r["turns"]) == 5 and r["tool_calls"] == 4
            assert r["usage"]["total_tokens"] > 0 and r["attempts"] == 1
        assert all(a["status"] == "done" for a in store.attempts())
    # the server saw each task answered exactly once
    assert completions == Counter(dict.fromkeys(fixes, 1))


def test_a_second_run_skips_every_finished_task(
    local_sample_run: tuple[BatchSummary, Path, Counter[str]], sample_server: ServerThread
) -> None:
    _, db, _ = local_sample_run
    before = len(sample_server.requests)
    summary = run_batch(sample_tasks(), db, jobs=1, base_url=sample_server.base_url)
    assert (summary.runnable, summary.finished) == (0, 0)
    assert len(sample_server.requests) == before
    with ResultStore.read(db) as store:
        assert len(store.attempts()) == 20


def test_a_failing_check_is_recorded_with_its_output(tmp_path: Path) -> None:
    task = sample_tasks()[0].model_copy(update={"model": "scripted:lazy", "id": "lazy"})
    scripts = {"lazy": [["I am sure it is fine."]]}
    with serve_in_thread(None, scripts=scripts, tokens_per_second=TEST_SPEED) as server:
        db = tmp_path / "r.db"
        summary = run_batch([task], db, jobs=1, base_url=server.base_url)
        assert summary.counts == {"failed": 1}
        with ResultStore.read(db) as store:
            (r,) = store.results()
        assert r["status"] == "failed" and r["run_status"] == "completed"
        assert r["check_exit_code"] == 1
        assert "FAILED (failures=1)" in r["check_output_tail"]
        assert r["diff"] == "" and r["final_text"] == "I am sure it is fine."
        # failed is final: a re-run leaves it alone unless asked
        assert run_batch([task], db, jobs=1, base_url=server.base_url).runnable == 0
        again = run_batch([task], db, jobs=1, base_url=server.base_url, retry_failed=True)
        assert again.finished == 1
        with ResultStore.read(db) as store:
            assert store.tasks()[0].attempts == 2


def test_a_killed_worker_has_its_task_retried(tmp_path: Path, sample_server: ServerThread) -> None:
    tasks = sample_tasks()[:4]
    victim = tasks[1].id
    killed: list[int] = []

    def on_event(event: BatchEvent) -> None:
        if event.kind == "started" and event.task_id == victim and not killed:
            assert event.pid is not None
            os.kill(event.pid, signal.SIGKILL)
            killed.append(event.pid)

    db = tmp_path / "r.db"
    summary = run_batch(tasks, db, jobs=1, concurrency=2, base_url=sample_server.base_url,
                        on_event=on_event)  # fmt: skip
    assert killed and summary.crashes >= 1
    assert summary.counts == {"passed": 4}
    with ResultStore.read(db) as store:
        attempts = store.attempts(victim)
        assert [a["status"] for a in attempts] == ["crashed", "done"]
        assert str(killed[0]) in attempts[0]["worker"]
        assert "died" in attempts[0]["error"]
        assert {r["task_id"]: r["attempts"] for r in store.results()}[victim] == 2


@pytest.mark.slow  # ~10 s: the storm halves the shared rate, which then has to grow back
def test_a_429_storm_slows_the_batch_instead_of_failing_it(tmp_path: Path) -> None:
    scripts = sample_scripts()
    tasks = sample_tasks()[:6]
    stormy = tasks[0].id
    # More 429s on its first turn than one session retries (8 attempts): the attempt is handed
    # back as rate-limited (not counted) and the task still passes on the next one.
    storm = {"kind": "http_status", "status": 429, "retry_after": 0.1, "times": 10}
    scripts[stormy] = with_fault(scripts[stormy], 0, storm)
    with serve_in_thread(None, scripts=scripts, tokens_per_second=TEST_SPEED) as server:
        db = tmp_path / "r.db"
        summary = run_batch(tasks, db, jobs=1, concurrency=6, base_url=server.base_url)
        refused = sum(1 for r in server.requests if r.error_code == "rate_limit_exceeded")
        assert refused == 10
        assert requests_by_task(server)[stormy] == 10 + 5
    assert summary.counts == {"passed": 6}
    assert summary.rate_limited == 1 and summary.throttles == 10
    # the pauses held back the other tasks' requests too, not only the stormy task's retries
    assert summary.delayed_requests > 10
    with ResultStore.read(db) as store:
        assert all(r["attempts"] == 1 for r in store.results())
        statuses = [a["status"] for a in store.attempts(stormy)]
        assert statuses == ["rate_limited", "done"]
    assert final_turns(server)[stormy] == 1


def _git(*args: str, cwd: Path) -> str:
    who = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t"}
    env = {**os.environ, **who, "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_a_git_workspace_at_a_commit(tmp_path: Path, sample_server: ServerThread) -> None:
    task = sample_tasks()[0]  # clamp
    repo = tmp_path / "repo"
    shutil.copytree(str(task.workspace.path), repo)
    _git("init", "-q", cwd=repo)
    _git("add", "-A", cwd=repo)
    _git("commit", "-qm", "buggy", cwd=repo)
    buggy = _git("rev-parse", "HEAD", cwd=repo)
    (repo / "clamp.py").write_text((repo / "clamp.py").read_text().replace("lo))", "hi))"))
    _git("commit", "-qam", "fixed upstream", cwd=repo)
    spec = task.model_copy(update={"workspace": WorkspaceSource(git=str(repo), commit=buggy)})
    db = tmp_path / "r.db"
    summary = run_batch([spec], db, jobs=1, base_url=sample_server.base_url)
    assert summary.counts == {"passed": 1}
    with ResultStore.read(db) as store:
        (r,) = store.results()
    assert r["diff"].startswith("diff --git a/clamp.py b/clamp.py")
    assert (
        "-    return max(lo, min(x, lo))" in r["diff"]
        and "+    return max(lo, min(x, hi))" in r["diff"]
    )


def test_typed_output_is_stored_parsed(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}}
    spec = TaskSpec(id="typed", prompt="6 * 7?", workspace=WorkspaceSource(path=str(folder)),
                    model="scripted:typed", tools=[], output_schema=schema)  # fmt: skip
    scripts = {"typed": [['{"answer": 42}']]}
    with serve_in_thread(None, scripts=scripts, tokens_per_second=TEST_SPEED) as server:
        run_batch([spec], tmp_path / "r.db", jobs=1, base_url=server.base_url)
    with ResultStore.read(tmp_path / "r.db") as store:
        (r,) = store.results()
    assert r["status"] == "passed" and r["output"] == {"answer": 42}


def test_the_key_reaches_workers_but_not_their_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-batch-test-0123456789abcdef0123456789"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    monkeypatch.setenv("SOME_SERVICE_TOKEN", "tok-should-not-leak")
    folder = tmp_path / "ws"
    folder.mkdir()
    spec = TaskSpec(id="env", prompt="hi", workspace=WorkspaceSource(path=str(folder)),
                    model="scripted:env", tools=[], check="env")  # fmt: skip
    with serve_in_thread(None, scripts={"env": [["hello"]]}, api_key=key,
                         tokens_per_second=TEST_SPEED) as server:  # fmt: skip
        summary = run_batch([spec], tmp_path / "r.db", jobs=1, base_url=server.base_url,
                            api_key=key)  # fmt: skip
    assert summary.counts == {"passed": 1}  # the server required the key: it got there
    with ResultStore.read(tmp_path / "r.db") as store:
        (r,) = store.results()
        runs = store.conn.execute("SELECT options FROM runs").fetchall()
    tail = r["check_output_tail"]
    assert "PATH=" in tail  # the check printed its environment
    assert key not in tail and "tok-should-not-leak" not in tail
    assert key not in repr(runs)

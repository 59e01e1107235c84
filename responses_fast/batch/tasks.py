"""The task file: one JSON object per line, validated with pydantic before anything runs.

A bad line raises :class:`TaskFileError` naming the file, the line and the field; nothing is
written to a results store until the whole file has been read and validated.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import ConfigurationError

__all__ = [
    "BUILTIN_TOOLS",
    "TaskFileError",
    "TaskSpec",
    "WorkspaceSource",
    "load_tasks",
    "parse_tasks",
]

#: The tools a task may name in ``tools`` (the built-in coding tools).
BUILTIN_TOOLS = ("shell", "read_file", "list_files", "search_files", "apply_patch")


class TaskFileError(ConfigurationError):
    """A task file that cannot be used; the message names the line and the field."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        self.line = line
        super().__init__(message)


class WorkspaceSource(BaseModel):
    """Where a task's workspace comes from: a folder to copy, or a git repository at a commit.

    Relative paths are resolved against the task file's folder when the file is loaded. On a Ray
    cluster the path (or repository URL) must be reachable from every worker node.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str | None = None
    git: str | None = None
    commit: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> WorkspaceSource:
        if (self.path is None) == (self.git is None):
            raise ValueError(
                "give exactly one of 'path' (a folder to copy) or 'git' (a repository)"
            )
        if self.commit is not None and self.git is None:
            raise ValueError("'commit' goes with 'git'")
        return self


class TaskSpec(BaseModel):
    """One line of a task file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:/@+-]+$")
    prompt: str = Field(min_length=1)
    workspace: WorkspaceSource
    model: str | None = None
    instructions: str | None = None
    #: Extra request fields passed through to the API (``reasoning``, ``max_output_tokens``...).
    settings: dict[str, Any] = Field(default_factory=dict)
    #: A subset of the built-in tools; all of them when omitted.
    tools: (
        list[Literal["shell", "read_file", "list_files", "search_files", "apply_patch"]] | None
    ) = None
    #: A shell command run in the workspace after the agent (e.g. the repository's tests);
    #: exit code 0 = the task passed.
    check: str | None = None
    check_timeout: float = Field(default=600.0, gt=0)
    max_turns: int = Field(default=30, ge=1, le=1000)
    #: A JSON schema: the final answer is requested as JSON of this shape and stored parsed.
    output_schema: dict[str, Any] | None = None

    def fingerprint(self) -> str:
        """A stable hash of the spec: a re-run with the same id must describe the same task."""
        data = orjson.dumps(self.model_dump(mode="json"), option=orjson.OPT_SORT_KEYS)
        return hashlib.sha256(data).hexdigest()[:16]

    def request_settings(self) -> dict[str, Any]:
        """``settings`` plus the structured-output format when ``output_schema`` is set."""
        out = dict(self.settings)
        if self.output_schema is not None and "text" not in out:
            out["text"] = {
                "format": {
                    "type": "json_schema",
                    "name": "output",
                    "schema": self.output_schema,
                    "strict": True,
                }
            }
        return out


def _resolve(spec: TaskSpec, base: Path) -> TaskSpec:
    ws = spec.workspace
    if ws.path is not None and not os.path.isabs(os.path.expanduser(ws.path)):
        new = ws.model_copy(update={"path": str((base / ws.path).resolve())})
        return spec.model_copy(update={"workspace": new})
    if ws.path is not None:
        new = ws.model_copy(update={"path": str(Path(ws.path).expanduser().resolve())})
        return spec.model_copy(update={"workspace": new})
    if ws.git is not None and "://" not in ws.git and not ws.git.startswith("git@"):
        local = Path(ws.git).expanduser()
        if not local.is_absolute():
            new = ws.model_copy(update={"git": str((base / local).resolve())})
            return spec.model_copy(update={"workspace": new})
    return spec


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "the object"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {err['msg']}{more}"


def parse_tasks(
    lines: list[str], *, source: str = "<tasks>", base: Path | None = None
) -> list[TaskSpec]:
    """Validate task lines (blank lines and lines starting with ``#`` are skipped)."""
    tasks: list[TaskSpec] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise TaskFileError(f"{source}:{number}: not valid JSON: {exc}", line=number) from None
        if not isinstance(data, dict):
            raise TaskFileError(
                f"{source}:{number}: a task is a JSON object, got {type(data).__name__}",
                line=number,
            )
        try:
            spec = TaskSpec.model_validate(data)
        except ValidationError as exc:
            raise TaskFileError(f"{source}:{number}: {_first_error(exc)}", line=number) from None
        if spec.id in seen:
            raise TaskFileError(
                f"{source}:{number}: task id {spec.id!r} already used on line {seen[spec.id]}",
                line=number,
            )
        seen[spec.id] = number
        tasks.append(_resolve(spec, base or Path.cwd()))
    if not tasks:
        raise TaskFileError(f"{source}: no tasks")
    return tasks


def load_tasks(path: str | os.PathLike[str]) -> list[TaskSpec]:
    """Read and validate a JSONL task file; relative workspace paths are relative to its folder."""
    file = Path(path).expanduser()
    try:
        text = file.read_text("utf-8")
    except FileNotFoundError:
        raise TaskFileError(f"task file {file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"cannot read task file {file}: {exc}") from None
    return parse_tasks(text.splitlines(), source=str(file), base=file.resolve().parent)

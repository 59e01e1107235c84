"""``RunContext[Deps]``: what a tool may ask to receive besides the model's arguments.

A tool function that declares a parameter annotated ``RunContext`` (or ``RunContext[MyDeps]``)
gets it filled in by the session for each call; the parameter never appears in the JSON schema the
model sees. It lives in the tools layer (the schema builder must recognise it) and knows the
session only as ``Any``, since the session layer sits above this one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar, get_origin

__all__ = ["RunContext", "is_context_annotation"]

DepsT = TypeVar("DepsT")


@dataclass(slots=True, frozen=True)
class RunContext(Generic[DepsT]):
    """Handed to a tool that declares a ``RunContext[Deps]`` parameter.

    Attributes:
        deps: what the caller passed as ``deps=`` (to ``run()`` or to the session), else None.
        session: the :class:`~responses_fast.AgentSession` running the call.
        run_id: an id for the current ``run()``, unique per process.
        turn: the turn (model call) that produced this call, from 1.
        call_id: the model's id of this call.
        tool_name: the name the model called.
        arguments: the call's JSON argument string as the model sent it.
    """

    deps: DepsT
    session: Any
    run_id: str
    turn: int
    call_id: str
    tool_name: str
    arguments: str = ""


def is_context_annotation(annotation: Any) -> bool:
    """True for ``RunContext`` and ``RunContext[X]``."""
    return annotation is RunContext or get_origin(annotation) is RunContext

"""A blocking facade over AgentSession for plain scripts and Jupyter cells.

The async session runs on an event loop in a worker thread (an anyio blocking portal), so this
works whether or not the calling thread already runs a loop (as a notebook kernel does).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from types import TracebackType
from typing import Any, Self

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ..errors import UsageError
from .events import Event, RunResult
from .session import AgentSession, Prompt

__all__ = ["SyncAgentSession"]


class SyncAgentSession:
    """``AgentSession`` with blocking methods; takes the same arguments.

    ::

        with SyncAgentSession(model="scripted", base_url=url) as session:
            print(session.run("hello").final_text)
    """

    def __init__(self, model: str, **kwargs: Any) -> None:
        self._args = (model, kwargs)
        self._stack: ExitStack | None = None
        self._portal: BlockingPortal | None = None
        self._session: AgentSession | None = None

    def __enter__(self) -> Self:
        stack = ExitStack()
        try:
            portal = stack.enter_context(start_blocking_portal("asyncio"))
            model, kwargs = self._args
            session = portal.call(lambda: AgentSession(model, **kwargs))
            self._session = stack.enter_context(portal.wrap_async_context_manager(session))
        except BaseException:
            stack.close()
            raise
        self._stack, self._portal = stack, portal
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        stack, self._stack = self._stack, None
        self._portal = None
        if stack is not None:
            stack.close()

    @property
    def session(self) -> AgentSession:
        """The underlying async session (its attributes are safe to read between runs)."""
        if self._session is None:
            raise UsageError("use SyncAgentSession as a context manager")
        return self._session

    def _require_portal(self) -> BlockingPortal:
        if self._portal is None:
            raise UsageError("use SyncAgentSession as a context manager")
        return self._portal

    def run(self, prompt: Prompt, **options: Any) -> RunResult:
        """Run the agent loop until the model answers without calling a tool.

        ``options`` are those of ``AgentSession.run`` (``output_type``, ``deps``, ``hooks``, ...).
        """
        session = self.session

        async def run() -> RunResult:
            return await session.run(prompt, **options)

        return self._require_portal().call(run)

    def stream(self, prompt: Prompt) -> Iterator[Event]:
        """Yield the run's events as they happen."""
        portal = self._require_portal()
        with portal.wrap_async_context_manager(self.session.stream(prompt)) as events:
            iterator = events.__aiter__()
            while True:
                try:
                    yield portal.call(iterator.__anext__)
                except StopAsyncIteration:
                    return

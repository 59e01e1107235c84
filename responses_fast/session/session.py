"""AgentSession: the agent loop over one persistent connection.

::

    async with AgentSession(model="gpt-5.5", tools=[read_file], instructions="...") as session:
        result = await session.run("Fix the failing test")

The session owns its transport (one socket for its whole life), its conversation log and a task
group. ``run()`` drives turns until the model answers without calling a tool; ``stream()`` yields
the same run as events. Failures of a turn are retried here, and only here (``transports.retry``).
"""

from __future__ import annotations

import functools
import inspect
import logging
import os
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Literal, Protocol, Self, TypeVar, overload

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from pydantic import BaseModel

from ..cache.budget import BudgetPolicy, ContextBudget, apply_plan
from ..cache.prefix import RenderedPrefix, session_cache_key
from ..cache.render import LoggedItem, log_items, truncate_output
from ..cache.tokens import TokenCounter
from ..cache.tokens import context_window as known_window
from ..config import RetryPolicy, Timeouts, mask_secret
from ..errors import (
    ConfigurationError,
    RetriesExhausted,
    TransportError,
    UsageError,
)
from ..protocol.items import (
    CustomToolCall,
    Message,
    item_adapter,
    item_text,
    user_message,
)
from ..safety import Policy, redact
from ..safety.environment import value_redactor
from ..sandbox import Sandbox
from ..tools.builtin import shell_tool_sandbox
from ..tools.spec import Tool, ToolResult
from ..transports.base import RequestSettings, Transport, TurnRequest
from ..transports.factory import choose_transport, make_transport
from ..transports.retry import backoff, classify
from .compaction import RemoteCompaction, RemoteCompactor, try_compact
from .context import RunScope
from .events import (
    ContextCompacted,
    ContextTrimmed,
    Event,
    ItemAdded,
    Reconnected,
    RunFinished,
    RunResult,
    TurnFinished,
    TurnStarted,
    Usage,
)
from .hooks import HookChain, Hooks
from .log import ItemLog
from .metrics import TurnClock, TurnMetrics
from .output import OutputSpec
from .store import SavedSession
from .tracing import make_tracer
from .turn import DecisionLike, Emit, TurnOutcome, no_emit, parse_arguments, run_turn
from .turn_machine import ToolCall, output_item

__all__ = ["AgentSession", "RunStream"]

OutT = TypeVar("OutT")

log = logging.getLogger("responses_fast.session")

OPENAI_BASE_URL = "https://api.openai.com/v1"


class CallPolicy(Protocol):
    def check(self, tool_name: str, arguments: Mapping[str, Any]) -> DecisionLike: ...


Approval = Callable[[ToolCall, DecisionLike], bool | Awaitable[bool]]
OutputFilter = Callable[[str], str]

Prompt = str | BaseModel | Mapping[str, Any] | Sequence[BaseModel | Mapping[str, Any]]

#: Transports that speak Chat Completions, which has no custom (freeform) tools.
_CHAT_TRANSPORTS = frozenset({"chat", "cerebras"})


class AgentSession:
    """An agent conversation over one connection.

    Args:
        model: the model name.
        tools: function tools (``@tool`` functions or :class:`Tool` objects).
        instructions: the system/developer instructions, sent with every request.
        base_url: API base URL; defaults to ``$OPENAI_BASE_URL`` or the OpenAI API.
        api_key: defaults to ``$OPENAI_API_KEY``; required for the OpenAI API, optional elsewhere.
        transport: ``"auto"`` (default: the URL decides, see docs/transports.md), ``"websocket"``,
            ``"http"``, ``"chat"``, ``"cerebras"`` or a :class:`Transport` instance.
        policy: safety policy checked before every tool call (``check(name, arguments)``);
            the default is ``responses_fast.safety.Policy()`` for the current folder (pass
            ``Policy(workspace)`` for another one); None turns checks off.
        approval: callback for calls the policy marks "ask"; returns True to allow. Without
            it such calls are refused.
        output_filter: applied to every tool output before it goes to the model; the default
            redacts secrets (``responses_fast.safety.redact``); None turns it off.
        store: whether the server may persist responses (``store`` in the API).
        max_turns: model calls per ``run()`` before it stops with status ``"max_turns"``.
        max_tool_output_bytes: longer tool outputs keep their head and tail around a marker
            that says how many bytes were left out (binary output is decoded and marked).
        context_window: the model's window in tokens; defaults to the known window of the model
            family (none for unknown models: then no budget is applied).
        budget_policy: how the context is trimmed when a request would not fit (docs/caching.md).
        compaction: ``RemoteCompaction()`` to let the provider compact the conversation
            (``POST {base}/responses/compact``) when a request would not fit, before trimming
            locally; ignored on Chat Completions transports (docs/caching.md).
        warmup: in WebSocket mode, send instructions and tools (``generate: false``) right after
            connecting, while no run has started yet, so the first turn continues a prepared
            response; skipped when ``run()`` follows at once (it would only add a round trip).
        settings: extra request fields passed through (``reasoning``, ``max_output_tokens``, ...).
        ssl_context: verifies ``https``/``wss`` servers on every transport (e.g. a private CA);
            None uses the system CAs. Ignored when ``transport`` is a Transport instance.
        persist: a saved conversation (``SessionStore(path).session(id)``): loaded when the
            session starts, saved after every turn (docs/durable-sessions.md).
        deps: passed to tools that take a ``RunContext`` (``ctx.deps``); ``run(deps=)`` overrides.
        hooks: :class:`Hooks` run before/after every model and tool call (docs/hooks.md).
        tracing: OpenTelemetry spans for every run: True (the global tracer provider) or a
            ``TracerProvider``; needs the ``otel`` extra (docs/tracing.md).
        name: the agent's name in traces (``invoke_agent <name>``).
    """

    def __init__(
        self,
        model: str,
        *,
        tools: Sequence[Tool] = (),
        instructions: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        transport: str | Transport = "auto",
        policy: CallPolicy | Literal["default"] | None = "default",
        approval: Approval | None = None,
        output_filter: OutputFilter | Literal["default"] | None = "default",
        store: bool = False,
        max_turns: int = 50,
        max_tool_output_bytes: int = 64 * 1024,
        context_window: int | None = None,
        budget_policy: BudgetPolicy | None = None,
        compaction: RemoteCompaction | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        warmup: bool = True,
        prompt_cache_key: str | None = None,
        settings: Mapping[str, Any] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        persist: SavedSession | None = None,
        # -- agent API (docs/agents.md): tool context, hooks, tracing
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
        tracing: Any = False,
        name: str = "agent",
    ) -> None:
        self.model = model
        self.name = name
        self.deps = deps
        self.hooks = HookChain(hooks).hooks  # checked now, not at the first call
        self._tracing = tracing
        self.tracer = make_tracer(tracing)
        self._scope: RunScope | None = None
        self._tools = {t.name: t for t in tools}
        if len(self._tools) != len(tools):
            raise ConfigurationError("two tools have the same name")
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_BASE_URL
        self._api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.policy: CallPolicy | None = Policy() if isinstance(policy, str) else policy
        self.approval = approval
        self.output_filter: OutputFilter | None = (
            _redact_text if isinstance(output_filter, str) else output_filter
        )
        self.max_turns = max_turns
        self.max_tool_output_bytes = max_tool_output_bytes
        window = context_window if context_window is not None else known_window(model)
        self.budget = ContextBudget(window, policy=budget_policy) if window else None
        self._counter: TokenCounter | None = None
        self._prefix_tokens: int | None = None
        self._last_local_tokens = 0
        self.timeouts = timeouts or Timeouts()
        self.retry_policy = retry or RetryPolicy()
        self.request_settings = RequestSettings(
            model=model,
            instructions=instructions,
            tools=tuple(_tool_schemas(tools, model, _transport_name(transport, self.base_url))),
            tool_choice="auto" if tools else None,
            parallel_tool_calls=True if tools else None,
            store=store,
            prompt_cache_key=prompt_cache_key or session_cache_key(),
            extra=tuple((settings or {}).items()),
        )
        self._ssl_context = ssl_context
        self.transport = self._make_transport(transport, warmup)
        self.compaction = compaction
        self._compactor: RemoteCompactor | None = None
        if compaction is not None and self.transport.name not in _CHAT_TRANSPORTS:
            self._compactor = RemoteCompactor(
                self.base_url, self._api_key, timeouts=self.timeouts, ssl_context=ssl_context
            )
        self.log = ItemLog()
        self.turns: list[TurnMetrics] = []
        self.usage = Usage()
        self._executed: dict[str, ToolResult] = {}
        self._running = False
        self._run_started = False
        self._closed = False
        self._stack: AsyncExitStack | None = None
        self._tg: anyio.abc.TaskGroup | None = None
        self._persist = persist

    def __repr__(self) -> str:
        return (
            f"AgentSession(model={self.model!r}, base_url={self.base_url!r}, "
            f"transport={self.transport.name!r}, api_key={mask_secret(self._api_key)})"
        )

    def _make_transport(self, transport: str | Transport, warmup: bool) -> Transport:
        if isinstance(transport, Transport):
            return transport
        return make_transport(
            transport,
            base_url=self.base_url,
            api_key=self._api_key,
            timeouts=self.timeouts,
            settings=self.request_settings,
            warmup=warmup,
            ssl_context=self._ssl_context,
        )

    # -- lifecycle -----------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._closed:
            raise UsageError("this session is closed")
        if self._persist is not None:
            await self._restore(self._persist)
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            stack.push_async_callback(self.transport.aclose)
            if self._compactor is not None:
                stack.push_async_callback(self._compactor.aclose)
            self._tg = await stack.enter_async_context(anyio.create_task_group())
            try:
                await self.transport.connect()
            except TransportError as exc:
                # The first turn's retry loop reconnects; an auth error still surfaces now.
                log.debug("pre-connect failed: %s", exc)
            else:
                self._tg.start_soon(self._warm_while_idle)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def _warm_while_idle(self) -> None:
        """Warm the server only while no run has started: a warm-up sent right before the first
        turn would cost that turn a round trip instead of saving one."""
        if self._run_started:
            return
        try:
            await self.transport.warm()
        except Exception as exc:  # the first turn reconnects and reports what is wrong
            log.debug("warm-up failed: %s", exc)

    async def aclose(self) -> None:
        """Cancel what is running and close the connection."""
        self._closed = True
        stack, self._stack = self._stack, None
        if self._tg is not None:
            self._tg.cancel_scope.cancel()
            self._tg = None
        if stack is not None:
            await stack.aclose()

    # -- public API ----------------------------------------------------------------------------

    @property
    def items(self) -> list[BaseModel]:
        """The whole conversation so far (a copy)."""
        return self.log.items()

    @property
    def sandbox(self) -> Sandbox | None:
        """The OS sandbox the built-in shell tool runs commands in (``coding_tools``), if the
        session has that tool: ``session.sandbox.describe()`` says backend, mode and network."""
        return shell_tool_sandbox(list(self._tools.values()))

    # agent API: typed results. The overloads give ``result.output`` the type of ``output_type``.
    @overload
    async def run(
        self,
        prompt: Prompt,
        *,
        output_type: type[OutT],
        output_retries: int = 2,
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
    ) -> RunResult[OutT]: ...
    @overload
    async def run(
        self,
        prompt: Prompt,
        *,
        output_type: Any = None,
        output_retries: int = 2,
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
    ) -> RunResult[Any]: ...
    async def run(
        self,
        prompt: Prompt,
        *,
        output_type: Any = None,
        output_retries: int = 2,
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
    ) -> RunResult[Any]:
        """Run the agent loop on ``prompt`` until the model answers without calling a tool.

        ``output_type`` (a pydantic model or any type pydantic validates): the answer must be JSON
        of that type; it is asked for with a structured-output schema, validated, and asked for
        again up to ``output_retries`` times with what was wrong; ``result.output`` holds it.
        ``deps`` go to tools that take a ``RunContext`` (default: the session's); ``hooks`` run
        after the session's, for this run only.
        """
        scope = self._scope_for(output_type, output_retries, deps, hooks)
        return await self._run(prompt, no_emit, scope)

    async def resume(self) -> RunResult:
        """Go on from the conversation as it is, with no new prompt (e.g. a run that a crash
        interrupted, resumed from a saved session): the model answers the last tool outputs."""
        if not len(self.log):
            raise UsageError("nothing to resume: the conversation is empty")
        return await self._run([], no_emit)

    def stream(
        self,
        prompt: Prompt,
        *,
        buffer: int = 1024,
        output_type: Any = None,
        output_retries: int = 2,
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
    ) -> RunStream:
        """The same run as ``run()``, as an async iterator of events.

        Use it as ``async with session.stream(p) as events: async for e in events: ...``; leaving
        the block early cancels the run. ``RunStream.result`` holds the result at the end.
        """
        if self._tg is None:
            raise UsageError("use the session as 'async with AgentSession(...) as session'")
        scope = self._scope_for(output_type, output_retries, deps, hooks)
        return RunStream(self, prompt, buffer, scope)

    def _scope_for(
        self,
        output_type: Any = None,
        output_retries: int = 2,
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
    ) -> RunScope:
        """The per-run state of the agent API (session defaults when nothing is given)."""
        output = None if output_type is None else OutputSpec(output_type, retries=output_retries)
        deps = self.deps if deps is None else deps
        return RunScope(self, output=output, deps=deps, hooks=(*self.hooks, *hooks))

    # -- the loop ------------------------------------------------------------------------------

    async def _run(self, prompt: Prompt, emit: Emit, scope: RunScope | None = None) -> RunResult:
        if self._closed:
            raise UsageError("this session is closed")
        if self._stack is None:
            # The session owns a connection; only a context manager guarantees it is closed.
            raise UsageError("use the session as 'async with AgentSession(...) as session'")
        if self._running:
            raise UsageError("a run is already in progress on this session")
        self._running = True
        self._run_started = True
        start_index = len(self.log)
        # agent API hook point: the run's scope (typed output, deps, hooks, tracing)
        self._scope = scope = scope or self._scope_for()
        emit = scope.observe(emit)
        error: BaseException | None = None
        try:
            self.log.extend(_prompt_items(prompt))
            usage = Usage()
            turns: list[TurnMetrics] = []
            status = "max_turns"
            outcome = TurnOutcome()
            for turn_no in range(1, self.max_turns + 1):
                outcome, metrics = await self._turn_with_retries(turn_no, emit)
                turns.append(metrics)
                self.turns.append(metrics)
                usage.add(outcome.input_tokens, outcome.output_tokens, outcome.cached_tokens)
                self.usage.add(outcome.input_tokens, outcome.output_tokens, outcome.cached_tokens)
                await emit(TurnFinished(turn_no, metrics))
                await self._save()
                if not outcome.calls or outcome.status == "incomplete":
                    # An incomplete response (max_output_tokens, content filter) ends the run
                    # with what it said; its complete calls ran and their outputs are logged,
                    # so the log stays valid and a later run() continues (docs/reliability.md).
                    status = outcome.status
                    if scope.output is not None and status == "completed":
                        # agent API hook point: an invalid typed answer goes back to the model
                        correction = scope.review(_final_text(self.log.items(start_index)))
                        if correction is not None:
                            self.log.append(correction)
                            await emit(ItemAdded(turn_no, correction))
                            continue
                    break
            items = self.log.items(start_index)
            result = RunResult(
                final_text=_final_text(items),
                items=items,
                usage=usage,
                turns=turns,
                response_id=outcome.response_id,
                status=status,
                tool_calls=sum(t.tool_calls for t in turns),
                incomplete_reason=outcome.incomplete_reason if status == "incomplete" else None,
                output=scope.value,
            )
            await emit(RunFinished(result))
            return result
        except BaseException as exc:
            error = exc
            self._close_dangling_calls()
            with anyio.CancelScope(shield=True):
                await self._save()
            raise
        finally:
            self._running = False
            scope.finish(error)  # agent API hook point: close the run's spans
            # Between runs only the wire bytes are needed; the models are rebuilt on demand.
            self.log.release()
            # A call whose output is logged can never run again (the turn skips call ids the
            # log holds), so its remembered result is no longer needed.
            has_output = self.log.has_output
            self._executed = {k: v for k, v in self._executed.items() if not has_output(k)}

    async def _turn_with_retries(self, turn: int, emit: Emit) -> tuple[TurnOutcome, TurnMetrics]:
        clock = TurnClock(start=time.perf_counter())
        stats = self.transport.stats
        sent0, recv0 = stats.bytes_sent, stats.bytes_received
        delays = backoff(self.retry_policy)
        attempt = 0
        scope = self._scope or self._scope_for()
        while True:
            attempt += 1
            if self.budget is not None:
                await self._fit_budget(turn, emit)
            request = TurnRequest(
                settings=scope.settings_for(self.request_settings),
                items=self.log.entries,
                new_from=self.log.head_index,
                previous_response_id=self.log.head_response_id,
                want_deltas=emit is not no_emit,  # run(): the transport may skip deltas unparsed
            )
            await emit(TurnStarted(turn, attempt))
            model_call = await scope.before_model(turn, attempt)  # agent API hook point
            try:
                outcome = await run_turn(
                    request,
                    log=self.log,
                    transport=self.transport,
                    runner=self,
                    turn=turn,
                    clock=clock,
                    emit=emit,
                    count_pending=self.count_pending if self.budget is not None else None,
                )
            except Exception as exc:
                decision = classify(exc, self.retry_policy)
                if not decision.retry:
                    raise
                if decision.state_lost:
                    self.log.forget_head()
                if attempt >= self.retry_policy.max_attempts:
                    raise RetriesExhausted(
                        f"turn {turn} failed after {attempt} attempts: {exc}", attempts=attempt
                    ) from exc
                delay = decision.delay if decision.delay is not None else next(delays, 0.0)
                if isinstance(exc, TransportError):
                    await self.transport.reset()
                log.info(
                    "turn %d attempt %d failed (%s); retrying in %.2fs", turn, attempt, exc, delay
                )
                await emit(Reconnected(turn, attempt, str(exc), delay))
                await anyio.sleep(delay)
                continue
            await scope.after_model(model_call, outcome)  # agent API hook point
            if self.budget is not None and outcome.input_tokens:
                self.budget.observe_usage(self._last_local_tokens, outcome.input_tokens)
            metrics = clock.metrics(
                turn=turn,
                end=time.perf_counter(),
                response_id=outcome.response_id,
                bytes_sent=stats.bytes_sent - sent0,
                bytes_received=stats.bytes_received - recv0,
                items_sent=stats.last_request_items,
                events=outcome.events,
                input_tokens=outcome.input_tokens,
                output_tokens=outcome.output_tokens,
                cached_tokens=outcome.cached_tokens,
                attempts=attempt,
            )
            return outcome, metrics

    # -- durable sessions (session/store.py) ---------------------------------------------------

    async def _restore(self, saved: SavedSession) -> None:
        snapshot = await anyio.to_thread.run_sync(saved.load)
        if snapshot is None or len(self.log):
            return
        for raw in snapshot.items:
            self.log.append(item_adapter.validate_json(raw))
        self.log.set_head(snapshot.head_response_id, snapshot.head_index)
        u = snapshot.usage
        self.usage.add(
            u.get("input_tokens", 0), u.get("output_tokens", 0), u.get("cached_tokens", 0)
        )
        log.info("resumed saved session %r: %d items", saved.session_id, len(snapshot.items))

    async def _save(self) -> None:
        saved = self._persist
        if saved is None:
            return
        u = self.usage
        await anyio.to_thread.run_sync(
            functools.partial(
                saved.save,
                list(self.log.entries),
                model=self.model,
                head_response_id=self.log.head_response_id,
                head_index=self.log.head_index,
                usage={
                    "input_tokens": u.input_tokens,
                    "output_tokens": u.output_tokens,
                    "cached_tokens": u.cached_tokens,
                },
            )
        )

    # -- context budget ------------------------------------------------------------------------

    @property
    def token_counter(self) -> TokenCounter:
        """The session's token counter (created on first use; loading an encoding takes ~0.1 s)."""
        if self._counter is None:
            self._counter = TokenCounter(self.model)
        return self._counter

    def count_pending(self) -> None:
        """Count the items that have no token count yet (runs in a worker thread mid-stream)."""
        counter = self.token_counter
        for entry in self.log.uncounted():
            counter.count_item(entry)

    async def _fit_budget(self, turn: int, emit: Emit) -> None:
        """Trim the log if the next request would not fit the window (docs/caching.md).

        Counts come from the per-item cache; items counted by nobody yet (the newest tool
        outputs) are estimated from their size, and counted exactly only if a trim is needed.
        """
        budget = self.budget
        assert budget is not None
        if self._prefix_tokens is None:
            prefix = RenderedPrefix.for_settings(self.request_settings)
            self._prefix_tokens = await anyio.to_thread.run_sync(
                prefix.token_count, self.token_counter
            )
        plan = budget.plan(self.log.entries, self._prefix_tokens, count=_estimate_tokens)
        if not plan.empty:
            await anyio.to_thread.run_sync(self.count_pending)
            counter = self.token_counter
            plan = budget.plan(self.log.entries, self._prefix_tokens, count=counter.count_item)
            if not plan.empty and await self._compact(turn, emit):
                await anyio.to_thread.run_sync(self.count_pending)
                plan = budget.plan(self.log.entries, self._prefix_tokens, count=counter.count_item)
            if not plan.empty:
                trimmed = apply_plan(self.log.entries, plan, count=counter.count_item)
                self.log.replace(trimmed.items)
                log.info(
                    "context trimmed: %d -> %d tokens (%d shortened, %d dropped)",
                    trimmed.report.tokens_before,
                    trimmed.report.tokens_after,
                    trimmed.report.items_shortened,
                    trimmed.report.dropped_items,
                )
                await emit(ContextTrimmed(turn, trimmed.report))
        self._last_local_tokens = plan.local_after

    async def _compact(self, turn: int, emit: Emit) -> bool:
        """Replace the log with the provider's compacted window; False when not done."""
        compactor, config = self._compactor, self.compaction
        if compactor is None or config is None or len(self.log) < config.min_items:
            return False
        result = await try_compact(compactor, self.request_settings, self.log.entries)
        if result is None:
            return False
        try:
            entries = log_items(result.items)
        except ConfigurationError as exc:
            log.warning("compacted window unusable (%s); trimming locally", exc)
            return False
        before = len(self.log)
        self.log.replace(entries)  # the server's chain no longer matches: full context next
        log.info("context compacted by the provider: %d -> %d items", before, len(entries))
        await emit(ContextCompacted(turn, before, len(entries)))
        return True

    def _close_dangling_calls(self) -> None:
        """After a cancelled run every call still gets an output, so the log stays valid."""
        dangling = self.log.dangling_calls()
        for call in dangling:
            result = self._executed.get(call.call_id)
            text = result.output if result else "cancelled: the run stopped before this call ran"
            self.log.append(output_item(call, text))
        if dangling:
            self.log.forget_head()

    # -- tools (called by the turn) ------------------------------------------------------------

    def check_call(self, call: ToolCall) -> DecisionLike | None:
        """The policy's decision for a call (synchronous, microseconds); None without a policy."""
        if self.policy is None:
            return None
        tool = self._tools.get(call.name)
        param = tool.freeform.param if tool is not None and tool.freeform else "input"
        return self.policy.check(call.name, parse_arguments(call, param))

    async def ask_approval(self, call: ToolCall, decision: DecisionLike) -> bool:
        if self.approval is None:
            return False
        answer = self.approval(call, decision)
        if inspect.isawaitable(answer):
            answer = await answer
        return bool(answer)

    async def execute(self, call: ToolCall) -> ToolResult:
        """Run a call once; a call id seen before returns the first result (never re-runs)."""
        done = self._executed.get(call.call_id)
        if done is not None:
            return done
        tool = self._tools.get(call.name)
        scope = self._scope or self._scope_for()
        vetoed = await scope.gate(call)  # agent API hook point: before_tool_call hooks
        if vetoed is not None:
            result = vetoed
        elif tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            result = ToolResult(f"error: unknown tool {call.name!r} (available: {known})", True)
        else:
            context = scope.context_for(call) if tool.context_param else None
            if isinstance(call, CustomToolCall):
                result = await tool.invoke_text(call.input, context)
            else:
                result = await tool.invoke(call.arguments, context)
        text = result.output
        if self.output_filter is not None:
            text = self.output_filter(text)
        text = truncate_output(text, self.max_tool_output_bytes)
        if text is not result.output:
            result = ToolResult(text, result.is_error)
        self._executed[call.call_id] = result
        await scope.after_tool(call, result)  # agent API hook point: after_tool_call hooks
        return result


class RunStream:
    """Events of one run, produced by a task in the session's task group."""

    def __init__(
        self, session: AgentSession, prompt: Prompt, buffer: int, scope: RunScope | None = None
    ) -> None:
        self._session = session
        self._prompt = prompt
        self._run_scope = scope
        send, receive = anyio.create_memory_object_stream[Event](buffer)
        self._send: MemoryObjectSendStream[Event] = send
        self._receive: MemoryObjectReceiveStream[Event] = receive
        self._scope = anyio.CancelScope()
        self._started = False
        self._done = anyio.Event()
        self._error: BaseException | None = None
        self.result: RunResult | None = None

    def _start(self) -> None:
        if self._started:
            return
        self._started = True
        tg = self._session._tg
        if tg is None:
            raise UsageError("the session is closed")
        tg.start_soon(self._produce)

    async def _produce(self) -> None:
        try:
            with self._scope:
                async with self._send:
                    self.result = await self._session._run(
                        self._prompt, self._send.send, self._run_scope
                    )
        except Exception as exc:
            self._error = exc
        finally:
            self._done.set()

    async def __aenter__(self) -> Self:
        self._start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the run if it is still going and wait until it has wound down."""
        if self._started:
            self._scope.cancel()
            await self._done.wait()
        self._receive.close()

    def __aiter__(self) -> AsyncIterator[Event]:
        self._start()
        return self

    async def __anext__(self) -> Event:
        try:
            return await self._receive.receive()
        except anyio.EndOfStream:
            pass
        await self._done.wait()
        if self._error is not None:
            # Raised outside the except block: ``from None`` would erase the error's own
            # ``__cause__`` (RetriesExhausted documents the last failure there).
            raise self._error
        raise StopAsyncIteration


def _prompt_items(prompt: Prompt) -> list[BaseModel | Mapping[str, Any]]:
    """The prompt as items: a string is a user message; one item (a model or a mapping such as
    ``{"role": "user", "content": "..."}``) is a one-item list."""
    if isinstance(prompt, str):
        return [user_message(prompt)]
    if isinstance(prompt, BaseModel | Mapping):
        return [prompt]
    return list(prompt)


def _transport_name(transport: str | Transport, base_url: str) -> str:
    if isinstance(transport, Transport):
        return transport.name
    try:
        return choose_transport(transport, base_url)
    except ValueError:  # an unknown name: make_transport reports it
        return transport


def _tool_schemas(tools: Sequence[Tool], model: str, transport: str) -> list[dict[str, Any]]:
    """Tool definitions for the request: a freeform tool goes as a custom tool where the
    transport carries custom tools and the model is one it is meant for, as a function (one
    string parameter) elsewhere."""
    chat = transport in _CHAT_TRANSPORTS
    return [
        t.schema(custom=t.freeform is not None and not chat and t.freeform.offered_to(model))
        for t in tools
    ]


def _final_text(items: Sequence[BaseModel]) -> str:
    """The text of the last assistant message."""
    for item in reversed(items):
        if isinstance(item, Message) and item.role == "assistant":
            return item_text(item)
    return ""


def _redact_text(text: str) -> str:
    # By value first (the parent's secret variables, raw or encoded), then by shape.
    return redact(value_redactor(os.environ).redact(text)).text


def _estimate_tokens(entry: LoggedItem) -> int:
    """The cached count, or a size-based upper estimate (JSON is rarely under 3 bytes/token)."""
    return entry.tokens if entry.tokens is not None else len(entry.raw) // 3 + 4

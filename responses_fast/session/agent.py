"""``Agent``: a reusable agent definition, run on its own or handed to another agent as a tool.

::

    researcher = Agent("gpt-5.5", name="researcher", instructions="...", tools=[search])
    result = await researcher.run("What changed in 3.13?")            # opens its own session

    lead = AgentSession("gpt-5.5", tools=[researcher.as_tool(), writer.as_tool()])

As a tool, the agent takes one string argument (``input``), runs a fresh session on it and returns
its final answer (the validated output as JSON when it has an ``output_type``). Calls the parent's
model makes in parallel run in parallel (the parent's turn runs its calls in a task group).

The sub-session inherits from the parent session what makes it work in the same place: base URL,
API key, TLS context, timeouts, retry policy, safety policy, approval callback, output filter,
hooks, tracing (its spans become children of the tool call's span) and the run's ``deps``.

Connections: on a WebSocket parent, a sub-agent runs on the parent's socket, on a lane of its
own (``stream_id`` ``agent-N``; lanes run concurrently, one reconnect serves all of them), so
parallel sub-agents cost no handshake. Lane names are reused once a sub-agent ends, which keeps
a long run under the service's 32 named lanes per socket. On other transports the sub-session
opens its own connection of the parent's kind. ``transport_factory`` of :meth:`Agent.as_tool`
chooses otherwise: it receives the tool call's ``RunContext`` (``ctx.session`` is the parent)
and returns a Transport (or a transport kind name). The sub-session closes that transport when
it ends (a lane is left, the shared socket stays open).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic

from pydantic import BaseModel, ConfigDict, Field
from typing_extensions import TypeVar

from ..errors import UsageError
from ..tools.context import RunContext
from ..tools.spec import Tool
from ..transports.base import Transport
from ..transports.websocket import WebSocketLane
from .events import RunResult
from .hooks import Hooks
from .output import output_text
from .session import AgentSession, Prompt
from .tracing import parent_span_of_call

__all__ = ["Agent", "TransportFactory"]

#: Builds the transport of a sub-agent's session from the tool call's context (``ctx.session``
#: is the parent session).
TransportFactory = Callable[[RunContext[Any]], "Transport | str"]

#: The type of the agent's ``output_type`` (``Agent[Headline]``; Any when not given).
OutputT = TypeVar("OutputT", default=Any)

_TRANSPORT_KINDS = frozenset({"websocket", "http", "chat", "cerebras"})


class _AgentInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    input: str = Field(description="the task or question for this agent, self-contained")


class Agent(Generic[OutputT]):
    """An agent definition: model, instructions, tools, output type and settings.

    Args:
        model: the model name.
        name: the agent's name (its tool name by default, and its name in traces).
        instructions: system/developer instructions.
        tools: its tools (other agents' ``as_tool()`` included).
        output_type: the type of its final answer (see ``AgentSession.run``); None for text.
        output_retries: how often an invalid typed answer is sent back.
        settings: extra request fields (``reasoning``, ``max_output_tokens``, ...).
        description: what the agent does, for a parent model choosing it as a tool.
        session_options: other ``AgentSession`` keyword arguments (``base_url``, ``transport``,
            ``policy``, ``max_turns``, ...).
    """

    def __init__(
        self,
        model: str,
        *,
        name: str = "agent",
        instructions: str | None = None,
        tools: Sequence[Tool] = (),
        output_type: type[OutputT] | Any = None,
        output_retries: int = 2,
        settings: Mapping[str, Any] | None = None,
        description: str | None = None,
        **session_options: Any,
    ) -> None:
        self.model = model
        self.name = name
        self.instructions = instructions
        self.tools = tuple(tools)
        self.output_type = output_type
        self.output_retries = output_retries
        self.settings = dict(settings or {})
        self.description = description
        self.session_options = session_options

    def __repr__(self) -> str:
        return f"Agent(model={self.model!r}, name={self.name!r}, tools={len(self.tools)})"

    def session(self, **options: Any) -> AgentSession:
        """A new session for this agent; ``options`` override the definition's session options."""
        merged = {**self.session_options, **options}
        merged.setdefault("name", self.name)
        return AgentSession(
            self.model,
            tools=self.tools,
            instructions=self.instructions,
            settings=self.settings or None,
            **merged,
        )

    async def run(
        self,
        prompt: Prompt,
        *,
        deps: Any = None,
        hooks: Sequence[Hooks] = (),
        **options: Any,
    ) -> RunResult[OutputT]:
        """Open a session, run ``prompt`` to the end, close it. ``options`` go to the session."""
        async with self.session(**options) as session:
            result: RunResult[OutputT] = await session.run(
                prompt,
                output_type=self.output_type,
                output_retries=self.output_retries,
                deps=deps,
                hooks=hooks,
            )
        return result

    def as_tool(
        self,
        name: str | None = None,
        description: str | None = None,
        *,
        transport_factory: TransportFactory | None = None,
    ) -> Tool:
        """This agent as a tool another session can call: one ``input`` string in, the agent's
        final answer out.

        ``transport_factory(ctx)`` builds the sub-session's transport from the call's
        ``RunContext``; by default a WebSocket parent lends a lane of its socket and other
        transports open a new connection of the parent's kind (docs/agents.md).
        """
        agent = self

        async def run_agent(input: str, ctx: RunContext[Any]) -> str:
            parent: AgentSession = ctx.session
            options = _inherited(parent)
            options.update(agent.session_options)
            if transport_factory is not None:
                options["transport"] = transport_factory(ctx)
            else:
                lane = _lane_of_parent_socket(parent)
                if lane is not None:
                    options["transport"] = lane
            scope = parent._scope
            hooks = scope.hooks.hooks[len(parent.hooks) :] if scope is not None else ()
            async with agent.session(**options) as sub:
                with parent_span_of_call(scope.tracer if scope else None, ctx.call_id):
                    result = await sub.run(
                        input,
                        output_type=agent.output_type,
                        output_retries=agent.output_retries,
                        deps=ctx.deps,
                        hooks=hooks,
                    )
            if agent.output_type is not None and result.output is not None:
                return output_text(result.output)
            return result.final_text

        return Tool(
            name=name or self.name,
            description=description or self.description or f"Ask the {self.name} agent.",
            handler=run_agent,
            args_model=_AgentInput,
            kind="agent",
            context_param="ctx",
        )


#: Lanes a parent lends at once (the service runs 16 responses per socket at a time).
MAX_SUB_AGENT_LANES = 16


def _lane_of_parent_socket(parent: AgentSession) -> Transport | None:
    """A free lane (``agent-0``, ``agent-1``, ...) of the parent's socket, or None when the
    parent is not on a WebSocket or every lane is taken (then the sub-agent opens its own)."""
    transport = parent.transport
    if not isinstance(transport, WebSocketLane):
        return None
    for n in range(MAX_SUB_AGENT_LANES):
        try:
            return transport.socket.lane(f"agent-{n}")
        except UsageError:  # in use by a sibling running right now
            continue
    return None


def _inherited(parent: AgentSession) -> dict[str, Any]:
    """The parent session's options a sub-session runs with (where and how to connect, safety,
    hooks, tracing)."""
    kind = parent.transport.name
    return {
        "base_url": parent.base_url,
        "api_key": parent._api_key,
        "ssl_context": parent._ssl_context,
        "transport": kind if kind in _TRANSPORT_KINDS else "auto",
        "timeouts": parent.timeouts,
        "retry": parent.retry_policy,
        "policy": parent.policy,
        "approval": parent.approval,
        "output_filter": parent.output_filter,
        "hooks": parent.hooks,
        "tracing": parent._tracing,
    }

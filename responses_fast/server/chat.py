"""Chat Completions at ``POST /v1/chat/completions``: the Cerebras / OpenAI-compatible dialect.

The same scripted turns as the Responses endpoints; the turn index is the number of maximal runs
of assistant messages. Streams ``data:`` chunks (role first, content and tool-call deltas, a final
chunk with ``finish_reason``, usage and Cerebras ``time_info``) and ends with ``data: [DONE]``.
With ``stream_options.include_usage`` the usage moves to an extra chunk with ``choices: []``.
``cerebras_quirk`` re-sends each tool call's aggregated fragment (protocol.md section 9.3).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from responses_fast.protocol.sse import encode_sse

from .engine import ApiFailure, ServerState
from .http import cut_body, error_response, hit_fault, paced, read_json_body
from .limits import LimitError, apply_limits
from .scripted import (
    TurnPlan,
    context_from_messages,
    due,
    echo_plan,
    estimate_tokens,
    output_items,
    plan_turn,
    split_tokens,
)
from .stats import RequestRecord

__all__ = ["chat_chunks", "chat_routes", "chat_usage"]

FINGERPRINT = "fp_responses_fast"
_DONE = b"data: [DONE]\n\n"


def chat_usage(prompt: int, cached: int, completion: int, reasoning: int,
               override: Mapping[str, int] | None = None) -> dict[str, Any]:
    o = override or {}
    p = o.get("input_tokens", prompt)
    c = o.get("output_tokens", completion)
    return {
        "prompt_tokens": p,
        "completion_tokens": c,
        "total_tokens": p + c,
        "prompt_tokens_details": {"cached_tokens": o.get("cached_tokens", min(cached, p))},
        "completion_tokens_details": {"reasoning_tokens": o.get("reasoning_tokens", reasoning)},
    }


def chat_chunks(
    plan: TurnPlan, base: Mapping[str, Any], usage: Mapping[str, Any],
    tokens_per_second: float | None, ttft: float, *, include_usage: bool, quirk: bool,
    time_info: bool = True,
) -> list[tuple[float, dict[str, Any]]]:
    """Every chunk of a streamed completion as ``(due_offset_seconds, chunk)``. Pure."""
    out: list[tuple[float, dict[str, Any]]] = []
    now = 0.0
    k = 0

    def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
        out.append((now, {**base, "choices": [
            {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}))

    chunk({"role": "assistant", "content": ""})
    now = due(0, tokens_per_second, ttft)
    finals = output_items(plan)
    tool_index = 0
    for it, final in zip(plan.items, finals, strict=True):
        if it.is_call:  # a custom tool call travels as a function call with the text as input
            call = {"index": tool_index, "id": final["call_id"], "type": "function"}
            chunk({"tool_calls": [{**call, "function": {"name": it.name, "arguments": ""}}]})
            for piece in split_tokens(it.body):
                now = due(k, tokens_per_second, ttft)
                k += 1
                chunk({"tool_calls": [{"index": tool_index, "type": "function",
                                       "function": {"arguments": piece}}]})
            if quirk:
                chunk({"tool_calls": [
                    {**call, "function": {"name": it.name, "arguments": it.body}}]})
            tool_index += 1
        else:
            field = "reasoning" if it.kind == "reasoning" else "content"
            for piece in split_tokens(it.text):
                now = due(k, tokens_per_second, ttft)
                k += 1
                chunk({field: piece})
    finish = "length" if plan.incomplete else "tool_calls" if tool_index else "stop"
    last = {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish,
                                 "logprobs": None}]}
    extra: dict[str, Any] = {}
    if time_info:
        total = max(now, 0.0)
        extra["time_info"] = {"queue_time": 0.0, "prompt_time": 0.0,
                              "completion_time": total, "total_time": total,
                              "created": float(base.get("created", 0))}
    if include_usage:
        out.append((now, {**last, **extra}))
        out.append((now, {**base, "choices": [], "usage": dict(usage)}))
    else:
        out.append((now, {**last, "usage": dict(usage), **extra}))
    return out


def _message(plan: TurnPlan) -> tuple[dict[str, Any], str]:
    finals = output_items(plan)
    text = "".join(it.text for it in plan.items if it.kind == "message")
    calls = [{"id": f["call_id"], "type": "function",
              "function": {"name": f["name"], "arguments": it.body}}
             for it, f in zip(plan.items, finals, strict=True) if it.is_call]
    msg: dict[str, Any] = {"role": "assistant", "content": text if text or not calls else None}
    reasoning = "".join(it.text for it in plan.items if it.kind == "reasoning")
    if reasoning:
        msg["reasoning"] = reasoning
    if calls:
        msg["tool_calls"] = calls
    return msg, "length" if plan.incomplete else "tool_calls" if calls else "stop"


def _limited(plan: TurnPlan, data: Mapping[str, Any]) -> TurnPlan:
    """The Chat request's budget (max_completion_tokens, else max_tokens) and tool choices."""
    param = "max_completion_tokens" if "max_completion_tokens" in data else "max_tokens"
    budget = data.get(param)
    parallel = data.get("parallel_tool_calls")
    tools = data.get("tools")
    try:
        if budget is not None and (not isinstance(budget, int) or isinstance(budget, bool)):
            raise LimitError(f"Invalid '{param}': expected an integer.", param)
        return apply_limits(
            plan, max_output_tokens=budget, tool_choice=data.get("tool_choice"),
            parallel_tool_calls=parallel if isinstance(parallel, bool) else None,
            tools=tools if isinstance(tools, list) else None, budget_param=param)
    except LimitError as exc:
        raise ApiFailure(400, "invalid_request_error", str(exc), param=exc.param) from None


def _error_chunk(exc: ApiFailure) -> bytes:
    return encode_sse(orjson.dumps({"error": {**exc.body(), "id": None},
                                    "status_code": exc.status}))


async def chat_completions(request: Request) -> Response:
    state: ServerState = request.app.state.responses_fast
    record: RequestRecord | None = None
    try:
        cid, size, data = await read_json_body(request, state)
        messages = data.get("messages")
        model = data.get("model")
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages
        ):
            raise ApiFailure(400, "invalid_request_error",
                             "'messages' must be a list of objects with a 'role'.",
                             param="messages")
        record = state.stats.add_request(RequestRecord(
            connection_id=cid, endpoint="chat", model=model if isinstance(model, str) else None,
            input_items=len(messages), previous_response_id=None, bytes_in=size,
            stream=bool(data.get("stream")), context_items=len(messages),
        ))
        if not isinstance(model, str) or not model:
            raise ApiFailure(400, "missing_required_parameter",
                             "Missing required parameter: 'model'.", param="model")
        script = state.resolve_script(model)
        if script is None and not state.echoes(model):
            raise ApiFailure(404, "model_not_found", f"Model {model} does not exist.",
                             param="model")
        context = context_from_messages(messages)
        if script is not None:
            key = data.get("prompt_cache_key") or data.get("user") or ""
            n = state.conversation_turn(script, key if isinstance(key, str) else "", context)
            plan = plan_turn(script, context, n)
        else:
            plan = echo_plan(context)
        plan = _limited(plan, data)
        record.turn_index = plan.turn_index
        fault = state.faults.take(id(script), plan.turn_index, plan.fault) if script else None
        if fault is not None and (fault.kind == "http_status" or (
            fault.kind == "error" and (fault.after_events == 0 or not data.get("stream"))
        )):
            record.fault = fault.kind
            raise ApiFailure.from_fault(fault)
    except ApiFailure as exc:
        response = error_response(exc)
        if record is not None:
            record.status, record.error_code = "error", exc.code
            state.stats.add_out(record.connection_id, len(response.body), record)
        return response

    keys = [orjson.dumps(data.get("tools")).decode(), *(e.key for e in context)]
    prompt = sum(estimate_tokens(k) for k in keys)
    cached = state.prefix_cache.lookup_and_add(keys)
    n_out = sum(len(split_tokens(i.body)) for i in plan.items)
    n_reason = sum(len(split_tokens(i.text)) for i in plan.items if i.kind == "reasoning")
    usage = chat_usage(prompt, cached, n_out, n_reason, plan.tokens)
    tps, ttft = state.pacing(script)
    base: dict[str, Any] = {"id": "chatcmpl-" + secrets.token_hex(12),
            "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model, "system_fingerprint": FINGERPRINT}
    record.response_id = base["id"]

    if not data.get("stream"):
        if fault is not None and fault.kind == "stall":
            await anyio.sleep(fault.seconds)
        msg, finish = _message(plan)
        total = due(max(n_out - 1, 0), tps, ttft)
        if total > 0:
            await anyio.sleep(total)
        body = orjson.dumps({**base, "object": "chat.completion", "choices": [
            {"index": 0, "message": msg, "finish_reason": finish, "logprobs": None}],
            "usage": usage, "time_info": {"queue_time": 0.0, "prompt_time": 0.0,
                                          "completion_time": total, "total_time": total,
                                          "created": float(base["created"])}})
        state.stats.add_out(cid, len(body), record)
        if fault is not None and fault.kind == "close":
            record.status, record.fault = "fault", "close"
            return StreamingResponse(cut_body(body), media_type="application/json",
                                     headers={"content-length": str(len(body))})
        record.status = "completed"
        return Response(body, media_type="application/json")

    opts = data.get("stream_options") or {}
    chunks = chat_chunks(plan, base, usage, tps, ttft,
                         include_usage=bool(isinstance(opts, dict) and opts.get("include_usage")),
                         quirk=state.config.cerebras_quirk)
    return StreamingResponse(_stream(state, cid, record, chunks, fault),
                             media_type="text/event-stream")


async def _stream(state: ServerState, cid: str, record: RequestRecord,
                  chunks: list[tuple[float, dict[str, Any]]], fault: Any) -> AsyncIterator[bytes]:
    try:
        async for i, ch in paced(chunks):
            if fault is not None and await hit_fault(fault, i, record):
                exc = ApiFailure.from_fault(fault)
                record.error_code = exc.code
                data = _error_chunk(exc)
                state.stats.add_out(cid, len(data), record)
                yield data
                return
            data = encode_sse(orjson.dumps(ch))
            state.stats.add_out(cid, len(data), record)
            yield data
        state.stats.add_out(cid, len(_DONE), record)
        yield _DONE
        record.status = "completed"
    finally:
        if record.status == "in_progress":
            record.status = "cancelled"


def chat_routes() -> list[BaseRoute]:
    return [Route("/v1/chat/completions", chat_completions, methods=["POST"])]

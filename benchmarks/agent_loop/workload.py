"""The benchmark workload: a Codex-style bug-fix loop, generated from a seed.

One :class:`Workload` holds everything every contender shares: the scripted model's turns (played
by the local server), the instructions, the ten tool schemas, the prompt and, for every function
call the script makes, the tool's duration and output text. Contenders look a call up by
``(name, arguments)``; the arguments are unique per call, so the same call gets the same output
and the same duration in every contender (benchmark-method.md §4.1).

The floor (§4.3) is computed here from the script alone, never measured.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = [
    "CallSpec",
    "TurnSpec",
    "Workload",
    "build_workload",
    "floor_seconds",
    "split_tokens",
]

TOKEN_CHARS = 4  # the local server's tokenizer: chunks of at most 4 characters

# Step kinds of the default 25-turn plan: explore, reproduce, read, patch, re-test, summarise.
# "read3" is a turn with three parallel reads; "patch" is a 1,200-token write-the-patch turn.
_PLAN: tuple[str, ...] = (
    "list_dir", "grep", "read3", "read", "test_log", "read", "grep", "read3", "read_big",
    "read", "patch", "test", "read", "grep", "read3", "read", "edit", "read", "patch", "test",
    "read", "grep", "edit", "read",
)

_WORDS = (
    "the failing test expects the parser to keep trailing whitespace so I will check how "
    "tokens are joined in the formatter and whether the cache key includes the source path "
    "before changing anything let me look at the call sites and the fixture data first"
).split()


def split_tokens(text: str) -> list[str]:
    return [text[i : i + TOKEN_CHARS] for i in range(0, len(text), TOKEN_CHARS)]


@dataclass(frozen=True, slots=True)
class CallSpec:
    """One function call of the script and what running it costs and returns."""

    name: str
    arguments: str  # exact JSON string the model emits (unique per call)
    duration: float  # seconds (already scaled)
    output: str


@dataclass(frozen=True, slots=True)
class TurnSpec:
    text: str  # the assistant message of the turn ("" when none)
    calls: tuple[CallSpec, ...]

    def token_counts(self) -> tuple[int, list[int]]:
        """(tokens in the turn, index of the last token of each call) by the server's rule."""
        k = len(split_tokens(self.text))
        ends = []
        for c in self.calls:
            k += len(split_tokens(c.arguments))
            ends.append(k - 1)
        return k, ends


@dataclass(frozen=True)
class Workload:
    name: str
    turns: tuple[TurnSpec, ...]
    instructions: str
    tools: tuple[dict[str, Any], ...]  # Responses API function tool definitions
    prompt: str
    calls: Mapping[tuple[str, str], CallSpec] = field(default_factory=dict)

    def script(self, tokens_per_second: float, ttft: float = 0.0) -> dict[str, Any]:
        """The local server's script (docs: responses_fast/server/scripted.py)."""
        turns: list[list[dict[str, Any]]] = []
        for t in self.turns:
            items: list[dict[str, Any]] = []
            if t.text:
                items.append({"type": "message", "text": t.text})
            items.extend(
                {"type": "function_call", "name": c.name, "arguments": c.arguments}
                for c in t.calls
            )
            turns.append(items)
        return {"tokens_per_second": tokens_per_second, "ttft": ttft, "turns": turns}

    @property
    def final_text(self) -> str:
        return self.turns[-1].text

    def lookup(self, name: str, arguments: str) -> CallSpec:
        return self.calls[(name, arguments)]

    def lookup_kwargs(self, name: str, kwargs: Mapping[str, Any]) -> CallSpec:
        # orjson keeps key order both ways, so re-dumping parsed kwargs gives the same string.
        return self.calls[(name, orjson.dumps(dict(kwargs)).decode())]


def floor_seconds(workload: Workload, *, rtt: float, tokens_per_second: float, ttft: float,
                  setup_rtts: float = 1.0) -> float:
    """The physical floor of the workload (benchmark-method.md §4.3), from the script.

    Per turn: one RTT, the TTFT, then the later of the stream's end and the last tool's end,
    tools starting when their own call is complete and running in parallel. Token k is due at
    ttft + k/r (the server's absolute schedule), so a turn of N tokens ends at ttft + (N-1)/r.
    ``setup_rtts``: round trips of connection set-up (1 = TCP; 2 with TLS 1.3).
    """
    r = tokens_per_second
    total = setup_rtts * rtt
    for t in workload.turns:
        n, ends = t.token_counts()
        stream_end = max(n - 1, 0) / r
        tools_end = max((e / r + c.duration for e, c in zip(ends, t.calls, strict=True)),
                        default=0.0)
        total += rtt + ttft + max(stream_end, tools_end)
    return total


# --------------------------------------------------------------------------- generation


def _text(rng: random.Random, tokens: int) -> str:
    words: list[str] = []
    n = 0
    while n < tokens * TOKEN_CHARS:
        w = rng.choice(_WORDS)
        words.append(w)
        n += len(w) + 1
    return " ".join(words)[: tokens * TOKEN_CHARS]


def _source(rng: random.Random, size: int, tag: str) -> str:
    """Python-looking text of ``size`` characters (tool output)."""
    lines: list[str] = [f"# {tag}"]
    n = len(lines[0]) + 1
    i = 0
    while n < size:
        i += 1
        line = (f"def handler_{i}(value, cache=None):  # {rng.choice(_WORDS)}"
                if i % 5 == 0 else
                f"    result_{i} = transform(value, key={rng.randint(0, 10**6)!r}, mode='strict')")
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines)[:size]


def _log(rng: random.Random, size: int) -> str:
    lines = ["============================= test session starts =============================="]
    n = len(lines[0])
    i = 0
    while n < size:
        i += 1
        status = "FAILED" if rng.random() < 0.02 else "PASSED"
        line = f"tests/test_module_{i % 97}.py::test_case_{i} {status} [{i % 100:3d}%]"
        lines.append(line)
        n += len(line) + 1
    return "\n".join(lines)[:size]


_TOOL_NAMES = ("list_dir", "grep", "read_file", "write_file", "apply_patch", "edit_file",
               "run_tests", "run_shell", "git_diff", "search_symbols")


def _schemas() -> tuple[dict[str, Any], ...]:
    """Ten function tools of realistic size (~6 KB in all, benchmark-method.md §4.1)."""
    out = []
    for name in _TOOL_NAMES:
        desc = (f"{name.replace('_', ' ').capitalize()} in the repository checkout. " +
                "Paths are relative to the workspace root; the tool refuses paths outside it. "
                "Output longer than the limit is truncated in the middle with a marker. " * 3)
        props = {
            "path": {"type": "string", "description": "Workspace-relative path of the target."},
            "pattern": {"type": "string", "description": "Search pattern or command text."},
            "start": {"type": "integer", "description": "First line (1-based)."},
            "end": {"type": "integer", "description": "Last line (inclusive)."},
            "patch": {"type": "string", "description": "Unified diff or replacement text."},
        }
        out.append({"type": "function", "name": name, "description": desc,
                    "parameters": {"type": "object", "properties": props, "required": ["path"]}})
    return tuple(out)


def _instructions(size: int = 8_000) -> str:
    para = ("You are a coding agent working in a git repository. Read the code before you change "
            "it, keep patches minimal, run the tests after every change, and explain what you did "
            "in a short summary at the end. Never touch files outside the workspace. ")
    return (para * (size // len(para) + 1))[:size]


def build_workload(turns: int = 25, *, seed: int = 7, tool_scale: float = 1.0,
                   patch_tokens: int = 1_200) -> Workload:
    """The ``codex-bugfix`` workload with ``turns`` model turns (the last one answers in text).

    ``tool_scale`` multiplies every tool duration ('interactive' profile: reads 20-80 ms,
    edits 10 ms, test runs 2 s); --quick uses a small scale so the run fits in a minute.
    """
    if turns < 1:
        raise ValueError("a workload needs at least one turn")
    rng = random.Random(seed)
    steps = [_PLAN[i % len(_PLAN)] for i in range(turns - 1)]
    specs: list[TurnSpec] = []
    calls: dict[tuple[str, str], CallSpec] = {}
    big_log_done = big_read_done = False

    def call(name: str, args: dict[str, Any], duration: float, output: str) -> CallSpec:
        a = orjson.dumps(args).decode()
        spec = CallSpec(name, a, duration * tool_scale, output)
        if (name, a) in calls:
            raise AssertionError(f"duplicate call {name} {a}")
        calls[(name, a)] = spec
        return spec

    for i, step in enumerate(steps):
        path = f"src/pkg/module_{i}.py"
        small = rng.randint(3_000, 4_000)
        read_ms = rng.uniform(0.020, 0.080)
        # ~200-token turns (median), a lognormal spread of 80-400 tokens around it
        text_tokens = max(60, min(380, int(rng.lognormvariate(5.2, 0.35)) - 20))
        cs: tuple[CallSpec, ...]
        if step == "read3":
            cs = tuple(call("read_file", {"path": f"src/pkg/module_{i}_{j}.py", "start": 1},
                            rng.uniform(0.020, 0.080), _source(rng, small, f"{path}:{j}"))
                       for j in range(3))
        elif step in ("read", "read_big"):
            size = 60_000 if step == "read_big" and not big_read_done else small
            big_read_done = big_read_done or step == "read_big"
            cs = (call("read_file", {"path": path, "start": 1, "end": 400}, read_ms,
                       _source(rng, size, path)),)
        elif step in ("grep", "list_dir"):
            cs = (call(step, {"path": "src", "pattern": f"symbol_{i}"}, read_ms,
                       _source(rng, small, f"{step} {i}")),)
        elif step in ("test", "test_log"):
            size = 200_000 if step == "test_log" and not big_log_done else small
            big_log_done = big_log_done or step == "test_log"
            cs = (call("run_tests", {"path": "tests", "pattern": f"-k case_{i}"}, 2.0,
                       _log(rng, size)),)
        elif step == "edit":
            cs = (call("edit_file", {"path": path, "patch": _text(rng, 20)}, 0.010,
                       f"Edited {path}: 1 hunk applied."),)
        elif step == "patch":
            text_tokens = 40
            body = _text(rng, patch_tokens - 60)
            cs = (call("apply_patch", {"path": path, "patch": body}, 0.010,
                       f"Patch applied to {path}: 3 hunks, +41 -12."),)
        else:  # pragma: no cover - the plan only has the kinds above
            raise AssertionError(step)
        specs.append(TurnSpec(_text(rng, text_tokens), cs))
    specs.append(TurnSpec(_text(rng, 300), ()))  # the final summary, no tool call
    return Workload(
        name=f"codex-bugfix-{turns}",
        turns=tuple(specs),
        instructions=_instructions(),
        tools=_schemas(),
        prompt="The test tests/test_format.py::test_trailing_whitespace fails. Fix the bug.",
        calls=calls,
    )

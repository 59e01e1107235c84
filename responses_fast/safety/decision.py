"""The policy's answer for one tool call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .rules import Action

__all__ = ["RANK", "Decision"]

#: Strictness order: the strictest decision of all parts of a call wins.
RANK: Final[dict[str, int]] = {"allow": 0, "ask": 1, "deny": 2}
#: Longest reason kept; longer ones are cut with "...".
MAX_REASON: Final = 300


@dataclass(frozen=True, slots=True)
class Decision:
    """``action``: allow, ask or deny; ``reason``: one line a model can read; ``rule``: the id."""

    action: Action
    reason: str
    rule: str

    def __post_init__(self) -> None:
        reason = self.reason
        if len(reason) > MAX_REASON or "\n" in reason or "\r" in reason:
            # Reasons quote command words, which may hold newlines or be huge: keep one line.
            reason = " ".join(reason.split())
            if len(reason) > MAX_REASON:
                reason = reason[: MAX_REASON - 3] + "..."
            object.__setattr__(self, "reason", reason)

    @property
    def allowed(self) -> bool:
        return self.action == "allow"

    @property
    def denied(self) -> bool:
        return self.action == "deny"

    def stricter(self, other: Decision | None) -> Decision:
        """The stricter of the two (``self`` on a tie)."""
        if other is None or RANK[self.action] >= RANK[other.action]:
            return self
        return other

    def as_tool_output(self) -> str:
        """The text a model receives instead of the tool's output when the call is refused."""
        verb = "denied" if self.action == "deny" else "needs approval"
        return f"tool call {verb} by policy (rule {self.rule}): {self.reason}"

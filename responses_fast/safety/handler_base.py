"""What the per-program handlers share: the checker interface and argument helpers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from .commands import SimpleCommand
from .decision import RANK, Decision

__all__ = ["Checker", "Handler", "opt_values", "strictest", "writes"]


class Checker(ABC):
    """What the handlers need from the shell checker."""

    network: bool

    @abstractmethod
    def d(self, rule: str, reason: str) -> Decision: ...

    @abstractmethod
    def net(self, reason: str) -> Decision: ...

    @abstractmethod
    def write(self, target: str, cwd: str | None, what: str) -> Decision | None: ...

    @abstractmethod
    def read(self, target: str, cwd: str | None, what: str) -> Decision | None: ...

    @abstractmethod
    def absolute(self, path: str, cwd: str | None) -> str: ...

    @abstractmethod
    def contains(self, path: str, cwd: str | None) -> bool: ...

    @property
    @abstractmethod
    def root(self) -> str: ...


Handler = Callable[[Checker, SimpleCommand, "str | None"], "Decision | None"]


def strictest(*ds: Decision | None) -> Decision | None:
    best: Decision | None = None
    for d in ds:
        if d is not None and (best is None or RANK[d.action] > RANK[best.action]):
            best = d
    return best


def opt_values(argv: list[str], *names: str) -> list[str]:
    """Values of ``--name VALUE``, ``--name=VALUE`` and ``-xVALUE`` forms of the given options."""
    out: list[str] = []
    for i, a in enumerate(argv[1:], 1):
        for n in names:
            if a == n and i + 1 < len(argv):
                out.append(argv[i + 1])
            elif n.startswith("--") and a.startswith(n + "="):
                out.append(a[len(n) + 1 :])
            elif len(n) == 2 and not n.startswith("--") and a.startswith(n) and len(a) > 2:
                out.append(a[2:])
    return out


def writes(c: Checker, cmd: SimpleCommand, cwd: str | None, targets: list[str]) -> Decision | None:
    return strictest(*(c.write(t, cwd, f"{cmd.name} writes {t}") for t in targets))

"""The OS sandbox every shell command runs in: one interface, a backend chosen at start-up.

Backends: ``bwrap`` (Linux, namespaces via the bundled bubblewrap), ``landlock`` (Linux without
user namespaces: writes and TCP connect confined), ``seatbelt`` (macOS ``sandbox-exec``) and
``none`` (reported loudly; the policy then asks before anything that is not read-only).
Modes as in Codex: ``read-only``, ``workspace-write`` (default), ``danger-full-access``.
See docs/safety.md, "Threat model" and "Sandbox".
"""

from .core import BackendInfo, BackendName, Sandbox, SandboxUnavailableError, detect_backend
from .layout import SANDBOX_MODES, SECRET_HOME_PATHS, Layout, SandboxMode, build_layout
from .seatbelt import seatbelt_profile

__all__ = [
    "SANDBOX_MODES",
    "SECRET_HOME_PATHS",
    "BackendInfo",
    "BackendName",
    "Layout",
    "Sandbox",
    "SandboxMode",
    "SandboxUnavailableError",
    "build_layout",
    "detect_backend",
    "seatbelt_profile",
]

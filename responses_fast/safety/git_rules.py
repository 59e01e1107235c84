"""The git rules: subcommands by effect, and the options that make git run other programs.

``git -c core.fsmonitor=CMD status``, ``--config-env``, ``--exec-path``, ``git config alias.x
'!cmd'``, ``rebase -x``, ``bisect run``, ``submodule foreach``, ``grep -O`` run commands;
``--output``, ``--work-tree``, ``--git-dir`` and ``-C`` decide where git writes.
"""

from __future__ import annotations

import re

from .commands import SimpleCommand
from .decision import Decision
from .handler_base import Checker, opt_values, strictest
from .vocabulary import is_dynamic, operands, short_flags

__all__ = ["check_git"]


_GIT_READ = frozenset(
    """status diff log show blame grep ls-files ls-tree rev-parse describe shortlog reflog show-ref
    cat-file rev-list version help whatchanged name-rev for-each-ref merge-base count-objects
    check-ignore var diff-tree diff-files diff-index range-diff annotate cherry show-branch
    verify-commit verify-tag fsck""".split()
)
_GIT_WORK = frozenset(
    """add commit checkout switch restore mv rm init merge rebase cherry-pick revert stash apply am
    worktree notes format-patch branch tag remote gc prune mergetool sparse-checkout
    update-index reset bisect archive bundle maintenance repack pack-refs""".split()
)
_GIT_NET = frozenset({"clone", "fetch", "pull", "ls-remote", "send-email", "request-pull"})
_GIT_VALUE_OPTS = frozenset(
    {
        "-C",
        "-c",
        "--git-dir",
        "--work-tree",
        "--namespace",
        "--config-env",
        "--exec-path",
        "--super-prefix",
    }
)
#: git -c settings that cannot make git run anything.
_GIT_SAFE_CONFIG = re.compile(
    r"^(?:user\.\w+|color\.[\w.]+|core\.(?:quotepath|autocrlf|safecrlf|abbrev)|advice\.\w+|"
    r"init\.defaultbranch|log\.\w+|diff\.(?:renames|algorithm|noprefix|mnemonicprefix)|"
    r"merge\.conflictstyle|pull\.(?:rebase|ff)|push\.default|commit\.gpgsign|tag\.gpgsign|"
    r"safe\.directory|column\.ui|pager\.\w+=(?:false|true))=",
    re.I,
)
_LFS_LOCAL = frozenset(
    {
        "ls-files",
        "status",
        "env",
        "version",
        "track",
        "untrack",
        "logs",
        "pointer",
        "migrate",
        "checkout",
        "prune",
        "fsck",
        "locks",
    }
)


def check_git(c: Checker, cmd: SimpleCommand, cwd: str | None) -> Decision | None:
    argv = cmd.argv
    i = 1
    git_cwd = cwd
    worst: Decision | None = None
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        opt, _, inline = a.partition("=")
        value = inline if inline else (argv[i + 1] if i + 1 < len(argv) else "")
        if a == "-c" or (a.startswith("-c") and len(a) > 2):
            setting = value if a == "-c" else a[2:]
            if not _GIT_SAFE_CONFIG.match(setting + ("" if "=" in setting else "=")):
                return c.d(
                    "command-flag",
                    f"git -c {setting.split('=', 1)[0]}: settings can make git run other programs",
                )
        elif opt in ("--config-env", "--exec-path"):
            return c.d("command-flag", f"git {opt} can make git run other programs")
        elif opt in ("--git-dir", "--work-tree"):
            if cwd is None or not c.contains(value, cwd):
                worst = c.d(
                    "write-outside-workspace",
                    f"git {opt}={value} works on a repository outside the workspace",
                )
        elif a == "-C":
            git_cwd = None if is_dynamic(value) or cwd is None else c.absolute(value, cwd)
        i += 2 if a in _GIT_VALUE_OPTS and not inline else 1
    if i >= len(argv):
        return worst or c.d("read-only", "git with options only")
    sub = argv[i]
    rest = argv[i + 1 :]
    outside = git_cwd is not None and git_cwd != c.root and not c.contains(git_cwd, None)
    if sub in ("diff", "log", "show", "format-patch", "archive", "bundle", "whatchanged"):
        for o in opt_values(["git", *rest], "--output", "-o", "--output-directory"):
            worst = strictest(worst, c.write(o, git_cwd, f"git {sub} --output writes {o}"))
    if sub in _GIT_READ:
        if sub == "diff" and "--no-index" in rest:
            for p in operands(["git", *rest]):
                worst = strictest(worst, c.read(p, git_cwd, f"git diff --no-index reads {p}"))
        if sub == "grep" and opt_values(["git", *rest], "-O", "--open-files-in-pager"):
            return c.d("command-flag", "git grep -O runs a pager program")
        return worst or c.d("read-only", f"git {sub} only reads")
    if worst is not None:
        return worst
    if outside and sub not in ("config", "push") and sub not in _GIT_NET:
        return c.d(
            "write-outside-workspace",
            f"git {sub} in {git_cwd} changes a repository outside the workspace",
        )
    if sub == "push":
        forced = any(
            a in ("-f", "--force", "--mirror", "--force-if-includes")
            or a.startswith("--force-with-lease")
            or (a.startswith("-") and not a.startswith("--") and "f" in a)
            or (a.startswith("+") and len(a) > 1)
            for a in rest
        )
        if forced:
            return c.d("git-push-force", "git push --force rewrites the remote's history")
        return c.net("git push uses the network")
    if sub == "reset" and "--hard" in rest:
        return c.d("git-reset-hard", "git reset --hard discards uncommitted changes")
    if sub == "clean":
        flags = short_flags(["git", *rest])
        if ("f" in flags or "--force" in rest) and "n" not in flags and "--dry-run" not in rest:
            return c.d("git-clean", "git clean -f deletes untracked files")
        return c.d("read-only", "git clean without -f only lists")
    if sub == "config":
        return _git_config(c, rest)
    if sub == "credential" or sub.startswith("credential-"):
        return c.d("secret-read", "git credential prints stored credentials")
    if sub == "submodule":
        action = next((a for a in rest if not a.startswith("-")), "status")
        if action in ("status", "summary", "init", "absorbgitdirs", "set-branch", "set-url"):
            return c.d(
                "read-only" if action in ("status", "summary") else "workspace-command",
                f"git submodule {action} stays local",
            )
        if action == "foreach":
            return c.d("command-flag", "git submodule foreach runs a command in each submodule")
        return c.net(f"git submodule {action} uses the network")
    if sub == "lfs":
        action = next((a for a in rest if not a.startswith("-")), "")
        if action in _LFS_LOCAL:
            return c.d(
                "read-only"
                if action in ("ls-files", "status", "env", "version", "logs")
                else "workspace-command",
                f"git lfs {action} stays local",
            )
        return c.net(f"git lfs {action} uses the network")
    if sub in ("rebase", "bisect") and (
        opt_values(["git", *rest], "-x", "--exec") or (sub == "bisect" and "run" in rest)
    ):
        return c.d("command-flag", f"git {sub} runs a command (--exec / run)")
    if sub in _GIT_NET or (sub == "remote" and "update" in rest):
        return c.net(f"git {sub} uses the network")
    if sub == "worktree" and "add" in rest:
        ops = [a for a in operands(["git", *rest]) if a != "add"]
        if ops:
            d = c.write(ops[0], git_cwd, f"git worktree add creates {ops[0]}")
            if d is not None:
                return d
    if sub in ("archive", "bundle"):
        for o in opt_values(["git", *rest], "--output", "-o"):
            d = c.write(o, git_cwd, f"git {sub} writes {o}")
            if d is not None:
                return d
    if sub in _GIT_WORK:
        if outside:
            return c.d(
                "write-outside-workspace",
                f"git {sub} in {git_cwd} changes a repository outside the workspace",
            )
        return c.d("workspace-command", f"git {sub} changes the repository")
    return c.d("unknown-command", f"git {sub} is not a known git command")


def _git_config(c: Checker, rest: list[str]) -> Decision:
    read_flags = (
        "--get",
        "--get-all",
        "--get-regexp",
        "--list",
        "-l",
        "--show-origin",
        "--get-urlmatch",
        "--show-scope",
        "get",
        "list",
    )
    if any(a in read_flags for a in rest):
        return c.d("read-only", "git config only reads settings")
    if any(a in ("--global", "--system", "--file", "-f") or a.startswith("--file=") for a in rest):
        return c.d(
            "write-outside-workspace",
            "git config --global/--system/--file changes settings outside the repository",
        )
    ops = [a for a in rest if not a.startswith("-")]
    if ops and ops[0] in ("set", "unset"):
        ops = ops[1:]
    if len(ops) <= 1:
        return c.d("read-only", "git config only reads settings")
    if _GIT_SAFE_CONFIG.match(f"{ops[0]}="):
        return c.d("workspace-command", f"git config {ops[0]} is a harmless setting")
    return c.d("command-flag", f"git config {ops[0]}: settings can make git run other programs")

"""The policy's vocabulary: programs by kind, and small helpers to read their arguments."""

from __future__ import annotations

from typing import Final

__all__ = [
    "DOWNLOADERS",
    "INTERPRETERS",
    "NETWORK_TOOLS",
    "PKG_NET",
    "READ_ONLY",
    "SAFE_DEVICES",
    "SECRET_NAMERS",
    "SELF_CLASSIFIED",
    "SHELLS",
    "SYSTEM_DIRS",
    "WORKSPACE",
    "is_dynamic",
    "operands",
    "short_flags",
]

#: Programs that only read (their writing or command-running flags are checked by a handler).
READ_ONLY: Final = frozenset(
    """ls ll la cat head tail wc grep egrep fgrep rg ag ack echo printf pwd which whereis type file
    stat du df tree diff cmp comm sort uniq cut tr basename dirname realpath readlink date cal
    printenv uname whoami id groups hostname true false test [ [[ jq yq less more nl tac rev column
    xxd od hexdump strings md5sum sha1sum sha256sum sha512sum b2sum cksum seq sleep ps pgrep uptime
    free nproc lscpu locale tput fold fmt expand unexpand paste join numfmt bc expr yes
    man info help history cd pushd popd export unset set shopt unalias : exit return shift
    read wait local declare typeset readonly let getopts hash jobs fg bg umask ulimit mktemp
    tty stty clear reset env look wait4 base64 base32 zcat zless bzcat xzcat lsof top htop
    iconv sum shasum awk gawk mawk nawk command builtin""".split()
)
#: Programs whose effects stay in the workspace (or are checked by a handler).
WORKSPACE: Final = frozenset(
    """python python3 python2 py node nodejs deno bun ruby perl php java javac kotlinc scala go
    cargo rustc rustup make gmake cmake ninja meson gcc g++ cc c++ clang clang++ ld as tsc pytest
    py.test mypy pyright ruff black isort flake8 pylint bandit coverage tox nox eslint prettier
    jest vitest mocha npm pnpm yarn uv poetry pip pip3 pipx hatch pdm tar zip unzip gzip gunzip
    bzip2 bunzip2 xz unxz zstd unzstd sed patch touch mkdir cp mv ln install tee truncate rm
    rmdir unlink chmod chown chgrp dd kill ctags gofmt rustfmt clang-format shfmt shellcheck
    hyperfine pre-commit autopep8 yapf sphinx-build mkdocs jupyter ipython mvn gradle ant sbt
    dotnet swift swiftc zig bazel bazelisk just task ctest rake bundle mix elixir erl lua
    Rscript split csplit openssl ssh-keygen gpg shuf""".split()
)
NETWORK_TOOLS: Final = frozenset(
    """curl wget nc ncat netcat ssh scp sftp ftp tftp lftp telnet socat aria2c http https ping
    ping6 dig nslookup host mosh rsync whois traceroute tracepath nmap npx bunx uvx pnpx gh
    aws gcloud gsutil az kubectl helm heroku vercel netlify flyctl""".split()
)
SHELLS: Final = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "ash", "fish", "mksh", "csh", "tcsh"}
)
INTERPRETERS: Final = SHELLS | {
    "python",
    "python3",
    "python2",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "deno",
    "bun",
    "Rscript",
    "pypy",
    "pypy3",
}
DOWNLOADERS: Final = frozenset({"curl", "wget", "fetch", "aria2c", "http", "https"})
SYSTEM_DIRS: Final = frozenset(
    """/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /media /mnt /opt /proc /root /run /sbin
    /srv /sys /tmp /usr /usr/bin /usr/lib /usr/local /usr/local/bin /usr/sbin /var /var/lib /Users
    /System /Library /Applications /private""".split()
)
#: Commands that name secret files without reading them.
SECRET_NAMERS: Final = frozenset(
    {
        "echo",
        "printf",
        "ls",
        "touch",
        "mkdir",
        "rm",
        "test",
        "[",
        "[[",
        "stat",
        "which",
        "file",
        "cd",
        "export",
        "basename",
        "dirname",
        "realpath",
        "readlink",
        "chmod",
        "find",
        "shred",
        "unlink",
        "du",
        "tee",
        "truncate",
        "openssl",
        "ssh-keygen",
        "chown",
        "chgrp",
    }
)
SAFE_DEVICES: Final = frozenset(
    {"/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", "/dev/zero", "/dev/stdin"}
)
#: Package managers: subcommands that download.
PKG_NET: Final[dict[str, frozenset[str]]] = {
    k: frozenset(v)
    for k, v in {
        "pip": {"install", "download", "wheel", "index", "search"},
        "pip3": {"install", "download", "wheel", "index", "search"},
        "uv": {"add", "sync", "lock", "tool", "python"},
        "poetry": {"add", "install", "update", "lock", "publish", "self"},
        "npm": {
            "install",
            "i",
            "ci",
            "add",
            "update",
            "upgrade",
            "publish",
            "audit",
            "outdated",
            "exec",
            "x",
            "create",
            "init",
            "login",
            "view",
            "info",
        },
        "pnpm": {"install", "i", "add", "update", "up", "publish", "dlx", "create"},
        "yarn": {"install", "add", "upgrade", "publish", "dlx", "create"},
        "bun": {"install", "add", "update", "x", "create"},
        "cargo": {"install", "fetch", "update", "publish", "add", "search", "login"},
        "gem": {"install", "update", "fetch", "push"},
        "bundle": {"install", "update"},
        "composer": {"install", "update", "require", "create-project"},
        "dotnet": {"restore", "add"},
        "conda": {"install", "create", "update", "search"},
        "mamba": {"install", "create", "update"},
        "apt": {"install", "update", "upgrade", "full-upgrade", "download", "dist-upgrade"},
        "apt-get": {"install", "update", "upgrade", "dist-upgrade", "download", "source"},
        "yum": {"install", "update", "upgrade"},
        "dnf": {"install", "update", "upgrade"},
        "brew": {"install", "update", "upgrade", "tap", "fetch"},
        "pacman": {"-S", "-Sy", "-Syu", "-Syyu"},
        "apk": {"add", "update", "upgrade", "fetch"},
        "docker": {"pull", "push", "login", "search"},
        "podman": {"pull", "push", "login", "search"},
        "hf": {"download", "upload"},
        "huggingface-cli": {"download", "upload", "login"},
        "pipx": {"install", "run", "upgrade", "inject", "reinstall"},
    }.items()
}
#: Programs whose handler classifies them (no name-based classification).
SELF_CLASSIFIED: Final = frozenset(
    {
        "git",
        "systemctl",
        "init",
        "telinit",
        "killall5",
        "sed",
        "find",
        "source",
        ".",
        "alias",
        "trap",
        "docker",
        "podman",
        "go",
        "eval",
    }
)


def is_dynamic(word: str) -> bool:
    """The word holds an expansion or substitution kept raw by the parser."""
    return "$" in word or "`" in word


def operands(argv: list[str], value_opts: frozenset[str] = frozenset()) -> list[str]:
    """The non-option arguments (``value_opts`` take the next word as their value)."""
    out: list[str] = []
    i = 1
    end_opts = False
    while i < len(argv):
        a = argv[i]
        if not end_opts and a == "--":
            end_opts = True
        elif not end_opts and a.startswith("-") and len(a) > 1:
            if a in value_opts:
                i += 1
        else:
            out.append(a)
        i += 1
    return out


def short_flags(argv: list[str]) -> str:
    """All single-dash flag letters run together (``-rf -v`` -> ``rfv``)."""
    return "".join(a[1:] for a in argv[1:] if a.startswith("-") and not a.startswith("--"))

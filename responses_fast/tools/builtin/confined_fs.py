"""Race-free access to the files of a workspace, through directory descriptors.

Checking a path ("after symlinks, is it inside?") and then opening it by name is racy: between the
two, a folder can be swapped for a symlink pointing outside, and the open follows it. Here a path
is walked one component at a time from a descriptor of the workspace root: each folder is opened
with ``O_NOFOLLOW | O_DIRECTORY`` relative to the descriptor of its parent, the file is opened with
``O_NOFOLLOW`` relative to the descriptor of its folder and checked with ``fstat`` on its own
descriptor, and every read and write goes through those descriptors (writes: a temporary file
created in the folder's descriptor, then ``os.replace`` with ``src_dir_fd``/``dst_dir_fd``). A swap
after a component was opened changes nothing (we hold what we checked); a swap before it makes the
``O_NOFOLLOW`` open fail, and the link is then resolved by the walker itself.

Rules:

- Symlinks inside the workspace are followed when they resolve inside it. The walker resolves them
  itself, component by component, and applies ``..`` to what a link resolved to (as the kernel
  does: with ``l -> sub``, ``l/../x`` is ``x`` next to ``sub``'s parent). A link leading out of the
  workspace, ``..`` above its root, and absolute paths elsewhere raise :class:`PathEscapeError`.
- Hard links: a regular file with more than one name (``st_nlink > 1``) may be another name of a
  file outside the workspace (``ln ~/.ssh/id_rsa key``), and nothing on the file says which; it is
  refused (:class:`HardLinkError`). Package managers that hard-link from a cache (pnpm, uv) make
  such files in ``node_modules``/``.venv``: read those with the shell tool, which runs in the
  sandbox.
- Only regular files are read (no FIFOs or devices: they are opened ``O_NONBLOCK`` and refused).

``openat2(RESOLVE_BENEATH)`` would do the walk in one system call on Linux 5.6+, but the walk is
needed anyway on macOS and older kernels, and one implementation is easier to trust than two.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from dataclasses import dataclass

from responses_fast.safety.paths import PathEscapeError, expand_user

__all__ = ["HardLinkError", "Located", "WorkspaceFS"]

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_MAX_LINKS = 40  # as Linux: ELOOP after 40 links in one lookup


class HardLinkError(PermissionError):
    """A regular file with several names: it may alias a file outside the workspace."""


@dataclass(slots=True)
class Located:
    """Where a path leads: an open descriptor of the deepest existing folder on the way.

    ``missing`` are folders below ``dir_fd`` that do not exist yet (only when creating), ``name``
    the last component ("" for the workspace root itself), ``rel`` the canonical path below the
    root (links resolved) and ``st`` the ``lstat`` of ``name`` when it exists. The caller closes
    ``dir_fd`` (:meth:`close`).
    """

    dir_fd: int
    missing: tuple[str, ...]
    name: str
    rel: tuple[str, ...]
    st: os.stat_result | None

    @property
    def shown(self) -> str:
        return "/".join(self.rel) or "."

    def close(self) -> None:
        if self.dir_fd >= 0:
            os.close(self.dir_fd)
            self.dir_fd = -1


def _parts(text: str) -> list[str]:
    return [p for p in text.split("/") if p and p != "."]


class WorkspaceFS:
    """Opens, lists, reads and writes files below ``root`` without ever leaving it."""

    __slots__ = ("_root_parts", "root")

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = os.path.realpath(os.fspath(root))
        self._root_parts = _parts(self.root)

    # ------------------------------------------------------------------ resolution

    def _below_root(self, absolute: str, shown: str, what: str) -> list[str]:
        """The components of an absolute path below the root; refuse any other path."""
        parts = _parts(absolute)
        n = len(self._root_parts)
        if parts[:n] != self._root_parts:
            raise PathEscapeError(f"{shown}: {what} is outside the workspace {self.root}")
        return parts[n:]

    def locate(self, path: str, *, follow_last: bool = True, create: bool = False) -> Located:
        """Walk ``path`` from the root; raises :class:`PathEscapeError` if it leads outside.

        ``follow_last``: resolve a symlink in the last component (else report the link itself).
        ``create``: missing folders on the way are returned in ``missing`` instead of raising
        :class:`FileNotFoundError`.
        """
        if not path or "\x00" in path:
            raise PathEscapeError(f"invalid path {path!r}")
        text = expand_user(path)
        todo = self._below_root(text, path, "path") if text.startswith("/") else _parts(text)
        todo.reverse()
        names: list[str] = []
        fds = [os.open(self.root, _DIR_FLAGS)]
        links = 0
        try:
            while todo:
                name = todo.pop()
                if name == "..":
                    if not names:
                        raise PathEscapeError(
                            f"{path}: a symlink on the way points outside the workspace"
                            if links
                            else f"{path}: leads outside the workspace (.. above its root)"
                        )
                    os.close(fds.pop())
                    names.pop()
                    continue
                last = not todo
                if last:
                    try:
                        st: os.stat_result | None = os.stat(
                            name, dir_fd=fds[-1], follow_symlinks=False
                        )
                    except FileNotFoundError:
                        st = None
                    if st is None or not (follow_last and stat.S_ISLNK(st.st_mode)):
                        loc = Located(fds.pop(), (), name, (*names, name), st)
                        return loc
                else:
                    try:
                        fds.append(os.open(name, _DIR_FLAGS, dir_fd=fds[-1]))
                        names.append(name)
                        continue
                    except FileNotFoundError:
                        if not create:
                            raise FileNotFoundError(
                                f"{path}: no such folder {'/'.join((*names, name))!r}"
                                " in the workspace"
                            ) from None
                        # Folders to create: nothing below them can be a link, so the rest is
                        # resolved lexically (as the kernel will once they exist).
                        missing = [name]
                        while todo:
                            part = todo.pop()
                            if part != "..":
                                missing.append(part)
                            elif missing:
                                missing.pop()
                            elif names:
                                os.close(fds.pop())
                                names.pop()
                            else:
                                raise PathEscapeError(
                                    f"{path}: leads outside the workspace (.. above its root)"
                                ) from None
                        if missing:
                            last_name = missing.pop()
                            return Located(fds.pop(), tuple(missing), last_name,
                                           (*names, *missing, last_name), None)  # fmt: skip
                        break
                    except OSError as exc:
                        if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                            raise
                # A symlink (or a folder swapped for one): resolve it ourselves.
                try:
                    target = os.readlink(name, dir_fd=fds[-1])
                except OSError as exc:
                    if exc.errno == errno.EINVAL:  # not a link: a file, or swapped back
                        if not last and not stat.S_ISDIR(
                            os.stat(name, dir_fd=fds[-1], follow_symlinks=False).st_mode
                        ):
                            raise NotADirectoryError(
                                f"{path}: {'/'.join((*names, name))} is not a folder"
                            ) from None
                        todo.append(name)  # retry; counted against the link budget
                        target = ""
                    else:
                        raise
                links += 1
                if links > _MAX_LINKS:
                    raise PathEscapeError(f"{path}: too many levels of symbolic links")
                if target.startswith("/"):
                    where = "/".join((*names, name))
                    below = self._below_root(target, path, f"the symlink {where} -> {target}")
                    while len(fds) > 1:
                        os.close(fds.pop())
                    names.clear()
                    todo.extend(reversed(below))
                elif target:
                    todo.extend(reversed(_parts(target)))
            # The path names the root or ends with ".." / ".".
            if not names:
                root_fd = fds.pop()
                fds.append(root_fd)  # closed by ``finally`` if fstat fails
                root_st = os.fstat(root_fd)
                fds.pop()
                return Located(root_fd, (), "", (), root_st)
            name = names.pop()
            os.close(fds.pop())
            st = os.stat(name, dir_fd=fds[-1], follow_symlinks=False)
            return Located(fds.pop(), (), name, (*names, name), st)
        finally:
            for fd in fds:
                os.close(fd)

    # ------------------------------------------------------------------ opening

    def open_at(self, loc: Located, *, directory: bool = False) -> tuple[int, os.stat_result]:
        """Open what ``loc`` names (no links followed) and ``fstat`` the descriptor."""
        if loc.missing or (loc.st is None and loc.name):
            raise FileNotFoundError(f"{loc.shown}: no such file in the workspace")
        mode = loc.st.st_mode if loc.st is not None else stat.S_IFREG
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            # Opening a device can act on it (a tape rewinds); FIFOs and sockets never end.
            raise ValueError(f"{loc.shown}: is not a regular file")
        if not loc.name:
            fd = os.dup(loc.dir_fd)
        else:
            try:
                fd = os.open(loc.name, _DIR_FLAGS if directory else _FILE_FLAGS, dir_fd=loc.dir_fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.EMLINK):
                    raise PathEscapeError(
                        f"{loc.shown}: changed into a symlink while being opened"
                    ) from None
                raise
        try:
            st = os.fstat(fd)
        except BaseException:
            os.close(fd)
            raise
        return fd, st

    def open_file(self, path: str) -> tuple[int, os.stat_result, str]:
        """A descriptor of the regular file ``path`` names, its ``fstat`` and its canonical name.

        Raises :class:`IsADirectoryError`, :class:`HardLinkError`, :class:`PathEscapeError`,
        :class:`FileNotFoundError` or :class:`ValueError` (not a regular file).
        """
        loc = self.locate(path)
        try:
            fd, st = self.open_at(loc)
        finally:
            loc.close()
        try:
            check_regular(st, loc.shown)
        except BaseException:
            os.close(fd)
            raise
        return fd, st, loc.shown

    def open_dir(self, path: str) -> tuple[int, str]:
        """A descriptor of the folder ``path`` names and its canonical name."""
        loc = self.locate(path)
        try:
            if loc.st is not None and not stat.S_ISDIR(loc.st.st_mode):
                raise NotADirectoryError(f"{path}: is not a folder")
            fd, _ = self.open_at(loc, directory=True)
        finally:
            loc.close()
        return fd, loc.shown

    # ------------------------------------------------------------------ writing

    def write_at(self, dir_fd: int, name: str, data: bytes, mode: int | None) -> None:
        """Replace ``name`` in the folder ``dir_fd`` atomically (temporary file + rename)."""
        tmp = f".{name[:100]}.{secrets.token_hex(6)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o666, dir_fd=dir_fd)  # fmt: skip
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if mode is not None:
                    os.fchmod(fd, stat.S_IMODE(mode))
            finally:
                os.close(fd)
            os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=dir_fd)
            except OSError:
                pass
            raise


def check_regular(st: os.stat_result, shown: str) -> None:
    """Refuse folders, special files and files with several names (hard links)."""
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{shown}: is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{shown}: is not a regular file")
    if st.st_nlink > 1:
        raise HardLinkError(
            f"{shown}: has {st.st_nlink} hard links; it may be another name of a file outside the"
            " workspace, so the file tools refuse it (read it with the shell tool, which runs in"
            " the sandbox)"
        )


def read_fd(fd: int, size_hint: int) -> bytes:
    """All bytes of an open file."""
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, max(size_hint, 65536))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)

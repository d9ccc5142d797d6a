"""Reading and writing files below a folder without ever following a symbolic link.

A desktop sandbox's home is a folder of this machine that programs inside can change at
any moment: a task or an agent can replace ``~/.config`` or ``~/report.xlsx`` by a link to
``/etc`` or to another user's file. Code on the host that reads or writes in that home must
then act on the link itself, never on what it points to. Every function here walks the
path one component at a time, each opened relative to its parent's file descriptor with
``O_NOFOLLOW``, so there is no moment at which a link swapped in is followed.

A link anywhere on the path raises ``LinkRefused``: the caller decides what a link means
(a sandbox reads the file from inside, where the link means what it means on a VM).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

__all__ = ["LinkRefused", "read_below", "write_below", "is_dir_below", "make_dirs_below"]

_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class LinkRefused(OSError):
    """A symbolic link (or something that is not a folder) on the way to a file."""


def _parts(relative: str | PurePosixPath) -> list[str]:
    parts = [p for p in PurePosixPath(relative).parts if p not in ("", ".")]
    if PurePosixPath(relative).is_absolute() or ".." in parts:
        raise ValueError(f"{relative!r} is not a path below the folder")
    return parts


@contextmanager
def _parent(root: Path, parts: list[str], make: bool = False,
            owner: tuple[int, int] | None = None) -> Iterator[int]:
    """A descriptor of the folder holding ``parts[-1]``, reached without following links."""
    fd = os.open(root, _DIR)
    try:
        for name in parts[:-1]:
            try:
                child = os.open(name, _DIR, dir_fd=fd)
            except FileNotFoundError:
                if not make:
                    raise
                try:
                    os.mkdir(name, 0o755, dir_fd=fd)
                except FileExistsError:
                    pass  # made meanwhile (by a program inside): opened below like any other
                child = os.open(name, _DIR, dir_fd=fd)
                if owner is not None:
                    os.fchown(child, *owner)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise LinkRefused(exc.errno, f"{name} is a link or not a folder",
                                      str(root.joinpath(*parts))) from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def read_below(root: Path, relative: str | PurePosixPath) -> bytes | None:
    """The bytes of ``root/relative``; None when there is no such regular file.

    Raises:
        LinkRefused: a link is on the path or is the file itself.
    """
    parts = _parts(relative)
    if not parts:
        return None
    try:
        with _parent(root, parts) as folder:
            try:
                # O_NONBLOCK: a FIFO planted under the file's name must not hang the host.
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                             dir_fd=folder)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise LinkRefused(exc.errno, "the file is a link", str(root / relative)) from None
                raise
            with os.fdopen(fd, "rb") as file:
                if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                    return None
                return file.read()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None


def is_dir_below(root: Path, relative: str | PurePosixPath) -> bool:
    """True when ``root/relative`` is a folder (a link to one raises ``LinkRefused``)."""
    parts = _parts(relative)
    if not parts:
        return True
    try:
        with _parent(root, parts) as folder:
            info = os.stat(parts[-1], dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode):
        raise LinkRefused(errno.ELOOP, "the path is a link", str(root / relative))
    return stat.S_ISDIR(info.st_mode)


def make_dirs_below(root: Path, relative: str | PurePosixPath,
                    owner: tuple[int, int] | None = None) -> None:
    """``mkdir -p root/relative``, refusing links on the way; new folders get ``owner``."""
    parts = _parts(relative)
    if parts:
        with _parent(root, [*parts, "."], make=True, owner=owner):
            pass


def write_below(root: Path, relative: str | PurePosixPath, data: bytes, *, mode: int = 0o644,
                owner: tuple[int, int] | None = None) -> None:
    """Put ``data`` at ``root/relative``, making its folders: written to a new file beside
    it, then renamed over the name, so a link there is replaced, never written through.

    Args:
        owner: (uid, gid) of the new file and folders (the sandbox's user, when the host
            writes as another one); None keeps the writer's.
    """
    parts = _parts(relative)
    if not parts:
        raise ValueError("no file name to write")
    with _parent(root, parts, make=True, owner=owner) as folder:
        temporary = f".{parts[-1]}.qvl-{secrets.token_hex(4)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     mode, dir_fd=folder)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                if owner is not None:
                    os.fchown(file.fileno(), *owner)
                os.fchmod(file.fileno(), mode)
            os.rename(temporary, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            try:
                os.unlink(temporary, dir_fd=folder)
            except OSError:
                pass
            raise

"""adb's file service (``sync:``): what ``adb pull``, ``adb push`` and ``adb ls`` speak.

A request is a 4-byte id, a little-endian length and that many bytes (a path); the answers
are AOSP's ``file_sync_protocol.h`` v1 records (the phone does not advertise ``stat_v2`` or
``ls_v2``, so the host uses these):

    STAT path  -> STAT mode size mtime                 (mode 0: no such file)
    LIST path  -> DENT mode size mtime namelen name ... then DONE with zeros
    RECV path  -> DATA len bytes ... (64 KiB at most each) then DONE 0, or FAIL len message
    SEND "path,mode" then DATA ... DONE mtime from the host -> OKAY 0, or FAIL len message
    QUIT       -> the stream ends
"""

from __future__ import annotations

import logging
import stat
import struct
from collections.abc import Callable
from typing import Protocol

from qvl_agent.envs.sim.files import FileError

__all__ = ["FileService", "serve_sync", "SYNC_DATA_MAX", "MTIME"]

logger = logging.getLogger(__name__)

SYNC_DATA_MAX = 64 * 1024
MTIME = 1704110400              # 2024-01-01 12:00:00 UTC, every file's time
_REQUEST = struct.Struct("<4sI")
_STAT = struct.Struct("<4sIII")
_DENT = struct.Struct("<4sIIII")
_DIR_MODE = stat.S_IFDIR | 0o771
_FILE_MODE = stat.S_IFREG | 0o660
_MAX_PATH = 1024


class FileService(Protocol):
    """The phone's files as the sync service sees them."""

    def kind(self, path: str) -> str | None:
        """``file``, ``dir`` or None when there is nothing at ``path``."""

    def read(self, path: str) -> bytes: ...

    def write(self, path: str, data: bytes, *, append: bool = False) -> None: ...

    def listing(self, directory: str) -> list[str]: ...


def _stat(files: FileService, path: str) -> tuple[int, int]:
    match files.kind(path):
        case "dir":
            return _DIR_MODE, 4096
        case "file":
            return _FILE_MODE, len(files.read(path))
    return 0, 0


def _fail(message: str) -> bytes:
    data = message.encode()
    return _REQUEST.pack(b"FAIL", len(data)) + data


def serve_sync(files: FileService, read: Callable[[int], bytes | None],
               write: Callable[[bytes], None]) -> None:
    """Answer sync requests read with ``read(n)`` (None: the host closed) until QUIT."""
    while (header := read(_REQUEST.size)) is not None:
        request, length = _REQUEST.unpack(header)
        if length > max(_MAX_PATH, SYNC_DATA_MAX):
            write(_fail(f"request of {length} bytes is too long"))
            return
        body = read(length) if length else b""
        if body is None:
            return
        path = body.decode("utf-8", "surrogateescape")
        match request:
            case b"STAT":
                mode, size = _stat(files, path)
                write(_STAT.pack(b"STAT", mode, size, MTIME if mode else 0))
            case b"LIST":
                if files.kind(path) == "dir":
                    base = path.rstrip("/") or ""
                    for name in (".", "..", *files.listing(path)):
                        mode, size = (_DIR_MODE, 4096) if name in (".", "..") else \
                            _stat(files, f"{base}/{name}")
                        encoded = name.encode()
                        write(_DENT.pack(b"DENT", mode, size, MTIME, len(encoded)) + encoded)
                write(_DENT.pack(b"DONE", 0, 0, 0, 0))
            case b"RECV":
                if files.kind(path) != "file":
                    write(_fail("No such file or directory" if files.kind(path) is None
                                else "Is a directory"))
                    continue
                data = files.read(path)
                for start in range(0, len(data), SYNC_DATA_MAX):
                    piece = data[start:start + SYNC_DATA_MAX]
                    write(_REQUEST.pack(b"DATA", len(piece)) + piece)
                write(_REQUEST.pack(b"DONE", 0))
            case b"SEND":
                if not _receive(files, path.rpartition(",")[0] or path, read, write):
                    return
            case b"QUIT":
                return
            case _:
                write(_fail(f"unknown sync request {request!r}"))
                return


def _receive(files: FileService, path: str, read: Callable[[int], bytes | None],
             write: Callable[[bytes], None]) -> bool:
    """A SEND's DATA records up to DONE; False when the host went away in the middle."""
    chunks = bytearray()
    while (header := read(_REQUEST.size)) is not None:
        kind, length = _REQUEST.unpack(header)
        if kind == b"DONE":
            break
        if kind != b"DATA" or length > SYNC_DATA_MAX:
            write(_fail(f"unexpected {kind!r} while receiving {path}"))
            return False
        data = read(length) if length else b""
        if data is None:
            return False
        chunks += data
    else:
        return False
    try:
        files.write(path, bytes(chunks))
    except FileError as exc:
        write(_fail(f"couldn't create file: {exc}"))
        return True
    write(_REQUEST.pack(b"OKAY", 0))
    return True

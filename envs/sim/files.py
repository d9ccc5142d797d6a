"""The few files a virtual phone has: what ``uiautomator dump`` and ``screencap`` write.

Paths are kept as given once their aliases are folded (``/storage/emulated/0`` is
``/sdcard``). Only the shell user's writable places take new files, as on a phone.
"""

from __future__ import annotations

import posixpath
import threading

__all__ = ["Files", "FileError"]

_ALIASES = ("/storage/emulated/0", "/storage/self/primary", "/mnt/sdcard", "/mnt/user/0/primary")
_WRITABLE = ("/sdcard", "/data/local/tmp")
_DIRECTORIES = {"/", "/sdcard", "/data", "/data/local", "/data/local/tmp", "/system", "/dev",
                "/storage", "/storage/emulated", "/storage/emulated/0", "/sdcard/Download",
                "/sdcard/Pictures", "/sdcard/DCIM"}


class FileError(Exception):
    """A file cannot be read or written; the message is the errno text (``No such file...``)."""


def normalize(path: str) -> str:
    """An absolute, alias-free path (the shell's working directory is ``/``)."""
    path = posixpath.normpath(posixpath.join("/", path))
    for alias in _ALIASES:
        if path == alias or path.startswith(alias + "/"):
            return "/sdcard" + path[len(alias):]
    return path


class Files:
    """Path -> bytes for files the phone's tools created."""

    def __init__(self) -> None:
        self._files: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def read(self, path: str) -> bytes:
        path = normalize(path)
        with self._lock:
            if path in self._files:
                return self._files[path]
        if path == "/dev/null":
            return b""
        if path in _DIRECTORIES:
            raise FileError("Is a directory")
        raise FileError("No such file or directory")

    def write(self, path: str, data: bytes, *, append: bool = False) -> None:
        path = normalize(path)
        if path == "/dev/null":
            return
        if path in _DIRECTORIES:
            raise FileError("Is a directory")
        if not any(path.startswith(root + "/") for root in _WRITABLE):
            raise FileError("Read-only file system" if path.startswith("/system/")
                            else "Permission denied")
        with self._lock:
            self._files[path] = (self._files.get(path, b"") if append else b"") + data

    def remove(self, path: str) -> None:
        path = normalize(path)
        with self._lock:
            if path in self._files:
                del self._files[path]
                return
        raise FileError("Is a directory" if path in _DIRECTORIES else "No such file or directory")

    def kind(self, path: str) -> str | None:
        """``file``, ``dir``, or None when nothing is at ``path``."""
        path = normalize(path)
        with self._lock:
            if path in self._files:
                return "file"
        return "dir" if path in _DIRECTORIES else None

    def exists(self, path: str) -> bool:
        path = normalize(path)
        with self._lock:
            return path in self._files or path in _DIRECTORIES

    def listing(self, directory: str) -> list[str]:
        """Names directly inside ``directory``."""
        directory = normalize(directory).rstrip("/") + "/"
        with self._lock:
            names = {path[len(directory):].split("/", 1)[0]
                     for path in (*self._files, *_DIRECTORIES)
                     if path.startswith(directory) and path != directory}
        return sorted(name for name in names if name)

"""Writing a run's files so that a full disk stops the run cleanly, never half-written.

- ``write_atomic``: a file that is written or rewritten whole (meta.json, a screenshot,
  report.html, summary.md) goes to a temporary name beside it, then is renamed over it: a
  reader sees the old file or the new one, never a cut one.
- ``LineFile``: a JSONL file that grows line by line (trajectory.jsonl, results.jsonl); a
  line that cannot be written whole is taken back, so the file ends with a whole line.
- ``Reserve``: space set aside in the run's folder when it starts and given back when the
  disk fills (or the run ends), so that the last files, which say how the run ended, fit.

A write that fails raises ``StorageError``, which names the file, what it needs and what is
free there: "no space left for runs/x/step_004.png: it needs 118 KB, 2 KB are free on
/mnt/out".
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from qvl_agent.envs.errors import StorageError

__all__ = ["write_atomic", "LineFile", "Reserve", "storage_error", "RESERVE_BYTES"]

RESERVE_BYTES = 64 * 1024  # a run's last meta.json and trajectory line fit many times over
_FULL = (errno.ENOSPC, errno.EDQUOT)


def storage_error(path: Path, exc: OSError, needed: int | None = None) -> StorageError:
    """The one line for a write of ``needed`` bytes to ``path`` that failed with ``exc``."""
    if exc.errno in _FULL:
        need = f"it needs {_size(needed)}, " if needed else ""
        free, mount = _free(path)
        what = "the disk quota is used up" if exc.errno == errno.EDQUOT else "no space left"
        return StorageError(f"{what} for {path}: {need}{_size(free)} are free on {mount}; free "
                            "some space or choose another --out")
    return StorageError(f"cannot write {path}: {exc.strerror or exc}")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``path`` whole or not at all (a temporary file renamed over it)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as file:
            file.write(payload)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise storage_error(path, exc, len(payload)) from None


class LineFile:
    """Appends whole lines to a file (``truncate``: start it empty)."""

    def __init__(self, path: Path, *, truncate: bool = False) -> None:
        self.path = path
        try:
            # Unbuffered: every line goes to the file in write() itself, so a failed line can
            # be taken back exactly, and nothing half-written waits in a buffer for close().
            self._file = open(path, "wb" if truncate else "ab", buffering=0)  # noqa: SIM115
        except OSError as exc:
            raise storage_error(path, exc) from None
        self._size = self._file.seek(0, os.SEEK_END)

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write_line(self, text: str, *, sync: bool = False) -> None:
        """Append ``text`` and a newline; on failure the file is as it was before."""
        data = (text + "\n").encode("utf-8")
        view = memoryview(data)
        try:
            while view:
                written = self._file.write(view)
                view = view[written or 0:]
            if sync:
                os.fsync(self._file.fileno())
        except OSError as exc:
            try:
                os.ftruncate(self._file.fileno(), self._size)
            except OSError:
                pass
            raise storage_error(self.path, exc, len(data)) from None
        self._size += len(data)

    def close(self) -> None:
        self._file.close()


class Reserve:
    """``size`` bytes held in ``folder`` until ``release`` (a hidden file, gone after it)."""

    def __init__(self, folder: Path, size: int = RESERVE_BYTES) -> None:
        self.path = folder / ".qvl-reserve"
        try:
            with open(self.path, "wb") as file:
                try:
                    os.posix_fallocate(file.fileno(), 0, size)
                except OSError as exc:
                    if exc.errno in _FULL:
                        raise
                    file.write(b"\0" * size)  # a file system without fallocate
                    file.flush()
        except OSError as exc:
            self.path.unlink(missing_ok=True)
            raise storage_error(self.path, exc, size) from None

    def release(self) -> None:
        self.path.unlink(missing_ok=True)


def _free(path: Path) -> tuple[int, str]:
    """Bytes free to this user where ``path`` is, and that file system's mount point."""
    folder = path if path.is_dir() else path.parent
    try:
        stats = os.statvfs(folder)
        free = stats.f_bavail * stats.f_frsize
    except OSError:
        free = 0
    mount = Path(os.path.abspath(folder))
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    return free, str(mount)


def _size(count: int | None) -> str:
    value = float(count or 0)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"

"""``JsonlStore``: rows appended to a JSONL file as they finish, read back on ``--resume``.

Each row is one line, written, flushed and fsynced at once, so a run that is killed keeps
every row it finished. A kill in the middle of a write leaves at most one cut line at the
end; opening the file again reads every whole row back and drops the cut line (and a second
row for a key already read), then rewrites the file atomically (a temporary file renamed
over it) so that the next row starts on a line of its own and the file holds one line per
key. Lines are split on ``\\n`` only and decoded one by one: a row may hold any character
(U+2028 included), and a cut inside a multi-byte character damages that line only.

A row that cannot be written whole (a full disk) is taken back, so the file still ends with
a whole line, and ``StorageError`` says which file and how much room it needs.

Used for ``eval``'s ``results.jsonl`` (``eval.results``) and ``bench``'s
(``eval.bench.runner``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from qvl_agent.agent.storage import LineFile, storage_error

__all__ = ["JsonlStore"]

R = TypeVar("R")


class JsonlStore(Generic[R]):
    """The rows of one JSONL file by key; ``add`` appends one (thread-safe).

    Args:
        key: a row's unique key (an instance id, a sample id).
        load: one line's text to a row; a ValueError, KeyError or TypeError (from it or from
            ``key``) marks the line as damaged.
        dump: a row to one line of text, without the newline.
    """

    def __init__(self, path: Path, *, key: Callable[[R], str], load: Callable[[str], R],
                 dump: Callable[[R], str]) -> None:
        self.path = Path(path)
        self.rows: dict[str, R] = {}
        self.dropped = 0  # damaged or repeated lines removed when the file was opened
        self._key, self._load, self._dump = key, load, dump
        self._lock = threading.Lock()
        if self.path.exists():
            self._read()
        self._file = LineFile(self.path)

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: R) -> None:
        """Append ``row`` and make it durable before returning.

        Raises:
            ValueError: its key already has a row.
            StorageError: the line did not fit (the file is as it was).
        """
        key = self._key(row)
        line = self._dump(row)
        with self._lock:
            if key in self.rows:
                raise ValueError(f"{key} already has a result")
            self._file.write_line(line, sync=True)
            self.rows[key] = row

    def drop(self, keys: set[str]) -> None:
        """Take these keys' rows out (to be done again); the file is rewritten whole."""
        with self._lock:
            kept = {k: r for k, r in self.rows.items() if k not in keys}
            if len(kept) == len(self.rows):
                return
            self._file.close()
            self._replace([self._dump(r).encode("utf-8") for r in kept.values()])
            self.rows = kept
            self._file = LineFile(self.path)

    def close(self) -> None:
        with self._lock:
            self._file.close()

    def __enter__(self) -> JsonlStore[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read(self) -> None:
        data = self.path.read_bytes()
        kept: list[bytes] = []
        for raw in data.split(b"\n"):
            if not raw.strip():
                continue
            try:
                row = self._load(raw.decode("utf-8"))
                key = self._key(row)
            except (ValueError, KeyError, TypeError):  # UnicodeDecodeError is a ValueError
                self.dropped += 1  # cut off by a kill in the middle of a write
                continue
            if key in self.rows:
                self.dropped += 1
                continue
            self.rows[key] = row
            kept.append(raw)
        if self.dropped or (kept and not data.endswith(b"\n")):
            self._replace(kept)

    def _replace(self, lines: list[bytes]) -> None:
        """The file holds exactly ``lines`` afterwards, or (after a crash) what it held before."""
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = b"".join(line + b"\n" for line in lines)
        try:
            with open(tmp, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise storage_error(self.path, exc, len(data)) from None

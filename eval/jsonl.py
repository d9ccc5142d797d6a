"""``JsonlStore``: rows appended to a JSONL file as they finish, read back on ``--resume``.

Each row is one line, written, flushed and fsynced at once, so a run that is killed keeps
every row it finished. A kill in the middle of a write leaves at most one cut line at the
end; opening the file again reads every whole row back and drops the cut line (and a second
row for a key already read), then rewrites the file atomically (a temporary file renamed
over it) so that the next row starts on a line of its own and the file holds one line per
key. Lines are split on ``\\n`` only and decoded one by one: a row may hold any character
(U+2028 included), and a cut inside a multi-byte character damages that line only.

Used for ``eval``'s ``results.jsonl`` (``eval.results``) and ``bench``'s
(``eval.bench.runner``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

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
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed by close()

    def __contains__(self, key: object) -> bool:
        return key in self.rows

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, row: R) -> None:
        """Append ``row`` and make it durable before returning.

        Raises:
            ValueError: its key already has a row.
        """
        key = self._key(row)
        line = self._dump(row)
        with self._lock:
            if key in self.rows:
                raise ValueError(f"{key} already has a result")
            self.rows[key] = row
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())

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
        with open(tmp, "wb") as file:
            file.write(b"".join(line + b"\n" for line in lines))
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, self.path)

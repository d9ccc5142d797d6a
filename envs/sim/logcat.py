"""The phone's log buffers, as ``logcat -d`` prints them (``threadtime``, the default format).

What the virtual phone logs is what a person looks for after a failure: activity starts
(``ActivityTaskManager: START u0 {...}``), the screen going to sleep and waking
(``PowerManagerService``), and the crash of a shell tool (``AndroidRuntime: FATAL
EXCEPTION: main``), in the ``main``, ``system`` and ``crash`` buffers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Logcat", "Entry", "BOOT_EPOCH"]

BOOT_EPOCH = 1704110400.0       # 2024-01-01 12:00:00 UTC, when the phone "booted"
Buffer = Literal["main", "system", "crash"]
_LIMIT = 2000


@dataclass(frozen=True)
class Entry:
    at: float                   # seconds since boot
    pid: int
    tid: int
    level: str                  # V D I W E F
    tag: str
    message: str
    buffer: Buffer


class Logcat:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._boot = clock()
        self._entries: list[Entry] = []
        self._lock = threading.Lock()

    def uptime(self) -> float:
        return self._clock() - self._boot

    def wall(self) -> float:
        """The phone's clock: its boot time plus how long it has run."""
        return BOOT_EPOCH + self.uptime()

    def write(self, tag: str, message: str, *, level: str = "I", pid: int = 1261,
              tid: int | None = None, buffer: Buffer = "main") -> None:
        entry = Entry(self.uptime(), pid, tid or pid, level, tag, message, buffer)
        with self._lock:
            self._entries.append(entry)
            del self._entries[:-_LIMIT]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def dump(self, buffers: tuple[Buffer, ...] = ("main", "system", "crash")) -> str:
        """``logcat -d``: each buffer's start marker where it begins, then the lines."""
        with self._lock:
            entries = [e for e in self._entries if e.buffer in buffers]
        lines, started = [], set()
        for entry in entries:
            if entry.buffer not in started:
                started.add(entry.buffer)
                lines.append(f"--------- beginning of {entry.buffer}")
            stamp = time.strftime("%m-%d %H:%M:%S", time.gmtime(BOOT_EPOCH + entry.at))
            millis = int((entry.at % 1) * 1000)
            for text in entry.message.splitlines() or [""]:
                lines.append(f"{stamp}.{millis:03d} {entry.pid:5d} {entry.tid:5d} "
                             f"{entry.level} {entry.tag}: {text}")
        return "".join(f"{line}\n" for line in lines)

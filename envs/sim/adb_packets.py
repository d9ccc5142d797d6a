"""adb's packets and stream framing, as the device side writes and reads them.

The 24-byte header (command, arg0, arg1, length, checksum, magic), the commands, the
services a stream can ask for, and how a command's result is cut into WRTE payloads for
each service (``exec:``, shell v1, shell v2). ``envs.sim.adbd`` does the sockets.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = [
    "ShellResult", "ShellHandler", "Command", "Framing", "Request", "ProtocolError", "parse_service",
    "packet", "chunks", "HEADER", "A_VERSION", "MAX_PAYLOAD", "EMULATOR_PORTS",
]

A_VERSION = 0x01000001          # the first version that skips checksums
MAX_PAYLOAD = 1024 * 1024       # what we accept; adb 29's own limit
HEADER = struct.Struct("<6I")
V2_HEADER = struct.Struct("<BI")
V2_STDOUT, V2_STDERR, V2_EXIT = 1, 2, 3
# The adb server probes these ports for emulators; a daemon there would be adopted as one.
EMULATOR_PORTS = range(5555, 5586)


class Command(enum.IntEnum):
    """Packet commands: their four ASCII letters, read as a little-endian integer."""

    CNXN = 0x4E584E43
    OPEN = 0x4E45504F
    OKAY = 0x59414B4F
    WRTE = 0x45545257
    CLSE = 0x45534C43


@dataclass
class ShellResult:
    """What a shell command produced on the virtual phone.

    ``merged`` is both streams interleaved in the order they were written, which is what a
    host reads from ``exec:`` and shell v1: there adbd gives the command one socket for
    stdout and stderr alike. None means stdout then stderr.
    """

    exit_code: int
    stdout: bytes
    stderr: bytes = b""
    merged: bytes | None = None

    @property
    def combined(self) -> bytes:
        return self.merged if self.merged is not None else self.stdout + self.stderr


ShellHandler = Callable[[str], ShellResult]
"""Runs one command line, exactly as the host sent it.

For ``shell:`` (v1) the host gets both streams on one socket and no exit code, so ``adbutils``
appends ``; echo X4EXIT:$?`` and reads the code after the last marker: a handler must fill
``merged`` in the order things were written, so that the marker comes last.
"""


class Framing(enum.Enum):
    """How a stream's result is sent back to the host."""

    EXEC = "exec"        # stdout and stderr on one socket, raw (binary output too)
    SHELL_V1 = "v1"      # the same; the exit code is lost, as on a real phone
    SHELL_V2 = "v2"      # shell protocol packets: stdout, stderr apart, and the exit code
    SYNC = "sync"        # the file service behind adb pull, push and ls


@dataclass(frozen=True)
class Request:
    command: str
    framing: Framing


class ProtocolError(Exception):
    """The host sent something we cannot make sense of; the connection is dropped."""


def parse_service(name: str) -> Request | None:
    """Understand an OPEN's service string, or return None to refuse it."""
    if name.startswith("exec:"):
        return Request(name[5:], Framing.EXEC) if name[5:] else None
    if name == "sync:":
        return Request("", Framing.SYNC)
    if name.startswith(("shell:", "shell,")):
        options, _, command = name.partition(":")
        framing = Framing.SHELL_V2 if "v2" in options.split(",")[1:] else Framing.SHELL_V1
        return Request(command, framing)
    return None


def packet(command: Command, arg0: int, arg1: int, payload: bytes = b"", *,
            checksum: bool = False) -> bytes:
    check = sum(payload) & 0xFFFFFFFF if checksum else 0
    header = HEADER.pack(command, arg0, arg1, len(payload), check, command ^ 0xFFFFFFFF)
    return header + payload


def slices(data: bytes, size: int) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield bytes(view[start:start + size])


def chunks(result: ShellResult, framing: Framing, limit: int) -> Iterator[bytes]:
    """Split a result into WRTE payloads of at most ``limit`` bytes, framed for the service."""
    match framing:
        case Framing.EXEC | Framing.SHELL_V1:
            yield from slices(result.combined, limit)
        case Framing.SYNC:
            raise ValueError("a sync stream is a conversation, not one result")
        case Framing.SHELL_V2:
            # One shell packet per WRTE, as adbd does, so a packet never straddles two.
            for packet_id, data in ((V2_STDOUT, result.stdout), (V2_STDERR, result.stderr)):
                for piece in slices(data, limit - V2_HEADER.size):
                    yield V2_HEADER.pack(packet_id, len(piece)) + piece
            yield V2_HEADER.pack(V2_EXIT, 1) + bytes([result.exit_code & 0xFF])

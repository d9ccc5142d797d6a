"""The phone's ``/system/bin/sh``: runs a parsed command line against the phone's tools.

Lists (``;``, ``&&``, ``||``), pipes, ``$?`` and redirections behave as in mksh; each
command is a Python tool from ``envs.sim.tools`` that reads and changes the ``Phone``. An
unknown command is ``inaccessible or not found`` with exit code 127, as on a phone.

Everything a line prints is kept in the order it was written, so a host reading ``exec:``
or shell v1 (one socket for both streams, as adbd gives raw subprocesses) gets the real
interleaving: adbutils' ``; echo X4EXIT:$?`` marker comes after every error message.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.cmdline import Command, Pipeline, Redirect, ShellSyntaxError, parse
from qvl_agent.envs.sim.files import FileError
from qvl_agent.envs.sim.tools import TOOLS, UNLOCKED
from qvl_agent.envs.sim.tools.common import ShellExit, UsageError

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["run_line", "SH"]

logger = logging.getLogger(__name__)

SH = "/system/bin/sh"
_ENVIRONMENT = {
    "HOME": "/", "USER": "shell", "HOSTNAME": "localhost", "SHELL": SH,
    "PATH": "/product/bin:/apex/com.android.runtime/bin:/apex/com.android.art/bin:"
            "/system_ext/bin:/system/bin:/system/xbin:/odm/bin:/vendor/bin:/vendor/xbin",
    "EXTERNAL_STORAGE": "/sdcard", "ANDROID_DATA": "/data", "ANDROID_ROOT": "/system",
    "TMPDIR": "/data/local/tmp",
}
_BIN_DIRS = ("/system/bin/", "/system/xbin/", "/bin/", "/vendor/bin/", "/product/bin/")
_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(.*)", re.DOTALL)


def run_line(phone: Phone, line: str) -> ShellResult:
    """Run one ``adb shell`` command line on ``phone``."""
    return _Session(phone).run(line)


class _Session:
    """One command line's run: its variables, ``$?`` and everything it printed, in order."""

    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        self.status = 0
        self.variables = dict(_ENVIRONMENT)
        self.transcript: list[tuple[int, bytes]] = []

    def lookup(self, name: str) -> str:
        match name:
            case "?":
                return str(self.status)
            case "$":
                return "4242"
            case "#":
                return "0"
            case "0":
                return SH
        return self.variables.get(name, "")

    def run(self, line: str) -> ShellResult:
        try:
            pipelines = parse(line)
        except ShellSyntaxError as exc:
            return ShellResult(1, b"", f"{SH}: syntax error: {exc}\n".encode())
        for pipeline in pipelines:
            if (pipeline.connector == "&&" and self.status != 0) or \
                    (pipeline.connector == "||" and self.status == 0):
                continue
            try:
                self.status = self._pipeline(pipeline)
            except ShellExit as exc:
                self.status = exc.code
                break
        out = b"".join(data for fd, data in self.transcript if fd == 1)
        err = b"".join(data for fd, data in self.transcript if fd == 2)
        merged = b"".join(data for _, data in self.transcript)
        return ShellResult(self.status & 0xFF, out, err, merged)

    def _pipeline(self, pipeline: Pipeline) -> int:
        data, status = b"", 0
        for number, command in enumerate(pipeline.commands):
            status, data = self._command(command, data,
                                         last=number == len(pipeline.commands) - 1)
        return status

    def _command(self, command: Command, stdin: bytes, *, last: bool) -> tuple[int, bytes]:
        """Run one command; returns its status and what it wrote into the pipe."""
        words = [text for word in command.words
                 if (text := word.expand(self.lookup)) is not None]
        assignments: dict[str, str] = {}
        while words and (match := _ASSIGNMENT.fullmatch(words[0])):
            assignments[match.group(1)] = match.group(2)
            words.pop(0)
        if not words:
            self.variables.update(assignments)
        # Where fd 1 and 2 go: "out" is the command's own stdout (the pipe or the terminal).
        targets: dict[int, tuple[str, str | None]] = {1: ("out", None), 2: ("err", None)}
        try:
            for redirect in command.redirects:
                stdin = self._redirect(redirect, targets, stdin)
        except FileError as exc:
            self.transcript.append((2, f"{SH}: {exc}\n".encode()))
            return 1, b""
        result = self._invoke(words, stdin) if words else ShellResult(0, b"")
        piped = b""
        # A tool that wrote its stderr first (screencap's warning, then the image) says so
        # with ``merged``; the transcript keeps that order.
        streams = [(1, result.stdout), (2, result.stderr)]
        if result.stderr and result.merged is not None and \
                result.merged.startswith(result.stderr) and result.stdout:
            streams.reverse()
        for fd, data in streams:
            kind, path = targets.get(fd, ("out", None))
            if not data:
                continue
            if kind == "out" and not last:
                piped += data
            elif kind in ("out", "err"):
                self.transcript.append((1 if kind == "out" else 2, data))
            elif path is not None:
                try:
                    self.phone.files.write(path, data, append=True)
                except FileError as exc:
                    self.transcript.append((2, f"{SH}: {path}: {exc}\n".encode()))
        return result.exit_code, piped

    def _redirect(self, redirect: Redirect, targets: dict[int, tuple[str, str | None]],
                  stdin: bytes) -> bytes:
        if redirect.op == ">&":
            targets[redirect.fd] = targets.get(redirect.other or 0, ("out", None))
            return stdin
        path = (redirect.target.expand(self.lookup) if redirect.target else None) or ""
        if redirect.op == "<":
            try:
                return self.phone.files.read(path)
            except FileError as exc:
                raise FileError(f"can't open '{path}': {exc}") from None
        if path in ("/dev/null", "/dev/zero"):
            targets[redirect.fd] = ("null", None)
        elif path in ("/dev/tty", "/dev/stdout"):
            targets[redirect.fd] = ("out", None)
        elif path == "/dev/stderr":
            targets[redirect.fd] = ("err", None)
        else:
            try:
                self.phone.files.write(path, b"", append=redirect.op == ">>")
            except FileError as exc:
                raise FileError(f"can't create {path}: {exc}") from None
            targets[redirect.fd] = ("file", path)
        return stdin

    def _invoke(self, words: list[str], stdin: bytes) -> ShellResult:
        name = words[0]
        base = name[name.rindex("/") + 1:] if name.startswith(_BIN_DIRS) else name
        tool = TOOLS.get(base)
        if tool is None:
            return ShellResult(127, b"", f"{SH}: {name}: inaccessible or not found\n".encode())
        try:
            if base in UNLOCKED:
                return tool(self.phone, words[1:], stdin)
            with self.phone.lock:
                return tool(self.phone, words[1:], stdin)
        except UsageError as exc:
            message = exc.message if exc.message.endswith("\n") else exc.message + "\n"
            return ShellResult(exc.code, b"", message.encode())
        except ShellExit:
            raise
        except Exception as exc:    # a bug in a tool must not reach the host as a traceback
            logger.exception("qvl-sim: %s failed on %r", base, words)
            return ShellResult(255, b"", f"{base}: internal error: {type(exc).__name__}: "
                                         f"{exc}\n".encode())

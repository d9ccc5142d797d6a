"""What every shell tool of the virtual phone shares: its signature and how it fails.

A tool is a function ``(phone, args, stdin) -> ShellResult``: ``args`` without the tool's
own name, already unquoted by ``envs.sim.cmdline``. A tool called wrongly raises
``UsageError`` with the message the real tool prints; the shell turns it into stderr and an
exit code, so a bad command line is never a Python traceback to the host.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["Tool", "UsageError", "ShellExit", "ok", "fail"]

Tool = Callable[["Phone", list[str], bytes], ShellResult]


class UsageError(Exception):
    """A tool was called wrongly; ``message`` goes to stderr and the command exits ``code``."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class ShellExit(Exception):
    """``exit N``: the shell stops running the line and exits with ``code``."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


def ok(stdout: str | bytes = "", stderr: str | bytes = "") -> ShellResult:
    """Success, printing ``stdout``."""
    return ShellResult(0, _bytes(stdout), _bytes(stderr))


def fail(stderr: str | bytes, code: int = 1, stdout: str | bytes = "") -> ShellResult:
    """Failure with ``stderr``; a message gets its trailing newline if it lacks one."""
    data = _bytes(stderr)
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return ShellResult(code, _bytes(stdout), data)

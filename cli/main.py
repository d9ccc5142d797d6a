"""The console entry point: registers every command and turns errors into one clear line.

A usage error (unknown command or option, bad value) is the user's: click's usage message
and exit 2. A ``QvlError`` is one ``error:`` line and exit 2. Anything else is a bug: one
``internal error`` line and exit 70. ``--debug`` shows tracebacks instead.

SIGTERM (``kill``, a job scheduler, ``timeout``) is handled as Ctrl-C is: the run ends as
interrupted with its files and report written, and the exit code is 143 (128 + 15).
"""

from __future__ import annotations

import logging
import os
import signal
import sys

import click
import typer

from qvl_agent.cli import (  # noqa: F401 - each module registers its commands on app
    bench as _bench, dataset as _dataset, doctor as _doctor, eval as _eval, export as _export,
    ground as _ground, mcp as _mcp, replay as _replay, rpa as _rpa, run as _run, tools as _tools,
    train as _train,
)
from qvl_agent.cli.app import app, state
from qvl_agent.envs.errors import QvlError

__all__ = ["app", "main"]

# Typer 0.2x raises its own copy of click's exceptions (typer._click); older ones click's.
_EXITS = (click.exceptions.Exit, typer.Exit)
_ABORTS = (click.exceptions.Abort, typer.Abort)
_USAGE_ERRORS = (click.ClickException, typer.TyperException)


class Terminated(KeyboardInterrupt):
    """SIGTERM: stop as for Ctrl-C (the loop saves the run and ends it as interrupted)."""


_terminated: list[int] = []


def _on_sigterm(signum: int, frame: object) -> None:
    if _terminated:
        return  # the first one is being handled: let the run finish writing its files
    _terminated.append(signum)
    raise Terminated("stopped by SIGTERM")


def _code(code: int) -> int:
    """An interrupted run's exit code says which signal stopped it (130 or 143)."""
    return 128 + signal.SIGTERM if code == 130 and _terminated else code


class _Prefixed(logging.Formatter):
    """The library's notices as lines like the errors: ``note: ...``, ``warning: ...``."""

    def format(self, record: logging.LogRecord) -> str:
        word = "note" if record.levelno < logging.WARNING else record.levelname.lower()
        return f"{word}: {record.getMessage()}"


def _show_notices() -> None:
    log = logging.getLogger("qvl_agent")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Prefixed())
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def _show_usage_error(exc: Exception) -> None:
    """click's usage message, with our one prefix: ``error: ...`` as every other error."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        print(ctx.get_usage(), file=sys.stderr)
        if ctx.command.get_help_option(ctx) is not None:
            print(f"Try '{ctx.command_path} {ctx.help_option_names[0]}' for help.\n", file=sys.stderr)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    print(f"error: {message}", file=sys.stderr)


def main() -> None:
    """Console entry point: one clear line for every expected failure."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    _show_notices()
    if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
        # Not a terminal (a pipe, a file, CI): rich would assume 80 columns and cut --help's
        # option lists (a help's longest word, such as --device's list of phones, must fit
        # its column); 160 fits every one. Lines that hold paths are never wrapped.
        os.environ["COLUMNS"] = "160"
    try:
        code = app(prog_name="qvl-agent", standalone_mode=False)  # returns a typer.Exit's code instead of exiting
        sys.exit(_code(code) if isinstance(code, int) else 0)
    except _EXITS as exc:
        sys.exit(_code(exc.exit_code))
    except _USAGE_ERRORS as exc:  # usage errors included: the user's, exit 2
        _show_usage_error(exc)
        sys.exit(exc.exit_code)
    except (*_ABORTS, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(_code(130))
    except QvlError as exc:
        if state["debug"]:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if state["debug"]:
            raise
        print(f"internal error: {exc.__class__.__name__}: {exc} (run with --debug for the "
              "traceback and please report it)", file=sys.stderr)
        sys.exit(70)

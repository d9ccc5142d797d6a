"""The person at the terminal: secrets they bring, yes/no before risky actions, Ctrl-C to pause.

``--secret``/``--secrets-file`` are read here into ``agent.secrets.Secrets``. ``TerminalHuman``
is the terminal's ``Oversight``: it asks on stderr and reads answers from stdin; while it is
installed, Ctrl-C once asks the run to pause after its current action, and Ctrl-C again (or
at any question) stops the run as Ctrl-C always did.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, Optional, TextIO

import typer

from qvl_agent.agent.describe import describe
from qvl_agent.agent.oversight import Oversight, StopRun
from qvl_agent.agent.secrets import Secrets, load_secrets_file, parse_secret_option
from qvl_agent.agent.trajectory import Step
from qvl_agent.envs.errors import ConfigError

__all__ = ["SecretOpt", "SecretsFileOpt", "ConfirmOpt", "ConfirmPatternOpt", "ConfirmChoice",
           "gather_secrets", "TerminalHuman", "terminal_human"]


class ConfirmChoice(str, Enum):
    never = "never"
    risky = "risky"
    always = "always"


SecretOpt = Annotated[Optional[list[str]], typer.Option(
    "--secret", help="NAME=VALUE, or NAME to read QVL_SECRET_NAME from the environment (repeat). "
                     "The model sees only <secret:NAME>; NAME@example.com (or @an.android.package) "
                     "types it only there; a NAME ending in _TOTP holds a TOTP seed and types the "
                     "current code.")]
SecretsFileOpt = Annotated[Optional[Path], typer.Option(
    "--secrets-file", help="A dotenv file of NAME=VALUE secrets; it must be readable by you only "
                           "(chmod 600).")]
ConfirmOpt = Annotated[Optional[ConfirmChoice], typer.Option(
    "--confirm", help="Ask at the terminal before: never, risky actions (a secret, a target "
                      "saying buy/pay/order/delete/remove/send/transfer/confirm/submit, the end "
                      "of the task), or always. Default: risky in a terminal, else never.")]
ConfirmPatternOpt = Annotated[Optional[list[str]], typer.Option(
    "--confirm-pattern", help="One more word or phrase that makes a target risky (repeat).")]


def gather_secrets(items: list[str] | None, secrets_file: Path | None) -> Secrets | None:
    """The secrets of ``--secrets-file`` and ``--secret``; None when there are none."""
    found = load_secrets_file(secrets_file) if secrets_file is not None else []
    found += [parse_secret_option(item) for item in items or []]
    return Secrets(found) if found else None


class TerminalHuman:
    """Asks the person at this terminal; a context manager that owns Ctrl-C while installed.

    Args:
        run_dir: where the run's screenshots are (the questions name the file to look at).
        mode, patterns: what to confirm (``Oversight``'s).
    """

    def __init__(self, run_dir: Path, *, mode: str = "risky", patterns: list[str] | None = None,
                 stdin: TextIO | None = None, stderr: TextIO | None = None) -> None:
        self.run_dir = run_dir
        self._in = stdin or sys.stdin
        self._err = stderr or sys.stderr
        self._asking = False
        self._previous: Any = None
        self.oversight = Oversight(confirm=self.confirm if mode != "never" else None,
                                   mode=mode, patterns=patterns or (),  # type: ignore[arg-type]
                                   on_pause=self.pause)

    def __enter__(self) -> "TerminalHuman":
        self._previous = signal.signal(signal.SIGINT, self._on_interrupt)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous or signal.default_int_handler)

    def _on_interrupt(self, signum: int, frame: FrameType | None) -> None:
        if self._asking or self.oversight.pause_requested():
            raise KeyboardInterrupt  # the second Ctrl-C: stop, as it always did
        self.oversight.request_pause()
        self._say("\npausing after the current action (Ctrl-C again to stop)")

    # -- the questions --------------------------------------------------------------------

    def confirm(self, step: Step) -> bool:
        with self._deciding():
            return self._confirm(step)

    def pause(self, step: Step) -> str | None:
        with self._deciding():
            return self._pause(step)

    @contextmanager
    def _deciding(self) -> Iterator[None]:
        """While a question is on the screen (from its first line), Ctrl-C means stop."""
        self._asking = True
        try:
            yield
        finally:
            self._asking = False

    def _confirm(self, step: Step) -> bool:
        asked = step.confirmation
        assert asked is not None
        lines = [f"step {step.index} wants to {describe(step.action)}"]
        if asked.target:
            lines.append(f"  on: {asked.target!r}")
        lines.append(f"  (asking because {asked.reason})")
        if asked.screenshot:
            lines.append(f"  screenshot: {self.run_dir / asked.screenshot}")
        self._say("\n".join(lines))
        while True:
            answer = self._ask("allow it? [y]es / [n]o / [s]top: ").lower()
            if answer in ("y", "yes"):
                return True
            if answer in ("n", "no"):
                return False
            if answer in ("s", "stop"):
                raise StopRun(f"stopped by the user at step {step.index}")
            self._say("answer y, n or s")

    def _pause(self, step: Step) -> str | None:
        self._say(f"paused after step {step.index - 1}: the screen is yours (a CAPTCHA, a code...).")
        answer = self._ask("Enter: resume / s: stop / or type advice for the model: ")
        if answer.lower() in ("s", "stop"):
            raise StopRun("stopped by the user during a pause")
        if answer.lower() in ("", "r", "resume"):
            return None
        return answer

    def _ask(self, prompt: str) -> str:
        self._err.write(prompt)
        self._err.flush()
        line = self._in.readline()
        if not line:  # the terminal closed: nobody is there to say yes
            raise StopRun("stopped: no answer (the input was closed)")
        return line.strip()

    def _say(self, text: str) -> None:
        self._err.write(text + "\n")
        self._err.flush()


def terminal_human(run_dir: Path, confirm: ConfirmChoice | None,
                   patterns: list[str] | None) -> TerminalHuman | None:
    """The terminal's person for ``run``: None when stdin is no terminal and nothing asks.

    Raises ``ConfigError`` for ``--confirm risky|always`` without a terminal to ask at.
    """
    interactive = sys.stdin is not None and sys.stdin.isatty()
    mode = confirm.value if confirm is not None else ("risky" if interactive else "never")
    if not interactive:
        if mode != "never":
            raise ConfigError(f"--confirm {mode} asks the person at the terminal, and stdin is not "
                              "a terminal; run it in one, or use --confirm never")
        if patterns:
            raise ConfigError("--confirm-pattern needs --confirm risky, in a terminal")
        return None
    return TerminalHuman(run_dir, mode=mode, patterns=patterns)

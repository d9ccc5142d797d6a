"""A person in the loop: asked before risky actions, able to pause a run and advise the model.

``Oversight`` holds what the person wants and how to reach them:

- ``mode``: ``never`` (nobody is asked), ``risky`` (typing a secret; an action on an element
  whose text matches a risky word: buy, pay, order, delete, remove, send, transfer, confirm,
  submit, plus ``patterns``; and every ``terminate``/``answer``), or ``always``;
- ``confirm(step) -> bool``: asked before such an action. ``step`` is the step about to act:
  ``step.action`` (placeholders, never secret values), ``step.confirmation.reason`` and
  ``.target`` (the element's text), ``step.screenshot`` (the file in the run directory).
  False refuses the action, and the model is told the user refused it; raising ``StopRun``
  ends the run (status ``interrupted``);
- ``on_pause(step) -> str | None``: called when a pause was requested (``request_pause()``,
  from any thread; the terminal's Ctrl-C) once the current action is done. It returns
  None to resume, a line of advice (given to the model as the user's message before its
  next step), or raises ``StopRun``. ``step`` is the person's turn being recorded.

The terminal's way of asking is ``qvl_agent.cli.human``; anything else (a GUI, a chat bot)
passes its own callables.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from typing import Literal

from qvl_agent.agent.trajectory import Confirmation, HumanTurn, Step
from qvl_agent.envs.actions import Action, Answer, Terminate
from qvl_agent.envs.errors import ConfigError

__all__ = ["Oversight", "StopRun", "ConfirmMode", "RISKY_WORDS", "Confirm", "OnPause"]

ConfirmMode = Literal["never", "risky", "always"]
RISKY_WORDS = ("buy", "pay", "order", "delete", "remove", "send", "transfer", "confirm", "submit")
Confirm = Callable[[Step], bool]
OnPause = Callable[[Step], "str | None"]


class StopRun(Exception):
    """Raised to end the run now: by a person's callable (the run is recorded as
    ``interrupted``) or by a step hook (``agent.hooks``; recorded as ``stopped``). One class
    for both; the API's status is ``stopped`` either way."""


class Oversight:
    """What a person wants to be asked, and the callables that ask them.

    Raises:
        ConfigError: a mode other than ``never`` without a ``confirm`` callable, or an empty
            pattern.
    """

    def __init__(self, *, confirm: Confirm | None = None, mode: ConfirmMode = "risky",
                 patterns: Iterable[str] = (), on_pause: OnPause | None = None) -> None:
        if mode not in ("never", "risky", "always"):
            raise ConfigError(f"confirm mode {mode!r}: use never, risky or always")
        if mode != "never" and confirm is None:
            raise ConfigError(f"confirm mode {mode!r} needs someone to ask: pass confirm=")
        extra = [p.strip() for p in patterns]
        if any(not p for p in extra):
            raise ConfigError("--confirm-pattern: a pattern is empty; give a word such as 'book'")
        self.mode: ConfirmMode = mode
        self.confirm = confirm
        self.on_pause = on_pause
        self.patterns = [*RISKY_WORDS, *extra]
        # A word or phrase at the start of a word: "pay" matches "Pay now" and "Payment".
        words = [r"\s+".join(map(re.escape, p.split())) for p in self.patterns]
        self._risky = re.compile(r"\b(?:" + "|".join(words) + ")", re.IGNORECASE)
        self._pause = threading.Event()
        # Entered around every question: a live progress display steps aside while asking.
        self.suspend: Callable[[], AbstractContextManager[object]] = nullcontext

    # -- pausing ------------------------------------------------------------------------------

    def request_pause(self) -> None:
        """Pause the run once its current action is done (thread-safe; idempotent)."""
        self._pause.set()

    def pause_requested(self) -> bool:
        return self._pause.is_set()

    def hold(self, step: Step) -> HumanTurn:
        """The person's turn: ``on_pause`` decides; recorded on ``step`` (raises StopRun)."""
        started = time.monotonic()
        self._pause.clear()
        turn = HumanTurn(decision="resume")
        step.human = turn
        try:
            if self.on_pause is not None:
                with self.suspend():
                    advice = self.on_pause(step)
                if advice is not None and str(advice).strip():
                    turn.decision, turn.advice = "advice", str(advice).strip()
        except (StopRun, KeyboardInterrupt):  # a second Ctrl-C while deciding stops too
            turn.decision = "stop"
            raise
        finally:
            turn.paused_s = round(time.monotonic() - started, 3)
            self._pause.clear()  # a Ctrl-C while deciding is part of this pause
        return turn

    # -- confirming ---------------------------------------------------------------------------

    def risk(self, action: Action, *, secret: bool, target: str | None) -> str | None:
        """Why ``action`` needs the person's yes, or None."""
        if self.mode == "never":
            return None
        if self.mode == "always":
            return "every action is confirmed"
        if secret:
            return "it types a secret"
        if isinstance(action, (Terminate, Answer)):
            return "it ends the task"
        if target and (match := self._risky.search(target)):
            return f"its target says {match.group(0)!r}"
        return None

    def ask(self, step: Step, reason: str, target: str | None, screenshot: str | None = None) -> bool:
        """Ask ``confirm``; the question and answer are recorded on ``step`` (raises StopRun)."""
        assert self.confirm is not None
        step.confirmation = Confirmation(reason=reason, target=target,
                                         screenshot=step.screenshot or screenshot)
        started = time.monotonic()
        try:
            with self.suspend():
                allowed = bool(self.confirm(step))
        except (StopRun, KeyboardInterrupt):
            step.confirmation.answer = "stop"
            raise
        finally:
            step.confirmation.waited_s = round(time.monotonic() - started, 3)
        step.confirmation.answer = "yes" if allowed else "no"
        return allowed

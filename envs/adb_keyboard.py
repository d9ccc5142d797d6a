"""Typing any Unicode text on a phone through ADB Keyboard (github.com/senzhk/ADBKeyBoard).

``input text`` types ASCII only. ADB Keyboard is an input method that commits the text of an
``ADB_INPUT_B64`` broadcast into the focused field. What real phones make us handle:

- After ``adb install`` it is installed but not enabled: ``ime list -s`` lists only enabled
  keyboards, so it is looked for in ``ime list -a -s`` and enabled before ``ime set``.
- It registers its broadcast receiver only in ``onCreateInputView``, a moment after it is
  selected and bound; a broadcast sent before is lost and ``am broadcast`` still says
  ``result=0``. So we wait until ``dumpsys input_method`` shows it bound (``mCurId``), and
  after each broadcast check in a ``uiautomator`` dump that the focused field changed,
  sending it again (with a growing pause) if it did not. A dump takes 1.5-3 s and waits
  for a second of quiet, so one look is normally enough; a second look follows a pause
  before a resend, since a resend that was not needed types the text twice.
- Long text goes in chunks, one broadcast each; ``am broadcast`` returns once the receiver
  ran, so chunks arrive in order.
- The user's own keyboard (and whether ADB Keyboard was enabled) is restored on close.
"""

from __future__ import annotations

import base64
import re
import time

from qvl_agent.envs.android_device import AndroidDevice
from qvl_agent.envs.errors import EnvError, UnsupportedActionError

__all__ = ["AdbKeyboard", "ADB_KEYBOARD", "INSTALL_HINT"]

ADB_KEYBOARD = "com.android.adbkeyboard/.AdbIME"
INSTALL_HINT = ("typing non-ASCII text needs ADB Keyboard on the phone: install "
                "https://github.com/senzhk/ADBKeyBoard (adb install ADBKeyboard.apk)")
CHUNK_CHARS = 200           # characters per broadcast; keeps the command line short
BIND_TIMEOUT_S = 5.0
TRIES = 3
SECOND_LOOK_S = 0.5         # the pause before the second read-back of the field


class AdbKeyboard:
    """ADB Keyboard on one phone: selected on first use, the user's keyboard put back on close."""

    def __init__(self, env: AndroidDevice) -> None:
        self.env = env
        self._previous: str | None = None     # the user's keyboard, once we switched
        self._enabled_by_us = False

    @property
    def selected(self) -> bool:
        return self._previous is not None

    def type(self, text: str) -> None:
        """Commit ``text`` into the focused field, in order, chunk by chunk."""
        self._select()
        for start in range(0, len(text), CHUNK_CHARS):
            self._send(text[start:start + CHUNK_CHARS])

    def restore(self) -> None:
        """Put the user's keyboard back (and disable ADB Keyboard if we enabled it)."""
        if self._previous is None:
            return
        previous, self._previous = self._previous, None
        if previous and previous != "null" and previous != ADB_KEYBOARD:
            self.env.shell(["ime", "set", previous], check=False)
        if self._enabled_by_us:
            self.env.shell(["ime", "disable", ADB_KEYBOARD], check=False)

    # -- steps --------------------------------------------------------------------------

    def _select(self) -> None:
        if self._previous is not None:
            return
        shell = self.env.shell
        if ADB_KEYBOARD not in shell(["ime", "list", "-a", "-s"]).split():
            raise UnsupportedActionError(INSTALL_HINT)
        if ADB_KEYBOARD not in shell(["ime", "list", "-s"]).split():
            self._check(shell(["ime", "enable", ADB_KEYBOARD]), "enable")
            self._enabled_by_us = True
        self._previous = shell(["settings", "get", "secure", "default_input_method"]).strip()
        self._check(shell(["ime", "set", ADB_KEYBOARD]), "select")
        self._wait_bound()

    def _check(self, output: str, what: str) -> None:
        # `ime` prints its refusals and may still exit 0.
        if "Unknown input method" in output or "Error" in output:
            raise EnvError(f"{self.env.serial}: could not {what} ADB Keyboard: "
                           f"{output.strip()[:200]}")

    def _wait_bound(self) -> None:
        """Until the input method service shows ADB Keyboard bound (bounded wait)."""
        deadline = time.monotonic() + BIND_TIMEOUT_S
        while time.monotonic() < deadline:
            state = self.env.shell(["dumpsys", "input_method"], check=False, changes_screen=False)
            if re.search(r"\bmCurId=" + re.escape(ADB_KEYBOARD) + r"\b", state):
                return
            time.sleep(0.1)
        # Some builds print no mCurId; the check after each broadcast still catches a loss.

    def _send(self, chunk: str) -> None:
        message = base64.b64encode(chunk.encode("utf-8")).decode("ascii")
        before = self._focused_text()
        for attempt in range(TRIES):
            self.env.shell(["am", "broadcast", "-a", "ADB_INPUT_B64", "--es", "msg", message])
            if before is None:
                return          # no field whose text can be read back: nothing to compare
            if self._focused_text() != before:
                return
            time.sleep(SECOND_LOOK_S * (attempt + 1))   # the receiver was not there yet?
            if self._focused_text() != before:
                return
        raise EnvError(f"{self.env.serial}: ADB Keyboard did not take the text after {TRIES} "
                       "broadcasts; is a text field focused?")

    def _focused_text(self) -> str | None:
        """The focused field's text; None when there is none, or it hides its text (password)."""
        for node in self.env.ui_nodes():
            if node.get("focused") == "true" and node.get("class", "").endswith("EditText"):
                return None if node.get("password") == "true" else node.get("text", "")
        return None

"""Touches and keys on the virtual phone: where they go, and what they do on the way.

- While the screen is off, touches and keys are dropped, except the power keys: POWER
  toggles the screen, WAKEUP wakes it, SLEEP turns it off (and locks, as the power key does).
- While the lock screen shows, they go to it: a swipe up (or MENU) unlocks it, or opens
  the PIN pad when a PIN is set; there digits, DEL and ENTER work and BACK closes the pad.
- Otherwise they go to the foreground app: HOME, BACK, ENTER/TAB (next field), DEL, and
  characters into the focused field, with the modifiers an EditText honours: Shift for
  capitals and symbols, Ctrl+A selects all (then typing replaces, DEL clears), Ctrl+C/X/V
  the clipboard, Ctrl+DEL a word, Alt+DEL the line.

Every touch or key that reaches a lit screen is user activity: the screen-off timeout
starts again.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from qvl_agent.envs.sim.render import NAV_BUTTONS
from qvl_agent.envs.sim.widgets import NAV_BAR_TOP, SCREEN_H, STATUS_BAR_H, hit, scroll_target

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["Interaction", "locked", "MODIFIERS", "TOUCH_SLOP", "LONG_PRESS_MS"]

P = ParamSpec("P")
R = TypeVar("R")

TOUCH_SLOP = 24             # px a finger may move and still tap (8 dp)
LONG_PRESS_MS = 500
UNLOCK_SWIPE = SCREEN_H // 8    # how far up a swipe on the lock screen must travel
KEY_HOME, KEY_BACK, KEY_ESCAPE, KEY_MENU = 3, 4, 111, 82
KEY_POWER, KEY_SLEEP, KEY_WAKEUP = 26, 223, 224
KEY_ENTER, KEY_NUMPAD_ENTER, KEY_DEL, KEY_FORWARD_DEL = 66, 160, 67, 112
_KEY_NEXT = {61, KEY_ENTER, KEY_NUMPAD_ENTER}           # TAB, ENTER
_KEY_A, _KEY_C, _KEY_V, _KEY_X = 29, 31, 50, 52
MODIFIERS = {59: "shift", 60: "shift", 113: "ctrl", 114: "ctrl", 57: "alt", 58: "alt",
             117: "meta", 118: "meta"}
_KEY_CHARS = {
    62: " ", 55: ",", 56: ".", 68: "`", 69: "-", 70: "=", 71: "[", 72: "]", 73: "\\", 74: ";",
    75: "'", 76: "/", 77: "@", 81: "+", 17: "*", 18: "#",
    **{7 + digit: str(digit) for digit in range(10)},
    **{29 + letter: chr(ord("a") + letter) for letter in range(26)},
}
_SHIFTED = dict(zip("1234567890-=[]\\;',./`", "!@#$%^&*()_+{}|:\"<>?~"))


def locked(method: Callable[P, R]) -> Callable[P, R]:
    """Run a ``Phone`` method holding its lock."""
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0].lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)
    return wrapper


class Interaction:
    """The touch and key model of ``Phone`` (a mixin: it reads the phone's state)."""

    clipboard: str = ""

    # ----- keys

    @locked
    def key(self: Phone, code: int, meta: frozenset[str] = frozenset()) -> None:
        """Press and release the key with Android key code ``code`` (with ``meta`` held)."""
        power = self.power
        if code in (KEY_POWER, KEY_WAKEUP, KEY_SLEEP):
            if code == KEY_SLEEP or (code == KEY_POWER and power.awake):
                if power.sleep("sleep_button" if code == KEY_SLEEP else "power_button"):
                    self.logcat.write("PowerManagerService", "Going to sleep due to "
                                      f"{'sleep_button' if code == KEY_SLEEP else 'power_button'}"
                                      " (uid 1000)...", pid=1261, buffer="system")
            elif power.wake("WAKE_REASON_POWER_BUTTON"):
                self.logcat.write("PowerManagerService", "Waking up from Asleep (uid=1000, "
                                  "reason=WAKE_REASON_POWER_BUTTON, details=android.policy:POWER"
                                  ")...", pid=1261, buffer="system")
            return
        if not power.awake:
            return      # a key with the screen off reaches nobody
        power.user_activity()
        if power.keyguard:
            self._keyguard_key(code)
            return
        screen = self.current_screen()
        if code == KEY_HOME:
            self.home()
        elif code in (KEY_BACK, KEY_ESCAPE):
            self.back()
        elif code in _KEY_NEXT:
            screen.next_field()
        elif code in (KEY_DEL, KEY_FORWARD_DEL):
            if "ctrl" in meta:
                screen.delete_word()
            elif "alt" in meta:
                screen.clear()
            else:
                screen.delete()
        elif "ctrl" in meta:
            self._shortcut(code)
        elif code in _KEY_CHARS:
            char = _KEY_CHARS[code]
            if "shift" in meta:
                char = char.upper() if char.isalpha() else _SHIFTED.get(char, char)
            screen.type(char)
        # Anything else (volume, MENU, APP_SWITCH, a modifier alone...) changes nothing here.

    def _keyguard_key(self: Phone, code: int) -> None:
        power = self.power
        if not power.bouncer:
            if code == KEY_MENU:
                power.dismiss()      # config_disableMenuKeyInLockScreen is false
            return
        if code in _KEY_CHARS and _KEY_CHARS[code].isdigit():
            power.type(_KEY_CHARS[code])
        elif code == KEY_DEL:
            power.delete()
        elif code in (KEY_ENTER, KEY_NUMPAD_ENTER):
            power.enter()
        elif code in (KEY_BACK, KEY_ESCAPE):
            power.back()

    def _shortcut(self: Phone, code: int) -> None:
        """Ctrl+A, C, X, V in the focused field."""
        screen = self.current_screen()
        if screen.focus is None:
            return
        text = screen.values[screen.focus]
        if code == _KEY_A:
            screen.selected = bool(text)
        elif code in (_KEY_C, _KEY_X) and screen.selected:
            self.clipboard = text
            if code == _KEY_X:
                screen.clear()
        elif code == _KEY_V and self.clipboard:
            screen.type(self.clipboard)

    # ----- text

    @locked
    def type_text(self: Phone, text: str) -> None:
        """``input text``: key events into the focused field, or the PIN pad."""
        if not self.power.awake:
            return
        self.power.user_activity()
        if self.power.keyguard:
            self.power.type(text)
        else:
            self.current_screen().type(text)

    @locked
    def commit_text(self: Phone, text: str) -> None:
        """What an input method commits: any Unicode text, into the app's focused field."""
        if self.power.awake and not self.power.keyguard:
            self.current_screen().type(text)

    # ----- touch

    @locked
    def tap(self: Phone, x: float, y: float) -> None:
        """A finger down and up at (x, y): the navigation bar, or the widget drawn there."""
        power = self.power
        if not power.awake:
            return
        power.user_activity()
        if y >= NAV_BAR_TOP:
            for button, (left, _, right, _) in NAV_BUTTONS.items():
                if left <= x < right and button == "back":
                    power.back() if power.keyguard else self.back()
                elif left <= x < right and button == "home" and not power.keyguard:
                    self.home()
            return      # recents: the app switcher is not modelled
        if y < STATUS_BAR_H:
            return      # the notification shade is not modelled
        if (target := hit(self.tree(), x, y)) is not None and target.on_click is not None:
            target.on_click()

    @locked
    def swipe(self: Phone, x1: float, y1: float, x2: float, y2: float,
              duration_ms: int = 300) -> None:
        """A drag: scrolls the list under its start; a short one is a tap or a long press;
        on the lock screen, one upwards unlocks."""
        power = self.power
        if not power.awake:
            return
        if math.hypot(x2 - x1, y2 - y1) < TOUCH_SLOP:
            if duration_ms < LONG_PRESS_MS:
                self.tap(x1, y1)
            else:
                power.user_activity()
            return      # a long press: nothing on this phone has a long-press action
        power.user_activity()
        if power.keyguard:
            if not power.bouncer and y1 - y2 >= UNLOCK_SWIPE and abs(y2 - y1) > abs(x2 - x1):
                power.dismiss()
            return
        if not STATUS_BAR_H <= y1 < NAV_BAR_TOP or abs(y2 - y1) < abs(x2 - x1):
            return      # edge gestures and sideways drags do nothing here
        target = scroll_target(self.tree(), x1, y1)
        if target is not None and target.on_scroll is not None:
            target.on_scroll(round(y2 - y1))

    @locked
    def touch(self: Phone, action: str, x: float, y: float) -> None:
        """``input motionevent``: DOWN remembers the finger, UP plays the gesture."""
        if action == "DOWN":
            self._finger = (x, y, time.monotonic())
        elif action == "UP" and self._finger is not None:
            x0, y0, since = self._finger
            self._finger = None
            self.swipe(x0, y0, x, y, int((time.monotonic() - since) * 1000))
        elif action == "CANCEL":
            self._finger = None

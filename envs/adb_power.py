"""A phone that slept and locked itself, made ready for an episode (and put back after).

Real phones turn the screen off 30-60 s after the last touch and lock. Before an episode
the driver:

1. reads ``dumpsys power`` (``mWakefulness=Awake|Asleep|Dozing``) and ``dumpsys window
   policy`` (KeyguardServiceDelegate's ``showing=`` and ``secure=``);
2. wakes the screen (``input keyevent KEYCODE_WAKEUP``) if it is off;
3. dismisses a lock screen without PIN, pattern or password (a swipe up, then ``wm
   dismiss-keyguard``), and stops with one clear error for a secure one: the agent never
   types a phone's PIN;
4. keeps the screen on while the env is open (``svc power stayon true``; it works while
   the phone charges), and puts ``stay_on_while_plugged_in`` back when the env closes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qvl_agent.envs.android_device import AndroidDevice
from qvl_agent.envs.errors import EnvError

if TYPE_CHECKING:
    from PIL import Image

__all__ = ["ScreenPower", "PowerState", "locked_message", "is_black"]

STATE_COMMAND = ("dumpsys power | grep -E 'mWakefulness=|mStayOn='; "
                 "dumpsys window policy | grep -E 'showing=|secure=|mShowingLockscreen='; "
                 "dumpsys window windows | grep -E 'mCurrentFocus='")
SETTLE_S = 3.0          # how long the screen may take to come on, or the lock to go away
_KEYGUARD_WINDOWS = ("StatusBar", "NotificationShade", "Keyguard", "Bouncer")


def is_black(image: Image.Image) -> bool:
    """Every pixel black: what screencap returns while the screen is off."""
    return image.convert("L").getbbox() is None


def locked_message(serial: str) -> str:
    return (f"the phone {serial} is locked with a PIN, pattern or password: unlock it (or "
            "set its screen lock to None or Swipe in Settings > Security) and run again; the "
            "agent never types a phone's PIN")


@dataclass(frozen=True)
class PowerState:
    awake: bool
    locked: bool            # the lock screen shows (asleep or awake)
    secure: bool            # a PIN, pattern or password guards it

    @classmethod
    def parse(cls, text: str) -> PowerState:
        wakefulness = re.search(r"mWakefulness=(\w+)", text)
        # Phones whose policy dump lacks the delegate's lines: the lock screen's window
        # has the focus while it shows.
        showing = re.search(r"^\s*(?:showing|mShowingLockscreen)=(true|false)", text, re.M)
        focus = re.search(r"mCurrentFocus=(\S.*)", text)
        locked = showing.group(1) == "true" if showing else bool(
            focus and any(name in focus.group(1) for name in _KEYGUARD_WINDOWS))
        secure = re.search(r"^\s*secure=(true|false)", text, re.M)
        return cls(awake=wakefulness is None or wakefulness.group(1) == "Awake",
                   locked=locked, secure=bool(secure and secure.group(1) == "true"))


class ScreenPower:
    """The screen of one phone: woken, unlocked and kept on while the env is open.

    Args:
        env: the phone.
        size: its screen's (width, height) now, where a swipe up unlocks it.
    """

    def __init__(self, env: AndroidDevice, size: Callable[[], tuple[int, int]]) -> None:
        self.env = env
        self._size = size
        self._stay_on_before: str | None = None

    def state(self) -> PowerState:
        return PowerState.parse(self.env.shell(STATE_COMMAND, check=False, changes_screen=False))

    def ready(self) -> None:
        """Awake, unlocked and kept on, or an ``EnvError`` that says what to do.

        Raises:
            EnvError: the phone is locked with a PIN, pattern or password, or its screen
                would not come on or unlock.
        """
        state = self.state()
        if not state.awake:
            self.env.shell(["input", "keyevent", "KEYCODE_WAKEUP"])
            state = self._until(lambda s: s.awake, "come on")
        if state.locked:
            if state.secure:
                raise EnvError(locked_message(self.env.serial))
            width, height = self._size()
            self.env.shell(["input", "swipe", str(width // 2), str(height * 85 // 100),
                            str(width // 2), str(height * 30 // 100), "300"])
            state = self.state()
            if state.locked:
                self.env.shell(["wm", "dismiss-keyguard"], check=False)
                state = self._until(lambda s: not s.locked, "unlock")
        self._keep_on()

    def check_not_black(self, image: Image.Image) -> None:
        """One clear error for a black frame from a phone that is awake and unlocked."""
        if is_black(image):
            raise EnvError(f"the screen of {self.env.serial} is black although the phone says "
                           "it is awake and unlocked: the app in front may forbid screenshots "
                           "(FLAG_SECURE), or the display is off; open another app or wake the "
                           "phone by hand, and run again")

    def _until(self, done: object, what: str) -> PowerState:
        deadline = time.monotonic() + SETTLE_S
        while True:
            state = self.state()
            if done(state):  # type: ignore[operator]
                return state
            if state.locked and state.secure:
                raise EnvError(locked_message(self.env.serial))
            if time.monotonic() > deadline:
                raise EnvError(f"the screen of {self.env.serial} did not {what} within "
                               f"{SETTLE_S:g} s (dumpsys power and window policy say: awake="
                               f"{state.awake}, locked={state.locked}); wake and unlock it "
                               "by hand and run again")
            time.sleep(0.2)

    def _keep_on(self) -> None:
        if self._stay_on_before is None:
            before = self.env.shell(["settings", "get", "global", "stay_on_while_plugged_in"],
                                    check=False, changes_screen=False).strip()
            self._stay_on_before = before if before.isdigit() else "0"
        self.env.shell(["svc", "power", "stayon", "true"], check=False, changes_screen=False)

    def restore(self) -> None:
        """Put ``stay_on_while_plugged_in`` back as it was before the first episode."""
        if self._stay_on_before is None:
            return
        before, self._stay_on_before = self._stay_on_before, None
        self.env.shell(["settings", "put", "global", "stay_on_while_plugged_in", before],
                       check=False, changes_screen=False)

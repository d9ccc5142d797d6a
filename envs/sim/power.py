"""The screen's power and the lock screen, kept as PowerManagerService and the keyguard do.

- The screen turns off ``screen_off_timeout`` ms (``settings system``, at least 10 s as
  ``config_minimumScreenOffTimeout`` says) after the last user activity, unless
  ``global stay_on_while_plugged_in`` names the charger in use (USB here: ``svc power
  stayon true|usb``). While the lock screen shows, it turns off after 10 s
  (``KeyguardViewMediator.AWAKE_INTERVAL_DEFAULT_MS``).
- Going to sleep by the power or sleep key locks at once; by the timeout it locks
  ``secure lock_screen_lock_after_timeout`` ms (5 s) later, unless the screen woke before.
- The lock screen goes away with a swipe up (or MENU, or ``wm dismiss-keyguard``) when no
  PIN is set; with one, those show the PIN pad, and the PIN and ENTER unlock.

Time is read when something asks (``tick``), so a phone nobody talks to costs nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from qvl_agent.envs.sim.settings_store import SettingsStore

__all__ = ["Power", "SleepReason", "PLUGGED_USB", "MIN_TIMEOUT_MS", "KEYGUARD_TIMEOUT_MS"]

SleepReason = Literal["timeout", "power_button", "sleep_button"]
PLUGGED_USB = 2                 # BatteryManager.BATTERY_PLUGGED_USB: how the phone charges
MIN_TIMEOUT_MS = 10_000         # config_minimumScreenOffTimeout
KEYGUARD_TIMEOUT_MS = 10_000    # the lock screen's own user-activity timeout
LOCK_AFTER_MS = 5_000           # KEYGUARD_LOCK_AFTER_DELAY_DEFAULT


@dataclass
class _Event:
    at: float
    reason: str


class Power:
    """Awake or asleep, locked or not, and since when."""

    def __init__(self, settings: SettingsStore, *, pin: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.pin = pin
        self._clock = clock
        now = clock()
        self.awake = True
        # A phone with a PIN has not been unlocked since it booted; one without is in use.
        self.keyguard = pin is not None     # the lock screen is showing
        self.bouncer = False            # its PIN pad is showing
        self.entered = ""               # digits typed on the PIN pad
        self.wrong_pin = False
        self.last_activity = now
        self.last_wake = _Event(now, "boot")
        self.last_sleep: _Event | None = None
        self._lock_at: float | None = None

    @property
    def secure(self) -> bool:
        return self.pin is not None

    def now(self) -> float:
        return self._clock()

    # ----- the clock

    def tick(self) -> None:
        """Apply what time did since the last look: the timeout, then the delayed lock."""
        now = self._clock()
        if self.awake and (timeout := self.timeout_ms()) is not None \
                and now - self.last_activity >= timeout / 1000:
            self._sleep(self.last_activity + timeout / 1000, "timeout")
        if not self.awake and self._lock_at is not None and now >= self._lock_at:
            self._lock()

    def stay_on(self) -> bool:
        """``stay_on_while_plugged_in`` names the charger the phone is on (USB)."""
        value = self.settings.get("global", "stay_on_while_plugged_in") or "0"
        return value.lstrip("-").isdigit() and bool(int(value) & PLUGGED_USB)

    def setting_ms(self) -> int:
        value = self.settings.get("system", "screen_off_timeout") or ""
        return int(value) if value.lstrip("-").isdigit() else 60_000

    def timeout_ms(self) -> int | None:
        """How long the screen stays on without activity now; None: it stays on."""
        if self.stay_on():
            return None
        timeout = max(self.setting_ms(), MIN_TIMEOUT_MS)
        return min(timeout, KEYGUARD_TIMEOUT_MS) if self.keyguard else timeout

    # ----- what changes it

    def user_activity(self) -> None:
        """A touch or a key while the screen is on: the timeout starts again."""
        if self.awake:
            self.last_activity = self._clock()

    def wake(self, reason: str) -> bool:
        """Turn the screen on (a lock pending from the timeout is called off); False if it was."""
        if self.awake:
            self.user_activity()
            return False
        now = self._clock()
        self.awake = True
        self.last_wake = _Event(now, reason)
        self.last_activity = now
        self._lock_at = None
        return True

    def sleep(self, reason: SleepReason) -> bool:
        if not self.awake:
            return False
        self._sleep(self._clock(), reason)
        return True

    def _sleep(self, at: float, reason: SleepReason) -> None:
        self.awake = False
        self.last_sleep = _Event(at, reason)
        self.bouncer, self.entered = False, ""
        if reason == "timeout":
            delay = self.settings.get("secure", "lock_screen_lock_after_timeout") or ""
            self._lock_at = at + (int(delay) if delay.isdigit() else LOCK_AFTER_MS) / 1000
        else:
            self._lock()

    def _lock(self) -> None:
        self.keyguard = True
        self._lock_at = None

    # ----- the lock screen

    def dismiss(self) -> None:
        """A swipe up, MENU or ``wm dismiss-keyguard``: unlocked, or the PIN pad if secure."""
        if not self.keyguard:
            return
        if self.secure:
            self.bouncer = True
        else:
            self.keyguard = False

    def back(self) -> None:
        """BACK on the PIN pad closes it; on the lock screen it does nothing."""
        self.bouncer, self.entered = False, ""

    def type(self, text: str) -> None:
        if self.bouncer:
            self.entered += "".join(c for c in text if c.isdigit())
            self.wrong_pin = False

    def delete(self) -> None:
        if self.bouncer:
            self.entered = self.entered[:-1]

    def enter(self) -> None:
        """ENTER on the PIN pad: the right PIN unlocks, a wrong one is cleared."""
        if not self.bouncer:
            return
        if self.entered == self.pin:
            self.keyguard = self.bouncer = False
        else:
            self.wrong_pin = True
        self.entered = ""

    def set_pin(self, pin: str | None) -> None:
        self.pin = pin
        if pin is None:
            self.bouncer = False

"""``uiautomator dump`` as real phones answer it, and the retries it needs.

A dump connects to the accessibility service (0.3-1 s), waits until the screen sent no
accessibility event for 1 s (``waitForIdle(1000, 10000)``), and writes the file: 1.5-3 s in
all. It fails in four ways, each retried within ``DUMP_BUDGET_S``:

- "ERROR: could not get idle state." after 10 s of continuous motion (exit 0, no file):
  tried again at once, since the 10 s were the wait;
- "ERROR: null root node returned by UiTestAutomationBridge." (exit 0): always with the
  screen off (so the screen is woken first), now and then during a window change;
- "Killed" (exit 137): another UI automation (Appium, uiautomator2) holds the service
  ("UiAutomationService ... already registered!" in logcat), or the system killed it:
  tried again after a pause;
- the previous dump file left in place by any of these: it is removed before each try.
"""

from __future__ import annotations

import time

from qvl_agent.envs.adb_power import ScreenPower
from qvl_agent.envs.android_device import AndroidDevice
from qvl_agent.envs.errors import EnvError

__all__ = ["dump_ui", "DUMP_PATH", "DUMP_BUDGET_S", "DUMP_TRIES"]

DUMP_PATH = "/sdcard/qvl_window_dump.xml"
DUMP_BUDGET_S = 45.0    # one idle timeout (10 s) and a few ordinary failures, with room
DUMP_TRIES = 6
_KILLED_PAUSE_S = 1.0   # a competing UiAutomation may let go in a moment
_IDLE = "could not get idle state"
_NULL_ROOT = "null root node"


def _hint(output: str) -> str:
    if _IDLE in output:
        return "the screen never stopped moving for a second"
    if "Killed" in output or "already registered" in output:
        return ("uiautomator was killed: is another UI automation (Appium, uiautomator2, "
                "a monkey) running on the phone? stop it and run again")
    if _NULL_ROOT in output:
        return "no window had the focus (is the screen on and unlocked?)"
    return "see what the phone said"


def dump_ui(env: AndroidDevice, power: ScreenPower) -> str:
    """A fresh dump of ``env``'s screen (``power`` tells whether its screen is on).

    Raises:
        EnvError: no dump within ``DUMP_TRIES`` tries or ``DUMP_BUDGET_S`` seconds; the
            message says what the phone answered and what likely causes it.
    """
    started = time.monotonic()
    output, tries = "", 0
    while tries < DUMP_TRIES and time.monotonic() - started < DUMP_BUDGET_S:
        tries += 1
        output = env.shell(f"rm -f {DUMP_PATH}; uiautomator dump {DUMP_PATH}",
                           check=False, changes_screen=False)
        if "dumped to" in output and _IDLE not in output:
            xml = env.shell(["cat", DUMP_PATH], check=False, changes_screen=False)
            start = xml.find("<?xml")
            if start >= 0:
                return xml[start:].strip()
            output = xml
        elif _NULL_ROOT in output and not power.state().awake:
            env.wake()          # a dump of a dark screen finds no window
        elif "Killed" in output:
            time.sleep(_KILLED_PAUSE_S)
    raise EnvError(f"{env.serial}: uiautomator dump failed {tries} times in "
                   f"{time.monotonic() - started:.0f} s ({_hint(output)}): "
                   f"{' '.join(output.split())[:200]}")

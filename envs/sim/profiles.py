"""How the virtual phone differs by Android release: the quirks a driver must survive.

Each profile copies what real phones of that release print or do where the toolkit cares
(AOSP sources; android_world's ``adb_utils``, uiautomator2 and adbutils work around them):

- ``input keycombination`` exists from Android 13 (SDK 33); older ``input`` prints
  "Error: Unknown command" and still exits 0.
- ``dumpsys activity activities`` names the resumed activity differently over releases:
  ``mResumedActivity:`` (9), ``ResumedActivity:`` (10-11), ``topResumedActivity=`` (12+).
- ``wm size`` can report an ``Override size``; the screen, touches and the uiautomator
  dump are then in the override's pixels.
- Phones with several displays print "[Warning] Multiple displays were found..." before
  the PNG of ``screencap -p`` when no display is given.
- ADB Keyboard after ``adb install`` is installed but not enabled (``ime list -s`` omits it).
- The keyboard service binds a moment after ``ime set``; broadcasts before that are lost.
- Screens animate after input; ``uiautomator dump`` waits for the screen to be idle for a
  second (1-3 s a dump) and prints "ERROR: could not get idle state." (exit 0, the previous
  dump file left in place) only after 10 s of continuous motion.
- The screen turns off after ``screen_off_timeout`` and locks; the keyguard's window is
  ``StatusBar`` up to Android 10 and ``NotificationShade`` from Android 11.
- A vendor (``envs.sim.vendors``) ships its own package names, labels and Settings: the
  ``android-14`` phone is a Pixel (Google's apps), ``samsung-11`` a Galaxy on One UI 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from qvl_agent.envs.sim.vendors import AOSP, GOOGLE, SAMSUNG, Vendor

__all__ = ["Profile", "PROFILES", "DEFAULT_PROFILE", "profile_named"]

DEFAULT_PROFILE = "android-14"


@dataclass(frozen=True)
class Profile:
    name: str
    sdk: int
    release: str
    build_id: str
    model: str
    resumed_line: Literal["mResumedActivity", "ResumedActivity", "topResumedActivity"]
    override_size: tuple[int, int] | None = None
    adb_keyboard_enabled: bool = True       # when installed: enabled in settings or not
    animation_s: float = 0.3                # how long the screen moves after an input
    ime_bind_s: float = 0.3                 # ADB Keyboard's receiver registers this late
    vendor: Vendor = AOSP
    screen_off_timeout_ms: int = 60000      # SettingsProvider's def_screen_off_timeout
    # The physical display ids SurfaceFlinger reports (``dumpsys SurfaceFlinger --display-id``);
    # Android 9 numbers its built-in display 0.
    display_ids: tuple[int, ...] = (4619827259835644672,)

    @property
    def has_keycombination(self) -> bool:
        return self.sdk >= 33

    @property
    def multi_display(self) -> bool:
        return len(self.display_ids) > 1

    @property
    def keyguard_window(self) -> str:
        """The window that holds the lock screen: the status bar's up to Android 10."""
        return "StatusBar" if self.sdk < 30 else "NotificationShade"


PROFILES: dict[str, Profile] = {profile.name: profile for profile in (
    Profile("android-9", 28, "9", "PQ3A.190801.002", "QVL Phone 9", "mResumedActivity",
            animation_s=0.5, ime_bind_s=0.4, display_ids=(0,)),
    Profile("android-11", 30, "11", "RQ3A.211001.001", "QVL Phone 11", "ResumedActivity",
            override_size=(720, 1600), adb_keyboard_enabled=False, animation_s=0.4,
            ime_bind_s=0.5),
    # A Pixel 7: Google's apps and keyboard, a second (virtual cast) display.
    Profile("android-14", 34, "14", "UQ1A.240105.004", "Pixel 7", "topResumedActivity",
            animation_s=0.3, ime_bind_s=0.3, vendor=GOOGLE, screen_off_timeout_ms=30000,
            display_ids=(4619827259835644672, 4619827551948147201)),
    # A Galaxy S21 on One UI 3.1: Samsung's apps, providers, keyboard and Settings.
    Profile("samsung-11", 30, "11", "RP1A.200720.012", "SM-G991U", "ResumedActivity",
            adb_keyboard_enabled=False, animation_s=0.4, ime_bind_s=0.5, vendor=SAMSUNG,
            screen_off_timeout_ms=30000, display_ids=(4630946480857162369,)),
)}


def profile_named(name: str | None) -> Profile:
    """The profile called ``name`` (None: the default).

    Raises:
        ValueError: no such profile; the message lists the known ones.
    """
    name = name or DEFAULT_PROFILE
    if name not in PROFILES:
        raise ValueError(f"no virtual phone profile {name!r}; choose one of "
                         f"{', '.join(PROFILES)}")
    return PROFILES[name]

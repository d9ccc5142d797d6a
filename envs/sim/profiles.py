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
- Screens animate after input; ``uiautomator dump`` meanwhile prints "ERROR: could not get
  idle state." and exits 0, leaving the previous dump file in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    multi_display: bool = False
    adb_keyboard_enabled: bool = True       # when installed: enabled in settings or not
    animation_s: float = 0.3                # how long the screen moves after an input
    ime_bind_s: float = 0.3                 # ADB Keyboard's receiver registers this late

    @property
    def has_keycombination(self) -> bool:
        return self.sdk >= 33


PROFILES: dict[str, Profile] = {profile.name: profile for profile in (
    Profile("android-9", 28, "9", "PQ3A.190801.002", "QVL Phone 9", "mResumedActivity",
            animation_s=0.5, ime_bind_s=0.4),
    Profile("android-11", 30, "11", "RQ3A.211001.001", "QVL Phone 11", "ResumedActivity",
            override_size=(720, 1600), adb_keyboard_enabled=False, animation_s=0.4,
            ime_bind_s=0.5),
    Profile("android-14", 34, "14", "UQ1A.240105.004", "QVL Phone 14", "topResumedActivity",
            multi_display=True, animation_s=0.3, ime_bind_s=0.3),
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

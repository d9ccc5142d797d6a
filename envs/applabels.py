"""From an app's label ("Clock") to its package (``com.google.android.deskclock``).

A stock phone gives no shell command that lists apps with their labels, so: a table of the
common apps' packages (AOSP, Google and Samsung builds), checked against what is installed; then a
match of the label's words against the segments of the installed launchable packages
("Flights" -> ``com.qvl.flights``). An unknown or ambiguous label is the model's to fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from qvl_agent.envs.errors import ActionRejectedError

__all__ = ["resolve_app", "KNOWN_APPS"]

KNOWN_APPS: dict[str, tuple[str, ...]] = {
    "settings": ("com.android.settings",),
    "contacts": ("com.google.android.contacts", "com.samsung.android.app.contacts",
                 "com.android.contacts"),
    "clock": ("com.google.android.deskclock", "com.sec.android.app.clockpackage",
              "com.android.deskclock"),
    "alarm": ("com.google.android.deskclock", "com.sec.android.app.clockpackage",
              "com.android.deskclock"),
    "phone": ("com.google.android.dialer", "com.samsung.android.dialer", "com.android.dialer"),
    "dialer": ("com.google.android.dialer", "com.samsung.android.dialer", "com.android.dialer"),
    "messages": ("com.google.android.apps.messaging", "com.samsung.android.messaging",
                 "com.android.messaging"),
    "sms": ("com.google.android.apps.messaging", "com.samsung.android.messaging",
            "com.android.messaging"),
    "chrome": ("com.android.chrome", "org.chromium.chrome"),
    "browser": ("com.android.chrome", "org.chromium.chrome", "com.android.browser"),
    "camera": ("com.google.android.GoogleCamera", "com.android.camera2", "com.android.camera"),
    "calendar": ("com.google.android.calendar", "com.samsung.android.calendar",
                 "com.android.calendar"),
    "gmail": ("com.google.android.gm",),
    "email": ("com.google.android.gm", "com.android.email"),
    "maps": ("com.google.android.apps.maps",),
    "youtube": ("com.google.android.youtube",),
    "photos": ("com.google.android.apps.photos",),
    "gallery": ("com.sec.android.gallery3d", "com.google.android.apps.photos",
                "com.android.gallery3d"),
    "files": ("com.google.android.apps.nbu.files", "com.android.documentsui"),
    "play store": ("com.android.vending",),
    "calculator": ("com.google.android.calculator", "com.sec.android.app.popupcalculator",
                   "com.android.calculator2"),
    "keep": ("com.google.android.keep",),
    "keep notes": ("com.google.android.keep",),
}
_STOP = {"app", "the", "my", "application", "open", "com", "android", "google", "apps"}


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP]


def resolve_app(label: str, installed: Sequence[str], launchable: Sequence[str] = ()) -> str:
    """The package to launch for ``label``. Raises ``ActionRejectedError`` when there is none
    or several equally good ones (the message lists what there is)."""
    name = label.strip()
    if name in installed:
        return name
    key = " ".join(re.findall(r"[a-z0-9]+", name.lower()))
    for candidate in KNOWN_APPS.get(key, ()) + KNOWN_APPS.get(" ".join(_words(name)), ()):
        if candidate in installed:
            return candidate
    pool = list(launchable) or list(installed)
    words = _words(name)
    scored = sorted(((_score(words, package), package) for package in pool), reverse=True)
    if not words or not scored or scored[0][0] == 0:
        shown = ", ".join(sorted(pool)[:15]) + (" ..." if len(pool) > 15 else "")
        raise ActionRejectedError(f"no app called {label!r} on this device; apps: {shown}")
    best = [package for score, package in scored if score == scored[0][0]]
    if len(best) > 1:
        raise ActionRejectedError(f"{label!r} could be {', '.join(sorted(best))}; use a more precise name")
    return best[0]


def _score(words: list[str], package: str) -> int:
    """How many of the label's words match a segment of the package name."""
    segments = _words(package.replace(".", " ").replace("_", " "))
    score = 0
    for word in words:
        if any(seg == word for seg in segments):
            score += 3
        elif any(len(word) >= 4 and (seg.startswith(word) or word.startswith(seg)) and len(seg) >= 4
                 for seg in segments):
            score += 2
    return score

"""The lock screen (SystemUI's keyguard) and its PIN pad, as a widget tree.

It is drawn, dumped and touched like an app's window, under ``com.android.systemui``. The
lock screen shows the clock and "Swipe up to unlock" ("Swipe up to open" from Android 12,
"Swipe to unlock" on One UI); the PIN pad ("Enter PIN") has a password field and the keys.
"""

from __future__ import annotations

from qvl_agent.envs.sim.apps.layout import text_view
from qvl_agent.envs.sim.power import Power
from qvl_agent.envs.sim.profiles import Profile
from qvl_agent.envs.sim.widgets import NAV_BAR_TOP, SCREEN_W, STATUS_BAR_H, Paint, Widget

__all__ = ["PACKAGE", "keyguard_widgets", "hint"]

PACKAGE = "com.android.systemui"
_ID = f"{PACKAGE}:id/"
_BACKGROUND = "#263238"
_WHITE = "#FFFFFF"
_KEY = 200


def hint(profile: Profile) -> str:
    """What the lock screen says at its bottom edge."""
    if profile.vendor.settings == "oneui":
        return "Swipe to unlock"
    return "Swipe up to unlock" if profile.sdk < 31 else "Swipe up to open"


def _lock_screen(profile: Profile) -> list[Widget]:
    return [
        text_view((0, 420, SCREEN_W, 680), "12:00", rid=_ID + "clock_view", size=220,
                  color=_WHITE, align="center"),
        text_view((0, 700, SCREEN_W, 790), "Mon, Jan 1", rid=_ID + "date_view", size=48,
                  color=_WHITE, align="center"),
        Widget("android.widget.ImageView", (SCREEN_W // 2 - 60, 1880, SCREEN_W // 2 + 60, 2000),
               rid=_ID + "lock_icon", desc="Unlock", paint=Paint(glyph="\u25cf", color=_WHITE,
                                                                 size=64, align="center")),
        text_view((0, 2040, SCREEN_W, 2120), hint(profile),
                  rid=_ID + "keyguard_indication_text", size=40, color=_WHITE, align="center"),
    ]


def _pin_pad(power: Power) -> list[Widget]:
    message = "Wrong PIN" if power.wrong_pin else "Enter PIN"
    widgets = [
        text_view((0, 500, SCREEN_W, 600), message, rid=_ID + "keyguard_message_area",
                  size=48, color=_WHITE, align="center"),
        Widget("android.widget.EditText", (190, 680, SCREEN_W - 190, 820),
               text="\u2022" * len(power.entered), rid=_ID + "pinEntry", password=True,
               focusable=True, focused=True, paint=Paint(color=_WHITE, size=64, align="center",
                                                         background=_BACKGROUND)),
    ]
    labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "delete", "0", "enter"]
    left0, top0 = (SCREEN_W - 3 * _KEY - 2 * 60) // 2, 1000
    for number, label in enumerate(labels):
        left = left0 + (number % 3) * (_KEY + 60)
        top = top0 + (number // 3) * (_KEY + 40)
        bounds = (left, top, left + _KEY, top + _KEY)
        if label == "delete":
            widgets.append(Widget("android.widget.ImageButton", bounds,
                                  rid=_ID + "delete_button", desc="Delete", clickable=True,
                                  focusable=True, on_click=power.delete,
                                  paint=Paint(glyph="\u232b", color=_WHITE, size=72,
                                              align="center")))
        elif label == "enter":
            widgets.append(Widget("android.widget.ImageButton", bounds, rid=_ID + "key_enter",
                                  desc="Enter", clickable=True, focusable=True,
                                  on_click=power.enter,
                                  paint=Paint(glyph="\u21b5", color=_WHITE, size=72,
                                              align="center")))
        else:
            widgets.append(Widget("android.widget.TextView", bounds, text=label,
                                  rid=_ID + f"key{label}", clickable=True, focusable=True,
                                  on_click=lambda digit=label: power.type(digit),
                                  paint=Paint(color=_WHITE, size=88, align="center",
                                              radius=_KEY, background="#37474F")))
    return widgets


def keyguard_widgets(power: Power, profile: Profile) -> list[Widget]:
    """The keyguard's window contents: the PIN pad once it was asked for, else the clock."""
    children = _pin_pad(power) if power.bouncer else _lock_screen(profile)
    return [Widget("android.widget.FrameLayout", (0, STATUS_BAR_H, SCREEN_W, NAV_BAR_TOP),
                   rid=_ID + ("keyguard_bouncer_container" if power.bouncer
                              else "keyguard_root_view"),
                   paint=Paint(background=_BACKGROUND), children=children)]

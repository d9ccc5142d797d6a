"""Where a radio's switch is in Settings, by what each phone's Settings shows.

An oracle taps through the rows a person would, with the labels of that phone: AOSP and
Pixels write "Wi‑Fi" with a non-breaking hyphen (U+2011) and keep Wi‑Fi under "Network &
internet" (from Android 12 under its "Internet" page), Bluetooth under "Connected devices"
> "Connection preferences"; One UI keeps them all on "Connections". A phone whose Settings
is not in this table gets the page by its system intent (``am start -a
android.settings.WIFI_SETTINGS``), where the page's first switch is the radio's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from qvl_agent.tasks.android.device import PhoneKind

__all__ = ["Step", "settings_path", "RADIO_INTENTS"]

WIFI_AOSP = "Wi\u2011Fi"
_AOSP_SETTINGS = ("google", "qvl")      # Pixels and AOSP builds (the virtual phone's)


@dataclass(frozen=True)
class Step:
    """Tap the row ``label`` (``open``), or the switch on it (``switch``; None: the page's
    first switch, its main switch bar)."""

    kind: Literal["open", "switch"]
    label: str | None


RADIO_INTENTS = {"wifi_on": ("android.settings.WIFI_SETTINGS", None),
                 "bluetooth_on": ("android.settings.BLUETOOTH_SETTINGS", None),
                 "airplane_mode_on": ("android.settings.AIRPLANE_MODE_SETTINGS",
                                      "Airplane mode")}
"""Per radio: the intent of its page, and the row whose switch it is (None: the first)."""


def _open(*labels: str) -> list[Step]:
    return [Step("open", label) for label in labels]


def settings_path(kind: PhoneKind, key: str) -> list[Step] | None:
    """The taps from Settings' first page to the radio's switch, or None for a phone whose
    Settings this table does not know."""
    if kind.manufacturer == "samsung":
        if not 30 <= kind.sdk <= 34:
            return None
        label = {"wifi_on": "Wi-Fi", "bluetooth_on": "Bluetooth",
                 "airplane_mode_on": "Airplane mode"}[key]
        return [*_open("Connections"), Step("switch", label)]
    if kind.manufacturer not in _AOSP_SETTINGS or not 28 <= kind.sdk <= 34:
        return None
    match key:
        case "wifi_on" if kind.sdk >= 31:
            return [*_open("Network & internet", "Internet"), Step("switch", WIFI_AOSP)]
        case "wifi_on":
            return [*_open("Network & internet"), Step("switch", WIFI_AOSP)]
        case "bluetooth_on":
            return [*_open("Connected devices", "Connection preferences", "Bluetooth"),
                    Step("switch", None)]
        case "airplane_mode_on":
            return [*_open("Network & internet"), Step("switch", "Airplane mode")]
    raise KeyError(key)

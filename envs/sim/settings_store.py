"""The settings provider: ``system``, ``secure`` and ``global`` key-value tables.

The radios are separate from their settings, as on a real phone: the Wi-Fi service writes
``global wifi_on`` when the radio changes ("1" on, "2" on while in airplane mode, "3" off
because of airplane mode, "0" off), Bluetooth's manager ``global bluetooth_on`` ("1" on,
"2" on before airplane mode and off now, "0" off; airplane mode's end turns a "2" back
on), but ``settings put global wifi_on 1`` only stores a value and turns nothing on. ``svc``, ``cmd wifi`` and the Settings app switch the radio; the
Settings screen and the status bar show the radio. The current keyboard is
``secure default_input_method``.
"""

from __future__ import annotations

import threading

__all__ = ["SettingsStore", "NAMESPACES", "RADIOS", "LATIN_IME", "ADB_IME"]

NAMESPACES = ("system", "secure", "global")
RADIOS = ("wifi_on", "bluetooth_on", "airplane_mode_on")
LATIN_IME = "com.android.inputmethod.latin/.LatinIME"
ADB_IME = "com.android.adbkeyboard/.AdbIME"

_DEFAULTS: dict[str, dict[str, str]] = {
    "global": {
        "adb_enabled": "1", "airplane_mode_on": "0", "airplane_mode_radios":
        "cell,bluetooth,wifi,nfc,wimax", "auto_time": "1", "auto_time_zone": "1",
        "bluetooth_on": "0", "data_roaming": "0", "development_settings_enabled": "1",
        "device_name": "QVL Virtual Phone", "device_provisioned": "1", "mobile_data": "1",
        "stay_on_while_plugged_in": "0", "wifi_on": "0", "window_animation_scale": "1.0",
        "transition_animation_scale": "1.0", "animator_duration_scale": "1.0",
    },
    "secure": {
        "android_id": "5a1e0c0ffee0d00d", "default_input_method": LATIN_IME,
        "enabled_input_methods": LATIN_IME, "location_mode": "3",
        "selected_input_method_subtype": "-1", "user_setup_complete": "1",
        "lock_screen_lock_after_timeout": "5000",
    },
    "system": {
        "accelerometer_rotation": "0", "font_scale": "1.0", "screen_brightness": "128",
        "screen_brightness_mode": "0", "screen_off_timeout": "600000", "time_12_24": "24",
        "user_rotation": "0",
    },
}


class SettingsStore:
    """Thread-safe namespaced settings with the values a freshly set-up phone has: its
    vendor's keyboard (``ime``) and screen timeout."""

    def __init__(self, *, ime: str = LATIN_IME, screen_off_timeout_ms: int = 60000) -> None:
        self._values = {namespace: dict(keys) for namespace, keys in _DEFAULTS.items()}
        self._values["secure"]["default_input_method"] = ime
        self._values["secure"]["enabled_input_methods"] = ime
        self._values["system"]["screen_off_timeout"] = str(screen_off_timeout_ms)
        self._radios = {key: self._values["global"][key] == "1" for key in RADIOS}
        self._lock = threading.Lock()

    def get(self, namespace: str, key: str) -> str | None:
        with self._lock:
            return self._values[namespace].get(key)

    def put(self, namespace: str, key: str, value: str) -> None:
        with self._lock:
            self._values[namespace][key] = value

    def delete(self, namespace: str, key: str) -> bool:
        with self._lock:
            return self._values[namespace].pop(key, None) is not None

    def items(self, namespace: str) -> list[tuple[str, str]]:
        with self._lock:
            return sorted(self._values[namespace].items())

    def radio(self, key: str) -> bool:
        """Whether a radio (``wifi_on``, ``bluetooth_on``, ``airplane_mode_on``) is really on."""
        with self._lock:
            return self._radios[key]

    def set_radio(self, key: str, on: bool) -> None:
        """Switch a radio as its service does, and write the setting the service writes."""
        with self._lock:
            self._radios[key] = on
            airplane = self._radios["airplane_mode_on"]
            value = "1" if on else "0"
            if key == "wifi_on" and on and airplane:
                value = "2"     # WIFI_ENABLED_AIRPLANE_OVERRIDE
            self._values["global"][key] = value

    def set_airplane_mode(self, on: bool) -> None:
        """Switch airplane mode as the phone's own toggle does: on turns the radios off and
        remembers which were on ("3" for Wi-Fi, "2" for Bluetooth), off brings those back."""
        with self._lock:
            values = self._values["global"]
            self._radios["airplane_mode_on"] = on
            values["airplane_mode_on"] = "1" if on else "0"
            if on:
                values["wifi_on"] = "3" if self._radios["wifi_on"] else "0"  # DISABLED_AIRPLANE_ON
                values["bluetooth_on"] = "2" if self._radios["bluetooth_on"] else "0"  # ON_AIRPLANE
                self._radios["wifi_on"] = self._radios["bluetooth_on"] = False
                return
            if values.get("wifi_on") == "3":
                self._radios["wifi_on"] = True
                values["wifi_on"] = "1"
            if values.get("bluetooth_on") == "2":
                self._radios["bluetooth_on"] = True
                values["bluetooth_on"] = "1"

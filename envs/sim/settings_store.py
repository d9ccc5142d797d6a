"""The settings provider: ``system``, ``secure`` and ``global`` key-value tables.

Radios live here as on a real phone (``wifi_on``, ``bluetooth_on``, ``airplane_mode_on`` in
``global``, "1"/"0"), and so does the current keyboard (``default_input_method`` in
``secure``). The Settings app, ``svc``, ``cmd wifi`` and ``settings put`` all change the same
keys, so an evaluator reading ``settings get`` sees what the screen shows.
"""

from __future__ import annotations

import threading

__all__ = ["SettingsStore", "NAMESPACES", "LATIN_IME", "ADB_IME"]

NAMESPACES = ("system", "secure", "global")
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
    },
    "system": {
        "accelerometer_rotation": "0", "font_scale": "1.0", "screen_brightness": "128",
        "screen_brightness_mode": "0", "screen_off_timeout": "600000", "time_12_24": "24",
        "user_rotation": "0",
    },
}


class SettingsStore:
    """Thread-safe namespaced settings with the values a freshly set-up phone has."""

    def __init__(self) -> None:
        self._values = {namespace: dict(keys) for namespace, keys in _DEFAULTS.items()}
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

    def flag(self, key: str) -> bool:
        """A ``global`` on/off setting such as ``wifi_on``: anything but "0" or unset is on."""
        return self.get("global", key) not in (None, "0", "")

    def set_flag(self, key: str, on: bool) -> None:
        self.put("global", key, "1" if on else "0")

    def set_airplane_mode(self, on: bool) -> None:
        """Switch airplane mode as the phone's own toggle does: on turns the radios off."""
        with self._lock:
            values = self._values["global"]
            values["airplane_mode_on"] = "1" if on else "0"
            if on:
                values["wifi_on"] = "0"
                values["bluetooth_on"] = "0"

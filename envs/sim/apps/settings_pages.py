"""The pages of Settings per release and vendor: AOSP 9 and 11, a Pixel on 14, One UI 3.

Titles and summaries are AOSP's strings (``packages/apps/Settings``), which write "Wi‑Fi"
with a non-breaking hyphen (U+2011); One UI writes a plain "Wi-Fi". Where a radio lives:

    AOSP 9     Network & internet > Wi‑Fi (switch bar: On/Off)
               Connected devices > Connection preferences > Bluetooth (On/Off)
    AOSP 11    the same, with "Use Wi‑Fi" and "Use Bluetooth" switch bars
    Pixel 14   Network & internet > Internet > Wi‑Fi; Bluetooth as on 11
    One UI 3   Connections > Wi-Fi, Bluetooth (On/Off), Airplane mode

Airplane mode is a switch row on the network page (AOSP) or Connections (One UI).
"""

from __future__ import annotations

from collections.abc import Callable

from qvl_agent.envs.sim.apps.base import Host, Screen
from qvl_agent.envs.sim.apps.settings import Page, Pref, radio_summary
from qvl_agent.envs.sim.profiles import Profile
from qvl_agent.envs.sim.vendors import NBH

__all__ = ["home", "page_for_action", "SETTINGS_ACTIONS"]

WIFI = f"Wi{NBH}Fi"
SETTINGS_ACTIONS = ("android.settings.SETTINGS", "android.settings.WIFI_SETTINGS",
                    "android.settings.BLUETOOTH_SETTINGS",
                    "android.settings.AIRPLANE_MODE_SETTINGS",
                    "android.settings.WIRELESS_SETTINGS")


def _on_off(on: bool) -> str:
    return "On" if on else "Off"


def _wifi_summary(host: Host) -> str:
    return radio_summary(host, "wifi_on")


# ----- AOSP and Pixel

def _aosp_wifi(profile: Profile) -> Page:
    label: str | Callable[[bool], str] = _on_off if profile.sdk < 29 else f"Use {WIFI}"
    return Page(WIFI, [Pref(f"{WIFI} preferences", summary=f"Turn on {WIFI} automatically"),
                       Pref("Saved networks", summary="0 networks"),
                       Pref(f"{WIFI} data usage", summary="0 B used")],
                bar_key="wifi_on", bar_label=label)


def _aosp_internet() -> Page:
    return Page("Internet", [Pref(WIFI, "toggle", key="wifi_on", summary=_wifi_summary),
                             Pref("Network preferences", summary=f"{WIFI} turns back on "
                                  "automatically"),
                             Pref("Saved networks"), Pref("Non-carrier data usage")])


def _aosp_bluetooth(profile: Profile) -> Page:
    label: str | Callable[[bool], str] = _on_off if profile.sdk < 29 else "Use Bluetooth"
    return Page("Bluetooth", [Pref("Device name", summary=profile.model),
                              Pref("Pair new device")],
                bar_key="bluetooth_on", bar_label=label)


def _aosp_connection_preferences(profile: Profile) -> Page:
    prefs = [Pref("Bluetooth", "link", page=lambda host: _aosp_bluetooth(profile),
                  summary=lambda host: radio_summary(host, "bluetooth_on")),
             Pref("Cast"), Pref("Printing", summary="1 print service on")]
    prefs.append(Pref("Files received via Bluetooth") if profile.sdk < 31
                 else Pref("Nearby Share", summary="Off"))
    return Page("Connection preferences", prefs)


def _aosp_connected_devices(profile: Profile) -> Page:
    return Page("Connected devices", [
        Pref("Pair new device"),
        Pref("Connection preferences", "link",
             page=lambda host: _aosp_connection_preferences(profile),
             summary="Bluetooth, NFC" if profile.sdk < 31 else "Bluetooth, Android Auto"),
    ])


def _aosp_network(profile: Profile) -> Page:
    airplane = Pref("Airplane mode", "toggle", key="airplane_mode_on")
    if profile.sdk >= 31:
        return Page("Network & internet", [
            Pref("Internet", "link", page=lambda host: _aosp_internet(), summary=_wifi_summary),
            Pref("Calls & SMS"), Pref("SIMs"), airplane,
            Pref("Hotspot & tethering", summary="Off"), Pref("Data Saver", summary="Off"),
            Pref("VPN", summary="None"), Pref("Private DNS", summary="Automatic")])
    return Page("Network & internet", [
        Pref(WIFI, "master", key="wifi_on", page=lambda host: _aosp_wifi(profile),
             summary=_wifi_summary),
        Pref("Mobile network"), airplane, Pref("Hotspot & tethering", summary="Off"),
        Pref("Data usage", summary="0 B of data used")])


_AOSP_HOME = {
    28: [("Network & internet", f"{WIFI}, mobile, data usage, hotspot"),
         ("Connected devices", "Bluetooth, NFC"),
         ("Apps & notifications", "Permissions, default apps"), ("Battery", "100%"),
         ("Display", "Wallpaper, sleep, font size"),
         ("Sound", "Volume, vibration, Do Not Disturb"),
         ("Storage", "27% used - 23.36 GB free"),
         ("Security & location", "Screen lock, fingerprint")],
    30: [("Network & internet", f"{WIFI}, mobile, data usage, and hotspot"),
         ("Connected devices", "Bluetooth, pairing"),
         ("Apps & notifications", "Assistant, recent apps, default apps"),
         ("Battery", "100%"), ("Display", "Styles, wallpapers, screen timeout, font size"),
         ("Sound", "Volume, vibration, Do Not Disturb"), ("Storage", "27% used - 23 GB free"),
         ("Privacy", "Permissions, account activity, personal data")],
    34: [("Network & internet", f"Mobile, {WIFI}, hotspot"),
         ("Connected devices", "Bluetooth, pairing"),
         ("Apps", "Assistant, recent apps, default apps"),
         ("Notifications", "Notification history, conversations"), ("Battery", "100%"),
         ("Storage", "27% used - 93.5 GB free"),
         ("Sound & vibration", "Volume, haptics, Do Not Disturb"),
         ("Display", "Dark theme, font size, brightness")],
}


def _aosp_home(profile: Profile) -> Page:
    rows = _AOSP_HOME[min(_AOSP_HOME, key=lambda sdk: abs(sdk - profile.sdk))]
    pages = {"Network & internet": lambda host: _aosp_network(profile),
             "Connected devices": lambda host: _aosp_connected_devices(profile)}
    return Page("Settings", [Pref(title, "link" if title in pages else "info",
                                  page=pages.get(title), summary=summary)
                             for title, summary in rows], root=True)


# ----- One UI

def _oneui_radio(title: str, key: str) -> Page:
    return Page(title, [Pref("Advanced"), Pref("Help")], bar_key=key, bar_label=_on_off)


def _oneui_connections() -> Page:
    return Page("Connections", [
        Pref("Wi-Fi", "master", key="wifi_on", page=lambda host: _oneui_radio("Wi-Fi", "wifi_on")),
        Pref("Wi-Fi Calling"),
        Pref("Bluetooth", "master", key="bluetooth_on",
             page=lambda host: _oneui_radio("Bluetooth", "bluetooth_on")),
        Pref("NFC and contactless payments"),
        Pref("Airplane mode", "toggle", key="airplane_mode_on"),
        Pref("Mobile networks"), Pref("Data usage"), Pref("SIM card manager"),
        Pref("Mobile Hotspot and Tethering"), Pref("More connection settings"),
    ])


def _oneui_home() -> Page:
    return Page("Settings", [
        Pref("Connections", "link", page=lambda host: _oneui_connections(),
             summary="Wi-Fi  \u2022  Bluetooth  \u2022  Airplane mode  \u2022  Data usage"),
        Pref("Sounds and vibration", summary="Sound mode  \u2022  Ringtone"),
        Pref("Notifications", summary="Status bar  \u2022  Do not disturb"),
        Pref("Display", summary="Brightness  \u2022  Eye comfort shield  \u2022  Navigation bar"),
        Pref("Wallpaper", summary="Wallpapers  \u2022  Color palette"),
        Pref("Themes", summary="Themes  \u2022  Wallpapers  \u2022  Icons"),
        Pref("Home screen", summary="Layout  \u2022  App icon badges"),
        Pref("Lock screen", summary="Screen lock type  \u2022  Always On Display"),
    ], root=True)


# ----- what the phone asks for

def home(profile: Profile) -> Screen:
    """Settings' first page on this phone."""
    return _oneui_home() if profile.vendor.settings == "oneui" else _aosp_home(profile)


def page_for_action(profile: Profile, action: str) -> Screen | None:
    """The page a system intent opens (None: the action is not Settings')."""
    oneui = profile.vendor.settings == "oneui"
    match action:
        case "android.settings.SETTINGS":
            return home(profile)
        case "android.settings.WIFI_SETTINGS":
            if oneui:
                return _oneui_radio("Wi-Fi", "wifi_on")
            return _aosp_internet() if profile.sdk >= 31 else _aosp_wifi(profile)
        case "android.settings.BLUETOOTH_SETTINGS":
            return _oneui_radio("Bluetooth", "bluetooth_on") if oneui \
                else _aosp_bluetooth(profile)
        case "android.settings.AIRPLANE_MODE_SETTINGS" | "android.settings.WIRELESS_SETTINGS":
            return _oneui_connections() if oneui else _aosp_network(profile)
    return None

"""Settings: the Wi-Fi, Bluetooth and Airplane mode switches; each shows its radio's state."""

from __future__ import annotations

from qvl_agent.envs.sim.apps.base import App, Host, Screen
from qvl_agent.envs.sim.apps.layout import CONTENT_TOP, SECONDARY, app_bar, row, switch, text_view
from qvl_agent.envs.sim.widgets import SCREEN_W, Widget

__all__ = ["SETTINGS", "TOGGLES"]

PACKAGE = "com.android.settings"
BAR = "#F1F3F4"
ROW_H = 200
TOGGLES = (("Wi-Fi", "wifi_on"), ("Bluetooth", "bluetooth_on"),
           ("Airplane mode", "airplane_mode_on"))
"""Each row's title and the radio (and ``settings global`` key) its switch shows and changes."""


def toggle(host: Host, key: str) -> None:
    """Flip one switch; airplane mode takes Wi-Fi and Bluetooth down with it, as phones do."""
    if key == "airplane_mode_on":
        host.settings.set_airplane_mode(not host.settings.radio(key))
    else:
        host.settings.set_radio(key, not host.settings.radio(key))


class SettingsHome(Screen):
    """The one page: a row per switch; tapping the row or the switch flips it."""

    def build(self, host: Host) -> list[Widget]:
        widgets = [app_bar("Settings", BAR)]
        top = CONTENT_TOP
        for title, key in TOGGLES:
            on = host.settings.radio(key)

            def flip(key: str = key) -> None:
                toggle(host, key)

            children = [
                text_view((0, top + 30, 820, top + 110), title, rid="android:id/title", size=50),
                text_view((0, top + 110, 820, top + 170), "On" if on else "Off",
                          rid="android:id/summary", size=38, color=SECONDARY),
                switch((860, top + 40, SCREEN_W - 48, top + ROW_H - 40),
                       "android:id/switch_widget", on, flip),
            ]
            widgets.append(row((0, top, SCREEN_W, top + ROW_H), children, on_click=flip))
            top += ROW_H
        return widgets


SETTINGS = App(PACKAGE, "Settings", ".Settings", colour="#5F6368", root=SettingsHome, bar=BAR)

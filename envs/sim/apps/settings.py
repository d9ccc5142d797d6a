"""Settings, laid out as each release and vendor lays it out, with working radio switches.

AOSP and Pixels (``envs.sim.settings_pages``: "Network & internet" > "Wi‑Fi" or, from
Android 12, "Internet"; "Connected devices" > "Connection preferences" > "Bluetooth";
"Airplane mode" on the network page), and One UI ("Connections" with Wi-Fi, Bluetooth and
Airplane mode rows). Titles are ``android:id/title``, summaries ``android:id/summary``,
switches ``android:id/switch_widget`` (a page's main switch: ``switch_bar``), as
PreferenceFragment lays them out. The system intents open their page directly
(``android.settings.WIFI_SETTINGS``, ``...BLUETOOTH_SETTINGS``, ``...AIRPLANE_MODE_SETTINGS``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from qvl_agent.envs.sim.apps.base import App, Host, Screen
from qvl_agent.envs.sim.apps.layout import CONTENT_TOP, SECONDARY, app_bar, row, switch, text_view
from qvl_agent.envs.sim.widgets import SCREEN_W, Widget

__all__ = ["SETTINGS", "Pref", "Page", "toggle", "radio_summary"]

PACKAGE = "com.android.settings"
BAR = "#F1F3F4"
ROW_H = 190


def toggle(host: Host, key: str) -> None:
    """Flip one radio; airplane mode takes the others down with it, as phones do."""
    if key == "airplane_mode_on":
        host.settings.set_airplane_mode(not host.settings.radio(key))
    else:
        host.settings.set_radio(key, not host.settings.radio(key))


def radio_summary(host: Host, key: str) -> str:
    return "On" if host.settings.radio(key) else "Off"


@dataclass(frozen=True)
class Pref:
    """One row. ``toggle``: the whole row flips ``key``; ``master``: the text opens ``page``
    and the switch at its end flips ``key``; ``link``: the row opens ``page``."""

    title: str
    kind: Literal["toggle", "master", "link", "info"] = "info"
    key: str = ""
    page: Callable[[Host], Screen] | None = None
    summary: str | Callable[[Host], str] = ""


class Page(Screen):
    """A settings page: a title, an optional main switch bar, rows of preferences."""

    def __init__(self, title: str, prefs: list[Pref], *, bar_key: str = "",
                 bar_label: str | Callable[[bool], str] = "", root: bool = False) -> None:
        super().__init__()
        self.title, self.prefs, self.bar_key, self.bar_label = title, prefs, bar_key, bar_label
        self.root = root

    def _switch_bar(self, host: Host, top: int) -> Widget:
        on = host.settings.radio(self.bar_key)
        label = self.bar_label(on) if callable(self.bar_label) else self.bar_label

        def flip() -> None:
            toggle(host, self.bar_key)

        return row((0, top, SCREEN_W, top + ROW_H), [
            text_view((0, top + 40, 820, top + ROW_H - 40), label, rid=f"{PACKAGE}:id/switch_text",
                      size=52, bold=True),
            switch((860, top + 40, SCREEN_W - 48, top + ROW_H - 40), "android:id/switch_widget",
                   on, flip),
        ], rid=f"{PACKAGE}:id/switch_bar", on_click=flip)

    def _row(self, host: Host, pref: Pref, top: int) -> Widget:
        summary = pref.summary(host) if callable(pref.summary) else pref.summary
        width = 820 if pref.kind in ("toggle", "master") else SCREEN_W
        texts = [text_view((0, top + (22 if summary else 55), width, top + (102 if summary else 135)),
                           pref.title, rid="android:id/title", size=50)]
        if summary:
            texts.append(text_view((0, top + 105, width, top + 165), summary,
                                   rid="android:id/summary", size=38, color=SECONDARY))

        def open_page() -> None:
            if pref.page is not None:
                host.push(pref.page(host))

        def flip() -> None:
            toggle(host, pref.key)

        match pref.kind:
            case "toggle":
                texts.append(switch((860, top + 45, SCREEN_W - 48, top + ROW_H - 45),
                                    "android:id/switch_widget", host.settings.radio(pref.key),
                                    flip))
                return row((0, top, SCREEN_W, top + ROW_H), texts, on_click=flip)
            case "master":
                body = row((0, top, 840, top + ROW_H), texts, on_click=open_page)
                return row((0, top, SCREEN_W, top + ROW_H), [body, switch(
                    (860, top + 45, SCREEN_W - 48, top + ROW_H - 45), "android:id/switch_widget",
                    host.settings.radio(pref.key), flip)])
            case "link":
                return row((0, top, SCREEN_W, top + ROW_H), texts, on_click=open_page)
            case "info":
                return row((0, top, SCREEN_W, top + ROW_H), texts, on_click=lambda: None)

    def build(self, host: Host) -> list[Widget]:
        widgets = [app_bar(self.title, BAR, up=None if self.root else host.pop)]
        top = CONTENT_TOP
        if self.bar_key:
            widgets.append(self._switch_bar(host, top))
            top += ROW_H
        for pref in self.prefs:
            widgets.append(self._row(host, pref, top))
            top += ROW_H
        return widgets


SETTINGS = App(PACKAGE, "Settings", ".Settings", colour="#5F6368",
               root=lambda: Page("Settings", [], root=True), bar=BAR)
"""The AOSP app; ``apps.apps_for`` gives a phone its pages (``settings_pages.home``)."""

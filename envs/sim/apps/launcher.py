"""The home screen (``com.android.launcher3``): a grid of app icons with their labels."""

from __future__ import annotations

import functools
from collections.abc import Sequence

from qvl_agent.envs.sim.apps.base import App, Host, Screen
from qvl_agent.envs.sim.widgets import NAV_BAR_TOP, SCREEN_W, STATUS_BAR_H, Paint, Widget

__all__ = ["launcher", "PACKAGE", "WALLPAPER"]

PACKAGE = "com.android.launcher3"
ACTIVITY = ".uioverrides.QuickstepLauncher"
WALLPAPER = "#1F3A5F"
COLUMNS = 4
CELL_W, CELL_H = SCREEN_W // COLUMNS, 300
ICON = 168
GRID_TOP = STATUS_BAR_H + 120


class Home(Screen):
    """Every launchable app as an icon (a coloured square with its initial) and a label."""

    def __init__(self, apps: Sequence[App]) -> None:
        super().__init__()
        self.apps = [app for app in apps if app.launchable]

    def build(self, host: Host) -> list[Widget]:
        icons = []
        for number, app in enumerate(self.apps):
            left = (number % COLUMNS) * CELL_W
            top = GRID_TOP + (number // COLUMNS) * CELL_H
            icon_left = left + (CELL_W - ICON) // 2
            image = Widget("android.widget.ImageView",
                           (icon_left, top + 24, icon_left + ICON, top + 24 + ICON),
                           paint=Paint(background=app.colour, radius=44, glyph=app.label[:1],
                                       color="#FFFFFF", size=96, align="center"))
            label = Widget("android.widget.TextView",
                           (left, top + 24 + ICON + 8, left + CELL_W, top + CELL_H - 8),
                           text=app.label, rid=f"{PACKAGE}:id/icon_label",
                           paint=Paint(color="#FFFFFF", size=40, align="center"))
            icons.append(Widget("android.widget.FrameLayout", (left, top, left + CELL_W,
                                                                top + CELL_H),
                                desc=app.label, clickable=True, focusable=True,
                                long_clickable=True, children=[image, label],
                                on_click=functools.partial(host.launch, app.package)))
        return [Widget("android.view.ViewGroup", (0, STATUS_BAR_H, SCREEN_W, NAV_BAR_TOP),
                       rid=f"{PACKAGE}:id/workspace", paint=Paint(background=WALLPAPER),
                       children=icons)]


def launcher(apps: Sequence[App]) -> App:
    """The launcher app showing ``apps`` on its home screen."""
    return App(PACKAGE, "Quickstep", ACTIVITY, colour=WALLPAPER,
               root=functools.partial(Home, apps), launchable=False, bar=WALLPAPER)

"""The standard pieces app pages are made of, with the phone's metrics (420 dpi, 1080 px wide).

Each helper returns a ``Widget`` with the class, flags and bounds the real Android widget
would report, and the looks the renderer needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from qvl_agent.envs.sim.apps.base import ListState, Screen
from qvl_agent.envs.sim.render import ACCENT, is_dark
from qvl_agent.envs.sim.widgets import NAV_BAR_TOP, SCREEN_W, STATUS_BAR_H, Paint, Rect, Widget

__all__ = [
    "CONTENT_TOP", "CONTENT_BOTTOM", "MARGIN", "app_bar", "text_view", "edit_text", "button",
    "fab", "switch", "list_view", "row",
]

APP_BAR_H = 168
CONTENT_TOP = STATUS_BAR_H + APP_BAR_H
CONTENT_BOTTOM = NAV_BAR_TOP
MARGIN = 48
FIELD_H = 150
BUTTON_H = 144
FAB_SIZE = 168
TEXT = "#202124"
SECONDARY = "#5F6368"
ERROR = "#D93025"
DIVIDER = "#E0E0E0"


def _on(colour: str) -> str:
    """Text colour readable on ``colour``."""
    return "#FFFFFF" if is_dark(colour) else TEXT


def app_bar(title: str, colour: str, *, up: Callable[[], None] | None = None,
            rid: str = "") -> Widget:
    """The toolbar across the top, with a "Navigate up" arrow on pages below the first."""
    foreground = _on(colour)
    children = []
    left = 0
    if up is not None:
        children.append(Widget("android.widget.ImageButton",
                               (0, STATUS_BAR_H, 168, CONTENT_TOP), desc="Navigate up",
                               clickable=True, focusable=True, on_click=up,
                               paint=Paint(icon="back", color=foreground)))
        left = 136
    children.append(Widget("android.widget.TextView", (left, STATUS_BAR_H, SCREEN_W, CONTENT_TOP),
                           text=title, rid=rid,
                           paint=Paint(size=60, bold=True, color=foreground)))
    return Widget("android.view.ViewGroup", (0, STATUS_BAR_H, SCREEN_W, CONTENT_TOP),
                  paint=Paint(background=colour), children=children)


def text_view(bounds: Rect, text: str, *, rid: str = "", size: int = 44, color: str = TEXT,
              bold: bool = False, align: Literal["left", "center"] = "left",
              padding: int = MARGIN) -> Widget:
    return Widget("android.widget.TextView", bounds, text=text, rid=rid,
                  paint=Paint(size=size, color=color, bold=bold, align=align, padding=padding))


def edit_text(screen: Screen, rid: str, hint: str, top: int) -> Widget:
    """A one-line text field bound to ``screen.values[rid]``; tapping focuses it."""
    return Widget("android.widget.EditText", (MARGIN, top, SCREEN_W - MARGIN, top + FIELD_H),
                  text=screen.values[rid], hint=hint, rid=rid, clickable=True, focusable=True,
                  long_clickable=True, focused=screen.focus == rid,
                  on_click=lambda: screen.focus_field(rid),
                  paint=Paint(size=48, highlight=screen.selected and screen.focus == rid))


def button(text: str, rid: str, top: int, on_click: Callable[[], None], *,
           colour: str = ACCENT) -> Widget:
    """A full-width filled button."""
    return Widget("android.widget.Button", (MARGIN, top, SCREEN_W - MARGIN, top + BUTTON_H),
                  text=text, rid=rid, clickable=True, focusable=True, on_click=on_click,
                  paint=Paint(background=colour, radius=BUTTON_H // 2, color=_on(colour),
                              size=48, bold=True, align="center"))


def fab(desc: str, rid: str, on_click: Callable[[], None], *, colour: str = ACCENT) -> Widget:
    """The round "+" button floating over the bottom-right corner of a list."""
    right, bottom = SCREEN_W - MARGIN, CONTENT_BOTTOM - MARGIN
    return Widget("android.widget.ImageButton",
                  (right - FAB_SIZE, bottom - FAB_SIZE, right, bottom), text="+", desc=desc,
                  rid=rid, clickable=True, focusable=True, on_click=on_click,
                  paint=Paint(background=colour, radius=FAB_SIZE, color=_on(colour), size=96,
                              align="center"))


def switch(bounds: Rect, rid: str, checked: bool, on_click: Callable[[], None]) -> Widget:
    return Widget("android.widget.Switch", bounds, rid=rid, clickable=True, focusable=True,
                  checkable=True, checked=checked, on_click=on_click)


def row(bounds: Rect, children: list[Widget], *, rid: str = "",
        on_click: Callable[[], None] | None = None) -> Widget:
    """One clickable list item holding its texts (and maybe a switch)."""
    return Widget("android.widget.LinearLayout", bounds, rid=rid, clickable=on_click is not None,
                  focusable=on_click is not None, on_click=on_click, children=children,
                  paint=Paint(line=DIVIDER))


def list_view(state: ListState, count: int, make_row: Callable[[int, Rect], Widget], *,
              row_height: int, top: int = CONTENT_TOP, bottom: int = CONTENT_BOTTOM,
              rid: str = "") -> Widget:
    """A RecyclerView showing the rows that fit; a vertical drag on it scrolls by whole rows."""
    visible = (bottom - top) // row_height
    rows = [make_row(index, (0, top + n * row_height, SCREEN_W, top + (n + 1) * row_height))
            for n, index in enumerate(state.window(count, visible))]
    scrollable = count > visible
    return Widget("androidx.recyclerview.widget.RecyclerView", (0, top, SCREEN_W, bottom),
                  rid=rid, scrollable=scrollable, focusable=scrollable, children=rows,
                  on_scroll=(lambda dy: state.scroll(dy, row_height, count, visible))
                  if scrollable else None)

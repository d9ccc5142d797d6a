"""Widgets: the one tree an app screen is made of.

The renderer draws it, ``input tap`` hit-tests it and ``uiautomator dump`` serialises it, so
what the screenshot shows is where a tap lands and what the dump reports. A screen rebuilds
its tree from the phone's state whenever it is needed; widgets hold no state of their own,
only callbacks into the screen that built them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "Rect", "Paint", "Widget", "hit", "scroll_target",
    "SCREEN_W", "SCREEN_H", "STATUS_BAR_H", "NAV_BAR_TOP", "DENSITY",
]

SCREEN_W, SCREEN_H = 1080, 2400
DENSITY = 420
STATUS_BAR_H = 84           # 32 dp: the clock and the radio icons
NAV_BAR_TOP = 2274          # 48 dp three-button navigation bar below this line

Rect = tuple[int, int, int, int]
"""``(left, top, right, bottom)`` in screen pixels, right and bottom exclusive."""


@dataclass
class Paint:
    """How a widget looks; none of it reaches the uiautomator dump."""

    background: str | None = None
    color: str = "#202124"
    size: int = 44                      # font size in pixels
    bold: bool = False
    align: Literal["left", "center"] = "left"
    radius: int = 0                     # corner radius of the background; huge = circle
    border: str | None = None
    glyph: str | None = None            # drawn instead of the text (an icon's initial)
    icon: Literal["back", "wifi", "bluetooth", "airplane"] | None = None
    padding: int = 48                   # left padding of left-aligned text
    line: str | None = None             # a hairline along the bottom edge (list dividers)
    highlight: bool = False             # an EditText's text is selected (Ctrl+A)


@dataclass
class Widget:
    """One view: what ``uiautomator dump`` reports about it, how to draw it, what a tap does."""

    cls: str
    bounds: Rect
    text: str = ""
    hint: str = ""                      # EditText: shown (and dumped as text) while empty
    desc: str = ""                      # content-desc
    rid: str = ""                       # resource-id, e.g. com.qvl.notes:id/title
    package: str = ""                   # filled in for the whole tree by the phone
    clickable: bool = False
    checkable: bool = False
    checked: bool = False
    focusable: bool = False
    focused: bool = False
    enabled: bool = True
    scrollable: bool = False
    long_clickable: bool = False
    password: bool = False
    selected: bool = False
    paint: Paint = field(default_factory=Paint)
    on_click: Callable[[], None] | None = None
    on_scroll: Callable[[int], None] | None = None   # finger travel in y; negative = upward
    children: list[Widget] = field(default_factory=list)

    def contains(self, x: float, y: float) -> bool:
        left, top, right, bottom = self.bounds
        return left <= x < right and top <= y < bottom

    @property
    def center(self) -> tuple[int, int]:
        left, top, right, bottom = self.bounds
        return (left + right) // 2, (top + bottom) // 2

    def walk(self) -> Iterator[Widget]:
        """This widget and all below it, in drawing order."""
        yield self
        for child in self.children:
            yield from child.walk()

    def find(self, *, rid: str | None = None, text: str | None = None,
             desc: str | None = None) -> Widget | None:
        """The first widget (drawing order) whose given attributes all match, or None."""
        for widget in self.walk():
            if ((rid is None or widget.rid == rid) and (text is None or widget.text == text)
                    and (desc is None or widget.desc == desc)):
                return widget
        return None


def hit(root: Widget, x: float, y: float) -> Widget | None:
    """The widget a tap at (x, y) goes to: the topmost, deepest clickable one under it.

    Views drawn later lie on top (a floating button over a list), so children are tried last
    to first; a non-clickable child passes the touch to its clickable parent, as in Android.
    """
    if not root.contains(x, y):
        return None
    for child in reversed(root.children):
        if (target := hit(child, x, y)) is not None:
            return target
    if root.enabled and root.clickable and root.on_click is not None:
        return root
    return None


def scroll_target(root: Widget, x: float, y: float) -> Widget | None:
    """The innermost scrollable widget under (x, y), which a drag starting there scrolls."""
    if not root.contains(x, y):
        return None
    for child in reversed(root.children):
        if (target := scroll_target(child, x, y)) is not None:
            return target
    return root if root.scrollable and root.on_scroll is not None else None

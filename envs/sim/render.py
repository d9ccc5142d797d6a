"""Drawing the phone's screen: the status bar, the foreground app's widget tree, the nav bar.

Everything is drawn from the same ``Widget`` tree that ``uiautomator dump`` serialises, so a
widget's pixels lie exactly inside its dumped bounds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageDraw

from qvl_agent.envs.sim.fonts import ascent, draw_text, fit, text_width
from qvl_agent.envs.sim.widgets import NAV_BAR_TOP, SCREEN_H, SCREEN_W, STATUS_BAR_H, Rect, Widget

__all__ = ["StatusBar", "render", "png", "is_dark", "ACCENT", "NAV_BUTTONS"]

ACCENT = "#1A73E8"
CLOCK = "12:00"         # fixed, so screenshots are reproducible
_HINT = "#80868B"
_NAV_BG = "#000000"
_NAV_FG = "#E8EAED"
# The three navigation buttons: what each does and where it is drawn (its touch area).
NAV_BUTTONS: dict[str, Rect] = {
    "back": (135, NAV_BAR_TOP, 405, SCREEN_H),
    "home": (405, NAV_BAR_TOP, 675, SCREEN_H),
    "recents": (675, NAV_BAR_TOP, 945, SCREEN_H),
}


@dataclass(frozen=True)
class StatusBar:
    """What the status bar shows: the radios' state and the colour behind it."""

    wifi: bool
    bluetooth: bool
    airplane: bool
    background: str = "#FFFFFF"


def png(image: Image.Image) -> bytes:
    """The image as PNG bytes, as ``screencap -p`` writes them."""
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def render(root: Widget, status: StatusBar) -> Image.Image:
    """Draw a full 1080x2400 screen with ``root`` (the app window) between the bars."""
    image = Image.new("RGB", (SCREEN_W, SCREEN_H), "#FFFFFF")
    draw = ImageDraw.Draw(image)
    _draw_widget(draw, root)
    _draw_status_bar(draw, status)
    _draw_nav_bar(draw)
    return image


def is_dark(colour: str) -> bool:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.299 * red + 0.587 * green + 0.114 * blue < 140


def _baseline(bounds: Rect, size: int) -> float:
    """The baseline that centres a line of capitals vertically in ``bounds``."""
    return (bounds[1] + bounds[3]) / 2 + ascent(size) / 2


def _draw_widget(draw: ImageDraw.ImageDraw, widget: Widget) -> None:
    paint = widget.paint
    left, top, right, bottom = widget.bounds
    if paint.background is not None:
        radius = min(paint.radius, (right - left) // 2, (bottom - top) // 2)
        draw.rounded_rectangle((left, top, right - 1, bottom - 1), radius=radius,
                               fill=paint.background, outline=paint.border,
                               width=3 if paint.border else 0)
    if paint.line is not None:
        draw.line([(left, bottom - 1), (right, bottom - 1)], fill=paint.line, width=2)
    if widget.cls.endswith("Switch"):
        _draw_switch(draw, widget)
    elif widget.cls == "android.widget.EditText":
        _draw_edit_text(draw, widget)
    elif paint.icon is not None:
        _draw_icon(draw, paint.icon, widget.bounds, paint.color)
    elif text := (paint.glyph or widget.text):
        _draw_label(draw, widget, text)
    for child in widget.children:
        _draw_widget(draw, child)


def _draw_label(draw: ImageDraw.ImageDraw, widget: Widget, text: str) -> None:
    paint = widget.paint
    left, _, right, _ = widget.bounds
    room = right - left - (0 if paint.align == "center" else paint.padding)
    line = fit(text, paint.size, room)
    if paint.align == "center":
        x = (left + right - text_width(line, paint.size)) / 2
    else:
        x = left + paint.padding
    draw_text(draw, x, _baseline(widget.bounds, paint.size), line, paint.size, paint.color,
              bold=paint.bold)


def _draw_edit_text(draw: ImageDraw.ImageDraw, widget: Widget) -> None:
    left, top, right, bottom = widget.bounds
    size = widget.paint.size
    border, width = (ACCENT, 5) if widget.focused else ("#9AA0A6", 3)
    draw.rounded_rectangle((left, top, right - 1, bottom - 1), radius=16,
                           fill="#F1F3F4" if widget.focused else "#FFFFFF",
                           outline=border, width=width)
    x, baseline, room = left + 32, _baseline(widget.bounds, size), right - left - 80
    if widget.text:
        shown = widget.text
        if text_width(shown, size) > room:
            # A focused field scrolls to its end, where the caret is; others show the start.
            if widget.focused:
                while shown and text_width("…" + shown, size) > room:
                    shown = shown[1:]
                shown = "…" + shown
            else:
                shown = fit(shown, size, room)
        if widget.paint.highlight:      # selected text sits on the selection colour
            draw.rectangle((x - 2, baseline - ascent(size) - 10,
                            x + text_width(shown, size) + 2, baseline + 12), fill="#AECBFA")
        end = draw_text(draw, x, baseline, shown, size, widget.paint.color)
    else:
        draw_text(draw, x, baseline, fit(widget.hint, size, room), size, _HINT)
        end = x
    if widget.focused:
        caret = end + 4 if widget.text else x
        draw.line([(caret, baseline - ascent(size) - 8), (caret, baseline + 10)],
                  fill=ACCENT, width=4)


def _draw_switch(draw: ImageDraw.ImageDraw, widget: Widget) -> None:
    cx, cy = widget.center
    track = (cx - 60, cy - 32, cx + 60, cy + 32)
    on = widget.checked
    draw.rounded_rectangle(track, radius=32, fill=ACCENT if on else "#BDC1C6")
    knob_x = cx + 28 if on else cx - 28
    draw.ellipse((knob_x - 26, cy - 26, knob_x + 26, cy + 26), fill="#FFFFFF",
                 outline=None if on else "#80868B", width=2)


def _draw_icon(draw: ImageDraw.ImageDraw, icon: str, bounds: Rect, colour: str) -> None:
    """A few vector icons; ``bounds`` is the box to centre them in."""
    cx = (bounds[0] + bounds[2]) / 2
    cy = (bounds[1] + bounds[3]) / 2
    match icon:
        case "back":
            draw.line([(cx - 28, cy), (cx + 28, cy)], fill=colour, width=7)
            draw.line([(cx - 28, cy), (cx - 4, cy - 24)], fill=colour, width=7)
            draw.line([(cx - 28, cy), (cx - 4, cy + 24)], fill=colour, width=7)
        case "wifi":
            for radius, width in ((30, 5), (20, 5)):
                draw.arc((cx - radius, cy - radius + 12, cx + radius, cy + radius + 12),
                         225, 315, fill=colour, width=width)
            draw.pieslice((cx - 10, cy + 2, cx + 10, cy + 22), 225, 315, fill=colour)
        case "bluetooth":
            top, bottom = cy - 22, cy + 22
            draw.line([(cx, top), (cx, bottom)], fill=colour, width=4)
            draw.line([(cx - 12, cy - 11), (cx + 12, cy + 11), (cx, bottom)], fill=colour,
                      width=4)
            draw.line([(cx - 12, cy + 11), (cx + 12, cy - 11), (cx, top)], fill=colour,
                      width=4)
        case "airplane":
            draw.polygon([(cx, cy - 24), (cx + 4, cy - 6), (cx + 24, cy + 6), (cx + 4, cy + 2),
                          (cx + 3, cy + 16), (cx + 10, cy + 22), (cx - 10, cy + 22),
                          (cx - 3, cy + 16), (cx - 4, cy + 2), (cx - 24, cy + 6),
                          (cx - 4, cy - 6)], fill=colour)


def _draw_status_bar(draw: ImageDraw.ImageDraw, status: StatusBar) -> None:
    draw.rectangle((0, 0, SCREEN_W - 1, STATUS_BAR_H - 1), fill=status.background)
    colour = "#FFFFFF" if is_dark(status.background) else "#202124"
    draw_text(draw, 48, _baseline((0, 0, 0, STATUS_BAR_H), 38), CLOCK, 38, colour)
    # Battery, then the radios right to left, as phones lay them out.
    x = SCREEN_W - 48
    cy = STATUS_BAR_H // 2
    draw.rounded_rectangle((x - 30, cy - 20, x - 4, cy + 22), radius=4, outline=colour, width=3)
    draw.rectangle((x - 24, cy - 12, x - 10, cy + 16), fill=colour)
    draw.rectangle((x - 22, cy - 25, x - 12, cy - 20), fill=colour)
    x -= 60
    for icon, shown in (("wifi", status.wifi), ("bluetooth", status.bluetooth),
                        ("airplane", status.airplane)):
        if shown:
            _draw_icon(draw, icon, (x - 50, 0, x, STATUS_BAR_H), colour)
            x -= 64


def _draw_nav_bar(draw: ImageDraw.ImageDraw) -> None:
    draw.rectangle((0, NAV_BAR_TOP, SCREEN_W - 1, SCREEN_H - 1), fill=_NAV_BG)
    back_x = (NAV_BUTTONS["back"][0] + NAV_BUTTONS["back"][2]) / 2
    back_y = (NAV_BAR_TOP + SCREEN_H) / 2
    draw.polygon([(back_x - 22, back_y), (back_x + 18, back_y - 24), (back_x + 18, back_y + 24)],
                 outline=_NAV_FG, width=5)
    home_x = (NAV_BUTTONS["home"][0] + NAV_BUTTONS["home"][2]) / 2
    draw.ellipse((home_x - 26, back_y - 26, home_x + 26, back_y + 26), outline=_NAV_FG, width=5)
    recents_x = (NAV_BUTTONS["recents"][0] + NAV_BUTTONS["recents"][2]) / 2
    draw.rounded_rectangle((recents_x - 22, back_y - 22, recents_x + 22, back_y + 22), radius=5,
                           outline=_NAV_FG, width=5)

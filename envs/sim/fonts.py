"""Text drawing for the virtual phone's screen.

Pillow's built-in scalable font (Aileron) is the same on every machine, so screenshots do not
depend on what fonts a host has; it covers ASCII only, so a character it lacks (``→``, ``é``,
``日``) is drawn with DejaVu Sans when the host has it, and as Aileron's empty box otherwise.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

from PIL import ImageDraw, ImageFont

__all__ = ["draw_text", "text_width", "fit", "ascent"]

_FALLBACKS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=None)
def _primary(size: int) -> Font:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=None)
def _fallback(size: int) -> Font | None:
    for path in _FALLBACKS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return None


@functools.lru_cache(maxsize=None)
def _missing_box(size: int) -> bytes:
    return bytes(_primary(size).getmask("\uffff"))


@functools.lru_cache(maxsize=4096)
def _font_for(char: str, size: int) -> Font:
    """Aileron if it has a glyph for ``char``, else the fallback font (if any)."""
    if char.isascii() or char == "…":
        return _primary(size)
    if bytes(_primary(size).getmask(char)) == _missing_box(size):
        return _fallback(size) or _primary(size)
    return _primary(size)


def _runs(text: str, size: int) -> list[tuple[str, Font]]:
    """Split text into pieces each drawn with one font; control characters become spaces."""
    runs: list[tuple[str, Font]] = []
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cs"):     # newlines, NULs, lone surrogates
            char = " "
        font = _font_for(char, size)
        if runs and runs[-1][1] is font:
            runs[-1] = (runs[-1][0] + char, font)
        else:
            runs.append((char, font))
    return runs


def text_width(text: str, size: int) -> float:
    """Width in pixels of ``text`` drawn at ``size``."""
    return sum(font.getlength(piece) for piece, font in _runs(text, size))


def ascent(size: int) -> int:
    """How far capitals reach above the baseline, to centre a line vertically."""
    return -int(_primary(size).getbbox("H", anchor="ls")[1])


def fit(text: str, size: int, width: float) -> str:
    """``text`` cut to ``width`` pixels with an ellipsis, like a single-line TextView."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def draw_text(draw: ImageDraw.ImageDraw, x: float, baseline: float, text: str, size: int,
              fill: str, *, bold: bool = False) -> float:
    """Draw one line with its left end at ``x`` on ``baseline``; return its right end."""
    for piece, font in _runs(text, size):
        draw.text((x, baseline), piece, font=font, fill=fill, anchor="ls",
                  stroke_width=1 if bold else 0, stroke_fill=fill)
        x += font.getlength(piece)
    return x

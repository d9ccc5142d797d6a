"""When has a screen stopped moving? Two grabs equal but for a blinking caret.

Waiting for two byte-equal grabs never ends while a text cursor blinks (every focused text
field on a phone or a desktop): the wait would run to its timeout after every action there.
A difference no larger than a caret's box counts as still.
"""

from __future__ import annotations

from PIL import Image, ImageChops

__all__ = ["same_but_caret"]


def same_but_caret(a: Image.Image, b: Image.Image, caret: tuple[int, int]) -> bool:
    """True when ``a`` and ``b`` differ at most inside one ``caret``-sized (w, h) box."""
    if a.size != b.size:
        return False
    box = ImageChops.difference(a.convert("RGB"), b.convert("RGB")).getbbox()
    return box is None or (box[2] - box[0] <= caret[0] and box[3] - box[1] <= caret[1])

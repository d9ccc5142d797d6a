"""Drawing what the model located or did onto a screenshot (PNG outputs, not the report)."""

from __future__ import annotations

from collections.abc import Iterable

from PIL import Image, ImageDraw

__all__ = ["draw_marks"]

_RED = (230, 30, 30)


def draw_marks(image: Image.Image, *, boxes: Iterable[tuple[float, float, float, float]] = (),
               points: Iterable[tuple[float, float]] = (), labels: Iterable[str | None] = (),
               scale: float = 1.0) -> Image.Image:
    """A copy of ``image`` with boxes and crosshair points drawn; coordinates times ``scale``."""
    out = image.convert("RGB")
    draw = ImageDraw.Draw(out)
    width = max(2, round(min(out.size) / 300))
    radius = max(6, round(min(out.size) / 80))
    for x1, y1, x2, y2 in boxes:
        draw.rectangle([x1 * scale, y1 * scale, x2 * scale, y2 * scale], outline=_RED, width=width)
    labels = list(labels)
    for i, (x, y) in enumerate(points):
        label = labels[i] if i < len(labels) else None
        cx, cy = x * scale, y * scale
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], outline=_RED, width=width)
        draw.line([cx - 2 * radius, cy, cx + 2 * radius, cy], fill=_RED, width=max(1, width // 2))
        draw.line([cx, cy - 2 * radius, cx, cy + 2 * radius], fill=_RED, width=max(1, width // 2))
        if label:
            draw.text((cx + radius + 4, cy - radius - 4), label, fill=_RED)
    return out

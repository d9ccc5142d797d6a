"""``locate``: ask Qwen2.5-VL where something is on a screenshot, in screen coordinates."""

from __future__ import annotations

from typing import Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict

from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ActionRejectedError
from qvl_agent.model.backend import Generation, VLMBackend
from qvl_agent.model.frame import Frame
from qvl_agent.model.parsing import Grounding, parse_grounding
from qvl_agent.model.prompts import grounding_messages

__all__ = ["Located", "GroundingResult", "locate"]


class Located(BaseModel):
    """One thing found, in screen coordinates."""

    model_config = ConfigDict(frozen=True)
    shape: Literal["box", "point"]
    box: tuple[float, float, float, float] | None = None
    point: Point
    label: str | None = None


class GroundingResult(BaseModel):
    """What the model found (``items``, screen coordinates), its raw answer and its cost."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    items: list[Located]
    raw: str
    frame: tuple[int, int]
    generation: Generation

    @property
    def point(self) -> Point:
        """The first thing found: its point (a box's centre)."""
        return self.items[0].point

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        """The first thing found: its box ``(x1, y1, x2, y2)``, if the answer was a box."""
        return self.items[0].box


def locate(backend: VLMBackend, image: Image.Image, query: str, *,
           shape: Literal["box", "point"] = "box", screen: Size | None = None) -> GroundingResult:
    """Where ``query`` is on ``image``; coordinates in ``screen`` units (default: image pixels).

    Raises:
        ActionParseError: the answer holds no box or point.
        ActionRejectedError: a box or point lies outside the image.
    """
    screen = screen or Size(width=image.width, height=image.height)
    frame = Frame.for_image(image, screen, min_pixels=backend.min_pixels,
                            max_pixels=backend.max_pixels)
    # A box or a point is a few dozen tokens; the agent's 2048 would let a rambling model run.
    generation = backend.generate(grounding_messages(frame.resize(image), query, shape),
                                  max_new_tokens=256)
    items = [_to_screen(g, frame) for g in parse_grounding(generation.text)]
    return GroundingResult(items=items, raw=generation.text, frame=frame.size,
                           generation=generation)


def _to_screen(found: Grounding, frame: Frame) -> Located:
    coords = found.coords
    for x, y in zip(coords[0::2], coords[1::2]):
        # A box may end exactly on the far edge of the image, so the bounds are inclusive.
        if not (0 <= x <= frame.width and 0 <= y <= frame.height):
            raise ActionRejectedError(
                f"[{x:g}, {y:g}] is outside the image, which is {frame.width}x{frame.height}"
            )
    mapped = [v for x, y in zip(coords[0::2], coords[1::2]) for v in frame.scale_to_screen(x, y)]
    center = Point(x=sum(mapped[0::2]) / len(mapped[0::2]), y=sum(mapped[1::2]) / len(mapped[1::2]))
    box = tuple(mapped) if found.shape == "box" else None
    return Located(shape=found.shape, box=box, point=center, label=found.label)

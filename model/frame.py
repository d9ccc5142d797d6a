"""``Frame``: the image the model sees, and the only map between its pixels and the screen's.

Qwen2.5-VL answers in absolute pixels of the image *as the processor fed it to the model*:
the screenshot resized by ``smart_resize`` (both sides multiples of 28, area within
min/max pixels). We resize on the client, so every backend sees exactly this image and the
tool description can state its size. Converting back to the screen is a plain ratio:
``x_screen = x * screen_w / frame_w`` (the screenshot's own size does not enter; on a HiDPI
screen it is larger than the logical screen and that is fine).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image

from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ConfigError

__all__ = ["Frame", "FACTOR", "MIN_PIXELS", "MAX_PIXELS", "frame_size", "smart_resize",
           "check_pixel_limits"]

FACTOR = 28  # patch 14 x spatial merge 2
MIN_PIXELS = 3136  # processor default of the Instruct checkpoints (4 * 28 * 28)
MAX_PIXELS = 12845056  # processor default of the Instruct checkpoints (16384 * 28 * 28)


def check_pixel_limits(min_pixels: int, max_pixels: int) -> None:
    """Raise ``ConfigError`` unless 28*28 <= min_pixels <= max_pixels."""
    if not (FACTOR * FACTOR <= min_pixels <= max_pixels):
        raise ConfigError(
            f"pixel limits must satisfy {FACTOR * FACTOR} <= min_pixels <= max_pixels, "
            f"got min_pixels={min_pixels} max_pixels={max_pixels}; fix --min-pixels/--max-pixels"
        )


MAX_RATIO = 200


def smart_resize(height: int, width: int, factor: int = FACTOR, min_pixels: int = MIN_PIXELS,
                 max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """qwen-vl-utils' ``smart_resize``, line for line: (height, width) of the resized image.

    Both sides a multiple of ``factor``, the area within [min_pixels, max_pixels], the
    aspect ratio as close as that allows. Ours, so that a client of a model server needs
    neither torch nor qwen-vl-utils; tests compare it with qwen-vl-utils' own.
    """
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError(f"absolute aspect ratio must be smaller than {MAX_RATIO}, "
                         f"got {max(height, width) / min(height, width)}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@lru_cache(maxsize=256)
def frame_size(width: int, height: int, min_pixels: int = MIN_PIXELS,
               max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """(width, height) that qwen-vl-utils' ``smart_resize`` gives an image of this size."""
    check_pixel_limits(min_pixels, max_pixels)
    try:
        height_out, width_out = smart_resize(
            height, width, factor=FACTOR, min_pixels=min_pixels, max_pixels=max_pixels
        )
    except ValueError as exc:  # aspect ratio beyond 200:1
        raise ConfigError(f"cannot show a {width}x{height} image to Qwen2.5-VL: {exc}") from exc
    if width_out == 0 or height_out == 0:
        # smart_resize floors the short side to 0 when a long thin image meets a small
        # max_pixels; a frame with no pixels cannot be shown or clicked on.
        raise ConfigError(
            f"cannot show a {width}x{height} image in at most {max_pixels} pixels: its short "
            f"side would shrink below {FACTOR} pixels; raise --max-pixels"
        )
    return width_out, height_out


@dataclass(frozen=True)
class Frame:
    """The model's view of one screenshot.

    Attributes:
        width, height: the frame (resized image) size the model sees and answers in.
        screen: the logical screen size Actions use.
        image_width, image_height: the screenshot's own pixel size.
    """

    width: int
    height: int
    screen: Size
    image_width: int
    image_height: int

    @classmethod
    def for_image(cls, image: Image.Image | tuple[int, int], screen: Size | tuple[int, int],
                  *, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS) -> "Frame":
        """The frame for a screenshot (an image or its (width, height)) of ``screen``."""
        image_width, image_height = image.size if isinstance(image, Image.Image) else image
        if not isinstance(screen, Size):
            screen = Size(width=screen[0], height=screen[1])
        width, height = frame_size(image_width, image_height, min_pixels, max_pixels)
        return cls(width, height, screen, image_width, image_height)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height

    @property
    def image_tokens(self) -> int:
        """How many tokens the LLM spends on this image (one per 28x28 block)."""
        return (self.width // FACTOR) * (self.height // FACTOR)

    def resize(self, image: Image.Image) -> Image.Image:
        """The screenshot as the model must see it: RGB, exactly the frame size.

        Bicubic with antialiasing, as qwen-vl-utils' ``fetch_image`` resizes (there with
        PIL). torchvision does the same interpolation about three times faster on a CPU
        (pixel values differ from PIL's by at most 2 of 255) and torch is loaded anyway.
        """
        if image.mode != "RGB":
            image = image.convert("RGB")
        if image.size == self.size:
            return image
        return _resize_bicubic(image, self.size)

    def contains(self, x: float, y: float) -> bool:
        """True when (x, y) lies on the frame: 0 <= x < width and 0 <= y < height."""
        return (math.isfinite(x) and math.isfinite(y)
                and 0 <= x < self.width and 0 <= y < self.height)

    def to_screen(self, x: float, y: float) -> Point:
        """Frame pixels to logical screen coordinates (the caller checks ``contains`` first)."""
        return Point(x=x * self.screen.width / self.width, y=y * self.screen.height / self.height)

    def to_frame(self, point: Point) -> tuple[float, float]:
        """Logical screen coordinates to frame pixels (for drawing and for oracles' calls)."""
        return point.x * self.width / self.screen.width, point.y * self.height / self.screen.height

    def scale_to_screen(self, dx: float, dy: float) -> tuple[float, float]:
        """A distance in frame pixels as a distance in screen coordinates."""
        return dx * self.screen.width / self.width, dy * self.screen.height / self.height


def _resize_bicubic(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    try:
        import numpy as np
        import torch
        from torchvision.transforms.v2 import functional as F
    except ImportError:  # a server's client without the [local] extra: qwen-vl-utils' own way
        return image.resize(size, Image.Resampling.BICUBIC)

    pixels = torch.from_numpy(np.array(image)).permute(2, 0, 1)
    out = F.resize(pixels, [size[1], size[0]], interpolation=F.InterpolationMode.BICUBIC,
                   antialias=True)
    return Image.fromarray(out.permute(1, 2, 0).contiguous().numpy())

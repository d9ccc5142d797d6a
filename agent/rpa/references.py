"""Reference images: the pictures a prompt's ``images:`` sends to the model with it.

Midscene resolves each ``url`` as a ``data:`` URL, an ``http(s)`` link, or a file path from
the working directory (``preProcessImageUrl``). The model here is given pixels, so links
are always downloaded (what Midscene's ``convertHttpImage2Base64: true`` asks for).

``WithReferences`` wraps a backend: every request it passes on carries the images, each
named, before the screenshot in the last user turn, resized by ``smart_resize`` like any
image the model sees, and said to be references, not the screen.
"""

from __future__ import annotations

import base64
import binascii
import io
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from qvl_agent.agent.rpa.steps import RefImage
from qvl_agent.agent.rpa.yamldoc import shorten
from qvl_agent.envs.errors import ConfigError
from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS, Generation, VLMBackend
from qvl_agent.model.frame import Frame

__all__ = ["load_image", "local_path", "WithReferences", "REFERENCE_MAX_PIXELS"]

MAX_DOWNLOAD = 20_000_000
REFERENCE_MAX_PIXELS = 512 * 28 * 28  # a reference needs less detail than the screen


def local_path(image: RefImage, base: Path) -> Path | None:
    """The file ``image.url`` names, when it names a file (not a data: or http(s) URL)."""
    if image.url.startswith(("data:", "http://", "https://")):
        return None
    path = Path(image.url).expanduser()
    return path if path.is_absolute() else base / path


def load_image(image: RefImage, base: Path, *, timeout: float = 30.0) -> Image.Image:
    """The picture ``image.url`` names. Raises ``ConfigError`` saying which and why."""
    what = f"the reference image {shorten(image.name, 40)} ({shorten(image.url, 80)})"
    try:
        if image.url.startswith("data:"):
            _, _, body = image.url.partition(";base64,")
            data = base64.b64decode(body or image.url.partition(",")[2], validate=False)
        elif image.url.startswith(("http://", "https://")):
            request = urllib.request.Request(image.url, headers={"User-Agent": "qvl-agent"})
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the script's own URL
                data = response.read(MAX_DOWNLOAD + 1)
            if len(data) > MAX_DOWNLOAD:
                raise ConfigError(f"{what} is over {MAX_DOWNLOAD // 1_000_000} MB")
        else:
            path = local_path(image, base)
            assert path is not None
            data = path.read_bytes()
        picture = Image.open(io.BytesIO(data))
        picture.load()
        return picture.convert("RGB")
    except (urllib.error.URLError, TimeoutError) as exc:
        raise ConfigError(f"cannot download {what}: {getattr(exc, 'reason', exc)}") from None
    except FileNotFoundError:
        raise ConfigError(f"{what} does not exist (paths start from {base})") from None
    except (OSError, binascii.Error, UnidentifiedImageError, ValueError) as exc:
        raise ConfigError(f"{what} is not a readable image ({exc.__class__.__name__})") from None


class WithReferences:
    """A backend whose requests carry ``images`` (name, picture) as references."""

    def __init__(self, backend: VLMBackend, images: Sequence[tuple[str, Image.Image]]) -> None:
        self._backend = backend
        self.name = backend.name
        self.min_pixels, self.max_pixels = backend.min_pixels, backend.max_pixels
        limit = min(self.max_pixels, REFERENCE_MAX_PIXELS)
        self._parts: list[dict[str, Any]] = [
            {"type": "text", "text": "Reference images follow; they are not the screenshot, "
                                     "which comes after them."}]
        for name, picture in images:
            frame = Frame.for_image(picture, picture.size, min_pixels=self.min_pixels,
                                    max_pixels=limit)
            self._parts += [{"type": "text", "text": f"The reference image named '{name}':"},
                            {"type": "image", "image": frame.resize(picture)}]
        self._parts.append({"type": "text", "text": "The screenshot:"})

    def generate(self, messages: list, *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> Generation:
        messages = list(messages)
        last = max(i for i, m in enumerate(messages) if m["role"] == "user")
        content = messages[last]["content"]
        content = [{"type": "text", "text": content}] if isinstance(content, str) else list(content)
        messages[last] = {**messages[last], "content": self._parts + content}
        return self._backend.generate(messages, max_new_tokens=max_new_tokens)

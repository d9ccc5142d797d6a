"""Did the server feed the model exactly our frames? An exact prompt-token count says.

A server resizes images with its own processor limits. A frame it shrinks by 13% costs
about a quarter of its image tokens, which a loose check ("more tokens than the images
need") misses because the text tokens hide the shortfall, and then every click lands 13%
toward the top-left. So the count must be exact: the request with each image replaced by
the three tokens the chat template writes for it (``<|vision_start|><|image_pad|>
<|vision_end|>``) is counted by the server's own tokenizer, and each image then adds its
``(w/28)*(h/28)`` tokens in place of the one ``<|image_pad|>``.
"""

from __future__ import annotations

from typing import Any, Protocol

from qvl_agent.envs.errors import ConfigError
from qvl_agent.model.backend import images_in
from qvl_agent.model.frame import FACTOR
from qvl_agent.model.prompts import Message

__all__ = ["IMAGE_PLACEHOLDER", "text_probe", "image_tokens", "expected_prompt_tokens",
           "check_prompt_tokens", "resize_advice"]

IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"


class _Counter(Protocol):
    base_url: str

    def count_prompt_tokens(self, messages: list[Message]) -> int | None: ...


def text_probe(messages: list[Message], placeholder: str = IMAGE_PLACEHOLDER) -> list[Message]:
    """``messages`` with every image part replaced by the text the template writes for it
    (or by ``placeholder``)."""
    probe = []
    for message in messages:
        content: Any = message["content"]
        if not isinstance(content, str):
            content = [{"type": "text", "text": placeholder} if part.get("type") == "image"
                       else part for part in content]
        probe.append({**message, "content": content})
    return probe


def image_tokens(size: tuple[int, int]) -> int:
    """The LLM tokens of one image fed at exactly ``size`` (one per 28x28 block)."""
    return (size[0] // FACTOR) * (size[1] // FACTOR)


def expected_prompt_tokens(probe_tokens: int, sizes: list[tuple[int, int]]) -> int:
    """The exact prompt tokens of a request whose text probe counts ``probe_tokens``."""
    return probe_tokens + sum(image_tokens(size) - 1 for size in sizes)


def resize_advice(max_pixels: int) -> str:
    """The server settings that make ``max_pixels`` its limit, for vLLM and SGLang."""
    return (f"start vLLM with --mm-processor-kwargs '{{\"max_pixels\": {max_pixels}}}' "
            f"(SGLang: SGLANG_IMAGE_MAX_PIXELS={max_pixels} in its environment)")


def check_prompt_tokens(backend: _Counter, messages: list[Message], prompt_tokens: int, *,
                        probe: int | None = None) -> None:
    """Raise ``ConfigError`` unless the server counted exactly the tokens of our frames.

    ``probe``: the messages' count with each image as its placeholders, if already asked for.
    A server that cannot count a probe (neither ``/tokenize`` nor usage) is not checked.
    """
    sizes = [image.size for image in images_in(messages)]
    if probe is None:
        probe = backend.count_prompt_tokens(messages)
    if probe is None or not sizes:
        return
    expected = expected_prompt_tokens(probe, sizes)
    if prompt_tokens == expected:
        return
    needed = sum(image_tokens(size) for size in sizes)
    fed = needed + prompt_tokens - expected  # the image tokens the server actually made
    largest = max(sizes, key=lambda s: s[0] * s[1])
    shown = f"{len(sizes)} screenshot(s) of {largest[0]}x{largest[1]}"
    if prompt_tokens < expected:
        per_image = max(1, fed // len(sizes))
        fit = max(FACTOR * FACTOR, per_image * FACTOR * FACTOR)
        raise ConfigError(
            f"the server at {backend.base_url} shrinks the screenshots: it fed the model "
            f"{prompt_tokens} prompt tokens where the exact count is {expected} ({needed} for "
            f"{shown}, it used about {fed}), so every click would land off target. Either "
            f"{resize_advice(largest[0] * largest[1])}, or pass --max-pixels {fit} here"
        )
    raise ConfigError(
        f"the server at {backend.base_url} enlarges the screenshots: it fed the model "
        f"{prompt_tokens} prompt tokens where the exact count is {expected} ({needed} for "
        f"{shown}), so every click would land off target. Lower its min_pixels (vLLM: "
        f"--mm-processor-kwargs '{{\"min_pixels\": 3136}}') or raise --min-pixels here"
    )

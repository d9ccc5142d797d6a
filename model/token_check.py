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
from qvl_agent.model.frame import FACTOR, MAX_PIXELS, smart_resize
from qvl_agent.model.prompts import Message

__all__ = ["IMAGE_PLACEHOLDER", "text_probe", "image_tokens", "expected_prompt_tokens",
           "check_prompt_tokens", "resize_advice", "server_resized"]

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


def server_resized(sizes: list[tuple[int, int]], fed: int, *,
                   shrink: bool) -> list[tuple[int, int]] | None:
    """The sizes a server's ``smart_resize`` made of images of ``sizes`` if it fed the model
    ``fed`` image tokens: some smaller ``max_pixels`` (``shrink``) or larger ``min_pixels``
    gives exactly that count; None if no pixel limit does (the difference is no resize)."""
    largest = max(image_tokens(size) for size in sizes)
    candidates = range(largest - 1, 0, -1) if shrink else range(largest + 1, 16 * largest + 2)
    for tokens in candidates:
        limit = tokens * FACTOR * FACTOR
        made = []
        for width, height in sizes:
            try:
                h, w = smart_resize(height, width, max_pixels=limit) if shrink else \
                    smart_resize(height, width, min_pixels=limit, max_pixels=max(limit, MAX_PIXELS))
            except ValueError:
                return None
            made.append((w, h))
        if sum(image_tokens(size) for size in made) == fed:
            return made
    return None


def check_prompt_tokens(backend: _Counter, messages: list[Message], prompt_tokens: int, *,
                        probe: int | None = None) -> None:
    """Raise ``ConfigError`` unless the server counted exactly the tokens of our frames.

    ``probe``: the messages' count with each image as its placeholders, if already asked for.
    A server that cannot count a probe (neither ``/tokenize`` nor usage) is not checked.
    A difference that a smaller (larger) ``smart_resize`` frame explains is a resize, with the
    settings that stop it; any other difference means the server renders the prompt
    differently (another chat template, another tokenizer), which no pixel limit fixes.
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
    fed = needed + prompt_tokens - expected  # the image tokens the server made, if the text is ours
    largest = max(sizes, key=lambda s: s[0] * s[1])
    shown = f"{len(sizes)} screenshot{'s' if len(sizes) != 1 else ''} of {largest[0]}x{largest[1]}"
    made = server_resized(sizes, fed, shrink=prompt_tokens < expected) if fed > 0 else None
    if made is None:
        raise ConfigError(
            f"the server at {backend.base_url} renders the prompt differently from Qwen2.5-VL's "
            f"own chat template and tokenizer: it counted {prompt_tokens} prompt tokens where the "
            f"exact count is {expected} ({probe} for the text with each image as its placeholder, "
            f"its own count, plus {needed} for {shown}); a difference of "
            f"{prompt_tokens - expected:+d} that no resize of the screenshots explains. Check that "
            "it serves a Qwen2.5-VL-Instruct checkpoint with its own chat template (no "
            "--chat-template), and run qvl-agent doctor --endpoint URL"
        )
    biggest = max(made, key=lambda s: s[0] * s[1])
    if prompt_tokens < expected:
        raise ConfigError(
            f"the server at {backend.base_url} shrinks the screenshots: it fed the model "
            f"{prompt_tokens} prompt tokens where the exact count is {expected} ({needed} for "
            f"{shown}; it used {fed}, as for {biggest[0]}x{biggest[1]}), so every click would "
            f"land off target. Either {resize_advice(largest[0] * largest[1])}, or pass "
            f"--max-pixels {biggest[0] * biggest[1]} here"
        )
    raise ConfigError(
        f"the server at {backend.base_url} enlarges the screenshots: it fed the model "
        f"{prompt_tokens} prompt tokens where the exact count is {expected} ({needed} for "
        f"{shown}; it used {fed}, as for {biggest[0]}x{biggest[1]}), so every click would land "
        f"off target. Lower its min_pixels (vLLM: --mm-processor-kwargs "
        f"'{{\"min_pixels\": 3136}}') or raise --min-pixels here"
    )

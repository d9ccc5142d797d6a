"""The one protocol every way of running Qwen2.5-VL implements, and what it returns."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol, runtime_checkable

from PIL import Image
from pydantic import BaseModel, Field

from qvl_agent.model.prompts import Message

__all__ = ["Generation", "VLMBackend", "images_in", "DEFAULT_MAX_NEW_TOKENS"]

# The cookbooks' budget for one answer; a thought plus several tool calls fits in it.
DEFAULT_MAX_NEW_TOKENS = 2048


class Generation(BaseModel):
    """One answer of the model, with what it cost."""

    text: str
    model_s: float = Field(0.0, description="wall time of the request or generate call")
    prompt_tokens: int | None = None
    image_tokens: int | None = Field(None, description="of prompt_tokens, those the images take")
    completion_tokens: int | None = None
    truncated: bool = Field(False, description="generation stopped at max_new_tokens, mid-answer")


@runtime_checkable
class VLMBackend(Protocol):
    """Turns chat messages (images already resized to their Frame) into the model's text."""

    name: str
    min_pixels: int
    max_pixels: int

    def generate(self, messages: list[Message], *,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> Generation: ...


def images_in(messages: list[Message]) -> Iterator[Image.Image]:
    """The images of ``messages`` in the order the chat template places them."""
    for message in messages:
        content: Any = message["content"]
        if isinstance(content, str):
            continue
        for part in content:
            if part.get("type") == "image":
                yield part["image"]

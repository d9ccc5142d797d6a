"""``OpenAIBackend``: Qwen2.5-VL behind an OpenAI-compatible server (vLLM, SGLang, ...).

Such servers do not honour per-request min/max pixels, so the image is sent already
resized to the Frame, losslessly (PNG): a size that is a multiple of 28 inside the limits
is a fixed point of the server's own ``smart_resize``, so the model sees exactly the frame.
"""

from __future__ import annotations

import base64
import io
import os
import time
from typing import Any

from PIL import Image

from envs.errors import ConfigError, ModelUnavailableError
from model.backend import Generation, images_in
from model.frame import FACTOR, MAX_PIXELS, MIN_PIXELS
from model.prompts import Message

__all__ = ["OpenAIBackend", "encode_image", "to_openai_messages"]


def encode_image(image: Image.Image) -> str:
    """A PNG data URL of ``image``; fast compression, since it only crosses a network once."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Our messages in the chat-completions form, images as data URLs."""
    converted = []
    for message in messages:
        content = message["content"]
        if not isinstance(content, str):
            content = [
                {"type": "image_url", "image_url": {"url": encode_image(part["image"])}}
                if part["type"] == "image" else {"type": "text", "text": part["text"]}
                for part in content
            ]
        converted.append({"role": message["role"], "content": content})
    return converted


def _check_not_shrunk(base_url: str, messages: list[Message], prompt_tokens: int) -> None:
    """Invariant 1 across the wire: a server whose own max_pixels is below the frame shrinks
    the image, and the model's coordinates then miss by the shrink factor. Its token count
    gives it away: fewer prompt tokens than the images alone need."""
    needed = sum((image.width // FACTOR) * (image.height // FACTOR) for image in images_in(messages))
    if prompt_tokens < needed:
        raise ConfigError(
            f"the server at {base_url} gave the model {prompt_tokens} prompt tokens, fewer than "
            f"the screenshots alone need ({needed}): it shrinks images, so every click would "
            "miss. Start it with a larger max_pixels, or pass the same --max-pixels here"
        )


class OpenAIBackend:
    """Chat completions against ``base_url`` (e.g. ``http://localhost:8000/v1``).

    Args:
        base_url: the server's OpenAI-compatible root, usually ending in ``/v1``.
        model: the served model name; None asks the server and takes its only model.
        api_key_env: the environment variable holding the API key (servers that need none
            accept any; ``EMPTY`` is sent when it is unset).
        max_retries: retries with exponential backoff on connection errors, 408/409/429
            and 5xx answers. A 4xx answer is not retried.
        timeout: seconds for one request.
        min_pixels, max_pixels: the Frame's limits (stated for symmetry with the local
            backend; the server's own limits must admit the frame, which the defaults do).
    """

    def __init__(self, base_url: str, *, model: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", max_retries: int = 3,
                 timeout: float = 120.0, min_pixels: int = MIN_PIXELS,
                 max_pixels: int = MAX_PIXELS) -> None:
        import openai

        self._openai = openai
        self.base_url = base_url.rstrip("/")
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=os.environ.get(api_key_env) or "EMPTY",
            max_retries=max_retries, timeout=timeout,
        )
        self.max_retries = max_retries
        self.model = model or self._only_model()
        self.name = f"{self.model} @ {self.base_url}"

    def _only_model(self) -> str:
        models = self._call(lambda: [m.id for m in self.client.models.list()])
        if len(models) != 1:
            listed = ", ".join(models) or "none"
            raise ModelUnavailableError(
                f"the server at {self.base_url} serves {len(models)} models ({listed}); "
                "name one with --served-model"
            )
        return models[0]

    def generate(self, messages: list[Message], *, max_new_tokens: int = 256) -> Generation:
        payload = to_openai_messages(messages)
        started = time.perf_counter()
        response = self._call(lambda: self.client.chat.completions.create(
            model=self.model, messages=payload, max_tokens=max_new_tokens, temperature=0.0,
        ))
        elapsed = time.perf_counter() - started
        if not response.choices:
            raise ModelUnavailableError(f"the server at {self.base_url} answered with no choices")
        usage = response.usage
        if usage is not None and usage.prompt_tokens is not None:
            _check_not_shrunk(self.base_url, messages, usage.prompt_tokens)
        return Generation(
            text=response.choices[0].message.content or "",
            model_s=elapsed,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
        )

    def _call(self, request: Any) -> Any:
        openai = self._openai
        try:
            return request()
        except openai.APIConnectionError as exc:
            raise ModelUnavailableError(
                f"cannot reach the model server at {self.base_url} after {self.max_retries} "
                f"retries ({exc.__class__.__name__}); is it running? check --endpoint"
            ) from None
        except openai.APIStatusError as exc:
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = " ".join(str(body.get("message") or exc.message).split())[:200]
            if exc.status_code >= 500:
                what = f"failed with {exc.status_code} after {self.max_retries} retries"
            else:
                what = f"refused the request ({exc.status_code})"
            raise ModelUnavailableError(f"the model server at {self.base_url} {what}: {detail}") from None

"""``ModelOptions``: which Qwen2.5-VL to ask and how, validated once, and ``load_backend``, the
one function that turns them into a backend (a local checkpoint through transformers, or an
OpenAI-compatible server). Every command that talks to the model (run, eval, ground, bench,
rpa, doctor) takes its flags from here (``cli.model_flags``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qvl_agent.envs.extras import require_extra
from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS, VLMBackend
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS, check_pixel_limits
from qvl_agent.model.osworld import OSWORLD_MAX_PIXELS

__all__ = ["ModelOptions", "load_backend"]


class ModelOptions(BaseModel):
    """Which Qwen2.5-VL to ask and how."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(None, description="hub id or checkpoint folder")
    endpoint: str | None = Field(None, description="OpenAI-compatible server URL")
    served_model: str | None = None
    min_pixels: int = MIN_PIXELS
    max_pixels: int | None = Field(None, description="None: the prompt's own (cookbook: the "
                                   "processor's 12845056; osworld: 1003520); set when validated")
    torch_device: str | None = None
    history_images: int = Field(0, ge=0, le=10)
    max_new_tokens: int = Field(DEFAULT_MAX_NEW_TOKENS, ge=16, le=8192)
    prompt: Literal["cookbook", "osworld"] = "cookbook"
    answer_action: Literal["auto", "on", "off"] = Field(
        "auto", description="offer the answer action: auto = when the task asks a question")
    speedup: Literal["auto", "none", "prefix-cache", "static-cache", "compile"] = Field(
        "auto", description="--model only: how the local backend runs a step (SpeedOptions)")
    request_timeout: float = Field(60.0, ge=1, le=3600, description="--endpoint only: seconds "
                                   "one request may take; a call gives up after twice this")

    @model_validator(mode="after")
    def _prompt_defaults(self) -> "ModelOptions":
        if self.model and self.endpoint:
            raise ValueError("give --model or --endpoint, not both")
        if self.max_pixels is None:
            self.max_pixels = OSWORLD_MAX_PIXELS if self.prompt == "osworld" else MAX_PIXELS
        if self.endpoint and self.speedup not in ("auto", "none"):
            raise ValueError("--speedup applies to --model (local weights) only; a server "
                             "has its own (vLLM, SGLang: prefix caching is on by default)")
        return self

    @property
    def given(self) -> bool:
        """A model was named (--model or --endpoint); rpa runs without one otherwise."""
        return bool(self.model or self.endpoint)

    def backend(self) -> VLMBackend:
        """The backend these options name (``load_backend``)."""
        return load_backend(self)

    def preflight(self) -> None:
        """Fail in a second, with the one-line error, if the model cannot be reached."""
        check_pixel_limits(self.min_pixels, self.max_pixels)
        if self.endpoint:
            from qvl_agent.model.openai_backend import OpenAIBackend

            OpenAIBackend(self.endpoint, model=self.served_model, max_retries=1,
                          timeout=self.request_timeout)
        else:
            from qvl_agent.model.transformers_backend import DEFAULT_MODEL, resolve_weights

            require_extra("local", "--model (Qwen2.5-VL in this process)")
            resolve_weights(self.model or DEFAULT_MODEL)


def load_backend(options: ModelOptions) -> VLMBackend:
    """``OpenAIBackend`` when ``options.endpoint`` is given, else ``TransformersBackend``.

    ``options.speedup`` (local weights only): ``auto`` (the fast path on CUDA, plain elsewhere),
    ``none``, ``prefix-cache``, ``static-cache`` or ``compile``; see ``SpeedOptions``.
    """
    max_pixels = options.max_pixels or MAX_PIXELS
    check_pixel_limits(options.min_pixels, max_pixels)
    if options.endpoint:
        from qvl_agent.model.openai_backend import OpenAIBackend

        return OpenAIBackend(options.endpoint, model=options.served_model or None,
                             min_pixels=options.min_pixels, max_pixels=max_pixels,
                             timeout=options.request_timeout)
    from qvl_agent.model.transformers_backend import DEFAULT_MODEL, SpeedOptions, TransformersBackend

    return TransformersBackend(options.model or DEFAULT_MODEL, device=options.torch_device,
                               min_pixels=options.min_pixels, max_pixels=max_pixels,
                               speed=None if options.speedup == "auto" else SpeedOptions.named(options.speedup))

"""``load_backend``: the backend a user's options ask for (a local checkpoint or a server)."""

from __future__ import annotations

from qvl_agent.model.backend import VLMBackend
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS, check_pixel_limits
from qvl_agent.model.transformers_backend import DEFAULT_MODEL

__all__ = ["load_backend"]


def load_backend(*, model: str | None = None, endpoint: str | None = None,
                 served_model: str | None = None, min_pixels: int = MIN_PIXELS,
                 max_pixels: int = MAX_PIXELS, device: str | None = None,
                 dtype: str | None = None, speedup: str = "none") -> VLMBackend:
    """``OpenAIBackend`` when ``endpoint`` is given, else ``TransformersBackend(model)``.

    ``speedup`` (local weights only): ``none``, ``prefix-cache``, ``static-cache`` or
    ``compile`` (a static cache and a compiled decode step); see ``SpeedOptions``.
    """
    check_pixel_limits(min_pixels, max_pixels)
    if endpoint:
        from qvl_agent.model.openai_backend import OpenAIBackend

        return OpenAIBackend(endpoint, model=served_model or None, min_pixels=min_pixels,
                             max_pixels=max_pixels)
    from qvl_agent.model.transformers_backend import SpeedOptions, TransformersBackend

    return TransformersBackend(model or DEFAULT_MODEL, device=device, dtype=dtype,
                               min_pixels=min_pixels, max_pixels=max_pixels,
                               speed=SpeedOptions.named(speedup))

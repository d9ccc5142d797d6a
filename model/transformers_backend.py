"""``TransformersBackend``: Qwen2.5-VL run in this process with Hugging Face transformers."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qvl_agent.envs.errors import ModelUnavailableError
from qvl_agent.envs.extras import require_extra
from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS, Generation, images_in
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS
from qvl_agent.model.prefix_cache import PrefixCache
from qvl_agent.model.prompts import Message

__all__ = ["TransformersBackend", "SpeedOptions", "DEFAULT_MODEL", "resolve_weights", "set_pixel_limits"]

DEFAULT_MODEL = "Qwen/Qwen2.5-VL-3B-Instruct"
_PATCH = 14


def resolve_weights(model: str) -> Path:
    """A local folder with the checkpoint: ``model`` itself, the HF cache, or a download.

    Raises ``ModelUnavailableError`` with the three ways forward when none works.
    """
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailableError(
                f"{path} has no config.json, so it is not a Qwen2.5-VL checkpoint folder; "
                "point --model at the folder that holds config.json and the safetensors files"
            )
        return path
    if path.exists() or model.count("/") != 1 or model.startswith((".", "/", "~")):
        raise ModelUnavailableError(
            f"no Qwen2.5-VL checkpoint at {model!r}: not a folder and not a hub id like "
            f"{DEFAULT_MODEL!r}. {_WAYS_FORWARD.format(model=DEFAULT_MODEL)}"
        )
    from huggingface_hub import constants, snapshot_download

    try:
        return Path(snapshot_download(model, allow_patterns=_WEIGHT_FILES))
    except Exception as exc:  # noqa: BLE001 - any hub failure means the same to the user
        lines = str(exc).strip().splitlines() or [exc.__class__.__name__]
        reason = lines[0].removeprefix("Got: ")[:120]
        raise ModelUnavailableError(
            f"no Qwen2.5-VL weights for {model!r}: not a local folder, not in the Hugging Face "
            f"cache ({constants.HF_HUB_CACHE}), and the hub could not be reached ({reason}). "
            + _WAYS_FORWARD.format(model=model)
        ) from None


_WAYS_FORWARD = (
    "Use --model PATH for a checkpoint on disk, --endpoint URL for an OpenAI-compatible "
    "server (vLLM, SGLang), or download on a connected machine: hf download {model}"
)
_WEIGHT_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model", "merges.txt"]


class SpeedOptions(BaseModel):
    """How the local backend runs a step. Each option keeps the greedy answer the same."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    static_cache: bool = Field(False, description=(
        "preallocate the KV cache (transformers' static cache): fixed shapes, so the decode "
        "step can be compiled"))
    compile: bool = Field(True, description=(
        "with static_cache: let generate() torch.compile the decode step (first steps are "
        "slow while it compiles)"))
    prefix_cache: bool = Field(False, description=(
        "compute the KV cache of the system prompt once and reuse it on every step that "
        "starts with the same system prompt"))

    @classmethod
    def named(cls, name: str) -> SpeedOptions:
        """The options behind a ``--speedup`` name."""
        presets = {"none": cls(), "prefix-cache": cls(prefix_cache=True),
                   "static-cache": cls(static_cache=True, compile=False),
                   "compile": cls(static_cache=True, compile=True)}
        if name not in presets:
            raise ValueError(f"unknown speedup {name!r}; use one of {', '.join(presets)}")
        return presets[name]

    @model_validator(mode="after")
    def _one_cache(self) -> SpeedOptions:
        if self.static_cache and self.prefix_cache:
            raise ValueError("static_cache and prefix_cache cannot be combined; choose one")
        return self


class TransformersBackend:
    """Qwen2.5-VL loaded with ``from_pretrained`` from a hub id or a local folder.

    Args:
        model: hub id (``Qwen/Qwen2.5-VL-7B-Instruct``) or a checkpoint folder.
        device: ``cuda``, ``cpu``, ``mps`` or None for the best available.
        dtype: ``bfloat16``, ``float16``, ``float32`` or None (bf16 on a GPU that has it,
            else fp16 on GPU, fp32 on CPU).
        min_pixels, max_pixels: the processor's limits; the Frame must use the same.
        speed: how a step is run (static KV cache, compiled decode, system-prompt prefix
            cache); every option leaves the greedy answer unchanged.
    """

    def __init__(self, model: str = DEFAULT_MODEL, *, device: str | None = None,
                 dtype: str | None = None, min_pixels: int = MIN_PIXELS,
                 max_pixels: int = MAX_PIXELS, speed: SpeedOptions | None = None) -> None:
        require_extra("local", "--model (Qwen2.5-VL in this process)")
        path = resolve_weights(model)  # first: a missing model should fail in a second
        import torch
        from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

        device = device or _best_device(torch)
        dtype_ = getattr(torch, dtype) if dtype else _best_dtype(torch, device)
        try:
            loaded = Qwen2_5_VLForConditionalGeneration.from_pretrained(
                path, dtype=dtype_, attn_implementation=_attention(device),
            ).to(device).eval()
            processor = AutoProcessor.from_pretrained(path)
        except (OSError, ValueError, KeyError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise ModelUnavailableError(f"cannot load Qwen2.5-VL from {path}: {reason}") from None
        self._attach(loaded, processor, name=model, path=path, device=device,
                     min_pixels=min_pixels, max_pixels=max_pixels, speed=speed)

    @classmethod
    def from_loaded(cls, model: Any, processor: Any, *, name: str, device: str,
                    min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS,
                    speed: SpeedOptions | None = None) -> TransformersBackend:
        """A backend around a model already in memory (e.g. built ``from_config`` for a benchmark)."""
        backend = cls.__new__(cls)
        backend._attach(model, processor, name=name, path=None, device=device,
                        min_pixels=min_pixels, max_pixels=max_pixels, speed=speed)
        return backend

    def _attach(self, model: Any, processor: Any, *, name: str, path: Path | None, device: str,
                min_pixels: int, max_pixels: int, speed: SpeedOptions | None) -> None:
        import torch

        self.model, self.processor = model, processor
        self.name, self.path, self.device = name, path, device
        self.dtype = next(model.parameters()).dtype
        self.attn_implementation = model.config._attn_implementation
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        self.speed = speed or SpeedOptions()
        set_pixel_limits(self.processor.image_processor, min_pixels, max_pixels)
        self._torch = torch
        self._prefixes = (PrefixCache(model, processor.tokenizer.convert_tokens_to_ids("<|im_end|>"))
                          if self.speed.prefix_cache else None)
        # Generation settings that follow from ``speed``, passed on every call (the model may be
        # shared by several backends, e.g. in a benchmark).
        self._speed_kwargs: dict[str, Any] = {}
        if self.speed.static_cache:
            # generate() compiles the decode step itself when the cache is static, on CUDA and
            # other accelerators, and on the CPU when the compile config says so.
            self._speed_kwargs = {"cache_implementation": "static",
                                  "disable_compile": not self.speed.compile}
            if self.speed.compile and device == "cpu":
                from transformers import CompileConfig

                compile_config = CompileConfig()
                compile_config._compile_all_devices = True
                self._speed_kwargs["compile_config"] = compile_config

    def generate(self, messages: list[Message], *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 min_new_tokens: int | None = None) -> Generation:
        """Greedy generation; returns the text after the prompt, special tokens removed.

        ``min_new_tokens`` forces an answer length (benchmarks time a fixed-length answer).
        """
        images = list(images_in(messages))
        text = self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)
        inputs = self.processor(text=[text], images=images or None, return_tensors="pt")
        if images:
            check_no_resize(images, inputs["image_grid_thw"].tolist())
        inputs = inputs.to(self.device)
        options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": False,
                                   **self._speed_kwargs}
        if min_new_tokens:
            options["min_new_tokens"] = min_new_tokens
        started = time.perf_counter()
        with self._torch.inference_mode():
            if self._prefixes is not None:
                cache = self._prefixes.cache_for(inputs["input_ids"])
                if cache is not None:
                    options["cache"] = cache
            output = self.model.generate(**inputs, **options)
        elapsed = time.perf_counter() - started
        prompt_len = inputs["input_ids"].shape[1]
        new_tokens = output[0, prompt_len:]
        answer = self.processor.decode(new_tokens, skip_special_tokens=True,
                                       clean_up_tokenization_spaces=False)
        eos = self.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        truncated = (new_tokens.shape[0] >= max_new_tokens
                     and int(new_tokens[-1]) not in eos)
        return Generation(text=answer, model_s=elapsed, prompt_tokens=int(prompt_len),
                          completion_tokens=int(new_tokens.shape[0]), truncated=truncated)

    def preprocess(self, messages: list[Message]) -> Any:
        """The processor's inputs for ``messages`` (for benchmarks and the frame check)."""
        text = self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)
        images = list(images_in(messages))
        return self.processor(text=[text], images=images or None, return_tensors="pt")


def check_no_resize(images: list[Any], grid_thw: list[list[int]]) -> None:
    """Invariant 1: the processor fed each image at exactly its size (grid x 14 = frame)."""
    for image, (_, rows, cols) in zip(images, grid_thw, strict=True):
        if (cols * _PATCH, rows * _PATCH) != image.size:
            raise RuntimeError(
                f"the processor resized a {image.size[0]}x{image.size[1]} frame to "
                f"{cols * _PATCH}x{rows * _PATCH}: its min/max pixels differ from the Frame's"
            )


def set_pixel_limits(image_processor: Any, min_pixels: int, max_pixels: int) -> None:
    # transformers 5 reads size; 4.x reads min_pixels/max_pixels as well.
    image_processor.size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    if hasattr(image_processor, "min_pixels"):
        image_processor.min_pixels, image_processor.max_pixels = min_pixels, max_pixels


def _best_device(torch: Any) -> str:
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def _best_dtype(torch: Any, device: str) -> Any:
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.float32


def _attention(device: str) -> str:
    if device == "cuda" and importlib.util.find_spec("flash_attn") is not None:
        return "flash_attention_2"
    return "sdpa"

"""``TransformersBackend``: Qwen2.5-VL run in this process with Hugging Face transformers."""

from __future__ import annotations

import importlib.util
import sys
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
from qvl_agent.model.static_decode import StaticDecoder, cache_length_for, unsupported
from qvl_agent.model.vision_graph import GraphedEncoder
from qvl_agent.model.vision_windows import install_batched_windows

__all__ = ["TransformersBackend", "SpeedOptions", "SPEEDUPS", "DEFAULT_MODEL", "resolve_weights",
           "set_pixel_limits"]

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


SPEEDUPS = ("auto", "none", "prefix-cache", "static-cache", "compile")


class SpeedOptions(BaseModel):
    """How the local backend runs a step. Each option keeps the greedy answer the same.

    The vision encoder's windowed attention is batched (``vision_windows``) under every option.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    static_cache: bool = Field(False, description=(
        "decode in our own greedy loop over a preallocated (static) KV cache instead of generate()"))
    cuda_graphs: bool = Field(False, description=(
        "with static_cache, on CUDA: each decoded token is one replay of a CUDA graph and the vision "
        "encoder one graph per frame size, captured once per process (at start-up for the usual frame)"))
    compile_step: bool = Field(True, description=(
        "with cuda_graphs: torch.compile the decode step (fused kernels) before capturing it; about "
        "a minute once per process and cache length"))
    prefix_cache: bool = Field(False, description=(
        "with static_cache: copy the system prompt's keys and values, computed once, into each "
        "step's cache instead of prefilling them again"))

    @classmethod
    def named(cls, name: str, device: str = "cpu") -> SpeedOptions:
        """The options behind a ``--speedup`` name; ``auto`` is the fast path on CUDA, plain elsewhere."""
        fast = cls(static_cache=True, cuda_graphs=True, prefix_cache=True)
        presets = {"none": cls(), "prefix-cache": fast, "static-cache": cls(static_cache=True),
                   "compile": cls(static_cache=True, cuda_graphs=True),
                   "auto": fast if device.startswith("cuda") else cls()}
        if name not in presets:
            raise ValueError(f"unknown speedup {name!r}; use one of {', '.join(SPEEDUPS)}")
        return presets[name]

    @model_validator(mode="after")
    def _needs_static_cache(self) -> SpeedOptions:
        if (self.cuda_graphs or self.prefix_cache) and not self.static_cache:
            raise ValueError("cuda_graphs and prefix_cache work on the static cache; set static_cache too")
        return self


class TransformersBackend:
    """Qwen2.5-VL loaded with ``from_pretrained`` from a hub id or a local folder.

    Args:
        model: hub id (``Qwen/Qwen2.5-VL-7B-Instruct``) or a checkpoint folder.
        device: ``cuda``, ``cpu``, ``mps`` or None for the best available.
        dtype: ``bfloat16``, ``float16``, ``float32`` or None (bf16 on a GPU that has it,
            else fp16 on GPU, fp32 on CPU).
        min_pixels, max_pixels: the processor's limits; the Frame must use the same.
        speed: how a step is run (see ``SpeedOptions``); None: ``auto``, the fast path on CUDA
            (warmed up here, for a 1920x1080 screen's frame) and plain generate() elsewhere.
            Every option leaves the greedy answer unchanged.
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
        self.warm_up()

    @classmethod
    def from_loaded(cls, model: Any, processor: Any, *, name: str, device: str,
                    min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS,
                    speed: SpeedOptions | None = None) -> TransformersBackend:
        """A backend around a model already in memory (e.g. built ``from_config`` for a benchmark).

        Nothing is warmed up here; call ``warm_up`` for the frame sizes to come.
        """
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
        self.speed = speed or SpeedOptions.named("auto", device)
        set_pixel_limits(self.processor.image_processor, min_pixels, max_pixels)
        self._torch = torch
        # Each part of the fast path says once why it is off, and the step runs without it.
        self.vision_windows = install_batched_windows(model) or "batched"
        if self.vision_windows != "batched":
            _say(f"the vision encoder attends window by window ({self.vision_windows})")
        self._decoder: StaticDecoder | None = None
        self._prefixes: PrefixCache | None = None
        if self.speed.static_cache:
            reason = unsupported(model)
            if reason:
                _say(f"decoding with generate() instead of the static cache: {reason}")
            else:
                self._decoder = StaticDecoder(model, graphs=self.speed.cuda_graphs,
                                              compile=self.speed.compile_step, notice=_say)
                if self.speed.prefix_cache:
                    end = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
                    self._prefixes = PrefixCache(model, end)
        # The encoder's mode belongs to the model, which backends may share (a benchmark's rows):
        # the backend attached last decides.
        self.encoder_graphs = GraphedEncoder.installed_on(model)
        if not (self.speed.cuda_graphs and device.startswith("cuda")):
            if self.encoder_graphs is not None:
                self.encoder_graphs.uninstall()
                self.encoder_graphs = None
        elif self.encoder_graphs is None:
            reason = GraphedEncoder.why_not(model)
            if reason:
                _say(f"the vision encoder runs eagerly: {reason}")
            else:
                self.encoder_graphs = GraphedEncoder(model, notice=_say)
                self.encoder_graphs.install()

    @property
    def decoder(self) -> StaticDecoder | None:
        """The static-cache decode loop steps use, or None when they use generate()."""
        return self._decoder

    @property
    def prefixes(self) -> PrefixCache | None:
        """The system-prompt caches copied into each step's static cache, if that is on."""
        return self._prefixes

    def warm_up(self, frame_size: tuple[int, int] | None = None, *,
                max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> float:
        """Capture the CUDA graphs a step at ``frame_size`` needs (default: a 1920x1080 screen's frame).

        Says so on stderr; returns the seconds it took (0 where there is nothing to capture).
        """
        if self._decoder is None or not self._decoder.graphs:
            return 0.0
        from PIL import Image

        from qvl_agent.model.frame import Frame
        from qvl_agent.model.prompts import agent_messages

        if frame_size is None:
            frame_size = Frame.for_image(Image.new("RGB", (1920, 1080)), (1920, 1080), min_pixels=self.min_pixels,
                                         max_pixels=self.max_pixels).size
        started = time.perf_counter()
        _say(f"warming up {self.name} on {self.device}: CUDA graphs for a {frame_size[0]}x{frame_size[1]} "
             "frame, once per process (a new frame size adds a few seconds to its first step)")
        messages = agent_messages("computer_use", frame_size, "warm up",
                                  Image.new("RGB", tuple(frame_size), "white"))
        inputs = self._inputs(messages)
        length = cache_length_for(inputs["input_ids"].shape[1] + max_new_tokens)
        for _ in range(2):
            self._decoder.generate(inputs, max_new_tokens=2, prefix=self._prefixes, cache_length=length)
        if self.device.startswith("cuda"):
            self._torch.cuda.synchronize()
        elapsed = time.perf_counter() - started
        _say(f"warm-up done in {elapsed:.1f} s")
        return elapsed

    def generate(self, messages: list[Message], *, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 min_new_tokens: int | None = None) -> Generation:
        """Greedy generation; returns the text after the prompt, special tokens removed.

        ``min_new_tokens`` forces an answer length (benchmarks time a fixed-length answer).
        """
        inputs = self._inputs(messages)
        prompt_len = int(inputs["input_ids"].shape[1])
        started = time.perf_counter()
        if self._decoder is not None:
            new_tokens = self._decoder.generate(inputs, max_new_tokens=max_new_tokens,
                                                min_new_tokens=min_new_tokens or 0, prefix=self._prefixes)
        else:
            options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": False}
            if min_new_tokens:
                options["min_new_tokens"] = min_new_tokens
            with self._torch.inference_mode():
                output = self.model.generate(**inputs, **options)
            new_tokens = output[0, prompt_len:].tolist()
        elapsed = time.perf_counter() - started
        answer = self.processor.decode(new_tokens, skip_special_tokens=True,
                                       clean_up_tokenization_spaces=False)
        eos = self.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, list) else [eos])
        truncated = len(new_tokens) >= max_new_tokens and new_tokens[-1] not in eos
        pads = int((inputs["input_ids"] == self.model.config.image_token_id).sum())
        return Generation(text=answer, model_s=elapsed, prompt_tokens=prompt_len, image_tokens=pads,
                          completion_tokens=len(new_tokens), truncated=truncated)

    def preprocess(self, messages: list[Message]) -> Any:
        """The processor's inputs for ``messages`` on the model's device, as a step makes them
        (but unchecked: for benchmarks and the frame check)."""
        return self._inputs(messages, check=False)

    def _inputs(self, messages: list[Message], *, check: bool = True) -> Any:
        images = list(images_in(messages))
        text = self.processor.apply_chat_template(messages, tokenize=False,
                                                  add_generation_prompt=True)
        on_device = {}
        if images and self.device.startswith("cuda") and getattr(
                self.processor.image_processor, "backend", None) == "torchvision":
            # uint8 pixels go to the GPU, which normalises and cuts them into patches
            on_device = {"device": self.device}
        inputs = self.processor(text=[text], images=images or None, return_tensors="pt", **on_device)
        if images:
            if check:
                check_no_resize(images, inputs["image_grid_thw"].tolist())
            pixels = inputs["pixel_values"]
            if self.device.startswith("cuda") and pixels.device.type == "cpu":
                inputs["pixel_values"] = pixels.pin_memory()
        return inputs.to(self.device, non_blocking=True)


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


def _say(line: str) -> None:
    """A line for the person at the terminal (stderr, so answers on stdout stay clean)."""
    print(f"qvl-agent: {line}", file=sys.stderr, flush=True)

"""What one agent step costs on the local backend, at the real model's size, next to the hardware bound.

Builds the real architecture of Qwen2.5-VL-3B-Instruct (or 7B) from its published config
values with random bf16 weights (``from_config``: speed does not depend on the weights'
values), the project's own byte-level tokenizer, processor and the official chat template,
and runs agent steps through the project's own path: Frame, cookbook prompt, processor,
``TransformersBackend.generate``, with a forced answer length (``min_new_tokens`` =
``max_new_tokens`` = 40 by default, a typical tool call).

For a 1920x1080 screenshot at max_pixels 1003520 (frame 1316x728, OSWorld's cap) and at the
default limit it prints: preprocessing (template, processor, transfer), vision encoder,
prefill (language model), per-token decode, whole step (medians after warm-up), peak GPU
memory, and the bound of each on the hardware: FLOPs / peak bf16 rate for the encoder and
prefill, bytes read (weights + KV cache) / memory bandwidth for a decoded token. Each
``--speedup`` of the backend is a row of its own (warmed up first, its warm-up time
printed), with its ratio to the first row. Above the table: transformers' own encoder
(one attention call per window) on each frame, for comparison. ``--profile`` ends with the
torch profiler's top operations for one step of the last row.

    python benchmarks/gpu_step.py --size 3b            # on a GPU
    python benchmarks/gpu_step.py --size tiny --runs 2 # anywhere: a smoke test (a test runs it)
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

from PIL import Image, ImageDraw

from qvl_agent.model.frame import MAX_PIXELS, Frame
from qvl_agent.model.prompts import agent_messages
from qvl_agent.model.static_decode import cache_length_for
from qvl_agent.model.transformers_backend import SPEEDUPS, SpeedOptions, TransformersBackend

# Published config.json values (huggingface.co/Qwen/Qwen2.5-VL-3B-Instruct/blob/main/config.json
# and .../Qwen2.5-VL-7B-Instruct/blob/main/config.json). Token ids are taken from the
# project's tokenizer instead, since the benchmark renders prompts with it.
_VISION = {  # identical in 3B and 7B but for out_hidden_size
    "depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
    "num_heads": 16, "in_chans": 3, "patch_size": 14, "spatial_merge_size": 2,
    "spatial_patch_size": 14, "window_size": 112, "fullatt_block_indexes": [7, 15, 23, 31],
    "tokens_per_second": 2, "temporal_patch_size": 2,
}
CONFIGS: dict[str, dict[str, Any]] = {
    "3b": {
        "text": {"hidden_size": 2048, "intermediate_size": 11008, "num_hidden_layers": 36,
                 "num_attention_heads": 16, "num_key_value_heads": 2, "vocab_size": 151936,
                 "max_position_embeddings": 128000, "rms_norm_eps": 1e-6,
                 "rope_theta": 1000000.0, "sliding_window": 32768, "use_sliding_window": False,
                 "tie_word_embeddings": True, "hidden_act": "silu",
                 "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}},
        "vision": {**_VISION, "out_hidden_size": 2048},
        "tie_word_embeddings": True,
    },
    "7b": {
        "text": {"hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
                 "num_attention_heads": 28, "num_key_value_heads": 4, "vocab_size": 152064,
                 "max_position_embeddings": 128000, "rms_norm_eps": 1e-6,
                 "rope_theta": 1000000.0, "sliding_window": 32768, "use_sliding_window": False,
                 "tie_word_embeddings": False, "hidden_act": "silu",
                 "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}},
        "vision": {**_VISION, "out_hidden_size": 3584},
        "tie_word_embeddings": False,
    },
}

# Dense bf16 tensor-core peak (TFLOP/s) and memory bandwidth (GB/s) from the vendors' sheets.
HARDWARE = {
    "H200": (989.0, 4800.0),
    "H100 NVL": (835.0, 3900.0),
    "H100 PCIe": (756.0, 2000.0),
    "H100": (989.0, 3350.0),  # SXM
    "A100": (312.0, 2039.0),  # 80 GB SXM
    "L40S": (362.0, 864.0),
    "RTX 4090": (165.0, 1008.0),
}

# Rows are --speedup names, and "graphs": CUDA graphs of the uncompiled decode step.
VARIANTS = [name for name in SPEEDUPS if name != "auto"] + ["graphs"]


def speed_of(variant: str, device: str) -> SpeedOptions:
    if variant == "graphs":
        return SpeedOptions(static_cache=True, cuda_graphs=True, compile_step=False)
    return SpeedOptions.named(variant, device)


def screenshot() -> Image.Image:
    """A 1920x1080 desktop-like screenshot (its content does not change the cost)."""
    image = Image.new("RGB", (1920, 1080), (236, 236, 236))
    draw = ImageDraw.Draw(image)
    for row in range(30):
        draw.text((40, 40 + row * 32), f"File {row}: quarterly_report_{row}.xlsx  12 KB", fill=(20, 20, 20))
    draw.rectangle([1500, 900, 1800, 980], fill=(30, 90, 200))
    return image


def build(size: str, device: str, workdir: str) -> tuple[Any, Any]:
    """(model, processor): the tiny checkpoint as saved, or the real architecture with random bf16 weights."""
    import torch
    from transformers import AutoProcessor, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    from qvl_agent.model.tiny import write_tiny_checkpoint

    path = write_tiny_checkpoint(workdir)  # tokenizer, processor, chat template (and tiny weights)
    processor = AutoProcessor.from_pretrained(path)
    if size == "tiny":
        model = Qwen2_5_VLForConditionalGeneration.from_pretrained(path).to(device).eval()
        return model, processor
    spec = CONFIGS[size]
    tokens = processor.tokenizer
    ids = {name: tokens.convert_tokens_to_ids(token) for name, token in [
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"),
        ("bos_token_id", "<|endoftext|>"), ("eos_token_id", "<|im_end|>"),
        ("pad_token_id", "<|endoftext|>")]}
    config = Qwen2_5_VLConfig(text_config={**spec["text"], **{k: ids[k] for k in (
        "bos_token_id", "eos_token_id", "pad_token_id")}}, vision_config=spec["vision"],
        tie_word_embeddings=spec["tie_word_embeddings"], **ids)
    torch.manual_seed(0)
    with torch.device(device):
        model = Qwen2_5_VLForConditionalGeneration._from_config(
            config, dtype=torch.bfloat16, attn_implementation="sdpa").eval()
    model.generation_config.eos_token_id = [ids["eos_token_id"]]
    model.generation_config.pad_token_id = ids["pad_token_id"]
    return model, processor


def _sync(device: str) -> None:
    import torch

    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_s(fn: Callable[[], object], runs: int, warmup: int, device: str) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        _sync(device)
        started = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def linear_flops(module: Any, tokens: int) -> float:
    """2 x in x out per token for every Linear in ``module``."""
    import torch

    return sum(2.0 * m.in_features * m.out_features * tokens
               for m in module.modules() if isinstance(m, torch.nn.Linear))


def bounds(model: Any, inputs: Any, answer_tokens: int, hardware: tuple[float, float] | None) -> dict[str, float | None]:
    """Seconds the hardware needs at best for the encoder, the prefill and one decoded token."""
    import torch

    text = model.config.text_config
    vision = model.config.vision_config
    prompt = int(inputs["input_ids"].shape[1])
    patches = int(inputs["image_grid_thw"].prod(-1).sum())
    layers = model.model.language_model.layers
    # Vision: every block's linears on all patches; attention in 112 px windows (64 patches)
    # except the full-attention blocks; the merger runs on patches / 4.
    head = vision.hidden_size
    window = (vision.window_size // vision.patch_size) ** 2
    full = len(vision.fullatt_block_indexes)
    vision_flops = (linear_flops(model.model.visual.blocks, patches)
                    + linear_flops(model.model.visual.merger, patches // 4)
                    + 4.0 * head * patches * (full * patches + (vision.depth - full) * window))
    # Prefill: the decoder's linears on every prompt token, causal attention, one logit row.
    prefill_flops = (linear_flops(layers, prompt) + 2.0 * len(layers) * prompt * prompt * text.hidden_size
                     + 2.0 * text.vocab_size * text.hidden_size)
    # Decode: every decoder weight and the lm_head read once, plus the KV cache so far.
    weight_bytes = sum(m.weight.numel() * m.weight.element_size() for m in layers.modules()
                       if isinstance(m, torch.nn.Linear)) + model.lm_head.weight.numel() * model.lm_head.weight.element_size()
    head_dim = text.hidden_size // text.num_attention_heads
    element = model.lm_head.weight.element_size()
    kv_bytes = 2 * len(layers) * text.num_key_value_heads * head_dim * (prompt + answer_tokens // 2) * element
    if hardware is None:
        return {"vision": None, "prefill": None, "decode": None, "weight_gb": weight_bytes / 1e9}
    tflops, bandwidth = hardware
    return {"vision": vision_flops / (tflops * 1e12), "prefill": prefill_flops / (tflops * 1e12),
            "decode": (weight_bytes + kv_bytes) / (bandwidth * 1e9), "weight_gb": weight_bytes / 1e9}


def measure(backend: TransformersBackend, messages: list[dict], answer: int, runs: int, warmup: int) -> dict[str, float]:
    """Medians (seconds) of preprocessing, the encoder, the prefill, one decoded token and the whole step."""
    import torch

    model, device = backend.model, backend.device
    prep = median_s(lambda: backend.preprocess(messages), runs, warmup, device)
    inputs = backend.preprocess(messages)

    def encoder() -> Any:
        with torch.inference_mode():
            return model.model.get_image_features(inputs["pixel_values"], inputs["image_grid_thw"],
                                                  return_dict=True)

    features = encoder()
    text_inputs = {k: v for k, v in inputs.items() if k != "pixel_values"}
    prompt = int(inputs["input_ids"].shape[1])

    def prefill() -> None:  # the language model over the prompt, image features given
        with torch.inference_mode():
            if backend.decoder is None:
                model(**text_inputs, mm_encoder_outputs={"image": features}, use_cache=True, logits_to_keep=1)
            else:  # into the step's static cache, after the stored system turn if there is one
                slot = backend.decoder.slot(cache_length_for(prompt + answer))
                slot.prefill({**text_inputs, "mm_encoder_outputs": {"image": features}}, backend.prefixes)

    def step(tokens: int) -> Callable[[], object]:
        return lambda: backend.generate(messages, max_new_tokens=tokens, min_new_tokens=tokens)

    vision = median_s(encoder, runs, warmup, device)
    prefill_s = median_s(prefill, runs, warmup, device)
    one = median_s(step(1), runs, warmup, device)
    whole = median_s(step(answer), runs, warmup, device)
    return {"prep": prep, "vision": vision, "prefill": prefill_s, "decode": (whole - one) / max(1, answer - 1),
            "step": whole, "prompt": prompt}


def stock_encoder_s(model: Any, processor: Any, messages: list[dict], runs: int, warmup: int, device: str) -> float:
    """The median encoder time of transformers' own forward (before any backend changes it)."""
    import torch

    from qvl_agent.model.backend import images_in

    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[text], images=list(images_in(messages)), return_tensors="pt").to(device)
    pixels = inputs["pixel_values"].to(model.model.visual.dtype)

    def encoder() -> Any:
        with torch.inference_mode():
            return model.model.visual(pixels, grid_thw=inputs["image_grid_thw"])

    return median_s(encoder, runs, warmup, device)


def profile_step(backend: TransformersBackend, messages: list[dict], answer: int) -> None:
    """The torch profiler's view of one step: kernel launches, busy time, the top operations."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if backend.device.startswith("cuda") else [])
    with profile(activities=activities) as prof:
        backend.generate(messages, max_new_tokens=answer, min_new_tokens=answer)
        _sync(backend.device)
    events = prof.key_averages()
    kernels = sum(e.count for e in events if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA)
    launches = sum(e.count for e in events if e.key in ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel"))
    graphs = sum(e.count for e in events if e.key == "cudaGraphLaunch")
    print(f"profile of one step ({answer} tokens): {kernels} kernels run, {launches} launched one by one, "
          f"{graphs} CUDA graph launches")
    for sort in (("device_time_total", "cuda_time_total") if backend.device.startswith("cuda") else ()) + (
            "cpu_time_total",):
        try:
            print(events.table(sort_by=sort, row_limit=15, max_name_column_width=60))
            break
        except (KeyError, AttributeError, ValueError):
            continue


def _hardware(device: str, tflops: float | None, bandwidth: float | None) -> tuple[str, tuple[float, float] | None]:
    import torch

    name = torch.cuda.get_device_name() if device.startswith("cuda") else "cpu"
    if tflops and bandwidth:
        return name, (tflops, bandwidth)
    for key, spec in HARDWARE.items():
        if key in name:
            return name, spec
    return name, None


def _cell(seconds: float, bound: float | None) -> str:
    text = f"{seconds * 1000:9.2f}"
    return text + (f" ({seconds / bound:5.1f}x)" if bound else "         ")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=["tiny", "3b", "7b"], default=None,
                        help="model size (default: 3b on a GPU, tiny elsewhere)")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda if available)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--answer-tokens", type=int, default=40)
    parser.add_argument("--variants", default="none,compile,prefix-cache",
                        help=f"comma-separated --speedup names, from {', '.join(VARIANTS)}")
    parser.add_argument("--max-pixels", default=f"1003520,{MAX_PIXELS}",
                        help="comma-separated frame limits to measure")
    parser.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak")
    parser.add_argument("--bandwidth-gbs", type=float, default=None, help="the GPU's memory bandwidth")
    parser.add_argument("--profile", action="store_true", help="profile one step of the last row at the end")
    args = parser.parse_args()
    variants = args.variants.split(",")
    if unknown := [v for v in variants if v not in VARIANTS]:
        parser.error(f"unknown variant {unknown[0]!r}; use {', '.join(VARIANTS)}")

    import torch
    import transformers

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    size = args.size or ("3b" if device.startswith("cuda") else "tiny")
    name, hardware = _hardware(device, args.peak_tflops, args.bandwidth_gbs)
    image = screenshot()
    with tempfile.TemporaryDirectory() as workdir:
        model, processor = build(size, device, workdir)
        print(f"Qwen2.5-VL {size} (random weights, real architecture) on {name}; torch {torch.__version__}, "
              f"transformers {transformers.__version__}; answer {args.answer_tokens} tokens; median of "
              f"{args.runs} after {args.warmup} warm-up; --speedup auto here is "
              f"{SpeedOptions.named('auto', device)!r}")
        if hardware is None:
            print("no hardware bound: unknown device (give --peak-tflops and --bandwidth-gbs)")
        else:
            print(f"bound from {hardware[0]:.0f} TFLOP/s bf16 and {hardware[1]:.0f} GB/s")
        frames = []
        for max_pixels in (int(v) for v in args.max_pixels.split(",")):
            frame = Frame.for_image(image, image.size, max_pixels=max_pixels)
            messages = agent_messages("computer_use", frame.size, "Open the quarterly report of row 7",
                                      frame.resize(image))
            frames.append((max_pixels, frame, messages))
            stock = stock_encoder_s(model, processor, messages, args.runs, args.warmup, device)
            print(f"transformers' own vision encoder at {frame.width}x{frame.height}: {stock * 1000:.1f} ms")
        print(f"{'max_pixels':>10} {'frame':>9} {'prompt':>6} {'variant':<13} {'prep ms':>7} {'vision ms':>17} "
              f"{'prefill ms':>17} {'decode ms/tok':>17} {'step ms':>9} {'vs first':>8} {'peak GiB':>8} {'warm-up s':>9}")
        for max_pixels, frame, messages in frames:
            first_step = None
            for variant in variants:
                backend = TransformersBackend.from_loaded(
                    model, processor, name=f"random-{size}", device=device,
                    max_pixels=max_pixels, speed=speed_of(variant, device))
                if device.startswith("cuda"):
                    torch.cuda.reset_peak_memory_stats()
                try:
                    warm = backend.warm_up(frame.size, max_new_tokens=args.answer_tokens)
                    result = measure(backend, messages, args.answer_tokens, args.runs, args.warmup)
                except Exception as exc:  # one row failing should not cost the others
                    print(f"{max_pixels:>10} {frame.width:>4}x{frame.height:<4} {'':>6} {variant:<13} failed: "
                          f"{type(exc).__name__}: {str(exc)[:300]}", flush=True)
                    traceback.print_exc()
                    continue
                bound = bounds(model, backend.preprocess(messages), args.answer_tokens, hardware)
                peak = torch.cuda.max_memory_allocated() / 2**30 if device.startswith("cuda") else float("nan")
                first_step = first_step or result["step"]
                print(f"{max_pixels:>10} {frame.width:>4}x{frame.height:<4} {result['prompt']:>6} {variant:<13} "
                      f"{result['prep'] * 1000:7.1f} {_cell(result['vision'], bound['vision'])} "
                      f"{_cell(result['prefill'], bound['prefill'])} {_cell(result['decode'], bound['decode'])} "
                      f"{result['step'] * 1000:9.1f} {result['step'] / first_step:7.2f}x {peak:8.1f} {warm:9.1f}",
                      flush=True)
        if args.profile:
            profile_step(backend, frames[0][2], args.answer_tokens)


if __name__ == "__main__":
    main()

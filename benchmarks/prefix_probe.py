"""Why the old ``prefix`` option decoded slower (45 vs 28 ms/token on an H200, issue 24).

It ran ``generate`` from a deep copy of a ``DynamicCache`` holding the system turn. On the CPU
that path runs the same operations on the same shapes per decoded token as plain generate
(checked with the profiler), so the cause is on the GPU side. This times per-token decode for
plain generate, generate from the deep copy, and generate from a freshly prefilled copy, and
prints what the torch profiler sees in 9 decoded tokens of each: kernels, and the CUDA runtime
calls that stall the host (allocations, synchronisations, copies).

    python benchmarks/prefix_probe.py 3b     # on a GPU (tiny anywhere, as a smoke run)
"""

from __future__ import annotations

import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from transformers import DynamicCache

sys.path.insert(0, str(Path(__file__).parent))
from gpu_step import build, screenshot  # noqa: E402

from qvl_agent.model.frame import Frame  # noqa: E402
from qvl_agent.model.prompts import agent_messages  # noqa: E402
from qvl_agent.model.transformers_backend import SpeedOptions, TransformersBackend  # noqa: E402


def main() -> None:
    size = sys.argv[1] if len(sys.argv) > 1 else "3b"
    device = "cuda" if torch.cuda.is_available() else "cpu"
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with tempfile.TemporaryDirectory() as workdir:
        model, processor = build(size, device, workdir)
        image = screenshot()
        frame = Frame.for_image(image, image.size, max_pixels=1003520)
        messages = agent_messages("computer_use", frame.size, "Open the quarterly report of row 7",
                                  frame.resize(image))
        backend = TransformersBackend.from_loaded(model, processor, name="probe", device=device,
                                                  max_pixels=1003520, speed=SpeedOptions())
        inputs = backend.preprocess(messages)
        ids = inputs["input_ids"][0]
        end = int((ids == processor.tokenizer.convert_tokens_to_ids("<|im_end|>")).nonzero()[0]) + 1

        def prefilled() -> DynamicCache:
            cache = DynamicCache(config=model.config)
            with torch.inference_mode():
                model(input_ids=ids[None, :end], cache=cache, use_cache=True, logits_to_keep=1)
            return cache

        stored = prefilled()

        def run(tokens: int, kind: str) -> float:
            options = {"deepcopy": lambda: {"cache": copy.deepcopy(stored)},
                       "fresh-prefill": lambda: {"cache": prefilled()}}.get(kind, dict)()
            with torch.inference_mode():
                sync()
                started = time.perf_counter()
                model.generate(**inputs, max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False, **options)
                sync()
            return time.perf_counter() - started

        for kind in ("none", "deepcopy", "fresh-prefill"):
            for _ in range(2):
                run(2, kind)
            one = statistics.median(run(1, kind) for _ in range(3))
            many = statistics.median(run(21, kind) for _ in range(3))
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                run(9, kind)
            events = prof.key_averages()
            kernels = sum(e.count for e in events if getattr(e, "device_type", None) == torch.autograd.DeviceType.CUDA)
            runtime = sorted(((e.key, e.count, round(e.cpu_time_total / 1000, 1)) for e in events
                              if e.key.startswith("cuda") and not e.key.startswith("cudaLaunch")),
                             key=lambda row: -row[2])[:6]
            print(f"{kind:14} decode {(many - one) / 20 * 1000:6.1f} ms/token  kernels in 9 tokens {kernels}  "
                  f"runtime calls (name, count, ms) {runtime}", flush=True)
        keys, copied = stored.layers[0].keys, copy.deepcopy(stored).layers[0].keys
        print("stored keys", keys.dtype, tuple(keys.shape), keys.stride(), "| deep copy", copied.dtype,
              tuple(copied.shape), copied.stride(), "inference tensor:", keys.is_inference(), copied.is_inference())


if __name__ == "__main__":
    main()

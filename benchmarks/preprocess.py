"""How long it takes to get a 1920x1080 screenshot ready for Qwen2.5-VL.

Ours: Frame (smart_resize) + the bicubic resize to the frame + the PNG data URL the
OpenAI-compatible backend sends (``model.png``). Baseline, in the same run: the stock
transformers image processor (``Qwen2VLImageProcessor``, the Instruct checkpoints' settings)
preprocessing the raw screenshot, which is what a local generate pays. For comparison, the
same server path with Pillow's PNG encoder (what it used before). The paths are timed in
turn within each run, so a busy machine slows them alike; medians of the runs.

    .venv/bin/python benchmarks/preprocess.py [--runs 15]
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import time
from collections.abc import Callable

from PIL import Image, ImageDraw

from qvl_agent.model.frame import MAX_PIXELS, Frame
from qvl_agent.model.openai_backend import encode_image


def screenshot() -> Image.Image:
    """A screenshot-like 1920x1080 image: flat areas, text-like detail, a few photos' worth of noise."""
    image = Image.new("RGB", (1920, 1080), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for row in range(40):
        draw.text((20, 20 + row * 26), f"Row {row}: the quick brown fox jumps over the lazy dog " * 3,
                  fill=(20, 20, 20))
    draw.rectangle([1200, 100, 1800, 500], fill=(30, 90, 200))
    noise = Image.effect_noise((600, 400), 60).convert("RGB")
    image.paste(noise, (1200, 600))
    return image


def medians_ms(fns: list[Callable[[], object]], runs: int) -> list[float]:
    """Median ms of each function, timed in turn within every run (after one warm-up)."""
    for fn in fns:
        fn()  # warm-up (imports, caches, the encoder's threads)
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for fn, out in zip(fns, times):
            started = time.perf_counter()
            fn()
            out.append((time.perf_counter() - started) * 1000)
    return [statistics.median(t) for t in times]


def pillow_url(image: Image.Image) -> str:
    """The server path's encoder before model.png: Pillow's PNG at compress_level 1."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    from transformers import Qwen2VLImageProcessor

    image = screenshot()
    rows = []
    for max_pixels in (MAX_PIXELS, 1280 * 28 * 28):
        stock = Qwen2VLImageProcessor(min_pixels=3136, max_pixels=max_pixels)

        def ours() -> str:
            frame = Frame.for_image(image, (1920, 1080), max_pixels=max_pixels)
            return encode_image(frame.resize(image))

        def ours_pillow() -> str:
            frame = Frame.for_image(image, (1920, 1080), max_pixels=max_pixels)
            return pillow_url(frame.resize(image))

        def ours_local() -> object:
            frame = Frame.for_image(image, (1920, 1080), max_pixels=max_pixels)
            return stock(images=[frame.resize(image)], return_tensors="pt")

        def baseline() -> object:
            return stock(images=[image], return_tensors="pt")

        frame = Frame.for_image(image, (1920, 1080), max_pixels=max_pixels)
        names = ["stock processor on the raw screenshot (baseline)",
                 "ours: frame + resize + PNG data URL (server path)",
                 "  the same with Pillow's PNG encoder (before)",
                 "ours: frame + resize, then the stock processor (local path)"]
        values = medians_ms([baseline, ours, ours_pillow, ours_local], args.runs)
        for name, value in zip(names, values):
            rows.append((f"{max_pixels}", f"{frame.width}x{frame.height}", name, value,
                         value / values[0]))

    print(f"1920x1080 screenshot, median of {args.runs} runs, ratio = time / baseline of the same max_pixels\n")
    print(f"{'max_pixels':>10}  {'frame':>9}  {'path':<62} {'median ms':>9}  {'ratio':>5}")
    for max_pixels, frame, name, value, ratio in rows:
        print(f"{max_pixels:>10}  {frame:>9}  {name:<62} {value:>9.1f}  {ratio:>5.2f}")


if __name__ == "__main__":
    main()

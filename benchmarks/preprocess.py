"""How long it takes to get a 1920x1080 screenshot ready for Qwen2.5-VL.

Ours: Frame (smart_resize) + the bicubic resize to the frame + the PNG data URL the
OpenAI-compatible backend sends. Baseline, in the same run: the stock transformers image
processor (``Qwen2VLImageProcessor``, the Instruct checkpoints' settings) preprocessing the
raw screenshot, which is what a local generate pays. Median of several runs each.

    .venv/bin/python benchmarks/preprocess.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from PIL import Image, ImageDraw

from model.frame import MAX_PIXELS, Frame
from model.openai_backend import encode_image


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


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


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

        def ours_local() -> object:
            frame = Frame.for_image(image, (1920, 1080), max_pixels=max_pixels)
            return stock(images=[frame.resize(image)], return_tensors="pt")

        def baseline() -> object:
            return stock(images=[image], return_tensors="pt")

        frame = Frame.for_image(image, (1920, 1080), max_pixels=max_pixels)
        base = median_ms(baseline, args.runs)
        rows.append((f"{max_pixels}", f"{frame.width}x{frame.height}",
                     "stock processor on the raw screenshot (baseline)", base, 1.0))
        for name, fn in [("ours: frame + resize + PNG data URL (server path)", ours),
                         ("ours: frame + resize, then the stock processor (local path)", ours_local)]:
            value = median_ms(fn, args.runs)
            rows.append((f"{max_pixels}", f"{frame.width}x{frame.height}", name, value, value / base))

    print(f"1920x1080 screenshot, median of {args.runs} runs, ratio = time / baseline of the same max_pixels\n")
    print(f"{'max_pixels':>10}  {'frame':>9}  {'path':<62} {'median ms':>9}  {'ratio':>5}")
    for max_pixels, frame, name, value, ratio in rows:
        print(f"{max_pixels:>10}  {frame:>9}  {name:<62} {value:>9.1f}  {ratio:>5.2f}")


if __name__ == "__main__":
    main()

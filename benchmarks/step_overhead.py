"""Per-step time the loop spends outside the model, against the bare screenshot, at 1280x720.

A real Chromium page (tests/data/pages/form.html served on 127.0.0.1) and a model that
answers instantly (ScriptedVLM), so what is left is ours: observe (screenshot + decode),
frame + resize + prompt + parse (think minus model), and execute (a click). The baseline,
measured in the same run on the same page, is the bare screenshot as any agent needs it:
Playwright's ``page.screenshot()`` with its defaults, decoded to pixels (PNG bytes alone
and the raw CDP capture are shown for scale). Median over the steps.

    .venv/bin/python benchmarks/step_overhead.py [--steps 40]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agent.loop import run_episode  # noqa: E402
from agent.policy import QwenPolicy  # noqa: E402
from envs.browser import BrowserEnv  # noqa: E402
from model.scripted import ScriptedVLM  # noqa: E402
from tests.fakeqwen import tool_call  # noqa: E402
from tests.pages import PageServer  # noqa: E402


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()

    with PageServer() as pages, BrowserEnv(url=pages.url("form.html")) as env:
        # Baselines first, on the same page and browser.
        page = env.page
        cdp = page.context.new_cdp_session(page)
        bare, raw, png_only = [], [], []
        for _ in range(args.steps + 1):
            started = time.perf_counter()
            png = page.screenshot()
            png_only.append(time.perf_counter() - started)
            Image.open(io.BytesIO(png)).load()
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            cdp.send("Page.captureScreenshot", {"format": "png", "optimizeForSpeed": True})
            raw.append(time.perf_counter() - started)
        cdp.detach()
        bare, raw, png_only = bare[1:], raw[1:], png_only[1:]

        # Clicks on the page's background (frame 1288x728), then terminate.
        answers = [tool_call(action="left_click", coordinate=[1000 + i % 50, 650])
                   for i in range(args.steps)] + [tool_call(action="terminate", status="success")]
        policy = QwenPolicy(ScriptedVLM(answers), "computer_use")
        trajectory = run_episode(env, policy, "click around", max_steps=args.steps + 1)
        steps = [s for s in trajectory.steps if s.action is not None and s.action.kind == "click"][1:]

    observe = [s.timings.observe_s for s in steps]
    think = [s.timings.think_s - s.timings.model_s for s in steps]
    execute = [s.timings.execute_s for s in steps]
    total = [o + t + e for o, t, e in zip(observe, think, execute)]
    base = median_ms(bare)
    rows = [
        ("baseline: page.screenshot(), decoded to pixels", base),
        ("  of which page.screenshot() alone (PNG bytes)", median_ms(png_only)),
        ("raw CDP Page.captureScreenshot (PNG bytes; not used:", median_ms(raw)),
        ("  it can hang while a navigation commits)", float("nan")),
        ("observe: page.screenshot(caret=initial) + decode", median_ms(observe)),
        ("frame + resize + prompt + parse (think - model)", median_ms(think)),
        ("execute: a click", median_ms(execute)),
        ("step overhead outside the model (sum per step)", median_ms(total)),
    ]
    print(f"1280x720 Chromium page, median of {len(steps)} steps; ratio = time / baseline\n")
    print(f"{'what':<50} {'median ms':>9}  {'ratio':>5}")
    for name, value in rows:
        if value != value:  # a note line
            print(name)
            continue
        print(f"{name:<50} {value:>9.1f}  {value / base:>5.2f}")
    ratio = median_ms(total) / base
    print(f"\ntarget: overhead <= 1.30x the bare screenshot; measured {ratio:.2f}x "
          f"({'met' if ratio <= 1.3 else 'NOT met'})")


if __name__ == "__main__":
    main()

"""``qvl-agent bench ...``: load a set, run it against a backend, write results and summaries."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from envs.errors import ConfigError
from eval.bench.report import SCREENSPOT_GROUPS, breakdown, score, write_misses_html, write_summary
from eval.bench.runner import BenchResults, check_options, run_samples
from eval.bench.screenspot import Prompt, predict_sample
from eval.bench.screenspot_data import load_screenspot
from model.backend import VLMBackend

__all__ = ["run_screenspot", "usable_concurrency"]


def usable_concurrency(backend: VLMBackend, concurrency: int) -> int:
    """A local model answers one request at a time; only a server takes several at once."""
    from model.openai_backend import OpenAIBackend

    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
    return concurrency if isinstance(backend, OpenAIBackend) else 1


def run_screenspot(*, data: Path, out: Path, backend_factory: Callable[[], VLMBackend],
                   model_options: dict[str, Any], prompt: Prompt = "computer_use",
                   splits: Sequence[str] = (), limit: int | None = None, concurrency: int = 1,
                   resume: bool = False, max_new_tokens: int = 128,
                   misses_shown: int = 200) -> dict[str, Any]:
    """Run a ScreenSpot / v2 / Pro folder; returns the summary written to OUT/summary.json."""
    data = Path(data).resolve()
    layout, samples = load_screenspot(data, splits)
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {limit}")
        samples = samples[:limit]
    if not samples:
        raise ConfigError(f"{data}: no samples to run (check --split)")
    options = {"benchmark": "screenspot", "data": str(data), "prompt": prompt,
               "splits": sorted(splits), "limit": limit, "max_new_tokens": max_new_tokens,
               **{f"model.{k}": v for k, v in model_options.items()}}
    out.mkdir(parents=True, exist_ok=True)
    check_options(out, options, resume=resume)
    backend = backend_factory()
    results = BenchResults(out / "results.jsonl")
    try:
        rows = run_samples(
            samples, lambda s: predict_sample(backend, s, prompt, max_new_tokens=max_new_tokens, root=data),
            results, concurrency=usable_concurrency(backend, concurrency), label="screenspot")
    finally:
        results.close()
    summary = {"benchmark": "screenspot", "layout": layout, "data": str(data), "prompt": prompt,
               "model": getattr(backend, "name", None), **score(rows),
               "breakdown": breakdown(rows, SCREENSPOT_GROUPS)}
    misses = [r for r in rows if not r["hit"]]
    if misses:
        page = write_misses_html(out / "misses.html", f"ScreenSpot misses ({data.name})", misses,
                                 root=data, limit=misses_shown)
        summary["misses_html"] = page.name
    write_summary(out, f"ScreenSpot ({layout}): {data.name}", summary)
    return summary

"""``qvl-agent bench ...``: load a set, run it against a backend, write results and summaries."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.bench.report import SCREENSPOT_GROUPS, breakdown, score, write_misses_html, write_summary
from qvl_agent.eval.bench.runner import BenchResults, check_options, run_samples
from qvl_agent.eval.bench.screenspot import Prompt, predict_sample
from qvl_agent.eval.bench.screenspot_data import load_screenspot
from qvl_agent.model.backend import VLMBackend

__all__ = ["run_screenspot", "run_androidcontrol", "usable_concurrency"]


def usable_concurrency(backend: VLMBackend, concurrency: int) -> int:
    """A local model answers one request at a time; only a server takes several at once."""
    from qvl_agent.model.openai_backend import OpenAIBackend

    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
    return concurrency if isinstance(backend, OpenAIBackend) else 1


def _check_counts(concurrency: int, limit: int | None) -> None:
    """Before anything is loaded: a bad count is one line, not a minute of model loading."""
    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
    if limit is not None and limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {limit}")


def run_screenspot(*, data: Path, out: Path, backend_factory: Callable[[], VLMBackend],
                   model_options: dict[str, Any], prompt: Prompt = "computer_use",
                   splits: Sequence[str] = (), limit: int | None = None, concurrency: int = 1,
                   resume: bool = False, max_new_tokens: int = 128,
                   misses_shown: int = 200) -> dict[str, Any]:
    """Run a ScreenSpot / v2 / Pro folder; returns the summary written to OUT/summary.json."""
    _check_counts(concurrency, limit)
    data = Path(data).resolve()
    layout, samples = load_screenspot(data, splits)
    if limit is not None:
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


def _episode_ids_for(data: Path, split: str | None) -> list[str]:
    """The episode ids of ``split`` from the dataset's ``splits.json`` (Google publishes one)."""
    if split is None:
        return []
    path = data / "splits.json"
    if not path.is_file():
        raise ConfigError(f"--split {split}: {data} has no splits.json "
                          '({"train": [ids], "validation": [...], "test": [...]})')
    try:
        splits = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"cannot read {path} as JSON: {exc}") from None
    if split not in splits:
        raise ConfigError(f"--split {split}: {path} has {', '.join(splits)}")
    return [str(i) for i in splits[split]]


def run_androidcontrol(*, data: Path, out: Path, backend_factory: Callable[[], VLMBackend],
                       model_options: dict[str, Any], level: str = "high",
                       split: str | None = None, limit: int | None = None, concurrency: int = 1,
                       resume: bool = False, max_new_tokens: int = 256,
                       chunk: int = 16) -> dict[str, Any]:
    """Run AndroidControl episodes step by step; returns the summary written to OUT.

    Episodes are read ``chunk`` at a time (the full test split's screenshots would not fit
    in memory); ``limit`` counts episodes.
    """
    from itertools import islice

    from qvl_agent.eval.bench.androidcontrol import predict_step
    from qvl_agent.eval.bench.androidcontrol_data import detect_control_layout, read_episodes

    _check_counts(concurrency, limit)
    data = Path(data).resolve()
    layout = detect_control_layout(data)
    if level not in ("high", "low"):
        raise ConfigError(f"--level must be high or low, got {level!r}")
    wanted = _episode_ids_for(data, split)
    options = {"benchmark": "androidcontrol", "data": str(data), "level": level, "split": split,
               "limit": limit, "max_new_tokens": max_new_tokens,
               **{f"model.{k}": v for k, v in model_options.items()}}
    out.mkdir(parents=True, exist_ok=True)
    check_options(out, options, resume=resume)
    backend = backend_factory()
    workers = usable_concurrency(backend, concurrency)
    results = BenchResults(out / "results.jsonl")
    rows: list[dict[str, Any]] = []
    # A bad record never ends a run: an unreadable episode or an action that cannot be
    # scored is left out, counted, and said once at the end.
    bad_episodes: list[str] = []
    bad_steps: list[str] = []
    episodes = islice(read_episodes(data, episode_ids=wanted, skipped=bad_episodes), limit)
    try:
        while batch := list(islice(episodes, chunk)):
            bad_steps += [step.problem for episode in batch for step in episode.steps if step.problem]
            pairs = [(episode, step) for episode in batch for step in episode.steps
                     if step.problem is None]
            rows += run_samples(
                pairs, lambda pair: predict_step(backend, pair[0], pair[1], level,  # type: ignore[arg-type]
                                                 max_new_tokens=max_new_tokens),
                results, concurrency=workers, label="androidcontrol",
                key=lambda pair: f"{pair[0].episode_id}/{pair[1].index}")
    finally:
        results.close()
    if not rows:
        raise ConfigError(f"{data}: no episodes to run" + (f" in split {split}" if split else ""))
    by_episode: dict[str, list[bool]] = {}
    for row in rows:
        by_episode.setdefault(row["episode_id"], []).append(bool(row["hit_box"]))
    summary = {"benchmark": "androidcontrol", "layout": layout, "data": str(data), "level": level,
               "model": getattr(backend, "name", None), **score(rows, "hit_box"),
               "type_accuracy": score(rows, "type_match"),
               "step_success_box": score(rows, "hit_box"),
               "step_success_distance": score(rows, "hit_distance"),
               "episodes": len(by_episode),
               "episode_success": score([{"ok": all(v)} for v in by_episode.values()], "ok"),
               "breakdown": breakdown(rows, ["gold_type"], "hit_box"),
               "breakdown_distance": breakdown(rows, ["gold_type"], "hit_distance"),
               "breakdown_type": breakdown(rows, ["gold_type"], "type_match")}
    if bad_steps or bad_episodes:
        summary["skipped"] = {"steps": len(bad_steps), "episodes": len(bad_episodes),
                              "first": (bad_episodes + bad_steps)[:5]}
    write_summary(out, f"AndroidControl ({level} level): {data.name}", summary, extra_metrics={
        "action-type accuracy": summary["type_accuracy"],
        "step success, tap inside the target element's box": summary["step_success_box"],
        "step success, tap within 14% of the screen (AITW)": summary["step_success_distance"],
        "episode success (every step, box rule)": summary["episode_success"]})
    return summary

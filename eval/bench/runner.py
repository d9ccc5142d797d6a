"""Running a benchmark's samples: N requests at once, one result line each, ``--resume``.

Each finished sample is appended to ``OUT/results.jsonl`` and flushed at once, so a run
that is killed or loses its server keeps everything it finished; ``--resume`` runs only the
samples without a line, and refuses options that differ from the run it continues
(``OUT/bench.json``), since mixing two settings in one score would be silent nonsense.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.jsonl import JsonlStore

__all__ = ["BenchResults", "run_samples", "check_options"]

S = TypeVar("S")
_MAY_CHANGE = {"model.endpoint"}


class BenchResults(JsonlStore[dict[str, Any]]):
    """``results.jsonl`` keyed by each row's ``id``; a line cut off by a kill is dropped."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, key=lambda row: row["id"], load=json.loads,
                         dump=lambda row: json.dumps(row, ensure_ascii=False))


def check_options(out: Path, options: dict[str, Any], *, resume: bool) -> None:
    """Write ``OUT/bench.json``, or check it against ``options`` when resuming."""
    out.mkdir(parents=True, exist_ok=True)
    record = out / "bench.json"
    results = out / "results.jsonl"
    if resume:
        if not record.is_file():
            raise ConfigError(f"--resume: {out} holds no benchmark run (no bench.json)")
        before = json.loads(record.read_text(encoding="utf-8"))
        # The server's address may change between tries (a restart); what it serves may not.
        changed = sorted(k for k in set(before) | set(options)
                         if k not in _MAY_CHANGE and before.get(k) != options.get(k))
        if changed:
            shown = "; ".join(f"{k}: {before.get(k)!r} then, {options.get(k)!r} now" for k in changed)
            raise ConfigError(f"--resume with different options ({shown}); "
                              "resume with the same options or use another --out")
        return
    if results.is_file() and results.stat().st_size > 0:
        raise ConfigError(f"{out} already has results; add --resume to finish that run, "
                          "or give another --out")
    record.write_text(json.dumps(options, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def run_samples(samples: Sequence[S], work: Callable[[S], dict[str, Any]], results: BenchResults,
                *, concurrency: int = 1, label: str = "samples",
                key: Callable[[S], str] = lambda s: s.id) -> list[dict[str, Any]]:  # type: ignore[attr-defined]
    """Run ``work`` on every sample without a row yet, ``concurrency`` at a time.

    ``work`` turns the model's misbehaviour into a row; an exception it raises (the server
    is gone, a bug) stops the run after the rows already finished have been written.
    Returns every row of the run (earlier ones included), in ``samples`` order.
    """
    if concurrency < 1:
        raise ConfigError(f"--concurrency must be at least 1, got {concurrency}")
    todo = [s for s in samples if key(s) not in results.rows]
    console = Console(stderr=True, highlight=False)
    columns = (TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task(label, total=len(samples), completed=len(samples) - len(todo))
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            pending: set[Future[dict[str, Any]]] = set()
            feed: Iterable[S] = iter(todo)
            try:
                for sample in feed:
                    pending.add(pool.submit(work, sample))
                    if len(pending) >= 2 * concurrency:  # keep the queue short: images are large
                        pending = _drain(pending, results, progress, bar, until=concurrency)
                _drain(pending, results, progress, bar, until=0)
            except BaseException:  # Ctrl-C included: stop at once, not after the queue
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return [results.rows[key(s)] for s in samples if key(s) in results.rows]


def _drain(pending: set[Future[dict[str, Any]]], results: BenchResults, progress: Progress,
           bar: Any, *, until: int) -> set[Future[dict[str, Any]]]:
    while len(pending) > until:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        failed = None
        for future in done:
            if future.exception() is not None:
                failed = failed or future.exception()
                continue
            results.add(future.result())
            progress.advance(bar)
        if failed is not None:
            for future in pending:
                future.cancel()
            for future in pending:  # keep what finished while stopping
                if not future.cancelled():
                    try:
                        results.add(future.result())
                    except Exception:  # noqa: BLE001 - the first failure is the one reported
                        pass
            raise failed
    return pending

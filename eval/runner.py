"""``run_eval``: a suite x seeds over N worker processes, with time limits and resume.

The parent hands out one instance at a time to idle workers, watches them, and is the only
writer of ``results.jsonl``. A worker that crashes or passes the per-instance time limit is
killed and replaced; its instance is recorded as an error with the reason, and the run
goes on. ``--resume`` skips every instance that already has a line.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent.trajectory import RunMeta, now_iso
from envs.errors import ConfigError
from eval.config import EvalConfig, InstanceResult, instance_id
from eval.results import ResultsFile
from eval.worker import run_dir_name, worker_main
from tasks.registry import Suite, get_suite

__all__ = ["plan", "run_eval", "EvalProgress"]

EvalProgress = Callable[[str, InstanceResult | None, "RunState"], None]


def plan(config: EvalConfig, suite: Suite) -> list[tuple[str, int]]:
    """The (task id, seed) pairs of the run, in order; oracle runs skip tasks without one."""
    try:
        pattern = re.compile(config.tasks) if config.tasks else None
    except re.error as exc:
        raise ConfigError(f"--tasks {config.tasks!r} is not a valid regular expression: {exc}") from None
    tasks = [t for t in suite.tasks if pattern is None or pattern.search(t.id)]
    if config.policy.kind == "oracle":
        tasks = [t for t in tasks if t.has_oracle()]
    if not tasks:
        what = "with an oracle " if config.policy.kind == "oracle" else ""
        raise ConfigError(f"no task {what}in suite {suite.name!r} matches {config.tasks!r}")
    return [(t.id, seed) for seed in range(config.seeds) for t in tasks]


@dataclass
class _Worker:
    index: int
    process: Any
    inbox: Any
    pid: int | None = None
    busy: tuple[str, int] | None = None
    since: float = 0.0


@dataclass
class RunState:
    total: int
    done: int = 0
    successes: int = 0
    errors: int = 0
    running: dict[int, str] = field(default_factory=dict)


def run_eval(config: EvalConfig, progress: EvalProgress | None = None) -> list[InstanceResult]:
    """Run (or resume) an evaluation; returns every result of the run directory."""
    suite = get_suite(config.suite)
    instances = plan(config, suite)
    if suite.check_options:
        suite.check_options(config.env_options, config.workers)
    config.out.mkdir(parents=True, exist_ok=True)
    results_path = config.out / "results.jsonl"
    if results_path.exists() and not config.resume:
        raise ConfigError(f"{config.out} already holds results; add --resume to finish that run, "
                          "or choose another --out")
    _write_config(config)
    results = ResultsFile(results_path)
    todo = deque(i for i in instances if instance_id(*i) not in results)
    state = RunState(total=len(instances), done=len(instances) - len(todo))
    for r in results.results.values():
        state.successes += r.outcome == "success"
        state.errors += r.outcome == "error"
    if progress:
        progress("start", None, state)
    try:
        if todo:
            _Pool(config, results, state, progress).run(todo)
    finally:
        results.close()
    return [results.results[instance_id(*i)] for i in instances if instance_id(*i) in results.results]


# What may change between a run and its --resume: how it runs, not what it measures.
_MAY_CHANGE = {"resume", "workers", "time_limit_s", "out"}


def _write_config(config: EvalConfig) -> None:
    """Record the run's options; on --resume, refuse options that would mix two setups."""
    path = config.out / "eval.json"
    if not path.exists():
        path.write_text(config.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return
    before = EvalConfig.model_validate_json(path.read_text(encoding="utf-8"))
    old, new = _measured(before), _measured(config)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if changed:
        details = "; ".join(f"{k}: {old.get(k)!r} then, {new.get(k)!r} now" for k in changed)
        raise ConfigError(f"--resume with other options than the run in {config.out} ({details}); "
                          "resume with the same options, or start a new run with another --out")


def _measured(config: EvalConfig) -> dict[str, Any]:
    values = config.model_dump(mode="json", exclude=_MAY_CHANGE)
    values["env_options"] = {k: v for k, v in values["env_options"].items() if k != "browser_path"}
    values["policy"]["model"].pop("torch_device", None)
    return _flatten(values)


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class _Pool:
    def __init__(self, config: EvalConfig, results: ResultsFile, state: RunState,
                 progress: EvalProgress | None) -> None:
        self.config = config
        self.results = results
        self.state = state
        self.progress = progress
        self.ctx = mp.get_context("spawn")
        self.outbox = self.ctx.Queue()
        self.config_json = config.model_dump_json()
        self.workers: list[_Worker] = []

    def _spawn(self, index: int) -> _Worker:
        inbox = self.ctx.Queue()
        process = self.ctx.Process(target=worker_main, name=f"qvl-eval-{index}", daemon=True,
                                   args=(self.config_json, index, inbox, self.outbox, os.getpid()))
        process.start()
        return _Worker(index=index, process=process, inbox=inbox, pid=process.pid)

    def _write_pids(self) -> None:
        pids = {w.index: w.process.pid for w in self.workers if w.process.pid}
        (self.config.out / "workers.json").write_text(json.dumps(pids) + "\n", encoding="utf-8")

    def run(self, todo: deque[tuple[str, int]]) -> None:
        count = min(self.config.workers, len(todo))
        self.workers = [self._spawn(index) for index in range(count)]
        self._write_pids()
        try:
            while todo or any(w.busy for w in self.workers):
                for worker in self.workers:
                    if worker.busy is None and todo:
                        worker.busy = todo.popleft()
                        worker.since = time.monotonic()
                        worker.inbox.put(worker.busy)
                        self.state.running[worker.index] = instance_id(*worker.busy)
                self._receive()
                self._watch()
        finally:
            self._shutdown()

    def _receive(self) -> None:
        """Handle every message waiting (the first wait is short), so a result that is
        already in the queue is never mistaken for a timeout by ``_watch``."""
        timeout: float | None = 0.2
        while True:
            try:
                message = self.outbox.get(timeout=timeout) if timeout else self.outbox.get_nowait()
            except queue.Empty:
                return
            timeout = None
            self._handle(message)

    def _handle(self, message: tuple[str, int, str, int]) -> None:
        kind, index, payload, _pid = message
        worker = self.workers[index]
        if kind == "started":
            worker.since = time.monotonic()
            return
        result = InstanceResult.model_validate_json(payload)
        if worker.busy is None or instance_id(*worker.busy) != result.instance:
            return  # a late answer from an instance already recorded as timed out
        worker.busy = None
        self._record(worker, result)

    def _watch(self) -> None:
        for worker in list(self.workers):
            if worker.busy is None:
                if not worker.process.is_alive():
                    self._replace(worker)
                continue
            elapsed = time.monotonic() - worker.since
            alive = worker.process.is_alive()
            if alive and elapsed <= self.config.time_limit_s:
                continue
            self._receive()  # one last look: its result may be in the queue already
            if worker.busy is None:
                if not alive:
                    self._replace(worker)
                continue
            if not alive:
                code = worker.process.exitcode
                reason = f"the worker died (exit code {code})" if code and code > 0 else \
                    f"the worker was killed (signal {-code if code else '?'})"
                self._fail(worker, "crashed", reason, elapsed)
                self._replace(worker)
            else:
                worker.process.kill()
                worker.process.join(5)
                self._fail(worker, "timeout", f"no result within the time limit of "
                           f"{self.config.time_limit_s:g} s; the worker was killed", elapsed)
                self._replace(worker)

    def _replace(self, worker: _Worker) -> None:
        worker.process.join(1)
        self.state.running.pop(worker.index, None)
        self.workers[worker.index] = self._spawn(worker.index)
        self._write_pids()

    def _fail(self, worker: _Worker, status: str, reason: str, elapsed: float) -> None:
        assert worker.busy is not None
        task_id, seed = worker.busy
        worker.busy = None
        suite = get_suite(self.config.suite)
        run_dir = self.config.out / "runs" / run_dir_name(task_id, seed)
        report = _close_cut_run(run_dir, reason)
        result = InstanceResult(
            instance=instance_id(task_id, seed), task=task_id, family=suite.task(task_id).family,
            seed=seed, outcome="error", status=status, message=reason, duration_s=elapsed,
            worker=worker.index, finished_at=now_iso(),
            report=str(report.relative_to(self.config.out)) if report else None)
        self._record(worker, result)

    def _record(self, worker: _Worker, result: InstanceResult) -> None:
        self.results.add(result)
        self.state.running.pop(worker.index, None)
        self.state.done += 1
        self.state.successes += result.outcome == "success"
        self.state.errors += result.outcome == "error"
        if self.progress:
            self.progress("result", result, self.state)

    def _shutdown(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                try:
                    worker.inbox.put(None)
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + 10
        for worker in self.workers:
            worker.process.join(max(0.1, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)


def _close_cut_run(run_dir: Any, reason: str) -> Any:
    """Give an instance cut off by a kill its final status and report, from what it wrote."""
    meta_file = run_dir / "meta.json"
    if not meta_file.is_file():
        return None
    from agent.report import write_report

    try:
        meta = RunMeta.model_validate_json(meta_file.read_text(encoding="utf-8"))
        meta.status, meta.message, meta.finished_at = "interrupted", reason, now_iso()
        meta_file.write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return write_report(run_dir)
    except (OSError, ValueError):
        return None  # the instance's own files are damaged; its result line still says why

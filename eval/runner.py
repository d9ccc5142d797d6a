"""``run_eval``: a suite x seeds over N workers, with time limits and resume.

The parent hands out one instance at a time to idle workers, watches them, and is the only
writer of ``results.jsonl``. A worker that crashes or passes the per-instance time limit is
killed and replaced; its instance is recorded as an error with the reason, and the run
goes on. ``--resume`` skips every instance that already has a success or failure, and
runs again those that ended in error (the harness's, the server's, the disk's; their lines
are taken out first), unless ``--resume-keep-errors``. A run directory that cannot be
written (a full disk) stops the run at once with ``StorageError``; every line already in
``results.jsonl`` stays whole. Workers are processes on this machine or actors on a Ray
cluster (``eval.executor``); everything else is shared.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from typing_extensions import assert_never

from qvl_agent.agent.storage import Reserve, storage_error, write_atomic
from qvl_agent.agent.trajectory import RunMeta, now_iso
from qvl_agent.envs.errors import ConfigError, StorageError
from qvl_agent.envs.spec import spec_flag
from qvl_agent.envs.validation import flag_name
from qvl_agent.eval.config import EvalConfig, InstanceResult, instance_id
from qvl_agent.eval.executor import Event, Executor, Finished, LocalExecutor, Lost, Started
from qvl_agent.eval.replaying import recorded
from qvl_agent.eval.results import ResultsFile
from qvl_agent.eval.worker import run_dir_name
from qvl_agent.tasks.registry import Suite, get_suite

__all__ = ["plan", "plan_notes", "run_eval", "EvalProgress", "check_recorded", "read_recorded"]

EvalProgress = Callable[[str, InstanceResult | None, "RunState"], None]


def plan(config: EvalConfig, suite: Suite) -> list[tuple[str, int]]:
    """The (task id, seed) pairs of the run, in order; oracle runs skip tasks without one,
    replays what has no recording."""
    tasks, _ = _selected(config, suite)
    seeds = range(config.first_seed, config.first_seed + config.seeds)
    instances = [(t.id, seed) for seed in seeds for t in tasks]
    if config.policy.kind == "replay":
        instances = [i for i in instances if recorded(config.policy, *i)]
        if not instances:
            raise ConfigError(f"--replay {config.policy.replay} holds no recording of these "
                              f"instances of suite {suite.name!r} (seeds {seeds.start}..{seeds.stop - 1})")
    return instances


def plan_notes(config: EvalConfig, suite: Suite) -> list[str]:
    """Lines on the tasks the run leaves out, and why (say them before it starts)."""
    return _selected(config, suite)[1]


def _selected(config: EvalConfig, suite: Suite) -> tuple[list[Any], list[str]]:
    try:
        pattern = re.compile(config.tasks) if config.tasks else None
    except re.error as exc:
        raise ConfigError(f"--tasks {config.tasks!r} is not a valid regular expression: {exc}") from None
    tasks = [t for t in suite.tasks if pattern is None or pattern.search(t.id)]
    if not tasks:
        raise ConfigError(f"no task id in suite {suite.name!r} matches --tasks {config.tasks!r}")
    notes = []
    runnable, why = suite.runnable(config.env, tasks)   # e.g. a real phone: no sim-only task
    if why:
        notes.append(why)
    if not runnable:
        raise ConfigError(f"none of the {len(tasks)} tasks of suite {suite.name!r} can run here: {why}")
    if config.policy.kind == "oracle":
        without = [t.id for t in runnable if not t.has_oracle()]
        runnable = [t for t in runnable if t.has_oracle()]
        if not runnable:
            raise ConfigError(f"--policy oracle: none of the {len(without)} tasks of suite "
                              f"{suite.name!r} has an oracle (a solver written for it), so there "
                              "is nothing to run; use --policy qwen or random")
        if without:
            shown = ", ".join(without[:5]) + (f" and {len(without) - 5} more" if len(without) > 5 else "")
            notes.append(f"--policy oracle: {len(without)} of {len(without) + len(runnable)} tasks "
                         f"have no oracle and are left out: {shown}")
    return runnable, notes


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
    config.env = suite.spec(config.env)  # the screen every worker opens, recorded in eval.json
    instances = plan(config, suite)
    if suite.check_options:
        suite.check_options(config.env, config.workers)
    try:
        config.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise storage_error(config.out, exc) from None
    results_path = config.out / "results.jsonl"
    if results_path.exists() and not config.resume:
        raise ConfigError(f"{config.out} already holds results; add --resume to finish that run, "
                          "or choose another --out")
    _write_config(config)
    # Room for the last results line and summary.md if the disk fills during the run.
    reserve = Reserve(config.out, 256 * 1024)
    try:
        results = ResultsFile(results_path)
    except BaseException:
        reserve.release()
        raise
    if config.resume and not config.resume_keep_errors:
        results.drop({key for key, r in results.rows.items() if r.outcome == "error"})
    todo = deque(i for i in instances if instance_id(*i) not in results)
    state = RunState(total=len(instances), done=len(instances) - len(todo))
    for r in results.rows.values():
        state.successes += r.outcome == "success"
        state.errors += r.outcome == "error"
    if progress:
        progress("start", None, state)
    try:
        if todo:
            _Scheduler(config, results, state, progress, _executor(config)).run(todo)
    finally:
        results.close()
        reserve.release()
    return [results.rows[instance_id(*i)] for i in instances if instance_id(*i) in results.rows]


def _executor(config: EvalConfig) -> Executor:
    if config.executor == "ray":
        from qvl_agent.eval.ray_executor import RayExecutor  # Ray is an optional extra

        return RayExecutor(config)
    return LocalExecutor(config)


# What may change between a run and its --resume: how it runs, not what it measures.
_MAY_CHANGE = {"resume", "resume_keep_errors", "workers", "time_limit_s", "out", "executor",
               "ray_address"}


def _write_config(config: EvalConfig) -> None:
    """Record the run's options; on --resume, refuse options that would mix two setups."""
    path = config.out / "eval.json"
    if not path.exists():
        write_atomic(path, config.model_dump_json(indent=2) + "\n")
        return
    check_recorded(config)


def read_recorded(path: Path) -> EvalConfig:
    """The options an eval run recorded in its ``eval.json``."""
    try:
        return EvalConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except (ValidationError, OSError):
        raise ConfigError(f"{path} was not written by this version of qvl-agent (or was edited); "
                          "start a new run with another --out") from None


def check_recorded(config: EvalConfig) -> None:
    """Refuse, by the flags' names, options that differ from those the run in ``config.out``
    recorded (a run that recorded none yet passes)."""
    path = config.out / "eval.json"
    if not path.is_file():
        return
    before = read_recorded(path)
    old, new = _measured(before), _measured(config)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if changed:
        details = "; ".join(f"{_flag(k)}: {old.get(k)!r} then, {new.get(k)!r} now" for k in changed)
        raise ConfigError(f"--resume with other options than the run in {config.out} ({details}); "
                          "resume with the same options, or start a new run with another --out")


def _measured(config: EvalConfig) -> dict[str, Any]:
    values = config.model_dump(mode="json", exclude=_MAY_CHANGE)
    first = values.pop("first_seed", 0)  # --seeds A:B sets both: compared as the flag reads
    if first:
        values["seeds"] = f"{first}:{first + values['seeds']}"
    if values["env"] is not None:
        values["env"].pop("browser_path", None)  # which binary, not which screen
    values["policy"]["model"].pop("torch_device", None)
    values["policy"]["model"].pop("speedup", None)  # how fast, not what it answers
    values["policy"]["model"].pop("request_timeout", None)  # how long to wait for it
    return _flatten(values)


# Recorded options (flattened) that a flag of `qvl-agent eval` sets under another name, and
# the screen's fields that eval has flags for (a suite's viewport has none).
_FLAGS = {"policy.kind": "--policy"}
_EVAL_ENV_FLAGS = {"device", "display", "unsafe_host"}


def _flag(key: str) -> str:
    """The flag that sets the recorded option ``key`` (``policy.model.max_pixels`` ->
    ``--max-pixels``), or the key itself when no flag does (a suite's viewport)."""
    if key in _FLAGS:
        return _FLAGS[key]
    prefix, _, field = key.rpartition(".")
    if prefix == "env":
        return spec_flag(field) if field in _EVAL_ENV_FLAGS else key
    if prefix in ("", "policy.model"):
        return flag_name(field)
    return key


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


class _Scheduler:
    """Hands instances to an executor's idle slots, enforces the time limit, records results.

    Shared by every executor: only where a slot runs differs (see ``eval.executor``).
    """

    def __init__(self, config: EvalConfig, results: ResultsFile, state: RunState,
                 progress: EvalProgress | None, executor: Executor) -> None:
        self.config = config
        self.results = results
        self.state = state
        self.progress = progress
        self.executor = executor
        self.busy: dict[int, tuple[tuple[str, int], float]] = {}  # slot -> (instance, since)

    def run(self, todo: deque[tuple[str, int]]) -> None:
        try:
            self.executor.start(min(self.config.workers, len(todo)))
            while todo or self.busy:
                for slot in self.executor.idle():
                    if not todo:
                        break
                    instance = todo.popleft()
                    self.executor.submit(slot, instance)
                    self.busy[slot] = (instance, time.monotonic())
                    self.state.running[slot] = instance_id(*instance)
                self._handle(self.executor.poll(0.2))
                self._watch()
        finally:
            self.executor.close()

    def _handle(self, events: list[Event]) -> None:
        for event in events:
            match event:
                case Started(slot=slot):
                    if slot in self.busy:
                        self.busy[slot] = (self.busy[slot][0], time.monotonic())
                case Finished(slot=slot, result=result):
                    self.busy.pop(slot, None)
                    self._record(slot, result)
                case Lost(slot=slot, reason=reason):
                    self._fail(slot, "crashed", reason)
                case _:
                    assert_never(event)

    def _watch(self) -> None:
        for slot in [s for s, (_, since) in self.busy.items()
                     if time.monotonic() - since > self.config.time_limit_s]:
            self._handle(self.executor.poll(0))  # one last look: its result may be in already
            if slot not in self.busy:
                continue
            self.executor.kill(slot)
            self._fail(slot, "timeout", f"no result within the time limit of "
                       f"{self.config.time_limit_s:g} s; the worker was killed")

    def _fail(self, slot: int, status: str, reason: str) -> None:
        (task_id, seed), since = self.busy.pop(slot)
        suite = get_suite(self.config.suite)
        run_dir = self.config.out / "runs" / run_dir_name(task_id, seed)
        report = _close_cut_run(run_dir, reason)
        result = InstanceResult(
            instance=instance_id(task_id, seed), task=task_id, family=suite.task(task_id).family,
            seed=seed, outcome="error", status=status, message=reason,
            duration_s=time.monotonic() - since, worker=slot, finished_at=now_iso(),
            report=str(report.relative_to(self.config.out)) if report else None)
        self._record(slot, result)

    def _record(self, slot: int, result: InstanceResult) -> None:
        self.results.add(result)  # a full disk here raises StorageError: the run stops
        self.state.running.pop(slot, None)
        self.state.done += 1
        self.state.successes += result.outcome == "success"
        self.state.errors += result.outcome == "error"
        if self.progress:
            self.progress("result", result, self.state)
        if result.status == "storage":  # the instance's own files did not fit: stop now
            raise StorageError(result.message or "the run directory cannot be written")


def _close_cut_run(run_dir: Any, reason: str) -> Any:
    """Give an instance cut off by a kill its final status and report, from what it wrote."""
    meta_file = run_dir / "meta.json"
    if not meta_file.is_file():
        return None
    from qvl_agent.agent.report import write_report

    try:
        meta = RunMeta.model_validate_json(meta_file.read_text(encoding="utf-8"))
        meta.status, meta.message, meta.finished_at = "interrupted", reason, now_iso()
        write_atomic(meta_file, meta.model_dump_json(indent=2) + "\n")
        return write_report(run_dir)
    except (OSError, ValueError, StorageError):
        return None  # the instance's own files are damaged; its result line still says why

"""One worker process: owns one env, runs the instances it is sent, reports each result.

The parent may kill a worker at any time (a time limit, a hang); everything an instance
writes goes to its own run directory as it goes, so a kill loses only that instance.
"""

from __future__ import annotations

import os
import queue
import time
import traceback
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Any

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.osworld_log import write_result
from qvl_agent.agent.policy import Policy, QwenPolicy, RandomPolicy, ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.replay import Recording, ReplayPolicy, replay_budget
from qvl_agent.agent.trajectory import RunMeta, now_iso
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import EvalError, QvlError, StorageError
from qvl_agent.envs.factory import open_env
from qvl_agent.eval.config import EvalConfig, InstanceResult, instance_id, run_dir_name
from qvl_agent.eval.replaying import recording_dir
from qvl_agent.tasks.base import Task
from qvl_agent.tasks.declarative import DeclarativeTask
from qvl_agent.tasks.registry import Suite, get_suite

__all__ = ["InstanceRunner", "worker_main", "run_dir_name"]


class InstanceRunner:
    """Runs instances one after another in one process, reusing one env."""

    def __init__(self, config: EvalConfig, worker: int = 0) -> None:
        self.config = config
        self.worker = worker
        self.suite: Suite = get_suite(config.suite)
        self._env: Env | None = None
        self._backend: Any = None

    @property
    def env(self) -> Env:
        if self._env is None:
            self._env = open_env(self.suite.spec(self.config.env))
        return self._env

    def prepare(self) -> None:
        """Start the env and load the model before the first instance, so that the
        per-instance time limit measures instances, not a model that takes minutes to load.
        A failure here is left for the first instance to report."""
        try:
            _ = self.env
            if self._asks_model() and self._backend is None:
                self._backend = self.config.policy.model.backend()
        except Exception:  # noqa: BLE001 - the instance that needs it records the error
            self.close()

    def close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None

    def _asks_model(self) -> bool:
        policy = self.config.policy
        return policy.kind == "qwen" or (policy.kind == "replay" and policy.model.given)

    def _qwen(self, task: Task, env: Env) -> QwenPolicy:
        spec = self.config.policy
        if self._backend is None:
            self._backend = spec.model.backend()
        return QwenPolicy.from_options(spec.model, env.kind.tool, self._backend,
                                       question=task.expects_answer)

    def _policy(self, task: Task, env: Env) -> Policy:
        spec = self.config.policy
        if spec.kind == "replay":
            recording = Recording.load(recording_dir(spec, task.id, task.seed or 0))
            return ReplayPolicy(recording, env,
                                fallback=self._qwen(task, env) if spec.model.given else None)
        if spec.kind == "oracle":
            if not task.has_oracle():
                raise EvalError(f"{task.id} has no oracle")
            return ScriptedPolicy(task.oracle(env), name="oracle")
        if spec.kind == "random":
            return RandomPolicy(seed=spec.seed)
        return self._qwen(task, env)

    def run(self, task_id: str, seed: int) -> InstanceResult:
        started = time.perf_counter()
        task_cls = self.suite.task(task_id)
        base = dict(instance=instance_id(task_id, seed), task=task_id, family=task_cls.family,
                    seed=seed, worker=self.worker)
        run_dir = self.config.out / "runs" / run_dir_name(task_id, seed)
        task = task_cls.from_seed(seed)
        try:
            env = self.env
            task.setup(env)
            policy = self._policy(task, env)
            meta = RunMeta(goal=task.goal, env=env.kind.value, tool=env.kind.tool,
                           model=policy.name, started_at=now_iso(),
                           options={"suite": self.config.suite, "task": task_id, "seed": seed})
            max_steps = self.config.max_steps or task.max_steps
            if isinstance(policy, ReplayPolicy):
                meta.replay_of = str(policy.recording.run_dir.resolve())
                meta.stats = policy.stats  # the policy counts into it as the run goes
                max_steps = replay_budget(policy.recording, max_steps)
            osworld = _osworld_format(task, env)
            recorder = RunRecorder(run_dir, replace=True, osworld=osworld)
            trajectory = run_episode(env, policy, task.goal, max_steps=max_steps,
                                     recorder=recorder, meta=meta,
                                     stop_when=lambda: task.episode_over(env))
            if recorder.report_error is not None:  # a full disk: no instance without its report
                raise recorder.report_error
            if trajectory.status in ("error", "interrupted"):
                self.close()  # the env may be broken; the next instance gets a fresh one
                return InstanceResult(**base, outcome="error", status=trajectory.status,
                                      steps=len(trajectory.steps), goal=task.goal,
                                      usage=trajectory.meta.usage,
                                      message=trajectory.meta.message, report=_report(run_dir, self.config),
                                      duration_s=time.perf_counter() - started, finished_at=now_iso())
            score = task.evaluate(env, trajectory)
            if osworld:
                write_result(run_dir, score)
            task.teardown(env)
            return InstanceResult(
                **base, outcome="success" if score >= 1.0 else "failure", score=score,
                status=trajectory.status, steps=len(trajectory.steps), goal=task.goal,
                answer=trajectory.meta.answer, message=trajectory.meta.message,
                usage=trajectory.meta.usage,
                report=_report(run_dir, self.config), duration_s=time.perf_counter() - started,
                finished_at=now_iso())
        except StorageError as exc:  # the run directory is full: the whole run must stop
            return InstanceResult(**base, outcome="error", status="storage", message=str(exc),
                                  report=_report(run_dir, self.config), goal=_goal_or_none(task),
                                  duration_s=time.perf_counter() - started, finished_at=now_iso())
        except Exception as exc:  # noqa: BLE001 - one instance must not stop the run
            self.close()
            message = str(exc) if isinstance(exc, QvlError) else \
                f"{exc.__class__.__name__}: {exc} ({_where(exc)})"
            return InstanceResult(**base, outcome="error", status="crashed", message=message,
                                  report=_report(run_dir, self.config),
                                  goal=_goal_or_none(task),
                                  duration_s=time.perf_counter() - started, finished_at=now_iso())


def _osworld_format(task: Task, env: Env) -> bool:
    """OSWorld's task format or a desktop: the run also gets OSWorld's traj.jsonl and result.txt."""
    return isinstance(task, DeclarativeTask) or env.kind is EnvKind.desktop


def _goal_or_none(task: Task) -> str | None:
    try:
        return task.goal
    except QvlError:
        return None  # a goal that only setup can know (a MiniWoB utterance)


def _report(run_dir: Path, config: EvalConfig) -> str | None:
    report = run_dir / "report.html"
    return str(report.relative_to(config.out)) if report.is_file() else None


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "no traceback"
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


def worker_main(config_json: str, worker: int, inbox: Queue, outbox: Queue, parent: int) -> None:
    """Entry point of a worker process (spawned): serve instances until told to stop."""
    config = EvalConfig.model_validate_json(config_json)
    runner = InstanceRunner(config, worker)
    try:
        runner.prepare()
        while True:
            try:
                message = inbox.get(timeout=1.0)
            except queue.Empty:
                if os.getppid() != parent:
                    return  # the parent died (killed run): do not linger as an orphan
                continue
            if message is None:
                return
            task_id, seed = message
            outbox.put(("started", worker, instance_id(task_id, seed), os.getpid()))
            result = runner.run(task_id, seed)
            outbox.put(("done", worker, result.model_dump_json(), os.getpid()))
    except KeyboardInterrupt:
        return
    finally:
        runner.close()

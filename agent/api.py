"""``Agent`` and ``RunResult``: the agent of the Python API (``qvl_agent.Agent``).

``qvl-agent run`` is a thin layer over ``Agent.run`` (``agent.runner.run_goal``), so a run
from Python writes the same run directory, with the same trajectory and report.

Neither is thread-safe and there is no async API: an ``Agent`` runs one goal at a time in
the calling thread. Use one ``Agent`` and one screen per thread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.agent.hooks import Hooks, StepHook, hook_list
from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.oversight import Confirm, Oversight
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import RunRecorder, default_run_dir
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Status, Step, Trajectory, now_iso
from qvl_agent.agent.usage import Budget, BudgetName, Usage
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.validation import validated
from qvl_agent.model.backend import VLMBackend
from qvl_agent.model.grounding import GroundingResult, locate
from qvl_agent.model.options import ModelOptions

__all__ = ["Agent", "RunResult", "RunStatus", "run_status"]

RunStatus = Literal["done", "answered", "stuck", "budget", "stopped", "error"]

# The run's own status (meta.json, ``RunResult.outcome``) -> the API's coarser one.
_STATUS: dict[str, RunStatus] = {
    "success": "done", "failure": "done", "env_done": "done", "answered": "answered",
    "stuck": "stuck", "budget": "budget", "max_steps": "budget", "stopped": "stopped",
    "interrupted": "stopped", "model_errors": "error", "error": "error", "running": "error",
}


def run_status(outcome: Status) -> RunStatus:
    """The API's status for a run's own status (``RunResult.status`` of ``outcome``)."""
    return _STATUS[outcome]


class RunResult(BaseModel):
    """How a run ended, what it did and what it cost; its files are in ``run_dir``.

    ``status`` is one of: ``done`` (the agent terminated, or the environment ended the
    episode: ``succeeded`` says whether it claimed success), ``answered`` (``answer`` holds
    it), ``stuck`` (the same action on an unchanged screen after being told), ``budget``
    (``budget`` says which was used up), ``stopped`` (a hook raised ``StopRun``, or Ctrl-C),
    ``error`` (the screen, the model server or a hook failed, or the model's answers could
    not be used; ``message`` says why). ``outcome`` is the run's own, finer status, as
    ``meta.json`` and the report show it.
    """

    model_config = ConfigDict(frozen=True)
    status: RunStatus
    outcome: Status = Field(description="the run's own status (meta.json)")
    succeeded: bool = Field(description="the agent said it succeeded, or answered")
    answer: str | None = None
    message: str | None = Field(None, description="why the run ended, when it says")
    budget: BudgetName | None = Field(None, description="status budget: which one")
    steps: list[Step] = Field(description="each step: action, raw answer, timings, usage")
    usage: Usage = Field(description="the run's totals (wall_s: the whole run)")
    run_dir: Path = Field(description="meta.json, trajectory.jsonl, step PNGs, report.html")

    @property
    def report(self) -> Path:
        """The run's ``report.html``."""
        return self.run_dir / "report.html"

    @classmethod
    def of(cls, trajectory: Trajectory, run_dir: Path) -> RunResult:
        meta = trajectory.meta
        return cls(status=run_status(meta.status), outcome=meta.status,
                   succeeded=trajectory.succeeded, answer=meta.answer, message=meta.message,
                   budget=meta.budget, steps=list(trajectory.steps),
                   usage=meta.usage or Usage(), run_dir=run_dir)


class Agent:
    """Qwen2.5-VL as an agent: ``run`` a goal on a screen, or ``ground`` a query on an image.

    Args:
        model: a hub id or a checkpoint folder, run here with transformers (needs
            ``pip install 'qvl-agent[local]'``); default ``Qwen/Qwen2.5-VL-3B-Instruct``.
        endpoint: an OpenAI-compatible server (vLLM, SGLang) instead, e.g.
            ``http://localhost:8000/v1``.
        backend: a backend already made (e.g. ``qvl_agent.model.scripted.ScriptedVLM`` in
            a test) instead of ``model`` or ``endpoint``.
        on_step_start, on_step_end: step hooks (a callable or a list of them) for every run
            of this agent; a run's own hooks are called after these.
        **options: the other model options of ``qvl-agent run``, by their field names:
            ``served_model``, ``min_pixels``, ``max_pixels``, ``torch_device``,
            ``history_images``, ``prompt`` (``cookbook``/``osworld``), ``answer_action``
            (``auto``/``on``/``off``), ``max_new_tokens``, ``speedup``, ``request_timeout``
            (seconds a server may take to answer).

    The model is loaded (or the server asked for its model) here, so a missing model fails
    at once. Not thread-safe: one run at a time, in the calling thread.

    Raises:
        ConfigError: a bad option, with the same one line ``qvl-agent run`` prints (options
            are named by their flags).
        ModelUnavailableError: no weights, or the server cannot be reached.
    """

    def __init__(self, model: str | None = None, *, endpoint: str | None = None,
                 backend: VLMBackend | None = None,
                 on_step_start: StepHook | Iterable[StepHook] | None = None,
                 on_step_end: StepHook | Iterable[StepHook] | None = None,
                 **options: Any) -> None:
        given = {"model": model, "endpoint": endpoint, **options}
        values = {k: v for k, v in given.items() if v is not None}
        if backend is not None and (model or endpoint):
            raise ConfigError("give a backend, or model/endpoint, not both")
        self._setup(validated(ModelOptions, values), backend, on_step_start, on_step_end)

    @classmethod
    def from_options(cls, options: ModelOptions, *, backend: VLMBackend | None = None) -> Agent:
        """An agent for model options validated elsewhere (``qvl-agent run``'s flags)."""
        agent = cls.__new__(cls)
        agent._setup(options, backend, None, None)
        return agent

    def _setup(self, options: ModelOptions, backend: VLMBackend | None,
               on_step_start: StepHook | Iterable[StepHook] | None,
               on_step_end: StepHook | Iterable[StepHook] | None) -> None:
        self.options = options
        self.backend: VLMBackend = backend if backend is not None else options.backend()
        self.on_step_start: list[StepHook] = hook_list(on_step_start)
        self.on_step_end: list[StepHook] = hook_list(on_step_end)

    @property
    def name(self) -> str:
        """The model, as runs record it."""
        return self.backend.name

    def run(self, goal: str, env: Env, *, max_steps: int = 15, max_tokens: int | None = None,
            max_seconds: float | None = None,
            on_step_start: StepHook | Iterable[StepHook] | None = None,
            on_step_end: StepHook | Iterable[StepHook] | None = None,
            out: str | Path | None = None, progress: bool = False,
            secrets: Secrets | Mapping[str, str] | None = None,
            confirm: Confirm | None = None,
            oversight: Oversight | None = None,
            record: Mapping[str, Any] | None = None) -> RunResult:
        """Work on ``goal`` on ``env`` until the agent is done or a budget is used up.

        Args:
            goal: what to do, in plain words (ending in ``?`` asks for an answer).
            env: an open screen (``qvl_agent.open_env``); it stays open.
            max_steps: executed actions (each tool call of an answer counts; unusable
                answers do not, and three in a row end the run).
            max_tokens: prompt + completion tokens of the whole run.
            max_seconds: wall-clock seconds of the whole run.
            on_step_start, on_step_end: this run's step hooks (``qvl_agent.agent.hooks``);
                raise ``qvl_agent.StopRun`` in one to end the run with status ``stopped``.
            out: the run directory (default ``runs/<time>-<goal>``); it must not hold a run.
            progress: print a line per step to stderr, as ``qvl-agent run`` does.
            secrets: what the model may type as ``<secret:NAME>``, as ``qvl-agent run
                --secret`` takes them: ``{"NAME": value, "NAME@example.com": value}`` (typed
                only on that site or app; a name ending in ``_TOTP`` types the current code);
                values reach the screen only, never the model or the record.
            confirm: ``confirm(step) -> bool``, asked before a risky action as ``run
                --confirm risky`` asks at the terminal (typing a secret, a target saying
                buy/pay/order/delete/remove/send/transfer/confirm/submit, ``terminate`` or
                ``answer``): ``step.action`` and ``step.confirmation`` (reason, target,
                screenshot) say what; False refuses it (the model is told), raising
                ``qvl_agent.StopRun`` stops the run.
            oversight: instead of ``confirm``, a person in full (``qvl_agent.Oversight``:
                ``mode`` never/risky/always, more ``patterns``, ``on_pause`` for
                ``oversight.request_pause()`` from another thread).
            record: further facts for ``meta.json``'s options (the CLI records the screen).

        Budgets are checked before each model call and each action: the first used up ends
        the run with status ``budget``. Whatever happens, the run directory is complete.

        Raises:
            ConfigError: a bad budget or secret, ``confirm`` with ``oversight``, or ``out``
                already holds a run.
        """
        if confirm is not None:
            if oversight is not None:
                raise ConfigError("give confirm= or oversight=, not both (an Oversight has "
                                  "its own confirm)")
            if not callable(confirm):
                raise ConfigError(f"confirm= takes a function of the step that returns True "
                                  f"or False, not {type(confirm).__name__}")
            oversight = Oversight(confirm=confirm, mode="risky")
        budget = validated(Budget, {"max_steps": max_steps, "max_tokens": max_tokens,
                                    "max_seconds": max_seconds})
        policy = QwenPolicy.from_options(self.options, env.kind.tool, self.backend,
                                         question=goal.rstrip().endswith("?"))
        if secrets is not None and not isinstance(secrets, Secrets):
            secrets = Secrets.from_mapping(secrets)
        # The default folder is named after the goal: never after a secret pasted into it.
        run_dir = Path(out) if out is not None else default_run_dir(
            secrets.redact(goal) if secrets else goal)
        recorder = RunRecorder(run_dir, osworld=env.kind is EnvKind.desktop)  # + OSWorld's traj.jsonl
        meta = RunMeta(goal=goal, env=env.kind.value, tool=env.kind.tool, model=policy.name,
                       started_at=now_iso(),
                       options={**budget.model_dump(exclude_none=True), **(record or {}),
                                **self.options.model_dump(exclude_none=True)})
        hooks = Hooks([*self.on_step_start, *hook_list(on_step_start)],
                      [*self.on_step_end, *hook_list(on_step_end)])
        episode = dict(max_steps=budget.max_steps, max_tokens=budget.max_tokens,
                       max_seconds=budget.max_seconds, recorder=recorder, meta=meta, hooks=hooks,
                       secrets=secrets, oversight=oversight)
        if progress:
            from qvl_agent.agent.progress import StepProgress

            with StepProgress(budget.max_steps) as bar:
                if oversight is not None:
                    oversight.suspend = bar.suspended  # the bar steps aside to ask
                trajectory = run_episode(env, policy, goal, on_step=bar, **episode)
        else:
            trajectory = run_episode(env, policy, goal, **episode)
        return RunResult.of(trajectory, run_dir)

    def ground(self, image: Image.Image | str | Path, query: str, *,
               box: bool = True) -> GroundingResult:
        """Where ``query`` ("the Submit button") is on ``image``, as ``qvl-agent ground``
        answers it: ``.items``, each with a ``point`` and (``box=True``) a ``box``
        ``(x1, y1, x2, y2)`` in the image's pixels; ``.point``/``.box`` are the first's.

        Raises:
            ConfigError: ``image`` is a path that cannot be read as an image.
            ModelBehaviorError: the answer holds no box or point, or one off the image.
        """
        return locate(self.backend, _picture(image), query, shape="box" if box else "point")


def _picture(image: Image.Image | str | Path) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    try:
        with Image.open(image) as opened:
            opened.load()
            return opened.convert("RGB")
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {image} as an image ({exc.__class__.__name__}); "
                          "give a PNG or JPEG screenshot") from None

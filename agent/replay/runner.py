"""``replay_run``: everything ``qvl-agent replay RUN_DIR`` does, as a function.

It opens the screen the run was recorded on (the recorded screen options, the user's flags
over them), replays the recorded actions through the loop (``ReplayPolicy``), and leaves a
run directory like any other, whose meta names the run it replayed (``replay_of``) and
counts what was replayed, re-planned and asked of the model (``stats``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.progress import StepProgress
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.replay.policy import ReplayPolicy
from qvl_agent.agent.replay.recording import Recording
from qvl_agent.agent.runner import default_run_dir
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Trajectory, now_iso
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.factory import open_env
from qvl_agent.model.options import ModelOptions

__all__ = ["ReplayOptions", "replay_run", "replay_budget"]


class ReplayOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run_dir: Path = Field(description="the recorded run")
    env: dict[str, Any] = Field(default_factory=dict, description="screen options over the "
                                "recorded ones (envs.spec field names), e.g. another device")
    model: ModelOptions | None = Field(None, description="who takes over where the screen no "
                                       "longer fits; None, or no --model/--endpoint: nobody")
    max_steps: int | None = Field(None, ge=1, le=500, description="None: the recorded run's")
    out: Path | None = None
    progress: bool = True


def replay_budget(recording: Recording, asked: int | None) -> int:
    """Steps enough to replay every recorded move and see the recording end."""
    recorded = recording.trajectory.meta.options.get("max_steps")
    budget = asked or (recorded if isinstance(recorded, int) else 15)
    actions = sum(1 + len(move.followups) for move in recording.moves)  # max_steps counts these
    return max(budget, actions + 1)


def replay_run(options: ReplayOptions, *, secrets: Secrets | None = None) -> tuple[Trajectory, Path]:
    """Replay one recorded run; return the new trajectory and its report's path.

    ``secrets`` give the values of the secrets the run typed (a recording keeps only their
    ``<secret:NAME>``); each one it typed must be among them.
    """
    recording = Recording.load(options.run_dir)
    missing = [n for n in recording.secret_names if n not in (secrets.names if secrets else [])]
    if missing:
        flags = " ".join(f"--secret {name}" for name in missing)
        raise ConfigError(f"{options.run_dir} typed the secret(s) {', '.join(missing)}, and a "
                          f"recording keeps no value; give them: {flags} (or --secrets-file)")
    if (instance := recording.instance) is not None:
        eval_dir = options.run_dir.resolve().parent.parent
        raise ConfigError(
            f"{options.run_dir} is an instance of an eval (suite {instance.suite}, task "
            f"{instance.task}, seed {instance.seed}); replay it with its task's set-up and check: "
            f"qvl-agent eval --suite {instance.suite} --replay {eval_dir} "
            f"--tasks '^{re.escape(instance.task)}$'")
    spec = recording.env_spec(options.env)
    kind = EnvKind(spec.kind)
    fallback = None
    if options.model is not None and options.model.given:
        fallback = QwenPolicy.from_options(options.model, kind.tool,
                                           question=recording.goal.rstrip().endswith("?"))
    goal = recording.goal
    max_steps = replay_budget(recording, options.max_steps)
    out = options.out or default_run_dir(f"replay {goal}")
    options_record: dict[str, Any] = {"max_steps": max_steps,
                                      "screen": spec.model_dump(mode="json", exclude_none=True)}
    if fallback is not None:
        options_record.update(options.model.model_dump(exclude_none=True))  # type: ignore[union-attr]
    with open_env(spec) as env:
        policy = ReplayPolicy(recording, env, fallback=fallback)
        meta = RunMeta(goal=goal, env=kind.value, tool=kind.tool, model=policy.name,
                       started_at=now_iso(), options=options_record,
                       replay_of=str(recording.run_dir.resolve()))
        meta.stats = policy.stats  # the policy counts into it as the run goes
        recorder = RunRecorder(out, osworld=kind is EnvKind.desktop)
        if options.progress:
            with StepProgress(max_steps) as progress:
                trajectory = run_episode(env, policy, goal, max_steps=max_steps,
                                         recorder=recorder, meta=meta, on_step=progress,
                                         secrets=secrets)
        else:
            trajectory = run_episode(env, policy, goal, max_steps=max_steps, recorder=recorder,
                                     meta=meta, secrets=secrets)
    return trajectory, out / "report.html"

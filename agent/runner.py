"""``run_goal``: everything ``qvl-agent run`` does, as a function (the CLI only parses flags)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.oversight import Oversight
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.progress import StepProgress
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Trajectory, now_iso
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.factory import open_env
from qvl_agent.envs.spec import BrowserSpec, DesktopSpec, EnvSpec
from qvl_agent.model.options import ModelOptions

__all__ = ["RunOptions", "run_goal", "default_run_dir"]


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    goal: str = Field(min_length=1)
    env: EnvSpec = Field(default_factory=BrowserSpec, description="the screen (envs.spec)")
    model: ModelOptions = Field(default_factory=ModelOptions)
    max_steps: int = Field(15, ge=1, le=500)
    out: Path | None = None
    progress: bool = True


def default_run_dir(goal: str, root: Path = Path("runs")) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", goal.lower()).strip("-")[:40] or "run"
    return root / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{slug}"


def run_goal(options: RunOptions, *, secrets: Secrets | None = None,
             oversight: Oversight | None = None) -> tuple[Trajectory, Path]:
    """Run one goal end to end; return the trajectory and the report's path.

    The model is loaded before the screen starts, so a missing model fails in a second.
    ``secrets`` and ``oversight`` go to ``run_episode`` (values are never in ``options``).
    """
    kind = EnvKind(options.env.kind)
    if isinstance(options.env, DesktopSpec):
        from qvl_agent.envs.xdisplay import parse_display_spec

        parse_display_spec(options.env.display)  # no display at all: one line before the model loads
    # A goal that ends with a question mark asks for an answer (--answer-action auto).
    policy = QwenPolicy.from_options(options.model, kind.tool,
                                     question=options.goal.rstrip().endswith("?"))
    out = options.out or default_run_dir(secrets.redact(options.goal) if secrets else options.goal)
    meta = RunMeta(goal=options.goal, env=kind.value, tool=kind.tool, model=policy.name,
                   started_at=now_iso(),
                   options={"max_steps": options.max_steps, **options.env.model_dump(exclude_none=True),
                            **options.model.model_dump(exclude_none=True)})
    with open_env(options.env) as env:
        recorder = RunRecorder(out)
        if options.progress:
            with StepProgress(options.max_steps) as progress:
                if oversight is not None:
                    oversight.suspend = progress.suspended  # the bar steps aside to ask
                trajectory = run_episode(env, policy, options.goal, max_steps=options.max_steps,
                                         recorder=recorder, meta=meta, on_step=progress,
                                         secrets=secrets, oversight=oversight)
        else:
            trajectory = run_episode(env, policy, options.goal, max_steps=options.max_steps,
                                     recorder=recorder, meta=meta, secrets=secrets,
                                     oversight=oversight)
    return trajectory, out / "report.html"

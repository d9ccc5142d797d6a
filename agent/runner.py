"""``run_goal``: everything ``qvl-agent run`` does, as a function (the CLI only parses flags).

It is the Python API's ``Agent.run`` on a screen opened from the run's spec: the one loop.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.agent.api import Agent, RunResult
from qvl_agent.agent.oversight import Oversight
from qvl_agent.agent.recorder import default_run_dir
from qvl_agent.agent.secrets import Secrets
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
    max_tokens: int | None = Field(None, ge=1)
    max_seconds: float | None = Field(None, gt=0)
    out: Path | None = None
    progress: bool = True


def run_goal(options: RunOptions, *, secrets: Secrets | None = None,
             oversight: Oversight | None = None) -> RunResult:
    """Run one goal end to end; the result says how it ended and where its report is.

    The model is loaded before the screen starts, so a missing model fails in a second.
    ``secrets`` and ``oversight`` go to the loop (values are never in ``options``).
    """
    if isinstance(options.env, DesktopSpec):
        from qvl_agent.envs.xdisplay import parse_display_spec

        parse_display_spec(options.env.display)  # no display at all: one line before the model loads
    agent = Agent.from_options(options.model)
    with open_env(options.env) as env:
        return agent.run(options.goal, env, max_steps=options.max_steps,
                         max_tokens=options.max_tokens, max_seconds=options.max_seconds,
                         out=options.out, progress=options.progress, secrets=secrets,
                         oversight=oversight, record=options.env.model_dump(exclude_none=True))

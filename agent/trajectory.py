"""What a run leaves behind, as data: ``Step``, ``Trajectory``, ``RunMeta``.

A run directory holds ``meta.json`` (a ``RunMeta``), ``trajectory.jsonl`` (one ``Step`` per
line, appended as the run goes), ``step_NNN.png`` screenshots and ``report.html``.

Each step keeps what a replay needs to trust it again (``agent.replay``): the screenshot
taken before the action and, where the screen has a DOM or an accessibility tree, the
element under the point the action pressed (``Step.target``). A replayed run marks each
step as replayed, re-planned by the model, or where it diverged (``Step.replay``).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from qvl_agent.agent.usage import BudgetName, Usage
from qvl_agent.envs.actions import Action
from qvl_agent.envs.base import Observation, Size
from qvl_agent.envs.errors import ConfigError

__all__ = [
    "Status", "Timings", "Confirmation", "HumanTurn", "Element", "ReplayMark", "Step", "RunMeta",
    "Trajectory", "load_run", "now_iso", "SUCCESS_STATUSES",
]

Status = Literal[
    "running",      # not finished (or the process died before it could say)
    "success",      # the agent terminated with status success
    "failure",      # the agent terminated with status failure (it judged the goal impossible)
    "answered",     # the agent gave an answer
    "env_done",     # the environment ended the episode itself (e.g. a MiniWoB page)
    "budget",       # a budget (max_steps, max_tokens, max_seconds) was used up; see ``budget``
    "model_errors",  # too many unusable answers in a row
    "stuck",        # the same action on an unchanged screen, again after being told
    "stopped",      # a step hook raised StopRun
    "error",        # the env or the model server failed, or a hook raised; see ``message``
    "interrupted",  # Ctrl-C, or killed by a time limit
    "diverged",     # a replay met a step that no longer fits the screen, and had no model
    "max_steps",    # runs recorded before budgets: the step budget ran out (now ``budget``)
]
SUCCESS_STATUSES = frozenset({"success", "answered"})


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class Timings(BaseModel):
    """Seconds spent in each part of a step."""

    observe_s: float = 0.0
    think_s: float = Field(0.0, description="frame, prompt, model and parse together")
    model_s: float = Field(0.0, description="the backend's generate call alone")
    execute_s: float = 0.0
    wall_s: float = Field(0.0, description="the whole step, start to end")


class Confirmation(BaseModel):
    """A person was asked before this step's action (``--confirm``, or ``confirm=`` in Python)."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(description="why it was asked: a secret, a risky word, the end of the task")
    target: str | None = Field(None, description="the text of the element the action is on")
    screenshot: str | None = Field(None, description="the screenshot the action was decided on")
    answer: Literal["yes", "no", "stop"] | None = Field(None, description="None while asking")
    waited_s: float = 0.0


class HumanTurn(BaseModel):
    """A person's turn in the run: it paused (Ctrl-C once) and they resumed, advised or stopped."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["pause"] = "pause"
    decision: Literal["resume", "advice", "stop"]
    advice: str | None = Field(None, description="given to the model as the user's message")
    paused_s: float = Field(0.0, description="how long the run waited for the person")


class Element(BaseModel):
    """What was under an action's point when it ran, as the screen itself describes it: a
    browser's DOM element or a phone's uiautomator node. A replay checks it is still there."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["dom", "uia"]
    name: str = Field("", description="dom: the accessible name; uia: text, else content-desc")
    role: str = Field("", description="dom: button, input, link, checkbox, switch or any; "
                      "uia: the node's class")
    id: str = Field("", description="dom: the id attribute; uia: the resource-id")
    xpath: str | None = Field(None, description="dom: where the element sits in the page")
    box: tuple[float, float, float, float] | None = Field(
        None, description="x1, y1, x2, y2 in screen coordinates")


class ReplayMark(BaseModel):
    """How a replay got this step: the recording's action, the model's, or neither."""

    model_config = ConfigDict(extra="forbid")
    source: Literal["replayed", "replanned", "diverged"] = Field(
        description="replayed: the recorded action, checked against the screen first; "
        "replanned: the model decided (the recording no longer fitted); diverged: the replay "
        "stopped here")
    recorded_step: int | None = Field(None, description="the step of the recorded run")
    note: str | None = Field(None, description="how the check went: why a step no longer "
                             "fitted, or that its target moved")
    recorded: Action | None = Field(None, description="diverged: the action not executed")


class Step(BaseModel):
    """One observe-think-act step, or a person's turn (``human`` set, nothing else acted)."""

    model_config = ConfigDict(extra="forbid")
    index: int = Field(ge=1)
    call_index: int = Field(0, ge=0, description="0: the answer's first tool call; i: its "
                            "(i+1)-th, executed after the first without a new screenshot")
    started_at: str
    screenshot: str | None = Field(None, description="PNG file name in the run directory")
    screen: Size | None = None
    screenshot_size: tuple[int, int] | None = None
    frame: tuple[int, int] | None = Field(None, description="the image size the model saw")
    raw: str | None = Field(None, description="the model's text, verbatim")
    call: dict[str, Any] | None = Field(None, description="the parsed tool call (frame pixels)")
    action: Action | None = Field(None, description="what was executed (screen coordinates)")
    error: str | None = None
    error_kind: str | None = Field(None, description="the error's class, e.g. ActionParseError")
    warning: str | None = Field(None, description="told to the model on its next step, "
                                "e.g. that it repeats itself")
    timings: Timings = Field(default_factory=Timings)
    prompt_tokens: int | None = None
    image_tokens: int | None = Field(None, description="of prompt_tokens, the screenshots'")
    completion_tokens: int | None = None
    extras: dict[str, Any] = Field(default_factory=dict, description="env facts, e.g. the URL")
    confirmation: Confirmation | None = Field(None, description="what the person was asked first")
    human: HumanTurn | None = Field(None, description="set on a person's turn (a pause)")
    target: Element | None = Field(None, description="what was under the point the action "
                                   "pressed (browser and phone screens)")
    replay: ReplayMark | None = Field(None, description="replays only")
    _observation: Observation | None = PrivateAttr(None)

    @property
    def observation(self) -> Observation | None:
        """What the model was shown for this step: set while the step's ``on_step_end``
        hooks run, then dropped (not recorded; the screenshot's PNG is)."""
        return self._observation

    @property
    def usage(self) -> Usage:
        """What this step cost. A further tool call of an answer costs no tokens (the
        answer's first step carries them)."""
        t = self.timings
        asked = self.prompt_tokens is not None or (self.raw is not None and self.call_index == 0)
        return Usage(model_calls=int(asked), prompt_tokens=self.prompt_tokens or 0,
                     image_tokens=self.image_tokens or 0,
                     completion_tokens=self.completion_tokens or 0, model_s=t.model_s,
                     screen_s=t.observe_s + t.execute_s, wall_s=t.wall_s)


class RunMeta(BaseModel):
    """The run as a whole: what was asked, with what, and how it ended."""

    model_config = ConfigDict(extra="forbid")
    goal: str
    env: str
    tool: str
    model: str
    options: dict[str, Any] = Field(default_factory=dict)
    started_at: str
    finished_at: str | None = None
    status: Status = "running"
    answer: str | None = None
    message: str | None = Field(None, description="why it ended, for error and model_errors")
    budget: BudgetName | None = Field(None, description="status budget: which one was used up")
    steps: int = 0
    usage: Usage | None = Field(None, description="the run's totals (wall_s: the whole run)")
    stats: dict[str, int] | None = Field(
        None, description="rpa runs: model_calls, locate_calls, cache_hits, cache_misses; "
        "replays: replayed, replanned, model_calls")
    replay_of: str | None = Field(None, description="replays: the run directory replayed")


class Trajectory(BaseModel):
    meta: RunMeta
    steps: list[Step] = Field(default_factory=list)

    @property
    def status(self) -> Status:
        return self.meta.status

    @property
    def succeeded(self) -> bool:
        return self.meta.status in SUCCESS_STATUSES


def load_run(run_dir: str | Path) -> Trajectory:
    """Read a run directory back. A line cut off by a crash is skipped, not fatal."""
    run_dir = Path(run_dir)
    meta_file = run_dir / "meta.json"
    if not meta_file.is_file():
        raise ConfigError(f"{run_dir} is not a run directory: it has no meta.json")
    meta = RunMeta.model_validate_json(meta_file.read_text(encoding="utf-8"))
    steps: list[Step] = []
    lines_file = run_dir / "trajectory.jsonl"
    if lines_file.is_file():
        for line in lines_file.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                steps.append(Step.model_validate(json.loads(line)))
            except ValueError:
                continue  # the last line of a run killed mid-write
    return Trajectory(meta=meta, steps=steps)

"""A recorded run, read back for replaying: its moves, its screenshots, its screen.

A *move* is what one turn of the loop did: a step's action and the further tool calls of the
same answer, which ran right after it without a new look (``call_index`` > 0). Steps whose
answer could not be used did nothing and are left out, as is the step where an earlier
replay stopped (it did nothing either).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from qvl_agent.agent.secrets import PLACEHOLDER
from qvl_agent.agent.trajectory import Step, Trajectory, load_run
from qvl_agent.envs.actions import TypeText
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import EnvSpec, env_spec

__all__ = ["Move", "Recording", "EvalInstance"]


@dataclass
class Move:
    """One turn of the recorded run: ``step``'s action, then ``followups``' in order."""

    step: Step
    followups: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class EvalInstance:
    """The task instance an eval's run directory was made for."""

    suite: str
    task: str
    seed: int


class Recording:
    """A run directory to replay (``Recording.load``)."""

    def __init__(self, run_dir: Path, trajectory: Trajectory) -> None:
        self.run_dir = run_dir
        self.trajectory = trajectory
        self.moves = _moves(trajectory.steps)

    @classmethod
    def load(cls, run_dir: str | Path) -> "Recording":
        """Read ``run_dir``; a ConfigError when it is not a run, or did nothing to replay."""
        run_dir = Path(run_dir)
        trajectory = load_run(run_dir)
        recording = cls(run_dir, trajectory)
        if not recording.moves:
            raise ConfigError(f"{run_dir} has no action to replay (its run ended with "
                              f"{trajectory.meta.status} after {len(trajectory.steps)} step(s))")
        return recording

    @property
    def secret_names(self) -> list[str]:
        """The secrets the run typed (as ``<secret:NAME>``), in the order it first typed them."""
        names: list[str] = []
        for move in self.moves:
            for step in (move.step, *move.followups):
                if isinstance(step.action, TypeText):
                    names += [n for n in PLACEHOLDER.findall(step.action.text) if n not in names]
        return names

    @property
    def goal(self) -> str:
        return self.trajectory.meta.goal

    @property
    def instance(self) -> EvalInstance | None:
        """The eval instance this run was (an eval writes suite, task and seed in its meta)."""
        options = self.trajectory.meta.options
        if {"suite", "task", "seed"} <= options.keys():
            return EvalInstance(suite=str(options["suite"]), task=str(options["task"]),
                                seed=int(options["seed"]))
        return None

    def screenshot(self, step: Step) -> Image.Image | None:
        """The screenshot ``step`` was decided on, or None (not kept, or unreadable)."""
        if not step.screenshot:
            return None
        try:
            with Image.open(self.run_dir / step.screenshot) as image:
                return image.convert("RGB")
        except OSError:
            return None

    def env_spec(self, overrides: dict[str, Any] | None = None) -> EnvSpec:
        """The screen the run was recorded on, with ``overrides`` (the user's flags) applied.

        A ``run`` keeps its screen's options in its meta; an eval instance's are in the eval's
        ``eval.json`` two folders up.
        """
        meta = self.trajectory.meta
        values: dict[str, Any] = {"kind": meta.env}
        recorded = meta.options.get("screen")
        if isinstance(recorded, dict):  # rpa runs, and runs that name it
            values.update(recorded)
        elif self.instance is not None:
            values.update(self._eval_screen())
        else:
            from qvl_agent.envs.spec import BrowserSpec, AndroidSpec, DesktopSpec

            fields = {"browser": BrowserSpec, "android": AndroidSpec,
                      "desktop": DesktopSpec}[meta.env].model_fields
            values.update({k: v for k, v in meta.options.items() if k in fields and k != "kind"})
            if isinstance(values.get("device"), dict):  # the phone's facts, when no serial was asked
                values["device"] = values["device"].get("serial")
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        values["kind"] = meta.env
        return env_spec(values)

    def _eval_screen(self) -> dict[str, Any]:
        path = self.run_dir.parent.parent / "eval.json"
        try:
            screen = json.loads(path.read_text(encoding="utf-8")).get("env") or {}
        except (OSError, ValueError):
            return {}
        return screen if isinstance(screen, dict) else {}


def _moves(steps: list[Step]) -> list[Move]:
    moves: list[Move] = []
    current: Move | None = None
    for step in steps:
        done = step.error is None and step.action is not None
        if step.call_index == 0:
            current = Move(step) if done else None
            if current is not None:
                moves.append(current)
        elif current is not None:
            if not done:
                current = None  # the answer's calls stopped at this one
            else:
                current.followups.append(step)
    return moves

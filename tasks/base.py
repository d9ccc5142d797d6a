"""``Task``: what to do, how to start, and how to tell from the environment that it was done.

Lifecycle (AndroidWorld's, with its order checks): ``setup(env)`` -> the agent runs ->
``evaluate(env, trajectory)`` -> ``teardown(env)``. Evaluating before setup, or twice
setting up, is a ``TaskError``.

Scoring rules (invariant 5), applied here once for every task:
- success counts only if the agent ended the episode: it terminated, answered, or the
  environment itself ended it (a MiniWoB page);
- an infeasible task is solved only by ``terminate(failure)``;
- otherwise the task's own check reads the environment's real state (``check``).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import TaskError

__all__ = ["Task", "TaskParams", "NoParams", "ENDED_BY_AGENT"]

ENDED_BY_AGENT = frozenset({"success", "answered", "env_done"})


class TaskParams(BaseModel):
    """A task's parameters; each task subclasses it. Sampled from a seed, so reproducible."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(TaskParams):
    pass


class Task:
    """Base class of every task. Subclasses set the class attributes and implement
    ``sample_params``, ``goal``, ``check`` and usually ``_setup`` and ``oracle``.
    """

    id: ClassVar[str]
    family: ClassVar[str] = "default"
    env_kind: ClassVar[EnvKind]
    max_steps: ClassVar[int] = 15
    infeasible: ClassVar[bool] = False
    # The task is a question: success is read from the agent's answer (--answer-action auto
    # offers the model the answer action for these).
    expects_answer: ClassVar[bool] = False
    Params: ClassVar[type[TaskParams]] = NoParams

    def __init__(self, params: TaskParams, seed: int | None = None) -> None:
        if not isinstance(params, self.Params):
            raise TypeError(f"{self.id} takes {self.Params.__name__}, got {type(params).__name__}")
        self.params = params
        self.seed = seed
        self._stage = "new"

    @classmethod
    def from_seed(cls, seed: int) -> "Task":
        return cls(cls.sample_params(random.Random(f"{cls.id}:{seed}")), seed=seed)

    @classmethod
    def sample_params(cls, rng: random.Random) -> TaskParams:
        return cls.Params()

    @property
    def goal(self) -> str:
        raise NotImplementedError

    @classmethod
    def has_oracle(cls) -> bool:
        return cls.oracle is not Task.oracle

    # -- lifecycle, with order checks ------------------------------------------------

    def setup(self, env: Env) -> None:
        if self._stage != "new":
            raise TaskError(f"{self.id}: setup() called twice")
        if env.kind is not self.env_kind:
            raise TaskError(f"{self.id} needs a {self.env_kind.value} env, got {env.kind.value}")
        self._setup(env)
        self._stage = "ready"

    def evaluate(self, env: Env, trajectory: Trajectory) -> float:
        """The score in [0, 1], read from the env's state and the way the episode ended."""
        if self._stage != "ready":
            raise TaskError(f"{self.id}: evaluate() before setup()")
        status = trajectory.meta.status
        if self.infeasible:
            return 1.0 if status == "failure" else 0.0
        if status not in ENDED_BY_AGENT:
            return 0.0
        env.settle()
        score = float(self.check(env, trajectory))
        if not 0.0 <= score <= 1.0:
            raise TaskError(f"{self.id}: check() returned {score}, not a score in [0, 1]")
        return score

    def teardown(self, env: Env) -> None:
        if self._stage == "ready":
            self._teardown(env)
        self._stage = "done"

    # -- what subclasses implement ---------------------------------------------------

    def _setup(self, env: Env) -> None:
        """Bring the env to the task's start state."""

    def check(self, env: Env, trajectory: Trajectory) -> float:
        """Read the env's real state: 1.0 done, 0.0 not (or partial credit in between)."""
        raise NotImplementedError

    def _teardown(self, env: Env) -> None:
        """Undo what setup changed, where the env is reused."""

    def episode_over(self, env: Env) -> bool:
        """True when the environment has ended the episode on its own (MiniWoB pages do)."""
        return False

    def oracle(self, env: Env) -> Iterator[Action]:
        """Actions (screen coordinates, through the env) that solve the task; may read the env."""
        raise NotImplementedError(f"{self.id} has no oracle")
        yield  # pragma: no cover - makes this a generator

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "seed": self.seed, "params": self.params.model_dump(), "goal": self.goal}

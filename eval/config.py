"""What an evaluation run is asked to do, and what one instance's result is (the JSONL line)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from qvl_agent.agent.usage import Usage
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import EnvSpec
from qvl_agent.model.options import ModelOptions

__all__ = ["PolicySpec", "EvalConfig", "InstanceResult", "instance_id", "run_dir_name", "Outcome",
           "parse_seeds"]

Outcome = Literal["success", "failure", "error"]


def instance_id(task_id: str, seed: int) -> str:
    return f"{task_id}#{seed}"


def run_dir_name(task_id: str, seed: int) -> str:
    """A folder name for an instance: readable, and unique (``a/b`` and ``a_b`` differ)."""
    readable = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{task_id}-{seed}")
    digest = hashlib.sha1(instance_id(task_id, seed).encode()).hexdigest()[:6]
    return f"{readable}-{digest}"


def parse_seeds(text: str) -> tuple[int, int]:
    """``--seeds``: ``N`` (seeds 0..N-1) or ``A:B`` (seeds A..B-1, as a Python range) to
    ``(first seed, count)``. Raises ``ConfigError`` naming the accepted forms."""
    first, sep, end = text.strip().partition(":")
    try:
        values = (0, int(first)) if not sep else (int(first), int(end) - int(first))
    except ValueError:
        values = (-1, 0)
    if values[0] < 0 or values[1] < 1:
        raise ConfigError(f"--seeds {text!r}: give a count N (seeds 0..N-1, N >= 1) or a range "
                          "A:B (seeds A..B-1, 0 <= A < B), e.g. --seeds 20 or --seeds 100:120")
    return values


class PolicySpec(BaseModel):
    """Which policy the workers build (each worker builds its own)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["qwen", "oracle", "random", "replay"] = "qwen"
    model: ModelOptions = Field(default_factory=ModelOptions)
    seed: int = 0
    replay: Path | None = Field(None, description="replay: the earlier eval's directory, whose "
                                "instances are replayed (the model takes over where a step no "
                                "longer fits when --model/--endpoint is given)")
    replay_seed: int | None = Field(None, ge=0, description="replay: the seed whose recording "
                                    "every seed replays (None: each instance its own)")

    @model_validator(mode="after")
    def _replay_needs_a_run(self) -> "PolicySpec":
        if (self.kind == "replay") != (self.replay is not None):
            raise ValueError("--replay RUN_DIR goes with the replay policy, and it needs one")
        return self


class EvalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    suite: str
    tasks: str | None = Field(None, description="regular expression over task ids")
    seeds: int = Field(1, ge=1, le=10_000, description="how many seeds per task")
    first_seed: int = Field(0, ge=0, description="seeds first_seed..first_seed+seeds-1 "
                            "(--seeds A:B names held-out seeds)")
    policy: PolicySpec = Field(default_factory=PolicySpec)
    workers: int = Field(1, ge=1, le=64)
    executor: Literal["local", "ray"] = Field(
        "local", description="local: worker processes on this machine; ray: actors on a Ray cluster")
    ray_address: str | None = Field(
        None, description="a Ray cluster to join (auto, host:port, ray://host:10001); "
                          "none starts a local Ray for the run")
    out: Path
    resume: bool = False
    resume_keep_errors: bool = Field(False, description="--resume: keep the instances whose "
                                     "outcome is error instead of running them again")
    time_limit_s: float = Field(600.0, gt=0, description="per instance; the worker is killed after it")
    max_steps: int | None = Field(None, ge=1, description="overrides each task's own step budget")
    env: EnvSpec | None = Field(None, description="the screen each worker opens (envs.spec); "
                                "None: the suite's own, filled in when the run starts")


class InstanceResult(BaseModel):
    """One line of results.jsonl."""

    model_config = ConfigDict(extra="forbid")
    instance: str
    task: str
    family: str
    seed: int
    outcome: Outcome = Field(description="error: the harness, the env or a crash, not the agent")
    score: float = 0.0
    status: str = Field(description="how the episode ended (trajectory status, timeout, crashed)")
    steps: int = 0
    duration_s: float = 0.0
    goal: str | None = None
    answer: str | None = None
    message: str | None = None
    report: str | None = Field(None, description="the instance's report.html, relative to the run dir")
    usage: Usage | None = Field(None, description="the episode's tokens and time (None: it did "
                                "not get to the end, e.g. killed)")
    worker: int | None = None
    finished_at: str

"""``eval --replay RUN_DIR``: each instance replayed from its own recorded trajectory.

An earlier eval's directory holds its options (``eval.json``) and one run directory per
instance (``runs/<task>-<seed>-<hash>``). A replay runs the same suite on the same screen
(the recorded one, the user's flags over it) with the recordings as the policy; instances
with no recording are not planned. ``--replay-seed S`` replays seed S's recording on every
seed, to see whether a recording carries over to other instances of its task.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import EnvSpec, updated
from qvl_agent.eval.config import EvalConfig, PolicySpec, run_dir_name

__all__ = ["recorded_eval", "recording_dir", "replay_screen", "recorded"]


def recorded_eval(run_dir: Path) -> EvalConfig:
    """The options of the eval in ``run_dir``; a ConfigError when it is not one."""
    path = Path(run_dir) / "eval.json"
    if not path.is_file():
        raise ConfigError(f"--replay {run_dir}: not an eval's directory (it has no eval.json); "
                          "give the --out of an earlier `qvl-agent eval`")
    try:
        return EvalConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError):
        raise ConfigError(f"{path} was not written by this version of qvl-agent (or was "
                          "edited); it cannot be replayed") from None


def recording_dir(policy: PolicySpec, task_id: str, seed: int) -> Path:
    """Where the recording that instance (``task_id``, ``seed``) replays lives."""
    assert policy.replay is not None
    used = policy.replay_seed if policy.replay_seed is not None else seed
    return policy.replay / "runs" / run_dir_name(task_id, used)


def recorded(policy: PolicySpec, task_id: str, seed: int) -> bool:
    return (recording_dir(policy, task_id, seed) / "meta.json").is_file()


def replay_screen(run_dir: Path, suite: str, flags: dict[str, Any]) -> EnvSpec:
    """The screen the recorded eval ran on, with the user's ``flags`` over it."""
    before = recorded_eval(run_dir)
    if Path(before.suite).name != Path(suite).name:
        raise ConfigError(f"--replay {run_dir} recorded suite {before.suite!r}, not {suite!r}")
    if before.env is None:
        raise ConfigError(f"{run_dir}/eval.json does not say which screen it ran on")
    return updated(before.env, flags) if flags else before.env

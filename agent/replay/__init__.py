"""Replaying a recorded run without the model, checking each step against the screen first;
the model takes over where a step no longer fits (or the replay stops there, ``diverged``)."""

from qvl_agent.agent.replay.fit import Fit, check
from qvl_agent.agent.replay.policy import ReplayPolicy
from qvl_agent.agent.replay.recording import EvalInstance, Move, Recording
from qvl_agent.agent.replay.runner import ReplayOptions, replay_budget, replay_run

__all__ = ["Fit", "check", "ReplayPolicy", "EvalInstance", "Move", "Recording", "ReplayOptions",
           "replay_budget", "replay_run"]

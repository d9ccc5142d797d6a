"""Policies, the observe-think-act loop, trajectories and reports, and the CLI."""

from agent.describe import describe
from agent.loop import run_episode
from agent.policy import Decision, Policy, PolicyExhausted, QwenPolicy, ScriptedPolicy
from agent.recorder import RunRecorder
from agent.report import write_report
from agent.runner import EnvOptions, ModelOptions, RunOptions, run_goal
from agent.trajectory import RunMeta, Step, Timings, Trajectory, load_run

__all__ = [
    "describe", "run_episode", "Decision", "Policy", "PolicyExhausted", "QwenPolicy",
    "ScriptedPolicy", "RunRecorder", "write_report", "EnvOptions", "ModelOptions", "RunOptions",
    "run_goal", "RunMeta", "Step", "Timings", "Trajectory", "load_run",
]

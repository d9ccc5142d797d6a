"""Policies, the observe-think-act loop, trajectories and reports, and the CLI."""

from qvl_agent.agent.describe import describe
from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.oversight import Oversight, StopRun
from qvl_agent.agent.policy import Decision, Policy, PolicyExhausted, QwenPolicy, ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.report import write_report
from qvl_agent.agent.runner import RunOptions, run_goal
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Step, Timings, Trajectory, load_run

__all__ = [
    "describe", "run_episode", "Decision", "Policy", "PolicyExhausted", "QwenPolicy",
    "ScriptedPolicy", "RunRecorder", "write_report", "RunOptions",
    "run_goal", "RunMeta", "Step", "Timings", "Trajectory", "load_run", "Oversight", "StopRun",
    "Secrets",
]

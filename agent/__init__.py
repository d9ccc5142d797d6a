"""Policies, the observe-think-act loop, trajectories and reports, usage and budgets, step
hooks, secrets and a person in the loop, and the Python API's Agent."""

from qvl_agent.agent.api import Agent, RunResult
from qvl_agent.agent.describe import describe
from qvl_agent.agent.hooks import Hooks
from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.oversight import Oversight, StopRun
from qvl_agent.agent.policy import Decision, Policy, PolicyExhausted, QwenPolicy, ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.report import write_report
from qvl_agent.agent.runner import RunOptions, run_goal
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Step, Timings, Trajectory, load_run
from qvl_agent.agent.usage import Budget, Usage

__all__ = [
    "Agent", "RunResult", "Hooks", "StopRun", "Budget", "Usage", "describe", "run_episode",
    "Decision", "Policy", "PolicyExhausted", "QwenPolicy", "ScriptedPolicy", "RunRecorder",
    "write_report", "RunOptions", "run_goal", "RunMeta", "Step", "Timings", "Trajectory",
    "load_run", "Oversight", "Secrets",
]

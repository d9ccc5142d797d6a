"""Running suites at scale: workers here or on Ray, results.jsonl with resume, metrics, summaries.

``eval.ray_executor`` (``--executor ray``) needs the optional extra ``qvl-agent[ray]``; it is
imported only when a run asks for it.
"""

from qvl_agent.eval.config import EvalConfig, InstanceResult, PolicySpec
from qvl_agent.eval.executor import Executor, LocalExecutor
from qvl_agent.eval.metrics import Rate, rate, wilson_interval
from qvl_agent.eval.runner import plan, run_eval
from qvl_agent.eval.summary import summarize, write_summary_json, write_summary_md

__all__ = [
    "EvalConfig", "InstanceResult", "PolicySpec", "Executor", "LocalExecutor", "Rate", "rate",
    "wilson_interval", "plan", "run_eval", "summarize", "write_summary_md", "write_summary_json",
]

"""Running suites at scale: the worker pool, results.jsonl with resume, metrics, summaries."""

from eval.config import EvalConfig, InstanceResult, PolicySpec
from eval.metrics import Rate, rate, wilson_interval
from eval.runner import plan, run_eval
from eval.summary import summarize, write_summary_md

__all__ = [
    "EvalConfig", "InstanceResult", "PolicySpec", "Rate", "rate", "wilson_interval", "plan",
    "run_eval", "summarize", "write_summary_md",
]

"""The summary of an evaluation: per task, per family, per suite; as a table, summary.md and
summary.json (with the tokens and time each task used, summed over its instances)."""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

from pydantic import BaseModel, Field

from qvl_agent.agent.storage import write_atomic
from qvl_agent.agent.usage import Usage
from qvl_agent.eval.config import InstanceResult
from qvl_agent.eval.metrics import Rate, rate

__all__ = ["Row", "summarize", "write_summary_md", "write_summary_json"]


class Row(BaseModel):
    name: str
    rate: Rate
    errors: int
    mean_steps: float
    mean_seconds: float
    usage: Usage = Field(description="summed over the instances (those killed count nothing)")


def _row(name: str, results: list[InstanceResult]) -> Row:
    return Row(name=name, rate=rate(r.outcome == "success" for r in results),
               errors=sum(r.outcome == "error" for r in results),
               mean_steps=statistics.fmean(r.steps for r in results) if results else 0.0,
               mean_seconds=statistics.fmean(r.duration_s for r in results) if results else 0.0,
               usage=Usage.total(r.usage for r in results if r.usage is not None))


def summarize(results: list[InstanceResult]) -> tuple[list[Row], list[Row], Row]:
    """Rows per task, rows per family, and the total."""
    by_task: dict[str, list[InstanceResult]] = defaultdict(list)
    by_family: dict[str, list[InstanceResult]] = defaultdict(list)
    for result in results:
        by_task[result.task].append(result)
        by_family[result.family].append(result)
    tasks = [_row(name, rs) for name, rs in sorted(by_task.items())]
    families = [_row(name, rs) for name, rs in sorted(by_family.items())]
    return tasks, families, _row("all", results)


def _cells(row: Row) -> str:
    r = row.rate
    return (f"| {row.name} | {r.successes}/{r.total} | {100 * r.value:.1f}% | "
            f"{100 * r.low:.1f}-{100 * r.high:.1f}% | {row.errors} | {row.mean_steps:.1f} | "
            f"{row.mean_seconds:.1f} |")


_HEAD = ("| {what} | solved | rate | 95% CI (Wilson) | errors | mean steps | mean s |\n"
         "| --- | --- | --- | --- | --- | --- | --- |")


def write_summary_md(path: Path, title: str, results: list[InstanceResult],
                     planned: int, policy: str) -> Path:
    """``summary.md``: totals, families, tasks, then every instance linked to its report."""
    tasks, families, total = summarize(results)
    lines = [f"# {title}", "",
             f"policy: {policy}; instances: {len(results)} of {planned} planned", "",
             f"**success rate: {total.rate}**", "",
             "errors are instances the harness could not run to the end (a crash, a time limit, "
             "an env failure); they count as unsolved.", "",
             _HEAD.format(what="family"), *(_cells(r) for r in families), "",
             _HEAD.format(what="task"), *(_cells(r) for r in tasks), "",
             "## Instances", "",
             "| instance | outcome | score | status | steps | s | report | note |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in sorted(results, key=lambda r: (r.task, r.seed)):
        link = f"[report]({r.report})" if r.report else "-"
        note = (r.message or "").replace("|", "\\|").replace("\n", " ")[:160]
        if r.answer is not None:
            note = f"answer: {r.answer!r} {note}".strip()
        lines.append(f"| {r.instance} | {r.outcome} | {r.score:g} | {r.status} | {r.steps} | "
                     f"{r.duration_s:.1f} | {link} | {note} |")
    write_atomic(path, "\n".join(lines) + "\n")
    return path


def write_summary_json(path: Path, title: str, results: list[InstanceResult], planned: int,
                       policy: str) -> Path:
    """``summary.json``: the same rows as summary.md, as data, each with its usage summed."""
    tasks, families, total = summarize(results)

    def row(r: Row) -> dict[str, object]:
        return {"solved": r.rate.successes, "total": r.rate.total, "rate": r.rate.value,
                "low": r.rate.low, "high": r.rate.high, "errors": r.errors,
                "mean_steps": r.mean_steps, "mean_seconds": r.mean_seconds,
                "usage": r.usage.model_dump()}

    summary = {"title": title, "policy": policy, "planned": planned, "instances": len(results),
               "total": row(total), "families": {r.name: row(r) for r in families},
               "tasks": {r.name: row(r) for r in tasks}}
    write_atomic(path, json.dumps(summary, indent=2) + "\n")
    return path

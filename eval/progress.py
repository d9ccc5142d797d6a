"""The live view of an evaluation: a bar, and one line per finished instance."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from qvl_agent.eval.config import InstanceResult
from qvl_agent.eval.runner import RunState
from qvl_agent.eval.summary import summarize

__all__ = ["EvalView", "summary_table"]

_STYLE = {"success": "green", "failure": "yellow", "error": "red"}


class EvalView:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self._bar = Progress(TextColumn("[bold]eval"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("{task.description}"), TimeElapsedColumn(),
                             console=self.console, transient=True,
                             disable=not self.console.is_terminal)
        self._task = self._bar.add_task("", total=None)

    def __enter__(self) -> "EvalView":
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def __call__(self, event: str, result: InstanceResult | None, state: RunState) -> None:
        if event == "start" and state.done:
            self.console.print(f"resuming: {state.done} of {state.total} instances already done")
        if result is not None:
            style = _STYLE[result.outcome]
            note = f" - {escape(result.message[:100])}" if result.message and result.outcome != "success" else ""
            self._bar.console.print(
                f"[{style}]{result.outcome:<7}[/{style}] {escape(result.instance)} "
                f"[dim]{result.steps} step{'s' if result.steps != 1 else ''}, {result.duration_s:.1f}s[/dim]{note}")
        solved = f"solved {state.successes}/{state.done}" + (f", errors {state.errors}" if state.errors else "")
        self._bar.update(self._task, total=state.total, completed=state.done, description=solved)


def summary_table(results: list[InstanceResult], *, tasks_limit: int = 40) -> Table:
    tasks, families, total = summarize(results)
    table = Table(title="success rate (95% Wilson interval)", show_lines=False)
    for column in ("", "solved", "rate", "95% CI", "errors", "steps", "s"):
        table.add_column(column, justify="left" if not column else "right")
    rows = tasks[:tasks_limit] if len(tasks) > 1 else []
    if len(tasks) > tasks_limit:
        table.caption = f"{len(tasks) - tasks_limit} more tasks in summary.md"
    for row in rows + (families if len(families) > 1 else []) + [total]:
        r = row.rate
        table.add_row(escape(row.name), f"{r.successes}/{r.total}", f"{100 * r.value:.1f}%",
                      f"{100 * r.low:.0f}-{100 * r.high:.0f}%", str(row.errors),
                      f"{row.mean_steps:.1f}", f"{row.mean_seconds:.1f}",
                      style="bold" if row is total else None)
    return table

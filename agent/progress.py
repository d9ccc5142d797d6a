"""The live view of a run: one line per step, and a bar on a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from qvl_agent.agent.describe import describe
from qvl_agent.agent.trajectory import Step, Trajectory

__all__ = ["StepProgress"]


class StepProgress:
    """``on_step`` callback for ``run_episode``; use as a context manager."""

    def __init__(self, max_steps: int, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True, highlight=False, soft_wrap=True)
        self.max_steps = max_steps
        self._bar = Progress(TextColumn("[bold]step {task.completed}/{task.total}"), BarColumn(),
                             TextColumn("{task.description}"), TimeElapsedColumn(),
                             console=self.console, transient=True,
                             disable=not self.console.is_terminal)
        self._task = self._bar.add_task("thinking...", total=max_steps)

    def __enter__(self) -> "StepProgress":
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def suspended(self) -> "_Suspended":
        """Step the live bar aside while a person is asked something at this terminal."""
        return _Suspended(self._bar)

    def __call__(self, step: Step, trajectory: Trajectory) -> None:
        if step.human is not None:  # a person's turn: no model, no action
            turn = step.human
            said = f": {turn.advice!r}" if turn.advice else ""
            self._bar.console.print(f"step {step.index}  paused {turn.paused_s:.0f}s, "
                                    f"{turn.decision}{escape(said)}", highlight=False, soft_wrap=True)
            return
        t = step.timings
        what = (f"[red]{escape(f'{step.error_kind}: {step.error}')}[/red]" if step.error
                else escape(describe(step.action)))
        if step.replay is not None:  # a replay says whose step it was
            if step.replay.source == "diverged":
                what = f"[red]diverged: {escape(step.replay.note or '')}[/red]"
            else:
                what = f"[dim]{step.replay.source}[/dim] {what}"
        self._bar.console.print(
            f"step {step.index}/{self.max_steps}  {what}  "
            f"[dim](model {t.model_s:.1f}s, observe {t.observe_s * 1000:.0f}ms, "
            f"act {t.execute_s * 1000:.0f}ms)[/dim]",
            markup=True, highlight=False, soft_wrap=True,
        )
        self._bar.update(self._task, completed=step.index, description="thinking...")


class _Suspended:
    def __init__(self, bar: Progress) -> None:
        self._bar = bar

    def __enter__(self) -> None:
        self._bar.stop()

    def __exit__(self, *exc: object) -> None:
        self._bar.start()

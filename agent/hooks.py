"""Step hooks: a caller's functions run before and after each step of a run.

``on_step_start(step)`` is called before the step looks at the screen (``step.index`` and
``step.call_index`` are set); ``on_step_end(step)`` after it is recorded, with
``step.observation`` (what the model saw), ``step.raw`` (the model's answer), ``step.action``
(what was executed), ``step.error`` and ``step.usage``. A step of a further tool call of the
same answer has the answer's observation.

A hook ends the run cleanly by raising ``StopRun`` (status ``stopped``, everything
recorded); any other exception from a hook ends it with status ``error`` and a message that
names the hook. Hooks run in the thread of the run, one after another, in the order given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from qvl_agent.agent.oversight import StopRun  # the one class: a person's stop and a hook's
from qvl_agent.envs.errors import QvlError

if TYPE_CHECKING:
    from qvl_agent.agent.trajectory import Step

__all__ = ["HookStop", "HookError", "Hooks", "StepHook", "hook_list"]

StepHook = Callable[["Step"], object]


class HookStop(Exception):
    """Internal: a hook's ``StopRun`` as the loop sees it, told apart from a person's (which
    ends the run as ``interrupted``). Callers raise ``StopRun``, never this."""


class HookError(QvlError):
    """A step hook raised something other than ``StopRun``; the run ends with status error."""


def hook_list(hooks: StepHook | Iterable[StepHook] | None) -> list[StepHook]:
    """One hook, several, or none, as a list."""
    if hooks is None:
        return []
    if callable(hooks):
        return [hooks]
    found = list(hooks)
    for hook in found:
        if not callable(hook):
            raise TypeError(f"a step hook must be callable, got {hook!r}")
    return found


class Hooks:
    """The hooks of one run: the Agent's own first, then the run's."""

    def __init__(self, on_step_start: StepHook | Iterable[StepHook] | None = None,
                 on_step_end: StepHook | Iterable[StepHook] | None = None) -> None:
        self.on_step_start = hook_list(on_step_start)
        self.on_step_end = hook_list(on_step_end)

    def start(self, step: Step) -> None:
        for hook in self.on_step_start:
            _call("on_step_start", hook, step)

    def end(self, step: Step) -> None:
        for hook in self.on_step_end:
            _call("on_step_end", hook, step)


def _call(kind: str, hook: StepHook, step: Step) -> None:
    try:
        hook(step)
    except StopRun as exc:
        raise HookStop(str(exc)) from exc
    except Exception as exc:  # noqa: BLE001 - the caller's code: named, and the run ends
        name = getattr(hook, "__qualname__", None) or repr(hook)
        raise HookError(f"the {kind} hook {name} raised {exc.__class__.__name__} at step "
                        f"{step.index}: {exc}") from exc

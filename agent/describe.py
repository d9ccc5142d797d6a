"""Short human descriptions of Actions, for progress lines and reports."""

from __future__ import annotations

from typing_extensions import assert_never

from qvl_agent.envs.actions import (
    Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe,
    SystemButton, Terminate, TypeText, Wait,
)

__all__ = ["describe"]


def _at(point: Point | None) -> str:
    return f"({point.x:.0f}, {point.y:.0f})" if point is not None else "(pointer)"


def describe(action: Action | None) -> str:
    """A short human description of an Action, for progress lines and reports."""
    match action:
        case Click(at=p, button=button, count=count):
            name = {1: "click", 2: "double-click", 3: "triple-click"}[count]
            return f"{button} {name} {_at(p)}" if button != "left" else f"{name} {_at(p)}"
        case LongPress(at=p, seconds=s):
            return f"long press {_at(p)} {s:g}s"
        case MoveTo(at=p):
            return f"move to {_at(p)}"
        case Drag(start=a, end=b):
            return f"drag {_at(a)} -> {_at(b)}"
        case Swipe(start=a, end=b):
            return f"swipe {_at(a)} -> {_at(b)}"
        case Scroll(dx=dx, dy=dy):
            return f"scroll {'down' if dy > 0 else 'up'} {abs(dy):.0f}px" if dy else f"scroll x {dx:.0f}px"
        case TypeText(text=text):
            return f"type {text[:40]!r}"
        case KeyPress(keys=keys):
            return "key " + "+".join(keys)
        case SystemButton(button=button):
            return f"{button} button"
        case OpenApp(name=name):
            return f"open {name!r}"
        case Wait(seconds=s):
            return f"wait {s:g}s"
        case Terminate(status=status):
            return f"terminate ({status})"
        case Answer(text=text):
            return f"answer {text[:40]!r}"
        case None:
            return "-"
        case _:
            assert_never(action)

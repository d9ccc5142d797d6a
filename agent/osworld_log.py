"""OSWorld's own record of a run: ``traj.jsonl`` and ``result.txt``, beside ours.

OSWorld's ``lib_run_single.run_single_example`` appends one line per executed action to
``traj.jsonl``: ``step_num`` (the model's answer it belongs to, from 1; the calls of one
answer share it), ``action_timestamp`` (``%Y%m%d@%H%M%S``, local time, taken before the
action), ``action`` (what its Qwen2.5-VL agent sends the VM: a pyautogui call, or
``WAIT``/``DONE``/``FAIL``), ``response`` (the model's text), ``reward`` (its ``env.step``
returns 0), ``done`` and ``info`` (``{"done": true}`` after ``DONE``, ``{"fail": true}`` after
``FAIL``, else ``{}``), and ``screenshot_file`` (the screen after the action). After the
evaluation it writes the score to ``result.txt`` (``f"{result}\\n"``). Written for desktop
runs and OSWorld-format tasks, so OSWorld's tooling and viewers read our runs.

Our screenshots are taken before each step, so the screen after an action is the next
step's screenshot; the last action of a run that did not end itself has none after it, and
names its own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from typing_extensions import assert_never

from qvl_agent.agent.storage import write_atomic
from qvl_agent.agent.trajectory import Step
from qvl_agent.envs.actions import (
    WHEEL_CLICK_PX, Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Scroll,
    Swipe, SystemButton, Terminate, TypeText, Wait,
)

__all__ = ["osworld_action", "traj_lines", "write_traj", "write_result", "TRAJ_FILE", "RESULT_FILE"]

TRAJ_FILE = "traj.jsonl"
RESULT_FILE = "result.txt"


def osworld_action(action: Action) -> str:
    """``action`` as OSWorld's Qwen2.5-VL agent writes it (screen coordinates, whole pixels)."""
    def xy(point: Any) -> str:
        return f"{round(point.x)}, {round(point.y)}"

    match action:
        case Click(at=at, button=button, count=count):
            name = {("left", 1): "click", ("left", 2): "doubleClick", ("left", 3): "tripleClick",
                    ("right", 1): "rightClick", ("middle", 1): "middleClick"}.get((button, count), "click")
            return f"pyautogui.{name}({xy(at) if at is not None else ''})"
        case MoveTo(at=at):
            return f"pyautogui.moveTo({xy(at)})"
        case Drag(start=start, end=end):
            drag = f"pyautogui.dragTo({xy(end)}, duration=0.5)"
            return f"pyautogui.moveTo({xy(start)}); {drag}" if start is not None else drag
        case Scroll(dy=dy, dx=dx, at=at):
            where = f", x={round(at.x)}, y={round(at.y)}" if at is not None else ""
            if dx and not dy:
                return f"pyautogui.hscroll({round(dx / WHEEL_CLICK_PX)}{where})"
            return f"pyautogui.scroll({-round(dy / WHEEL_CLICK_PX)}{where})"
        case TypeText(text=text):
            return f"pyautogui.typewrite({text!r})"
        case KeyPress(keys=keys):
            names = ", ".join(repr(k) for k in keys)
            return f"pyautogui.hotkey({names})" if len(keys) > 1 else f"pyautogui.press({names})"
        case Wait():
            return "WAIT"
        case Terminate(status=status):
            return "DONE" if status == "success" else "FAIL"
        case Answer():
            return "DONE"
        case LongPress(at=at, seconds=seconds):  # a phone's gestures: no pyautogui call
            return f"long_press({xy(at)}, {seconds:g})"
        case Swipe(start=start, end=end):
            return f"swipe({xy(start)}, {xy(end)})"
        case SystemButton(button=button):
            return f"system_button({button!r})"
        case OpenApp(name=name):
            return f"open_app({name!r})"
        case _:
            assert_never(action)


def traj_lines(steps: Sequence[Step]) -> list[dict[str, Any]]:
    """The lines of ``traj.jsonl`` for ``steps`` (steps that executed nothing have none)."""
    lines = []
    answer, response = 0, ""
    for i, step in enumerate(steps):
        if step.call_index == 0:  # the calls of one answer share its number and its text
            answer, response = answer + 1, step.raw or ""
        action = step.action
        if action is None or step.error is not None:
            continue
        special = osworld_action(action)
        done = special in ("DONE", "FAIL")
        after = next((s.screenshot for s in steps[i + 1:] if s.screenshot), None)
        lines.append({
            "step_num": answer,
            "action_timestamp": _timestamp(step.started_at),
            "action": special,
            "response": response,
            "reward": 0,
            "done": done,
            "info": {"done": True} if special == "DONE" else {"fail": True} if done else {},
            "screenshot_file": (step.screenshot if done else after) or step.screenshot,
        })
    return lines


def write_traj(run_dir: Path, steps: Sequence[Step]) -> Path:
    """Write ``traj.jsonl`` whole (StorageError on a full disk, and nothing half written)."""
    path = Path(run_dir) / TRAJ_FILE
    write_atomic(path, "".join(json.dumps(line, ensure_ascii=False) + "\n"
                               for line in traj_lines(steps)))
    return path


def write_result(run_dir: Path, score: float) -> Path:
    """OSWorld's ``result.txt``: the evaluation's score, as ``f"{result}\\n"`` writes it."""
    path = Path(run_dir) / RESULT_FILE
    write_atomic(path, f"{score}\n")
    return path


def _timestamp(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return moment.astimezone().strftime("%Y%m%d@%H%M%S")

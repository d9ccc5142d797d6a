"""AndroidControl step accuracy: one question per step, scored as the literature scores it.

Each step shows the model the screenshot (through the agent's ``Frame``), the goal (high
level) or the step's instruction (low level), and the earlier steps' actions as text in the
mobile_use cookbook's form. Its answer becomes an ``Action`` through ``parse_tool_call`` and
``to_action``, exactly as in an agent run, and is then compared with the person's action:

- action type: click, long_press, scroll, open_app, input_text, navigate_home,
  navigate_back, wait (a ``swipe`` is a scroll against its finger's direction, as on a phone);
- a tap or long press matches inside the target element's box from the accessibility tree
  (``hit_box``) and, separately, within 14% of the screen of the person's point
  (``hit_distance``, the AITW / OS-Atlas rule); without a target box the box rule falls back
  to the distance rule;
- typed text and app names compare case- and whitespace-insensitively; scroll by direction;
- the documented ``type`` action (tap the field at x, y, type the text, press enter) is
  scored as ``input_text`` by its text: Qwen's ``type`` names no field (it types into the
  focused one), so there is no point to compare.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from qvl_agent.envs.actions import (
    Action, Click, LongPress, OpenApp, Point, Scroll, Swipe, SystemButton, TypeText, Wait,
)
from qvl_agent.envs.errors import ConfigError, ModelBehaviorError
from qvl_agent.eval.bench.androidcontrol_data import ControlStep, Episode, target_element
from qvl_agent.model.backend import VLMBackend
from qvl_agent.model.convert import from_action, to_action
from qvl_agent.model.frame import Frame
from qvl_agent.model.parsing import parse_tool_call
from qvl_agent.model.prompts import PastStep, agent_messages

__all__ = ["Level", "gold_action", "control_type", "scroll_direction", "judge", "predict_step",
           "DISTANCE_RULE"]

Level = Literal["high", "low"]
DISTANCE_RULE = 0.14  # AITW: a tap matches within 14% of the screen (normalised distance)
_SCROLL_SPAN = 0.3  # a gold scroll shown to the model as a swipe over 30% of the screen


def _norm(text: Any) -> str:
    return " ".join(str(text).lower().split())


def gold_action(action: dict[str, Any], width: int, height: int) -> Action:
    """The person's action as an ``Action`` (for the earlier-steps text)."""
    kind = action["action_type"]
    match kind:
        case "click":
            return Click(at=Point(x=float(action["x"]), y=float(action["y"])))
        case "long_press":
            return LongPress(at=Point(x=float(action["x"]), y=float(action["y"])))
        case "scroll":
            # "down" shows what is below: the finger moves up.
            dx, dy = {"down": (0, -1), "up": (0, 1), "right": (-1, 0), "left": (1, 0)}[
                _norm(action["direction"])]
            cx, cy = width / 2, height / 2
            span_x, span_y = _SCROLL_SPAN * width / 2, _SCROLL_SPAN * height / 2
            return Swipe(start=Point(x=cx - dx * span_x, y=cy - dy * span_y),
                         end=Point(x=cx + dx * span_x, y=cy + dy * span_y))
        case "open_app":
            return OpenApp(name=str(action["app_name"]))
        case "input_text" | "type":
            return TypeText(text=str(action["text"]))
        case "navigate_home":
            return SystemButton(button="home")
        case "navigate_back":
            return SystemButton(button="back")
        case "wait":
            return Wait(seconds=2.0)
    raise ConfigError(f"unknown AndroidControl action_type {kind!r}")


def scroll_direction(dx: float, dy: float) -> str:
    """The direction a finger movement (dx, dy) scrolls: against the finger, on its main axis."""
    if abs(dy) >= abs(dx):
        return "down" if dy < 0 else "up"
    return "right" if dx < 0 else "left"


def control_type(action: Action) -> tuple[str, dict[str, Any]]:
    """The AndroidControl action type of a predicted ``Action`` and its arguments."""
    match action:
        case Click(at=at):  # a click "where the pointer is" has no point: a click, but a miss
            return "click", {"x": at.x, "y": at.y} if at is not None else {}
        case LongPress(at=at):
            return "long_press", {"x": at.x, "y": at.y}
        case Swipe(start=start, end=end):
            return "scroll", {"direction": scroll_direction(end.x - start.x, end.y - start.y)}
        case Scroll(dx=dx, dy=dy):  # a wheel: positive dy shows what is below
            return "scroll", {"direction": scroll_direction(-dx, -dy)}
        case TypeText(text=text):
            return "input_text", {"text": text}
        case OpenApp(name=name):
            return "open_app", {"app_name": name}
        case SystemButton(button="home"):
            return "navigate_home", {}
        case SystemButton(button="back"):
            return "navigate_back", {}
        case Wait():
            return "wait", {}
    return action.kind, {}


# A gold action type scored as another: "type" (tap, type, enter) by its text, as input_text.
_GOLD_TYPE = {"type": "input_text"}


def judge(step: ControlStep, predicted: Action) -> dict[str, Any]:
    """Type match, and the step's success under the box rule and under the distance rule."""
    gold = step.action
    kind, args = control_type(predicted)
    type_match = kind == _GOLD_TYPE.get(gold["action_type"], gold["action_type"])
    row: dict[str, Any] = {"pred_type": kind, "pred_args": args, "type_match": type_match}
    if not type_match:
        return row | {"hit_box": False, "hit_distance": False}
    match kind:
        case "click" | "long_press" if "x" not in args:
            return row | {"hit_box": False, "hit_distance": False}
        case "click" | "long_press":
            distance = math.hypot((args["x"] - float(gold["x"])) / step.width,
                                  (args["y"] - float(gold["y"])) / step.height)
            near = distance <= DISTANCE_RULE
            target = target_element(step)
            inside = target.contains(args["x"], args["y"]) if target is not None else near
            return row | {"hit_box": inside, "hit_distance": near, "distance": round(distance, 4),
                          "target": list(target.bounds) if target is not None else None}
        case "scroll":
            same = args["direction"] == _norm(gold["direction"])
        case "input_text":
            same = _norm(args["text"]) == _norm(gold["text"])
        case "open_app":
            same = _norm(args["app_name"]) == _norm(gold["app_name"])
        case _:
            same = True  # navigate_home, navigate_back, wait: the type is the whole action
    return row | {"hit_box": same, "hit_distance": same}


def predict_step(backend: VLMBackend, episode: Episode, step: ControlStep, level: Level, *,
                 max_new_tokens: int = 256) -> dict[str, Any]:
    """One result row for one step: the prompt's goal, the raw answer, the judgement."""
    image = step.image()
    frame = Frame.for_image(image, (step.width, step.height), min_pixels=backend.min_pixels,
                            max_pixels=backend.max_pixels)
    history = [PastStep(call=from_action(gold_action(s.action, s.width, s.height), frame,
                                         "mobile_use").to_json(), answer="")
               for s in episode.steps[:step.index] if s.problem is None]
    goal = episode.goal if level == "high" else step.instruction
    generation = backend.generate(agent_messages("mobile_use", frame.size, goal, frame.resize(image),
                                                 history), max_new_tokens=max_new_tokens)
    row: dict[str, Any] = {
        "id": f"{episode.episode_id}/{step.index}", "episode_id": episode.episode_id,
        "step": step.index, "goal": goal, "gold": step.action,
        "gold_type": step.action["action_type"], "frame": list(frame.size),
        "screen": [step.width, step.height], "raw": generation.text,
        "model_s": round(generation.model_s, 3),
    }
    try:
        action = to_action(parse_tool_call(generation.text), frame)
    except ModelBehaviorError as exc:
        return row | {"parsed": False, "error": str(exc), "pred_type": None, "type_match": False,
                      "hit_box": False, "hit_distance": False}
    return row | {"parsed": True, "error": None} | judge(step, action)

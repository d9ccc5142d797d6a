"""What Qwen2.5-VL is shown: the system message, the user turn, grounding questions.

The texts reproduce the official agent cookbooks byte for byte (tests compare them with the
reference files); a paraphrase costs accuracy silently. Messages are plain dicts in the
form transformers' chat templates take: ``{"role": ..., "content": str | [parts]}`` where a
part is ``{"type": "text", "text": ...}`` or ``{"type": "image", "image": PIL.Image}``.
Images in messages are always already resized to their Frame.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from PIL import Image

from qvl_agent.envs.errors import ConfigError

__all__ = [
    "TOOLS",
    "system_prompt",
    "tool_schema",
    "user_text",
    "PastStep",
    "agent_messages",
    "grounding_messages",
    "grounding_question",
    "Message",
]

TOOLS = ("computer_use", "mobile_use")
Message = dict[str, Any]

_HEADER = (
    "You are a helpful assistant.\n\n"
    "# Tools\n\n"
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n"
    "<tools>\n"
)
_FOOTER = (
    "\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n"
    "<tool_call>\n"
    '{"name": <function-name>, "arguments": <args-json-object>}\n'
    "</tool_call>"
)
_ARGS_FORMAT = "Format the arguments as a JSON object."
_QUERY = "The user query:  {goal}"  # two spaces, as in the cookbook
_PROGRESS = "\nTask progress (You have done the following operation on the current device): "


@lru_cache(maxsize=1)
def _tools() -> dict[str, Any]:
    text = resources.files("qvl_agent.model").joinpath("data/tools.json").read_text(encoding="utf-8")
    return json.loads(text)


@lru_cache(maxsize=1)
def _answer_variant() -> dict[str, Any]:
    text = resources.files("qvl_agent.model").joinpath("data/answer_action.json").read_text(encoding="utf-8")
    return json.loads(text)


def tool_schema(tool: str, width: int, height: int, *, answer: bool = False) -> dict[str, Any]:
    """The tool's function description for a frame of ``width`` x ``height``, keys in order.

    ``answer=True`` adds the ``answer`` action the way the Qwen team does for tasks that ask a
    question (model/data/answer_action.json); the default is the cookbook's schema verbatim.
    """
    if tool not in TOOLS:
        raise ConfigError(f"unknown tool {tool!r}; expected one of {', '.join(TOOLS)}")
    if width <= 0 or height <= 0:
        raise ConfigError(f"frame size must be positive, got {width}x{height}")
    spec = _tools()[tool]
    description = spec["description_template"].replace("{WIDTH}", str(width))
    description = description.replace("{HEIGHT}", str(height))
    parameters = _with_answer(tool, spec["parameters"]) if answer else spec["parameters"]
    return {
        "name_for_human": tool,
        "name": tool,
        "description": description,
        "parameters": parameters,
        "args_format": _ARGS_FORMAT,
    }


def _with_answer(tool: str, parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` with the answer action inserted after ``variant["after"]``."""
    variant = _answer_variant()[tool]
    params = json.loads(json.dumps(parameters))  # a deep copy; the cached spec stays verbatim
    action = params["properties"]["action"]
    enum = action["enum"]
    enum.insert(enum.index(variant["after"]) + 1, "answer")
    lines = action["description"].split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"* `{variant['after']}`:"))
    action["description"] = "\n".join(lines[:at + 1] + [variant["line"]] + lines[at + 1:])
    params["properties"]["text"]["description"] = variant["text_description"]
    return params


def system_prompt(tool: str, width: int, height: int, *, answer: bool = False) -> str:
    """The whole system message for ``tool`` on a frame of ``width`` x ``height``."""
    line = json.dumps({"type": "function",
                       "function": tool_schema(tool, width, height, answer=answer)},
                      ensure_ascii=False)
    return _HEADER + line + _FOOTER


def user_text(goal: str, calls: Sequence[str]) -> str:
    """The cookbook's user text: the goal, then ``Step i: {call}; `` for each earlier call."""
    steps = "".join(f"Step {i}: {call}; " for i, call in enumerate(calls, start=1))
    return _QUERY.format(goal=goal) + _PROGRESS + steps


@dataclass(frozen=True)
class PastStep:
    """What the prompt needs to know about an earlier step.

    Attributes:
        call: the tool call as compact JSON (``{"name": ..., "arguments": ...}``), or None
            when the model's answer could not be used.
        answer: the model's raw answer (for the OSWorld form's assistant turns).
        image: the frame-resized screenshot of that step, kept only for the last K steps.
    """

    call: str | None
    answer: str
    image: Image.Image | None = None


def agent_messages(
    tool: str,
    frame_size: tuple[int, int],
    goal: str,
    image: Image.Image,
    history: Sequence[PastStep] = (),
    *,
    history_images: int = 0,
    feedback: str | None = None,
    answer: bool = False,
) -> list[Message]:
    """Chat messages for one agent step.

    With ``history_images == 0`` (the cookbook form) earlier steps appear only as
    ``Step i: {call}`` in the user text. With K > 0 (OSWorld's form) the last K earlier steps
    that kept their screenshot come back as real turns: their screenshot as a user image and
    the model's answer as the assistant turn; older steps stay in the text.

    ``feedback`` (why the previous answer failed) is appended to the last user turn;
    ``answer`` offers the answer action (see ``tool_schema``).

    The K > 0 form is ours: the cookbook's text history plus OSWorld's real turns. OSWorld's
    own messages, exactly, are ``model.osworld.osworld_messages``.
    """
    if image.size != tuple(frame_size):
        raise ValueError(f"image is {image.size}, not the frame {frame_size}; resize it first")
    system = {"role": "system", "content": system_prompt(tool, *frame_size, answer=answer)}
    kept = [i for i, step in enumerate(history) if step.image is not None]
    window_at = kept[-history_images:] if history_images > 0 else []
    window = [history[i] for i in window_at]
    first = window_at[0] if window_at else len(history)
    earlier_calls = [s.call for s in history[:first] if s.call is not None]
    text = {"type": "text", "text": user_text(goal, earlier_calls)}
    tail = [{"type": "text", "text": f"\n{feedback}"}] if feedback else []
    if not window:
        return [system, {"role": "user", "content": [text, _image(image), *tail]}]
    messages: list[Message] = [system]
    for i, step in enumerate(window):
        parts = [text, _image(step.image)] if i == 0 else [_image(step.image)]
        messages.append({"role": "user", "content": parts})
        messages.append({"role": "assistant", "content": step.answer})
    messages.append({"role": "user", "content": [_image(image), *tail]})
    return messages


def _image(image: Image.Image | None) -> dict[str, Any]:
    return {"type": "image", "image": image}


Shape = Literal["box", "point"]


def grounding_question(query: str, shape: Shape = "box") -> str:
    """The question that asks Qwen2.5-VL for a ``bbox_2d`` or a ``point_2d`` in JSON."""
    query = query.strip()
    if not query:
        raise ConfigError("the grounding query is empty; say what to locate, e.g. 'the Submit button'")
    if shape == "box":
        return f"Locate {query} in the image, output its bbox coordinates using JSON format."
    return f"Point to {query} in the image, output its point coordinates using JSON format."


def grounding_messages(image: Image.Image, query: str, shape: Shape = "box") -> list[Message]:
    """Messages for a grounding question (the template adds the default system message)."""
    return [{"role": "user", "content": [_image(image),
                                         {"type": "text", "text": grounding_question(query, shape)}]}]

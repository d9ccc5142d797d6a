"""OSWorld's Qwen2.5-VL prompt, reproduced exactly (``--prompt osworld``).

xlang-ai/OSWorld ``mm_agents/qwen25vl_agent.py`` (Apache-2.0) asks Qwen2.5-VL differently
from the cookbook: one system message with a short ``computer_use`` schema that does not
state the resolution (and "You are a helpful assistant" without its full stop), the
screenshot *before* the text, an instruction text with a "Previous actions:" list, the last
``history_n`` (4) steps as real turns (their screenshot, then the model's whole answer), and
the screenshot resized with its own ``smart_resize`` at ``max_pixels = 1280*28*28``.
Results reported with that agent came from these messages; this module rebuilds them.

Earlier steps appear in "Previous actions" as OSWorld's ``parse_response`` names them: the
first line of the answer that starts with "Action:", "Step", "I will", "I'll" or "Now I",
else ``Performing <pyautogui function> action``, else an empty string.

Where we depart, on purpose: images are PNGs of our Frame (the same size OSWorld computes
for screens up to 8192 pixels wide); when the previous answer could not be used, the reason
is appended to the last user turn (OSWorld re-asks blindly); an answer whose first call is
``wait`` or ``terminate`` is listed as ``Performing wait action`` where OSWorld's own code
raises an IndexError; and sampling stays greedy with the checkpoint's repetition penalty
(OSWorld samples at temperature 0.5, top_p 0.9, max_tokens 1500), so runs are repeatable.
Only the messages are OSWorld's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from PIL import Image

from qvl_agent.model.parsing import parse_tool_calls
from qvl_agent.model.prompts import Message, PastStep
from qvl_agent.envs.errors import ModelBehaviorError

__all__ = ["OSWORLD_MAX_PIXELS", "OSWORLD_HISTORY", "osworld_system_prompt", "osworld_messages",
           "osworld_action_line"]

OSWORLD_MAX_PIXELS = 1280 * 28 * 28  # mm_agents/utils/qwen_vl_utils.smart_resize's default
OSWORLD_HISTORY = 4  # Qwen25VLAgent(history_n=4)

_TOOLS_DEF = {
    "type": "function",
    "function": {
        "name_for_human": "computer_use",
        "name": "computer_use",
        "description": "Use a mouse and keyboard to interact with a computer, and take screenshots.",
        "parameters": {
            "properties": {
                "action": {
                    "description": "The action to perform.",
                    "enum": ["key", "type", "mouse_move", "left_click", "left_click_drag",
                             "right_click", "middle_click", "double_click", "scroll", "wait",
                             "terminate"],
                    "type": "string",
                },
                "keys": {"description": "Required only by `action=key`.", "type": "array"},
                "text": {"description": "Required only by `action=type`.", "type": "string"},
                "coordinate": {"description": "The x,y coordinates for mouse actions.", "type": "array"},
                "pixels": {"description": "The amount of scrolling.", "type": "number"},
                "time": {"description": "The seconds to wait.", "type": "number"},
                "status": {"description": "The status of the task.", "type": "string",
                           "enum": ["success", "failure"]},
            },
            "required": ["action"],
            "type": "object",
        },
        "args_format": "Format the arguments as a JSON object.",
    },
}

_SYSTEM = (
    "You are a helpful assistant\n\n"  # no full stop, as in OSWorld
    "# Tools\n\n"
    "You may call one or more functions to assist with the user query.\n\n"
    "You are provided with function signatures within <tools></tools> XML tags:\n"
    "<tools>\n{tools}\n</tools>\n\n"
    "For each function call, return a json object with function name and arguments within "
    "<tool_call></tool_call> XML tags:\n"
    "<tool_call>\n"
    '{{"name": <function-name>, "arguments": <args-json-object>}}\n'
    "</tool_call>"
)
_INSTRUCTION = (
    "\nPlease generate the next move according to the UI screenshot, instruction and "
    "previous actions.\n\nInstruction: {goal}\n\nPrevious actions:\n{previous}"
)
_LINE_STARTS = ("action:", "step", "i will", "i'll", "now i")
# OSWorld's parse_response: which pyautogui function each computer_use action becomes.
_PYAUTOGUI = {
    "left_click": "click", "right_click": "rightClick", "middle_click": "middleClick",
    "double_click": "doubleClick", "type": "typewrite", "scroll": "scroll",
    "mouse_move": "moveTo", "left_click_drag": "dragTo",
}


def osworld_system_prompt() -> str:
    """OSWorld's system message (``json.dumps`` with its default separators and ASCII)."""
    return _SYSTEM.format(tools=json.dumps(_TOOLS_DEF))


def osworld_action_line(answer: str) -> str:
    """How OSWorld lists an earlier answer under "Previous actions"."""
    for line in answer.split("\n"):
        line = line.strip()
        if line and line.lower().startswith(_LINE_STARTS):
            return line
    try:
        call = parse_tool_calls(answer)[0]
    except ModelBehaviorError:
        return ""
    if call.name != "computer_use":
        return ""
    action = call.action
    if action == "key":
        keys = call.arguments.get("keys")
        function = "hotkey" if isinstance(keys, list) and len(keys) > 1 else "press"
    else:
        function = _PYAUTOGUI.get(action, action)
    return f"Performing {function} action"


def osworld_messages(goal: str, image: Image.Image, history: Sequence[PastStep] = (), *,
                     history_n: int = OSWORLD_HISTORY,
                     feedback: str | None = None) -> list[Message]:
    """OSWorld's messages for one step: one PastStep per earlier model answer, the last
    ``history_n`` of them with their frame-resized screenshot."""
    window = list(history[max(0, len(history) - history_n):]) if history_n > 0 else []
    earlier = history[:len(history) - len(window)]
    previous = "\n".join(f"Step {i}: {osworld_action_line(step.answer)}"
                         for i, step in enumerate(earlier, start=1)) or "None"
    text = {"type": "text", "text": _INSTRUCTION.format(goal=goal, previous=previous)}
    tail = [{"type": "text", "text": f"\n{feedback}"}] if feedback else []
    messages: list[Message] = [{"role": "system", "content": osworld_system_prompt()}]
    if not window:
        messages.append({"role": "user", "content": [_image(image), text, *tail]})
        return messages
    for i, step in enumerate(window):
        if step.image is None:
            raise ValueError(f"OSWorld's form needs the screenshots of the last {history_n} steps")
        parts = [_image(step.image), text] if i == 0 else [_image(step.image)]
        messages.append({"role": "user", "content": parts})
        messages.append({"role": "assistant", "content": step.answer})
    messages.append({"role": "user", "content": [_image(image), *tail]})
    return messages


def _image(image: Image.Image | None) -> dict[str, Any]:
    return {"type": "image", "image": image}

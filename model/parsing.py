"""Reading Qwen2.5-VL's answers: tool calls for the agent, boxes and points for grounding.

The model's text is data. It is searched for JSON and decoded with ``json.loads``; nothing
in it is ever evaluated. Everything that is not a usable answer raises ``ActionParseError``
(a ``ModelBehaviorError``) with a message written to be shown to the model on its next try.

Accepted tool-call forms (all seen in the wild): a ``<tool_call>`` block alone or after
text or a ``Thought:``; several blocks (the first is executed); a missing closing tag; the
JSON in a ```json fence, with or without the tags; ``arguments`` given as a JSON string.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.envs.errors import ActionParseError

__all__ = ["ToolCall", "parse_tool_call", "parse_tool_calls", "Grounding", "parse_grounding"]

_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.DOTALL)
_FORMAT_HINT = (
    'Answer with exactly one tool call: <tool_call> {"name": "<tool>", "arguments": '
    '{"action": ...}} </tool_call>'
)
_MAX_SHOWN = 120


class ToolCall(BaseModel):
    """One function call as the model wrote it; coordinates are in frame pixels."""

    model_config = ConfigDict(frozen=True)
    name: str = Field(description="the tool: computer_use or mobile_use")
    arguments: dict[str, Any] = Field(description="the arguments object, 'action' included")

    @property
    def action(self) -> str:
        return self.arguments["action"]

    def to_json(self) -> str:
        """The call as the cookbook writes it in the task progress: ``{"name": ..., ...}``."""
        return json.dumps({"name": self.name, "arguments": self.arguments}, ensure_ascii=False)


def parse_tool_call(text: str) -> ToolCall:
    """The first tool call in ``text``. Raises ``ActionParseError`` if there is none."""
    return parse_tool_calls(text)[0]


def parse_tool_calls(text: str) -> list[ToolCall]:
    """Every tool call in ``text``, in order; at least one, or ``ActionParseError``."""
    if not isinstance(text, str):
        raise ActionParseError(f"expected the model's answer as text, got {type(text).__name__}")
    candidates = [m.group(1) for m in _BLOCK.finditer(text)] or [text]
    calls: list[ToolCall] = []
    first_error: ActionParseError | None = None
    for candidate in candidates:
        try:
            calls.append(_call_from(candidate))
        except ActionParseError as exc:
            first_error = first_error or exc
    if calls:
        return calls
    assert first_error is not None
    raise first_error


def _call_from(block: str) -> ToolCall:
    obj = _first_json_object(block)
    if obj is None:
        raise ActionParseError(f"no tool call found in {_shown(block)}. {_FORMAT_HINT}")
    if "name" not in obj or "arguments" not in obj:
        raise ActionParseError(
            f"the tool call needs 'name' and 'arguments', got keys {sorted(map(str, obj))}. "
            f"{_FORMAT_HINT}"
        )
    name, arguments = obj["name"], obj["arguments"]
    if not isinstance(name, str) or not name:
        raise ActionParseError(f"the tool name must be a string, got {_shown(name)}")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except (ValueError, RecursionError):
            raise ActionParseError(
                f"'arguments' is a string that is not a JSON object: {_shown(arguments)}"
            ) from None
    if not isinstance(arguments, dict):
        raise ActionParseError(f"'arguments' must be a JSON object, got {_shown(arguments)}")
    action = arguments.get("action")
    if not isinstance(action, str) or not action:
        raise ActionParseError(f"'arguments' needs an 'action' string, got {_shown(arguments)}")
    try:
        return ToolCall(name=name, arguments=arguments)
    except (ValueError, RecursionError):
        raise ActionParseError(f"the tool call is not plain JSON data: {_shown(arguments)}") from None


def _first_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text``: the whole text, a fenced block, or a ``{...}`` span."""
    pieces = [text.strip()] + [m.group(1).strip() for m in _FENCE.finditer(text)]
    for piece in pieces:
        value = _loads(piece)
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def _loads(piece: str) -> Any:
    try:
        return json.loads(piece)
    except (ValueError, RecursionError):  # ValueError covers JSONDecodeError and huge ints
        return None


def _shown(value: Any) -> str:
    try:
        text = value if isinstance(value, str) else repr(value)
    except RecursionError:
        text = f"<a {type(value).__name__} nested too deep>"
    text = " ".join(text.split())
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "...")


class Grounding(BaseModel):
    """A box or point the model located, in frame pixels."""

    model_config = ConfigDict(frozen=True)
    shape: Literal["box", "point"]
    coords: tuple[float, ...] = Field(description="(x1, y1, x2, y2) for a box, (x, y) for a point")
    label: str | None = None

    @property
    def center(self) -> tuple[float, float]:
        if self.shape == "point":
            return self.coords[0], self.coords[1]
        x1, y1, x2, y2 = self.coords
        return (x1 + x2) / 2, (y1 + y2) / 2


_GROUNDING_KEYS = {"bbox_2d": "box", "bbox": "box", "point_2d": "point", "point": "point"}


def parse_grounding(text: str) -> list[Grounding]:
    """Every box or point in a grounding answer (fenced or not, one object or a list).

    A list cut off mid-way still yields the complete objects before the cut.
    """
    if not isinstance(text, str):
        raise ActionParseError(f"expected the model's answer as text, got {type(text).__name__}")
    found: list[Grounding] = []
    for piece in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        value = _loads(piece.strip())
        if value is None:
            continue
        bare = _grounding_from(value)  # a bare [x1, y1, x2, y2] or [x, y] is one answer
        found = [bare] if bare is not None else [
            g for item in (value if isinstance(value, list) else [value])
            if (g := _grounding_from(item)) is not None]
        if found:
            return found
    decoder = json.JSONDecoder()
    position = 0
    while (start := text.find("{", position)) != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            position = start + 1
            continue
        if (g := _grounding_from(value)) is not None:
            found.append(g)
        position = end
    if not found:
        raise ActionParseError(
            f"no bbox_2d or point_2d found in {_shown(text)}; answer like "
            '[{"bbox_2d": [x1, y1, x2, y2], "label": "..."}]'
        )
    return found


def _grounding_from(item: Any) -> Grounding | None:
    if isinstance(item, list) and len(item) in (2, 4) and all(_is_number(v) for v in item):
        return Grounding(shape="box" if len(item) == 4 else "point", coords=tuple(map(float, item)))
    if not isinstance(item, dict):
        return None
    label = item.get("label")
    label = str(label) if label is not None else None
    for key, shape in _GROUNDING_KEYS.items():
        coords = item.get(key)
        size = 4 if shape == "box" else 2
        if isinstance(coords, list) and len(coords) == size and all(map(_is_number, coords)):
            return Grounding(shape=shape, coords=tuple(map(float, coords)), label=label)
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)

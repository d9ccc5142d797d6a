"""ScreenSpot grounding: ask where each instruction's element is, score the point against the box.

Prompting follows the published Qwen2.5-VL evaluation (ScreenSpot-Pro's ``qwen2_5vl`` model
file): the ``computer_use`` system prompt stating the frame's resolution, then the
screenshot and the bare instruction as the user turn, greedy decoding; the answer's
``coordinate`` is the click, and a 4-number coordinate counts as its box's centre.
``prompt="grounding"`` asks the plain grounding question instead and reads ``bbox_2d`` /
``point_2d``. The screenshot goes through the same ``Frame`` as the agent's, and the
predicted point is mapped back to the original image before it is compared with the box.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from PIL import Image

from qvl_agent.envs.errors import ActionParseError
from qvl_agent.eval.bench.screenspot_data import GroundingSample
from qvl_agent.model.backend import VLMBackend
from qvl_agent.model.frame import Frame
from qvl_agent.model.parsing import parse_grounding, parse_tool_calls
from qvl_agent.model.prompts import Message, grounding_question, system_prompt

__all__ = ["Prompt", "screenspot_messages", "read_point", "predict_sample"]

Prompt = Literal["computer_use", "grounding"]


def screenspot_messages(image: Image.Image, instruction: str, prompt: Prompt) -> list[Message]:
    """The chat for one sample; ``image`` is already resized to its frame."""
    if prompt == "grounding":
        return [{"role": "user", "content": [
            {"type": "image", "image": image},
            {"type": "text", "text": grounding_question(instruction, "box")}]}]
    return [
        {"role": "system", "content": system_prompt("computer_use", image.width, image.height)},
        {"role": "user", "content": [{"type": "image", "image": image},
                                     {"type": "text", "text": instruction}]},
    ]


def read_point(text: str, prompt: Prompt) -> tuple[float, float]:
    """The point the answer gives, in frame pixels. Raises ``ActionParseError`` if none."""
    if prompt == "grounding":
        return parse_grounding(text)[0].center
    for call in parse_tool_calls(text):
        coordinate = call.arguments.get("coordinate")
        if (isinstance(coordinate, list) and len(coordinate) in (2, 4)
                and all(_is_number(v) for v in coordinate)):
            values = [float(v) for v in coordinate]
            if len(values) == 2:
                return values[0], values[1]
            return (values[0] + values[2]) / 2, (values[1] + values[3]) / 2
    raise ActionParseError(f"no tool call with a 'coordinate' of 2 or 4 numbers in {text[:120]!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def predict_sample(backend: VLMBackend, sample: GroundingSample, prompt: Prompt, *,
                   max_new_tokens: int = 128, root: Any = None) -> dict[str, Any]:
    """One result row: the model's raw answer, its point in image pixels, and the hit."""
    with Image.open(sample.image) as opened:
        image = opened.convert("RGB")
    frame = Frame.for_image(image, image.size, min_pixels=backend.min_pixels,
                            max_pixels=backend.max_pixels)
    generation = backend.generate(screenspot_messages(frame.resize(image), sample.instruction, prompt),
                                  max_new_tokens=max_new_tokens)
    row: dict[str, Any] = {
        "id": sample.id, "record_id": sample.record_id, "split": sample.split,
        "instruction": sample.instruction,
        "image": str(sample.image.relative_to(root)) if root else str(sample.image),
        "image_size": list(image.size), "frame": list(frame.size), "box": list(sample.box),
        "ui_type": sample.ui_type, "platform": sample.platform, "application": sample.application,
        "group": sample.group, "data_source": sample.data_source,
        "raw": generation.text, "model_s": round(generation.model_s, 3),
    }
    try:
        fx, fy = read_point(generation.text, prompt)
    except ActionParseError as exc:
        return row | {"parsed": False, "error": str(exc), "point_frame": None, "point": None,
                      "hit": False}
    # Frame pixels to image pixels with the frame's own ratios (its screen is the image); an
    # answer off the image stays off it and counts as a miss, so no Point (which refuses it).
    x, y = frame.scale_to_screen(fx, fy)
    return row | {"parsed": True, "error": None, "point_frame": [fx, fy],
                  "point": [round(x, 2), round(y, 2)], "hit": sample.contains(x, y)}

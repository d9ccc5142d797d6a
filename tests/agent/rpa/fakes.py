"""A fake Qwen2.5-VL for RPA tests: grounding answers in frame pixels, JSON for questions.

Built on ``tests.fakeqwen.FakeQwen``: the test says where things are in *screen*
coordinates (it knows the page), and the answer is given in the pixels of the image the
server received (the frame), as the real model answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.fakeqwen import QwenRequest

def question(request: QwenRequest) -> str:
    return "\n".join(request.texts)


def box_answer(request: QwenRequest, box: tuple[float, float, float, float],
               screen: tuple[int, int], label: str = "") -> str:
    """Qwen's grounding JSON for ``box`` (screen coordinates) in this request's frame pixels."""
    width, height = request.image.size  # a grounding request carries exactly the frame
    sx, sy = width / screen[0], height / screen[1]
    x1, y1, x2, y2 = box
    frame_box = [round(x1 * sx), round(y1 * sy), round(x2 * sx), round(y2 * sy)]
    return "```json\n" + json.dumps([{"bbox_2d": frame_box, "label": label}]) + "\n```"


def responder(boxes: Callable[[str], tuple[float, float, float, float] | None],
              screen: tuple[int, int], *, query: str = "[]", verdict: bool = True,
              result: object = True) -> Callable[[QwenRequest], str]:
    """A ``respond`` for FakeQwen: boxes for grounding, canned JSON for everything else."""
    def respond(request: QwenRequest) -> str:
        asked = request.grounding
        if asked is not None:
            box = boxes(asked)
            return box_answer(request, box, screen, asked) if box else "I cannot see it."
        text = question(request)
        if "Is this true:" in text:
            return json.dumps({"pass": verdict, "thought": "as the test says"})
        if "extract this data" in text:
            return "```json\n" + query + "\n```"
        if "answer:" in text:
            return json.dumps({"result": result})
        return "unexpected request"
    return respond

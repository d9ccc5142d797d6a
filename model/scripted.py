"""``ScriptedVLM``: a backend that answers from a script. Shipped for users' tests too."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS, Generation
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS
from qvl_agent.model.prompts import Message

__all__ = ["ScriptedVLM"]


class ScriptedVLM:
    """Returns canned answers in order, or whatever ``reply(messages)`` returns.

    Every request is kept in ``self.requests`` so a test can look at what the model saw.
    Running out of answers raises ``IndexError``: a test that asks more than it scripted
    has a bug worth seeing.
    """

    name = "scripted"

    def __init__(self, answers: Iterable[str] | Callable[[list[Message]], str], *,
                 min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS) -> None:
        self._reply = answers if callable(answers) else None
        self._answers = [] if callable(answers) else list(answers)
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        self.requests: list[list[Message]] = []

    def generate(self, messages: list[Message], *,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> Generation:
        self.requests.append(messages)
        if self._reply is not None:
            return Generation(text=self._reply(messages))
        index = len(self.requests) - 1
        if index >= len(self._answers):
            raise IndexError(f"ScriptedVLM has {len(self._answers)} answers; request {index + 1} has none")
        return Generation(text=self._answers[index])

"""What a step or a run cost (``Usage``), and the budgets that end a run (``Budget``).

Tokens come from the backend: a server's ``usage`` (vLLM, SGLang) or the local model's own
count; the images' share of the prompt is exact either way (one token per 28x28 block of
the frame). Time is measured here: the model's generate call, the screen (observe + act),
and the wall clock.

A budget is checked before each model call and before each action the model asked for, so
a run ends at the first boundary after one is reached: the answer that crosses
``max_tokens`` is still carried out, and a model call under way is not cut.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Usage", "Budget", "BudgetName", "Spend"]

BudgetName = Literal["max_steps", "max_tokens", "max_seconds"]


class Usage(BaseModel):
    """Tokens and seconds spent by one step, or summed over a run or an eval task."""

    model_config = ConfigDict(extra="forbid")
    model_calls: int = Field(0, description="answers asked of the model")
    prompt_tokens: int = Field(0, description="tokens sent to the model, images included")
    image_tokens: int = Field(0, description="of prompt_tokens, those the screenshots take")
    completion_tokens: int = Field(0, description="tokens the model wrote")
    model_s: float = Field(0.0, description="seconds in the model's generate call (or request)")
    screen_s: float = Field(0.0, description="seconds observing and acting on the screen")
    wall_s: float = Field(0.0, description="seconds on the wall clock")

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens together (what ``max_tokens`` counts)."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(**{name: getattr(self, name) + getattr(other, name)
                        for name in Usage.model_fields})

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        """The sum of ``usages`` (an empty one for none)."""
        result = cls()
        for usage in usages:
            result = result + usage
        return result


class Budget(BaseModel):
    """When a run must stop, whatever the model thinks: the first limit reached ends it with
    status ``budget``."""

    model_config = ConfigDict(extra="forbid")
    max_steps: int = Field(15, ge=1, le=10_000, description="executed actions: each tool call "
                           "of an answer counts, unusable answers do not")
    max_tokens: int | None = Field(None, ge=1, description="prompt + completion tokens of the "
                                   "whole run (None: no limit)")
    max_seconds: float | None = Field(None, gt=0, description="wall-clock seconds of the run "
                                      "(None: no limit)")


class Spend:
    """What a run has used so far, against its ``Budget``."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.actions = 0
        self.tokens = 0
        self.started = time.perf_counter()

    def add(self, *, executed: bool, tokens: int) -> None:
        """One step: whether its action reached the screen, and the tokens its answer cost."""
        self.actions += executed
        self.tokens += tokens

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def reached(self) -> tuple[BudgetName, str] | None:
        """The budget that is used up, and the sentence that says so; None while all is left."""
        budget = self.budget
        if self.actions >= budget.max_steps:
            return "max_steps", (f"max_steps: {self.actions} actions done, the budget is "
                                 f"{budget.max_steps}")
        if budget.max_tokens is not None and self.tokens >= budget.max_tokens:
            return "max_tokens", (f"max_tokens: {self.tokens} tokens used, the budget is "
                                  f"{budget.max_tokens}")
        if budget.max_seconds is not None and self.elapsed >= budget.max_seconds:
            return "max_seconds", (f"max_seconds: {self.elapsed:.1f} s spent, the budget is "
                                   f"{budget.max_seconds:g} s")
        return None

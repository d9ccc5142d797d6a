"""Policies: who decides the next Action. ``QwenPolicy`` asks the model; ``ScriptedPolicy``
replays a list or a generator (tests, oracles, RPA).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from PIL import Image

from qvl_agent.agent.trajectory import ReplayMark, Status, Step
from qvl_agent.agent.usage import BudgetName
from qvl_agent.envs.actions import Action, Click, Point, Terminate
from qvl_agent.envs.base import Observation
from qvl_agent.envs.errors import AnswerTruncatedError, ConfigError, ModelBehaviorError, QvlError
from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS, Generation, VLMBackend
from qvl_agent.model.convert import to_action
from qvl_agent.model.frame import Frame
from qvl_agent.model.osworld import OSWORLD_HISTORY, osworld_messages
from qvl_agent.model.parsing import ToolCall, parse_tool_calls
from qvl_agent.model.prompts import TOOLS, PastStep, agent_messages

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions

__all__ = ["Decision", "Stop", "Policy", "QwenPolicy", "ScriptedPolicy", "PolicyExhausted",
           "RandomPolicy"]


@dataclass(frozen=True)
class Stop:
    """A policy ends the run itself: with this status, for this reason (a replay that met a
    step which no longer fits, and has no model to ask)."""

    status: Status
    message: str
    budget: BudgetName | None = None  # status budget: which one was used up


@dataclass
class Decision:
    """What a policy decided for one step: an Action, the model's error, or to stop.

    ``followups`` are the answer's further tool calls, in order, each its own Decision; the
    loop runs them after ``action`` (OSWorld runs every call of an answer). The list stops
    at the first call that could not be used, which is kept with its error.

    ``observation``: the screen the policy decided on when it looked again after the one it
    was given (a replay waits for a screen that has not settled); the step records that one.
    """

    action: Action | None
    raw: str | None = None
    call: ToolCall | None = None
    error: ModelBehaviorError | None = None
    frame: Frame | None = None
    generation: Generation | None = None
    followups: list["Decision"] = field(default_factory=list)
    replay: ReplayMark | None = None
    observation: Observation | None = None
    stop: Stop | None = None


@runtime_checkable
class Policy(Protocol):
    name: str

    def reset(self, goal: str) -> None:
        """Forget the previous episode."""

    def decide(self, goal: str, observation: Observation, history: Sequence[Step]) -> Decision:
        """The next Action for ``goal`` given the screen and the steps so far."""


class PolicyExhausted(QvlError):
    """A scripted policy was asked for more actions than it has."""


class QwenPolicy:
    """Qwen2.5-VL through any backend: frame, prompt, generate, parse, to_action.

    Args:
        backend: where the model runs; its min/max pixels define the Frame.
        tool: ``computer_use`` or ``mobile_use`` (pick with ``EnvKind.tool``).
        history_images: keep the last K screenshots as real turns; 0 is the cookbook form
            (for ``prompt="osworld"``, 0 means OSWorld's own 4).
        max_new_tokens: the generation budget of one answer.
        answer: offer the ``answer`` action in the tool schema (questions).
        prompt: ``cookbook`` (the Qwen cookbooks' messages) or ``osworld`` (OSWorld's
            Qwen2.5-VL agent's messages, computer_use only).
    """

    def __init__(self, backend: VLMBackend, tool: str, *, history_images: int = 0,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, answer: bool = False,
                 prompt: Literal["cookbook", "osworld"] = "cookbook") -> None:
        if tool not in TOOLS:
            raise ValueError(f"tool must be one of {TOOLS}, got {tool!r}")
        if prompt == "osworld" and tool != "computer_use":
            raise ConfigError(f"--prompt osworld is OSWorld's desktop prompt (computer_use); "
                              f"this screen uses {tool}: use --prompt cookbook")
        self.backend = backend
        self.tool = tool
        self.prompt = prompt
        self.history_images = max(0, history_images)
        if prompt == "osworld" and not self.history_images:
            self.history_images = OSWORLD_HISTORY
        self.max_new_tokens = max_new_tokens
        self.answer = answer
        self.name = backend.name
        self._images: dict[int, Image.Image] = {}

    @classmethod
    def from_options(cls, options: "ModelOptions", tool: str, backend: VLMBackend | None = None,
                     *, question: bool = False) -> "QwenPolicy":
        """The policy the user's model options describe, for ``tool``.

        Args:
            backend: one already loaded (an eval worker keeps its own); None: load it.
            question: the task expects an answer (``--answer-action auto`` offers it then).
        """
        answer = options.answer_action == "on" or (options.answer_action == "auto" and question)
        return cls(backend or options.backend(), tool, history_images=options.history_images,
                   max_new_tokens=options.max_new_tokens, answer=answer, prompt=options.prompt)

    @property
    def prompt_options(self) -> dict[str, object]:
        """How this policy prompts, as recorded in a run's meta (an SFT export repeats it)."""
        return {"prompt": self.prompt, "answer": self.answer, "history_images": self.history_images,
                "min_pixels": self.backend.min_pixels, "max_pixels": self.backend.max_pixels}

    def reset(self, goal: str) -> None:
        self._images.clear()

    def decide(self, goal: str, observation: Observation, history: Sequence[Step]) -> Decision:
        frame = Frame.for_image(observation.screenshot, observation.screen,
                                min_pixels=self.backend.min_pixels,
                                max_pixels=self.backend.max_pixels)
        image = frame.resize(observation.screenshot)
        if self.prompt == "osworld":  # one turn per model answer, as OSWorld keeps them
            past = [PastStep(call=None, answer=step.raw or "", image=self._images.get(step.index))
                    for step in history if step.call_index == 0 and step.human is None]
            messages = osworld_messages(goal, image, past, history_n=self.history_images,
                                        feedback=_feedback(history))
        else:
            past = [PastStep(call=_call_json(step), answer=step.raw or "",
                             image=self._images.get(step.index)) for step in history]
            messages = agent_messages(self.tool, frame.size, goal, image, past,
                                      history_images=self.history_images,
                                      feedback=_feedback(history), answer=self.answer)
        self._remember(len(history) + 1, image)
        generation = self.backend.generate(messages, max_new_tokens=self.max_new_tokens)
        decision = Decision(action=None, raw=generation.text, frame=frame, generation=generation)
        if generation.truncated:
            decision.error = AnswerTruncatedError(
                f"the answer was cut off at the budget of {self.max_new_tokens} new tokens "
                "before it was complete; answer with a shorter thought and one tool call")
            return decision
        try:
            calls = parse_tool_calls(generation.text)
            decision.call = calls[0]
            decision.action = to_action(calls[0], frame)
        except ModelBehaviorError as exc:
            decision.error = exc
            return decision
        for call in calls[1:]:
            followup = Decision(action=None, call=call, frame=frame)
            try:
                followup.action = to_action(call, frame)
            except ModelBehaviorError as exc:
                followup.error = exc
            decision.followups.append(followup)
            if followup.error is not None:
                break
        return decision

    def _remember(self, index: int, image: Image.Image) -> None:
        """Keep the screenshots of the last K answers (steps of later calls have none)."""
        if not self.history_images:
            return
        self._images[index] = image
        while len(self._images) > self.history_images:
            del self._images[min(self._images)]


def _call_json(step: Step) -> str | None:
    """The step's call as the task progress shows it; None for steps that did nothing."""
    if step.call is None or step.error is not None:
        return None
    return json.dumps(step.call, ensure_ascii=False)


def _feedback(history: Sequence[Step]) -> str | None:
    """What the model is told before its next answer: why the last one was not done, or a
    warning, then any advice a person gave while the run was paused since."""
    at = len(history) - 1
    advice: list[str] = []
    while at >= 0 and history[at].human is not None:  # a person's turns since the last answer
        if history[at].human.advice:  # type: ignore[union-attr]
            advice.insert(0, history[at].human.advice)  # type: ignore[union-attr]
        at -= 1
    parts: list[str] = []
    last = history[at] if at >= 0 else None
    if last is not None and last.confirmation is not None and last.confirmation.answer == "no":
        parts.append("The user refused your previous action, so it was not done. Find another "
                     "way, or terminate if the task cannot be done without it.")
    elif last is not None and last.error is not None:
        parts.append(f"Your previous answer could not be executed: {last.error}. "
                     "Look at the screenshot again and answer with one valid tool call.")
    elif last is not None and last.warning:
        parts.append(last.warning)
    parts += [f"The user says: {text}" for text in advice]
    return "\n".join(parts) or None


class ScriptedPolicy:
    """Plays Actions from a list, an iterator, or ``fn(observation, history) -> Action``.

    An iterator can be a generator that reads the env between yields (that is how task
    oracles work). Asking for more than it has raises ``PolicyExhausted``.
    """

    def __init__(self, actions: Iterable[Action] | Callable[[Observation, Sequence[Step]], Action],
                 *, name: str = "scripted") -> None:
        self.name = name
        self._fn = actions if callable(actions) and not isinstance(actions, Iterator) else None
        self._source = None if self._fn else actions
        self._iter: Iterator[Action] | None = None

    def reset(self, goal: str) -> None:
        if self._source is not None:
            self._iter = iter(self._source)

    def decide(self, goal: str, observation: Observation, history: Sequence[Step]) -> Decision:
        if self._fn is not None:
            return Decision(action=self._fn(observation, history))
        if self._iter is None:
            self.reset(goal)
        try:
            return Decision(action=next(self._iter))  # type: ignore[arg-type]
        except StopIteration:
            raise PolicyExhausted(
                f"the {self.name} policy has no action left after {len(history)} "
                f"step{'s' if len(history) != 1 else ''}") from None


class RandomPolicy:
    """A baseline that knows nothing: random clicks, then it claims success.

    Useful as a floor for a suite and as proof that a checker cannot be fooled by an agent
    that merely says it is done.
    """

    def __init__(self, seed: int = 0, *, clicks: int = 3) -> None:
        self.name = "random"
        self.seed = seed
        self.clicks = clicks
        self._rng = random.Random(seed)

    def reset(self, goal: str) -> None:
        self._rng = random.Random(f"{self.seed}:{goal}")

    def decide(self, goal: str, observation: Observation, history: Sequence[Step]) -> Decision:
        if len(history) >= self.clicks:
            return Decision(action=Terminate(status="success"))
        screen = observation.screen
        at = Point(x=self._rng.uniform(0, screen.width - 1), y=self._rng.uniform(0, screen.height - 1))
        return Decision(action=Click(at=at))

"""One training sample per answer of a recorded episode, in the very chat form the agent sent.

The prompt is not rebuilt by a second implementation: the episode is replayed through
``QwenPolicy`` itself with a backend that records the messages it is given and answers with
the target. So the system prompt, the task progress, the feedback after a failed step and
the history images are exactly what the agent would send at that step.

The target answer is the ``<tool_call>`` block(s) of the calls that were executed, in frame
pixels: the model's own calls where a model acted, ``from_action`` (the inverse of
``to_action``) where an oracle or a script acted. Every target is checked to parse with our
parser and map back through ``to_action`` to the executed Action.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image

from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.secrets import SecretInfo, model_goal
from qvl_agent.agent.trajectory import Step
from qvl_agent.envs.actions import Action
from qvl_agent.envs.base import Observation
from qvl_agent.envs.errors import ConfigError, ModelBehaviorError
from qvl_agent.eval.sft.episodes import Episode
from qvl_agent.model.backend import Generation
from qvl_agent.model.convert import from_action, to_action
from qvl_agent.model.frame import Frame
from qvl_agent.model.parsing import ToolCall, parse_tool_calls
from qvl_agent.model.prompts import Message

__all__ = ["Sample", "PromptOptions", "episode_samples", "render_answer", "same_action"]


@dataclass(frozen=True)
class PromptOptions:
    """How the agent was prompted; the samples repeat it."""

    min_pixels: int
    max_pixels: int
    history_images: int = 0
    prompt: str = "cookbook"


@dataclass
class Sample:
    """One step's messages (images as frame-sized PIL images) and the answer to learn."""

    messages: list[Message]
    answer: str
    frame: Frame
    task: str
    episode: str
    step: int
    actions: list[Action] = field(default_factory=list)


@dataclass
class Counts:
    """What happened to the answers of the episodes read."""

    answers: int = 0
    failed: int = 0  # the first call could not be executed
    inexact: int = 0  # no tool call gives back exactly the executed action (e.g. an odd scroll)


class _Recorder:
    """A backend that keeps the messages it is asked about and answers with a given text."""

    name = "sft-export"

    def __init__(self, options: PromptOptions) -> None:
        self.min_pixels, self.max_pixels = options.min_pixels, options.max_pixels
        self.answer = ""
        self.messages: list[Message] = []

    def generate(self, messages: list[Message], **_: object) -> Generation:
        self.messages = messages
        return Generation(text=self.answer)


def render_answer(calls: list[ToolCall]) -> str:
    """The answer as Qwen2.5-VL writes it: one ``<tool_call>`` block per call."""
    return "\n".join(f"<tool_call>\n{call.to_json()}\n</tool_call>" for call in calls)


def same_action(a: Action, b: Action, frame: Frame) -> bool:
    """Equal, with points allowed to differ by one frame pixel (answers hold whole pixels)."""
    if type(a) is not type(b):
        return False
    tolerance = (frame.screen.width / frame.width, frame.screen.height / frame.height)
    left, right = a.model_dump(), b.model_dump()
    return _close(left, right, tolerance)


def _close(left: object, right: object, tolerance: tuple[float, float]) -> bool:
    if isinstance(left, dict) and isinstance(right, dict):
        if left.keys() != right.keys():
            return False
        if left.keys() == {"x", "y"}:
            return (abs(left["x"] - right["x"]) <= tolerance[0]
                    and abs(left["y"] - right["y"]) <= tolerance[1])
        return all(_close(left[k], right[k], tolerance) for k in left)
    return left == right


def episode_samples(episode: Episode, options: PromptOptions, counts: Counts) -> Iterator[Sample]:
    """The samples of one episode, in step order; answers that failed are counted, not kept."""
    meta = episode.trajectory.meta
    # A model's run says how it was prompted; an oracle's run takes the export's options.
    recorded = meta.options.get("policy") or {}
    options = replace(options, **{key: recorded[key] for key in
                                  ("min_pixels", "max_pixels", "history_images", "prompt")
                                  if key in recorded})
    recorder = _Recorder(options)
    offers_answer = recorded.get("answer", False) or any(
        step.action is not None and step.action.kind == "answer" for step in episode.trajectory.steps)
    policy = QwenPolicy(recorder, meta.tool, history_images=options.history_images,
                        answer=offers_answer, prompt=options.prompt)
    # The goal as the model read it: with the line naming the run's secrets (names only).
    goal = model_goal(meta.goal, [SecretInfo.model_validate(s) for s in meta.options.get("secrets") or []])
    policy.reset(goal)
    history: list[Step] = []
    for group in _answers(episode.trajectory.steps):
        first = group[0]
        if first.human is not None:  # a person's turn: no answer to learn, but the next
            history.append(first)     # prompt carries their advice, as the agent's did
            continue
        image = _screenshot(episode.run_dir, first)
        frame = Frame.for_image(image, first.screen, min_pixels=options.min_pixels,
                                max_pixels=options.max_pixels)
        if first.frame is not None and tuple(first.frame) != frame.size:
            raise ConfigError(
                f"{episode.run_dir} step {first.index}: the model saw a {first.frame[0]}x"
                f"{first.frame[1]} frame, these pixel limits give {frame.width}x{frame.height}; "
                "export with the --min-pixels/--max-pixels the run used")  # runs before "policy" was recorded
        executed = []
        for step in group:
            if step.error is not None or step.action is None:
                break
            executed.append(step)
        try:
            calls = [ToolCall.model_validate(step.call) if step.call is not None
                     else from_action(step.action, frame, meta.tool) for step in executed]
        except TypeError:  # an action no tool call stands for
            calls = []
        recorder.answer = render_answer(calls) if calls else ""
        counts.answers += 1
        policy.decide(goal, Observation(screenshot=image, screen=first.screen), history)
        messages = recorder.messages
        # The next prompt shows these steps as the agent's progress: an oracle's step gets
        # the call it stands for, so the history reads as if the model had acted.
        for step, call in zip(group, calls + [None] * len(group)):
            if step.call is None and call is not None:
                step = step.model_copy(update={"call": call.model_dump(),
                                               "raw": step.raw or recorder.answer})
            history.append(step)
        if not executed:
            counts.failed += 1
            continue
        answer = recorder.answer
        if not calls or not _round_trips(answer, frame, [step.action for step in executed]):
            counts.inexact += 1
            continue
        yield Sample(messages=messages, answer=answer, frame=frame, task=episode.task,
                     episode=episode.run_dir.name, step=first.index,
                     actions=[step.action for step in executed])


def _answers(steps: list[Step]) -> Iterator[list[Step]]:
    """Steps grouped by the answer they came from (a first call and its follow-ups)."""
    group: list[Step] = []
    for step in steps:
        if step.call_index == 0 and group:
            yield group
            group = []
        group.append(step)
    if group:
        yield group


def _screenshot(run_dir: Path, step: Step) -> Image.Image:
    if step.screenshot is None or step.screen is None:
        raise ConfigError(f"{run_dir} step {step.index} has no screenshot; was the run recorded "
                          "with a RunRecorder?")
    path = run_dir / step.screenshot
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the step's screenshot ({exc})") from None


def _round_trips(answer: str, frame: Frame, actions: list[Action]) -> bool:
    """True when ``answer`` parses and maps back, through ``to_action``, to ``actions``."""
    try:
        back = [to_action(call, frame) for call in parse_tool_calls(answer)]
    except ModelBehaviorError:
        return False
    return len(back) == len(actions) and all(same_action(a, b, frame) for a, b in zip(back, actions))

"""``ReplayPolicy``: a recorded run's actions as the policy, each checked before it is trusted.

Each turn takes the recording's next move (``agent.replay.recording``) and checks it
against the screen (``agent.replay.fit``). A screen that does not fit yet may still be
settling (a page loading, an animation): the env is given time to settle and looked at
again, a few times, before the step is judged. Then:

- it fits: the recorded action is done (its point moved where its target moved), with the
  rest of that answer's calls;
- it does not, and a model was given (``fallback``): the model decides from here on, with
  the goal and every step so far as its history (replayed steps read as the tool calls
  that stand for them), and the run goes on as a normal run;
- it does not and there is no model: the run stops with status ``diverged`` and says which
  step and why ("step 4: the target region changed, 38% of its pixels differ").

``stats`` counts replayed and re-planned steps and the model calls made.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from qvl_agent.agent.policy import Decision, Policy, Stop
from qvl_agent.agent.replay.fit import Fit, check
from qvl_agent.agent.replay.recording import Move, Recording
from qvl_agent.agent.trajectory import ReplayMark, Step
from qvl_agent.envs.base import Env, Observation
from qvl_agent.model.convert import from_action
from qvl_agent.model.frame import Frame

__all__ = ["ReplayPolicy", "SETTLE_LOOKS", "SETTLE_S"]

SETTLE_LOOKS = 3  # looks again at most this many times before a step is judged...
SETTLE_S = 4.0  # ...within this many seconds


class ReplayPolicy:
    """Replays ``recording`` on ``env``; ``fallback`` (a model's policy) takes over where the
    screen no longer fits, or None to stop there."""

    def __init__(self, recording: Recording, env: Env, *, fallback: Policy | None = None) -> None:
        self.recording = recording
        self.env = env
        self.fallback = fallback
        self.name = f"replay+{fallback.name}" if fallback is not None else "replay"
        self.stats: dict[str, int] = {"replayed": 0, "replanned": 0, "model_calls": 0}
        self._moves: Iterator[Move] = iter(())
        self._handed_over = False
        self._handover_note: ReplayMark | None = None

    @property
    def prompt_options(self) -> dict[str, object] | None:
        """The model's prompting, where a model may take over (recorded in the run's meta)."""
        return getattr(self.fallback, "prompt_options", None)

    def reset(self, goal: str) -> None:
        self._moves = iter(self.recording.moves)
        self._handed_over = False
        if self.fallback is not None:
            self.fallback.reset(goal)

    def decide(self, goal: str, observation: Observation, history: Sequence[Step]) -> Decision:
        if self._handed_over:
            return self._ask_model(goal, observation, history, None)
        index = len(history) + 1
        move = next(self._moves, None)
        if move is None:
            return self._recording_ended(goal, observation, history, index)
        fit, looked = self._judge(move, observation, goal)
        observation = looked or observation
        if fit.fits:
            self.stats["replayed"] += 1 + len(move.followups)
            return Decision(
                action=fit.action, observation=looked,
                replay=ReplayMark(source="replayed", recorded_step=move.step.index,
                                  note=fit.reason or None),
                followups=[Decision(action=f.action, replay=ReplayMark(
                    source="replayed", recorded_step=f.index)) for f in move.followups])
        where = f"step {index}" + (f" (recorded step {move.step.index})"
                                   if move.step.index != index else "")
        mark = ReplayMark(source="diverged", recorded_step=move.step.index, note=fit.reason,
                          recorded=move.step.action)
        if self.fallback is None:
            return Decision(action=None, observation=looked, replay=mark,
                            stop=Stop("diverged", f"{where}: {fit.reason}"))
        mark = mark.model_copy(update={"source": "replanned", "recorded": None,
                                       "note": f"{where} no longer fits: {fit.reason}"})
        return self._hand_over(goal, observation, history, mark, looked)

    # -- pieces ------------------------------------------------------------------------------

    def _judge(self, move: Move, observation: Observation,
               goal: str) -> tuple[Fit, Observation | None]:
        """The move's fit, looking again while the screen may still be settling."""
        image = self.recording.screenshot(move.step)
        fit = check(self.env, move.step, image, observation, goal=goal,
                    recorded_goal=self.recording.goal)
        looked: Observation | None = None
        deadline = time.monotonic() + SETTLE_S
        for _ in range(SETTLE_LOOKS):
            if fit.fits or time.monotonic() > deadline or fit.reason.startswith("the goal"):
                break
            self.env.settle()
            looked = self.env.observe()
            fit = check(self.env, move.step, image, looked, goal=goal,
                        recorded_goal=self.recording.goal)
        return fit, looked

    def _recording_ended(self, goal: str, observation: Observation, history: Sequence[Step],
                         index: int) -> Decision:
        meta = self.recording.trajectory.meta
        ended = f"the recorded run ended here with {meta.status}" + (
            f" ({meta.message})" if meta.message else "")
        if self.fallback is not None:
            mark = ReplayMark(source="replanned", note=f"step {index}: {ended}")
            return self._hand_over(goal, observation, history, mark, None)
        status = meta.status if meta.status != "running" else "error"
        return Decision(action=None, stop=Stop(status, f"as recorded: {ended}", meta.budget))

    def _hand_over(self, goal: str, observation: Observation, history: Sequence[Step],
                   mark: ReplayMark, looked: Observation | None) -> Decision:
        self._handed_over = True
        decision = self._ask_model(goal, observation, history, mark)
        decision.observation = looked
        return decision

    def _ask_model(self, goal: str, observation: Observation, history: Sequence[Step],
                   mark: ReplayMark | None) -> Decision:
        assert self.fallback is not None
        self.stats["model_calls"] += 1
        self.stats["replanned"] += 1
        decision = self.fallback.decide(goal, observation, self._as_model_history(history))
        decision.replay = mark or ReplayMark(source="replanned")
        for followup in decision.followups:
            followup.replay = ReplayMark(source="replanned")
            self.stats["replanned"] += int(followup.error is None)
        return decision

    def _as_model_history(self, history: Sequence[Step]) -> list[Step]:
        """The steps so far as the model's history: a replayed step reads as the tool call
        that stands for its action (as if the model had made it), in the model's frame."""
        tool = getattr(self.fallback, "tool", self.env.kind.tool)
        backend = getattr(self.fallback, "backend", None)
        limits = {"min_pixels": backend.min_pixels, "max_pixels": backend.max_pixels} if backend else {}
        steps = []
        for step in history:
            if step.call is None and step.action is not None and step.screen is not None:
                size = step.screenshot_size or (step.screen.width, step.screen.height)
                frame = Frame.for_image(size, step.screen, **limits)
                try:
                    call = from_action(step.action, frame, tool)
                except TypeError:  # an action no tool call stands for
                    steps.append(step)
                    continue
                answer = f"<tool_call>\n{call.to_json()}\n</tool_call>"
                step = step.model_copy(update={"call": call.model_dump(), "raw": step.raw or answer})
            steps.append(step)
        return steps

"""``Player``: runs one script step on the screen and records it as a ``Step``.

Each step observes the screen first (the screenshot goes into the run directory and is what
the target is found on), then acts only through validated Actions. A step that cannot be
done raises ``StepFailure`` with the reason; the runner decides whether the task goes on.
"""

from __future__ import annotations

import time
from typing import Any

from PIL import Image

from qvl_agent.agent.guard import Guard
from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import Recorder
from qvl_agent.agent.rpa import ask as asking
from qvl_agent.agent.rpa.grounders import Target
from qvl_agent.agent.rpa.locator import Locator, Stats
from qvl_agent.agent.rpa.script import (
    Ai, Assert, Boolean, DoubleClick, FlowStep, Hover, Input, KeyboardPress, Number, Query,
    RightClick, Scroll, Sleep, String, Tap, Task, WaitFor,
)
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Step, Timings, now_iso
from qvl_agent.envs.actions import Action, Click, KeyPress, MoveTo, Point, Swipe, TypeText
from qvl_agent.envs.actions import Scroll as ScrollAction
from qvl_agent.envs.base import Env, EnvKind, Observation
from qvl_agent.envs.errors import EnvDisconnectedError, ModelBehaviorError, QvlError
from qvl_agent.model.backend import VLMBackend

__all__ = ["Player", "StepFailure", "step_label"]


class StepFailure(Exception):
    def __init__(self, reason: str, step: Step | None = None, *, fatal: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.step, self.fatal = reason, step, fatal


def step_label(step: FlowStep) -> str:
    text = step.prompt_text()
    return f"{step.kind}: {text}" if text else step.kind


class Player:
    def __init__(self, env: Env, locator: Locator, backend: VLMBackend | None, recorder: Recorder,
                 stats: Stats, outputs: dict[str, Any], secrets: Secrets | None = None) -> None:
        self.env, self.locator, self.backend = env, locator, backend
        self.secrets = secrets
        self.guard = Guard(env, secrets)  # ${NAME} of a secret is <secret:NAME> until typed
        self.recorder, self.stats, self.outputs = recorder, stats, outputs
        self.index = 0
        self.steps: list[Step] = []

    # -- one step ---------------------------------------------------------------------------

    def play(self, task: Task, step: FlowStep) -> None:
        """Run ``step``; raises ``StepFailure`` when it cannot be done."""
        if isinstance(step, Ai):
            self._ai(task, step)
            return
        record = self._new_step(task, step)
        started = time.perf_counter()
        try:
            observation = self._observe(record)
            self._do(step, observation, record)
        except QvlError as exc:
            record.error, record.error_kind = str(exc), type(exc).__name__
            raise StepFailure(str(exc), record,
                              fatal=isinstance(exc, EnvDisconnectedError)) from None
        except StepFailure as failure:
            record.error, record.error_kind = failure.reason, "StepFailure"
            failure.step = record
            raise
        finally:
            record.timings.execute_s = time.perf_counter() - started - record.timings.observe_s
            self._add(record)

    def _do(self, step: FlowStep, observation: Observation, record: Step) -> None:
        match step:
            case Tap() | DoubleClick() | RightClick() | Hover() | Input():
                target = self._locate(step.locate, observation, record, step.cacheable)
                action: Action = {
                    "aiDoubleClick": Click(at=target.point, count=2),
                    "aiRightClick": Click(at=target.point, button="right"),
                    "aiHover": MoveTo(at=target.point),
                }.get(step.kind, Click(at=target.point))
                record.action = action
                self._act(action)
                if isinstance(step, Input):
                    self._enter_text(step.value, step.mode)
                    record.extras["value"] = step.value
            case KeyboardPress(key=key, locate=locate):
                if locate:
                    target = self._locate(locate, observation, record, step.cacheable)
                    self._act(Click(at=target.point))
                keys = [k.strip() for k in key.split("+") if k.strip()] or [key]  # "Control+A"
                if len(keys) > 1:  # a chord names keys, not the letters they type: ctrl+a
                    keys = [k.lower() if len(k) == 1 else k for k in keys]
                record.action = KeyPress(keys=keys)
                self._act(record.action)
            case Scroll():
                self._scroll(step, observation, record)
            case WaitFor():
                self._wait_for(step, observation, record)
            case Assert():
                answer = self._ask(asking.assert_prompt(step.prompt), observation, record)
                passed, thought = _verdict(answer)
                if not passed:
                    raise StepFailure(step.errorMessage or f"assertion failed: {step.prompt}"
                                      + (f" ({thought})" if thought else ""))
            case Query():
                value = self._ask(asking.query_prompt(step.prompt), observation, record)
                shape = asking.shape_schema(step.prompt)
                if shape is not None:
                    asking.check_schema(value, shape, "the answer")
                if step.schema_ is not None:
                    asking.check_schema(value, step.schema_, "the answer")
                self._output(step, value, record)
            case Boolean() | Number() | String():
                kind = {"aiBoolean": "boolean", "aiNumber": "number", "aiString": "string"}[step.kind]
                answer = self._ask(asking.result_prompt(step.prompt, kind), observation, record)
                value = answer["result"] if isinstance(answer, dict) and "result" in answer else answer
                asking.check_schema(value, {"type": kind}, f"the {step.kind} answer")
                self._output(step, value, record)
            case Sleep(ms=ms):
                time.sleep(ms / 1000)
            case _:
                raise StepFailure(f"{step.kind} is not supported here")

    # -- pieces -------------------------------------------------------------------------------

    def _locate(self, prompt: str, observation: Observation, record: Step,
                cacheable: bool) -> Target:
        target, state = self.locator.locate(prompt, observation, cacheable)
        record.extras.update(grounder=target.grounder, cache=state,
                             target=[round(target.point.x, 1), round(target.point.y, 1)])
        if target.raw is not None:
            record.raw, record.frame = target.raw, target.frame
        return target

    def _act(self, action: Action) -> None:
        if not self.env.supports(action):
            raise StepFailure(f"this {self.env.kind.value} cannot do '{action.kind}'")
        self.guard.execute(action)

    def _enter_text(self, value: str, mode: str) -> None:
        """Midscene's aiInput modes: select what the field holds first so the typing replaces
        it (``replace``), delete it (``clear``), or just type (``typeOnly``). A phone's fields
        are typed into as they are: adb has no select-all."""
        if mode != "typeOnly" and self.env.kind is not EnvKind.android:
            self._act(KeyPress(keys=["ctrl", "a"]))
            if mode == "clear" or not value:
                self._act(KeyPress(keys=["delete"]))
        if value and mode != "clear":
            self._act(TypeText(text=value))

    def _scroll(self, step: Scroll, observation: Observation, record: Step) -> None:
        screen = observation.screen
        at = None
        if step.locate:
            at = self._locate(step.locate, observation, record, step.cacheable).point
        whole = step.scrollType not in ("singleAction", "once")
        span = screen.height if step.direction in ("up", "down") else screen.width
        distance = 10 * span if whole else (step.distance or round(span * 0.7))
        if whole and step.scrollType.endswith(("Top", "Left")):
            direction = "up" if step.scrollType.endswith("Top") else "left"
        elif whole:
            direction = "down" if step.scrollType.endswith("Bottom") else "right"
        else:
            direction = step.direction
        sign = 1 if direction in ("down", "right") else -1
        dx, dy = (0, sign * distance) if direction in ("up", "down") else (sign * distance, 0)
        action: Action = ScrollAction(dx=dx, dy=dy, at=at)
        if not self.env.supports(action):  # a phone scrolls by swiping the other way
            centre = at or Point(x=screen.width / 2, y=screen.height / 2)
            reach = min(distance, span * 0.4)
            ex = min(max(centre.x - (reach if dx > 0 else -reach if dx < 0 else 0), 0), screen.width - 1)
            ey = min(max(centre.y - (reach if dy > 0 else -reach if dy < 0 else 0), 0), screen.height - 1)
            action = Swipe(start=centre, end=Point(x=ex, y=ey))
        record.action = action
        self._act(action)

    def _wait_for(self, step: WaitFor, observation: Observation, record: Step) -> None:
        """Offline grounders first (the text is there), else the model's verdict; until timeout."""
        deadline = time.monotonic() + step.timeout / 1000
        offline = [g for g in self.locator.grounders if g.name != "qwen"]
        last = ""
        first = True
        while True:
            if not first:
                observation = self.guard.observe(self.env.observe())
            first = False
            for grounder in offline:
                if grounder.find(self.env, observation, step.prompt) is not None:
                    record.extras["grounder"] = grounder.name
                    return
            if self.backend is not None:
                answer = self._ask(asking.assert_prompt(step.prompt), observation, record)
                passed, last = _verdict(answer)
                if passed:
                    return
            if time.monotonic() >= deadline:
                raise StepFailure(f"waited {step.timeout / 1000:g}s and still not: {step.prompt}"
                                  + (f" ({last})" if last else ""))
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    def _ask(self, question: str, observation: Observation, record: Step) -> Any:
        if self.backend is None:
            raise StepFailure("this step needs the model; give --model or --endpoint")
        answer = asking.ask(self.backend, observation.screenshot, question)
        record.raw, record.frame = answer.raw, answer.frame
        record.timings.model_s += answer.model_s
        return answer.value

    def _output(self, step: Query | Boolean | Number | String, value: Any, record: Step) -> None:
        name = step.name or f"{step.kind}_{len(self.outputs) + 1}"
        self.outputs[name] = value
        record.extras["output"] = name

    def _ai(self, task: Task, step: Ai) -> None:
        """Hand the sub-goal to the agent loop; its steps join this run's trajectory."""
        if self.backend is None:
            raise StepFailure("this step needs the model; give --model or --endpoint")
        policy = QwenPolicy(self.backend, self.env.kind.tool)
        nested = _Nested(self, task, step)
        trajectory = run_episode(self.env, policy, step.prompt, max_steps=step.maxSteps,
                                 recorder=nested, secrets=self.secrets)
        if not trajectory.succeeded:
            reason = f"the agent did not finish: {trajectory.meta.status}"
            if trajectory.meta.message:
                reason += f" ({trajectory.meta.message})"
            raise StepFailure(reason, self.steps[-1] if self.steps else None)

    # -- recording ------------------------------------------------------------------------------

    def _new_step(self, task: Task, step: FlowStep) -> Step:
        self.index += 1
        return Step(index=self.index, started_at=now_iso(), timings=Timings(),
                    extras={"rpa": step_label(step), "task": task.name, "line": step.line})

    def _observe(self, record: Step) -> Observation:
        started = time.perf_counter()
        observation = self.guard.observe(self.env.observe())  # a shown secret is masked
        record.timings.observe_s = time.perf_counter() - started
        record.screen = observation.screen
        record.screenshot_size = observation.screenshot.size
        record.screenshot = self.recorder.save_screenshot(record.index, observation.screenshot)
        return observation

    def _add(self, record: Step) -> None:
        self.guard.redact_step(record)
        self.steps.append(record)
        self.recorder.add(record)


class _Nested:
    """The recorder ``run_episode`` sees for an ``ai:`` step: its steps numbered on from ours."""

    def __init__(self, player: Player, task: Task, step: Ai) -> None:
        self.player, self.offset = player, player.index
        self.label = f"{step_label(step)}"
        self.task, self.line = task.name, step.line

    def start(self, meta: RunMeta) -> None:
        pass  # the run's own meta is the player's

    def finish(self, meta: RunMeta) -> None:
        pass

    def save_screenshot(self, index: int, image: Image.Image) -> str:
        return self.player.recorder.save_screenshot(self.offset + index, image)

    def add(self, step: Step) -> None:
        step.index = self.offset + step.index
        step.extras.update(rpa=self.label, task=self.task, line=self.line)
        self.player.index = step.index
        self.player._add(step)


def _verdict(answer: Any) -> tuple[bool, str]:
    if isinstance(answer, bool):
        return answer, ""
    if isinstance(answer, dict) and isinstance(answer.get("pass"), bool):
        return answer["pass"], str(answer.get("thought") or "")
    raise ModelBehaviorError(f'expected {{"pass": true|false, "thought": ...}}, got {str(answer)[:120]}')

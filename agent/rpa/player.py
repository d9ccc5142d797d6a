"""``Player``: runs one script step on the screen and records it as a ``Step``.

Each step observes the screen first (the screenshot goes into the run directory and is what
the target is found on), then acts only through validated Actions, except the steps whose
code the script's author wrote (``javascript``, ``runAdbShell``), which run as written. A
step that cannot be done raises ``StepFailure`` with the reason; the runner decides whether
the task goes on.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PIL import Image

from qvl_agent.agent.guard import Guard
from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import Recorder
from qvl_agent.agent.rpa import ask as asking
from qvl_agent.agent.rpa import device_steps
from qvl_agent.agent.rpa.grounders import Target
from qvl_agent.agent.rpa.locator import Locator, Stats
from qvl_agent.agent.rpa.references import WithReferences, load_image
from qvl_agent.agent.rpa.scrolling import scroll
from qvl_agent.agent.rpa.steps import (
    AdbShell, Ai, Ask, Assert, Boolean, ClearInput, DoubleClick, DragAndDrop, FlowStep, Hover,
    Input, JavaScript, KeyboardPress, Launch, Locate, LocateParam, LongPress, Number, Query,
    Record, RefImage, RightClick, Scroll, Sleep, String, SystemKey, Tap, Terminate, WaitFor,
)
from qvl_agent.agent.rpa.yamldoc import cut
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Step, Timings, now_iso
from qvl_agent.envs.actions import Action, Click, Drag, KeyPress, MoveTo, TypeText
from qvl_agent.envs.actions import LongPress as LongPressAction
from qvl_agent.envs.base import Env, EnvKind, Observation
from qvl_agent.envs.errors import EnvDisconnectedError, ModelBehaviorError, QvlError
from qvl_agent.model.backend import VLMBackend

__all__ = ["Player", "StepFailure", "step_label"]


class StepFailure(Exception):
    def __init__(self, reason: str, step: Step | None = None, *, fatal: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.step, self.fatal = reason, step, fatal


def step_label(step: FlowStep) -> str:
    text = " ".join(step.prompt_text().split())
    return f"{step.kind}: {cut(text, 100)}" if text else step.kind


class Player:
    """Plays steps on ``env``.

    Args:
        base: the folder relative paths (reference images, files to upload) start from.
        context: ``agent.aiActContext``, given to the model with every ``ai`` step.
        ai_steps: an ``ai`` step's budget when it gives none (``replanningCycleLimit``).
    """

    def __init__(self, env: Env, locator: Locator, backend: VLMBackend | None, recorder: Recorder,
                 stats: Stats, outputs: dict[str, Any], secrets: Secrets | None = None, *,
                 base: Path | None = None, context: str | None = None, ai_steps: int = 20) -> None:
        self.env, self.locator, self.backend = env, locator, backend
        self.secrets = secrets
        self.guard = Guard(env, secrets)  # ${NAME} of a secret is <secret:NAME> until typed
        self.recorder, self.stats, self.outputs = recorder, stats, outputs
        self.base = base or Path.cwd()
        self.context, self.ai_steps = context, ai_steps
        self.index = 0
        self.steps: list[Step] = []
        self._images: dict[str, Image.Image] = {}

    # -- one step ---------------------------------------------------------------------------

    def play(self, task: Any, step: FlowStep) -> None:
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
            case Tap() | DoubleClick() | RightClick() | Hover() | LongPress():
                point = self._locate(step.locate, observation, record).point
                action: Action = {
                    "aiDoubleClick": Click(at=point, count=2),
                    "aiRightClick": Click(at=point, button="right"),
                    "aiHover": MoveTo(at=point),
                    "aiLongPress": LongPressAction(at=point, seconds=(getattr(step, "duration", None) or 800) / 1000),
                }.get(step.kind, Click(at=point))
                record.action = action
                if isinstance(step, Tap) and step.fileChooserAccept:
                    chose = device_steps.tap_with_files(self.env, step.fileChooserAccept, self.base,
                                                        lambda: self._act(action))
                    record.extras["files"] = step.fileChooserAccept
                    if not chose:
                        record.warning = "the tap opened no file chooser; no file was given"
                else:
                    self._act(action)
            case Input():
                if step.locate is not None:
                    record.action = Click(at=self._locate(step.locate, observation, record).point)
                    self._act(record.action)
                self._enter_text(step.value, step.mode)
                record.extras["value"] = step.value
            case ClearInput():
                if step.locate is not None:
                    record.action = Click(at=self._locate(step.locate, observation, record).point)
                    self._act(record.action)
                self._clear()
            case KeyboardPress(keyName=key, locate=locate):
                if locate is not None:
                    self._act(Click(at=self._locate(locate, observation, record).point))
                keys = [k.strip() for k in key.split("+") if k.strip()] or [key]  # "Control+A"
                if len(keys) > 1:  # a chord names keys, not the letters they type: ctrl+a
                    keys = [k.lower() if len(k) == 1 else k for k in keys]
                record.action = KeyPress(keys=keys)
                self._act(record.action)
            case Scroll():
                at = self._locate(step.locate, observation, record).point if step.locate else None
                record.extras["scrolls"] = scroll(self.env, step, observation, at, record, self._act)
            case DragAndDrop():
                start = self._locate(step.from_, observation, record).point
                end = self._locate(step.to, observation, record).point
                record.action = Drag(start=start, end=end)
                self._act(record.action)
            case WaitFor():
                self._wait_for(step, observation, record)
            case Assert():
                answer = self._ask(asking.assert_prompt(step.for_model), observation, record, step.images)
                passed, thought = _verdict(answer)
                message = step.errorMessage or f"assertion failed: {cut(step.prompt, 200)}" + (
                    f" ({cut(thought, 200)})" if thought else "")
                if step.name:
                    self._output(step, {"pass": passed, "thought": thought,
                                        "message": None if passed else message}, record)
                if not passed:
                    raise StepFailure(message)
            case Query():
                value = self._ask(asking.query_prompt(step.for_model), observation, record, step.images)
                shape = asking.shape_schema(step.prompt)
                if shape is not None:
                    asking.check_schema(value, shape, "the answer")
                if step.schema_ is not None:
                    asking.check_schema(value, step.schema_, "the answer")
                self._output(step, value, record)
            case Boolean() | Number() | String() | Ask():
                kind = {"aiBoolean": "boolean", "aiNumber": "number", "aiString": "string",
                        "aiAsk": "string"}[step.kind]
                answer = self._ask(asking.result_prompt(step.for_model, kind), observation, record,
                                   step.images)
                value = answer["result"] if isinstance(answer, dict) and "result" in answer else answer
                asking.check_schema(value, {"type": kind}, f"the {step.kind} answer")
                self._output(step, value, record)
            case Locate():
                found = self._locate(step.locate, observation, record)
                self._output(step, _located(found), record)
            case Sleep(ms=ms):
                time.sleep(ms / 1000)
            case JavaScript():
                self._output(step, device_steps.evaluate(self.env, step.code), record)
            case Record(content=content):
                record.extras["content"] = content
            case AdbShell():
                self._output(step, device_steps.adb_shell(self.env, step.command, step.timeout), record)
            case Launch(uri=uri):
                device_steps.launch(self.env, uri)
            case Terminate(uri=uri):
                device_steps.terminate(self.env, uri)
            case SystemKey():
                record.action = device_steps.system_button(step.kind)
                self._act(record.action)
            case _:
                raise StepFailure(f"{step.kind} is not supported here")

    # -- pieces -------------------------------------------------------------------------------

    def _references(self, images: list[RefImage]) -> list[tuple[str, Image.Image]]:
        out = []
        for image in images:
            if image.url not in self._images:
                self._images[image.url] = load_image(image, self.base)
            out.append((image.name, self._images[image.url]))
        return out

    def _locate(self, wanted: LocateParam, observation: Observation, record: Step) -> Target:
        target, state = self.locator.locate(wanted, observation, self._references(wanted.images))
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
        are typed into as they are (adb has no select-all): aiClearInput empties one."""
        if self.env.kind is EnvKind.android:
            if mode == "clear":
                device_steps.clear_focused_field(self.env)
        elif mode != "typeOnly":
            self._act(KeyPress(keys=["ctrl", "a"]))
            if mode == "clear" or not value:
                self._act(KeyPress(keys=["delete"]))
        if value and mode != "clear":
            self._act(TypeText(text=value))

    def _clear(self) -> None:
        if self.env.kind is EnvKind.android:
            device_steps.clear_focused_field(self.env)
            return
        self._act(KeyPress(keys=["ctrl", "a"]))
        self._act(KeyPress(keys=["delete"]))

    def _wait_for(self, step: WaitFor, observation: Observation, record: Step) -> None:
        """Offline grounders first (the text is there), else the model's verdict; until timeout."""
        deadline = time.monotonic() + step.timeout / 1000
        offline = [g for g in self.locator.grounders if g.name != "qwen"] if not step.images else []
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
                answer = self._ask(asking.assert_prompt(step.for_model), observation, record, step.images)
                passed, last = _verdict(answer)
                if passed:
                    return
            if time.monotonic() >= deadline:
                raise StepFailure(f"waited {step.timeout / 1000:g}s and still not: "
                                  f"{cut(step.prompt, 200)}" + (f" ({cut(last, 200)})" if last else ""))
            pause = step.checkIntervalMs / 1000 if self.backend is not None else 1.0
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))

    def _ask(self, question: str, observation: Observation, record: Step,
             images: list[RefImage] | None = None) -> Any:
        if self.backend is None:
            raise StepFailure("this step needs the model; give --model or --endpoint")
        references = self._references(images or [])
        backend = WithReferences(self.backend, references) if references else self.backend
        answer = asking.ask(backend, observation.screenshot, question)
        record.raw, record.frame = answer.raw, answer.frame
        record.timings.model_s += answer.model_s
        return answer.value

    def _output(self, step: Any, value: Any, record: Step) -> None:
        name = step.name or f"{step.kind}_{len(self.outputs) + 1}"
        # A javascript step may read back a field a secret was typed into: outputs.json and
        # output: keep its placeholder, as every other record does.
        self.outputs[name] = self.guard.redact_value(value)
        record.extras["output"] = name

    def _ai(self, task: Any, step: Ai) -> None:
        """Hand the sub-goal to the agent loop; its steps join this run's trajectory."""
        if self.backend is None:
            raise StepFailure("this step needs the model; give --model or --endpoint")
        references = self._references(step.images)
        backend = WithReferences(self.backend, references) if references else self.backend
        policy = QwenPolicy(backend, self.env.kind.tool)
        goal = step.for_model
        if self.context:
            goal += f"\nBackground knowledge: {self.context}"
        nested = _Nested(self, task, step)
        trajectory = run_episode(self.env, policy, goal, max_steps=step.maxSteps or self.ai_steps,
                                 recorder=nested, secrets=self.secrets)
        if not trajectory.succeeded:
            reason = f"the agent did not finish: {trajectory.meta.status}"
            if trajectory.meta.message:
                reason += f" ({trajectory.meta.message})"
            raise StepFailure(reason, self.steps[-1] if self.steps else None)

    # -- recording ------------------------------------------------------------------------------

    def _new_step(self, task: Any, step: FlowStep) -> Step:
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
        for key, value in observation.extras.items():  # the page's URL, the phone's app, ...
            record.extras.setdefault(key, value)
        return observation

    def _add(self, record: Step) -> None:
        self.guard.redact_step(record)
        self.steps.append(record)
        self.recorder.add(record)


class _Nested:
    """The recorder ``run_episode`` sees for an ``ai:`` step: its steps numbered on from ours."""

    def __init__(self, player: Player, task: Any, step: Ai) -> None:
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


def _located(target: Target) -> dict[str, Any]:
    """aiLocate's result, as Midscene gives it: the rect and the centre, in screen units."""
    x, y = round(target.point.x, 1), round(target.point.y, 1)
    if target.box is not None:
        x1, y1, x2, y2 = target.box
        rect = {"left": round(x1, 1), "top": round(y1, 1), "width": round(x2 - x1, 1),
                "height": round(y2 - y1, 1)}
    else:  # a point only: Midscene's 8x8 box around it
        rect = {"left": x - 4, "top": y - 4, "width": 8, "height": 8}
    return {"rect": rect, "center": [x, y]}


def _verdict(answer: Any) -> tuple[bool, str]:
    if isinstance(answer, bool):
        return answer, ""
    if isinstance(answer, dict) and isinstance(answer.get("pass"), bool):
        return answer["pass"], str(answer.get("thought") or "")
    raise ModelBehaviorError(f'expected {{"pass": true|false, "thought": ...}}, got {str(answer)[:120]}')

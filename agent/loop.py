"""``run_episode``: observe, decide, act, record; until the goal is done or a limit is hit.

Who is to blame decides what happens to an error:
- the model's (``ModelBehaviorError``: bad JSON, an off-screen point, an action this env
  cannot do) is recorded on its step, shown to the model next time, and tolerated up to
  ``max_model_errors`` times in a row;
- the world's (any other ``QvlError``: the browser died, the server is down) ends the run
  with status ``error`` and its message;
- a bug (any other exception) ends the run too, is recorded, and is raised again.
Whatever happens, the run directory is complete: meta, steps, screenshots and report.
A run directory that cannot be written (a full disk) is the exception: the run stops at
once, says so in meta.json if there is room, and ``StorageError`` is raised again after it.

Every tool call of an answer runs, in order, each recorded as its own step (OSWorld runs
them all; the cookbook only the first): ``terminate`` or ``answer`` ends the episode where
it stands, and a call that cannot be used stops the rest and is fed back.

The same action on an unchanged screen three times in a row is pointed out to the model
(the step's ``warning``); a fourth time ends the run with status ``stuck``.

Secrets and a person (``agent.guard``): the model sees ``<secret:NAME>`` and a masked screen,
``env.execute`` alone gets the value; a person may be asked before a risky action (a "no"
is fed back to the model, and is not counted as the model's error) and may pause the run
between steps (recorded as a ``human`` step; their advice is the model's next message).

Budgets (``agent.usage``): executed actions, tokens and seconds, checked before each model
call and each action; the first used up ends the run with status ``budget``. Step hooks
(``agent.hooks``) run before and after each step; ``StopRun`` from one ends the run with
status ``stopped``, any other exception with status ``error`` naming the hook. The run's
totals (``Usage``) go to ``meta.usage``.

Before an action that presses a point runs, the element under it (a browser's DOM element,
a phone's uiautomator node) is recorded on the step, so that a replay can recognise it.
A policy may end the run itself (``Decision.stop``): its step is recorded, nothing is done.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping

from PIL import Image

from qvl_agent.agent.elements import element_under
from qvl_agent.agent.guard import REFUSED_KIND, Guard
from qvl_agent.agent.hooks import Hooks, HookStop
from qvl_agent.agent.oversight import Oversight, StopRun
from qvl_agent.agent.policy import Decision, Policy
from qvl_agent.agent.recorder import Recorder
from qvl_agent.agent.secrets import Secrets
from qvl_agent.agent.trajectory import RunMeta, Step, Timings, Trajectory, now_iso
from qvl_agent.agent.usage import Budget, Spend, Usage
from qvl_agent.envs.actions import Action, Answer, Terminate
from qvl_agent.envs.base import Env, Observation
from qvl_agent.envs.errors import (
    ModelBehaviorError, QvlError, StorageError, UnsupportedActionError,
)

__all__ = ["run_episode", "StepCallback", "REPEATS_WARNED", "REPEATS_STUCK"]

StepCallback = Callable[[Step, Trajectory], None]
REPEATS_WARNED = 3  # the same action on the same screen this many times: tell the model
REPEATS_STUCK = 4  # ...and once more: the run ends as stuck


def run_episode(
    env: Env,
    policy: Policy,
    goal: str,
    *,
    max_steps: int = 15,
    recorder: Recorder | None = None,
    meta: RunMeta | None = None,
    max_model_errors: int = 3,
    stop_when: Callable[[], bool] | None = None,
    on_step: StepCallback | None = None,
    secrets: Secrets | Mapping[str, str] | None = None,
    oversight: Oversight | None = None,
    max_tokens: int | None = None,
    max_seconds: float | None = None,
    hooks: Hooks | None = None,
) -> Trajectory:
    """Run one episode of ``goal`` on ``env`` and return its trajectory.

    Args:
        max_steps: the action budget: executed actions, each tool call of an answer
            counted (unusable answers are not; ``max_model_errors`` bounds those).
        max_tokens: the token budget of the run (prompt + completion); None: none.
        max_seconds: the wall-clock budget of the run; None: none.
        recorder: where the steps go (a ``RunRecorder`` writes the run directory; None:
            nothing is written).
        meta: the run's description; made from the env and policy if not given.
        max_model_errors: unusable answers tolerated in a row before giving up.
        stop_when: checked after each executed action; True ends the episode with status
            ``env_done`` (the environment ended it itself, as a MiniWoB page does).
        on_step: called after each step (progress display).
        secrets: what the model may type as ``<secret:NAME>`` (``{"NAME": value}`` or
            ``Secrets``); values reach ``env.execute`` only.
        oversight: the person to ask before risky actions and to hand the run to on a pause.
        hooks: the caller's step hooks (``agent.hooks``).
    """
    spend = Spend(Budget(max_steps=max_steps, max_tokens=max_tokens, max_seconds=max_seconds))
    hooks = hooks or Hooks()
    if secrets is not None and not isinstance(secrets, Secrets):
        secrets = Secrets.from_mapping(secrets)
    guard = Guard(env, secrets, oversight)
    meta = meta or RunMeta(goal=goal, env=env.kind.value, tool=env.kind.tool,
                           model=getattr(policy, "name", type(policy).__name__),
                           started_at=now_iso())
    if (device := getattr(env, "device_info", None)) is not None:
        meta.options.setdefault("device", device)   # a phone's serial, SDK level and model
    if (prompting := getattr(policy, "prompt_options", None)) is not None:
        meta.options.setdefault("policy", prompting)  # how the model was prompted (for exports)
    guard.describe(meta)
    goal = guard.goal(goal)  # what the model is told: no value, the names of its secrets
    trajectory = Trajectory(meta=meta)
    policy.reset(goal)
    in_a_row = 0
    repeats = _Repeats()
    unwritable: StorageError | None = None

    def add(step: Step) -> None:
        step = guard.redact_step(step)
        spend.add(executed=_executed(step), tokens=step.usage.tokens)
        _add(trajectory, step, recorder, on_step)
        try:
            hooks.end(step)
        finally:
            step._observation = None  # a long run must not keep every screenshot in memory

    try:
        if recorder is not None:
            recorder.start(meta)
        while True:  # one model answer per turn
            if (used_up := spend.reached()) is not None:
                _end(meta, "budget", used_up[1])
                meta.budget = used_up[0]
                break
            if (turn := guard.pause(len(trajectory.steps) + 1)) is not None:
                add(turn)  # the person's turn: their advice is the model's next message
                repeats.reset()
                if turn.human is not None and turn.human.decision == "stop":
                    _end(meta, "interrupted", "stopped by the user during a pause")
                    break
            try:
                step, decision, observation = _step(env, policy, goal, len(trajectory.steps) + 1,
                                                    trajectory, recorder, guard, hooks)
            except _StepFailed as failed:
                add(failed.step)  # keep what the step saw
                raise failed.error from None
            count = repeats.count(step, observation.screenshot)
            if count >= REPEATS_WARNED:
                step.warning = (f"You have done {_said(step)} {count} times in a row and the "
                                "screen did not change. Do something else.")
            add(step)
            if decision.stop is not None:
                _end(meta, decision.stop.status, decision.stop.message)
                meta.budget = decision.stop.budget
                break
            if count >= REPEATS_STUCK:
                _end(meta, "stuck", f"the same {step.action.kind} on an unchanged screen "
                     f"{count} times in a row")
                break
            if step.error is None and not _ends(step.action):
                first = len(trajectory.steps)  # the loop's own numbering (RPA renumbers step.index)
                for followup in decision.followups:  # the answer's further calls, in order
                    if not _ends(followup.action) and spend.reached() is not None:
                        break  # the budget ends the run at the top of the loop
                    try:
                        step = _follow(env, followup, len(trajectory.steps) + 1, first,
                                       observation, guard, hooks)
                    except _StepFailed as failed:
                        add(failed.step)
                        raise failed.error from None
                    repeats.reset()
                    add(step)
                    if step.error is not None or _ends(step.action):
                        break
            if step.error is not None:
                if step.error_kind == REFUSED_KIND:
                    continue  # the person said no: the model is told, it is not its error
                in_a_row += 1
                if in_a_row >= max_model_errors:
                    _end(meta, "model_errors", f"{in_a_row} unusable answers in a row; "
                         f"the last: {step.error}")
                    break
                continue
            in_a_row = 0
            action = step.action
            if isinstance(action, Terminate):
                _end(meta, action.status)
                break
            if isinstance(action, Answer):
                meta.answer = action.text
                _end(meta, "answered")
                break
            if stop_when is not None and stop_when():
                _end(meta, "env_done")
                break
    except HookStop as exc:  # a step hook raised StopRun
        _end(meta, "stopped", str(exc) or "stopped by a hook")
    except KeyboardInterrupt as exc:  # Ctrl-C, or a desktop's fail-safe (it says so)
        _end(meta, "interrupted", str(exc) or "stopped by the user (Ctrl-C)")
    except StopRun as exc:  # the person answered "stop"
        _end(meta, "interrupted", str(exc) or "stopped by the user")
    except StorageError as exc:  # the run's own files: stop now, and tell the caller too
        _end(meta, "error", str(exc))
        unwritable = exc
    except QvlError as exc:
        _end(meta, "error", str(exc))
    except Exception as exc:
        guard.scrub(exc)
        _end(meta, "error", f"internal error: {exc.__class__.__name__}: {exc}")
        raise
    finally:
        meta.steps = len(trajectory.steps)
        meta.usage = Usage.total(s.usage for s in trajectory.steps).model_copy(
            update={"wall_s": spend.elapsed})
        if meta.status == "running":
            _end(meta, "error", "the run stopped unexpectedly")
        guard.redact_meta(meta)
        if recorder is not None:
            report = recorder.finish(meta)
    if unwritable is not None and recorder is not None:
        kept = ("its meta.json and report.html say so" if report is not None else
                "its meta.json says so (no room for report.html)")
        raise StorageError(f"{unwritable}; the run stopped after {meta.steps} step(s), every "
                           f"file written whole; {kept}") from None
    return trajectory


def _step(env: Env, policy: Policy, goal: str, index: int, trajectory: Trajectory,
          recorder: Recorder | None, guard: Guard, hooks: Hooks
          ) -> tuple[Step, Decision, Observation]:
    timings = Timings()
    step = Step(index=index, started_at=now_iso(), timings=timings)
    hooks.start(step)
    begun = started = time.perf_counter()
    seen = env.observe()
    timings.observe_s = time.perf_counter() - started
    observation = _see(step, seen, guard, recorder)

    started = time.perf_counter()
    try:
        decision = policy.decide(goal, observation, trajectory.steps)
    except QvlError as exc:  # the model could not be asked (server down, hung, refused)
        timings.think_s = time.perf_counter() - started
        step.error, step.error_kind = str(exc), type(exc).__name__
        raise _StepFailed(step, exc) from None  # the step is recorded with what it saw
    timings.think_s = time.perf_counter() - started
    if decision.observation is not None:  # the policy looked again: record what it judged
        observation = _see(step, decision.observation, guard, recorder)
    _fill(step, decision)
    if decision.stop is not None:
        return step, decision, observation
    return _act(env, step, decision, guard, begun), decision, observation


def _follow(env: Env, decision: Decision, index: int, first: int, observation: Observation,
            guard: Guard, hooks: Hooks) -> Step:
    """A further tool call of the answer recorded on step ``first``: executed, no new look."""
    step = Step(index=index, call_index=index - first, started_at=now_iso(), timings=Timings())
    hooks.start(step)
    begun = time.perf_counter()
    step._observation = observation
    _fill(step, decision)
    return _act(env, step, decision, guard, begun)


def _act(env: Env, step: Step, decision: Decision, guard: Guard, begun: float) -> Step:
    """Execute the decision's action once the guard admits it; the model's errors and the
    person's refusal stay on the step."""
    try:
        return _execute(env, step, decision, guard)
    finally:
        step.timings.wall_s = time.perf_counter() - begun


def _execute(env: Env, step: Step, decision: Decision, guard: Guard) -> Step:
    timings = step.timings
    if decision.error is not None:
        return _failed(step, decision.error)
    action = decision.action
    if action is None:
        return _failed(step, ModelBehaviorError("the policy returned no action"))
    started = time.perf_counter()
    try:
        if not _ends(action) and not env.supports(action):
            raise UnsupportedActionError(f"this {env.kind.value} cannot do '{action.kind}'")
        executed = guard.admit(step, action)  # may ask the person: not the screen's time
        started = time.perf_counter()
        if executed is None or _ends(action):
            return step
        step.target = element_under(env, action)
        env.execute(executed)
    except ModelBehaviorError as exc:
        return _failed(step, guard.scrub(exc))
    except QvlError as exc:  # the screen failed while acting: the run ends, the step stays
        guard.scrub(exc)
        step.error, step.error_kind = str(exc), type(exc).__name__
        raise _StepFailed(step, exc) from None
    except (StopRun, KeyboardInterrupt) as exc:
        if step.confirmation is None or step.confirmation.answer != "stop":
            raise  # a Ctrl-C while acting ends the run as before
        raise _StepFailed(step, exc) from None  # stopped at the question: the step is kept
    except Exception as exc:
        raise guard.scrub(exc)  # a bug's message may quote what was typed
    finally:
        timings.execute_s = time.perf_counter() - started
    return step


def _ends(action: Action | None) -> bool:
    return isinstance(action, (Terminate, Answer))


def _executed(step: Step) -> bool:
    """The step's action reached the screen (what ``max_steps`` counts)."""
    return step.error is None and step.action is not None and not _ends(step.action)


class _Repeats:
    """Counts the same executed action on an unchanged screen, step after step.

    Screens are compared only when the action repeats, so the usual step pays nothing.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._action: Action | None = None
        self._screen: Image.Image | None = None
        self._count = 0

    def count(self, step: Step, screen: Image.Image) -> int:
        action = step.action if step.error is None else None
        if action is None or _ends(action):
            self.reset()
            return 0
        same = (action == self._action and self._screen is not None
                and screen.size == self._screen.size and screen.mode == self._screen.mode
                and screen.tobytes() == self._screen.tobytes())
        self._count = self._count + 1 if same else 1
        self._action, self._screen = action, screen
        return self._count


def _said(step: Step) -> str:
    """The step's call as the model wrote it, for telling it what it repeats."""
    if step.call is not None:
        return json.dumps(step.call, ensure_ascii=False)
    return step.action.kind if step.action is not None else "the same action"


class _StepFailed(Exception):
    def __init__(self, step: Step, error: QvlError | StopRun | KeyboardInterrupt) -> None:
        super().__init__(str(error))
        self.step, self.error = step, error


def _see(step: Step, seen: Observation, guard: Guard, recorder: Recorder | None) -> Observation:
    """Record on ``step`` what it saw (a shown secret masked for all that follows) and
    return that observation."""
    observation = guard.observe(seen)
    step._observation = observation
    step.screen = observation.screen
    step.screenshot_size = observation.screenshot.size
    step.extras = _small(observation.extras)
    if recorder is not None:
        step.screenshot = recorder.save_screenshot(step.index, observation.screenshot)
    guard.screenshot = step.screenshot
    return observation


def _fill(step: Step, decision: Decision) -> None:
    step.raw = decision.raw
    step.call = decision.call.model_dump() if decision.call else None
    step.action = decision.action
    step.frame = decision.frame.size if decision.frame else None
    step.replay = decision.replay
    if decision.generation:
        step.timings.model_s = decision.generation.model_s
        step.prompt_tokens = decision.generation.prompt_tokens
        step.image_tokens = decision.generation.image_tokens
        step.completion_tokens = decision.generation.completion_tokens


def _failed(step: Step, error: ModelBehaviorError) -> Step:
    step.error = str(error)
    step.error_kind = type(error).__name__
    return step


def _add(trajectory: Trajectory, step: Step, recorder: Recorder | None,
         on_step: StepCallback | None) -> None:
    trajectory.steps.append(step)
    trajectory.meta.steps = len(trajectory.steps)
    if recorder is not None:
        recorder.add(step)
    if on_step:
        on_step(step, trajectory)


def _end(meta: RunMeta, status: str, message: str | None = None) -> None:
    meta.status = status  # type: ignore[assignment]
    meta.message = message
    meta.finished_at = now_iso()


def _small(extras: dict) -> dict:
    """The env facts worth keeping on every step line: short scalars, and the last few items
    of a list of them (the navigations a browser blocked must reach the record)."""
    kept = {}
    for key, value in extras.items():
        if isinstance(value, (list, tuple)):
            value = [v for v in value[-10:] if _scalar(v)]
            if value and len(str(value)) <= 2000:
                kept[key] = value
        elif _scalar(value):
            kept[key] = value
    return kept


def _scalar(value: object) -> bool:
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= 500

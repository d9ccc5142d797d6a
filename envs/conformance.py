"""``check_env``: the contract of ``envs.base``, checked against any Env (Gymnasium's idea).

Every backend's test suite calls it; a user writing their own Env can too. It returns the
list of problems found (empty when the env conforms) rather than stopping at the first.
"""

from __future__ import annotations

from qvl_agent.envs.actions import (
    ACTION_TYPES, Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point,
    Scroll, Swipe, SystemButton, Terminate, TypeText, Wait,
)
from qvl_agent.envs.base import Env, Observation
from qvl_agent.envs.errors import EnvError, UnsupportedActionError

__all__ = ["check_env", "sample_actions"]


def sample_actions(width: int, height: int) -> dict[type, Action]:
    """One harmless instance of every Action kind, inside a ``width`` x ``height`` screen."""
    a = Point(x=width * 0.5, y=height * 0.5)
    b = Point(x=width * 0.5, y=height * 0.6)
    return {
        Click: Click(at=a), LongPress: LongPress(at=a, seconds=0.2), MoveTo: MoveTo(at=a),
        Drag: Drag(start=a, end=b), Swipe: Swipe(start=b, end=a, seconds=0.2),
        Scroll: Scroll(dy=10, at=a), TypeText: TypeText(text="a"), KeyPress: KeyPress(keys=["shift"]),
        SystemButton: SystemButton(button="back"), OpenApp: OpenApp(name="Settings"),
        Wait: Wait(seconds=0.01), Terminate: Terminate(status="success"), Answer: Answer(text="x"),
    }


def check_env(env: Env, *, skip: frozenset[type] = frozenset(), close: bool = True) -> list[str]:
    """Check ``env`` against the contract; return the problems (empty list: it conforms).

    Args:
        skip: supported Action kinds not to execute (e.g. OpenApp where no such app exists).
        close: also check that ``close`` is idempotent (the env is closed afterwards).
    """
    problems: list[str] = []
    first = _observe(env, problems)
    if first is None:
        return problems
    screen = first.screen
    samples = sample_actions(screen.width, screen.height)
    for kind in ACTION_TYPES:
        action = samples[kind]
        if kind in (Terminate, Answer):
            if env.supports(action):
                problems.append(f"{kind.__name__} must not be supported: the loop handles it")
            _expect_refusal(env, action, problems)
            continue
        if not env.supports(action):
            _expect_refusal(env, action, problems)
            continue
        if kind in skip:
            continue
        try:
            env.execute(action)
        except Exception as exc:  # noqa: BLE001 - any failure is a finding
            problems.append(f"supported {kind.__name__} raised {exc.__class__.__name__}: {exc}")
        after = _observe(env, problems)
        if after is not None and after.screen != screen:
            problems.append(f"{kind.__name__} changed the logical screen from {screen} to {after.screen}")
    if close:
        try:
            env.close()
            env.close()
        except Exception as exc:  # noqa: BLE001
            problems.append(f"close() is not idempotent: {exc.__class__.__name__}: {exc}")
    return problems


def _observe(env: Env, problems: list[str]) -> Observation | None:
    try:
        observation = env.observe()
    except EnvError as exc:
        problems.append(f"observe() failed: {exc}")
        return None
    shot, screen = observation.screenshot, observation.screen
    if shot.width < 1 or shot.height < 1:
        problems.append("observe() returned an empty screenshot")
    # The screenshot is the screen at some device scale: the same ratio on both axes.
    ratio_w, ratio_h = shot.width / screen.width, shot.height / screen.height
    if abs(ratio_w - ratio_h) > 0.02 * max(ratio_w, ratio_h):
        problems.append(f"screenshot {shot.width}x{shot.height} is not the screen {screen} at one scale")
    return observation


def _expect_refusal(env: Env, action: Action, problems: list[str]) -> None:
    try:
        env.execute(action)
    except UnsupportedActionError:
        return
    except Exception as exc:  # noqa: BLE001
        problems.append(f"unsupported {action.kind} raised {exc.__class__.__name__}, "
                        "not UnsupportedActionError")
        return
    problems.append(f"unsupported {action.kind} was executed instead of refused")

"""Does a recorded step still fit the screen? ``check`` says, before the step is replayed.

What is checked depends on what the action does:

- an action that presses a point (a click, a long press, where a drag or swipe starts, where
  a drag ends) needs its target to be there: on a browser page the element recorded under the
  point, found again by the RPA cache's own check (``agent.rpa.verify``: the same XPath with
  the same name, kind and id; if it moved with the layout, the point moves with it); on a
  phone the uiautomator node (the same text, class and resource-id under the point, or in
  one place elsewhere); otherwise the patch of the recorded screenshot around the point,
  compared as the cache compares its patches;
- text typed and answers given need the same goal: under another goal they fit only if the
  goal contains the text (a secret's placeholder alone always fits: its value is the user's);
- keys, scrolls, hovers, waits, system buttons and opening an app need nothing.

A step recorded on a screen of another size never fits where it presses a point.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import Image
from typing_extensions import assert_never

from qvl_agent.agent.elements import contains, uia_element_at, uia_elements
from qvl_agent.agent.rpa.cache import CachedElement, image_patch
from qvl_agent.agent.rpa.grounders import Target
from qvl_agent.agent.rpa.verify import Verdict, image_xy, verify
from qvl_agent.agent.secrets import PLACEHOLDER
from qvl_agent.agent.trajectory import Element, Step
from qvl_agent.envs.actions import (
    Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe,
    SystemButton, Terminate, TypeText, Wait,
)
from qvl_agent.envs.android_device import AndroidDevice
from qvl_agent.envs.base import Env, EnvKind, Observation

__all__ = ["Fit", "check"]


@dataclass(frozen=True)
class Fit:
    """The action to replay (its point moved where its target moved), or why it no longer fits."""

    action: Action | None
    reason: str = ""  # why not; when it fits, what was adjusted (or "")

    @property
    def fits(self) -> bool:
        return self.action is not None


def check(env: Env, step: Step, recorded_image: Image.Image | None, observation: Observation,
          *, goal: str, recorded_goal: str) -> Fit:
    """Whether recorded ``step`` fits the screen ``observation`` shows, for ``goal``."""
    action = step.action
    assert action is not None, "only steps that acted are replayed"
    match action:
        case TypeText(text=text) | Answer(text=text):
            return _same_goal(action, text, goal, recorded_goal)
        case Click(at=None) | MoveTo() | Scroll() | KeyPress() | SystemButton() | OpenApp() | Wait():
            return Fit(action)
        case Terminate():
            return Fit(action)
        case Click(at=at) | LongPress(at=at):
            return _pressing(env, step, recorded_image, observation, [("at", at, True)])
        case Swipe(start=start):
            return _pressing(env, step, recorded_image, observation, [("start", start, True)])
        case Drag(start=start, end=end):
            points = [("start", start, True)] if start is not None else []
            return _pressing(env, step, recorded_image, observation, [*points, ("end", end, False)])
        case _:
            assert_never(action)


def _same_goal(action: Action, text: str, goal: str, recorded_goal: str) -> Fit:
    # The model's goal may end with the line naming the run's secrets (agent.secrets), and
    # a placeholder typed alone is whatever value the user gives this time.
    if goal == recorded_goal or goal.startswith(recorded_goal + "\n") or \
            _words(text) in _words(goal) or not PLACEHOLDER.sub("", text).strip():
        return Fit(action)
    what = "answer" if isinstance(action, Answer) else "text"
    return Fit(None, f"the goal is not the recorded one, and the recorded {what} {text[:60]!r} "
                     "is not in it")


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _pressing(env: Env, step: Step, recorded_image: Image.Image | None, observation: Observation,
              points: list[tuple[str, Point, bool]]) -> Fit:
    """Check each pressed point; the action with the points where their targets are now."""
    if step.screen is not None and step.screen != observation.screen:
        return Fit(None, f"the screen is {observation.screen} now, it was {step.screen}")
    moved: dict[str, Point] = {}
    notes = []
    for field, point, has_element in points:
        verdict = _point(env, step, recorded_image, observation, point,
                         step.target if has_element else None)
        if not verdict.fits:
            return Fit(None, verdict.reason)
        assert verdict.target is not None
        if verdict.target.point != point:
            moved[field] = verdict.target.point
        if verdict.reason:
            notes.append(verdict.reason)
    action = step.action.model_copy(update=moved) if moved else step.action  # type: ignore[union-attr]
    return Fit(action, "; ".join(notes))


def _point(env: Env, step: Step, recorded_image: Image.Image | None, observation: Observation,
           point: Point, element: Element | None) -> Verdict:
    screen = [observation.screen.width, observation.screen.height]
    xy = [point.x, point.y]
    if element is not None and element.source == "dom" and element.xpath and env.kind is EnvKind.browser:
        cached = CachedElement(point=xy, screen=screen, xpaths=[element.xpath], text=element.name,
                               role=element.role, elementId=element.id)
        return verify(env, cached, observation, browser=True)
    if (element is not None and element.source == "uia" and (element.name or element.id)
            and isinstance(env, AndroidDevice)):
        return _uia(env, element, point)
    if recorded_image is None:
        return Verdict(None, "the recording kept no screenshot of this step to compare")
    if recorded_image.size != observation.screenshot.size:
        return Verdict(None, f"the screenshot is {observation.screenshot.width}x"
                             f"{observation.screenshot.height} now, it was {recorded_image.width}x"
                             f"{recorded_image.height}")
    recorded = Observation(screenshot=recorded_image, screen=step.screen or observation.screen)
    patch = image_patch(recorded_image, *image_xy(point, recorded))
    cached = CachedElement(point=xy, screen=screen, patch=patch)
    return verify(env, cached, observation, browser=False)


def _uia(env: AndroidDevice, recorded: Element, point: Point) -> Verdict:
    """The node recorded under ``point``: still under it, or in exactly one place elsewhere."""
    elements = uia_elements(env)
    under = uia_element_at(elements, point)
    if under is not None and _identity(under) == _identity(recorded):
        return Verdict(Target(point=point, grounder="uia"))
    same = [e for e in elements if _identity(e) == _identity(recorded)]
    if len(same) == 1 and same[0].box is not None and not contains(same[0].box, point):
        x1, y1, x2, y2 = same[0].box
        centre = Point(x=(x1 + x2) / 2, y=(y1 + y2) / 2)
        return Verdict(Target(point=centre, grounder="uia"),
                       f"the element moved: ({point.x:.0f}, {point.y:.0f}) -> "
                       f"({centre.x:.0f}, {centre.y:.0f})")
    now = _described(under) if under is not None else "nothing"
    return Verdict(None, f"the element under the point is {now} now, it was {_described(recorded)}")


def _identity(element: Element) -> tuple[str, str, str]:
    return element.role, element.id, element.name


def _described(element: Element) -> str:
    kind = element.role.rsplit(".", 1)[-1] or "element"
    name = f" {element.name[:60]!r}" if element.name else ""
    ident = f" ({element.id})" if element.id and not element.name else ""
    return f"{kind}{name}{ident}"

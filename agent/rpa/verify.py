"""Verify-then-trust: is a remembered target still on the screen, and where?

One check for everything that acts on a point it found earlier: the RPA location cache
(``Locator``) and replays of recorded runs (``agent.replay``). What is checked is what was
kept (``CachedElement``):

- a browser element by its XPath: the element there now must be visible and have the same
  accessible name (and the same kind of control and id, when those were kept). If it moved
  with the layout, the target moves with it;
- anything else by a patch of the screenshot around the point, compared in grey levels.

A ``Verdict`` says where to act, or in one line why not ("the target region changed: 38%
of its pixels differ").
"""

from __future__ import annotations

from dataclasses import dataclass

from qvl_agent.agent.rpa.cache import CachedElement, patch_difference
from qvl_agent.agent.rpa.grounders import Target, dom_element_by_xpath
from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Env, Observation

__all__ = ["Verdict", "verify", "image_xy"]


@dataclass(frozen=True)
class Verdict:
    """Where the remembered target is now (``target``), or why it is not (``reason``)."""

    target: Target | None
    reason: str = ""  # why it does not fit; when it does, what changed (it moved), or ""

    @property
    def fits(self) -> bool:
        return self.target is not None


def verify(env: Env, element: CachedElement, observation: Observation, *, browser: bool) -> Verdict:
    """Check ``element`` against the screen ``observation`` shows (and ``env``'s page)."""
    width, height = observation.screen.width, observation.screen.height
    if element.screen != [width, height]:
        was = "x".join(str(v) for v in element.screen)
        return Verdict(None, f"the screen is {width}x{height} now, it was {was}")
    stored = Point(x=element.point[0], y=element.point[1])
    if browser and element.xpaths:
        xpath = element.xpaths[0]
        now = dom_element_by_xpath(env, xpath)
        if now is None:
            return Verdict(None, f"no visible element at {xpath} any more")
        for what, kept, seen in (("named", element.text, now.text), ("a", element.role, now.role),
                                 ("with id", element.elementId, now.element_id)):
            if kept is not None and (seen or "") != kept:
                return Verdict(None, f"the element at {xpath} is {what} {seen or ''!r} now, it was "
                                     f"{what} {kept!r}")
        x1, y1, x2, y2 = now.box  # type: ignore[misc]
        note = ""
        # The element may have moved with the layout; the stored point only if still on it.
        if not (x1 <= stored.x <= x2 and y1 <= stored.y <= y2):
            note = (f"the element moved: ({stored.x:.0f}, {stored.y:.0f}) -> "
                    f"({now.point.x:.0f}, {now.point.y:.0f})")
            stored = now.point
        return Verdict(Target(point=stored, grounder="cache", box=now.box, xpath=now.xpath,
                              text=now.text, role=now.role, element_id=now.element_id), note)
    if element.patch:
        x, y = image_xy(stored, observation)
        difference = patch_difference(observation.screenshot, x, y, element.patch)
        if difference is None:
            return Verdict(None, "the target region cannot be compared (the screenshot has "
                                 "another size)")
        if difference.matches:
            return Verdict(Target(point=stored, grounder="cache"))
        if difference.changed < 0.005:
            return Verdict(None, f"the target region changed: its grey levels differ by "
                                 f"{difference.mean:.0f} of 255 on average")
        return Verdict(None, f"the target region changed: {difference.changed:.0%} of its "
                             f"pixels differ")
    return Verdict(None, "nothing was kept to recognise it by")


def image_xy(point: Point, observation: Observation) -> tuple[float, float]:
    """``point`` (screen coordinates) in the screenshot's pixels (a HiDPI one is larger)."""
    image = observation.screenshot
    return (point.x * image.width / observation.screen.width,
            point.y * image.height / observation.screen.height)

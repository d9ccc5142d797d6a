"""``aiScroll``: one scroll, or scroll until the page stops moving (``scrollToBottom``...).

Midscene's ``scrollToBottom`` (the older ``untilBottom``) means the end of the content, not a
fixed distance: the screen is scrolled a screenful at a time until a screenshot no longer
changes, up to ``MAX_SCROLLS`` times. A phone scrolls by swiping the other way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PIL import Image, ImageChops, ImageStat

from qvl_agent.agent.rpa.steps import Scroll
from qvl_agent.envs.actions import Action, Point, Swipe
from qvl_agent.envs.actions import Scroll as ScrollAction
from qvl_agent.envs.base import Env, Observation, Size

__all__ = ["scroll", "MAX_SCROLLS", "same_screen"]

MAX_SCROLLS = 100
_TO = {"scrollToBottom": "down", "scrollToTop": "up", "scrollToRight": "right", "scrollToLeft": "left"}


def scroll(env: Env, step: Scroll, observation: Observation, at: Point | None, record: Any,
           act: Callable[[Action], None]) -> int:
    """Do ``step``; returns how many scrolls it took."""
    screen = observation.screen
    whole = step.scrollType != "singleAction"
    direction = _TO[step.scrollType] if whole else step.direction
    span = screen.height if direction in ("up", "down") else screen.width
    distance = (step.distance or round(span * 0.7)) if not whole else span  # whole: a screenful at a time
    action = _action(env, screen, direction, distance, at)
    record.action = action
    act(action)
    if not whole:
        return 1
    before = observation.screenshot
    for count in range(1, MAX_SCROLLS + 1):
        now = env.observe().screenshot
        if same_screen(before, now):
            return count
        before = now
        act(action)
    return MAX_SCROLLS + 1


def same_screen(a: Image.Image, b: Image.Image) -> bool:
    """True when two screenshots show the same thing: fewer than 1 in 2000 pixels changed
    visibly (a blinking caret is allowed; content that moved changes far more)."""
    if a.size != b.size:
        return False
    diff = ImageChops.difference(a.convert("L"), b.convert("L")).point(lambda v: 255 if v > 24 else 0)
    changed = ImageStat.Stat(diff).sum[0] / 255
    return changed < a.width * a.height / 2000


def _action(env: Env, screen: Size, direction: str, distance: int, at: Point | None) -> Action:
    sign = 1 if direction in ("down", "right") else -1
    dx, dy = (0, sign * distance) if direction in ("up", "down") else (sign * distance, 0)
    action: Action = ScrollAction(dx=dx, dy=dy, at=at)
    if env.supports(action):
        return action
    # A phone scrolls by swiping the other way, from the target (or the middle).
    centre = at or Point(x=screen.width / 2, y=screen.height / 2)
    span = screen.height if dy else screen.width
    reach = min(distance, span * 0.4)
    ex = min(max(centre.x - (reach if dx > 0 else -reach if dx < 0 else 0), 0), screen.width - 1)
    ey = min(max(centre.y - (reach if dy > 0 else -reach if dy < 0 else 0), 0), screen.height - 1)
    return Swipe(start=centre, end=Point(x=ex, y=ey))

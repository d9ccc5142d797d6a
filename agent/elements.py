"""What is under a point, as the screen itself describes it: ``Element``.

A browser page names its elements in the DOM (``agent/rpa/dom.js``: the accessible name,
the kind of control, the id and the XPath); a phone in its uiautomator tree (text or
content-desc, class, resource-id). The loop records the element under each point an action
presses (``element_under``), and a replay looks for it again (``agent.replay.fit``).
A desktop has neither here: its steps are recognised by their pixels.

Recording is a note, never a reason to stop a run: a page in the middle of a navigation or
a phone whose tree cannot be read gives no element.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from typing_extensions import assert_never

from qvl_agent.agent.trajectory import Element
from qvl_agent.envs.actions import (
    Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe,
    SystemButton, Terminate, TypeText, Wait,
)
from qvl_agent.envs.android_device import AndroidDevice
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import QvlError

__all__ = ["pressed_point", "element_under", "element_at", "dom_element_at", "uia_elements",
           "uia_element_at", "contains"]

_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")


def pressed_point(action: Action) -> Point | None:
    """Where ``action`` presses the screen: a click, a long press, where a drag or a swipe
    starts. None for what presses nothing there (keys, text, scrolls, hovers, waits)."""
    match action:
        case Click(at=at) | LongPress(at=at):
            return at
        case Drag(start=start) | Swipe(start=start):
            return start
        case MoveTo() | Scroll() | TypeText() | KeyPress() | SystemButton() | OpenApp() | Wait():
            return None
        case Terminate() | Answer():
            return None
        case _:
            assert_never(action)


def element_under(env: Env, action: Action) -> Element | None:
    """The element under the point ``action`` presses, or None (nothing pressed, no tree).

    On a phone a dump takes 1.5-3 s, so only one already made of this very screen is read
    (a task's oracle, a replay's check or an RPA grounder looked just before the tap);
    steps without one are recognised by their pixels."""
    point = pressed_point(action)
    if point is None:
        return None
    if env.kind is EnvKind.android:
        recent = getattr(env, "recent_ui_xml", None)
        xml = recent() if recent is not None else None
        return uia_element_at(_uia_nodes(xml), point) if xml else None
    return element_at(env, point)


def element_at(env: Env, point: Point) -> Element | None:
    """The element at ``point`` on a browser page or a phone; None elsewhere or unreadable."""
    if env.kind is EnvKind.browser and getattr(env, "page", None) is not None:
        return dom_element_at(env, point)
    if env.kind is EnvKind.android and isinstance(env, AndroidDevice):
        return uia_element_at(uia_elements(env), point)
    return None


def dom_element_at(env: Env, point: Point) -> Element | None:
    """The DOM element at ``point`` (a label's control rather than the label)."""
    from playwright.sync_api import Error as PlaywrightError

    # dom.js lives with the RPA grounders, which find elements by name with it.
    from qvl_agent.agent.rpa.grounders import dom_element_at as found_at

    try:
        target = found_at(env, point)
    except (PlaywrightError, QvlError):
        return None  # the page is navigating away: no note this time
    if target is None or target.box is None:
        return None
    return Element(source="dom", name=target.text or "", role=target.role or "",
                   id=target.element_id or "", xpath=target.xpath,
                   box=tuple(round(v, 1) for v in target.box))  # type: ignore[arg-type]


def uia_elements(env: AndroidDevice) -> list[Element]:
    """Every node of the phone's uiautomator tree (a fresh dump) that has a place on screen."""
    try:
        return _uia_nodes(env.ui_xml())
    except QvlError:
        return []


def _uia_nodes(xml: str) -> list[Element]:
    try:
        root = ET.fromstring(xml.encode("utf-8"))
    except ET.ParseError:
        return []
    found = []
    for node in root.iter("node"):
        bounds = _BOUNDS.fullmatch(node.get("bounds", ""))
        if not bounds:
            continue
        x1, y1, x2, y2 = (float(v) for v in bounds.groups())
        if x2 <= x1 or y2 <= y1:
            continue
        found.append(Element(source="uia", name=node.get("text") or node.get("content-desc") or "",
                             role=node.get("class", ""), id=node.get("resource-id", ""),
                             box=(x1, y1, x2, y2)))
    return found


def uia_element_at(elements: list[Element], point: Point) -> Element | None:
    """The smallest of ``elements`` that holds ``point`` (the tapped view, not its parents)."""
    holding = [e for e in elements if e.box is not None and contains(e.box, point)]
    return min(holding, key=_area, default=None)


def contains(box: tuple[float, float, float, float], point: Point) -> bool:
    x1, y1, x2, y2 = box
    return x1 <= point.x <= x2 and y1 <= point.y <= y2


def _area(element: Element) -> float:
    x1, y1, x2, y2 = element.box  # type: ignore[misc]
    return (x2 - x1) * (y2 - y1)

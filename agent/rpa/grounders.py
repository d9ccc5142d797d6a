"""Grounders: who finds "the Login button" on a screen, in screen coordinates.

- ``dom`` (browser): the page's own elements, by visible text, label, placeholder, aria name,
  title or alt text;
- ``uia`` (Android): ``uiautomator dump``'s nodes, by text and content-desc;
- ``ocr`` (any screen): words read off the screenshot (``agent.rpa.ocr``);
- ``qwen``: Qwen2.5-VL's native grounding (``model.grounding.locate``, frame pixels mapped
  back through the Frame).

The offline ones match the description's words exactly ("the Username field" -> an element
named "Username", a text field preferred), so they either find the thing or say nothing;
they never guess. ``auto`` tries them first and asks the model only when they find nothing.
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Env, Observation
from qvl_agent.envs.errors import EnvError
from qvl_agent.model.backend import VLMBackend

__all__ = ["Target", "Grounder", "Description", "describe_target", "DomGrounder", "UiaGrounder",
           "QwenGrounder", "dom_element_at", "dom_element_by_xpath"]

_ARTICLES = re.compile(r"^(the|a|an)\s+", re.I)
# Words that say what kind of thing the target is, not what it is called; kept as a hint.
_ROLES = {
    "field": "input", "input": "input", "box": "input", "textbox": "input", "text box": "input",
    "search box": "input", "button": "button", "link": "link", "checkbox": "checkbox",
    "switch": "switch", "toggle": "switch", "tab": "any", "icon": "any", "menu": "any",
    "item": "any", "label": "any", "row": "any", "option": "any", "heading": "any", "text": "any",
}


@dataclass
class Target:
    """A located thing, in screen coordinates, with how to check it again later."""

    point: Point
    grounder: str
    box: tuple[float, float, float, float] | None = None
    xpath: str | None = None
    text: str | None = None
    raw: str | None = None  # the model's answer, when the model found it
    role: str | None = None  # dom: button, input, link, checkbox, switch or any
    element_id: str | None = None  # dom: the element's id attribute
    frame: tuple[int, int] | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Description:
    """A target description split into the name to look for and a kind hint."""

    name: str
    role: str | None


def describe_target(prompt: str) -> Description:
    """"the Username field" -> name "username", role "input"; quoted text is taken as is."""
    # "Quoted" words are the exact text; single quotes only as a pair, so "user's" is no quote.
    quoted = re.search(r"[\"“](.+?)[\"”]", prompt) or re.search(r"(?:^|\s)['‘](.+?)['’](?:\s|$)", prompt)
    text = prompt.strip()
    role = None
    lowered = _ARTICLES.sub("", text).strip().rstrip(".")
    for word, kind in sorted(_ROLES.items(), key=lambda kv: -len(kv[0])):
        if lowered.lower().endswith(" " + word):
            lowered, role = lowered[: -len(word) - 1].strip(), kind
            break
    name = quoted.group(1) if quoted else lowered
    return Description(name=normalize(name), role=role)


def normalize(text: str) -> str:
    # Phones write "Wi‑Fi" with a non-breaking hyphen (U+2011); people type "-".
    text = text.replace("\u2011", "-").replace("\u2010", "-")
    return " ".join(text.lower().split()).strip(" .:;,!?*")


class Grounder(Protocol):
    name: str

    def find(self, env: Env, observation: Observation, prompt: str) -> Target | None:
        """Where ``prompt`` is on this screen, or None when this grounder cannot tell."""


# -- browser ------------------------------------------------------------------------------

_JS = (Path(__file__).with_name("dom.js")).read_text(encoding="utf-8")


def _page(env: Env) -> Any:
    page = getattr(env, "page", None)
    if page is None:
        raise EnvError("the dom grounder needs a browser screen (web:)")
    return page


def _from_js(found: dict[str, Any] | None, grounder: str) -> Target | None:
    if not found:
        return None
    x, y, w, h = found["x"], found["y"], found["w"], found["h"]
    return Target(point=Point(x=x + w / 2, y=y + h / 2), grounder=grounder,
                  box=(x, y, x + w, y + h), xpath=found["xpath"], text=found["name"],
                  role=found.get("kind"), element_id=found.get("id"))


class DomGrounder:
    name = "dom"

    def find(self, env: Env, observation: Observation, prompt: str) -> Target | None:
        wanted = describe_target(prompt)
        if not wanted.name:
            return None
        found = _page(env).evaluate(f"(args) => {{ {_JS}\n return qvlFind(args.name, args.role); }}",
                                    {"name": wanted.name, "role": wanted.role})
        return _from_js(found, self.name)


def dom_element_at(env: Env, point: Point) -> Target | None:
    """The element under ``point`` (to cache what the model pointed at)."""
    found = _page(env).evaluate(f"(args) => {{ {_JS}\n return qvlAt(args.x, args.y); }}",
                                {"x": point.x, "y": point.y})
    target = _from_js(found, "dom")
    if target is not None:
        target.point = point  # the model's point, not the element's centre: it is what was found
    return target


def dom_element_by_xpath(env: Env, xpath: str) -> Target | None:
    """The visible element at ``xpath`` now, with its current name and place."""
    found = _page(env).evaluate(f"(args) => {{ {_JS}\n return qvlByXpath(args.xpath); }}",
                                {"xpath": xpath})
    return _from_js(found, "cache")


# -- Android --------------------------------------------------------------------------------

_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")
_DUMP_PATH = "/sdcard/window_dump.xml"


class UiaGrounder:
    name = "uia"

    def find(self, env: Env, observation: Observation, prompt: str) -> Target | None:
        wanted = describe_target(prompt)
        shell = getattr(env, "shell", None)
        if shell is None:
            raise EnvError("the uia grounder needs an Android screen (android:)")
        if not wanted.name:
            return None
        # An Android env dumps with the retries real phones need (envs.uiautomator).
        ui_xml = getattr(env, "ui_xml", None)
        xml = ui_xml() if ui_xml is not None else _dump(shell)
        try:
            root = ET.fromstring(xml[xml.find("<"):] if "<" in xml else xml)
        except ET.ParseError as exc:
            raise EnvError(f"uiautomator dump gave unreadable XML ({exc})") from None
        best: tuple[tuple[int, int, float], ET.Element] | None = None
        for node in root.iter("node"):
            bounds = _BOUNDS.fullmatch(node.get("bounds", ""))
            if not bounds:
                continue
            left, top, right, bottom = map(int, bounds.groups())
            if right <= left or bottom <= top:
                continue
            for name in (node.get("text", ""), node.get("content-desc", "")):
                score = _score(normalize(name), wanted.name)
                if not score:
                    continue
                kind = _uia_kind(node)
                bonus = 1 if wanted.role in (None, "any") or wanted.role == kind else 0
                key = (score, bonus, -float((right - left) * (bottom - top)))
                if best is None or key > best[0]:
                    best = (key, node)
        if best is None:
            return None
        node = best[1]
        left, top, right, bottom = map(int, _BOUNDS.fullmatch(node.get("bounds")).groups())  # type: ignore[union-attr]
        return Target(point=Point(x=(left + right) / 2, y=(top + bottom) / 2), grounder=self.name,
                      box=(left, top, right, bottom),
                      text=node.get("text") or node.get("content-desc"))


def _dump(shell: Any, attempts: int = 10) -> str:
    """The hierarchy's XML. While the screen animates, ``uiautomator dump`` says "could not
    get idle state", exits 0 and writes nothing: the old file is removed first so it is never
    read as the new one, and the dump is tried again."""
    for attempt in range(attempts):
        shell(["rm", "-f", _DUMP_PATH], check=False)
        said = shell(["uiautomator", "dump", _DUMP_PATH], check=False)
        if "dumped to" in said:
            return shell(["cat", _DUMP_PATH])
        time.sleep(0.2 * (attempt + 1))
    raise EnvError(f"uiautomator dump wrote no hierarchy in {attempts} tries (the screen never "
                   f"became idle: {said.strip()[:120]!r})")


def _uia_kind(node: ET.Element) -> str:
    cls = node.get("class", "")
    if "EditText" in cls:
        return "input"
    if "Switch" in cls or "Toggle" in cls or node.get("checkable") == "true":
        return "switch"
    if "Button" in cls or node.get("clickable") == "true":
        return "button"
    return "any"


def _score(name: str, wanted: str) -> int:
    """2 for the same words, 1 for the wanted words as a whole phrase inside, else 0."""
    if not name:
        return 0
    if name == wanted:
        return 2
    if len(wanted) >= 3 and re.search(rf"(^|\W){re.escape(wanted)}($|\W)", name):
        return 1
    return 0


# -- the model ---------------------------------------------------------------------------------

class QwenGrounder:
    """Qwen2.5-VL's own grounding: a ``bbox_2d`` in frame pixels, mapped to the screen."""

    name = "qwen"

    def __init__(self, backend: VLMBackend, on_call: Callable[[], None] | None = None) -> None:
        self.backend = backend
        self.on_call = on_call

    def find(self, env: Env, observation: Observation, prompt: str, *,
             references: Sequence[tuple[str, Image.Image]] = ()) -> Target | None:
        from qvl_agent.agent.rpa.references import WithReferences
        from qvl_agent.model.grounding import locate

        if self.on_call:
            self.on_call()
        backend = WithReferences(self.backend, references) if references else self.backend
        result = locate(backend, observation.screenshot, prompt, shape="box",
                        screen=observation.screen)
        item = result.items[0]
        return Target(point=item.point, grounder=self.name, box=item.box, raw=result.raw,
                      frame=result.frame)

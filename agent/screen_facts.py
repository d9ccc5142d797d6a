"""What a screen can tell the loop beyond its pixels: where typing goes, what a point holds,
and where a typed secret shows.

Browsers answer from the DOM, Android from ``uiautomator dump``; a desktop has no element
tree, so there the answers are "unknown" (a site-bound secret is refused there, no target
text is shown, nothing is masked). Everything here is best effort: a page that is
navigating may not answer, and then the caller gets "unknown", never an exception.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, ImageDraw, ImageFont

from qvl_agent.agent.secrets import Place, placeholder
from qvl_agent.envs.actions import Point
from qvl_agent.envs.android_device import AndroidDevice
from qvl_agent.envs.base import Env, EnvKind, Observation
from qvl_agent.envs.errors import EnvError

__all__ = ["typing_place", "target_text", "focused_text", "secret_boxes", "mask_boxes", "Box"]

Box = tuple[float, float, float, float]
_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")

# The focused frame's address: typing goes into an iframe when one has the focus.
_JS_PLACE = """() => {
  const el = document.activeElement;
  if (el && el.tagName === "IFRAME") {
    try { return el.contentWindow.location.href; } catch (e) { return el.src || ""; }
  }
  return location.href;
}"""

# The name a person reads on an element: its label, its text, its value if it is a button.
_JS_NAMES = """
function qvlName(el, own) {
  const names = [];
  const add = (t) => { t = (t || "").replace(/\\s+/g, " ").trim(); if (t) names.push(t); };
  add(el.getAttribute("aria-label"));
  const tag = el.tagName.toLowerCase();
  if (tag === "input" && ["submit", "button", "reset"].includes((el.type || "").toLowerCase())) add(el.value);
  if (!["input", "textarea", "select"].includes(tag)) {
    if (own) add([...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent).join(" "));
    else add(el.innerText);
  }
  if (el.labels) for (const label of el.labels) add(label.innerText);
  add(el.getAttribute("placeholder")); add(el.getAttribute("title")); add(el.getAttribute("alt"));
  return names.length ? names[0].slice(0, 200) : null;
}
"""
_INTERACTIVE = ("button,a,input,select,textarea,label,summary,[role],[onclick],[contenteditable]")
_JS_AT = _JS_NAMES + f"""
const el = document.elementFromPoint(args.x, args.y);
if (!el) return null;
const hit = el.closest("{_INTERACTIVE}");
return hit ? qvlName(hit, false) : qvlName(el, true);
"""
_JS_FOCUSED = _JS_NAMES + """
const el = document.activeElement;
return el && el !== document.body ? qvlName(el, false) : null;
"""
# Boxes (CSS pixels) of fields and texts that hold one of the values, with the value's index.
_JS_BOXES = """(values) => {
  const boxes = [];
  const which = (text) => { if (!text) return -1; for (let i = 0; i < values.length; i++)
    if (text.includes(values[i])) return i; return -1; };
  const push = (r, i) => { if (r.width > 0 && r.height > 0) boxes.push([r.left, r.top, r.right, r.bottom, i]); };
  for (const el of document.querySelectorAll("input, textarea, [contenteditable]")) {
    const i = which(el.isContentEditable ? el.innerText : el.value);
    if (i >= 0) push(el.getBoundingClientRect(), i);
  }
  if (!document.body) return boxes;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const i = which(n.textContent);
    if (i < 0) continue;
    const range = document.createRange();
    range.selectNodeContents(n);
    for (const r of range.getClientRects()) push(r, i);
  }
  return boxes;
}"""


def typing_place(env: Env, observation: Observation | None = None) -> Place:
    """The site or app that typed text goes to now (asked live: a click may have navigated)."""
    page = _page(env)
    if page is not None:
        href = _evaluate(page, _JS_PLACE, None)
        if isinstance(href, str):
            return Place(site=_host(href))
        return Place()
    if isinstance(env, AndroidDevice):
        try:
            return Place(app=env.foreground_app())
        except EnvError:
            return Place()
    extras = observation.extras if observation is not None else {}
    if isinstance(extras.get("url"), str):  # an env that only reports where it is
        return Place(site=_host(extras["url"]))
    if isinstance(extras.get("app"), str):
        return Place(app=extras["app"])
    return Place()


def target_text(env: Env, at: Point | None) -> str | None:
    """The text of the element under ``at``: a button's label, a link's text, a field's name."""
    if at is None:
        return None
    page = _page(env)
    if page is not None:
        text = _evaluate(page, f"(args) => {{ {_JS_AT} }}", {"x": at.x, "y": at.y})
        return text if isinstance(text, str) else None
    nodes = _nodes(env)
    inside = [(n, b) for n, b in nodes if b[0] <= at.x < b[2] and b[1] <= at.y < b[3]]
    named = [(n, b) for n, b in inside if _node_name(n)]
    if not named:
        return None
    node, _ = min(named, key=lambda nb: (nb[1][2] - nb[1][0]) * (nb[1][3] - nb[1][1]))
    return _node_name(node)


def focused_text(env: Env) -> str | None:
    """The name of the element that has the keyboard focus (where a type action goes)."""
    page = _page(env)
    if page is not None:
        text = _evaluate(page, f"(args) => {{ {_JS_FOCUSED} }}", None)
        return text if isinstance(text, str) else None
    for node, _ in _nodes(env):
        if node.get("focused") == "true":
            return _node_name(node) or node.get("resource-id") or None
    return None


def secret_boxes(env: Env, observation: Observation,
                 values: Sequence[tuple[str, str]], typed: bool) -> list[tuple[Box, str]]:
    """Boxes in screenshot pixels where the screen shows one of ``values`` (name, text), each
    with its secret's name. Android is asked only once a secret was ``typed`` (a dump costs
    time); a browser always (a page may echo what another step typed)."""
    if not values:
        return []
    sx = observation.screenshot.width / observation.screen.width
    sy = observation.screenshot.height / observation.screen.height
    found: list[tuple[Box, str]] = []
    page = _page(env)
    if page is not None:
        boxes = _evaluate(page, _JS_BOXES, [text for _, text in values], tries=2)
        for left, top, right, bottom, i in boxes if isinstance(boxes, list) else []:
            found.append(((left * sx, top * sy, right * sx, bottom * sy), values[int(i)][0]))
        return found
    if env.kind is not EnvKind.android or not typed:
        return found
    for node, (left, top, right, bottom) in _nodes(env):
        text = node.get("text") or ""
        name = next((n for n, v in values if v and v in text), None)
        if name is None and node.get("password") == "true" and text:
            name = values[0][0] if len(values) == 1 else "…"
        if name is not None:
            found.append(((left * sx, top * sy, right * sx, bottom * sy), name))
    return found


def mask_boxes(image: Image.Image, boxes: Sequence[tuple[Box, str]]) -> Image.Image:
    """A copy of ``image`` with each box filled grey and labelled with its placeholder."""
    if not boxes:
        return image
    out = image.convert("RGB") if image.mode != "RGB" else image.copy()
    draw = ImageDraw.Draw(out)
    for (left, top, right, bottom), name in boxes:
        box = [max(0, left - 2), max(0, top - 2), min(out.width, right + 2), min(out.height, bottom + 2)]
        draw.rectangle(box, fill=(96, 96, 96))
        label = placeholder(name) if name != "…" else "<secret>"
        height = box[3] - box[1]
        if height >= 12:
            size = int(min(48, max(10, height * 0.5)))
            font = ImageFont.load_default(size=size)
            draw.text((box[0] + size / 3, box[1] + (height - size) / 2), label,
                      fill=(255, 255, 255), font=font)
    return out


# -- helpers -------------------------------------------------------------------------------

def _page(env: Env) -> Any:
    return getattr(env, "page", None) if env.kind is EnvKind.browser else None


def _evaluate(page: Any, script: str, arg: Any, tries: int = 1) -> Any:
    from playwright.sync_api import Error as PlaywrightError

    for _ in range(tries):
        try:
            return page.evaluate(script, arg)
        except PlaywrightError:  # a navigation replaced the page's context meanwhile
            continue
    return None


def _host(href: str) -> str | None:
    try:
        return urlsplit(href).hostname
    except ValueError:
        return None


def _nodes(env: Env) -> list[tuple[ET.Element, Box]]:
    """Android's nodes with their bounds, or [] when the screen has no tree."""
    if not isinstance(env, AndroidDevice):
        return []
    try:
        nodes = env.ui_nodes()
    except (EnvError, ET.ParseError):
        return []
    found = []
    for node in nodes:
        bounds = _BOUNDS.fullmatch(node.get("bounds", ""))
        if bounds:
            left, top, right, bottom = map(float, bounds.groups())
            if right > left and bottom > top:
                found.append((node, (left, top, right, bottom)))
    return found


def _node_name(node: ET.Element) -> str | None:
    return (node.get("text") or node.get("content-desc") or "").strip()[:200] or None

"""What every MiniWoB++ oracle shares: the registry and the helpers that read the page.

An oracle reads the DOM (and the page's own JS state) to work out the answer, and acts only
through yielded Actions at screen points, the way the model acts. The helpers here find an
element with a JS expression and turn it into a point that really hits it
(``document.elementFromPoint``), so an oracle never clicks a spot that is covered.

A JS expression is evaluated with ``arg`` bound to the Python value passed along and these
functions in scope:

- ``$$(sel, root?)``: the elements matching ``sel``, as an array;
- ``shown(el)``: true when ``el`` takes up room on screen and is not hidden;
- ``byText(sel, text, root?)``: the first shown ``sel`` whose trimmed text is ``text``;
- ``text(el)``: ``el``'s text with runs of white space made one space, trimmed;
- ``ancestors(el, sel)``: the ancestors of ``el`` that match ``sel``, nearest first.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from qvl_agent.envs.actions import Action, Click, MoveTo, Point, Scroll, TypeText, Wait
from qvl_agent.envs.errors import TaskError

__all__ = ["Oracle", "ORACLES", "oracle", "read", "spot", "click", "click_css", "click_text",
           "hover_click", "fill", "reveal", "settle", "wait_for", "scroll_home", "quoted",
           "match_goal"]

Oracle = Callable[[Any, Any], Iterator[Action]]
ORACLES: dict[str, Oracle] = {}

_PRELUDE = """
const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
const shown = el => {
  if (!el) return false;
  const r = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  return r.width > 0 && r.height > 0 && style.visibility !== 'hidden' && style.display !== 'none';
};
const text = el => (el.textContent || '').replace(/\\s+/g, ' ').trim();
const byText = (sel, t, root) => $$(sel, root).find(el => shown(el) && text(el) === t);
const ancestors = (el, sel) => {
  const out = [];
  for (let p = el.parentElement; p; p = p.parentElement) if (p.matches(sel)) out.push(p);
  return out;
};
"""

# Where to click ``el``: the centre of its first box that is on screen and not covered, else
# the first uncovered point of a 5x5 grid over each box. An SVG element or a word that wraps
# over two lines has several boxes; a label half under a dialog has a free corner.
_SPOT = """
const hits = (x, y) => {
  if (x < 0 || y < 0 || x >= innerWidth || y >= innerHeight) return false;
  const top = document.elementFromPoint(x, y);
  return !!top && (top === el || el.contains(top));
};
const boxes = Array.from(el.getClientRects()).filter(r => r.width > 0 && r.height > 0);
for (const r of boxes) {
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  if (hits(x, y)) return [x, y];
}
for (const r of boxes) {
  for (const fy of [0.5, 0.3, 0.7, 0.1, 0.9]) for (const fx of [0.5, 0.3, 0.7, 0.1, 0.9]) {
    const x = r.left + r.width * fx, y = r.top + r.height * fy;
    if (hits(x, y)) return [x, y];
  }
}
return null;
"""

# How far to scroll to bring ``el`` to the top of its scroll box (what follows it shows too),
# and where to put the pointer so the wheel scrolls that box: the nearest ancestor that
# scrolls, else the page.
_REVEAL = """
const r = el.getBoundingClientRect();
if (r.width === 0 && r.height === 0) return null;
let box = el.parentElement;
while (box && box !== document.body) {
  const style = getComputedStyle(box);
  if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight) break;
  box = box.parentElement;
}
const frame = box && box !== document.body ? box.getBoundingClientRect()
  : {top: 0, bottom: innerHeight, left: 0, right: innerWidth};
const top = Math.max(frame.top, 0), bottom = Math.min(frame.bottom, innerHeight);
const at = [(Math.max(frame.left, 0) + Math.min(frame.right, innerWidth)) / 2, (top + bottom) / 2];
if (r.top >= top && r.bottom <= bottom) return {dy: 0, at};
return {dy: r.top - top - 4, at};
"""


def oracle(name: str) -> Callable[[Oracle], Oracle]:
    """Register the decorated function as the oracle of the MiniWoB task ``name``."""

    def register(fn: Oracle) -> Oracle:
        if name in ORACLES:
            raise ValueError(f"two oracles for {name!r}")
        ORACLES[name] = fn
        return fn

    return register


def _function(expr: str, body: str) -> str:
    return f"(arg) => {{ {_PRELUDE} const el = ({expr}); {body} }}"


def read(env: Any, expr: str, arg: Any = None) -> Any:
    """The value of the JS expression ``expr`` on the page (a JSON-able value)."""
    return env.page.evaluate(_function(expr, "return el;"), arg)


def spot(env: Any, expr: str, arg: Any = None) -> Point:
    """A viewport point that hits the element the JS expression ``expr`` finds.

    Raises:
        TaskError: nothing found, or the element is hidden, covered or off screen.
    """
    found = env.page.evaluate(_function(expr, f"if (!el) return null; {_SPOT}"), arg)
    if found is None:
        raise TaskError(f"oracle: no visible element for {expr} (arg={arg!r})")
    return Point(x=max(0.0, found[0]), y=max(0.0, found[1]))


def click(env: Any, expr: str, arg: Any = None, **kwargs: Any) -> Click:
    """A click on the element that the JS expression ``expr`` finds."""
    return Click(at=spot(env, expr, arg), **kwargs)


def click_css(env: Any, selector: str) -> Click:
    """A click on the first element that matches the CSS ``selector``."""
    return click(env, "document.querySelector(arg)", selector)


def click_text(env: Any, selector: str, label: str) -> Click:
    """A click on the shown ``selector`` element whose text is ``label``."""
    return click(env, "byText(arg[0], arg[1])", [selector, label])


def hover_click(env: Any, expr: str, arg: Any = None) -> Iterator[Action]:
    """Point at the element, let its hover look settle, then click it.

    An element that changes under the pointer (a hover image still loading) can slip away
    between the press and the release of a plain click.
    """
    yield MoveTo(at=spot(env, expr, arg))
    yield from settle(env, expr, arg)
    yield click(env, expr, arg)


def fill(env: Any, selector: str, value: str) -> Iterator[Action]:
    """Click the (empty) field that matches the CSS ``selector`` and type ``value``."""
    yield click_css(env, selector)
    if value:
        yield TypeText(text=value)


def reveal(env: Any, expr: str, arg: Any = None, *, tries: int = 6) -> Iterator[Action]:
    """Scroll with the wheel until the element ``expr`` finds lies inside its scroll box."""
    for _ in range(tries):
        found = env.page.evaluate(_function(expr, f"if (!el) return null; {_REVEAL}"), arg)
        if found is None:
            raise TaskError(f"oracle: nothing shown to scroll to for {expr} (arg={arg!r})")
        if abs(found["dy"]) < 1:
            return
        x, y = found["at"]
        yield Scroll(dy=found["dy"], at=Point(x=max(0.0, x), y=max(0.0, y)))


def scroll_home(env: Any) -> Iterator[Action]:
    """Scroll the page back to its top left corner if it is not there.

    A page that focuses an element on start (a jQuery UI dialog focuses its close button)
    may scroll sideways, the 160px viewport being narrower than the page.
    """
    x, y = env.page.evaluate("() => [scrollX, scrollY]")
    if x or y:
        yield Scroll(dx=-x, dy=-y, at=Point(x=10, y=10))


def settle(env: Any, expr: str, arg: Any = None, *, step_s: float = 0.25,
           tries: int = 12) -> Iterator[Action]:
    """Wait until the element ``expr`` finds has stopped moving (a slide or a spin is over)."""
    box = "el && (r => [r.left, r.top, r.width, r.height])(el.getBoundingClientRect())"
    last = env.page.evaluate(_function(expr, f"return {box};"), arg)
    for _ in range(tries):
        yield Wait(seconds=step_s)
        now = env.page.evaluate(_function(expr, f"return {box};"), arg)
        if now == last:
            return
        last = now


def wait_for(env: Any, expr: str, arg: Any = None, *, step_s: float = 0.2,
             tries: int = 15) -> Iterator[Action]:
    """Wait until the JS expression ``expr`` is true (a popup has faded away)."""
    for _ in range(tries):
        if read(env, expr, arg):
            return
        yield Wait(seconds=step_s)
    raise TaskError(f"oracle: still not true after {tries * step_s:.0f} s: {expr}")


def quoted(goal: str) -> list[str]:
    """The strings in double quotes in ``goal``, in order."""
    return re.findall(r'"([^"]*)"', goal)


def match_goal(pattern: str, goal: str) -> re.Match[str]:
    """The first match of ``pattern`` in ``goal``.

    Raises:
        TaskError: the goal does not read as the oracle expects.
    """
    match = re.search(pattern, goal)
    if match is None:
        raise TaskError(f"oracle: the goal {goal!r} does not match {pattern!r}")
    return match


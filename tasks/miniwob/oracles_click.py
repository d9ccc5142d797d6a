"""Oracles of the MiniWoB++ tasks that are won by clicking the right thing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from qvl_agent.envs.actions import Action
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.miniwob.oracles_kit import (
    click, click_css, click_text, match_goal, oracle, quoted, read, scroll_home, settle,
)


@oracle("click-button")
@oracle("unicode-test")
def click_button(env: Any, task: Any) -> Iterator[Action]:
    """Click the button whose label (non-ASCII in unicode-test) the goal quotes."""
    yield click_text(env, "#area button", quoted(task.goal)[0])


@oracle("click-button-sequence")
def click_button_sequence(env: Any, task: Any) -> Iterator[Action]:
    """Click ONE, then TWO."""
    yield click_css(env, "#subbtn")
    yield click_css(env, "#subbtn2")


@oracle("click-test")
@oracle("click-test-2")
def click_test(env: Any, task: Any) -> Iterator[Action]:
    """Click the button (ONE, not TWO, in click-test-2)."""
    yield click_css(env, "#subbtn")


@oracle("click-link")
def click_link(env: Any, task: Any) -> Iterator[Action]:
    """Click the link whose text the goal quotes."""
    yield click_text(env, "#area .alink", quoted(task.goal)[0])


@oracle("click-dialog")
def click_dialog(env: Any, task: Any) -> Iterator[Action]:
    """Close the dialog with its x."""
    yield from scroll_home(env)
    yield click_css(env, ".ui-dialog-titlebar-close")


@oracle("click-dialog-2")
def click_dialog_2(env: Any, task: Any) -> Iterator[Action]:
    """Click the dialog's button that the goal names: the x, OK or Cancel."""
    label = quoted(task.goal)[0]
    yield from scroll_home(env)
    if label == "x":
        yield click_css(env, ".ui-dialog-titlebar-close")
    else:
        yield click_text(env, ".ui-dialog-buttonpane button", label)


def _tick(env: Any, task: Any, wanted: list[str]) -> Iterator[Action]:
    """Make the checked labels of ``#area`` exactly ``wanted``, then submit."""
    boxes = read(env, "$$('#area label').map(l => [text(l), l.querySelector('input').checked])")
    for index, (label, checked) in enumerate(boxes):
        if (label in wanted) != checked:
            yield click(env, "$$('#area label input')[arg]", index)
    yield click_css(env, "#subbtn")


def _selected(goal: str) -> list[str]:
    """The names in 'Select a, b and click Submit.'; none for 'Select nothing ...'."""
    names = match_goal(r"^Select (.*) and click Submit\.", goal).group(1)
    return [] if names == "nothing" else names.split(", ")


@oracle("click-checkboxes")
@oracle("click-checkboxes-large")
@oracle("click-checkboxes-transfer")
@oracle("click-option")
def click_checkboxes(env: Any, task: Any) -> Iterator[Action]:
    """Check exactly the boxes (or the radio button) the goal lists, then submit."""
    yield from _tick(env, task, _selected(task.goal))


@oracle("click-collapsible")
@oracle("click-collapsible-nodelay")
def click_collapsible(env: Any, task: Any) -> Iterator[Action]:
    """Open the section, then submit."""
    yield click_css(env, "#area h3")
    yield from settle(env, "document.getElementById('subbtn')")  # the section slides open
    yield click_css(env, "#subbtn")


@oracle("click-collapsible-2")
@oracle("click-collapsible-2-nodelay")
def click_collapsible_2(env: Any, task: Any) -> Iterator[Action]:
    """Open the section that holds the quoted link, then click the link."""
    label = quoted(task.goal)[0]
    link = "$$('#area .alink').find(e => text(e) === arg)"
    if not read(env, f"shown({link})", label):
        yield click(env, f"{link}.parentElement.previousElementSibling", label)
        yield from settle(env, link, label)  # the section slides open
    yield click(env, link, label)


@oracle("click-tab-2")
@oracle("click-tab-2-easy")
@oracle("click-tab-2-medium")
@oracle("click-tab-2-hard")
def click_tab_2(env: Any, task: Any) -> Iterator[Action]:
    """Switch to the tab that holds the quoted link, then click the link."""
    label = quoted(task.goal)[0]
    link = "$$('#area .alink').find(e => text(e) === arg)"
    if not read(env, f"!!{link}", label):
        # click-tab-2-medium empties tab 2; a link that was there is won by opening tab 2.
        yield click(env, "$$('#area ul a')[1]")
        return
    if not read(env, f"shown({link})", label):
        tab = f"document.querySelector(`#area ul a[href=\"#${{{link}.closest('div').id}}\"]`)"
        yield click(env, tab, label)
    yield click(env, link, label)


@oracle("click-tab")
def click_tab(env: Any, task: Any) -> Iterator[Action]:
    """Click the tab the goal names."""
    yield click_text(env, "#area ul a", match_goal(r"Tab #\d", task.goal).group(0))


@oracle("click-widget")
def click_widget(env: Any, task: Any) -> Iterator[Action]:
    """Click a widget of the quoted kind."""
    yield click_css(env, f'#area [data-type="{quoted(task.goal)[0]}"]')


@oracle("click-color")
def click_color(env: Any, task: Any) -> Iterator[Action]:
    """Click the box of the colour the goal names."""
    color = match_goal(r"Click on the (\S+) colored box", task.goal).group(1)
    yield click_css(env, f'#area .color[data-color="{color}"]')


@oracle("click-shades")
def click_shades(env: Any, task: Any) -> Iterator[Action]:
    """Select every shade of the named colour, then submit."""
    color = match_goal(r"shades of (\w+)", task.goal).group(1)
    count = read(env, "$$(`#area span[data-color=\"${arg}\"]`).length", color)
    for index in range(count):
        yield click(env, "$$(`#area span[data-color=\"${arg[0]}\"]`)[arg[1]]", [color, index])
    yield click_css(env, "#area button")


@oracle("focus-text")
def focus_text(env: Any, task: Any) -> Iterator[Action]:
    """Click into the text box."""
    yield click_css(env, "#tt")


@oracle("focus-text-2")
def focus_text_2(env: Any, task: Any) -> Iterator[Action]:
    """Click into the n-th text box."""
    yield click_css(env, "#tt" + match_goal(r"the (\d)(?:st|nd|rd|th) input", task.goal).group(1))


@oracle("grid-coordinate")
def grid_coordinate(env: Any, task: Any) -> Iterator[Action]:
    """Click the grid point whose id is the goal's coordinate."""
    # The ids hold brackets and commas, which a CSS selector would need escaped.
    point = match_goal(r"\(-?\d,-?\d\)", task.goal).group(0)
    yield click(env, "document.getElementById(arg)", point)


@oracle("identify-shape")
def identify_shape(env: Any, task: Any) -> Iterator[Action]:
    """Name the drawn figure by its SVG element and click that button."""
    tag, glyph = read(env, "(s => [s.tagName, s.textContent])"
                           "(document.querySelector('#area_svg > *'))")
    kind = {"rect": "rectangle", "circle": "circle", "polygon": "triangle"}.get(tag)
    if kind is None:
        kind = "digit" if glyph.isdigit() else "letter"
    yield click_css(env, f'#area-buttons [data-type="{kind}"]')


# The shallowest entry named ``arg``: names repeat, and it needs the fewest folders opened.
_TREE_ENTRY = ("$$('#tree span').filter(s => text(s) === arg)"
               ".sort((a, b) => ancestors(a, 'ul').length - ancestors(b, 'ul').length)[0]")
# The outermost closed folder above it, or undefined when the entry shows.
_CLOSED_FOLDER = (f"ancestors({_TREE_ENTRY}, 'li').slice(1).reverse()"
                  ".find(li => !shown(li.querySelector(':scope > ul')))")


@oracle("navigate-tree")
def navigate_tree(env: Any, task: Any) -> Iterator[Action]:
    """Open the closed folders above the quoted name, outermost first, then click the name."""
    name = quoted(task.goal)[0]
    folders = "$$('#tree li')"
    while (folder := read(env, f"{folders}.indexOf({_CLOSED_FOLDER})", name)) >= 0:
        yield click(env, f"{folders}[arg].querySelector(':scope > span')", folder)
        # The branch slides open; what lies below it moves until it is done.
        yield from settle(env, f"{folders}[arg].querySelector(':scope > ul')", folder)
    yield click(env, _TREE_ENTRY, name)


_SHAPE_TAGS = {"rect": "rectangle", "circle": "circle", "polygon": "triangle"}


@oracle("click-shape")
def click_shape(env: Any, task: Any) -> Iterator[Action]:
    """Click an SVG item that fits 'Click on a [size] [colour] (kind|shape|glyph|item)'."""
    *traits, what = task.goal.removeprefix("Click on a ").split()
    # Large items are drawn 20px, small ones 10px (shapes.renderGrid).
    items = read(env, "$$('#area_svg > *').map(e => [e.tagName, e.getAttribute('fill'), "
                      "e.textContent, e.tagName === 'text' ? "
                      "parseFloat(e.getAttribute('font-size')) : e.getBBox().width])")
    for index, (tag, color, glyph, size) in enumerate(items):
        if tag == "text":
            kinds = {"item", "digit" if glyph.isdigit() else "letter", glyph}
        else:
            kinds = {"item", "shape", _SHAPE_TAGS.get(tag, "")}
        looks = {color, "large" if size > 15 else "small"}
        if what in kinds and all(trait in looks for trait in traits):
            yield click(env, "$$('#area_svg > *')[arg]", index)
            return
    raise TaskError(f"oracle: no item fits {task.goal!r}")


@oracle("click-test-transfer")
def click_test_transfer(env: Any, task: Any) -> Iterator[Action]:
    """Click the button the goal names (ONE or TWO)."""
    yield click_text(env, "#area button", task.goal.removeprefix("Click button ").rstrip("."))


@oracle("ascending-numbers")
def ascending_numbers(env: Any, task: Any) -> Iterator[Action]:
    """Click 1; the numbers hide behind boxes then, so click the boxes 2 to 5 in order."""
    yield click(env, "$$('#area_svg text').find(t => text(t) === '1')")
    for number in range(2, 6):
        yield click_css(env, f'#area_svg rect[data-index="{number}"]')


def _wanted(goal: str) -> Callable[[int], bool]:
    """The test a generated number must pass, from the goal."""
    if match := re.search(r"less than (\d+)", goal):
        limit = int(match.group(1))
        return lambda n: n < limit
    if match := re.search(r"greater than (\d+)", goal):
        limit = int(match.group(1))
        return lambda n: n > limit
    if "an odd number" in goal:
        return lambda n: n % 2 == 1
    if "an even number" in goal:
        return lambda n: n % 2 == 0
    raise TaskError(f"oracle: unexpected goal {goal!r}")


@oracle("generate-number")
def generate_number(env: Any, task: Any) -> Iterator[Action]:
    """Press Generate until the number passes the goal's test, then submit."""
    wanted = _wanted(task.goal)
    for _ in range(task.max_steps - 1):
        yield click_css(env, "#generate")
        if wanted(int(read(env, "text(document.getElementById('display-number'))"))):
            yield click_css(env, "#submit")
            return
    raise TaskError("oracle: no fitting number within the step budget")

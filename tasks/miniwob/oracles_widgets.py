"""Oracles of the MiniWoB++ tasks built on widgets: sliders, spinners, menus, lists, cards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qvl_agent.envs.actions import Action, Click, KeyPress, MoveTo, Point, Scroll, TypeText
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.miniwob.oracles_kit import (
    click, click_css, click_text, match_goal, oracle, quoted, read, reveal, settle, spot, wait_for,
)


def _slide(env: Any, selector: str, value: int) -> Iterator[Action]:
    """Set the jQuery UI slider ``selector`` to ``value``: click the track, then arrow keys.

    The click puts the handle near the value (and focuses it); the keys fix the last steps,
    as a pixel is worth more than one step on a short slider.
    """
    state = read(env, "(s => ({min: s.slider('option', 'min'), max: s.slider('option', 'max'), "
                      "vertical: s.slider('option', 'orientation') === 'vertical', "
                      "box: (r => [r.left, r.top, r.width, r.height])"
                      "(s[0].getBoundingClientRect())}))"
                      "($(arg))", selector)
    left, top, width, height = state["box"]
    share = (value - state["min"]) / (state["max"] - state["min"])
    if state["vertical"]:
        yield Click(at=Point(x=left + width / 2, y=top + height * (1 - share)))
    else:
        yield Click(at=Point(x=left + width * share, y=top + height / 2))
    for _ in range(12):
        now = read(env, "$(arg).slider('value')", selector)
        if now == value:
            return
        yield KeyPress(keys=["right" if now < value else "left"])
    raise TaskError(f"oracle: the slider {selector} would not reach {value}")


@oracle("use-slider")
def use_slider(env: Any, task: Any) -> Iterator[Action]:
    """Slide to the goal's number, then submit."""
    value = int(match_goal(r"Select (-?\d+) with the slider", task.goal).group(1))
    yield from _slide(env, "#slider", value)
    yield click_css(env, "#subbtn")


@oracle("use-spinner")
def use_spinner(env: Any, task: Any) -> Iterator[Action]:
    """Click the spinner's up or down arrow until it shows the goal's number, then submit."""
    target = int(match_goal(r"Select (-?\d+) with the spinner", task.goal).group(1))
    for _ in range(25):
        now = int(read(env, "document.getElementById('spinner').value") or 0)
        if now == target:
            yield click_css(env, "#subbtn")
            return
        yield click_css(env, ".ui-spinner-up" if now < target else ".ui-spinner-down")
    raise TaskError(f"oracle: the spinner would not reach {target}")


@oracle("form-sequence")
def form_sequence(env: Any, task: Any) -> Iterator[Action]:
    """Slide to the number, tick the n-th checkbox, submit."""
    value, nth = match_goal(r"Select (-?\d+) with the slider, click the (\d)", task.goal).groups()
    yield from _slide(env, "#slider", int(value))
    yield click_css(env, f"#checkbox-{nth}")
    yield click_css(env, "#subbtn")


@oracle("form-sequence-2")
def form_sequence_2(env: Any, task: Any) -> Iterator[Action]:
    """Check the n-th radio button, type the number into the m-th box, submit."""
    radio, number, box = match_goal(r"the (\d)\w\w radio button and enter the number "
                                    r"\"(-?\d+)\" into the (\d)", task.goal).groups()
    yield click_css(env, f'#area input[type=radio][value="{radio}"]')
    yield click_css(env, f"#input-{box}")
    yield TypeText(text=number)
    yield click_css(env, "#subbtn")


@oracle("form-sequence-3")
def form_sequence_3(env: Any, task: Any) -> Iterator[Action]:
    """Pick the height from the styled dropdown, then click the quoted button."""
    height = match_goal(r"Choose (.+) from the dropdown", task.goal).group(1)
    yield click_css(env, ".selectric")
    option = "$$('.selectric-items li').find(li => text(li) === arg)"
    yield from reveal(env, option, height)
    yield click(env, option, height)
    yield click_text(env, "#buttons button", quoted(task.goal)[0])


@oracle("click-menu")
def click_menu(env: Any, task: Any) -> Iterator[Action]:
    """Hover down the 'a>b>c' path of the menu, opening each submenu, then click the leaf."""
    path = task.goal.removeprefix("Select ").split(">")
    item = "$$('#menu li > div').find(d => shown(d) && text(d) === arg)"
    for name in path[:-1]:
        yield MoveTo(at=spot(env, item, name))
        yield from settle(env, f"{item}.parentElement.querySelector('ul')", name)
    yield click(env, item, path[-1])


_PLAYBACK = {"Prev", "Stop", "Play", "Next"}


@oracle("click-menu-2")
def click_menu_2(env: Any, task: Any) -> Iterator[Action]:
    """Open the menu, hover Playback if needed, click the item named or drawn in the goal."""
    names = quoted(task.goal)
    if len(names) > 1:
        label = names[1]
    else:
        icon = read(env, "[...document.querySelector('#query .ui-icon').classList]"
                         ".find(c => c !== 'ui-icon')")
        label = read(env, "Object.keys(PROBLEM_SET).find(k => PROBLEM_SET[k] === arg)", icon)
    yield click_css(env, "#open-menu")
    item = "$$('#menu li > div').find(d => shown(d) && text(d) === arg)"
    if label in _PLAYBACK:
        yield MoveTo(at=spot(env, item, "Playback"))
        yield from settle(env, item, label)
    yield click(env, item, label)


@oracle("click-scroll-list")
def click_scroll_list(env: Any, task: Any) -> Iterator[Action]:
    """Select the listed entries of the multiple-choice list, then submit.

    The first is clicked; each further one is reached with ctrl+arrows (moving the focus
    without changing the selection) and added with ctrl+space.
    """
    names = match_goal(r"Select (.+) from the scroll list", task.goal).group(1).split(", ")
    options = read(env, "$$('#options option').map(text)")
    wanted = sorted(options.index(name) for name in names)
    option = "$$('#options option')[arg]"
    yield from reveal(env, option, wanted[0])
    yield click(env, option, wanted[0])
    focus = wanted[0]
    for index in wanted[1:]:
        for _ in range(index - focus):
            yield KeyPress(keys=["ctrl", "down"])
        yield KeyPress(keys=["ctrl", "space"])
        focus = index
    yield click_text(env, "#area button", "Submit")


@oracle("number-checkboxes")
def number_checkboxes(env: Any, task: Any) -> Iterator[Action]:
    """Tick the boxes of the digit's 7x4 pattern (the page's PATTERNS), then submit."""
    digit = int(quoted(task.goal)[0])
    cells = read(env, "PATTERNS[arg].flat()", digit)
    for index, on in enumerate(cells):
        if on:
            yield click(env, "$$('#checkboxes input')[arg]", index)
    yield click_css(env, "#subbtn")


@oracle("odd-or-even")
def odd_or_even(env: Any, task: Any) -> Iterator[Action]:
    """Mark each number odd or even, then submit."""
    numbers = read(env, "$$('.display-number').map(text)")
    for row, number in enumerate(numbers):
        kind = "odd" if int(number) % 2 else "even"
        yield click(env, "$$('.row')[arg[0]].querySelector('.' + arg[1])", [row, kind])
    yield click_css(env, "#submit")


@oracle("find-greatest")
def find_greatest(env: Any, task: Any) -> Iterator[Action]:
    """Turn the card with the greatest number face up, then submit."""
    values = [int(v) for v in read(env, "$$('#cardholder .card-value').map(e => e.textContent)")]
    yield click(env, "$$('#cardholder .card')[arg]", values.index(max(values)))
    yield click_css(env, "#submit")


@oracle("scroll-text-2")
def scroll_text_2(env: Any, task: Any) -> Iterator[Action]:
    """Wheel the text area to its top or bottom, then submit."""
    down = "to the bottom" in task.goal
    box = spot(env, "document.getElementById('text-area')")
    for _ in range(10):
        left = read(env, "(t => arg ? t.scrollHeight - t.clientHeight - t.scrollTop : t.scrollTop)"
                         "(document.getElementById('text-area'))", down)
        if left < 1:
            break
        yield Scroll(dy=left + 20 if down else -left - 20, at=box)
    yield click_css(env, "#subbtn")


_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]


@oracle("choose-date")
@oracle("choose-date-easy")
@oracle("choose-date-medium")
@oracle("choose-date-nodelay")
def choose_date(env: Any, task: Any) -> Iterator[Action]:
    """Open the date picker, page to the month, click the day, submit."""
    month, day, year = (int(v) for v in match_goal(r"(\d\d)/(\d\d)/(\d{4})", task.goal).groups())
    yield click_css(env, "#datepicker")
    shown_month = ("(d => [text(d.querySelector('.ui-datepicker-month')), "
                   "+text(d.querySelector('.ui-datepicker-year'))])"
                   "(document.getElementById('ui-datepicker-div'))")
    for _ in range(24):
        name, shown_year = read(env, shown_month)
        offset = (year - shown_year) * 12 + month - 1 - _MONTHS.index(name)
        if offset == 0:
            break
        yield click_css(env, ".ui-datepicker-next" if offset > 0 else ".ui-datepicker-prev")
    days = ("$$('#ui-datepicker-div td:not(.ui-datepicker-other-month) a')"
            ".find(a => text(a) === arg)")
    yield click(env, days, str(day))
    # The picker fades out over the Submit button; January takes 14 of the 15 steps already.
    yield from wait_for(env, "!shown(document.getElementById('ui-datepicker-div'))", step_s=0.6)
    yield click_css(env, "#subbtn")

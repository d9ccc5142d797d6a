"""Oracles of the MiniWoB++ tasks that are won by filling in a form and submitting it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from qvl_agent.envs.actions import Action, Click, KeyPress, Point, Scroll, TypeText
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.miniwob.oracles_kit import (
    click, click_css, click_text, fill, match_goal, oracle, quoted, read, settle, spot,
)


@oracle("enter-text")
@oracle("enter-text-dynamic")
def enter_text(env: Any, task: Any) -> Iterator[Action]:
    """Type the quoted text (a name, or random letters and digits), then submit."""
    yield from fill(env, "#tt", quoted(task.goal)[0])
    yield click_css(env, "#subbtn")


@oracle("enter-text-2")
def enter_text_2(env: Any, task: Any) -> Iterator[Action]:
    """Type the quoted text in the case the goal asks for, then submit."""
    word = quoted(task.goal)[0]
    word = word.upper() if "upper case" in task.goal else word.lower()
    yield from fill(env, "#tt", word)
    yield click_css(env, "#subbtn")


@oracle("enter-password")
def enter_password(env: Any, task: Any) -> Iterator[Action]:
    """Type the quoted password into both fields, then submit."""
    password = quoted(task.goal)[0]
    yield from fill(env, "#password", password)
    yield from fill(env, "#verify", password)
    yield click_css(env, "#subbtn")


@oracle("login-user")
def login_user(env: Any, task: Any) -> Iterator[Action]:
    """Type the quoted user name and password, then log in."""
    user, password = quoted(task.goal)[:2]
    yield from fill(env, "#username", user)
    yield from fill(env, "#password", password)
    yield click_css(env, "#subbtn")


@oracle("login-user-popup")
def login_user_popup(env: Any, task: Any) -> Iterator[Action]:
    """Log in; a popup that a field may raise is dismissed with Cancel first."""
    user, password = quoted(task.goal)[:2]
    for field, value in (("username", user), ("password", password)):
        yield click_css(env, f"#{field}")
        if read(env, "!!document.getElementById('popup')"):
            yield click_css(env, "#popup-cancel")
            yield click_css(env, f"#{field}")
        yield TypeText(text=value)
    yield click_css(env, "#subbtn")


@oracle("enter-date")
def enter_date(env: Any, task: Any) -> Iterator[Action]:
    """Type the date into the date field (month first, as it shows), then submit."""
    month, day, year = match_goal(r"(\d\d)/(\d\d)/(\d{4})", task.goal).groups()
    # Chrome puts the caret in the part of the field that was clicked: click the month.
    yield _left_edge(env, "tt")
    yield TypeText(text=month + day + year)
    yield click_css(env, "#subbtn")


def _left_edge(env: Any, element_id: str) -> Action:
    """A click just inside the left edge of a field (the first part of a date or time)."""
    left, top, height = read(env, "(r => [r.left, r.top, r.height])"
                                  "(document.getElementById(arg).getBoundingClientRect())",
                            element_id)
    return Click(at=Point(x=left + 6, y=top + height / 2))


@oracle("enter-time")
def enter_time(env: Any, task: Any) -> Iterator[Action]:
    """Type hours, minutes and AM/PM into the time field, then submit."""
    hour, minute, half = match_goal(r"(\d{1,2}):(\d\d) ?([AP]M)", task.goal).groups()
    yield _left_edge(env, "tt")
    yield TypeText(text=f"{int(hour):02d}{minute}{half[0]}")
    yield click_css(env, "#subbtn")


def _arithmetic(problem: str) -> int:
    """The value of 'a + b', 'a - b' or 'a x b' (one-digit operands)."""
    a, op, b = match_goal(r"(-?\d+) ([-+x]) (-?\d+)", problem).groups()
    return {"+": int(a) + int(b), "-": int(a) - int(b), "x": int(a) * int(b)}[op]


@oracle("simple-arithmetic")
def simple_arithmetic(env: Any, task: Any) -> Iterator[Action]:
    """Work out the sum on the page, type it, submit."""
    problem = read(env, "text(document.getElementById('math-problem'))")
    yield from fill(env, "#math-answer", str(_arithmetic(problem)))
    yield click_css(env, "#subbtn")


@oracle("simple-algebra")
def simple_algebra(env: Any, task: Any) -> Iterator[Action]:
    """Solve 'x + a = c', 'x - a = c', 'a + x = c' or 'a - x = c' for x, type it, submit."""
    problem = read(env, "text(document.getElementById('math-problem'))")
    left, right = problem.split(" = ")
    first, op, second = left.split()
    total = int(right)
    if first == "x":
        x = total - int(second) if op == "+" else total + int(second)
    else:
        x = total - int(first) if op == "+" else int(first) - total
    yield from fill(env, "#math-answer", str(x))
    yield click_css(env, "#subbtn")


@oracle("find-word")
def find_word(env: Any, task: Any) -> Iterator[Action]:
    """Type the n-th word of the paragraph (letters only), then submit."""
    nth = int(match_goal(r"the (\d+)(?:st|nd|rd|th) word", task.goal).group(1))
    words = read(env, "text(document.querySelector('#area p'))").split()
    yield from fill(env, "#answer-input", re.sub(r"[^a-zA-Z]", "", words[nth - 1]))
    yield click_css(env, "#subbtn")


_TABLE = "Object.fromEntries($$('#tab tr').map(tr => $$('td', tr).map(text)))"


@oracle("read-table")
def read_table(env: Any, task: Any) -> Iterator[Action]:
    """Look the goal's key up in the table, type its value, submit."""
    key = match_goal(r"Enter the value of (.+) into the text field", task.goal).group(1)
    yield from fill(env, "#tt", read(env, _TABLE)[key])
    yield click_css(env, "#subbtn")


@oracle("read-table-2")
def read_table_2(env: Any, task: Any) -> Iterator[Action]:
    """Fill each labelled field with its key's value from the table, then submit."""
    table = read(env, _TABLE)
    for index in (1, 2):
        key = read(env, "document.getElementById(arg).dataset.key", f"ll{index}")
        yield from fill(env, f"#tt{index}", table[key])
    yield click_css(env, "#subbtn")


@oracle("text-transform")
def text_transform(env: Any, task: Any) -> Iterator[Action]:
    """Type the skewed letters, then submit."""
    yield from fill(env, "#tt", read(env, "document.getElementById('captcha').textContent"))
    yield click_css(env, "#subbtn")


@oracle("multi-layouts")
@oracle("multi-orderings")
def movie_search(env: Any, task: Any) -> Iterator[Action]:
    """Fill genre, director and year, whatever the layout and order, then submit."""
    genre, director, year = match_goal(
        r"Search for (\S+) movies directed by (.+) from year (\d+)\.", task.goal).groups()
    # Each layout puts a field and its label in one row: a p, div.row, tr, div.field ...
    labels = read(env, "$$('#area input')"
                       ".map(i => text(i.closest('p, .row, tr, .field, .ui-entry')))")
    for index, label in enumerate(labels):
        yield click(env, "$$('#area input')[arg]", index)
        value = genre if "Genre" in label else director if "Director" in label else year
        yield TypeText(text=value)
    yield click(env, "$$('#area button, #area .final, #area .ui-submit').find(shown)")


@oracle("guess-number")
def guess_number(env: Any, task: Any) -> Iterator[Action]:
    """Binary search 0-9 with the page's higher/lower hints; Enter submits each guess."""
    low, high = 0, 9
    yield click_css(env, "#tt")
    while low <= high:
        guess = (low + high) // 2
        yield KeyPress(keys=["ctrl", "a"])
        yield TypeText(text=str(guess))
        yield KeyPress(keys=["enter"])
        if task.episode_over(env):
            return
        if read(env, "shown(document.getElementById('higher'))"):
            low = guess + 1
        else:
            high = guess - 1
    raise TaskError("oracle: the hints of guess-number contradict each other")


def _copy_paste(env: Any, source: str) -> Iterator[Action]:
    """Select all of the text area ``source``, copy, paste into the answer, submit."""
    yield click_css(env, f"#{source}")
    yield KeyPress(keys=["ctrl", "a"])
    yield KeyPress(keys=["ctrl", "c"])
    yield click_css(env, "#answer-input")
    yield KeyPress(keys=["ctrl", "v"])
    yield click_css(env, "#subbtn")


@oracle("copy-paste")
def copy_paste(env: Any, task: Any) -> Iterator[Action]:
    """Copy the text area into the answer box through the clipboard, then submit."""
    yield from _copy_paste(env, "to-copy")


@oracle("copy-paste-2")
def copy_paste_2(env: Any, task: Any) -> Iterator[Action]:
    """Copy the n-th text area into the answer box through the clipboard, then submit."""
    nth = match_goal(r"the (\d)(?:st|nd|rd) text area", task.goal).group(1)
    yield from _copy_paste(env, f"text-{nth}")


@oracle("use-autocomplete")
@oracle("use-autocomplete-nodelay")
def use_autocomplete(env: Any, task: Any) -> Iterator[Action]:
    """Type the quoted start, pick the suggestion that also has the quoted end, submit."""
    parts = quoted(task.goal)
    start, end = parts[0], parts[1] if len(parts) > 1 else ""
    yield from fill(env, "#tags", start)
    item = ("$$('.ui-menu-item').find(li => shown(li) && text(li).startsWith(arg[0])"
            " && text(li).endsWith(arg[1]))")
    yield from settle(env, item, [start, end])
    yield click(env, item, [start, end])
    yield click_css(env, "#subbtn")


@oracle("choose-list")
def choose_list(env: Any, task: Any) -> Iterator[Action]:
    """Open the list, walk to the goal's entry with the arrow keys, Enter, submit."""
    name = match_goal(r"Select (.+) from the list and click Submit\.", task.goal).group(1)
    options = read(env, "$$('#options option').map(text)")
    current = read(env, "document.getElementById('options').selectedIndex")
    yield click_css(env, "#options")
    steps = options.index(name) - current
    for _ in range(abs(steps)):
        yield KeyPress(keys=["down" if steps > 0 else "up"])
    yield KeyPress(keys=["enter"])
    yield click_text(env, "#area button", "Submit")


@oracle("visual-addition")
def visual_addition(env: Any, task: Any) -> Iterator[Action]:
    """Count the blocks on both sides of the plus, type the total, submit."""
    total = read(env, "$$('#visual-1 .addition-block, #visual-2 .addition-block').length")
    yield from fill(env, "#math-answer", str(total))
    yield click_css(env, "#subbtn")


@oracle("scroll-text")
def scroll_text(env: Any, task: Any) -> Iterator[Action]:
    """Type the last word of the text area, then submit."""
    last = read(env, "document.getElementById('text-area').value").split()[-1]
    yield from fill(env, "#answer-input", re.sub(r"[^a-zA-Z0-9]", "", last))
    yield click_css(env, "#subbtn")


@oracle("sign-agreement")
def sign_agreement(env: Any, task: Any) -> Iterator[Action]:
    """Cancel; or scroll the agreement to its end (that unlocks the form), sign, press."""
    if task.goal == "Click the cancel button.":
        yield click_css(env, "#cancel")
        return
    name, button = quoted(task.goal)[:2]
    agreement = spot(env, "document.getElementById('text-area')")
    for _ in range(10):
        if not read(env, "document.getElementById('name').disabled"):
            break
        yield Scroll(dy=400, at=agreement)
    yield from fill(env, "#name", name)
    yield click_css(env, f"#{button.lower()}")

"""Oracles of the MiniWoB++ tasks that mimic small apps: email, social media, a search engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from qvl_agent.envs.actions import Action, TypeText
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.miniwob.oracles_kit import (
    click, click_css, hover_click, match_goal, oracle, quoted, read, reveal,
)


# The thread of a sender in the inbox, and a part of it.
_THREAD = "$$('#main .email-thread').find(t => text(t.querySelector('.email-sender')) === arg)"


def _in_thread(part: str) -> str:
    return f"{_THREAD}.querySelector('{part}')"


@oracle("email-inbox")
@oracle("email-inbox-delete")
@oracle("email-inbox-forward")
@oracle("email-inbox-important")
@oracle("email-inbox-noscroll")
@oracle("email-inbox-reply")
@oracle("email-inbox-star-reply")
def email_inbox(env: Any, task: Any) -> Iterator[Action]:
    """Find the sender's email, then delete it, star it, reply to it or forward it."""
    sender, what = match_goal(r"^Find the email by (.+?) and (.*)$", task.goal).groups()
    yield from reveal(env, _THREAD, sender)
    if what.startswith("click the trash icon"):
        yield click(env, _in_thread(".trash"), sender)
    elif what.startswith("click the star icon"):
        yield click(env, _in_thread(".star"), sender)
    elif what.startswith("reply"):
        yield click(env, _in_thread(".email-sender"), sender)
        yield click_css(env, "#email .email-reply")
        yield click_css(env, "#reply-text")
        yield TypeText(text=quoted(task.goal)[0])
        yield click_css(env, "#send-reply")
    elif what.startswith("forward that email to "):
        yield click(env, _in_thread(".email-sender"), sender)
        yield click_css(env, "#email .email-forward")
        yield click_css(env, "#forward .forward-sender")
        yield TypeText(text=what.removeprefix("forward that email to ").rstrip("."))
        yield click_css(env, "#send-forward")
    else:
        raise TaskError(f"oracle: unexpected email action in {task.goal!r}")


def _plain_click(env: Any, expr: str, arg: Any = None) -> Iterator[Action]:
    """``click`` in the shape of ``hover_click``."""
    yield click(env, expr, arg)


@oracle("social-media")
@oracle("social-media-all")
@oracle("social-media-some")
def social_media(env: Any, task: Any) -> Iterator[Action]:
    """Click the named button on the user's posts (one, all, or some); submit if there is one."""
    label = quoted(task.goal)[0]
    user = match_goal(r"@\w+", task.goal).group(0)
    action = read(env, "Object.keys(ACTIONS).find(k => ACTIONS[k] === arg)", label)
    posts = read(env, "$$('#area .media').map((m, i) => [i, text(m.querySelector('.username'))])"
                      ".filter(p => p[1] === arg).map(p => p[0])", user)
    if task.name == "social-media":
        posts = posts[:1]
    elif task.name == "social-media-some":
        posts = posts[:int(match_goal(r"button on (\d+) posts?", task.goal).group(1))]
    # social-media does not preload its hover pictures (the -all and -some pages do):
    # pointing at a button swaps in a picture still loading, and a plain click slips off.
    press = hover_click if task.name == "social-media" else _plain_click
    for post in posts:
        media = "$$('#area .media')[arg[0]]"
        button = f"{media}.querySelector('.controls .' + arg[1])"
        if read(env, f"!!{button}.closest('ul')", [post, action]):
            # Share, copy, mute ... hide in the post's "more" menu.
            yield from reveal(env, f"{media}.querySelector('.more')", [post, action])
            yield from press(env, f"{media}.querySelector('.more')", [post, action])
        yield from reveal(env, button, [post, action])
        yield from press(env, button, [post, action])
    if task.name != "social-media":
        submit = "$$('#submitRow button')[0]"
        yield from reveal(env, submit)
        yield click(env, submit)


@oracle("search-engine")
def search_engine(env: Any, task: Any) -> Iterator[Action]:
    """Search for the quoted name, turn to the page of the n-th result, click it."""
    name = quoted(task.goal)[0]
    nth = int(match_goal(r"click the (\d+)\w\w search result", task.goal).group(1))
    yield click_css(env, "#search-text")
    yield TypeText(text=name)
    yield click_css(env, "#search")
    page = (nth - 1) // 3 + 1  # three results a page
    if page > 1:
        yield click(env, "$$('#pagination a').find(a => text(a) === arg)", str(page))
    yield click_css(env, f'#page-content a[data-result="{nth - 1}"]')

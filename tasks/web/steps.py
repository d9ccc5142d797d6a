"""Browser setup steps, getters and the oracle locator for declarative tasks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.hooks import ORACLE_LOCATORS, OracleStep, register_getter, register_setup_step
from qvl_agent.tasks.serving import serve_dir

__all__: list[str] = []


def _browser(env: Env) -> Any:
    if env.kind is not EnvKind.browser:
        raise TaskError(f"this step needs a browser env, not {env.kind.value}")
    return env


@register_setup_step("open_page")
def open_page(env: Env, task_dir: Path, page: str, query: str | None = None) -> None:
    """Open ``page`` from the task folder's ``pages/`` (served on 127.0.0.1), with ``query``
    (``layout={SEED}``) after a ``?``."""
    if not (task_dir / "pages" / page).is_file():
        raise TaskError(f"{task_dir / 'pages' / page} does not exist")
    _browser(env).goto(serve_dir(task_dir / "pages") + page + (f"?{query}" if query else ""))


@register_setup_step("open_url")
def open_url(env: Env, task_dir: Path, url: str) -> None:
    _browser(env).goto(url)


@register_setup_step("chrome_open_tabs")
def chrome_open_tabs(env: Env, task_dir: Path, urls_to_open: list[str]) -> None:
    """OSWorld's step; one page is driven at a time, so the last URL is the one shown."""
    for url in urls_to_open:
        _browser(env).goto(url)


@register_setup_step("set_viewport")
def set_viewport(env: Env, task_dir: Path, width: int, height: int) -> None:
    _browser(env).resize(int(width), int(height))


def _element(env: Env, selector: str, script: str) -> Any:
    value = _browser(env).page.evaluate(
        f"(s) => {{ const e = document.querySelector(s); return e ? ({script}) : null; }}", selector)
    return value


@register_getter("page_url")
def page_url(env: Env, trajectory: Any, task_dir: Path, **_: Any) -> str:
    return _browser(env).page.url


@register_getter("page_title")
def page_title(env: Env, trajectory: Any, task_dir: Path, **_: Any) -> str:
    return _browser(env).page.title()


@register_getter("element_text")
def element_text(env: Env, trajectory: Any, task_dir: Path, selector: str, **_: Any) -> str | None:
    return _element(env, selector, "e.innerText.trim()")


@register_getter("element_value")
def element_value(env: Env, trajectory: Any, task_dir: Path, selector: str, **_: Any) -> str | None:
    return _element(env, selector, "e.value")


@register_getter("element_checked")
def element_checked(env: Env, trajectory: Any, task_dir: Path, selector: str, **_: Any) -> bool | None:
    return _element(env, selector, "e.checked")


@register_getter("element_attribute")
def element_attribute(env: Env, trajectory: Any, task_dir: Path, selector: str, attribute: str,
                      **_: Any) -> str | None:
    return _browser(env).page.evaluate(
        "([s, a]) => { const e = document.querySelector(s); return e ? e.getAttribute(a) : null; }",
        [selector, attribute])


@register_getter("js")
def js(env: Env, trajectory: Any, task_dir: Path, expression: str, **_: Any) -> Any:
    """The value of a JavaScript expression in the page (the task author's, never the model's)."""
    return _browser(env).page.evaluate(f"() => ({expression})")


def _locate(env: Env, step: OracleStep) -> Point:
    if not step.selector:
        raise TaskError("a browser oracle click needs a 'selector'")
    box = _element(env, step.selector, "(() => { const r = e.getBoundingClientRect(); "
                                       "return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    if box is None:
        raise TaskError(f"oracle: no element matches {step.selector!r}")
    return Point(x=box[0], y=box[1])


ORACLE_LOCATORS.add(EnvKind.browser, _locate)

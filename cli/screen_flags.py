"""The screen flags of a command that opens one screen (``run``, ``mcp``), declared once.

A command takes a parameter ``spec: EnvSpec`` and ``@screen_flags`` puts ``--env`` and every
screen's flags in its place, handing the command the one validated ``EnvSpec`` the given
flags describe (``envs.spec``): a flag left out is the spec's own default, a flag of another
kind of screen is one ConfigError line (``--viewport does not apply to an android screen``).

    @app.command()
    @model_flags(*AGENT_FLAGS)       # outside: it reads the signature @screen_flags made
    @screen_flags
    def run(goal: ..., spec: EnvSpec = FROM_SCREEN_FLAGS, model_options: ...) -> None: ...
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

if TYPE_CHECKING:
    from qvl_agent.envs.spec import EnvSpec

__all__ = ["screen_flags", "FROM_SCREEN_FLAGS", "EnvChoice"]

# The default of a command's ``spec`` parameter: @screen_flags always replaces it.
FROM_SCREEN_FLAGS: Any = None


class EnvChoice(str, Enum):
    browser = "browser"
    android = "android"
    desktop = "desktop"


# parameter -> (its declaration, its default, the spec field it sets: None for --env).
_FLAGS: dict[str, tuple[Any, Any, str | None]] = {
    "env": (Annotated[EnvChoice, typer.Option("--env", help="Which screen to drive.")],
            EnvChoice.browser, None),
    "url": (Annotated[Optional[str], typer.Option(
        help="Browser: the page to start from.")], None, "url"),
    "viewport": (Annotated[Optional[str], typer.Option(
        help="Browser: viewport in CSS pixels, WxH (default 1280x720).")], None, "viewport"),
    "device_scale": (Annotated[Optional[float], typer.Option(
        "--device-scale", help="Browser: device pixels per CSS pixel (2 = HiDPI; default 1).")],
        None, "device_scale"),
    "headed": (Annotated[bool, typer.Option("--headed", help="Browser: show the window.")],
               False, "headed"),
    "browser_path": (Annotated[Optional[str], typer.Option(
        "--browser-path", help="Browser: Chromium/Chrome binary (default: found).")],
        None, "browser_path"),
    "allow_domain": (Annotated[Optional[list[str]], typer.Option(
        "--allow-domain", help="Browser: only these hosts may be opened (repeat).")],
        None, "allowed_domains"),
    "device": (Annotated[Optional[str], typer.Option(
        "--device", help="Android: adb serial, or 'sim[:android-9|android-11|android-14|samsung-11]' "
                         "for the built-in virtual phone (default: the only device connected).")],
        None, "device"),
    "display": (Annotated[Optional[str], typer.Option(
        "--display", help="Desktop: 'virtual' or 'virtual:WxH' (a managed Xvfb in a throwaway "
                          "sandbox, fail-safe off), or ':N' (default: $DISPLAY).")],
        None, "display"),
    "monitor": (Annotated[Optional[int], typer.Option(
        "--monitor", help="Desktop: which monitor to see and act on, 1-based (default: the "
                          "primary).")], None, "monitor"),
    "open_": (Annotated[Optional[list[str]], typer.Option(
        "--open", help="Desktop: a program to start before the first screenshot, e.g. --open "
                       "mousepad or --open 'xterm -e top' (repeat); run inside the display's "
                       "sandbox, waited for until its window shows.")], None, "open"),
}

F = TypeVar("F", bound=Callable[..., Any])


def screen_flags(command: F, param: str = "spec") -> F:
    """Give a typer command the screen flags in place of its parameter ``param``, which
    receives them as one validated ``EnvSpec``."""
    # EnvSpec (and ModelOptions, for a command with model flags too) are names for type
    # checkers only in the command's module.
    signature = inspect.signature(command, eval_str=True,
                                  locals={"EnvSpec": Any, "ModelOptions": Any})
    assert param in signature.parameters, f"{command.__name__} has no parameter {param!r}"
    flags = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=default,
                               annotation=annotation)
             for name, (annotation, default, _) in _FLAGS.items()]
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        parameters.extend(flags if parameter.name == param else [parameter])

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        from qvl_agent.envs.spec import env_spec

        given = {name: kwargs.pop(name) for name in _FLAGS}
        # Only the flags given: a flag of another kind of screen is an error, a default the spec's.
        values = {field: given[name] for name, (_, _, field) in _FLAGS.items()
                  if field is not None and given[name] is not None and given[name] is not False}
        kwargs[param] = env_spec({"kind": given["env"].value, **values})
        return command(**kwargs)

    wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=signature.return_annotation, __validate_parameters__=False)
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper  # type: ignore[return-value]

"""RPA scripts in Midscene's YAML format, as validated pydantic models.

A script names one screen (``web:``, ``android:`` or our ``computer:``), optionally an
``agent:`` section (the location cache), and ``tasks:``, each a ``flow:`` of steps. A step is
a mapping with exactly one action key (``aiTap: the Login button``) plus that action's
options (``value:``, ``timeout:``, ...). Key names and meanings are Midscene's, so a
Midscene script runs here unchanged as long as it uses this subset.

Everything is checked before any screen opens: an unknown key, a misspelt step, a missing
``value``, two screens, an unknown ``${NAME}``. Each problem is one ``ConfigError`` line
that names the file, the line and the key.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qvl_agent.agent.rpa.steps import (
    STEP_KINDS, Ai, Assert, Boolean, DoubleClick, FlowStep, Hover, Input, KeyboardPress, Number,
    Query, RightClick, Scroll, Sleep, StepBase, String, Tap, WaitFor,
)
from qvl_agent.envs.errors import ConfigError

__all__ = [
    "Script", "WebTarget", "AndroidTarget", "ComputerTarget", "AgentConfig", "CacheConfig",
    "Task", "StepBase", "Tap", "DoubleClick", "RightClick", "Hover", "Input", "KeyboardPress",
    "Scroll", "WaitFor", "Assert", "Query", "Boolean", "Number", "String", "Ai", "Sleep",
    "FlowStep", "STEP_KINDS", "load_script", "substitute",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class WebTarget(_Strict):
    url: str = Field(min_length=1, description="the page to open")
    viewportWidth: int = Field(1280, ge=100, le=7680)  # noqa: N815 - Midscene's key names
    viewportHeight: int = Field(720, ge=100, le=4320)  # noqa: N815
    deviceScaleFactor: float = Field(1.0, gt=0, le=4, description="2 for a HiDPI page")  # noqa: N815
    output: str | None = Field(None, description="a JSON file that also receives the query results")


class AndroidTarget(_Strict):
    deviceId: str | None = Field(None, description="adb serial, or 'sim' for the virtual phone")  # noqa: N815
    launch: str | None = Field(None, description="an app label or package to open first")
    output: str | None = None


class ComputerTarget(_Strict):
    display: str = Field("virtual", description="'virtual' (a managed Xvfb) or an X display like ':0'")
    launch: str | None = Field(None, description="a command to start first")
    output: str | None = None


class CacheConfig(_Strict):
    id: str = Field(min_length=1, description="names the cache file: <id>.cache.yaml")
    strategy: Literal["read-write", "read-only", "write-only"] = "read-write"


class AgentConfig(_Strict):
    cache: CacheConfig | bool | None = Field(
        None, description="true: a read-write cache named after the script file (Midscene's)")


class Task(_Strict):
    name: str = Field(min_length=1)
    continueOnError: bool = False  # noqa: N815
    flow: list[Any] = Field(min_length=1)
    line: int = 0


class Script(_Strict):
    web: WebTarget | None = None
    android: AndroidTarget | None = None
    computer: ComputerTarget | None = None
    agent: AgentConfig = Field(default_factory=AgentConfig)
    tasks: list[Task] = Field(min_length=1)
    path: Path | None = None

    @model_validator(mode="after")
    def _one_screen(self) -> "Script":
        given = [k for k in ("web", "android", "computer") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of web:, android: or computer:"
                             + (f" (found {', '.join(given)})" if given else ""))
        return self

    @property
    def screen(self) -> Literal["web", "android", "computer"]:
        return "web" if self.web else "android" if self.android else "computer"  # type: ignore[return-value]

    @property
    def cache(self) -> CacheConfig | None:
        """The location cache's settings (``agent.cache: true`` is resolved at load)."""
        return self.agent.cache if isinstance(self.agent.cache, CacheConfig) else None

    @property
    def output(self) -> str | None:
        target = self.web or self.android or self.computer
        return target.output if target else None

    def steps(self) -> list[tuple[Task, FlowStep]]:
        return [(task, step) for task in self.tasks for step in task.flow]


# -- loading -----------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def substitute(text: str, variables: Mapping[str, str], where: str) -> str:
    """``${NAME}`` replaced from ``variables`` first, then the environment."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        raise ConfigError(f"{where}: ${{{name}}} is not defined; pass --var {name}=VALUE "
                          "or set it in the environment")
    return _VAR.sub(value, text)


def load_script(path: str | Path, variables: Mapping[str, str] | None = None) -> Script:
    """Read and validate a script. Raises ``ConfigError`` naming the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"script not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read the script {path}: {exc}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}{line}: not valid YAML ({problem})") from None
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{path}: a script is a mapping with web:/android:/computer: and tasks:")
    lines: dict[tuple[Any, ...], int] = {}
    data = _plain(root, (), lines, str(path), dict(variables or {}))
    return _validate(data, lines, path)


def _plain(node: yaml.Node, at: tuple[Any, ...], lines: dict[tuple[Any, ...], int],
           file: str, variables: dict[str, str]) -> Any:
    """The node as plain data, with each key's line in ``lines`` and ``${}`` replaced."""
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(_scalar(key_node))
            if key in out:
                raise ConfigError(f"{file}:{key_node.start_mark.line + 1}: {key!r} appears twice")
            lines[(*at, key)] = key_node.start_mark.line + 1
            out[key] = _plain(value_node, (*at, key), lines, file, variables)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(item, (*at, i), lines, file, variables) for i, item in enumerate(node.value)]
    value = _scalar(node)
    if isinstance(value, str):
        value = substitute(value, variables, f"{file}:{node.start_mark.line + 1}")
    return value


def _scalar(node: yaml.Node) -> Any:
    """A scalar node's value as YAML 1.1 types it (a fresh constructor: no shared state)."""
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _validate(data: dict[str, Any], lines: dict[tuple[Any, ...], int], path: Path) -> Script:
    def fail(at: tuple[Any, ...], message: str) -> ConfigError:
        line = _line_of(at, lines)
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at).lstrip(".") or "script"
        return ConfigError(f"{path}:{line}: {key}: {message}")

    try:
        script = Script.model_validate({**data, "path": None} if "path" not in data else data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        # A union's member names (agent.cache: CacheConfig | bool) are not keys of the file.
        where = tuple(p for p in problem["loc"] if p not in ("CacheConfig", "bool"))
        raise fail(where, _message(problem)) from None
    for t, task in enumerate(script.tasks):
        task.line = lines.get(("tasks", t), 0)
        steps: list[FlowStep] = []
        for s, raw in enumerate(task.flow):
            at = ("tasks", t, "flow", s)
            steps.append(_step(raw, at, lines, fail))
        task.flow = steps
    if script.agent.cache is True:
        script.agent.cache = CacheConfig(id=path.stem)
    elif script.agent.cache is False:
        script.agent.cache = None
    script.path = path
    return script


def _step(raw: Any, at: tuple[Any, ...], lines: dict[tuple[Any, ...], int], fail: Any) -> FlowStep:
    if not isinstance(raw, dict) or not raw:
        raise fail(at, "a step is a mapping such as 'aiTap: the Login button'")
    actions = [key for key in raw if key in STEP_KINDS]
    if len(actions) != 1:
        if actions:
            raise fail(at, f"one action per step, found {', '.join(actions)}")
        first = next(iter(raw))
        close = difflib.get_close_matches(first, STEP_KINDS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f"; steps are {', '.join(STEP_KINDS)}"
        raise fail((*at, first), f"unknown step {first!r}{hint}")
    action = actions[0]
    model, main_field = STEP_KINDS[action]
    values = {k: v for k, v in raw.items() if k != action}
    main = raw[action]
    if action == "aiInput" and "locate" in raw and "value" not in raw:
        main_field = "value"  # Midscene's older form: `aiInput: <text>` with `locate: <target>`
    if main is not None and main != "":
        if main_field in values:
            raise fail((*at, main_field), f"{action} already says what; remove {main_field}:")
        values[main_field] = main if main_field == "ms" else str(main) if not isinstance(main, str) else main
    for reserved in ("line", "kind"):
        if reserved in values:
            raise fail((*at, reserved), f"{reserved!r} is not an option of {action}")
    try:
        step = model.model_validate({**values, "line": lines.get((*at, action), 0)})
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = str(problem["loc"][0]) if problem["loc"] else action
        if field == main_field and field not in raw:
            field = action
        message = _message(problem)
        if problem["type"] == "missing":
            message = f"{action} needs {field}:"
            field = action
        raise fail((*at, field), message) from None
    return step  # type: ignore[return-value]


def _line_of(at: tuple[Any, ...], lines: dict[tuple[Any, ...], int]) -> int:
    while at and at not in lines:
        at = at[:-1]
    return lines.get(at, 1)


def _message(problem: dict[str, Any]) -> str:
    if problem["type"] == "extra_forbidden":
        return "unknown key; remove it or check its spelling"
    if problem["type"] == "missing":
        return "is required"
    return problem["msg"]

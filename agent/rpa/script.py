"""RPA scripts in Midscene's YAML format, as validated pydantic models.

A script names one screen, optionally ``agent:`` (the location cache, context for the
model, report names) and ``config:`` (``output``), and ``tasks:``, each a ``flow:`` of
steps (``agent.rpa.flow`` reads those). The screens are Midscene's: ``web:`` with its
aliases ``page:``, ``browser:`` and the legacy ``target:``; ``android:``; ``computer:`` (a
Linux desktop here). ``ios:``, ``harmony:`` and ``interface:`` (a JavaScript device
module) cannot run in Python and are refused with one line.

Everything is checked before any screen opens, and every problem is reported, each one
line naming the file, the line and the key (``ScriptProblems``). A documented option we
cannot honour is accepted and listed in ``Script.ignored``; an undocumented one is a problem.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qvl_agent.agent.rpa import sections as sec
from qvl_agent.agent.rpa.findings import Findings
from qvl_agent.agent.rpa.flow import read_step
from qvl_agent.agent.rpa.steps import (
    AdbShell, Ai, Ask, Assert, Boolean, ClearInput, DoubleClick, DragAndDrop, FlowStep, Hover,
    Input, JavaScript, KeyboardPress, Launch, Locate, LongPress, Number, Query, Record, RefImage,
    RightClick, Scroll, Sleep, StepBase, String, SystemKey, Tap, LocateParam, Terminate, WaitFor,
)
from qvl_agent.agent.rpa.yamldoc import Document, read_yaml, shorten
from qvl_agent.envs.errors import ConfigError

__all__ = [
    "Script", "Task", "ScriptProblems", "load_script", "read_script", "substitute", "StepBase",
    "FlowStep", "Tap", "DoubleClick", "RightClick", "Hover", "LongPress", "Input", "ClearInput",
    "KeyboardPress", "Scroll", "DragAndDrop", "WaitFor", "Assert", "Query", "Boolean", "Number",
    "String", "Ask", "Locate", "Ai", "Sleep", "JavaScript", "Record", "AdbShell", "Launch",
    "Terminate", "SystemKey", "LocateParam", "RefImage",
]


class ScriptProblems(ConfigError):
    """Every problem found in a script, each one line naming the file, line and key."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''}: " \
               "qvl-agent rpa --dry-run lists them all)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


class Task(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    continueOnError: bool = False  # noqa: N815 - Midscene's key names
    flow: list[Any] = Field(min_length=1)
    line: int = 0


class Script(BaseModel):
    """A loaded script: its screen, agent settings, tasks and what was noted while reading."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)
    web: sec.WebTarget | None = None
    android: sec.AndroidTarget | None = None
    computer: sec.ComputerTarget | None = None
    config: sec.ConfigSection = Field(default_factory=sec.ConfigSection)
    agent: sec.AgentConfig = Field(default_factory=sec.AgentConfig)
    tasks: list[Task]
    path: Path
    ignored: list[str] = Field(default_factory=list, description="'ignored: ...' notes, one per option")

    @property
    def screen(self) -> Literal["web", "android", "computer"]:
        return "web" if self.web else "android" if self.android else "computer"  # type: ignore[return-value]

    @property
    def cache(self) -> sec.CacheConfig | None:
        """The location cache's settings (``cache: true`` resolved at load), or None."""
        return self.agent.cache if isinstance(self.agent.cache, sec.CacheConfig) else None

    @property
    def output(self) -> str | None:
        target = self.web or self.android or self.computer
        return (target.output if target else None) or self.config.output

    def steps(self) -> list[tuple[Task, FlowStep]]:
        return [(task, step) for task in self.tasks for step in task.flow]


# -- ${NAME} --------------------------------------------------------------------------------

_VAR = re.compile(r"\$\{([^}]*)\}")


def substitute(text: str, variables: Mapping[str, str], where: str, *, keep_unknown: bool = False) -> str:
    """``${NAME}`` replaced from ``variables`` first, then the environment."""
    def value(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if not name:
            return match.group(0)
        if name in variables:
            return variables[name]
        if name in os.environ:
            return os.environ[name]
        if keep_unknown:
            return match.group(0)
        raise ConfigError(f"{where}: ${{{shorten(name, 40).strip(chr(39))}}} is not defined; pass "
                          f"--var {shorten(name, 40).strip(chr(39))}=VALUE or set it in the environment")
    return _VAR.sub(value, text)


def _substitute_all(data: Any, at: tuple[Any, ...], variables: Mapping[str, str],
                    found: Findings) -> Any:
    if isinstance(data, dict):
        return {k: _substitute_all(v, (*at, k), variables, found) for k, v in data.items()}
    if isinstance(data, list):
        return [_substitute_all(v, (*at, i), variables, found) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:
        # In JavaScript, ${...} is also the code's own template syntax: Midscene leaves an
        # unknown name there as it is.
        code = len(at) >= 5 and at[0] == "tasks" and at[-1] == "javascript"
        try:
            return substitute(data, variables, f"{found.path}:{found.doc.line(at)}", keep_unknown=code)
        except ConfigError as exc:
            found.problems.append(str(exc))
    return data


# -- loading -----------------------------------------------------------------------------------

_WEB = ("web", "page", "browser", "target")
_SCREENS = (*_WEB, "android", "computer")
_REFUSED = {
    "ios": "drives an iPhone through WebDriverAgent, which qvl-agent cannot do; it drives "
           "web pages, Android devices over adb and Linux desktops",
    "harmony": "drives a HarmonyOS device through hdc, which qvl-agent cannot do; it "
               "drives web pages, Android devices over adb and Linux desktops",
    "interface": "loads a JavaScript device module, which cannot run in Python; "
                 "use web:, android: or computer:",
}
_TOP = (*_SCREENS, *_REFUSED, "config", "agent", "tasks")


def read_script(path: str | Path) -> Document:
    """The script's YAML as plain data with lines (bounded; see ``agent.rpa.yamldoc``)."""
    return read_yaml(Path(path))


def load_script(path: str | Path, variables: Mapping[str, str] | None = None, *,
                base: Path | None = None, device: str | None = None,
                defaults: Mapping[str, Any] | None = None) -> Script:
    """Read and validate a script. Raises ``ScriptProblems`` listing every problem.

    Args:
        variables: ``--var`` values for ``${NAME}`` (the environment is read after them).
        base: the folder relative paths start from (Midscene's: the working directory).
        device: ``--device``: the Android serial to use instead of ``android.deviceId``.
        defaults: a batch index's screen sections, merged over the script's own.
    """
    path = Path(path)
    doc = read_script(path)
    found = Findings(str(path), doc)
    data = doc.data
    if not isinstance(data, dict):
        raise ScriptProblems([f"{path}:1: a script is a mapping with a screen (web:, android:, "
                              "computer:) and tasks:"])
    if "files" in data and "tasks" not in data:
        raise ScriptProblems([f"{path}:{doc.line(('files',))}: this is a batch index (files:), "
                              "not a script; give it to `qvl-agent rpa` as it is"])
    data = _substitute_all(data, (), dict(variables or {}), found)
    for key, value in (defaults or {}).items():
        # A batch index's settings for a screen apply to the scripts of that screen (any of
        # web's aliases), and win over the script's own, as in Midscene.
        family = _WEB if key in _WEB else (key,)
        mine = next((k for k in family if k in data), None)
        if mine is not None and isinstance(value, dict):
            data[mine] = {**(data[mine] if isinstance(data[mine], dict) else {}), **value}
    script = _build(data, found, base or Path.cwd(), path, device)
    if found.problems:
        raise ScriptProblems(found.problems)
    assert script is not None
    return script


def _build(data: dict[str, Any], found: Findings, base: Path, path: Path,
           device: str | None) -> Script | None:
    for key in data:
        if key in _REFUSED:
            found.problem((key,), _REFUSED[key])
        elif key not in _TOP:
            close = difflib.get_close_matches(key, _TOP, n=1, cutoff=0.7)
            found.problem((key,), "unknown key" + (f"; did you mean {close[0]}?" if close else
                                                   f"; a script has {', '.join(_TOP)}"))
    screens = [k for k in _SCREENS if k in data]
    if len(screens) > 1:
        found.problem((screens[1],), f"give one screen; found {', '.join(screens)}")
    if not screens and not any(k in data for k in _REFUSED):
        found.problem((), "give the screen: web: (or page:, browser:, target:), android: or computer:")
    fields: dict[str, Any] = {"path": path}
    for key in screens[:1]:
        section = sec.read_screen(key, data[key], found, base, path, device)
        if section is not None:
            fields["web" if key in _WEB else key] = section
    if "config" in data:
        fields["config"] = sec.read_section(sec.ConfigSection, data["config"], ("config",), found)
    if "agent" in data:
        fields["agent"] = sec.read_agent(data["agent"], found, path)
    tasks = _tasks(data.get("tasks"), found, web=bool(screens) and screens[0] in _WEB)
    if found.problems:
        return None
    fields["tasks"] = tasks
    fields["ignored"] = found.notes()
    return Script(**fields)


def _tasks(raw: Any, found: Findings, *, web: bool) -> list[Task]:
    if raw is None:
        found.problem(("tasks",), "a script needs tasks:, a list of {name, flow}")
        return []
    if not isinstance(raw, list) or not raw:
        found.problem(("tasks",), "tasks: is a list of {name: ..., flow: [...]}")
        return []
    tasks = []
    for t, item in enumerate(raw):
        at = ("tasks", t)
        try:
            task = Task.model_validate(item)
        except ValidationError as exc:
            for error in exc.errors():
                where = (*at, *[p for p in error["loc"][:1]])
                message = ("unknown key; a task has name, flow and continueOnError"
                           if error["type"] == "extra_forbidden" else
                           "is required" if error["type"] == "missing" else error["msg"])
                found.problem(where, message)
            continue
        task.line = found.doc.line(at)
        steps = [read_step(raw_step, (*at, "flow", s), found, web=web)
                 for s, raw_step in enumerate(task.flow)]
        task.flow = [step for step in steps if step is not None]
        tasks.append(task)
    return tasks

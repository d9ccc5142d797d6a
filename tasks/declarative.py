"""OSWorld-style declarative tasks: a JSON file says how to set up and how to judge.

    {
      "id": "web/subscribe",
      "instruction": "Subscribe to the newsletter with ada@example.com",
      "env": "browser",
      "config": [{"type": "open_page", "parameters": {"page": "newsletter.html"}}],
      "evaluator": {
        "func": ["exact_match", "contains"], "conj": "and",
        "result": [{"type": "element_text", "selector": "#status"},
                   {"type": "page_url"}],
        "expected": [{"type": "rule", "rules": {"expected": "Subscribed: ada@example.com"}},
                     {"type": "rule", "rules": {"expected": "thanks"}}],
        "options": [{}, {}]
      },
      "oracle": [{"action": "click", "selector": "#email"}, {"action": "type", "text": "..."}]
    }

``{SEED}`` in a config step's text parameters becomes the instance's seed (our extension).
``config`` steps, result/expected getters and metrics are names in the registries of
``tasks.hooks`` (``SETUP_STEPS``, ``GETTERS``, ``METRICS``), which plugins fill; this module
reads them and imports no plugin. OSWorld's ``"func": "infeasible"`` marks a task only
``terminate(failure)`` solves. ``evaluator.postconfig`` holds setup steps run after the
episode, before the getters (OSWorld's). A malformed file is a ``ConfigError`` naming the
file and the field. The optional ``oracle`` lists steps that locate their target in the env
(a CSS selector in a browser) and act through Actions; a file that has none (OSWorld's) may
get one by its id from ``tasks.hooks.KNOWN_ORACLES``.

A name that OSWorld's files use but this package does not implement (``hooks.is_foreign``,
filled by the plugin ``tasks.desktop.osworld``) is no typo: its file loads, the task says
what it lacks (``TaskSpec.missing``), suites leave it out with a line that says so, and
running it anyway is a ``TaskError`` naming the piece. Where the files are (a folder,
OSWorld's ``examples/<domain>/<id>.json`` layout and meta files) is ``tasks.layout``'s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Answer, Click, KeyPress, Terminate, TypeText, Wait
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError, TaskError
from qvl_agent.envs.spec import EnvSpec
from qvl_agent.tasks.base import Task
from qvl_agent.tasks.hooks import (
    GETTERS, KNOWN_ORACLES, METRICS, OPTION_CHECKS, ORACLE_LOCATORS, PLACEHOLDERS, RESETS,
    SETUP_STEPS, OracleStep, Registry, is_foreign, needs_expected, screen_of,
)
from qvl_agent.tasks.layout import task_files
from qvl_agent.tasks.suite import Suite

__all__ = ["TaskSpec", "DeclarativeTask", "load_task_file", "load_tasks", "task_class",
           "suite_from_path", "OSWORLD_KEYS"]

# Keys that mark a file as OSWorld's, which is a desktop task whatever its config.
OSWORLD_KEYS = frozenset({"snapshot", "related_apps", "trajectory", "proxy", "fixed_ip",
                          "possibility_of_env_change"})


# -- the file format -------------------------------------------------------------------

def _registered(name: str, registry: Registry[str, Any]) -> str:
    if name not in registry and not is_foreign(registry.what, name):
        raise ValueError(f"unknown {registry.what} {name!r} (known: {', '.join(registry.names())})")
    return name


def _comments_dropped(data: Any) -> Any:
    """Keys that start with "_" are comments (OSWorld's ``_config_note``)."""
    if isinstance(data, dict):
        return {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("_"))}
    return data


class ConfigStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        return _registered(value, SETUP_STEPS)


class GetterSpec(BaseModel):
    """A getter: its ``type`` plus whatever keys that getter takes."""

    model_config = ConfigDict(extra="allow")
    type: str

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        return _registered(value, GETTERS)

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Evaluator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    func: str | list[str]
    conj: Literal["and", "or"] = "and"
    result: GetterSpec | list[GetterSpec] | None = None
    expected: GetterSpec | list[GetterSpec | None] | None = None
    options: dict[str, Any] | list[dict[str, Any] | None] = Field(default_factory=dict)
    postconfig: list[ConfigStep] = Field(
        default_factory=list, description="setup steps run after the episode, before the getters")

    _comments = model_validator(mode="before")(_comments_dropped)

    @field_validator("func")
    @classmethod
    def _known(cls, value: str | list[str]) -> str | list[str]:
        for name in value if isinstance(value, list) else [value]:
            if name != "infeasible":
                _registered(name, METRICS)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Evaluator":
        if self.funcs == ["infeasible"]:
            return self
        # OSWorld's metrics not implemented here may judge alone too: their tasks are left out.
        compares = any(f in METRICS and needs_expected(f) for f in self.funcs)
        if self.result is None or (self.expected is None and compares):
            # A metric with nothing to compare against passes anything: refuse the file.
            raise ValueError("'result' and 'expected' are required unless func is 'infeasible'")
        if isinstance(self.func, list):
            # OSWorld's form: parallel lists, one entry per metric.
            for field in ("result", "expected", "options"):
                value = getattr(self, field)
                if field == "options" and value == {} or field == "expected" and value is None:
                    continue
                if not isinstance(value, list) or len(value) != len(self.func):
                    size = len(value) if isinstance(value, list) else "not a list of"
                    raise ValueError(f"{len(self.func)} funcs but {size} {field} entries; "
                                     "give one per func")
        return self

    @property
    def funcs(self) -> list[str]:
        return self.func if isinstance(self.func, list) else [self.func]

    def nth(self, field: str, i: int) -> Any:
        value = getattr(self, field)
        return value[i] if isinstance(value, list) else value


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    instruction: str = Field(min_length=1)
    env: EnvKind = Field(None, validate_default=False,  # type: ignore[assignment]
                         description="default: desktop for OSWorld's files (snapshot, "
                                     "related_apps, ...) or a desktop-only step or getter, "
                                     "else browser")
    config: list[ConfigStep] = Field(default_factory=list)
    evaluator: Evaluator
    max_steps: int = Field(15, ge=1, le=500)
    family: str | None = None
    oracle: list[OracleStep] | None = None
    # OSWorld keeps these in its task files; they are accepted and not used.
    snapshot: str | None = None
    source: str | list[str] | None = None
    related_apps: list[str] | None = None
    trajectory: str | None = None
    proxy: bool | None = None
    fixed_ip: bool | None = None
    possibility_of_env_change: str | None = None
    hint: str | list[str] | None = None
    env_may_change: bool | str | None = None

    _comments = model_validator(mode="before")(_comments_dropped)

    @model_validator(mode="after")
    def _kind(self) -> "TaskSpec":
        if self.env is None and OSWORLD_KEYS & self.model_fields_set:
            self.env = EnvKind.desktop  # OSWorld's files are all desktop tasks, even config-less
        if self.env is None:
            getters = [g for field in (self.evaluator.result, self.evaluator.expected)
                       for g in (field if isinstance(field, list) else [field]) if g is not None]
            found = ([screen_of("step", s.type) for s in self.config]
                     + [screen_of("getter", g.type) for g in getters])
            kinds = {kind for kind in found if kind is not None}
            self.env = kinds.pop() if len(kinds) == 1 else EnvKind.browser
        return self

    @property
    def infeasible(self) -> bool:
        return self.evaluator.funcs == ["infeasible"]

    @property
    def missing(self) -> list[str]:
        """What the file uses that this package does not implement ("metric compare_pdfs")."""
        evaluator = self.evaluator
        used = [("setup step", s.type, SETUP_STEPS) for s in [*self.config, *evaluator.postconfig]]
        used += [("metric", f, METRICS) for f in evaluator.funcs if f != "infeasible"]
        for field in (evaluator.result, evaluator.expected):
            for getter in field if isinstance(field, list) else [field]:
                if getter is not None:
                    used.append(("getter", getter.type, GETTERS))
        found = [f"{what} {name}" for what, name, registry in used if name not in registry]
        return list(dict.fromkeys(found))

    @property
    def reads_answer(self) -> bool:
        """True when the evaluator reads the agent's answer (the ``answer`` getter)."""
        fields = (self.evaluator.result, self.evaluator.expected)
        return any(g is not None and g.type == "answer"
                   for field in fields for g in (field if isinstance(field, list) else [field]))


def load_task_file(path: Path) -> TaskSpec:
    """Read and validate one task file; errors name the file and the field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the task file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset "
                          f"{exc.start}); save the task file as UTF-8") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise ConfigError(f"{path}: JSON nested too deeply to be a task file") from None
    try:
        return TaskSpec.model_validate(data)
    except RecursionError:
        raise ConfigError(f"{path}: JSON nested too deeply to be a task file") from None
    except ValidationError as exc:
        problem = exc.errors()[0]
        # Drop the union-branch names pydantic puts in the location (GetterSpec, list[...]).
        parts = [str(p) for p in problem["loc"] if not (isinstance(p, str) and p[:1].isupper())
                 and not (isinstance(p, str) and "[" in p)]
        where = ".".join(parts) or "(top level)"
        message = problem["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{path}: {where}: {message}") from None


# -- the task ----------------------------------------------------------------------------

class DeclarativeTask(Task):
    spec: ClassVar[TaskSpec]
    task_dir: ClassVar[Path]

    @property
    def goal(self) -> str:
        return getattr(self, "_goal", None) or self.spec.instruction

    def _setup(self, env: Env) -> None:
        if self.spec.missing:
            raise TaskError(f"{self.id} uses OSWorld's {', '.join(self.spec.missing)}, which "
                            "qvl-agent does not implement (README: OSWorld's task files)")
        reset = RESETS.get(env.kind)
        if reset is not None:
            reset(env)
        fill = PLACEHOLDERS.get(env.kind)
        if fill is not None and "{" in self.spec.instruction:
            self._goal = fill(env, self.spec.instruction)  # e.g. "the password is {CLIENT_PASSWORD}"
        for step in self.spec.config:
            SETUP_STEPS[step.type](env, self.task_dir, **_seeded(step.parameters, self.seed))

    def check(self, env: Env, trajectory: Trajectory) -> float:
        evaluator = self.spec.evaluator
        for step in evaluator.postconfig:  # OSWorld: after the episode, before the getters
            SETUP_STEPS[step.type](env, self.task_dir, **step.parameters)
        scores = []
        for i, name in enumerate(evaluator.funcs):
            result = _get(evaluator.nth("result", i), env, trajectory, self.task_dir)
            expected_spec = evaluator.nth("expected", i)
            expected = _get(expected_spec, env, trajectory, self.task_dir) if expected_spec else None
            options = evaluator.nth("options", i) or {}
            scores.append(float(METRICS[name](result, expected, **options)))
        return min(scores) if evaluator.conj == "and" else max(scores)

    @classmethod
    def has_oracle(cls) -> bool:
        return bool(cls.spec.oracle)

    def oracle(self, env: Env) -> Iterator[Action]:
        if not self.spec.oracle:
            raise TaskError(f"{self.id} has no oracle")
        for step in self.spec.oracle:
            yield _oracle_action(env, step)


def _seeded(parameters: dict[str, Any], seed: int | None) -> dict[str, Any]:
    """``{SEED}`` in a config step's text parameters is the instance's seed (ours: a page
    laid out per seed, so that seeds differ as they do in the other suites)."""
    return {k: v.replace("{SEED}", str(seed or 0)) if isinstance(v, str) else v
            for k, v in parameters.items()}


def _get(spec: GetterSpec, env: Env, trajectory: Trajectory, task_dir: Path) -> Any:
    try:
        return GETTERS[spec.type](env, trajectory, task_dir, **spec.arguments)
    except TypeError as exc:  # a getter called with arguments it does not take
        raise TaskError(f"getter {spec.type!r}: {exc}") from None


def _oracle_action(env: Env, step: OracleStep) -> Action:
    match step.action:
        case "click":
            locate = ORACLE_LOCATORS.get(env.kind)
            if locate is None:
                raise TaskError(f"no oracle locator for a {env.kind.value} env")
            return Click(at=locate(env, step))
        case "type":
            return TypeText(text=step.text or "")
        case "key":
            return KeyPress(keys=step.keys or [])
        case "wait":
            return Wait(seconds=step.seconds or 1.0)
        case "terminate":
            return Terminate(status=step.status or "success")
        case "answer":
            return Answer(text=step.text or "")
    raise TaskError(f"unknown oracle action {step.action!r}")


def task_class(spec: TaskSpec, task_dir: Path, domain: str | None = None) -> type[DeclarativeTask]:
    """The Task class of a file; ``domain``: its OSWorld domain folder (the task's family)."""
    name = "Declarative_" + re.sub(r"\W", "_", spec.id)
    family = spec.family or domain or (spec.id.split("/")[0] if "/" in spec.id else "declarative")
    if spec.oracle is None and spec.id in KNOWN_ORACLES:
        oracle = [OracleStep.model_validate(step) for step in KNOWN_ORACLES[spec.id]]
        spec = spec.model_copy(update={"oracle": oracle})
    return type(name, (DeclarativeTask,), {
        "id": spec.id, "family": family, "env_kind": spec.env, "max_steps": spec.max_steps,
        "infeasible": spec.infeasible, "spec": spec, "task_dir": task_dir, "__module__": __name__,
        "expects_answer": spec.reads_answer,
    })


def load_tasks(path: Path) -> list[type[DeclarativeTask]]:
    tasks = [task_class(load_task_file(f), f.parent, domain) for f, domain in task_files(path)]
    seen: dict[str, int] = {}
    for task in tasks:
        seen[task.id] = seen.get(task.id, 0) + 1
    duplicates = sorted(i for i, n in seen.items() if n > 1)
    if duplicates:
        raise ConfigError(f"{path}: task ids used twice: {', '.join(duplicates)}")
    return tasks


def suite_from_path(path: Path, name: str | None = None, description: str | None = None) -> Suite:
    """A suite made of the task files in ``path`` (a folder, or one JSON file)."""
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such folder or task file")
    tasks = load_tasks(path)
    kinds = {t.env_kind for t in tasks}
    if len(kinds) != 1:
        raise ConfigError(f"{path}: a suite needs one kind of env, these tasks use "
                          f"{', '.join(sorted(k.value for k in kinds))}")
    kind = kinds.pop()
    return Suite(name=name or str(path), description=description or f"declarative tasks in {path}",
                 env_kind=kind, tasks=tasks,
                 check_options=OPTION_CHECKS.get(kind), select_tasks=_implemented)


def _implemented(tasks: Sequence[type[Task]], spec: EnvSpec) -> tuple[list[type[Task]], str | None]:
    """The tasks whose every piece is implemented (on any screen), and a line on the others."""
    missing = {t.id: t.spec.missing for t in tasks if issubclass(t, DeclarativeTask)}
    keep = [t for t in tasks if not missing.get(t.id)]
    if len(keep) == len(tasks):
        return keep, None
    counts: dict[str, int] = {}
    for pieces in missing.values():
        for piece in pieces:
            counts[piece] = counts.get(piece, 0) + 1
    shown = ", ".join(f"{p} ({n})" for p, n in sorted(counts.items(), key=lambda i: -i[1])[:8])
    more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
    return keep, (f"{len(tasks) - len(keep)} of {len(tasks)} tasks are left out: they use OSWorld "
                  f"pieces qvl-agent does not implement: {shown}{more}")

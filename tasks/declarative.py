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

``config`` steps, result/expected getters and metrics come from registries
(``SETUP_STEPS``, ``GETTERS``, ``METRICS``) that other suites extend with
``register_setup_step`` / ``register_getter`` / ``register_metric``. OSWorld's ``"func":
"infeasible"`` marks a task only ``terminate(failure)`` solves. A malformed file is a
``ConfigError`` naming the file and the field. The optional ``oracle`` lists steps that
locate their target in the env (a CSS selector in a browser) and act through Actions.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Answer, Click, KeyPress, Point, Terminate, TypeText, Wait
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError, TaskError
from qvl_agent.tasks.base import Task

__all__ = [
    "TaskSpec", "load_task_file", "task_class", "suite_from_path", "SETUP_STEPS", "GETTERS",
    "METRICS", "ORACLE_LOCATORS", "RESETS", "OPTION_CHECKS", "PLACEHOLDERS",
    "register_setup_step", "register_getter", "register_metric",
]

SetupStep = Callable[..., None]  # (env, task_dir, **parameters)
Getter = Callable[..., Any]  # (env, trajectory, task_dir, **config)
Metric = Callable[..., float]  # (result, expected, **options)

SETUP_STEPS: dict[str, SetupStep] = {}
GETTERS: dict[str, Getter] = {}
METRICS: dict[str, Metric] = {}
# How an oracle step finds its target on a kind of screen: (env, step) -> Point.
ORACLE_LOCATORS: dict[EnvKind, Callable[[Env, "OracleStep"], Point]] = {}
# What a kind of screen does before a task's config steps (a desktop closes the last task's apps).
RESETS: dict[EnvKind, Callable[[Env], None]] = {}
# How a kind of screen fills OSWorld's placeholders ({CLIENT_PASSWORD}, {SCREEN_WIDTH}) in text.
PLACEHOLDERS: dict[EnvKind, Callable[[Env, str], str]] = {}
# What a kind of screen refuses before a run starts: (env options, workers) -> None or raise.
OPTION_CHECKS: dict[EnvKind, Callable[[dict[str, Any], int], None]] = {}
# Setup steps and getters that exist on one kind of screen only: a file without "env" that
# uses one (an OSWorld task file) runs on that kind.
KIND_OF: dict[str, EnvKind] = {}


def register_setup_step(name: str, kind: EnvKind | None = None) -> Callable[[SetupStep], SetupStep]:
    def add(fn: SetupStep) -> SetupStep:
        SETUP_STEPS[name] = fn
        if kind is not None:
            KIND_OF[f"step:{name}"] = kind
        return fn
    return add


def register_getter(name: str, kind: EnvKind | None = None) -> Callable[[Getter], Getter]:
    def add(fn: Getter) -> Getter:
        GETTERS[name] = fn
        if kind is not None:
            KIND_OF[f"getter:{name}"] = kind
        return fn
    return add


def register_metric(name: str) -> Callable[[Metric], Metric]:
    def add(fn: Metric) -> Metric:
        METRICS[name] = fn
        return fn
    return add


# -- the file format -------------------------------------------------------------------

def _registered(name: str, registry: dict[str, Any], what: str) -> str:
    if name not in registry:
        raise ValueError(f"unknown {what} {name!r} (known: {', '.join(sorted(registry))})")
    return name


class ConfigStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        return _registered(value, SETUP_STEPS, "setup step")


class GetterSpec(BaseModel):
    """A getter: its ``type`` plus whatever keys that getter takes."""

    model_config = ConfigDict(extra="allow")
    type: str

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        return _registered(value, GETTERS, "getter")

    @property
    def arguments(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Evaluator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    func: str | list[str]
    conj: Literal["and", "or"] = "and"
    result: GetterSpec | list[GetterSpec] | None = None
    expected: GetterSpec | list[GetterSpec] | None = None
    options: dict[str, Any] | list[dict[str, Any]] = Field(default_factory=dict)

    @field_validator("func")
    @classmethod
    def _known(cls, value: str | list[str]) -> str | list[str]:
        for name in value if isinstance(value, list) else [value]:
            if name != "infeasible":
                _registered(name, METRICS, "metric")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Evaluator":
        if self.funcs == ["infeasible"]:
            return self
        if self.result is None or self.expected is None:
            # A metric with nothing to compare against passes anything: refuse the file.
            raise ValueError("'result' and 'expected' are required unless func is 'infeasible'")
        if isinstance(self.func, list):
            # OSWorld's form: parallel lists, one entry per metric.
            for field in ("result", "expected", "options"):
                value = getattr(self, field)
                if field == "options" and value == {}:
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


class OracleStep(BaseModel):
    """One step of a declarative oracle; targets are found in the env, never hard-coded."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["click", "type", "key", "wait", "terminate", "answer"]
    selector: str | None = Field(None, description="browser: CSS selector of the target")
    text: str | None = Field(None, description="type/answer: the text; android: a target's text")
    keys: list[str] | None = None
    seconds: float | None = None
    status: Literal["success", "failure"] | None = None


class TaskSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1)
    instruction: str = Field(min_length=1)
    env: EnvKind = Field(None, validate_default=False,  # type: ignore[assignment]
                         description="default: desktop if a step or getter is desktop-only "
                                     "(OSWorld's files), else browser")
    config: list[ConfigStep] = Field(default_factory=list)
    evaluator: Evaluator
    max_steps: int = Field(15, ge=1, le=500)
    family: str | None = None
    oracle: list[OracleStep] | None = None
    # OSWorld keeps these in its task files; they are accepted and not used.
    snapshot: str | None = None
    source: str | None = None
    related_apps: list[str] | None = None
    trajectory: str | None = None
    proxy: bool | None = None
    fixed_ip: bool | None = None
    possibility_of_env_change: str | None = None

    @model_validator(mode="after")
    def _kind(self) -> "TaskSpec":
        if self.env is None:
            getters = [g for field in (self.evaluator.result, self.evaluator.expected)
                       for g in (field if isinstance(field, list) else [field]) if g is not None]
            names = [f"step:{s.type}" for s in self.config] + [f"getter:{g.type}" for g in getters]
            kinds = {KIND_OF[n] for n in names if n in KIND_OF}
            self.env = kinds.pop() if len(kinds) == 1 else EnvKind.browser
        return self

    @property
    def infeasible(self) -> bool:
        return self.evaluator.funcs == ["infeasible"]

    @property
    def reads_answer(self) -> bool:
        """True when the evaluator reads the agent's answer (the ``answer`` getter)."""
        fields = (self.evaluator.result, self.evaluator.expected)
        return any(g is not None and g.type == "answer"
                   for field in fields for g in (field if isinstance(field, list) else [field]))


def load_task_file(path: Path) -> TaskSpec:
    """Read and validate one task file; errors name the file and the field."""
    _ensure_builtins()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the task file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    try:
        return TaskSpec.model_validate(data)
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
        reset = RESETS.get(env.kind)
        if reset is not None:
            reset(env)
        fill = PLACEHOLDERS.get(env.kind)
        if fill is not None and "{" in self.spec.instruction:
            self._goal = fill(env, self.spec.instruction)  # e.g. "the password is {CLIENT_PASSWORD}"
        for step in self.spec.config:
            SETUP_STEPS[step.type](env, self.task_dir, **step.parameters)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        evaluator = self.spec.evaluator
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


def task_class(spec: TaskSpec, task_dir: Path) -> type[DeclarativeTask]:
    name = "Declarative_" + re.sub(r"\W", "_", spec.id)
    family = spec.family or (spec.id.split("/")[0] if "/" in spec.id else "declarative")
    return type(name, (DeclarativeTask,), {
        "id": spec.id, "family": family, "env_kind": spec.env, "max_steps": spec.max_steps,
        "infeasible": spec.infeasible, "spec": spec, "task_dir": task_dir, "__module__": __name__,
        "expects_answer": spec.reads_answer,
    })


def load_tasks(path: Path) -> list[type[DeclarativeTask]]:
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ConfigError(f"{path}: no task files (*.json) in this folder")
    tasks = [task_class(load_task_file(f), f.parent) for f in files]
    seen: dict[str, int] = {}
    for task in tasks:
        seen[task.id] = seen.get(task.id, 0) + 1
    duplicates = sorted(i for i, n in seen.items() if n > 1)
    if duplicates:
        raise ConfigError(f"{path}: task ids used twice: {', '.join(duplicates)}")
    return tasks


def suite_from_path(path: Path, name: str | None = None, description: str | None = None) -> Any:
    """A suite made of the task files in ``path`` (a folder, or one JSON file)."""
    from qvl_agent.tasks.registry import Suite
    from qvl_agent.tasks.web.envs import open_env_for

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
                 env_kind=kind, tasks=tasks, open_env=open_env_for(kind),
                 check_options=OPTION_CHECKS.get(kind))


def _ensure_builtins() -> None:
    """Register the built-in setup steps and getters of every kind of screen."""
    import qvl_agent.tasks.desktop.metrics  # noqa: F401
    import qvl_agent.tasks.desktop.steps  # noqa: F401
    import qvl_agent.tasks.web.steps  # noqa: F401


# -- metrics that need nothing from an env (others register their own) ---------------------

def _unwrap(expected: Any) -> Any:
    """OSWorld's rule getter gives ``{"expected": value}``; metrics want the value.

    A missing or empty expectation is the task's bug, not a pass: it raises TaskError.
    """
    value = expected["expected"] if isinstance(expected, dict) and "expected" in expected else expected
    if value is None or value == "" or value == {}:
        raise TaskError(f"the task gives no expected value to compare with (got {expected!r})")
    return value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


@register_metric("exact_match")
def exact_match(result: Any, expected: Any, **options: Any) -> float:
    want = _unwrap(expected)
    if options.get("ignore_case") and isinstance(result, str) and isinstance(want, str):
        return float(result.strip().lower() == want.strip().lower())
    if isinstance(result, str) and isinstance(want, str):
        return float(result.strip() == want.strip())
    return float(result == want)


@register_metric("contains")
def contains(result: Any, expected: Any, **options: Any) -> float:
    want = _text(_unwrap(expected))
    got = _text(result)
    if options.get("ignore_case"):
        want, got = want.lower(), got.lower()
    return float(want in got)


@register_metric("check_include_exclude")
def check_include_exclude(result: Any, expected: Any, **options: Any) -> float:
    rules = expected if isinstance(expected, dict) else {}
    if not rules.get("include") and not rules.get("exclude"):
        raise TaskError(f"check_include_exclude needs 'include' or 'exclude' rules, got {expected!r}")
    got = _text(result)
    return float(all(s in got for s in rules.get("include", []))
                 and not any(s in got for s in rules.get("exclude", [])))


@register_metric("fuzzy_match")
def fuzzy_match(result: Any, expected: Any, threshold: float = 0.85, **options: Any) -> float:
    ratio = difflib.SequenceMatcher(None, _text(result).strip().lower(),
                                    _text(_unwrap(expected)).strip().lower()).ratio()
    return float(ratio >= threshold)


@register_metric("number_match")
def number_match(result: Any, expected: Any, tolerance: float = 1e-6, **options: Any) -> float:
    found = re.findall(r"-?\d+(?:\.\d+)?", _text(result).replace(",", ""))
    if not found:
        return 0.0
    return float(abs(float(found[-1]) - float(_unwrap(expected))) <= tolerance)


@register_metric("regex_match")
def regex_match(result: Any, expected: Any, **options: Any) -> float:
    return float(re.search(str(_unwrap(expected)), _text(result)) is not None)


@register_metric("is_in_list")
def is_in_list(result: Any, expected: Any, **options: Any) -> float:
    return float(result in (_unwrap(expected) or []))


@register_getter("rule")
def rule(env: Env, trajectory: Trajectory, task_dir: Path, rules: Any = None, **_: Any) -> Any:
    return rules


@register_getter("answer")
def answer(env: Env, trajectory: Trajectory, task_dir: Path, **_: Any) -> str | None:
    """The agent's answer (the ``answer`` action)."""
    return trajectory.meta.answer


@register_setup_step("sleep")
def sleep(env: Env, task_dir: Path, seconds: float = 1.0) -> None:
    time.sleep(float(seconds))

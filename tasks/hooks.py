"""The names a declarative task file uses, and the plugins that give them meaning.

    SETUP_STEPS      "config" steps     (env, task_dir, **parameters) -> None
    GETTERS          result / expected  (env, trajectory, task_dir, **config) -> a value
    METRICS          evaluator "func"   (result, expected, **options) -> a score in [0, 1]
    ORACLE_LOCATORS  per kind of screen: where an oracle step's target is  (env, step) -> Point
    RESETS           per kind of screen: what happens before a task's config steps  (env)
    PLACEHOLDERS     per kind of screen: OSWorld's {CLIENT_PASSWORD}, ... filled  (env, text)
    OPTION_CHECKS    per kind of screen: screens refused before a run  (spec, workers)
    KNOWN_ORACLES    task id -> oracle steps, for task files that carry none (OSWorld's)

Names that another framework's files use and no plugin implements (OSWorld's
``compare_pptx_files``) are declared with ``register_foreign_names``: a file that uses one
loads and its task says what it lacks; any other unknown name is a typo. A metric registered
with ``expected=False`` judges the result alone (OSWorld's ``is_utc_0``): its evaluator may
leave out ``expected``.

A plugin is a module that fills these when it is imported (``@register_metric("name")``,
``RESETS.add(EnvKind.desktop, reset)``). This module never imports a plugin by name: plugins
are module strings in ``PLUGINS`` (the built-ins below; ``use_plugin("pkg.module")`` adds
one), imported on the first lookup in any registry, as Gymnasium resolves its entry points.
The names are OSWorld's (``vm_file``, ``compare_table``, ...) so its task files run here.

A name registered twice is a ``ConfigError`` that names it and both registrants; the same
function registered again (its module executed a second time) is not a duplicate.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from enum import Enum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import EnvSpec

__all__ = [
    "Registry", "OracleStep", "SETUP_STEPS", "GETTERS", "METRICS", "ORACLE_LOCATORS", "RESETS",
    "PLACEHOLDERS", "OPTION_CHECKS", "KNOWN_ORACLES", "PLUGINS", "register_setup_step",
    "register_getter", "register_metric", "register_foreign_names", "use_plugin",
    "load_plugins", "screen_of", "needs_expected", "is_foreign",
]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

SetupStep = Callable[..., None]  # (env, task_dir, **parameters)
Getter = Callable[..., Any]  # (env, trajectory, task_dir, **config)
Metric = Callable[..., float]  # (result, expected, **options)

# The built-in plugins, by module name; resolved on first use.
PLUGINS: list[str] = [
    "qvl_agent.tasks.generic",          # rule, answer, sleep; exact_match, contains, ...
    "qvl_agent.tasks.web.steps",        # open_page, element_text, ...; the browser's oracle
    "qvl_agent.tasks.desktop.steps",    # launch, open, execute, vm_file, ...; the desktop's hooks
    "qvl_agent.tasks.desktop.metrics",  # compare_text_file, compare_csv, compare_table
    "qvl_agent.tasks.desktop.files",    # download, cloud_file, cache_file, list_directory
    "qvl_agent.tasks.desktop.os_metrics",  # OSWorld's os domain: is_utc_0, match_in_list, ...
    "qvl_agent.tasks.desktop.osworld",  # OSWorld's other names (foreign); oracles for its tasks
]
_imported: set[str] = set()
_importing: set[str] = set()
_loading = threading.RLock()


class OracleStep(BaseModel):
    """One step of a declarative oracle; targets are found in the env, never hard-coded."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["click", "type", "key", "wait", "terminate", "answer"]
    selector: str | None = Field(None, description="browser: CSS selector of the target")
    text: str | None = Field(None, description="type/answer: the text; android: a target's text")
    keys: list[str] | None = None
    seconds: float | None = None
    status: Literal["success", "failure"] | None = None


class Registry(Generic[K, V]):
    """Names (or kinds of screen) to functions; every lookup first imports the plugins."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._items: dict[K, V] = {}

    def add(self, key: K, item: V) -> V:
        """Register ``item`` under ``key``.

        Raises:
            ConfigError: ``key`` is taken by another function.
        """
        old = self._items.get(key)
        if old is not None and _origin(old) != _origin(item):
            raise ConfigError(f"{self.what} {_label(key)!r} is registered twice: by {_origin(old)} "
                              f"and by {_origin(item)}; give one of them another name")
        self._items[key] = item
        return item

    def register(self, key: K) -> Callable[[V], V]:
        """``add`` as a decorator."""
        return lambda item: self.add(key, item)

    def __getitem__(self, key: K) -> V:
        load_plugins()
        return self._items[key]

    def get(self, key: K) -> V | None:
        load_plugins()
        return self._items.get(key)

    def __contains__(self, key: object) -> bool:
        load_plugins()
        return key in self._items

    def __iter__(self) -> Iterator[K]:
        load_plugins()
        return iter(list(self._items))

    def __len__(self) -> int:
        load_plugins()
        return len(self._items)

    def names(self) -> list[str]:
        """Every registered name, sorted (for "known: ..." in an error)."""
        return sorted(_label(key) for key in self)


SETUP_STEPS: Registry[str, SetupStep] = Registry("setup step")
GETTERS: Registry[str, Getter] = Registry("getter")
METRICS: Registry[str, Metric] = Registry("metric")
ORACLE_LOCATORS: Registry[EnvKind, Callable[[Env, OracleStep], Point]] = Registry("oracle locator")
RESETS: Registry[EnvKind, Callable[[Env], None]] = Registry("reset")
PLACEHOLDERS: Registry[EnvKind, Callable[[Env, str], str]] = Registry("placeholder filler")
OPTION_CHECKS: Registry[EnvKind, Callable[[EnvSpec, int], None]] = Registry("option check")
# Oracles for task files that carry none, by task id (OSWorld's): lists of OracleStep data.
KNOWN_ORACLES: Registry[str, list[dict[str, Any]]] = Registry("oracle")
# Setup steps and getters that exist on one kind of screen only: a file without "env" that
# uses one (an OSWorld task file) runs on that kind.
_SCREEN_OF: dict[tuple[str, str], EnvKind] = {}
# Metrics that judge the result alone: "expected" may be absent.
_JUDGES_ALONE: set[str] = set()
# (registry.what, name) of names another framework's files use that nothing implements here.
_FOREIGN: set[tuple[str, str]] = set()


def register_setup_step(name: str, kind: EnvKind | None = None) -> Callable[[SetupStep], SetupStep]:
    """Decorator: a ``config`` step named ``name`` (that only a ``kind`` screen has)."""
    def add(fn: SetupStep) -> SetupStep:
        SETUP_STEPS.add(name, fn)
        if kind is not None:
            _SCREEN_OF["step", name] = kind
        return fn
    return add


def register_getter(name: str, kind: EnvKind | None = None) -> Callable[[Getter], Getter]:
    """Decorator: a result/expected getter named ``name`` (that only a ``kind`` screen has)."""
    def add(fn: Getter) -> Getter:
        GETTERS.add(name, fn)
        if kind is not None:
            _SCREEN_OF["getter", name] = kind
        return fn
    return add


def register_metric(name: str, expected: bool = True) -> Callable[[Metric], Metric]:
    """Decorator: an evaluator ``func`` named ``name``; ``expected=False``: it judges the
    result alone (no "expected" in the file)."""
    def add(fn: Metric) -> Metric:
        METRICS.add(name, fn)
        if not expected:
            _JUDGES_ALONE.add(name)
        return fn
    return add


def register_foreign_names(what: Literal["setup step", "getter", "metric"],
                           names: Iterable[str]) -> None:
    """Declare ``names`` as another framework's (OSWorld's) setup steps, getters or metrics:
    files that use one load, and their tasks report it missing unless a plugin implements it."""
    _FOREIGN.update((what, name) for name in names)


def needs_expected(metric: str) -> bool:
    """False for a metric registered with ``expected=False`` (it judges the result alone)."""
    load_plugins()
    return metric not in _JUDGES_ALONE


def is_foreign(what: str, name: str) -> bool:
    """True when ``name`` is a foreign ``what`` ("setup step", "getter", "metric")."""
    load_plugins()
    return (what, name) in _FOREIGN


def screen_of(what: Literal["step", "getter"], name: str) -> EnvKind | None:
    """The one kind of screen that has the setup step or getter ``name``; None if any has it."""
    load_plugins()
    return _SCREEN_OF.get((what, name))


def use_plugin(module: str) -> None:
    """Have ``module`` (e.g. ``"mypkg.osworld_steps"``) imported before the next lookup."""
    with _loading:
        if module not in PLUGINS:
            PLUGINS.append(module)


def load_plugins() -> None:
    """Import every plugin not imported yet (cheap once they all are).

    Raises:
        ConfigError: a plugin's module does not exist.
    """
    if _imported.issuperset(PLUGINS):
        return
    with _loading:  # another thread waits here until the registries are full
        for module in list(PLUGINS):
            if module in _imported or module in _importing:
                continue  # a lookup made while a plugin is being imported does not recurse
            _importing.add(module)
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as exc:
                if exc.name is not None and (module == exc.name or module.startswith(exc.name + ".")):
                    raise ConfigError(f"task plugin {module!r} cannot be imported: there is no "
                                      f"module {exc.name!r}; check the name given to use_plugin") from None
                raise
            finally:
                _importing.discard(module)
            _imported.add(module)


def _label(key: object) -> str:
    return key.value if isinstance(key, Enum) else str(key)


def _origin(item: object) -> str:
    module = getattr(item, "__module__", None)
    name = getattr(item, "__qualname__", None)
    return f"{module}.{name}" if module and name else repr(item)

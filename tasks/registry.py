"""The registry of suites by name; a folder of declarative JSON task files is a suite too.

Suites are found by entry-point strings, as Gymnasium's environments are: ``"pkg.module:name"``
names the module-level ``Suite`` object, and nothing is imported until that suite is asked for
(``get_suite(name)`` imports its module only; ``list_suites`` imports them all). The built-ins
are ``SUITE_ENTRY_POINTS``; ``register_suite_entry(name, "pkg.module:suite")`` adds one by its
string, ``register_suite(suite)`` one that is already built. A name given twice is a
``ConfigError``.
"""

from __future__ import annotations

import importlib
import threading
from pathlib import Path

from qvl_agent.envs.errors import ConfigError
from qvl_agent.tasks.suite import Suite

__all__ = ["Suite", "register_suite", "register_suite_entry", "get_suite", "list_suites",
           "SUITE_ENTRY_POINTS"]

# The built-in suites: name -> "module:attribute" of its Suite.
SUITE_ENTRY_POINTS: dict[str, str] = {
    "miniwob": "qvl_agent.tasks.miniwob.suite:suite",
    "web": "qvl_agent.tasks.web.suite:suite",
    "android": "qvl_agent.tasks.android.suite:suite",
    "desktop": "qvl_agent.tasks.desktop.suite:suite",
}

_SUITES: dict[str, Suite] = {}
_entries: dict[str, str] = dict(SUITE_ENTRY_POINTS)  # named, not imported yet
_lock = threading.RLock()


def register_suite(suite: Suite) -> Suite:
    """Add ``suite`` under its name.

    Raises:
        ConfigError: the name is taken, or two of its tasks share an id.
    """
    with _lock:
        _check_free(suite.name)
        _add(suite)
    return suite


def register_suite_entry(name: str, entry_point: str) -> None:
    """Name the ``Suite`` object of suite ``name`` by its ``"pkg.module:attribute"``; the
    module is imported when the suite is first asked for.

    Raises:
        ConfigError: ``name`` is taken, or ``entry_point`` is not ``module:attribute``.
    """
    module, _, attribute = entry_point.partition(":")
    if not module or not attribute:
        raise ConfigError(f"suite {name!r}: the entry point {entry_point!r} is not "
                          "'package.module:attribute'")
    with _lock:
        _check_free(name)
        _entries[name] = entry_point


def list_suites() -> list[Suite]:
    """Every suite (modules imported on the way), sorted by name."""
    for name in sorted(_entries):
        _resolve(name)
    return sorted(_SUITES.values(), key=lambda s: s.name)


def get_suite(name: str) -> Suite:
    """A registered suite by name, or a folder (or one file) of declarative task files.

    Raises:
        ConfigError: no suite has that name and no such folder or task file exists.
    """
    _resolve(name)
    if name in _SUITES:
        return _SUITES[name]
    path = Path(name)
    if path.is_dir() or path.suffix == ".json":
        from qvl_agent.tasks.declarative import suite_from_path

        return suite_from_path(path)
    known = ", ".join(sorted({*_SUITES, *_entries})) or "none"
    raise ConfigError(f"unknown suite {name!r}; known suites: {known} (or a folder of task JSON files)")


def _check_free(name: str) -> None:
    if name in _SUITES or name in _entries:
        already = _entries.get(name) or _SUITES[name].description
        raise ConfigError(f"suite {name!r} is registered twice (first: {already}); "
                          "give one of them another name")


def _add(suite: Suite) -> None:
    ids = [t.id for t in suite.tasks]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ConfigError(f"suite {suite.name!r} has duplicate task ids: {', '.join(duplicates)}")
    _SUITES[suite.name] = suite


def _resolve(name: str) -> None:
    """Import the module of suite ``name`` if it is only named so far."""
    with _lock:
        entry_point = _entries.get(name)
        if entry_point is None:
            return
        module_name, _, attribute = entry_point.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not (module_name == exc.name
                                        or module_name.startswith(exc.name + ".")):
                raise  # the module exists; something it imports does not
            raise ConfigError(f"suite {name!r}: there is no module {exc.name!r} "
                              f"(entry point {entry_point!r})") from None
        suite = getattr(module, attribute, None)
        if not isinstance(suite, Suite):
            raise ConfigError(f"suite {name!r}: {entry_point!r} is not a Suite "
                              f"(it is {type(suite).__name__})")
        if suite.name != name:
            raise ConfigError(f"suite {name!r}: {entry_point!r} is the suite {suite.name!r}; "
                              "register it under its own name")
        _add(suite)
        del _entries[name]

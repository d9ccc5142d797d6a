"""User options validated into a pydantic model, with pydantic's first complaint as one line.

``validated(Model, values, names)`` is how options from the command line, a script or the
Python API become typed: a bad value is a ``ConfigError`` that names what the user wrote
(the flag, ``--viewport``, or the keyword), its value and what was wrong, never a pydantic
traceback.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from qvl_agent.envs.errors import ConfigError

__all__ = ["validated", "flag_name", "first_problem"]

M = TypeVar("M", bound=BaseModel)


def flag_name(field: str) -> str:
    """The command-line flag of an option field: ``max_pixels`` -> ``--max-pixels``."""
    return "--" + field.replace("_", "-")


def first_problem(exc: ValidationError, names: Callable[[tuple[Any, ...]], str]) -> str:
    """pydantic's first error as one line; ``names`` turns its location into the user's word."""
    problem = exc.errors()[0]
    where = names(tuple(problem["loc"]))
    if problem["type"] == "value_error":  # our own validators: the message says it all
        return str(problem["ctx"]["error"])
    if problem["type"] == "extra_forbidden":
        return f"unknown option {where}"
    value = problem.get("input")
    shown = "" if problem["type"] == "missing" or isinstance(value, dict) else f" {value!r}"
    bound = _BOUNDS.get(problem["type"])
    if bound is not None and where.startswith("--"):  # a flag: say it as the user typed it
        word, key = bound
        limit = problem["ctx"][key]
        number = (lambda v: f"{v:g}" if isinstance(v, float) else str(v))
        return f"{where} {number(value)}: must be {word} {number(limit)}"
    return f"invalid option {where}{shown}: {problem['msg']}"


# pydantic's number limits in plain words: "--seeds 0: must be at least 1".
_BOUNDS = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
           "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}


def validated(model_class: type[M], values: Mapping[str, Any],
              names: Mapping[str, str] | None = None) -> M:
    """``model_class`` built from the user's options; the first problem as a ConfigError.

    Args:
        names: what the user calls a field (``{"allowed_domains": "--allow-domain"}``); a
            field without an entry is shown as its flag (``max_pixels`` -> ``--max-pixels``),
            a nested one by its dotted path (``policy.kind``).
    """
    try:
        return model_class.model_validate(dict(values))
    except ValidationError as exc:
        raise ConfigError(first_problem(exc, lambda loc: _where(loc, names or {}))) from None


def _where(loc: tuple[Any, ...], names: Mapping[str, str]) -> str:
    if len(loc) == 1:
        return names.get(str(loc[0]), flag_name(str(loc[0])))
    return ".".join(str(part) for part in loc) or "options"

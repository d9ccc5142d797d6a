"""Setup steps, getters and metrics that need nothing from a kind of screen (OSWorld's names).

    getters   rule (the task's own expected value), answer (the agent's answer action)
    steps     sleep
    metrics   exact_match, contains, check_include_exclude, fuzzy_match, number_match,
              regex_match, is_in_list

A plugin of ``tasks.hooks``, imported by it on the first lookup.
"""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path
from typing import Any

from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.base import Env
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.hooks import register_getter, register_metric, register_setup_step

__all__ = ["exact_match", "contains", "check_include_exclude", "fuzzy_match", "number_match",
           "regex_match", "is_in_list", "rule", "answer", "sleep"]


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
    if result is None:
        return 0.0  # nothing to read (no focused terminal): OSWorld's 0, never an exclude-only pass
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
    """OSWorld's meaning: the expected value is one of the result's (a list the getter read);
    the other way round is ``match_in_list``."""
    if not isinstance(result, (list, tuple, set, str)):
        return 0.0
    return float(_unwrap(expected) in result)


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

"""OSWorld's metrics for its ``os`` domain (``metrics/basic_os.py``) and two general ones,
under its names and meanings: ``check_gnome_favorite_apps``, ``is_utc_0``,
``check_text_enlarged``, ``check_moved_jpgs``, ``match_in_list``, ``literal_match``.

A result of None (the getter found nothing: no such folder, no focused terminal) scores 0,
as in OSWorld. GSettings' printed values are read as data (``ast.literal_eval``), never
evaluated as OSWorld's ``eval`` does.
"""

from __future__ import annotations

import ast
from typing import Any

from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.hooks import register_metric

__all__ = ["check_gnome_favorite_apps", "is_utc_0", "check_text_enlarged", "check_moved_jpgs",
           "match_in_list", "literal_match", "gvariant_list"]


def _expected_list(rule: Any, metric: str) -> list[Any]:
    if not isinstance(rule, dict) or not isinstance(rule.get("expected"), list):
        raise TaskError(f"{metric} needs a rule {{\"expected\": [...]}}, got {rule!r}")
    return rule["expected"]


def gvariant_list(text: str) -> list[Any] | None:
    """A list GSettings printed (``['a.desktop', 'b.desktop']``, ``@as []``), or None."""
    text = text.strip()
    if text.startswith("@as "):
        text = text[4:]
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return list(value) if isinstance(value, (list, tuple)) else None


@register_metric("check_gnome_favorite_apps")
def check_gnome_favorite_apps(result: Any, expected: Any, **options: Any) -> float:
    """1 when the favourite apps are exactly the expected ones, in any order."""
    want = _expected_list(expected, "check_gnome_favorite_apps")
    apps = gvariant_list(result) if isinstance(result, str) else None
    if apps is None:
        return 0.0
    return float(len(apps) == len(want) and set(apps) == set(want))


@register_metric("is_utc_0", expected=False)
def is_utc_0(result: Any, expected: Any = None, **options: Any) -> float:
    """1 when ``timedatectl status``'s time zone line (its 4th) ends in ``+0000)``."""
    if not isinstance(result, str):
        return 0.0
    lines = result.split("\n")
    return float(len(lines) > 3 and lines[3].endswith("+0000)"))


@register_metric("check_text_enlarged", expected=False)
def check_text_enlarged(result: Any, expected: Any = None, **options: Any) -> float:
    """1 when the text scaling factor GSettings printed is above 1."""
    try:
        return float(float(str(result).strip()) > 1.0)
    except ValueError:
        return 0.0


@register_metric("check_moved_jpgs")
def check_moved_jpgs(result: Any, expected: Any, **options: Any) -> float:
    """1 when the folder (``list_directory``) holds exactly the expected names."""
    want = _expected_list(expected, "check_moved_jpgs")
    if not isinstance(result, dict):
        return 0.0
    names = [node.get("name") for node in result.get("children", [])]
    return float(len(names) == len(want) and set(names) == set(want))


@register_metric("match_in_list")
def match_in_list(result: Any, expected: Any, **options: Any) -> float:
    """1 when the result is one of the expected values."""
    return float(result in _expected_list(expected, "match_in_list"))


@register_metric("literal_match")
def literal_match(result: Any, expected: Any, **options: Any) -> float:
    """OSWorld's literal_match: as strings (``type`` "str") or as lists of strings."""
    kind, fold = options.get("type", "str"), options.get("ignore_case", False)

    def text(value: Any) -> str:
        return str(value).lower() if fold else str(value)

    if kind == "str":
        return float(text(result) == text(expected))
    if kind == "list":
        if not isinstance(result, (list, tuple)) or not isinstance(expected, (list, tuple)):
            return 0.0
        return float([text(v) for v in result] == [text(v) for v in expected])
    raise TaskError(f"literal_match: type {kind!r} is not one of str, list")

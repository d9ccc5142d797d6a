"""A script's YAML read as Midscene reads it, within bounds, with the line of every value.

Midscene parses scripts with js-yaml 4.1's JSON schema, so a plain ``yes``, ``on`` or
``2024-01-01`` is text, not a boolean or a date (PyYAML's YAML 1.1 would change them), and
numbers may hold ``_`` (``60_000``). Scalars here are typed by those rules.

A script is the user's file but may come from anywhere, so reading it is bounded:

- a file over ``MAX_BYTES`` is refused before it is read;
- aliases are expanded as they are walked, and a document whose values, aliases expanded,
  pass ``MAX_VALUES`` is refused (a 545-byte "billion laughs" stops at once), as is an alias
  used inside the value it names (which would never end);
- nesting deeper than ``MAX_DEPTH`` is refused.

Every refusal is one ``ConfigError`` line naming the file and line. ``shorten`` cuts a
value quoted in a message, so a 50 MB string never reaches a terminal or a log.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qvl_agent.envs.errors import ConfigError

__all__ = ["Document", "read_yaml", "parse_yaml", "shorten", "cut", "MAX_BYTES", "MAX_VALUES", "MAX_DEPTH"]

MAX_BYTES = 1_000_000  # the largest real Midscene script we know of is under 10 kB
MAX_VALUES = 100_000
MAX_DEPTH = 64

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PLAIN = "!qvl-plain"  # the tag a plain (unquoted, untagged) scalar gets: typed below


class _Composer(_Loader):  # type: ignore[misc, valid-type]
    """Builds the node graph only (no Python objects), marking plain scalars for typing."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


@dataclass
class Document:
    """Plain data (dicts, lists, str, int, float, bool, None) and each path's line."""

    data: Any
    lines: dict[tuple[Any, ...], int]

    def line(self, at: tuple[Any, ...]) -> int:
        """The line of ``at``, or of the nearest enclosing value that has one."""
        while at and at not in self.lines:
            at = at[:-1]
        return self.lines.get(at, 1)


def shorten(value: Any, limit: int = 60) -> str:
    """``repr(value)``, cut to about ``limit`` characters with the full length said."""
    text = value if isinstance(value, str) else str(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    cut = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    return f"{cut}... ({len(text):,} characters)"


def cut(text: Any, limit: int = 200) -> str:
    """``text`` as it is, or its first ``limit`` characters with the full length said."""
    text = str(text)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text):,} characters)"


# PyYAML's words for a line indented out of step with its neighbours.
_INDENTATION = ("expected <block end>", "mapping values are not allowed", "did not find expected",
                "expected <document start>")


def _yaml_problem(where: str, text: str, exc: yaml.YAMLError) -> str:
    """PyYAML's complaint as one line: where, what it means, and what to change."""
    mark = getattr(exc, "problem_mark", None)
    raw = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    problem = cut(raw, 120)
    if mark is None:
        return f"{where}: not valid YAML ({problem})"
    at = f"{where}:{mark.line + 1}"
    lines = text.splitlines()
    text_line = lines[mark.line] if mark.line < len(lines) else ""
    shown = f" {shorten(text_line.rstrip(), 80)}" if text_line else ""
    indent = text_line[:len(text_line) - len(text_line.lstrip())]
    if "\t" in indent or "'\\t'" in raw:
        return (f"{at}: a tab in the indentation{shown}; YAML indents with spaces only: "
                "replace the tab with spaces")
    if any(words in raw for words in _INDENTATION):
        return (f"{at}: the indentation does not line up{shown} (YAML: {problem}); indent "
                "each list item (- ...) and each key exactly as far as the ones beside it, and "
                "further than the key they belong to, with spaces")
    return f"{at}: not valid YAML ({problem}){shown}"


def read_yaml(path: Path) -> Document:
    """Read ``path`` within the bounds above. Raises ``ConfigError``."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ConfigError(f"script not found: {path}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the script {path}: {exc.strerror}") from None
    if not path.is_file():
        raise ConfigError(f"{path} is not a file")
    if size > MAX_BYTES:
        raise ConfigError(f"{path}: the script is {size / 1e6:.1f} MB; scripts may be at most "
                          f"{MAX_BYTES // 1_000_000} MB (is this the right file?)")
    try:
        text = path.read_bytes()[:MAX_BYTES + 1].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the script as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the script {path}: {exc.strerror}") from None
    return parse_yaml(text, str(path))


def parse_yaml(text: str, where: str) -> Document:
    """``text`` (one YAML document) as plain data. Raises ``ConfigError`` naming ``where``."""
    if len(text) > MAX_BYTES:
        raise ConfigError(f"{where}: the script is over {MAX_BYTES // 1_000_000} MB")
    try:
        root = yaml.compose(text, Loader=_Composer)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_problem(where, text, exc)) from None
    except RecursionError:
        raise ConfigError(f"{where}: the YAML is nested too deeply to read (at most "
                          f"{MAX_DEPTH} levels)") from None
    lines: dict[tuple[Any, ...], int] = {}
    if root is None:
        return Document(None, lines)
    walk = _Walk(where, lines)
    return Document(walk.value(root, ()), lines)


class _Walk:
    """Turns the node graph into plain data, counting values as aliases expand them."""

    def __init__(self, where: str, lines: dict[tuple[Any, ...], int]) -> None:
        self.where, self.lines = where, lines
        self.count = 0
        self.open: set[int] = set()  # the collections being walked (an alias to one loops)

    def value(self, node: yaml.Node, at: tuple[Any, ...]) -> Any:
        line = node.start_mark.line + 1
        self.count += 1
        if self.count > MAX_VALUES:
            line = self.lines.get(at[:1], line)  # where the expansion is used, not defined
            raise ConfigError(f"{self.where}:{line}: the YAML's aliases expand to more than "
                              f"{MAX_VALUES:,} values (an alias bomb?); write the values out")
        if len(at) > MAX_DEPTH:
            raise ConfigError(f"{self.where}:{line}: the YAML is nested more than {MAX_DEPTH} "
                              "levels deep")
        self.lines.setdefault(at, line)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.open:
            raise ConfigError(f"{self.where}:{line}: a YAML alias is used inside the value it "
                              "names, which would never end")
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, (*at, i)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ConfigError(f"{self.where}:{key_line}: a key must be a plain word, "
                                      "not a list or a mapping")
                key = self.scalar(key_node)
                key = "null" if key is None else str(key).lower() if isinstance(key, bool) else str(key)
                if key in out:
                    raise ConfigError(f"{self.where}:{key_line}: {shorten(key)} appears twice")
                self.lines[(*at, key)] = key_line
                out[key] = self.value(value_node, (*at, key))
            return out
        finally:
            self.open.discard(id(node))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, text = node.tag, node.value
        if tag == _PLAIN:
            return json_schema_scalar(text)
        if tag == "tag:yaml.org,2002:str":
            return text
        typed = json_schema_scalar(text)
        kind = {"tag:yaml.org,2002:int": int, "tag:yaml.org,2002:float": float,
                "tag:yaml.org,2002:bool": bool, "tag:yaml.org,2002:null": type(None)}.get(tag)
        if kind is float and type(typed) is int:
            return float(typed)
        if kind is not None and type(typed) is kind:
            return typed
        line = node.start_mark.line + 1
        shown = tag.replace("tag:yaml.org,2002:", "!!")
        if kind is None:
            raise ConfigError(f"{self.where}:{line}: the YAML tag {shorten(shown, 40)} is not "
                              "supported in scripts; remove it")
        raise ConfigError(f"{self.where}:{line}: {shorten(text)} is not a valid {shown}")


# js-yaml 4.1.0's JSON schema (lib/type/{null,bool,int,float}.js), which Midscene uses.
_NULL = {"~", "null", "Null", "NULL", ""}
_TRUE, _FALSE = {"true", "True", "TRUE"}, {"false", "False", "FALSE"}
_INT = re.compile(r"[-+]?(?:0b[01_]+|0x[0-9a-fA-F_]+|0o[0-7_]+|0|[0-9][0-9_]*)")
_FLOAT = re.compile(r"(?:[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"
                    r"|\.[0-9_]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))")


def json_schema_scalar(text: str) -> Any:
    """A plain scalar typed as js-yaml 4.1's JSON schema types it."""
    if text in _NULL:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    if _INT.fullmatch(text) and not text.endswith("_") and _digits_after_prefix(text):
        body = text.replace("_", "")
        sign = -1 if body.startswith("-") else 1
        body = body.lstrip("+-")
        base = {"0b": 2, "0x": 16, "0o": 8}.get(body[:2], 10)
        return sign * int(body[2:] if base != 10 else body, base)
    if _FLOAT.fullmatch(text) and not text.endswith("_"):
        value = text.replace("_", "").lower()
        if value.lstrip("+-") == ".inf":
            return -math.inf if value.startswith("-") else math.inf
        if value == ".nan":
            return math.nan
        return float(value)
    return text


def _digits_after_prefix(text: str) -> bool:
    body = text.lstrip("+-")
    if body[:2] in ("0b", "0x", "0o"):
        return any(c != "_" for c in body[2:])
    return True

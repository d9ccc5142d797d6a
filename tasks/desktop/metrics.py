"""OSWorld's file metrics, under its names and meanings: ``compare_text_file``,
``compare_csv`` and ``compare_table`` (its ``sheet_data`` and ``check_cell`` rules).

A result of None (the file the agent should have saved does not exist) scores 0, as in
OSWorld. A rule this implementation does not know is a TaskError naming it, never a 0.
Spreadsheets are read with openpyxl (.xlsx) and odfpy (.ods); cell values are the saved
(computed) values, as a person opening the file sees them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.hooks import register_metric

__all__ = ["compare_text_file", "compare_csv", "compare_table", "read_sheets"]


def _lines(path: str, options: dict[str, Any]) -> list[str]:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if options.get("ignore_case"):
        text = text.lower()
    lines = text.splitlines()
    if options.get("ignore_blanks"):
        lines = [re.sub(r"\s+", " ", line).strip() for line in lines if line.strip()]
    return lines


@register_metric("compare_text_file")
def compare_text_file(result: Any, expected: Any, **options: Any) -> float:
    """1 when both files hold the same text (``ignore_blanks``, ``ignore_case`` as OSWorld)."""
    if not result or not expected:
        return 0.0
    return float(_lines(result, options) == _lines(expected, options))


@register_metric("compare_csv")
def compare_csv(result: Any, expected: Any, **options: Any) -> float:
    """1 when the CSV files have the same lines (``strict`` False strips each, ``ignore_case``)."""
    if not result or not expected:
        return 0.0
    mine, theirs = _lines(result, options), _lines(expected, options)
    if not options.get("strict", True):
        mine, theirs = [line.strip() for line in mine], [line.strip() for line in theirs]
    return float(mine == theirs)


# -- spreadsheets ---------------------------------------------------------------------------------

def read_sheets(path: str) -> dict[str, list[list[Any]]]:
    """Every sheet of a .xlsx or .ods file as rows of values (computed values, not formulas)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".ods":
        return _read_ods(path)
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        book = openpyxl.load_workbook(path, data_only=True, read_only=True)
        try:
            return {sheet.title: [list(row) for row in sheet.iter_rows(values_only=True)]
                    for sheet in book.worksheets}
        finally:
            book.close()
    raise TaskError(f"compare_table reads .xlsx and .ods files, not {Path(path).name}")


def _read_ods(path: str) -> dict[str, list[list[Any]]]:
    from odf import opendocument, table, text

    document = opendocument.load(path)
    sheets: dict[str, list[list[Any]]] = {}
    for sheet in document.spreadsheet.getElementsByType(table.Table):
        rows: list[list[Any]] = []
        for row in sheet.getElementsByType(table.TableRow):
            values: list[Any] = []
            for cell in row.getElementsByType(table.TableCell):
                repeat = int(cell.getAttribute("numbercolumnsrepeated") or 1)
                kind = cell.getAttribute("valuetype")
                if kind in ("float", "percentage", "currency"):
                    value: Any = float(cell.getAttribute("value"))
                    value = int(value) if value.is_integer() else value
                elif kind == "string" or kind is None:
                    value = "\n".join(str(p) for p in cell.getElementsByType(text.P)) or None
                else:
                    value = cell.getAttribute("value") or str(cell)
                values.extend([value] * min(repeat, 1024))
            repeat_rows = int(row.getAttribute("numberrowsrepeated") or 1)
            rows.extend([values] * min(repeat_rows, 1024))
        sheets[sheet.getAttribute("name")] = _trim(rows)
    return sheets


def _trim(rows: list[list[Any]]) -> list[list[Any]]:
    """Drop trailing empty cells and rows (a saved sheet pads them; values are what matter)."""
    rows = [list(r) for r in rows]
    for row in rows:
        while row and row[-1] in (None, ""):
            row.pop()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _sheet(index: Any, result: dict, expected: dict | None) -> list[list[Any]]:
    """OSWorld's sheet index: 0 / "RI0" (result, by position), "RNName", "EI0", "ENName"."""
    if isinstance(index, int):
        source, how, key = result, "I", str(index)
    else:
        match = re.fullmatch(r"([RE])([IN])(.+)", str(index))
        if not match:
            raise TaskError(f"compare_table: bad sheet index {index!r} (use RI0, RNSheet1, EI0, ENSheet1)")
        origin, how, key = match.groups()
        source = result if origin == "R" else expected
        if source is None:
            raise TaskError(f"compare_table: sheet {index!r} needs an expected file")
    names = list(source)
    if how == "I":
        position = int(key)
        if position >= len(names):
            raise _Missing(index)
        return source[names[position]]
    if key not in source:
        raise _Missing(index)
    return source[key]


class _Missing(Exception):
    pass


def _cell(rows: list[list[Any]], coordinate: str) -> Any:
    match = re.fullmatch(r"([A-Za-z]+)(\d+)", coordinate)
    if not match:
        raise TaskError(f"compare_table: bad cell coordinate {coordinate!r}")
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - ord("A") + 1
    row = int(match.group(2)) - 1
    if row >= len(rows) or column - 1 >= len(rows[row]):
        return None
    return rows[row][column - 1]


def _matches(value: Any, rule: dict[str, Any]) -> bool:
    """OSWorld's ``_match_value_to_rule`` for the methods implemented here."""
    method, ref = rule.get("method"), rule.get("ref")
    if method == "eq":
        return _same(value, ref)
    if method == "ne":
        return not _same(value, ref)
    if method in ("lt", "le", "gt", "ge"):
        try:
            a, b = float(value), float(ref)
        except (TypeError, ValueError):
            return False
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[method]
    if method in ("re", "regex"):
        return re.search(str(ref), "" if value is None else str(value)) is not None
    if method and method.startswith("approx:"):
        try:
            return abs(float(value) - float(ref)) <= float(method.split(":", 1)[1])
        except (TypeError, ValueError):
            return False
    raise TaskError(f"compare_table: check_cell method {method!r} is not implemented "
                    "(eq, ne, lt, le, gt, ge, re, approx:TOL)")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(a - b) < 1e-9
    return a == b


@register_metric("compare_table", expected=False)  # check_cell rules need no expected file
def compare_table(result: Any, expected: Any = None, **options: Any) -> float:
    """OSWorld's compare_table: every rule in ``options["rules"]`` must hold."""
    if not result:
        return 0.0
    try:
        mine = read_sheets(result)
    except TaskError:
        raise  # not a spreadsheet format we read: the task file's mistake
    except Exception:  # noqa: BLE001 - whatever the agent saved cannot be read: OSWorld scores 0
        return 0.0
    theirs = read_sheets(expected) if isinstance(expected, str) and expected else None
    rules = options.get("rules") or [{"type": "sheet_data", "sheet_idx0": 0, "sheet_idx1": "EI0"}]
    try:
        for rule in rules:
            kind = rule.get("type")
            if kind == "sheet_data":
                if _sheet(rule["sheet_idx0"], mine, theirs) != _sheet(rule["sheet_idx1"], mine, theirs):
                    return 0.0
            elif kind == "check_cell":
                rows = _sheet(rule["sheet_idx"], mine, theirs)
                value = _cell(rows, rule["coordinate"])
                if not all(_matches(value, r) if prop == "value" else _unsupported(prop)
                           for prop, r in rule["props"].items()):
                    return 0.0
            else:
                raise TaskError(f"compare_table: rule type {kind!r} is not implemented "
                                "(sheet_data, check_cell)")
    except _Missing:
        return 0.0
    return 1.0


def _unsupported(prop: str) -> bool:
    raise TaskError(f"compare_table: check_cell property {prop!r} is not implemented (value)")

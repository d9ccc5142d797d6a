"""Where a suite's task files are: a folder of task files, one file, or OSWorld's layout.

OSWorld keeps ``evaluation_examples/examples/<domain>/<id>.json`` and, beside ``examples/``,
meta files (``test_all.json``, ``test_small.json``, ...) that name the tasks to run:
``{"os": ["94d95f96-...", ...], "libreoffice_calc": [...]}``. ``--suite`` takes:

- a meta file: the tasks it names, read from ``examples/<domain>/<id>.json`` beside it;
- the folder that holds ``examples/`` (OSWorld's ``evaluation_examples``): the tasks its
  ``test_all.json`` names, or every task under ``examples/`` when it has none;
- ``examples/`` itself (every domain's files) or ``examples/<domain>`` (one domain's);
- any folder of task files (``*.json``), or one task file.

A file under ``examples/<domain>/`` belongs to the family ``<domain>``.
"""

from __future__ import annotations

import json
from pathlib import Path

from qvl_agent.envs.errors import ConfigError

__all__ = ["task_files", "is_meta_file", "DEFAULT_META"]

DEFAULT_META = "test_all.json"


def task_files(path: Path) -> list[tuple[Path, str | None]]:
    """The task files ``path`` names, each with its OSWorld domain (None outside that layout)."""
    path = Path(path)
    if path.is_file():
        meta = _meta(path)
        return _from_meta(path, meta) if meta is not None else [(path, _domain(path))]
    if (path / "examples").is_dir():
        default = path / DEFAULT_META
        return _from_meta(default, _meta(default) or {}) if default.is_file() else \
            _folder(path / "examples")
    return _folder(path)


def is_meta_file(path: Path) -> bool:
    """True for an OSWorld meta file (domains mapped to lists of task ids)."""
    return path.is_file() and _meta(path) is not None


def _folder(folder: Path) -> list[tuple[Path, str | None]]:
    files = sorted(folder.glob("*.json"))
    if files:
        return [(f, _domain(f)) for f in files if _meta(f) is None]
    domains = sorted(d for d in folder.iterdir() if d.is_dir() and any(d.glob("*.json")))
    if not domains:
        raise ConfigError(f"{folder}: no task files (*.json) in this folder, nor in "
                          "domain folders under it (OSWorld's examples/<domain>/<id>.json)")
    return [(f, d.name) for d in domains for f in sorted(d.glob("*.json"))]


def _domain(file: Path) -> str | None:
    return file.parent.name if file.parent.parent.name == "examples" else None


def _meta(path: Path) -> dict[str, list[str]] | None:
    """The meta file's content, or None when ``path`` is not one (a task file)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        return None  # the task loader names the file and what is wrong with it
    if not isinstance(data, dict) or not data or "instruction" in data:
        return None
    if all(isinstance(v, list) and all(isinstance(i, str) for i in v) for v in data.values()):
        return data
    return None


def _from_meta(meta_path: Path, meta: dict[str, list[str]]) -> list[tuple[Path, str | None]]:
    examples = meta_path.parent / "examples"
    if not examples.is_dir():
        raise ConfigError(f"{meta_path}: an OSWorld meta file, but there is no examples/ folder "
                          f"beside it ({examples})")
    found, missing = [], []
    for domain, ids in meta.items():
        for task_id in ids:
            file = examples / domain / f"{task_id}.json"
            (found if file.is_file() else missing).append((file, domain))
    if missing:
        names = ", ".join(f"{d}/{f.stem}" for f, d in missing[:3])
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise ConfigError(f"{meta_path}: names {len(missing)} task(s) with no file under "
                          f"{examples}: {names}{more}")
    if not found:
        raise ConfigError(f"{meta_path}: names no tasks")
    return found

"""Midscene's batch index files: ``files:`` (globs, from the index's folder) run in turn.

An index (``index.yaml``, ``config.yml``) names scripts and may give screen settings that
apply to every script of that screen (``web: {viewportWidth: 1280}``; the index's values
win, as in Midscene), ``continueOnError`` (go on after a failed file), ``retry`` (run a
failed file again), ``setup`` (a file run first; if it fails nothing else runs) and
``summary`` (a JSON file of the results). Files run one after another here: ``concurrent``
is noted as ignored, as are the browser-sharing options.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.agent.rpa.findings import Findings
from qvl_agent.agent.rpa.script import ScriptProblems
from qvl_agent.agent.rpa.sections import read_section
from qvl_agent.agent.rpa.yamldoc import Document, read_yaml, shorten
from qvl_agent.agent.secrets import Secrets

__all__ = ["Batch", "FileResult", "load_batch", "is_batch", "run_batch"]

_SCREENS = ("web", "page", "browser", "target", "android", "ios", "computer")
_IGNORED = {
    "concurrent": "files run one after another",
    "shareBrowserContext": "each file opens its own browser",
    "keepWindow": "the browser closes when its file ends",
    "dotenvOverride": "qvl-agent reads no .env file; set variables or use --var",
    "dotenvDebug": "qvl-agent reads no .env file",
}


class _Index(BaseModel):
    model_config = ConfigDict(extra="forbid")
    files: list[str] = Field(min_length=1)
    continueOnError: bool = False  # noqa: N815
    retry: int = Field(0, ge=0, le=10)
    summary: str | None = None
    setup: str | None = None
    headed: bool = False


@dataclass
class Batch:
    path: Path
    files: list[Path]
    setup: Path | None
    continue_on_error: bool
    retry: int
    summary: str | None
    headed: bool
    defaults: dict[str, Any] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def is_batch(doc: Document) -> bool:
    return isinstance(doc.data, dict) and "files" in doc.data and "tasks" not in doc.data


def load_batch(path: Path) -> Batch:
    """Read an index file. Raises ``ScriptProblems`` listing every problem."""
    doc = read_yaml(path)
    found = Findings(str(path), doc)
    data = dict(doc.data)
    defaults = {key: data.pop(key) for key in _SCREENS if key in data}
    defaults = {k: v for k, v in defaults.items() if isinstance(v, dict)}  # `ios:` left empty
    if data.get("concurrent") in (1, None):
        data.pop("concurrent", None)  # one at a time is what happens here anyway
    index = read_section(_Index, data, (), found, _IGNORED)
    files: list[Path] = []
    setup = None
    if index is not None:
        for i, pattern in enumerate(index.files):
            matched = _expand(path.parent, pattern)
            if not matched:
                found.problem(("files", i), f"no script matches {shorten(pattern)} (from {path.parent})")
            files += matched
        if index.setup is not None:
            matched = _expand(path.parent, index.setup)
            if len(matched) != 1:
                found.problem(("setup",), f"setup: names one script; {shorten(index.setup)} "
                              f"matches {len(matched)}")
            else:
                setup = matched[0]
    if found.problems:
        raise ScriptProblems(found.problems)
    assert index is not None
    return Batch(path=path, files=files, setup=setup, continue_on_error=index.continueOnError,
                 retry=index.retry, summary=index.summary, headed=index.headed,
                 defaults=defaults, ignored=found.notes())


def _expand(folder: Path, pattern: str) -> list[Path]:
    """A ``files:`` entry: a path or a glob, from the index's folder, sorted."""
    full = pattern if Path(pattern).is_absolute() else str(folder / pattern)
    if glob.has_magic(pattern):
        return [Path(p) for p in sorted(glob.glob(full, recursive=True))
                if p.endswith((".yaml", ".yml")) and Path(p).is_file()]
    return [Path(full)] if Path(full).is_file() else []


@dataclass
class FileResult:
    file: Path
    executed: bool
    passed: bool
    attempts: int = 0
    run_dir: Path | None = None
    error: str | None = None


def run_batch(options: Any, batch: Batch, on_result: Any = None, *,
              secrets: Secrets | None = None) -> list[FileResult]:
    """Run ``batch``'s scripts in turn (``options`` and ``secrets`` as for one script; ``out``
    is the folder holding one run directory per script); writes ``summary.json`` there and at
    ``summary:``."""
    from qvl_agent.agent.rpa.runner import run_script
    from qvl_agent.agent.runner import default_run_dir
    from qvl_agent.envs.errors import QvlError

    out = options.out or default_run_dir(f"rpa {batch.path.stem}")
    results: list[FileResult] = []
    queue = ([batch.setup] if batch.setup else []) + batch.files
    stop = False
    for number, file in enumerate(queue, start=1):
        if stop:
            results.append(FileResult(file=file, executed=False, passed=False))
            continue
        result = FileResult(file=file, executed=True, passed=False)
        while result.attempts <= batch.retry and not result.passed:
            result.attempts += 1
            run_dir = out / f"{number:02d}-{file.stem}" / (f"attempt-{result.attempts}" if result.attempts > 1 else "")
            one = options.model_copy(update={"script": file, "out": run_dir,
                                             "headed": options.headed or batch.headed,
                                             "defaults": batch.defaults})
            try:
                ran = run_script(one, secrets=secrets)
                result.passed, result.run_dir, result.error = ran.passed, ran.run_dir, \
                    (ran.failures[0] if ran.failures else None)
                if on_result:
                    on_result(file, ran)
            except QvlError as exc:
                result.error, result.run_dir = str(exc), run_dir
                if on_result:
                    on_result(file, exc)
        results.append(result)
        is_setup = batch.setup is not None and number == 1
        if not result.passed and (is_setup or not batch.continue_on_error):
            stop = True
    _summary(out / "summary.json", results)
    if batch.summary:
        target = Path(batch.summary)
        _summary(target if target.is_absolute() else (options.base or Path.cwd()) / target, results)
    return results


def _summary(path: Path, results: list[FileResult]) -> None:
    import json
    import os

    rows = [{"file": str(r.file), "executed": r.executed, "success": r.passed,
             "attempts": r.attempts, "runDir": str(r.run_dir) if r.run_dir else None,
             "error": r.error,
             "resultType": "success" if r.passed else "failed" if r.executed else "notExecuted"}
            for r in results]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)

"""Small declarative suites and readers shared by the harness tests (local pool and Ray)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

WEB_PAGES = Path(__file__).parents[2] / "tasks" / "web" / "tasks" / "pages"


def sleepy_suite(folder: Path, sleeps: list[float]) -> Path:
    """A declarative suite of len(sleeps) tasks; task i sleeps ``sleeps[i]`` s in its setup
    (to kill an instance mid-run, or to have one outlive a time limit)."""
    folder.mkdir(parents=True)
    shutil.copytree(WEB_PAGES, folder / "pages")
    for i, sleep in enumerate(sleeps):
        (folder / f"t{i}.json").write_text(json.dumps({
            "id": f"slow/t{i}", "instruction": "Turn on dark mode and save.",
            "config": [{"type": "open_page", "parameters": {"page": "settings.html"}},
                       {"type": "sleep", "parameters": {"seconds": sleep}}],
            "evaluator": {"func": "contains", "result": {"type": "element_text", "selector": "#status"},
                          "expected": {"type": "rule", "rules": {"expected": "dark=on"}}},
            "oracle": [{"action": "click", "selector": "#dark"}, {"action": "click", "selector": "#save"},
                       {"action": "terminate", "status": "success"}]}))
    return folder


def lines(out: Path) -> list[dict]:
    """The rows of a run's results.jsonl, read from the file itself."""
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]

"""Midscene's batch index files: which scripts, in what order, and what a failure stops."""

from __future__ import annotations

from pathlib import Path

import pytest

from qvl_agent.agent.rpa import batch as batch_module
from qvl_agent.agent.rpa.batch import load_batch, run_batch
from qvl_agent.agent.rpa.locator import Stats
from qvl_agent.agent.rpa.runner import RpaOptions, RpaResult
from qvl_agent.agent.rpa.script import ScriptProblems

SCRIPT = "web: {url: http://x}\ntasks:\n  - name: t\n    flow:\n      - sleep: 1\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for name in ("a.yaml", "b.yaml", "c.yml", "setup.yaml"):
        (tmp_path / "scripts").mkdir(exist_ok=True)
        (tmp_path / "scripts" / name).write_text(SCRIPT)
    return tmp_path


def index(folder: Path, text: str) -> Path:
    path = folder / "index.yaml"
    path.write_text(text)
    return path


def test_globs_from_the_index_folder_and_its_screen_settings(folder):
    batch = load_batch(index(folder, "concurrent: 4\nweb: {viewportWidth: 1280}\nios:\n"
                                     "files:\n  - scripts/[abc].y*ml\n  - scripts/a.yaml\n"))
    assert [p.name for p in batch.files] == ["a.yaml", "b.yaml", "c.yml", "a.yaml"]
    assert batch.defaults == {"web": {"viewportWidth": 1280}}
    assert batch.ignored == [f"ignored: concurrent (files run one after another); {folder / 'index.yaml'} line 1"]


def test_index_mistakes_are_listed(folder):
    with pytest.raises(ScriptProblems) as caught:
        load_batch(index(folder, "files:\n  - nothing*.yaml\n  - scripts/a.yaml\nsetup: scripts/*.yaml\n"))
    assert [p.split(": ", 2)[1:] for p in caught.value.problems] == [
        ["files[0]", f"no script matches 'nothing*.yaml' (from {folder})"],
        ["setup", "setup: names one script; 'scripts/*.yaml' matches 3"]]  # c.yml is .yml
    with pytest.raises(ScriptProblems, match=r"index.yaml:2: retyr: unknown key; did you mean retry\?"):
        load_batch(index(folder, "files: [scripts/a.yaml]\nretyr: 2\n"))


def test_retry_setup_and_continue_on_error(folder, monkeypatch, tmp_path):
    attempts: dict[str, int] = {}
    fails = {"setup.yaml": 0, "a.yaml": 1, "b.yaml": 9}  # attempts that fail, per script

    given = []

    def fake_run(options: RpaOptions, *, secrets=None) -> RpaResult:
        given.append(secrets)
        name = options.script.name
        attempts[name] = attempts.get(name, 0) + 1
        passed = attempts[name] > fails[name]
        return RpaResult(passed=passed, run_dir=options.out, stats=Stats(), outputs={},
                         failures=[] if passed else [f"{name} failed"])

    monkeypatch.setattr("qvl_agent.agent.rpa.runner.run_script", fake_run)
    options = RpaOptions(script=folder / "index.yaml", out=tmp_path / "out")
    batch = load_batch(index(folder, "setup: scripts/setup.yaml\nretry: 1\nfiles:\n"
                                     "  - scripts/a.yaml\n  - scripts/b.yaml\n  - scripts/c.yml\n"))
    secrets = object()  # the batch hands every script the run's secrets
    results = run_batch(options, batch, secrets=secrets)
    assert given and all(s is secrets for s in given)
    assert [(r.file.name, r.executed, r.passed, r.attempts) for r in results] == [
        ("setup.yaml", True, True, 1), ("a.yaml", True, True, 2), ("b.yaml", True, False, 2),
        ("c.yml", False, False, 0)]  # b failed and continueOnError is false: c never ran
    assert (tmp_path / "out" / "summary.json").is_file()
    fails["setup.yaml"] = 9
    attempts.clear()
    results = run_batch(options.model_copy(update={"out": tmp_path / "out2"}), batch)
    assert [r.executed for r in results] == [True, False, False, False]  # a failed setup stops all
    assert batch_module.run_batch is run_batch

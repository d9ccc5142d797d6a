"""Desktop tasks in OSWorld's format: its metrics on real files, clear errors for what is not
implemented, a real OSWorld task file run unchanged, and the oracle suite end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.actions import MoveTo, Point, Terminate
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError, TaskError
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.tasks.declarative import load_task_file, task_class
from qvl_agent.tasks.desktop.steps import home_of
from qvl_agent.tasks.hooks import METRICS
from qvl_agent.tasks.registry import get_suite
from tests.conftest import DATA, run_cli

SPOTIFY = DATA / "osworld" / "examples" / "os" / "94d95f96-9699-4208-98ba-3c3119edf9c2.json"


def _xlsx(path: Path, rows: list[list]) -> str:
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    for row in rows:
        book.active.append(row)
    book.save(path)
    return str(path)


def _ods(path: Path, rows: list[list]) -> str:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    sheet = Table(name="Sheet1")
    for values in rows:
        row = TableRow()
        for value in values:
            if isinstance(value, (int, float)):
                cell = TableCell(valuetype="float", value=value)
                cell.addElement(P(text=str(value)))
            else:
                cell = TableCell(valuetype="string")
                cell.addElement(P(text=value))
            row.addElement(cell)
        sheet.addElement(row)
    document.spreadsheet.addElement(sheet)
    document.save(str(path))
    return str(path)


def test_compare_text_file_as_osworld(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("Hello  world\n\nbye\n")
    b.write_text("hello world\nbye\n")
    compare = METRICS["compare_text_file"]
    assert compare(str(a), str(b)) == 0.0
    assert compare(str(a), str(b), ignore_blanks=True, ignore_case=True) == 1.0
    assert compare(None, str(b)) == 0.0  # the file the agent should have saved is missing


def test_compare_csv(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("name,qty\npears,99\n")
    b.write_text("name,qty\npears,99")
    assert METRICS["compare_csv"](str(a), str(b)) == 1.0
    b.write_text("name,qty\npears,9\n")
    assert METRICS["compare_csv"](str(a), str(b)) == 0.0


@pytest.mark.parametrize("writer", [_xlsx, _ods], ids=["xlsx", "ods"])
def test_compare_table_check_cell_and_sheet_data(tmp_path, writer):
    suffix = ".xlsx" if writer is _xlsx else ".ods"
    mine = writer(tmp_path / f"mine{suffix}", [[12, 100], [7], ["Total", 42.5]])
    same = writer(tmp_path / f"same{suffix}", [[12, 100], [7], ["Total", 42.5]])
    other = writer(tmp_path / f"other{suffix}", [[12, 101], [7], ["Total", 42.5]])
    table = METRICS["compare_table"]

    def cell(coordinate, method, ref, sheet=0):
        return {"type": "check_cell", "sheet_idx": sheet, "coordinate": coordinate,
                "props": {"value": {"method": method, "ref": ref}}}

    assert table(mine, None, rules=[cell("B1", "eq", 100), cell("A3", "eq", "Total", "RNSheet1"),
                                    cell("B3", "approx:0.1", 42.45), cell("A2", "lt", 8)]) == 1.0
    assert table(mine, None, rules=[cell("B1", "eq", 99)]) == 0.0
    assert table(mine, None, rules=[cell("C9", "eq", 1)]) == 0.0  # an empty cell
    sheets = [{"type": "sheet_data", "sheet_idx0": "RI0", "sheet_idx1": "EI0"}]
    assert table(mine, same, rules=sheets) == 1.0
    assert table(mine, other, rules=sheets) == 0.0
    assert table(None, same, rules=sheets) == 0.0
    assert table(mine, same, rules=[{"type": "sheet_data", "sheet_idx0": "RNNope",
                                     "sheet_idx1": "EI0"}]) == 0.0


@pytest.mark.parametrize("rule, message", [
    ({"type": "pivot_table", "sheet_idx0": 0, "sheet_idx1": "EI0"}, "rule type 'pivot_table' is not implemented"),
    ({"type": "check_cell", "sheet_idx": 0, "coordinate": "A1",
      "props": {"font_bold": {"method": "eq", "ref": True}}}, "property 'font_bold' is not implemented"),
    ({"type": "check_cell", "sheet_idx": 0, "coordinate": "A1",
      "props": {"value": {"method": "str_list_eq", "ref": []}}}, "method 'str_list_eq' is not implemented"),
])
def test_what_compare_table_does_not_know_is_an_error_not_a_zero(tmp_path, rule, message):
    book = _xlsx(tmp_path / "a.xlsx", [[1]])
    with pytest.raises(TaskError, match=message):
        METRICS["compare_table"](book, None, rules=[rule])


@pytest.mark.parametrize("change, where", [
    ({"config": [{"type": "dowload", "parameters": {"files": []}}]}, "config.0.type: unknown setup step 'dowload'"),
    ({"evaluator": {"func": "compare_pptx_file", "result": {"type": "vm_file", "path": "a"},
                    "expected": {"type": "vm_file", "path": "b"}}}, "evaluator.func: unknown metric 'compare_pptx_file'"),
    ({"evaluator": {"func": "exact_match", "result": {"type": "cloudfile", "path": "http://x"},
                    "expected": {"type": "rule", "rules": {"expected": "x"}}}}, "evaluator.result.type: unknown getter 'cloudfile'"),
])
def test_a_name_osworld_does_not_have_is_a_typo_naming_the_file_and_field(tmp_path, change, where):
    data = {**json.loads(SPOTIFY.read_text()), **change}
    path = tmp_path / "task.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as info:
        load_task_file(path)
    assert str(info.value).startswith(f"{path}: {where}")


def test_osworld_pieces_not_implemented_here_load_and_say_so_when_run(tmp_path):
    data = {**json.loads(SPOTIFY.read_text()), "id": "uses-pptx", "evaluator": {
        "func": "compare_pptx_files", "result": {"type": "vm_file", "path": "a", "dest": "a"},
        "expected": {"type": "gimp_config_file", "dest": "b"}}}
    (tmp_path / "uses-pptx.json").write_text(json.dumps(data))
    (tmp_path / "plain.json").write_text(SPOTIFY.read_text())
    suite = get_suite(str(tmp_path))
    spec = suite.task("uses-pptx").spec
    assert spec.missing == ["metric compare_pptx_files", "getter gimp_config_file"]
    runnable, why = suite.runnable({})
    assert [t.id for t in runnable] == [json.loads(SPOTIFY.read_text())["id"]]
    assert why == ("1 of 2 tasks are left out: they use OSWorld pieces qvl-agent does not "
                   "implement: metric compare_pptx_files (1), getter gimp_config_file (1)")
    with pytest.raises(TaskError, match="uses OSWorld's metric compare_pptx_files, getter "
                                        "gimp_config_file, which qvl-agent does not implement"):
        suite.task("uses-pptx").from_seed(0).setup(FakeEnv(kind=EnvKind.desktop))


def test_the_suite_has_the_apps_and_every_task_an_oracle():
    suite = get_suite("desktop")
    assert len(suite.tasks) >= 12 and suite.env_kind is EnvKind.desktop
    assert all(t.has_oracle() for t in suite.tasks)
    apps = {app for t in suite.tasks for app in (t.spec.related_apps or [])}
    assert {"mousepad", "xterm", "libreoffice_calc", "pcmanfm"} <= apps
    assert any(t.infeasible for t in suite.tasks)


@pytest.mark.desktop
def test_a_real_osworld_task_file_runs_unchanged(virtual_desktop):
    """OSWorld's README example, byte for byte: it sets up with pyautogui through ``python``
    (clicking {SCREEN_WIDTH_HALF}, {SCREEN_HEIGHT_HALF}), and is checked with ``which
    spotify`` on this desktop."""
    spec = load_task_file(SPOTIFY)
    assert spec.env is EnvKind.desktop  # no "env" field: its steps and getters are desktop ones
    task_type = task_class(spec, SPOTIFY.parent)
    env = virtual_desktop  # 1280x720: the centre is (640, 360)
    env.execute(MoveTo(at=Point(x=10, y=10)))
    task = task_type.from_seed(0)
    task.setup(env)  # runs OSWorld's own config: python -c "import pyautogui; click(640, 360)"
    pointer = env.display.run(["xdotool", "getmouselocation", "--shell"]).stdout.split()
    assert pointer[:2] == ["X=640", "Y=360"]
    done = run_episode(env, ScriptedPolicy([Terminate(status="success")]), task.goal)
    assert task.evaluate(env, done) == 0.0  # no spotify here
    # "Install" it where `which` looks in the desktop's sandbox (~/.local/bin is on its PATH,
    # as Ubuntu's ~/.profile puts it): the getter really runs the command there. Each task
    # has a new home, so it goes in after the second task's setup.
    again = task_type.from_seed(0)
    again.setup(env)
    env.display.run("mkdir -p ~/.local/bin && printf '#!/bin/sh\\n' > ~/.local/bin/spotify && "
                    "chmod +x ~/.local/bin/spotify", shell=True)
    assert again.evaluate(env, done) == 1.0


@pytest.mark.desktop
@pytest.mark.slow
def test_the_oracle_solves_the_desktop_suite(tmp_path):
    out = tmp_path / "eval"
    result = run_cli("eval", "--suite", "desktop", "--display", "virtual", "--policy", "oracle",
                     "--seeds", "2", "--workers", "2", "--time-limit", "180", "--out", str(out),
                     timeout=900)
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    solved = sum(line["outcome"] == "success" for line in lines)
    assert len(lines) == 2 * len(get_suite("desktop").tasks), result.stderr[-2000:]
    assert solved / len(lines) >= 0.95, [(r["instance"], r["outcome"], r["message"]) for r in lines
                                         if r["outcome"] != "success"]
    # Every worker opened the suite's screen, sandboxed by the spec's one default.
    recorded = json.loads((out / "eval.json").read_text())["env"]
    assert recorded["display"] == "virtual" and recorded["sandbox"] is True
    steps = load_run((out / lines[0]["report"]).parent).steps
    assert steps and all(step.extras["sandboxed"] is True for step in steps)


@pytest.mark.desktop
def test_each_task_starts_from_a_clean_desktop(virtual_desktop):
    """What a task left behind (its apps, its files, a killed app's lock file, its /tmp) is
    gone before the next one: each task gets a new sandbox with a new home."""
    from qvl_agent.tasks.desktop.steps import home_of, launch, reset

    env = virtual_desktop
    home = home_of(env)
    (home / "notes.txt").write_text("left over")
    (home / "folder").mkdir()
    (home / ".~lock.numbers.xlsx#").write_text("lock")
    (home / "Desktop" / "todo.txt").write_text("left on the desktop")
    env.display.run("echo left > /tmp/left.txt", shell=True)
    launch(env, SPOTIFY.parent, ["xterm"])
    app = env.display._children[-1]
    reset(env)
    assert app.poll() is not None
    assert not home.exists()  # the old home went with its sandbox
    home = home_of(env)
    # What there is: the sandbox's empty ~/Desktop, ~/Documents, ..., LibreOffice's
    # first-start settings, and what the new sandbox's window manager writes (~/.cache).
    assert {p.name for p in home.iterdir()} - {".cache"} == set(env.display.folders) | {".config"}
    assert all(not any((home / name).iterdir()) for name in env.display.folders)
    assert (home / ".config" / "libreoffice" / "4" / "user" / "registrymodifications.xcu").is_file()
    assert env.display.run(["test", "-e", "/tmp/left.txt"]).returncode != 0

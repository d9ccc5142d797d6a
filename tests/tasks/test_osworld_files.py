"""OSWorld's own task files (tests/data/osworld, see SOURCES.md) as a user brings them: every
file loads, in OSWorld's folder layout and by its meta files, as a desktop task; what is not
implemented here is said, not taken for a typo; the README's table is the corpus's."""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import uuid
from pathlib import Path

import pytest

from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError, TaskError
from qvl_agent.eval.config import EvalConfig, PolicySpec
from qvl_agent.eval.runner import plan, plan_notes
from qvl_agent.tasks.declarative import load_task_file, suite_from_path
from qvl_agent.tasks.desktop.files import cached
from qvl_agent.tasks.desktop.steps import cannot_run
from qvl_agent.tasks.hooks import METRICS
from qvl_agent.tasks.registry import get_suite
from tests.tasks.osworld_corpus import CORPUS, META, OS_META, RETIRED, table

ROOT = Path(__file__).resolve().parents[2]
ALL_FILES = sorted([*(CORPUS / "examples").glob("*/*.json"), *RETIRED.glob("*.json")])


def test_the_corpus_is_the_os_domain_whole_and_a_sample_of_two_more():
    domains = {d.name: len(list(d.glob("*.json"))) for d in (CORPUS / "examples").iterdir()}
    assert domains["os"] == 24 and domains["libreoffice_calc"] >= 8 and domains["multi_apps"] >= 8
    assert len(json.loads(OS_META.read_text())["os"]) == 24
    sources = (CORPUS / "SOURCES.md").read_text()
    assert "Apache-2.0" in sources and "evaluation_examples/examples/os/" in sources


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: f"{p.parent.name}/{p.stem[:8]}")
def test_every_osworld_file_loads_as_a_desktop_task(path):
    spec = load_task_file(path)
    # OSWorld's files have no "env": config-less ones (infeasible tasks) are desktop tasks too.
    assert spec.env is EnvKind.desktop and "env" not in json.loads(path.read_text())
    assert spec.id == path.stem


def test_a_config_less_osworld_file_is_a_desktop_task_not_a_browser_one():
    spec = load_task_file(CORPUS / "examples" / "os" / "b3d4a89c-53f2-4d6b-8b6a-541fb5d205fa.json")
    assert spec.config == [] and spec.env is EnvKind.desktop and spec.infeasible


def test_postconfig_is_read_and_run_after_the_episode():
    spec = load_task_file(CORPUS / "examples" / "os" / "13584542-872b-42d8-b299-866967b5c3ef.json")
    assert [s.type for s in spec.evaluator.postconfig] == ["sleep", "execute"]


@pytest.mark.parametrize("where, count, families", [
    (META, 43, {"os", "libreoffice_calc", "multi_apps"}),           # a meta file
    (OS_META, 24, {"os"}),                                           # OSWorld's test_all.json's os entry
    (CORPUS, 43, {"os", "libreoffice_calc", "multi_apps"}),          # evaluation_examples, no test_all.json
    (CORPUS / "examples", 43, {"os", "libreoffice_calc", "multi_apps"}),
    (CORPUS / "examples" / "os", 24, {"os"}),
])
def test_osworld_layout_is_a_suite(where, count, families):
    suite = get_suite(str(where))
    assert len(suite.tasks) == count and suite.env_kind is EnvKind.desktop
    assert {t.family for t in suite.tasks} == families  # the domain is the family


def test_evaluation_examples_runs_what_its_test_all_names(tmp_path):
    root = tmp_path / "evaluation_examples"
    shutil.copytree(CORPUS / "examples", root / "examples")
    ids = json.loads(OS_META.read_text())["os"][:3]
    (root / "test_all.json").write_text(json.dumps({"os": ids}))
    assert [t.id for t in get_suite(str(root)).tasks] == ids
    (root / "test_small.json").write_text(json.dumps({"os": ids + ["no-such-task"]}))
    with pytest.raises(ConfigError) as info:
        get_suite(str(root / "test_small.json"))
    assert str(info.value) == (f"{root / 'test_small.json'}: names 1 task(s) with no file under "
                               f"{root / 'examples'}: os/no-such-task")


def test_oracle_runs_say_which_tasks_have_no_oracle(tmp_path):
    suite = get_suite(str(OS_META))
    config = EvalConfig(suite=str(OS_META), out=tmp_path, policy=PolicySpec(kind="oracle"))
    planned = [task for task, _ in plan(config, suite)]
    assert len(planned) == 15 and all(suite.task(t).has_oracle() for t in planned)
    [note] = plan_notes(config, suite)
    assert note.startswith("--policy oracle: 9 of 24 tasks have no oracle and are left out: ")
    calc = CORPUS / "examples" / "libreoffice_calc"
    with pytest.raises(ConfigError) as info:
        plan(EvalConfig(suite=str(calc), out=tmp_path, policy=PolicySpec(kind="oracle")),
             get_suite(str(calc)))
    assert "None" not in str(info.value)
    assert str(info.value).startswith("--policy oracle: none of the ")


def test_the_readme_table_is_the_corpus():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert table() in readme, "regenerate it: python -m tests.tasks.osworld_corpus"


@pytest.mark.parametrize("name, result, expected, score", [
    ("check_gnome_favorite_apps", "['thunderbird.desktop', 'google-chrome.desktop']\n",
     {"expected": ["google-chrome.desktop", "thunderbird.desktop"]}, 1.0),
    ("check_gnome_favorite_apps", "['thunderbird.desktop', 'vim.desktop', 'google-chrome.desktop']\n",
     {"expected": ["google-chrome.desktop", "thunderbird.desktop"]}, 0.0),
    ("check_gnome_favorite_apps", "@as []\n", {"expected": []}, 1.0),
    ("check_gnome_favorite_apps", "__import__('os').system('true')", {"expected": []}, 0.0),
    ("is_utc_0", "      Local time: x\n  Universal time: y\n        RTC time: z\n       Time zone: Etc/UTC (UTC, +0000)\n", None, 1.0),
    ("is_utc_0", "      Local time: x\n  Universal time: y\n        RTC time: z\n       Time zone: Asia/Hong_Kong (HKT, +0800)\n", None, 0.0),
    ("check_text_enlarged", "1.5\n", None, 1.0),
    ("check_text_enlarged", "1.0\n", None, 0.0),
    ("check_moved_jpgs", {"type": "directory", "name": "cpjpg", "children": [
        {"type": "file", "name": "a.jpg"}, {"type": "file", "name": "b.jpg"}]}, {"expected": ["b.jpg", "a.jpg"]}, 1.0),
    ("check_moved_jpgs", {"type": "directory", "name": "cpjpg", "children": [
        {"type": "file", "name": "a.jpg"}]}, {"expected": ["b.jpg", "a.jpg"]}, 0.0),
    ("check_moved_jpgs", None, {"expected": ["a.jpg"]}, 0.0),
    # No focused terminal: OSWorld's 0, even where the rules only exclude.
    ("check_include_exclude", None, {"include": [], "exclude": ["/bin/sh ./my_process.sh"]}, 0.0),
    ("match_in_list", "b", {"expected": ["a", "b"]}, 1.0),
])
def test_osworld_os_metrics(name, result, expected, score):
    assert METRICS[name](result, expected) == score


@pytest.mark.parametrize("code, stderr, said", [
    (0, "/bin/sh: 1: pactl: not found\n", "/bin/sh: 1: pactl: not found"),
    (127, "bash: line 1: foo: command not found\n", "bash: line 1: foo: command not found"),
    (1, "No such schema \u201corg.gnome.shell\u201d\n", "No such schema \u201corg.gnome.shell\u201d"),
    (1, "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
        "Failed to connect to bus: Host is down\n", "System has not been booted with systemd"),
    (1, "Connection failure: Connection refused\n", "Connection failure: Connection refused"),
    (127, "bash: eval.sh: No such file or directory\n", "exit code 127"),
    (1, "", None),                                      # grep found nothing: the task's answer
    (1, "su: user charles does not exist\n", None),     # what a task's setup expects to fail
])
def test_what_a_desktop_cannot_run_is_told_apart_from_an_exit_code(code, stderr, said):
    found = cannot_run(code, stderr)
    assert (found is None) if said is None else found.startswith(said)


def _serve(folder: Path):
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(folder))  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_downloads_use_osworlds_cache_and_fetch_what_is_missing(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("QVL_OSWORLD_CACHE", str(cache))
    monkeypatch.delenv("QVL_NO_DOWNLOAD", raising=False)
    served = tmp_path / "served"
    served.mkdir()
    (served / "setup.sh").write_text("echo from the server\n")
    server = _serve(served)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/setup.sh"
        name = f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_setup.sh"
        got = cached(url, name)  # not in the cache: fetched, and kept there
        assert got == cache / name and got.read_text() == "echo from the server\n"
        (served / "setup.sh").unlink()
        assert cached(url, name).read_text() == "echo from the server\n"  # no second fetch
        # OSWorld's own cache folder (cache/<task id>/<uuid>_<name>) works as it is.
        (cache / "4d117223").mkdir()
        (cache / "4d117223" / f"{uuid.uuid5(uuid.NAMESPACE_URL, url + '?x')}_eval.sh").write_text("ok")
        assert cached(url + "?x", f"{uuid.uuid5(uuid.NAMESPACE_URL, url + '?x')}_eval.sh").read_text() == "ok"
        with pytest.raises(TaskError, match=r"cannot fetch .*/gone.sh \(HTTP 404 File not found\)"):
            cached(url.replace("setup.sh", "gone.sh"), "x_gone.sh")
        monkeypatch.setenv("QVL_NO_DOWNLOAD", "1")
        with pytest.raises(TaskError) as info:
            cached(url.replace("setup.sh", "other.sh"), "y_other.sh")
        assert f"put the file at {cache / 'y_other.sh'}" in str(info.value)
    finally:
        server.shutdown()
    assert not list(cache.glob(".part-*"))  # no half-written file left behind


def test_a_suite_of_osworld_files_leaves_out_what_it_cannot_run_with_a_line():
    suite = suite_from_path(META)
    kept, why = suite.runnable({})
    assert len(kept) == 40 and why.startswith("3 of 43 tasks are left out: they use OSWorld pieces")

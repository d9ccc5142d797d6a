"""OSWorld's `os` domain, whole and unchanged, through `qvl-agent eval` in the sandbox: our
oracle solves every task this sandbox can run, a random policy solves none, each task that
cannot run here fails with the reason the README's table gives, and nothing outside the
sandbox (/home, /root, the run's $HOME) changes."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import run_cli
from tests.tasks.osworld_corpus import OS_META, STAND_INS, rows

pytestmark = [pytest.mark.desktop, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]

EXAMPLES = OS_META.parent / "examples" / "os"
# What a task leaves in a home if it is not the sandbox's: the files these tasks write.
TRACES = (".Xdefaults", ".config/dconf", ".config/pulse", ".local/share/Trash", "Desktop/cpjpg",
          "Desktop/todo_list_Jan_2")


def _stand_ins(cache: Path) -> None:
    """Small real images under the names the two tasks download (what they copy or restore
    by name; their pixels do not matter to the task)."""
    for task_id in STAND_INS:
        spec = json.loads((EXAMPLES / f"{task_id}.json").read_text())
        for step in spec["config"]:
            for file in step["parameters"].get("files", []) if step["type"] == "download" else []:
                name = f"{uuid.uuid5(uuid.NAMESPACE_URL, file['url'])}_{Path(file['path']).name}"
                kind = {".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[Path(file["path"]).suffix]
                Image.new("RGB", (16, 16), (180, 40, 40)).save(cache / name, kind)


def _state(root: Path) -> dict[str, tuple]:
    entries: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            content = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and \
                not path.is_symlink() else None
            entries[str(path)] = (info.st_mode, info.st_mtime_ns, content)
    return entries


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The domain run twice, by the oracle and by a random policy, as a user would run it."""
    base = tmp_path_factory.mktemp("osworld-os")
    cache = base / "cache"
    cache.mkdir()
    _stand_ins(cache)
    home = Path(tempfile.mkdtemp(prefix="qvl-home-", dir="/home"))  # the run's $HOME
    env = {"HOME": str(home), "QVL_OSWORLD_CACHE": str(cache), "QVL_NO_DOWNLOAD": "1"}
    before = _state(Path("/home"))
    root_before = {t: os.path.lexists(Path("/root") / t) for t in TRACES}
    try:
        done = {}
        for policy in ("oracle", "random"):
            out = base / policy
            result = run_cli("eval", "--suite", str(OS_META), "--display", "virtual", "--policy",
                             policy, "--time-limit", "120", "--out", str(out), env=env, timeout=900)
            lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
            done[policy] = (result, {line["task"]: line for line in lines})
        yield done, before, root_before, home
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_the_oracle_solves_every_os_task_the_sandbox_can_run(runs):
    done, _, _, _ = runs
    result, lines = done["oracle"]
    with_oracle = {task_id for _, task_id, _, _, oracle in rows() if oracle == "yes"
                   and (EXAMPLES / f"{task_id}.json").exists()}
    assert set(lines) == with_oracle and len(with_oracle) == 15
    assert all(line["outcome"] == "success" for line in lines.values()), \
        [(t, line["outcome"], line["message"]) for t, line in lines.items() if line["outcome"] != "success"]
    # The tasks left out are named, not "matches None".
    said = " ".join((result.stderr + result.stdout).split())
    assert "--policy oracle: 9 of 24 tasks have no oracle and are left out:" in said


def test_a_random_policy_solves_none_and_what_cannot_run_says_why(runs):
    done, _, _, _ = runs
    _, lines = done["random"]
    assert len(lines) == 24
    assert [t for t, line in lines.items() if line["outcome"] == "success"] == []
    table = {task_id: (runs_here, why) for domain, task_id, runs_here, why, _ in rows()
             if domain == "os"}
    for task_id, line in lines.items():
        runs_here, why = table[task_id]
        if runs_here.startswith("yes"):
            # Its setup and getters run here: a plain failure, never an error.
            assert line["outcome"] == "failure", (task_id, line["message"])
        elif "timedatectl" in why:
            # The random policy says it is done, so the getter runs, and says what is missing.
            assert line["outcome"] == "error" and "systemd" in line["message"], line
        else:
            assert line["outcome"] == "error" and line["message"].startswith("download: "), line


def test_nothing_outside_the_sandbox_changed(runs):
    _, before, root_before, home = runs
    after = _state(Path("/home"))
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    # /home byte for byte, but for what the run itself keeps in its own $HOME (none of which
    # is a file the tasks wrote).
    assert all(Path(k).is_relative_to(home) for k in changed), sorted(changed)[:5]
    for trace in TRACES:
        assert os.path.lexists(Path("/root") / trace) == root_before[trace], trace
    assert not [k for k in changed if any(k.endswith("/" + t) for t in TRACES)]

"""The README's commands, run as a user runs them: ``qvl-agent ...`` in a fresh process.

- ``eval --suite android --device sim --workers 2`` against a fake Qwen server (the README's
  ``--endpoint URL`` form of its first command): each worker drives its own virtual phone,
  the server is asked for ``--served-model``, and ``summary.md``'s Wilson intervals agree
  with an independent computation.
- ``eval --model`` without weights stops with the README's one line.
- ``suites`` lists the registered suites with their counts.
- ``tiny-model DIR`` writes a checkpoint that ``ground --model DIR`` then loads.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import threading
from pathlib import Path
from statistics import NormalDist

import pytest

from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call

SERVED = "qwen-under-test"  # not the fake server's only model: the flag must be what is sent
TASKS = "android/(toggle-wifi|book-flight-to-nowhere)$"


# -- the virtual phones of one process tree, read from /proc ----------------------------------

def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _descends_from(pid: int, root: int) -> bool:
    while pid > 1:
        parent = _parent(pid)
        if parent is None:
            return False
        if parent == root:
            return True
        pid = parent
    return False


def _listening_ports(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().name
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    ports = set()
    for line in Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
            ports.add(int(fields[1].split(":")[1], 16))
    return ports


def virtual_phones_under(root: int) -> dict[int, dict]:
    """Every ``python -m qvl_agent.envs.sim`` process below ``root``: its parent (and that one's), and
    its adb serials."""
    phones = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        pid = int(entry.name)
        if b"qvl_agent.envs.sim" in argv and _descends_from(pid, root):
            parent = _parent(pid)
            phones[pid] = {"parent": parent, "grandparent": parent and _parent(parent),
                           "serials": {f"127.0.0.1:{p}" for p in _listening_ports(pid)}}
    return phones


def adb_ready_serials() -> set[str]:
    out = subprocess.run(["adb", "devices"], capture_output=True, text=True, timeout=30).stdout
    return set(re.findall(r"^(\S+)\s+device$", out, re.M))


# -- Wilson, computed the other way: the roots of n(p^ - p)^2 = z^2 p (1 - p) -------------------

def wilson_percent(successes: int, total: int) -> tuple[float, float]:
    z = NormalDist().inv_cdf(0.975)
    p_hat = successes / total
    a, b, c = total + z * z, -(2 * total * p_hat + z * z), total * p_hat * p_hat
    root = math.sqrt(b * b - 4 * a * c)
    return 100 * (-b - root) / (2 * a), 100 * (-b + root) / (2 * a)


def summary_rows(text: str) -> dict[str, tuple[int, int, float, float]]:
    """``name -> (solved, total, low %, high %)`` for every row of summary.md's tables."""
    rows = {}
    for name, solved, total, low, high in re.findall(
            r"^\| (\S+) \| (\d+)/(\d+) \| [\d.]+% \| ([\d.]+)-([\d.]+)% \|", text, re.M):
        rows[name] = (int(solved), int(total), float(low), float(high))
    return rows


# -- the eval run, shared by the tests that read it ---------------------------------------------

@pytest.fixture(scope="module")
def android_eval(tmp_path_factory):
    """Two workers, two tasks x two seeds. The fake model holds the first step it is asked
    for until a second step arrives, so both workers are inside an instance at once; at
    that moment the test looks at the phones below the command's process."""
    out = tmp_path_factory.mktemp("eval") / "run"
    both_busy = threading.Event()
    lock = threading.Lock()
    steps: list[QwenRequest] = []
    seen: dict = {}

    def respond(request: QwenRequest) -> str:
        if not request.images:
            return "ok"  # a text-only request (a token-count probe), not a step
        with lock:
            order = len(steps)
            steps.append(request)
        if order == 0:
            both_busy.wait(120)
        elif order == 1:
            seen["phones"] = virtual_phones_under(seen["pid"])
            seen["adb"] = adb_ready_serials()
            both_busy.set()
        goal = "\n".join(request.texts)
        # The infeasible booking is solved by giving up; the toggle is not solved by
        # claiming success without touching the phone.
        status = "failure" if "book a flight" in goal else "success"
        return tool_call("mobile_use", action="terminate", status=status)

    with FakeQwen(respond) as server:
        process = subprocess.Popen(
            [*_cli(), "eval", "--suite", "android", "--device", "sim", "--workers", "2",
             "--tasks", TASKS, "--seeds", "2", "--endpoint", server.url,
             "--served-model", SERVED, "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen["pid"] = process.pid
        try:
            stdout, stderr = process.communicate(timeout=600)
        finally:
            both_busy.set()
            if process.poll() is None:
                process.kill()
                process.wait()
        bodies = [r.body for r in server.requests]
    return {"out": out, "code": process.returncode, "stdout": stdout, "stderr": stderr,
            "seen": seen, "bodies": bodies, "steps": steps}


def _cli() -> list[str]:
    import sys

    return [sys.executable, "-m", "qvl_agent.cli"]


@pytest.mark.slow
@pytest.mark.android
def test_eval_with_two_workers_gives_each_its_own_phone(android_eval):
    run = android_eval
    assert run["code"] == 0, run["stdout"] + run["stderr"]
    assert "Traceback" not in run["stderr"]
    phones = run["seen"].get("phones")
    assert phones is not None, "the two workers were never inside an instance at once"
    # Two phone processes, each started by a different worker of this very command.
    assert len(phones) == 2, phones
    assert len({phone["parent"] for phone in phones.values()}) == 2
    assert all(phone["grandparent"] == run["seen"]["pid"] for phone in phones.values())
    serials = [phone["serials"] for phone in phones.values()]
    assert all(len(s) == 1 for s in serials) and serials[0] != serials[1]
    # Both were connected to the adb server while both workers were busy...
    assert set.union(*serials) <= run["seen"]["adb"]
    # ...and both served instances: results come from worker 0 and worker 1.
    results = [json.loads(line) for line in (run["out"] / "results.jsonl").read_text().splitlines()]
    assert len(results) == 4
    assert {r["worker"] for r in results} == {0, 1}
    # Each phone is stopped and disconnected when its worker ends.
    assert not set.union(*serials) & adb_ready_serials()


@pytest.mark.slow
@pytest.mark.android
def test_eval_outcomes_and_report_path(android_eval):
    run = android_eval
    results = [json.loads(line) for line in (run["out"] / "results.jsonl").read_text().splitlines()]
    outcome = {(r["task"], r["seed"]): r["outcome"] for r in results}
    assert outcome == {("android/book-flight-to-nowhere", 0): "success",
                       ("android/book-flight-to-nowhere", 1): "success",
                       ("android/toggle-wifi", 0): "failure",
                       ("android/toggle-wifi", 1): "failure"}
    assert len(run["steps"]) == 4  # one step per instance: the model's terminate
    # The README: the run ends with where its report is.
    last = run["stdout"].strip().splitlines()[-1]
    assert last == f"report: {run['out'] / 'report.html'} (each instance links to its own report.html)"
    for r in results:
        assert (run["out"] / r["report"]).is_file()
    # The eval's own page: intervals per task, every instance linked, a filter for failures.
    page = (run["out"] / "report.html").read_text()
    assert "solved 2 of 4: 50% (95% CI 15-85%)" in page
    assert "<td>android/toggle-wifi</td><td class='n'>0/2</td><td class='n'>0%</td><td class='n'>0-66%</td>" in page
    for r in results:
        assert f"<a href='{r['report']}'>report</a>" in page
    assert "<label for='show-failures'>not solved (2)</label>" in page
    assert page.count("<tr class='o-failure'>") == 2


@pytest.mark.slow
@pytest.mark.android
def test_served_model_is_the_name_the_server_is_asked_for(android_eval):
    bodies = android_eval["bodies"]
    assert bodies and {body["model"] for body in bodies} == {SERVED}


@pytest.mark.slow
@pytest.mark.android
def test_summary_wilson_intervals_per_task_family_and_suite(android_eval):
    text = (android_eval["out"] / "summary.md").read_text()
    rows = summary_rows(text)
    expected = {"android/book-flight-to-nowhere": (2, 2), "android/toggle-wifi": (0, 2),
                "android": (2, 4)}  # the task rows, and the one family
    assert {name: row[:2] for name, row in rows.items()} == expected
    for name, (solved, total, low, high) in rows.items():
        want_low, want_high = wilson_percent(solved, total)
        assert abs(low - want_low) <= 0.051 and abs(high - want_high) <= 0.051, (name, low, high)
    # The suite as a whole, in the bold headline.
    low, high = wilson_percent(2, 4)
    assert f"**success rate: 50.0% (2/4; 95% CI {low:.1f}-{high:.1f}%)**" in text
    assert f"{low:.1f}" == "15.0" and f"{high:.1f}" == "85.0"  # the textbook values for 2/4


# -- the other README commands ------------------------------------------------------------------

@pytest.mark.slow
def test_eval_without_weights_stops_at_once_with_the_three_ways_forward(tmp_path):
    out = tmp_path / "run"
    result = run_cli("eval", "--suite", "android", "--device", "sim", "--model",
                     "Qwen/Qwen2.5-VL-7B-Instruct", "--out", str(out), timeout=120,
                     env={"HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")})
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("error: no Qwen2.5-VL weights for 'Qwen/Qwen2.5-VL-7B-Instruct'")
    for way in ("--model PATH", "--endpoint URL", "hf download Qwen/Qwen2.5-VL-7B-Instruct"):
        assert way in line
    assert not (out / "results.jsonl").exists()  # no worker, no phone was started


@pytest.mark.slow
def test_suites_lists_every_suite_with_its_counts():
    from qvl_agent.tasks.registry import list_suites

    result = run_cli("suites", timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["suite", "env", "tasks", "oracle", "description"]
    listed = {line.split()[0]: line.split()[1:4] for line in lines[1:]}
    assert listed["android"] == ["android", "14", "14"]
    suites = list_suites()
    assert set(listed) == {s.name for s in suites} >= {"android", "miniwob", "web"}
    for suite in suites:
        assert listed[suite.name] == [suite.env_kind.value, str(len(suite.tasks)),
                                      str(len(suite.with_oracle))]


@pytest.mark.slow
@pytest.mark.model
def test_tiny_model_writes_a_folder_that_ground_then_loads(tmp_path):
    from PIL import Image

    folder = tmp_path / "tiny"
    made = run_cli("tiny-model", str(folder), timeout=300)
    assert made.returncode == 0, made.stderr
    assert f"wrote a tiny Qwen2.5-VL to {folder}" in made.stdout
    # What it suggests next is the loop that trains it (random answers ground nothing).
    assert "ground" not in made.stdout
    assert f"qvl-agent train data/click --model {folder} --out {folder}-trained" in made.stdout
    assert (folder / "config.json").is_file()
    assert list(folder.glob("*.safetensors"))

    image = tmp_path / "screen.png"
    Image.new("RGB", (224, 224), "white").save(image)  # a small frame: the model is slow on CPU
    used = run_cli("ground", str(image), "the button", "--model", str(folder), timeout=600)
    assert "Traceback" not in used.stderr and "internal error" not in used.stderr
    # The folder loaded and its random weights answered: with JSON by chance, or (as they
    # nearly always do) with noise that is reported as the model's error, quoting it.
    if used.returncode == 0:
        assert json.loads(used.stdout)["frame"] == [224, 224]
    else:
        assert used.returncode == 2, used.stdout + used.stderr
        assert used.stderr.strip().splitlines()[-1].startswith("error: no bbox_2d or point_2d found in '")


@pytest.mark.slow
def test_report_rebuilds_an_eval_folder_too(android_eval):
    out = android_eval["out"]
    (out / "report.html").unlink()
    result = run_cli("report", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"report: {out / 'report.html'}"
    assert "solved 2 of 4: 50%" in (out / "report.html").read_text()


@pytest.mark.slow
def test_the_readmes_activate_line_puts_qvl_agent_on_the_path():
    """After the two set-up commands the README's `qvl-agent ...` lines work once the
    environment is activated, as the README says; the line is run as written."""
    root = Path(__file__).parents[2]
    readme = (root / "README.md").read_text()
    blocks = re.findall(r"```\n(.*?)```", readme, re.DOTALL)
    line, = [text for block in blocks for text in block.splitlines()
             if text.startswith("source .venv/bin/activate")]
    bare = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home())}
    assert subprocess.run(["bash", "-c", "command -v qvl-agent"], env=bare, cwd=root,
                          capture_output=True).returncode != 0  # not there before
    command = line.split("#")[0].strip()
    result = subprocess.run(["bash", "-c", f"{command} && qvl-agent suites"], env=bare, cwd=root,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("suite ")

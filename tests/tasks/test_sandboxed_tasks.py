"""Desktop tasks in the bubblewrap sandbox: OSWorld's `os` tasks run unchanged (sudo with
{CLIENT_PASSWORD}, a terminal, vm_command_line), and nothing they or the agent do to files
reaches this machine's home directory or /home."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.envs.actions import Terminate
from qvl_agent.envs.base import EnvKind
from qvl_agent.tasks.declarative import load_task_file, task_class
from tests.conftest import DATA, run_cli

pytestmark = [pytest.mark.desktop,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]

OS_TASKS = sorted((DATA / "osworld_os").glob("*.json"))


@pytest.mark.parametrize("path", OS_TASKS, ids=lambda p: p.stem)
def test_osworld_os_tasks_load_and_evaluate_unchanged(path, virtual_desktop):
    spec = load_task_file(path)
    assert spec.env is EnvKind.desktop and "{CLIENT_PASSWORD}" in path.read_text()
    task_type = task_class(spec, path.parent)
    env = virtual_desktop
    idle = task_type.from_seed(0)
    idle.setup(env)  # sudo with the sandbox's password; a wrong one would fail the setup
    nothing = run_episode(env, ScriptedPolicy([Terminate(status="success")]), idle.goal)
    assert idle.evaluate(env, nothing) == 0.0
    solved = task_type.from_seed(0)
    solved.setup(env)
    trajectory = run_episode(env, ScriptedPolicy(list(solved.oracle(env))), solved.goal)
    assert solved.evaluate(env, trajectory) == 1.0


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: its kind, mode, owner and content (sha256) or link target."""
    entries: dict[str, tuple] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            info = path.lstat()
            if path.is_symlink():
                entries[str(path)] = ("link", os.readlink(path))
            elif path.is_dir():
                entries[str(path)] = ("dir", info.st_mode, info.st_uid, info.st_mtime_ns)
            else:
                entries[str(path)] = ("file", info.st_mode, info.st_uid, info.st_mtime_ns,
                                      hashlib.sha256(path.read_bytes()).hexdigest())
    return entries


def _task(real_home: Path, canary: str) -> dict:
    """A task whose setup and whose agent write, move and delete files in ~ and /home/user,
    and also aim at the real home's own files (as a careless or hostile task would)."""
    hostile = (f"rm -rf {real_home}/keep; echo pwned > {real_home}/notes.txt; "
               f"mkdir -p /home/{canary}; touch /root/{canary}; rm -rf /home/*/keep")
    return {
        "id": "sandbox/writes-everywhere",
        "instruction": "Tidy the home folder in the terminal.",
        "config": [
            {"type": "execute", "parameters": {"shell": True, "command":
                "mkdir -p ~/Desktop/projects && echo draft > ~/Desktop/projects/a.txt && "
                "mv ~/Desktop/projects/a.txt /home/user/Documents/b.txt && "
                "rm -rf /home/user/Downloads && echo x > /home/user/new.txt"}},
            {"type": "execute", "parameters": {"shell": True, "command":
                f"echo {{CLIENT_PASSWORD}} | sudo -S sh -c '{hostile}' 2>/dev/null; true"}},
            {"type": "launch", "parameters": {"command": ["xterm", "-title", "Terminal"]}},
            {"type": "activate_window", "parameters": {"window_name": "Terminal", "strict": True}},
        ],
        "evaluator": {
            "func": "check_include_exclude",
            "result": {"type": "vm_command_line", "shell": True,
                       "command": "ls -A ~ ~/Documents; cat ~/agent.txt"},
            "expected": {"type": "rule", "rules": {
                "include": ["moved.txt", "b.txt", "agent"],
                "exclude": ["Downloads", "new.txt", "Music"]}},
        },
        "oracle": [
            {"action": "click", "selector": "Terminal"},
            {"action": "type", "text": f"mv ~/new.txt ~/moved.txt; rm -rf ~/Music; echo agent > "
                                       f"/home/user/agent.txt; {hostile}\n"},
            {"action": "wait", "seconds": 1.0},
            {"action": "terminate", "status": "success"},
        ],
    }


@pytest.mark.slow
def test_nothing_outside_the_sandbox_changes(tmp_path):
    # A real home under /home, as a user's is (inside one's own, for a user who cannot write
    # /home); the run's $HOME.
    parent = "/home" if os.access("/home", os.W_OK) else str(Path.home())
    real_home = Path(tempfile.mkdtemp(prefix="qvl-realhome-", dir=parent))
    canary = real_home.name + "-canary"
    try:
        (real_home / "keep").mkdir()
        (real_home / "keep" / "thesis.tex").write_text("years of work\n")
        (real_home / "notes.txt").write_text("mine\n")
        (real_home / "Desktop").mkdir()
        tasks = tmp_path / "tasks"
        tasks.mkdir()
        (tasks / "writes.json").write_text(json.dumps(_task(real_home, canary)))
        before = _snapshot(Path("/home"))
        result = run_cli("eval", "--suite", str(tasks), "--display", "virtual", "--policy",
                         "oracle", "--out", str(tmp_path / "run"), "--time-limit", "120",
                         env={"HOME": str(real_home)}, timeout=300)
        line = json.loads((tmp_path / "run" / "results.jsonl").read_text())
        # The task really ran: its files moved and went inside the sandbox...
        assert line["outcome"] == "success", (line, result.stderr[-2000:])
        # ...and outside, byte for byte, nothing changed.
        assert _snapshot(Path("/home")) == before
        assert (real_home / "keep" / "thesis.tex").read_text() == "years of work\n"
        assert not os.path.lexists(f"/root/{canary}") and not os.path.lexists(f"/home/{canary}")
    finally:
        shutil.rmtree(real_home, ignore_errors=True)
        for leftover in (Path("/root") / canary, Path("/home") / canary):
            if os.path.lexists(leftover):  # (lexists: a user cannot even look into /root)
                leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover)


def test_an_instruction_can_tell_the_agent_the_sandboxs_password(virtual_desktop, tmp_path):
    """OSWorld's agents are told the VM's password; a task file can say it with the placeholder."""
    path = tmp_path / "pw.json"
    path.write_text(json.dumps({
        "id": "os/pw", "instruction": "Use sudo; the password is {CLIENT_PASSWORD}. The screen "
                                      "is {SCREEN_WIDTH}x{SCREEN_HEIGHT}.",
        "config": [], "evaluator": {"func": "exact_match",
                                    "result": {"type": "vm_command_line", "command": "true"},
                                    "expected": {"type": "rule", "rules": {"expected": "x"}}}}))
    task = task_class(load_task_file(path), tmp_path).from_seed(0)
    task.setup(virtual_desktop)
    password = virtual_desktop.display.password
    assert task.goal == f"Use sudo; the password is {password}. The screen is 1280x720."
    check = virtual_desktop.display.run(f"echo {password} | sudo -S true", shell=True)
    assert check.returncode == 0

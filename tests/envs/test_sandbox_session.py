"""The sandbox's desktop session, where OSWorld's tasks depend on it: GSettings that persist
(D-Bus + dconf), PulseAudio, a terminal on ctrl+alt+t whose screen a getter reads, and
programs a setup step starts in the background living until the episode ends. One sandboxed
desktop for the module; each test starts from a task's reset, as an episode does."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.envs.actions import KeyPress, Terminate, TypeText
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.declarative import load_task_file, task_class
from qvl_agent.tasks.desktop.steps import find_window, reset
from qvl_agent.tasks.hooks import GETTERS
from tests.tasks.osworld_corpus import CORPUS, RETIRED

EXAMPLES = CORPUS / "examples" / "os"

pytestmark = [pytest.mark.desktop,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]


def _sh(env, script: str) -> str:
    done = env.display.run(script, shell=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_gsettings_persists_and_the_next_task_starts_from_the_defaults(virtual_desktop):
    env = virtual_desktop
    reset(env)
    key = "org.gnome.desktop.notifications show-banners"
    assert _sh(env, f"gsettings get {key}") == "true\n"
    _sh(env, f"gsettings set {key} false")
    assert _sh(env, f"gsettings get {key}") == "false\n"  # another process reads it back
    # The schemas OSWorld's os tasks read are there.
    for schema_key in ("org.gnome.shell favorite-apps", "org.gnome.desktop.screensaver lock-enabled",
                       "org.gnome.settings-daemon.plugins.power idle-dim",
                       "org.gnome.desktop.a11y.magnifier mag-factor"):
        _sh(env, f"gsettings get {schema_key}")
    reset(env)
    assert _sh(env, f"gsettings get {key}") == "true\n"


def test_pactl_answers_and_the_volume_starts_quiet(virtual_desktop):
    env = virtual_desktop
    reset(env)
    volume = "pactl list sinks | grep '^[[:space:]]Volume:' | head -n 1 | awk '{print $5}'"
    assert _sh(env, volume) == "40%\n"
    _sh(env, "pactl set-sink-volume @DEFAULT_SINK@ 100%")
    assert _sh(env, f"pulseaudio --start; {volume}") == "100%\n"  # OSWorld's getter, as written
    reset(env)
    assert _sh(env, volume) == "40%\n"


def test_ctrl_alt_t_opens_a_terminal_whose_screen_the_getter_reads(virtual_desktop):
    env = virtual_desktop
    reset(env)
    read = GETTERS["vm_terminal_output"]
    assert read(env, None, None) is None  # nothing focused yet
    env.execute(KeyPress(keys=["ctrl", "alt", "t"]))
    find_window(env, "Terminal", strict=True, timeout=15)
    env.execute(TypeText(text="echo total $((6*7)) lines\n"))
    assert "total 42 lines" in read(env, None, None).splitlines()
    env.display.launch(["xterm", "-title", "Notes"])  # another window takes the focus
    find_window(env, "Notes", strict=True, timeout=15)
    deadline = time.monotonic() + 10
    while env.display.run(["xdotool", "getactivewindow", "getwindowname"]).stdout.strip() != "Notes":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert read(env, None, None) is None  # as OSWorld: only the focused terminal is read


def test_a_background_process_from_setup_lives_until_the_episode_ends(virtual_desktop):
    # OSWorld's own task: setup starts `nohup ./my_process.sh &`; the agent must end it.
    path = RETIRED / "cc9d4f34-1ca0-4a1b-8ff2-09302696acb9.json"
    task_type = task_class(load_task_file(path), path.parent)
    env = virtual_desktop
    running = "ps -eo args | grep -c '^/bin/sh ./my_process.sh'"
    idle = task_type.from_seed(0)
    idle.setup(env)
    # The setup's shell returns before its background job has started: wait for it (bounded).
    # The count is "reaches 1", not "is 1 now": the job's loop forks before each `sleep`, and
    # on a loaded machine ps may catch the fork before its exec (a second matching line).
    assert _count_within(env, running, 1)  # running after its setup step returned
    time.sleep(0.5)
    assert _count_within(env, running, 1)  # and still running a moment later
    untouched = run_episode(env, ScriptedPolicy([Terminate(status="success")]), idle.goal)
    assert idle.evaluate(env, untouched) == 0.0
    solved = task_type.from_seed(0)
    solved.setup(env)  # the next task's reset ended the last episode's process...
    assert _count_within(env, running, 1)  # ...and this setup started a new one
    trajectory = run_episode(env, ScriptedPolicy(list(solved.oracle(env))), solved.goal)
    assert solved.evaluate(env, trajectory) == 1.0
    assert int(env.display.run(running, shell=True).stdout) == 0  # the agent ended it


def _count_within(env, command, expected, seconds=30.0):
    """Whether ``command``'s count reaches ``expected`` within ``seconds`` (a loaded
    machine starts a background job late)."""
    deadline = time.monotonic() + seconds
    while int(env.display.run(command, shell=True, timeout=60).stdout or 0) != expected:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def _task(tmp_path, config, result):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({
        "id": "os/can-not", "snapshot": "os", "instruction": "x", "config": config,
        "evaluator": {"func": "exact_match", "result": result,
                      "expected": {"type": "rule", "rules": {"expected": "x"}}}}))
    return task_class(load_task_file(path), tmp_path).from_seed(0)


def test_what_the_desktop_cannot_run_is_an_error_that_says_so_not_a_zero(virtual_desktop, tmp_path):
    env = virtual_desktop
    done = run_episode(env, ScriptedPolicy([Terminate(status="success")]), "x")
    # A command that exits non-zero is the task's business (OSWorld's own setups do it).
    fine = _task(tmp_path, [{"type": "execute", "parameters": {
        "command": "echo {CLIENT_PASSWORD} | sudo -S su - charles", "shell": True}}],
        {"type": "vm_command_line", "command": "dpkg -l | grep no-such-package", "shell": True})
    fine.setup(env)
    assert fine.evaluate(env, done) == 0.0
    missing = _task(tmp_path, [], {"type": "vm_command_line", "shell": True,
                                   "command": "pactlx list sinks | grep Volume | head -n 1"})
    missing.setup(env)
    with pytest.raises(TaskError, match=r"getter vm_command_line 'pactlx list sinks .*': this "
                                        r"desktop cannot run it: /bin/sh: 1: pactlx: not found"):
        missing.evaluate(env, done)
    schema = _task(tmp_path, [{"type": "execute", "parameters": {
        "command": ["gsettings", "set", "org.gnome.nope", "key", "1"]}}],
        {"type": "rule", "rules": {"expected": "x"}})
    with pytest.raises(TaskError, match="setup step execute .*: this desktop cannot run it: "
                                        "No such schema"):
        schema.setup(env)


def test_postconfig_runs_after_the_episode_and_before_the_getters(virtual_desktop):
    # OSWorld's terminal-size task: its postconfig opens a new terminal (ctrl+alt+t) and types
    # `stty size`, and the getter reads that terminal.
    path = EXAMPLES / "13584542-872b-42d8-b299-866967b5c3ef.json"
    task_type = task_class(load_task_file(path), path.parent)
    env = virtual_desktop
    idle = task_type.from_seed(0)
    idle.setup(env)
    untouched = run_episode(env, ScriptedPolicy([Terminate(status="success")]), idle.goal)
    assert idle.evaluate(env, untouched) == 0.0  # a new terminal is 24 x 80
    assert "24 80" in GETTERS["vm_terminal_output"](env, None, None)
    solved = task_type.from_seed(0)
    solved.setup(env)
    trajectory = run_episode(env, ScriptedPolicy(list(solved.oracle(env))), solved.goal)
    assert solved.evaluate(env, trajectory) == 1.0


def test_clearing_the_sessions_state_never_follows_a_link_out_of_the_home(virtual_desktop, tmp_path):
    # A task replaced ~/.config with a link; on this machine it leads to a folder of ours.
    env = virtual_desktop
    reset(env)
    outside = tmp_path / "outside"
    (outside / "dconf").mkdir(parents=True)
    (outside / "dconf" / "user").write_text("not the sandbox's")
    config = env.display.home / ".config"
    shutil.rmtree(config)
    config.symlink_to(outside)
    reset(env)
    assert (outside / "dconf" / "user").read_text() == "not the sandbox's"
    config = env.display.home / ".config"  # the next task's home (a new one)
    assert config.is_dir() and not config.is_symlink()
    assert sorted(p.name for p in outside.iterdir()) == ["dconf"]


def test_a_download_lands_inside_even_where_a_link_points_out(virtual_desktop, tmp_path, monkeypatch):
    import uuid

    from qvl_agent.tasks.desktop.files import download

    env = virtual_desktop
    reset(env)
    url = "https://example.org/files/notes.txt"
    monkeypatch.setenv("QVL_OSWORLD_CACHE", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_notes.txt").write_text("task file")
    mine = tmp_path / "mine.txt"
    mine.write_text("mine")
    (env.display.home / "Desktop" / "notes.txt").symlink_to(mine)  # a task's link, to the host
    download(env, tmp_path, files=[{"url": url, "path": "/home/user/Desktop/notes.txt"},
                                                  {"url": url, "path": "/tmp/in/notes.txt"}])
    assert mine.read_text() == "mine"
    assert _sh(env, "cat ~/Desktop/notes.txt /tmp/in/notes.txt") == "task filetask file"

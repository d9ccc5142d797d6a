"""The desktop sandbox (bubblewrap): what runs in it, what it cannot reach, what it leaves.

Each test asserts something a user would notice: a file that is (or is not) on their
machine, a server the sandbox cannot reach, a password sudo takes, processes that are gone.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qvl_agent.envs.actions import TypeText
from qvl_agent.envs.desktop import DesktopEnv, open_desktop
from qvl_agent.envs.sandbox import USER_HOME, start_sandboxed_display

pytestmark = [pytest.mark.desktop,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sandbox():
    os.environ["QVL_TEST_SECRET"] = "host-only"  # must not reach the sandbox's programs
    try:
        with start_sandboxed_display([(800, 600)]) as display:
            yield display
    finally:
        os.environ.pop("QVL_TEST_SECRET", None)


def _shell(display, script: str) -> subprocess.CompletedProcess[str]:
    return display.run(script, shell=True)


def test_the_sandbox_has_its_own_home_tmp_and_processes(sandbox, tmp_path):
    (tmp_path / "host-file.txt").write_text("the host's")
    seen = _shell(sandbox, f"echo $HOME; ls ~; ls /tmp; test -e {tmp_path}/host-file.txt "
                           "&& echo VISIBLE; ls /proc | grep -c '^[0-9]'; env").stdout
    lines = seen.splitlines()
    assert lines[0] == str(USER_HOME)
    assert {"Desktop", "Documents", "Downloads"} <= set(lines)
    assert "VISIBLE" not in lines  # the host's /tmp is not there
    assert "QVL_TEST_SECRET=host-only" not in lines  # nor the host's environment
    # Its own PID namespace: only bwrap, the supervisor, Xvfb, openbox and this shell.
    count = next(int(line) for line in lines if line.isdigit())
    assert count < 12
    python = Path(sys.prefix) / "qvl-escape"  # the interpreter's folder, wherever it lives
    write = _shell(sandbox, f"touch /usr/qvl-escape; echo > /etc/qvl-escape; touch {python}")
    assert write.returncode != 0 and write.stderr.count("Read-only file system") == 3
    assert not Path("/usr/qvl-escape").exists() and not Path("/etc/qvl-escape").exists()
    assert not python.exists()


def test_the_sandbox_cannot_reach_the_hosts_servers(sandbox):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        probe = sandbox.run(["python", "-c", f"import socket; socket.create_connection(('127.0.0.1', {port}), 3)"])
    finally:
        server.close()
    assert probe.returncode != 0 and "ConnectionRefused" in probe.stderr


def test_sudo_takes_the_sandboxs_password_only(sandbox):
    good = _shell(sandbox, f"echo {sandbox.password} | sudo -S sh -c 'id -u; touch /home/user/by-sudo'")
    assert good.returncode == 0 and good.stdout.strip() == "0"  # the sandbox's root
    assert (sandbox.home / "by-sudo").is_file()  # the host reads the sandbox's home
    bad = _shell(sandbox, "echo password | sudo -S touch /home/user/not-by-sudo")
    assert bad.returncode != 0 and "incorrect password" in bad.stderr
    assert not (sandbox.home / "not-by-sudo").exists()


def test_python_inside_clicks_on_the_sandboxs_display(sandbox):
    with DesktopEnv(display=sandbox) as env:
        sandbox.run(["python", "-c", "import pyautogui; pyautogui.moveTo(123, 45)"])
        where = sandbox.run(["xdotool", "getmouselocation", "--shell"]).stdout.split()
        assert where[:2] == ["X=123", "Y=45"]
        env.observe()  # and the host's env sees the same screen: the sandbox's


def test_the_agent_types_into_the_sandbox(sandbox):
    with DesktopEnv(display=sandbox) as env:
        sandbox.launch(["xterm", "-title", "sandbox-term"], log="xterm")
        from qvl_agent.tasks.desktop.steps import find_window

        window = find_window(env, "sandbox-term", strict=True, timeout=30)
        sandbox.run(["xdotool", "windowactivate", "--sync", window])
        env.execute(TypeText(text="echo typed > ~/typed.txt\n"))
        deadline = time.monotonic() + 10
        while not (sandbox.home / "typed.txt").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert (sandbox.home / "typed.txt").read_text() == "typed\n"
        assert not (Path.home() / "typed.txt").exists()
        sandbox.close_apps()


def test_stop_removes_everything():
    display = start_sandboxed_display([(320, 240)])
    app = display.launch(["xterm"])
    number = display.name.lstrip(":")
    runtime, bwrap = display.runtime, display._bwrap
    assert Path(f"/tmp/.X11-unix/X{number}").is_symlink()
    display.stop()
    display.stop()  # idempotent
    assert app.poll() is not None and bwrap.poll() is not None
    assert not runtime.exists()
    assert not os.path.lexists(f"/tmp/.X11-unix/X{number}")
    assert not os.path.exists(f"/tmp/.X{number}-lock")


_CHILD = """
import time
from qvl_agent.envs.sandbox import start_sandboxed_display
display = start_sandboxed_display([(320, 240)])
display.launch(["xterm"])
print(display._bwrap.pid, display.runtime, display.name, flush=True)
time.sleep(120)
"""


def _sandbox_processes(bwrap_pid: int) -> list[int]:
    """Host pids of bwrap and every process in its namespaces (its descendants)."""
    found, frontier = [], [bwrap_pid]
    while frontier:
        pid = frontier.pop()
        if Path(f"/proc/{pid}").exists():
            found.append(pid)
            children = Path(f"/proc/{pid}/task/{pid}/children")
            if children.exists():
                frontier += [int(c) for c in children.read_text().split()]
    return found


def test_a_killed_parent_takes_the_sandbox_with_it():
    parent = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True,
                              cwd=ROOT)
    pid, runtime, name = parent.stdout.readline().split()
    inside = _sandbox_processes(int(pid))
    assert len(inside) >= 5  # bwrap (twice), supervisor, Xvfb, openbox, xterm
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while any(Path(f"/proc/{p}").exists() for p in inside) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in inside if Path(f"/proc/{p}").exists()] == []
    start_sandboxed_display([(320, 240)], window_manager=False).stop()  # the next start sweeps
    assert not Path(runtime).exists()
    assert not os.path.lexists(f"/tmp/.X11-unix/X{name.lstrip(':')}")


def test_no_user_namespaces_is_one_clear_line(tmp_path):
    """A real failure: inside a user namespace whose limit of nested ones is 0, bwrap cannot
    create its sandbox; the suite says what to enable, in one line, and starts nothing."""
    if shutil.which("unshare") is None:
        pytest.skip("util-linux unshare is not installed")
    command = (f"echo 0 > /proc/sys/user/max_user_namespaces && exec {sys.executable} -m cli "
               f"eval --suite desktop --display virtual --policy oracle --tasks terminal-uname "
               f"--out {tmp_path / 'run'}")
    result = subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c", command],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "bubblewrap cannot create its sandbox" in lines[0]
    assert "user namespaces" in lines[0] and "max_user_namespaces" in lines[0]


def test_vm_file_copies_a_file_out_of_the_sandboxs_own_tmp(sandbox):
    from qvl_agent.tasks.desktop.steps import vm_file

    with DesktopEnv(display=sandbox) as env:
        _shell(sandbox, r"printf 'a\000b' > /tmp/report.bin; echo hi > ~/Desktop/h.txt")
        copy = vm_file(env, None, None, "/tmp/report.bin")
        assert Path(copy).read_bytes() == b"a\x00b"  # byte for byte, though it is only inside
        assert not Path("/tmp/report.bin").exists()
        assert Path(vm_file(env, None, None, "/home/user/Desktop/h.txt")).read_text() == "hi\n"
        assert vm_file(env, None, None, "/tmp/missing") is None


def test_a_killed_x_server_is_a_clear_reason_not_an_empty_one():
    """As found: "cannot capture display :20: " (nothing after the colon), and a click
    after it an internal error (a TypeError from inside Xlib)."""
    from qvl_agent.agent.loop import run_episode
    from qvl_agent.agent.policy import ScriptedPolicy
    from qvl_agent.envs.actions import Click, Point
    from qvl_agent.envs.errors import EnvDisconnectedError

    with open_desktop("virtual:320x240") as env:
        env.observe()
        server = min(env.display._infrastructure)  # Xvfb, the sandbox's first program
        assert env.display.run(["kill", "-9", str(server)]).returncode == 0
        with pytest.raises(EnvDisconnectedError, match=r"cannot act on display :\d+: its X server "
                                                       r"\(Xvfb\) has exited"):
            env.execute(Click(at=Point(x=5, y=5)))
        trajectory = run_episode(env, ScriptedPolicy([Click(at=Point(x=5, y=5))]), "click")
    assert trajectory.status == "error"
    assert trajectory.meta.message.startswith("cannot capture display :")
    assert "its X server (Xvfb) has exited (killed, or crashed)" in trajectory.meta.message

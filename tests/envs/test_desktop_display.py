"""The managed display's lifecycle, and the fail-safe on a display that is someone's own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.envs.actions import Click, MoveTo, Point, Terminate
from qvl_agent.envs.desktop import DesktopEnv
from qvl_agent.envs.xdisplay import Display, start_virtual_display

pytestmark = pytest.mark.desktop

_CHILD = """
import sys, time
from qvl_agent.envs.xdisplay import start_virtual_display
display = start_virtual_display([(640, 480)])
app = display.launch(["xterm"])
print(" ".join(str(p.pid) for p in display._children), flush=True)
time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_no_orphans_after_the_parent_is_killed():
    parent = subprocess.Popen([sys.executable, "-c", _CHILD], stdout=subprocess.PIPE, text=True,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    pids = [int(p) for p in parent.stdout.readline().split()]
    assert len(pids) == 3 and all(_alive(p) for p in pids)  # Xvfb, openbox, xterm
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [p for p in pids if _alive(p)] == []


def test_stop_ends_the_server_and_its_apps():
    display = start_virtual_display([(320, 240)])
    app = display.launch(["xterm"])
    server = display._children[0]
    display.stop()
    display.stop()  # idempotent
    assert app.poll() is not None and server.poll() is not None
    assert not display.runtime.exists()


@pytest.fixture(scope="module")
def managed():
    with start_virtual_display([(640, 480)]) as display:
        yield display


def test_failsafe_ends_a_run_on_a_users_display_cleanly(managed, tmp_path):
    # The same X server, reached as a user's existing display (--display :N): fail-safe on.
    own = DesktopEnv(display=Display(name=managed.name))
    assert own.failsafe
    policy = ScriptedPolicy([Click(at=Point(x=100, y=100)),
                             MoveTo(at=Point(x=0, y=0)),  # the "user" slams the mouse in a corner
                             Click(at=Point(x=200, y=200)), Terminate(status="success")])
    trajectory = run_episode(own, policy, "click around", recorder=RunRecorder(tmp_path / "run"))
    own.close()
    assert trajectory.meta.status == "interrupted"
    assert trajectory.meta.message.startswith("fail-safe: the mouse was moved to a corner")
    assert len(trajectory.steps) == 2  # the click after the corner never happened
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["steps"] == 2
    assert (tmp_path / "run" / "report.html").is_file()
    assert sorted(p.name for p in (tmp_path / "run").glob("step_*.png")) == ["step_001.png", "step_002.png"]


def test_a_managed_display_has_no_failsafe(managed):
    with DesktopEnv(display=managed) as env:
        assert not env.failsafe
        env.execute(MoveTo(at=Point(x=0, y=0)))
        env.execute(Click(at=Point(x=50, y=50)))  # goes on: nobody's hand is on this mouse
        env.observe()

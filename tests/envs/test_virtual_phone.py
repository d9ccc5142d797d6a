"""The virtual phone's life cycle as the toolkit runs it."""

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.android

SPAWN = """
import subprocess, sys
phone = subprocess.Popen([sys.executable, "-m", "envs.sim", "--port", "0", "--with-parent"],
                         stdout=subprocess.PIPE, text=True)
print(phone.pid, phone.stdout.readline().split()[-1], flush=True)
"""


def test_a_phone_whose_parent_dies_stops_and_leaves_adb(tmp_path):
    """An eval worker killed at its time limit must not leave its phone behind."""
    parent = subprocess.run([sys.executable, "-c", SPAWN], capture_output=True, text=True, timeout=60)
    pid, serial = parent.stdout.split()
    # The parent is gone already; connect adb as the worker would have.
    subprocess.run(["adb", "connect", serial], capture_output=True, timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alive = subprocess.run(["kill", "-0", pid], capture_output=True).returncode == 0
        listed = serial in subprocess.run(["adb", "devices"], capture_output=True, text=True).stdout
        if not alive and not listed:
            break
        time.sleep(0.2)
    else:
        subprocess.run(["kill", pid], capture_output=True)
        subprocess.run(["adb", "disconnect", serial], capture_output=True)
        pytest.fail(f"the orphaned phone {pid} ({serial}) is still running or still listed by adb")

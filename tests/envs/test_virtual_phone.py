"""The virtual phone's life cycle as the toolkit runs it."""

import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.android

SPAWN = """
import subprocess, sys
phone = subprocess.Popen([sys.executable, "-m", "qvl_agent.envs.sim", "--port", "0", "--with-parent"],
                         stdout=subprocess.PIPE, text=True)
print(phone.pid, phone.stdout.readline().split()[-1], flush=True)
sys.stdin.read()  # lives until the test has connected adb, then is killed
"""


def adb_state(serial: str) -> str | None:
    for line in subprocess.run(["adb", "devices"], capture_output=True, text=True, timeout=30).stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) == 2 and fields[0] == serial:
            return fields[1]
    return None


def test_a_phone_whose_parent_dies_stops_and_leaves_adb(tmp_path):
    """An eval worker killed at its time limit must not leave its phone behind."""
    parent = subprocess.Popen([sys.executable, "-c", SPAWN], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    pid, serial = parent.stdout.readline().split()
    try:
        # Connected while its parent lives, as the worker would have done.
        connect = subprocess.run(["adb", "connect", serial], capture_output=True, text=True, timeout=30)
        assert f"connected to {serial}" in connect.stdout, connect.stdout + connect.stderr
        deadline = time.monotonic() + 20
        while adb_state(serial) != "device":
            assert time.monotonic() < deadline, f"adb never listed {serial} as a device"
            time.sleep(0.1)
    finally:
        parent.kill()  # the worker dies by SIGKILL: no clean-up code of its own runs
        parent.wait(timeout=30)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        alive = subprocess.run(["kill", "-0", pid], capture_output=True).returncode == 0
        listed = adb_state(serial) is not None
        if not alive and not listed:
            break
        time.sleep(0.2)
    else:
        subprocess.run(["kill", pid], capture_output=True)
        subprocess.run(["adb", "disconnect", serial], capture_output=True)
        pytest.fail(f"the orphaned phone {pid} ({serial}) is still running or still listed by adb")


def test_a_stopped_phone_leaves_no_log_in_the_temp_folder():
    from qvl_agent.envs.virtual_phone import start_virtual_phone

    phone = start_virtual_phone()
    assert phone.log is not None and phone.log.is_file()
    phone.stop()
    assert not phone.log.exists()  # 40 empty qvl-sim-*.log files after a day, before

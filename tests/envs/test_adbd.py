"""The virtual phone's adbd, driven by the real adb server, its CLI and adbutils."""

from __future__ import annotations

import random
import socket
import subprocess
import threading
import time
from collections.abc import Iterator

import pytest
from adbutils import AdbClient, AdbDevice, AdbError

from qvl_agent.envs.sim.adbd import AdbDaemon, ShellResult

pytestmark = pytest.mark.android

BIG = random.Random(7).randbytes(5 * 1024 * 1024)   # a screenshot-sized, incompressible output
EXIT_MARKER = "; echo X4EXIT:$?"                     # what adbutils' shell2(v2=False) appends
CROWD = 10


class PhoneShell:
    """A tiny shell: ``echo``, ``exit N``, ``big``, ``err``, ``together X``, ``crash``."""

    def __init__(self) -> None:
        # ``together`` only returns once CROWD of them run at the same time.
        self.crowd = threading.Barrier(CROWD, timeout=10)

    def __call__(self, command: str) -> ShellResult:
        if not command.endswith(EXIT_MARKER):
            return self._run(command)
        # As in sh, the marker is printed after everything the command wrote, stderr included.
        result = self._run(command.removesuffix(EXIT_MARKER))
        merged = result.stdout + result.stderr + f"X4EXIT:{result.exit_code}\n".encode()
        return ShellResult(0, merged)

    def _run(self, command: str) -> ShellResult:
        name, _, arg = command.partition(" ")
        match name:
            case "echo":
                return ShellResult(0, arg.encode() + b"\n")
            case "exit":
                return ShellResult(int(arg), b"")
            case "big":
                return ShellResult(0, BIG)
            case "err":
                return ShellResult(2, b"to stdout\n", b"to stderr\n")
            case "together":
                self.crowd.wait()
                return ShellResult(0, arg.encode() + b"\n")
            case "crash":
                raise RuntimeError("the handler broke")
            case _:
                return ShellResult(127, b"", f"sh: {name}: not found\n".encode())


def adb(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["adb", *args], capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)


def state_of(serial: str) -> str | None:
    """The device's state in ``adb devices`` (``device``, ``offline``, ...), None if not listed."""
    for line in adb("devices").stdout.decode().splitlines()[1:]:
        fields = line.split()
        if len(fields) == 2 and fields[0] == serial:
            return fields[1]
    return None


def connect(daemon: AdbDaemon) -> AdbDevice:
    """``adb connect`` the daemon and wait until the server lists it as a ready device."""
    out = adb("connect", daemon.serial).stdout.decode()
    assert f"connected to {daemon.serial}" in out      # also "already connected to ..."
    deadline = time.monotonic() + 10
    while state_of(daemon.serial) != "device":
        assert time.monotonic() < deadline, f"{daemon.serial} never became a device"
        time.sleep(0.05)
    return AdbClient(host="127.0.0.1", port=5037).device(daemon.serial)


@pytest.fixture(scope="module")
def adb_server() -> None:
    adb("start-server", timeout=30).check_returncode()


@pytest.fixture
def daemon(adb_server) -> Iterator[AdbDaemon]:
    """A phone of its own, for tests that take it down; never left in ``adb devices``."""
    with AdbDaemon(PhoneShell()) as phone:
        try:
            yield phone
        finally:
            adb("disconnect", phone.serial)


@pytest.fixture(scope="module")
def device(adb_server) -> Iterator[AdbDevice]:
    """A phone shared by the tests that leave it as they found it."""
    with AdbDaemon(PhoneShell()) as phone:
        try:
            yield connect(phone)
        finally:
            adb("disconnect", phone.serial)


def test_the_server_lists_the_phone_with_its_banner(device):
    line, = [ln for ln in adb("devices", "-l").stdout.decode().splitlines()
             if ln.startswith(device.serial + " ")]
    assert line.split()[1] == "device"
    assert "product:qvl_sim" in line and "model:QVL_Virtual_Phone" in line
    assert set(device.get_features().split(",")) == {"shell_v2", "cmd"}


def test_shell_returns_the_output(device):
    assert device.shell("echo hi", timeout=10) == "hi"


def test_shell_v2_keeps_exit_code_and_streams_apart(device):
    assert device.shell2("exit 3", timeout=10, v2=True).returncode == 3
    result = device.shell2("err", timeout=10, v2=True)
    assert (result.returncode, result.stdout, result.stderr) == (2, "to stdout\n", "to stderr\n")


def test_shell_v1_exit_code_comes_through_the_marker(device):
    result = device.shell2("err", timeout=10, v2=False)
    assert (result.returncode, result.output) == (2, "to stdout\nto stderr\n")


def test_a_large_output_arrives_byte_exact(device):
    assert device.shell("big", timeout=20, encoding=None) == BIG
    assert adb("-s", device.serial, "exec-out", "big").stdout == BIG


def test_the_cli_gets_exit_code_and_both_streams(device):
    assert adb("-s", device.serial, "shell", "exit 7").returncode == 7
    run = adb("-s", device.serial, "shell", "err")
    assert (run.returncode, run.stdout, run.stderr) == (2, b"to stdout\n", b"to stderr\n")


def test_concurrent_calls_each_get_their_own_answer(device):
    # The handlers meet at a barrier, so this only passes if all CROWD streams run at once.
    answers: dict[int, str] = {}

    def call(i: int) -> None:
        answers[i] = device.shell(f"together {i}", timeout=20)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(CROWD)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert answers == {i: str(i) for i in range(CROWD)}


def test_unsupported_services_are_refused_and_the_phone_goes_on(device):
    with pytest.raises(AdbError):
        device.sync.list("/sdcard")
    reboot = adb("-s", device.serial, "reboot")
    assert reboot.returncode != 0 and b"closed" in reboot.stderr
    interactive = adb("-s", device.serial, "shell")
    assert interactive.returncode == 1 and b"no interactive shell" in interactive.stderr
    assert device.shell("echo still here", timeout=10) == "still here"


def test_a_failing_handler_is_an_exit_code_not_a_dead_phone(device):
    result = device.shell2("crash", timeout=10, v2=True)
    assert result.returncode == 255 and "the handler broke" in result.stderr
    assert device.shell("echo fine", timeout=10) == "fine"


def test_a_malformed_packet_costs_only_its_connection(device):
    port = int(device.serial.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as rogue:
        rogue.sendall(b"\xff" * 24)
        assert rogue.recv(1) == b""         # the daemon hung up on it
    assert device.shell("echo fine", timeout=10) == "fine"


def test_dropped_connections_fail_calls_until_reconnected(daemon):
    phone = connect(daemon)
    daemon.drop_connections()
    with pytest.raises((AdbError, ConnectionError)):
        phone.shell("echo hi", timeout=5)
    # adb 29 redials a lost TCP device by itself within a second; `adb connect` covers both.
    phone = connect(daemon)
    assert phone.shell("echo back", timeout=10) == "back"


def test_stop_takes_the_phone_offline(daemon):
    phone = connect(daemon)
    assert phone.shell("echo hi", timeout=10) == "hi"
    daemon.stop()
    # The adb server learns of it when it reads the closed connection: wait for that, bounded.
    deadline = time.monotonic() + 10
    while (state := state_of(daemon.serial)) == "device":
        assert time.monotonic() < deadline, f"adb still lists the stopped {daemon.serial} as a device"
        time.sleep(0.05)
    assert state in {"offline", None}
    with pytest.raises((AdbError, ConnectionError)):
        phone.shell("echo hi", timeout=5)


def test_ports_the_server_claims_for_emulators_are_refused():
    with pytest.raises(ValueError, match="5555-5585"):
        AdbDaemon(PhoneShell(), port=5555)
    with AdbDaemon(PhoneShell()) as phone:
        assert phone.port not in range(5555, 5586) and phone.serial.startswith("127.0.0.1:")

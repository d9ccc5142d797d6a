"""Starting and stopping the built-in virtual phone (``python -m qvl_agent.envs.sim``) for ``--device sim``.

The phone runs as a child process that speaks adb's device protocol on 127.0.0.1; the real
adb server is told to ``adb connect`` to it, so everything after that is plain adb.
``--device sim:PROFILE`` picks which Android release it behaves like (``envs.sim.profiles``:
android-9, android-11, android-14 (a Pixel), samsung-11 (One UI); ``sim`` alone is android-14).
The adb server is the one the ``adb`` binary finds (``ANDROID_ADB_SERVER_PORT``,
``ADB_SERVER_SOCKET``): the subprocesses inherit the environment.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from qvl_agent.envs.errors import ConfigError, EnvNotFoundError

__all__ = ["VirtualPhoneProcess", "start_virtual_phone", "sim_profile"]

_READY = re.compile(r"qvl-sim listening on (127\.0\.0\.1:\d+)")


@dataclass
class VirtualPhoneProcess:
    process: subprocess.Popen
    serial: str
    log: Path | None = None  # the phone's stderr; removed when it stops, kept if it crashed
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        """Disconnect adb from the phone and end its process (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        crashed = self.process.poll() not in (None, 0)
        adb = shutil.which("adb")
        if adb:
            subprocess.run([adb, "disconnect", self.serial], capture_output=True, timeout=30)
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.log is not None and not crashed:
            self.log.unlink(missing_ok=True)

    def __enter__(self) -> "VirtualPhoneProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sim_profile(device: str | None) -> str | None:
    """The profile a ``--device`` value asks for: None when it is not the virtual phone,
    the default for ``sim``, the name after ``sim:`` otherwise.

    Raises:
        ConfigError: ``sim:`` with an unknown profile (the message lists the known ones).
    """
    if device is None or not (device == "sim" or device.startswith("sim:")):
        return None
    from qvl_agent.envs.sim.profiles import DEFAULT_PROFILE, profile_named

    name = device.partition(":")[2] or DEFAULT_PROFILE
    try:
        return profile_named(name).name
    except ValueError as exc:
        raise ConfigError(f"--device {device}: {exc}") from None


def start_virtual_phone(*, adb_keyboard: bool = True, timeout: float = 30.0,
                        profile: str | None = None, animations: bool = True,
                        flaky: bool = True, seed: int = 0,
                        pin: str | None = None) -> VirtualPhoneProcess:
    """Start a fresh virtual phone and connect the adb server to it; returns its handle.

    ``animations``: a phone's timing (False: everything instant); ``flaky``: uiautomator
    fails now and then, as on phones (which dumps: ``seed``); ``pin``: a locked phone."""
    adb = shutil.which("adb")
    if adb is None:
        raise EnvNotFoundError("the virtual phone is reached through adb, which is not installed "
                               "(Debian: apt install adb)")
    command = [sys.executable, "-m", "qvl_agent.envs.sim", "--port", "0", "--with-parent"]
    if not adb_keyboard:
        command.append("--no-adb-keyboard")
    if profile:
        command += ["--profile", profile]
    if not animations:
        command.append("--no-animations")
    if not flaky:
        command.append("--steady")
    if seed:
        command += ["--seed", str(seed)]
    if pin is not None:
        command += ["--pin", pin]
    # The phone's log goes to a file: a pipe nobody reads would block it once full.
    log = tempfile.NamedTemporaryFile(prefix="qvl-sim-", suffix=".log", delete=False)  # noqa: SIM115
    # Its own session: a Ctrl-C at the terminal is the run's to handle (it pauses), not the phone's.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                               start_new_session=True)
    lines: list[str] = []

    def drain() -> None:
        for text in process.stdout:  # type: ignore[union-attr]
            lines.append(text)

    threading.Thread(target=drain, daemon=True, name="qvl-sim-stdout").start()
    deadline = time.monotonic() + timeout
    while not lines and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    match = _READY.search(lines[0]) if lines else None
    if match is None:
        process.kill()
        error = Path(log.name).read_text(errors="replace")[-400:].strip()
        raise EnvNotFoundError(f"the virtual phone did not start within {timeout:g} s "
                               f"(log {log.name}): {error}")
    log.close()
    phone = VirtualPhoneProcess(process=process, serial=match.group(1), log=Path(log.name))
    while True:
        result = subprocess.run([adb, "connect", phone.serial], capture_output=True, text=True, timeout=30)
        state = subprocess.run([adb, "-s", phone.serial, "get-state"], capture_output=True, text=True,
                               timeout=30).stdout.strip()
        if state == "device":
            return phone
        if time.monotonic() > deadline:
            phone.stop()
            raise EnvNotFoundError(f"adb could not connect to the virtual phone at {phone.serial}: "
                                   f"{result.stdout.strip()} {result.stderr.strip()}")
        time.sleep(0.2)

"""A one-machine Ray cluster on loopback, for tests, benchmarks and trying ``--executor ray``.

``ray start --head`` advertises the machine's network address by default; here every part of
it listens on 127.0.0.1 (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` together with
``--node-ip-address 127.0.0.1``), without a dashboard, with a small object store. The head
runs in its own process group with ``--block``, so stopping it stops exactly this cluster and
never another one on the machine (unlike ``ray stop``, which stops every Ray of the user).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from qvl_agent.envs.errors import ConfigError

__all__ = ["loopback_head", "LOOPBACK_ENV"]

# Loopback only, no usage report, and no token authentication: Ray would otherwise turn it on
# whenever ~/.ray/auth_token exists (a local ``ray.init()`` writes one), and a driver without
# the token could not join.
LOOPBACK_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0",
                "RAY_AUTH_MODE": "disabled"}


@contextmanager
def loopback_head(num_cpus: int = 2, object_store_bytes: int = 200_000_000,
                  start_timeout_s: float = 120, auth_token: str | None = None) -> Iterator[str]:
    """Start a head node on 127.0.0.1; yield its address (``127.0.0.1:PORT``); stop it.
    ``auth_token``: a head with token authentication on, with this token."""
    if importlib.util.find_spec("ray") is None:
        raise ConfigError(f"no Ray for {sys.executable}: pip install 'qvl-agent[ray]'")
    # Short, because Ray's Unix socket paths live under it and must fit in 107 bytes.
    temp = Path(tempfile.mkdtemp(prefix="qvlray-", dir="/tmp"))
    log = open(temp / "head.log", "wb")  # noqa: SIM115 - closed below, after the head stops
    process = subprocess.Popen(
        # This interpreter's Ray (not a `ray` script found elsewhere): its workers then import
        # the same qvl-agent as the driver.
        [sys.executable, "-m", "ray.scripts.scripts", "start", "--head", "--block",
         "--node-ip-address", "127.0.0.1", "--port", "0", f"--num-cpus={num_cpus}", "--include-dashboard=false",
         f"--object-store-memory={object_store_bytes}", f"--temp-dir={temp}", "--disable-usage-stats"],
        env={**os.environ, **LOOPBACK_ENV, **({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": auth_token}
                                             if auth_token else {})},
        stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        address_file = temp / "ray_current_cluster"
        deadline = time.monotonic() + start_timeout_s
        while not (address_file.is_file() and address_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (temp / "head.log").read_text(errors="replace")[-2000:]
                raise ConfigError(f"the Ray head did not start: {tail}")
            time.sleep(0.2)
        yield address_file.read_text().strip()
    finally:
        _stop_group(process)
        log.close()
        for _ in range(3):  # a dying Ray process may still write a last log line
            shutil.rmtree(temp, ignore_errors=True)
            if not temp.exists():
                break
            time.sleep(1)


def _stop_group(process: subprocess.Popen) -> None:
    """Ctrl-C to the head (``ray start --block`` then stops its own processes, in about two
    seconds; it ignores SIGTERM), then SIGKILL to whatever is left of its process group."""
    try:
        process.send_signal(signal.SIGINT)
        process.wait(20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return  # the whole group is gone
    process.wait(5)

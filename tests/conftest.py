"""Fixtures shared by every test package."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

# A test run started as a background job of a script (`pytest &`, or `( ... & )`) inherits
# SIGINT ignored, and so would every command the tests start: a Ctrl-C test could never stop
# them (tests/cli/test_interrupt.py, tests/eval/test_ray.py). A person's Ctrl-C reaches a
# command in a terminal; give the commands started here that default back.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

DATA = Path(__file__).parent / "data"

# Markers that follow from a fixture, so a new test cannot forget them.
_MARKER_OF_FIXTURE = {"tiny_checkpoint": "model", "virtual_phone": "android"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            if fixture in _MARKER_OF_FIXTURE:
                item.add_marker(_MARKER_OF_FIXTURE[fixture])


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Qwen2.5-VL written by the package's own helper, once per session."""
    from qvl_agent.model.tiny import write_tiny_checkpoint

    return write_tiny_checkpoint(tmp_path_factory.mktemp("tiny-qwen25vl"))


@pytest.fixture(scope="module")
def virtual_phone():
    """An AndroidEnv on a fresh built-in virtual phone (a Pixel on Android 14) with instant
    timing, stopped and disconnected after; tests of timing start their own."""
    from qvl_agent.envs.android import AndroidEnv
    from qvl_agent.envs.virtual_phone import start_virtual_phone

    with start_virtual_phone(animations=False) as phone:
        env = AndroidEnv(phone.serial)
        yield env
        env.close()


@pytest.fixture(scope="module")
def virtual_desktop():
    """A DesktopEnv on a fresh managed display (Xvfb + openbox), stopped after the module."""
    from qvl_agent.envs.desktop import open_desktop

    env = open_desktop("virtual")
    yield env
    env.close()


def run_cli(*args: str, timeout: float = 300, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``qvl-agent ARGS`` as a user would, in a fresh process, with nobody at a terminal
    (stdin is not one, even when pytest runs in a terminal: ``run`` would ask there)."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "qvl_agent.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd, stdin=subprocess.DEVNULL)

"""A fresh virtual phone per test, driven in process through its shell."""

from __future__ import annotations

import pytest

from qvl_agent.envs.sim import Phone, PhoneConfig
from tests.envs.sim.driver import Driver


@pytest.fixture
def phone() -> Phone:
    """A Pixel on Android 14 with instant timing and dumps that never fail at random."""
    return Phone(PhoneConfig(animations=False, flaky=False))


@pytest.fixture
def driver(phone: Phone) -> Driver:
    return Driver(phone.shell)

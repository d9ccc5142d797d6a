"""The adb server the environment names is the one everything uses: the ``adb`` subprocesses
and adbutils alike (``ANDROID_ADB_SERVER_PORT``, ``ADB_SERVER_SOCKET``)."""

from __future__ import annotations

import socket
import subprocess

import pytest

from qvl_agent.envs.adb_server import adb_server_address
from qvl_agent.envs.errors import ConfigError


@pytest.mark.parametrize(("environ", "address"), [
    ({}, ("127.0.0.1", 5037)),
    ({"ANDROID_ADB_SERVER_PORT": "5099"}, ("127.0.0.1", 5099)),
    ({"ANDROID_ADB_SERVER_ADDRESS": "10.0.0.7", "ANDROID_ADB_SERVER_PORT": "5099"},
     ("10.0.0.7", 5099)),
    ({"ADB_SERVER_SOCKET": "tcp:5098", "ANDROID_ADB_SERVER_PORT": "5099"}, ("127.0.0.1", 5098)),
    ({"ADB_SERVER_SOCKET": "tcp:localhost:5098"}, ("localhost", 5098)),
    ({"ADB_SERVER_SOCKET": "tcp:[::1]:5098"}, ("::1", 5098)),
])
def test_the_address_is_worked_out_as_adb_works_it_out(environ, address):
    assert adb_server_address(environ) == address


@pytest.mark.parametrize(("environ", "message"), [
    ({"ANDROID_ADB_SERVER_PORT": "abc"}, "ANDROID_ADB_SERVER_PORT must be a port number"),
    ({"ANDROID_ADB_SERVER_PORT": "70000"}, "ANDROID_ADB_SERVER_PORT must be a port number"),
    ({"ADB_SERVER_SOCKET": "localfilesystem:/tmp/adb"}, "over TCP only"),
])
def test_what_adb_would_refuse_is_one_clear_line(environ, message):
    with pytest.raises(ConfigError, match=message):
        adb_server_address(environ)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.android
@pytest.mark.parametrize("variable", ["ANDROID_ADB_SERVER_PORT", "ADB_SERVER_SOCKET"])
def test_a_phone_on_another_adb_server_is_reached_by_everything(variable, monkeypatch):
    from qvl_agent.envs.android import open_android

    port = _free_port()
    value = str(port) if variable.endswith("PORT") else f"tcp:{port}"
    monkeypatch.setenv(variable, value)
    env = None
    try:
        env = open_android("sim")                   # starts that server, connects the phone
        assert env.observe().screenshot.size == (1080, 2400)    # adbutils on that server
        listed = subprocess.run(["adb", "devices"], capture_output=True, text=True,
                                timeout=30).stdout
        assert env.serial in listed
        usual = subprocess.run(["adb", "-P", "5037", "devices"], capture_output=True,
                               text=True, timeout=30).stdout
        assert env.serial not in usual              # the usual server never saw it
    finally:
        monkeypatch.setenv(variable, value)
        if env is not None:
            env.close()
        subprocess.run(["adb", "-P", str(port), "kill-server"], capture_output=True, timeout=30)

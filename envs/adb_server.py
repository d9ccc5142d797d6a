"""Where the adb server listens, worked out as the ``adb`` binary works it out.

``adb`` (and so every ``adb`` subprocess the toolkit starts) reads ``ADB_SERVER_SOCKET``
(``tcp:HOST:PORT`` or ``tcp:PORT``) first, then ``ANDROID_ADB_SERVER_ADDRESS`` and
``ANDROID_ADB_SERVER_PORT``, and falls back to 127.0.0.1:5037. adbutils reads only the port
variable, and only when no port is passed, so the toolkit hands it this address: the
subprocesses and the Python client always talk to the same server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from qvl_agent.envs.errors import ConfigError

if TYPE_CHECKING:
    import adbutils

__all__ = ["adb_server_address", "adb_client", "DEFAULT_PORT"]

DEFAULT_PORT = 5037


def _port(text: str, where: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"{where} must be a port number (1-65535), got {text!r}; fix it or "
                          "unset it to use the adb server on 127.0.0.1:5037")
    return int(text)


def adb_server_address(environ: Mapping[str, str] | None = None) -> tuple[str, int]:
    """(host, port) of the adb server that ``adb`` itself would use.

    Raises:
        ConfigError: a variable holds something adb would refuse, or a socket that is not
            TCP (adbutils connects over TCP only).
    """
    env = os.environ if environ is None else environ
    socket_spec = env.get("ADB_SERVER_SOCKET", "").strip()
    if socket_spec:
        match = re.fullmatch(r"tcp:(?:(\[[^\]]+\]|[^:]+):)?(\d+)", socket_spec)
        if match is None:
            raise ConfigError(f"ADB_SERVER_SOCKET={socket_spec!r} is not tcp:HOST:PORT or "
                              "tcp:PORT; the toolkit reaches the adb server over TCP only")
        host = (match.group(1) or "127.0.0.1").strip("[]")
        return host, _port(match.group(2), "ADB_SERVER_SOCKET's port")
    host = env.get("ANDROID_ADB_SERVER_ADDRESS", "").strip() or "127.0.0.1"
    port_text = env.get("ANDROID_ADB_SERVER_PORT", "").strip()
    return host, _port(port_text, "ANDROID_ADB_SERVER_PORT") if port_text else DEFAULT_PORT


def adb_client() -> adbutils.AdbClient:
    """An adbutils client for the adb server that ``adb`` uses."""
    import adbutils

    host, port = adb_server_address()
    return adbutils.AdbClient(host=host, port=port)

"""Serving the MiniWoB++ task pages shipped in the ``miniwob`` package on 127.0.0.1."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["html_root", "base_url"]

_server: ThreadingHTTPServer | None = None
_lock = threading.Lock()


def html_root() -> Path:
    """The ``html`` folder of the installed ``miniwob`` package."""
    import miniwob

    return Path(miniwob.__file__).parent / "html"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def base_url() -> str:
    """``http://127.0.0.1:PORT/`` of this process's page server (started on first use)."""
    global _server
    with _lock:
        if _server is None:
            _server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(html_root())))
            _server.daemon_threads = True
            threading.Thread(target=_server.serve_forever, daemon=True, name="miniwob-http").start()
        host, port = _server.server_address[:2]
    return f"http://{host}:{port}/"

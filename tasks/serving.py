"""Serving task pages from a folder on 127.0.0.1 (one server per folder per process)."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["serve_dir"]

_servers: dict[Path, ThreadingHTTPServer] = {}
_lock = threading.Lock()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser navigated away before the answer was sent


def serve_dir(folder: Path) -> str:
    """``http://127.0.0.1:PORT/`` serving ``folder``; started on first use."""
    folder = folder.resolve()
    with _lock:
        server = _servers.get(folder)
        if server is None:
            server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(folder)))
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True, name=f"serve-{folder.name}").start()
            _servers[folder] = server
        host, port = server.server_address[:2]
    return f"http://{host}:{port}/"

"""A local folder served on 127.0.0.1 while a browser screen is open (``BrowserSpec.serve``,
an RPA script's ``web.serve``: Midscene's ``http-server`` on a free port); the page's
``url`` is a path in it."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin

__all__ = ["FolderServer"]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # a run's output is not a web server's log
        pass


class FolderServer:
    """Serves ``root`` (read-only, static files) on 127.0.0.1 at a free port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="qvl-serve")

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def url(self, path: str) -> str:
        """``path`` in the folder as a URL ("index.html", "/a/b.html?x=1")."""
        return urljoin(self.base, path.lstrip("/"))

    def start(self) -> "FolderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (a server never started is only closed)."""
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> "FolderServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

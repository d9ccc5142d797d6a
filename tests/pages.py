"""A local web server for test pages that records what the pages report back.

Pages post events with ``navigator.sendBeacon('/event', json)``; a test reads
``server.events`` to see what the page really received (clicks, keys, values).
"""

from __future__ import annotations

import json
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGES = Path(__file__).parent / "data" / "pages"


class PageServer:
    def __init__(self, root: Path = PAGES) -> None:
        self.events: list[dict[str, Any]] = []
        server = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                if self.path == "/event":
                    server.events.append(json.loads(body or b"{}"))
                self.send_response(204)
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def url(self, page: str) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/{page}"

    def of_type(self, *types: str, count: int = 1, wait: float = 5.0) -> list[dict[str, Any]]:
        """The events of these types, once at least ``count`` have arrived (beacons are
        asynchronous) or ``wait`` seconds have passed."""
        deadline = time.monotonic() + wait
        while True:
            found = [e for e in self.events if e.get("type") in types]
            if len(found) >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.05)

    def __enter__(self) -> "PageServer":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

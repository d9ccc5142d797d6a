"""A local OpenAI-compatible server that answers the way Qwen2.5-VL does.

It reads what a real server would get (the system prompt with the tool and the frame size,
the goal, the screenshot as a data URL) and asks a test-supplied ``respond`` function for
the model's text, which gives coordinates in *frame* pixels, as Qwen does. It also checks
invariant 1 on every request: the image it receives is exactly the size the tool
description states.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

_RESOLUTION = re.compile(r"The screen's resolution is (\d+)x(\d+)\.")
_TOOL = re.compile(r'"name": "(computer_use|mobile_use)"')
_GOAL = re.compile(r"The user query:  (.*?)\nTask progress", re.DOTALL)


@dataclass
class QwenRequest:
    """One chat request as the fake model sees it."""

    body: dict[str, Any]
    tool: str | None
    frame: tuple[int, int] | None
    goal: str | None
    images: list[Image.Image]
    texts: list[str]
    index: int

    @property
    def image(self) -> Image.Image:
        return self.images[-1]

    def to_frame(self, x: float, y: float, screen: tuple[int, int]) -> list[int]:
        """Screen coordinates (which the test knows) to this request's frame pixels."""
        assert self.frame is not None
        return [int(x * self.frame[0] / screen[0]), int(y * self.frame[1] / screen[1])]


def tool_call(tool: str = "computer_use", **arguments: Any) -> str:
    """The text Qwen2.5-VL writes for one call."""
    payload = json.dumps({"name": tool, "arguments": arguments})
    return f"<tool_call>\n{payload}\n</tool_call>"


@dataclass
class FakeQwen:
    """Start with ``with FakeQwen(respond) as server: ... server.url``."""

    respond: Callable[[QwenRequest], str]
    model_name: str = "Qwen2.5-VL-7B-Instruct"
    requests: list[QwenRequest] = field(default_factory=list)
    failures: list[int] = field(default_factory=list)  # status codes to answer first
    violations: list[str] = field(default_factory=list)
    # Image tokens the server's processor keeps (None: all of them, as a matching server).
    max_image_tokens: int | None = None

    def prompt_tokens(self, request: QwenRequest) -> int:
        """What vLLM would report: 28x28 blocks of each image (capped) plus the text."""
        images = sum((i.width // 28) * (i.height // 28) for i in request.images)
        if self.max_image_tokens is not None:
            images = min(images, self.max_image_tokens)
        return images + sum(len(t) for t in request.texts) // 4

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeQwen":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            if self.failures:
                status = self.failures.pop(0)
                return status, {"error": {"message": f"injected failure {status}"}}
            request = _parse(body, len(self.requests))
            self.requests.append(request)
        if request.frame and request.images and request.image.size != request.frame:
            self.violations.append(f"image {request.image.size} != stated frame {request.frame}")
        text = self.respond(request)
        return 200, {
            "id": f"chatcmpl-{request.index}",
            "object": "chat.completion",
            "created": 0,
            "model": self.model_name,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": self.prompt_tokens(request), "completion_tokens": 20,
                      "total_tokens": self.prompt_tokens(request) + 20},
        }


def _parse(body: dict[str, Any], index: int) -> QwenRequest:
    images: list[Image.Image] = []
    texts: list[str] = []
    for message in body.get("messages", []):
        content = message["content"]
        if isinstance(content, str):
            texts.append(content)
            continue
        for part in content:
            if part["type"] == "text":
                texts.append(part["text"])
            elif part["type"] == "image_url":
                data = part["image_url"]["url"].split(",", 1)[1]
                images.append(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB"))
    joined = "\n".join(texts)
    resolution = _RESOLUTION.search(joined)
    tool = _TOOL.search(joined)
    goal = _GOAL.search(joined)
    return QwenRequest(
        body=body,
        tool=tool.group(1) if tool else None,
        frame=(int(resolution.group(1)), int(resolution.group(2))) if resolution else None,
        goal=goal.group(1) if goal else None,
        images=images,
        texts=texts,
        index=index,
    )


def _handler_for(server: FakeQwen) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": server.model_name, "object": "model", "created": 0, "owned_by": "test"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            status, payload = server._answer(body)
            self._send(status, payload)

    return Handler

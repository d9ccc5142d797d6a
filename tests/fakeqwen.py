"""A local OpenAI-compatible server that answers the way Qwen2.5-VL does.

It reads what a real server would get (the system prompt with the tool and the frame size,
the goal, the screenshot as a data URL) and asks a test-supplied ``respond`` function for
the model's text, which gives coordinates in *frame* pixels, as Qwen does. It also checks
invariant 1 on every request: the image it receives is exactly the size the tool
description states.

It is as hard as vLLM where that matters: prompt tokens are counted the way the real
processor does (the official chat template rendered, a byte-level BPE tokenizer with Qwen's
special tokens, each image's ``<|image_pad|>`` expanded to its 28x28 blocks), images larger
than the server's own ``max_pixels`` are shrunk with ``smart_resize`` before the model sees
them (so a test's model answers in the shrunk image's pixels, as the real one would), and
completion tokens are the answer's tokens plus the end-of-turn token it stopped at (or
``max_tokens`` when cut off), ``/tokenize`` answers like vLLM's (``tokenize_endpoint=False`` removes it). A one-token
completion is a probe: answered with "" and kept in ``probes``, not ``requests``.
"""

from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

from PIL import Image

_RESOLUTION = re.compile(r"The screen's resolution is (\d+)x(\d+)\.")
_TOOL = re.compile(r'"name": "(computer_use|mobile_use)"')
_GOAL = re.compile(r"The user query:  (.*?)\nTask progress", re.DOTALL)
# model.prompts.grounding_question: what a grounding request asks to find.
_GROUNDING = re.compile(r"(?:Locate|Point to) (.*) in the image, output its (?:bbox|point) coordinates")


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
    grounding: str | None = None  # what a grounding question asks for ("the Login button")

    @property
    def image(self) -> Image.Image:
        return self.images[-1]

    def to_frame(self, x: float, y: float, screen: tuple[int, int]) -> list[int]:
        """Screen coordinates (which the test knows) to this request's frame pixels."""
        assert self.frame is not None
        return [int(x * self.frame[0] / screen[0]), int(y * self.frame[1] / screen[1])]


# The chat-completion fields of the OpenAI schema that a strict server takes.
OPENAI_FIELDS = frozenset({"model", "messages", "max_tokens", "max_completion_tokens", "temperature",
                           "top_p", "stop", "stream", "seed", "frequency_penalty", "logit_bias"})


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
    # The server processor's own limit: larger images are shrunk (vLLM's max_pixels).
    max_pixels: int = 12845056
    tokenize_endpoint: bool = True
    max_images: int | None = None  # vLLM's --limit-mm-per-prompt (None: no limit)
    probes: list[dict[str, Any]] = field(default_factory=list)
    tokenize_calls: int = 0
    # Each HTTP request's Authorization header (None when absent), in the order received.
    authorizations: list[str | None] = field(default_factory=list)
    # Answers to chat requests sent as they are, before any other: (status, content type,
    # body), e.g. a proxy's HTML page or a cut JSON body with a 200.
    raw_answers: list[tuple[int, str, str]] = field(default_factory=list)
    # Seconds before each chat answer: a server that is up but hung (or very slow).
    delay_s: float = 0.0
    chat_requests: int = 0  # every chat request received, answered or not
    # A strict server's request fields (transformers serve: the OpenAI schema's, and
    # generation_config): any other is refused with its 422 "Unexpected fields in the
    # request: {...}". None takes any field, as vLLM does.
    accepted_fields: frozenset[str] | None = None
    refusals: list[set[str]] = field(default_factory=list)  # the fields refused, in order
    # Tokens the server's answers count beyond its own /tokenize and probes (a server that
    # renders a request differently from its token counter: another template, another path).
    extra_prompt_tokens: int = 0

    def prompt_tokens(self, request: QwenRequest) -> int:
        """What vLLM reports: the rendered template's tokens, each image pad expanded."""
        return count_tokens(request.body.get("messages", []), request.images) + self.extra_prompt_tokens

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
            if self.accepted_fields is not None and (extra := set(body) - self.accepted_fields):
                self.refusals.append(extra)
                return 422, {"detail": f"Unexpected fields in the request: {extra}"}
            if body.get("max_tokens") == 1:
                self.probes.append(body)
                tokens = count_tokens(body.get("messages", []), [])
                return 200, _completion(-1, self.model_name, "", tokens, "length", 1)
            images = sum(1 for m in body.get("messages", []) if not isinstance(m["content"], str)
                         for part in m["content"] if part.get("type") == "image_url")
            if self.max_images is not None and images > self.max_images:
                return 400, {"error": {"message": f"At most {self.max_images} image(s) may be "
                                                  "provided in one prompt."}}
            request = _parse(body, len(self.requests), self.max_pixels)
            self.requests.append(request)
        if request.frame and request.images and request.image.size != request.frame:
            self.violations.append(f"image {request.image.size} != stated frame {request.frame}")
        text = self.respond(request)
        limit = body.get("max_tokens")
        ids = _tokenizer().encode(text).ids
        finish, completion = "stop", len(ids) + 1  # vLLM counts the <|im_end|> it stopped at
        if isinstance(limit, int) and len(ids) > limit:
            text = _tokenizer().decode(ids[:limit], skip_special_tokens=False)
            finish, completion = "length", limit
        return 200, _completion(request.index, self.model_name, text,
                                self.prompt_tokens(request), finish, completion)

    def _tokenize(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """vLLM's /tokenize for chat messages: {"count", "max_model_len", "tokens"}."""
        with self._lock:
            self.tokenize_calls += 1
        messages = body.get("messages", [])
        images = [_image_from(part) for m in messages if not isinstance(m["content"], str)
                  for part in m["content"] if part.get("type") == "image_url"]
        images = [_shrunk(image, self.max_pixels) for image in images]
        count = count_tokens(messages, images, body.get("add_generation_prompt", True))
        return 200, {"count": count, "max_model_len": 32768, "tokens": []}


def _completion(index: int, model: str, text: str, prompt_tokens: int,
                finish: str, completion_tokens: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{index}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    """A byte-level BPE with Qwen's special tokens (the tiny checkpoint's tokenizer)."""
    from tokenizers import Tokenizer

    from qvl_agent.model.tiny import _tokenizer_json

    return Tokenizer.from_str(_tokenizer_json())


@lru_cache(maxsize=1)
def _template() -> Any:
    import jinja2

    text = resources.files("qvl_agent.model").joinpath("data/chat_template.jinja").read_text(encoding="utf-8")
    return jinja2.Environment().from_string(text)


def count_tokens(messages: list[dict[str, Any]], images: list[Image.Image],
                 add_generation_prompt: bool = True) -> int:
    """The prompt tokens of ``messages``; ``images`` (as the model gets them) in order."""
    text = _template().render(messages=messages, add_generation_prompt=add_generation_prompt)
    pads = text.count("<|image_pad|>")
    tokens = len(_tokenizer().encode(text).ids)
    if pads != len(images):  # text-only requests keep their literal pad tokens
        return tokens
    return tokens + sum((i.width // 28) * (i.height // 28) - 1 for i in images)


def _shrunk(image: Image.Image, max_pixels: int) -> Image.Image:
    """The image as the server's processor feeds it: smart_resize at the server's limits."""
    from qwen_vl_utils import smart_resize

    height, width = smart_resize(image.height, image.width, factor=28, min_pixels=3136,
                                 max_pixels=max_pixels)
    if (width, height) == image.size:
        return image
    return image.resize((width, height), Image.BICUBIC)


def _image_from(part: dict[str, Any]) -> Image.Image:
    data = part["image_url"]["url"].split(",", 1)[1]
    return Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")


def _parse(body: dict[str, Any], index: int, max_pixels: int = 12845056) -> QwenRequest:
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
                images.append(_shrunk(_image_from(part), max_pixels))
    joined = "\n".join(texts)
    resolution = _RESOLUTION.search(joined)
    tool = _TOOL.search(joined)
    goal = _GOAL.search(joined)
    grounding = _GROUNDING.search(joined)
    return QwenRequest(
        body=body,
        tool=tool.group(1) if tool else None,
        frame=(int(resolution.group(1)), int(resolution.group(2))) if resolution else None,
        goal=goal.group(1) if goal else None,
        images=images,
        texts=texts,
        index=index,
        grounding=grounding.group(1) if grounding else None,
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
            server.authorizations.append(self.headers.get("Authorization"))
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [
                    {"id": server.model_name, "object": "model", "created": 0, "owned_by": "test"}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            server.authorizations.append(self.headers.get("Authorization"))
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length))
            if self.path.rstrip("/") == "/tokenize" and server.tokenize_endpoint:
                self._send(*server._tokenize(body))
                return
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            with server._lock:
                server.chat_requests += 1
                raw = server.raw_answers.pop(0) if server.raw_answers else None
            if server.delay_s:
                time.sleep(server.delay_s)
            if raw is not None:
                status, content_type, text = raw
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            status, payload = server._answer(body)
            self._send(status, payload)

    return Handler

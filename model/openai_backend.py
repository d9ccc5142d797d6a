"""``OpenAIBackend``: Qwen2.5-VL behind an OpenAI-compatible server (vLLM, SGLang, ...).

Such servers do not honour per-request min/max pixels, so the image is sent already
resized to the Frame, losslessly (PNG): a size that is a multiple of 28 inside the limits
is a fixed point of the server's own ``smart_resize``, so the model sees exactly the frame.
Whether the server kept it so is checked exactly (``model.token_check``) the first time
each set of image sizes is sent.

A request that fails is tried again (connection errors, a request that got no answer within
``timeout``, 408/409/429 and 5xx answers, and a 200 whose body is not an OpenAI response,
such as a proxy's HTML page), with backoff, up to ``max_retries`` times and never past
twice ``timeout`` in all: a hung server costs one step about ``2 x timeout``, then the run
stops with what happened ("did not answer within S s", "is rate limiting", ...).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from PIL import Image

from qvl_agent.envs.errors import ModelUnavailableError
from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS, Generation, images_in
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS
from qvl_agent.model.png import encode_png
from qvl_agent.model.prompts import Message
from qvl_agent.model.sampling import CHECKPOINT_SAMPLING, SamplingFields
from qvl_agent.model.token_check import IMAGE_PLACEHOLDER, check_prompt_tokens, image_tokens, text_probe

_log = logging.getLogger("qvl_agent")
_PADLESS = IMAGE_PLACEHOLDER.replace("<|image_pad|>", "")

__all__ = ["OpenAIBackend", "encode_image", "to_openai_messages", "DEFAULT_REQUEST_TIMEOUT"]

# Seconds one request may take: the longest answer of a 7B model (the 2048-token budget at
# the ~40-60 tokens/s of one vLLM sequence on an A100-class GPU, plus the image's prefill)
# fits; a typical step's answer takes a few seconds.
DEFAULT_REQUEST_TIMEOUT = 60.0


def encode_image(image: Image.Image) -> str:
    """A lossless PNG data URL of ``image`` (``model.png``: fast, exactly these pixels)."""
    return "data:image/png;base64," + base64.b64encode(encode_png(image)).decode("ascii")


class _Encoded:
    """Data URLs of the last few images sent: history screenshots go out again every step,
    and encoding them again would cost as much as the new one. Keyed by the image object,
    which is kept alive with its URL so its id is not reused while cached."""

    def __init__(self, size: int = 12) -> None:
        self.size = size
        self._urls: OrderedDict[int, tuple[Image.Image, str]] = OrderedDict()
        self._lock = threading.Lock()

    def url(self, image: Image.Image) -> str:
        with self._lock:
            hit = self._urls.get(id(image))
            if hit is not None and hit[0] is image:
                self._urls.move_to_end(id(image))
                return hit[1]
        url = encode_image(image)
        with self._lock:
            self._urls[id(image)] = (image, url)
            while len(self._urls) > self.size:
                self._urls.popitem(last=False)
        return url


_ENCODED = _Encoded()


def to_openai_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Our messages in the chat-completions form, images as data URLs."""
    converted = []
    for message in messages:
        content = message["content"]
        if not isinstance(content, str):
            content = [
                {"type": "image_url", "image_url": {"url": _ENCODED.url(part["image"])}}
                if part["type"] == "image" else {"type": "text", "text": part["text"]}
                for part in content
            ]
        converted.append({"role": message["role"], "content": content})
    return converted


class OpenAIBackend:
    """Chat completions against ``base_url`` (e.g. ``http://localhost:8000/v1``).

    Args:
        base_url: the server's OpenAI-compatible root, usually ending in ``/v1``.
        model: the served model name; None asks the server and takes its only model.
        api_key_env: the environment variable holding the API key (servers that need none
            accept any; ``EMPTY`` is sent when it is unset).
        max_retries: retries with exponential backoff on connection errors, timeouts,
            408/409/429 and 5xx answers, and answers that are not OpenAI responses. Another
            4xx answer is not retried.
        timeout: seconds for one request; the tries of one call stop after twice this.
        min_pixels, max_pixels: the Frame's limits (stated for symmetry with the local
            backend; the server's own limits must admit the frame, which the defaults do).
        repetition_penalty: sent with every request, as the Instruct checkpoints'
            generation_config.json sets it (the local backend applies it the same way), where
            the server takes it (``model.sampling``); None leaves it to the server.
        check_tokens: verify the server's prompt-token count against the exact count.
    """

    def __init__(self, base_url: str, *, model: str | None = None,
                 api_key_env: str = "OPENAI_API_KEY", max_retries: int = 3,
                 timeout: float = DEFAULT_REQUEST_TIMEOUT, min_pixels: int = MIN_PIXELS,
                 max_pixels: int = MAX_PIXELS, repetition_penalty: float | None = 1.05,
                 check_tokens: bool = True) -> None:
        import openai

        self._openai = openai
        self.base_url = base_url.rstrip("/")
        self.min_pixels, self.max_pixels = min_pixels, max_pixels
        self.repetition_penalty = repetition_penalty
        self.sampling = SamplingFields(
            {} if repetition_penalty is None else {**CHECKPOINT_SAMPLING,
                                                   "repetition_penalty": repetition_penalty})
        self.notices: list[str] = []  # what was told the user about this server, once each
        self.check_tokens = check_tokens
        self._checked: set[tuple[tuple[int, int], ...]] = set()
        # Retries are ours (``_call``): the client's would not be bounded in time.
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=os.environ.get(api_key_env) or "EMPTY",
            max_retries=0, timeout=timeout,
        )
        self.max_retries = max_retries
        self.timeout = timeout
        self.model = model or self._only_model()
        self.name = f"{self.model} @ {self.base_url}"

    def _only_model(self) -> str:
        page = self._call(lambda t: self.client.models.list(timeout=t),
                          lambda page: isinstance(getattr(page, "data", None), list))
        models = [m.id for m in page.data]
        if len(models) != 1:
            listed = ", ".join(models) or "none"
            raise ModelUnavailableError(
                f"the server at {self.base_url} serves {len(models)} models ({listed}); "
                "name one with --served-model"
            )
        return models[0]

    def generate(self, messages: list[Message], *,
                 max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS) -> Generation:
        payload = to_openai_messages(messages)
        started = time.perf_counter()
        response = self._complete(payload, max_new_tokens)
        elapsed = time.perf_counter() - started
        usage = response.usage
        prompt_tokens = usage.prompt_tokens if usage is not None else None
        sizes = tuple(image.size for image in images_in(messages))
        if self.check_tokens and sizes and prompt_tokens is not None and sizes not in self._checked:
            check_prompt_tokens(self, messages, prompt_tokens)  # raises ConfigError if resized
            self._checked.add(sizes)
        choice = response.choices[0]
        return Generation(
            text=choice.message.content or "",
            model_s=elapsed,
            prompt_tokens=prompt_tokens,
            # Servers do not break the count down; the frames' share is exact (checked above).
            image_tokens=(sum(image_tokens(size) for size in sizes)
                          if prompt_tokens is not None else None),
            completion_tokens=usage.completion_tokens if usage else None,
            truncated=choice.finish_reason == "length",
        )

    def _complete(self, payload: list[dict[str, Any]], max_tokens: int, *,
                  raw: bool = False) -> Any:
        """One chat completion at temperature 0 with the checkpoint's sampling settings, in the
        form the server takes (a field it refuses by name moves them on, ``model.sampling``).
        ``raw``: any other refusal is raised as the client's ``APIStatusError``."""
        while True:
            form = self.sampling.form
            try:
                response = self._call(lambda t: self.client.chat.completions.create(
                    model=self.model, messages=payload, max_tokens=max_tokens, temperature=0.0,
                    extra_body=self.sampling.extra_body(), timeout=t,
                ), _is_completion, raw=True)
            except self._openai.APIStatusError as exc:
                if exc.status_code in (400, 422) and form != "none":
                    line = self.sampling.refused(_detail(exc), form)
                    if self.sampling.form != form:
                        if line:
                            self._notice(line)
                        continue
                if raw:
                    raise
                raise self._refusal(exc) from None
            if form == "generation_config":  # kept, in another form: said once, as a note
                self._notice(self.sampling.accepted_line(), level=logging.INFO)
            return response

    def _notice(self, line: str, *, level: int = logging.WARNING) -> None:
        """Tell the user ``line`` once (the ``qvl_agent`` logger; the CLI prints it)."""
        text = f"the model server at {self.base_url}: {line}"
        if text not in self.notices:
            self.notices.append(text)
            _log.log(level, text)

    def count_prompt_tokens(self, messages: list[Message]) -> int | None:
        """The server's own token count for ``messages`` with every image replaced by its
        three placeholder tokens: from ``/tokenize`` (vLLM, SGLang) when the server has
        one, else from a one-token completion (a server that refuses an ``<|image_pad|>``
        without its image, as ``transformers serve`` does, counts the two tokens around it,
        plus one per image). None if the server does not say."""
        probe = to_openai_messages(text_probe(messages))
        root = self.base_url.removesuffix("/v1")
        body = json.dumps({"model": self.model, "messages": probe,
                           "add_generation_prompt": True}).encode()
        headers = {"Authorization": f"Bearer {self.client.api_key}",
                   "Content-Type": "application/json"}
        for url in dict.fromkeys((f"{root}/tokenize", f"{self.base_url}/tokenize")):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    answer = json.loads(reply.read())
            except (OSError, ValueError):  # no such endpoint (HTTPError is an OSError)
                continue
            if isinstance(answer, dict) and isinstance(answer.get("count"), int):
                return answer["count"]
        try:
            response = self._complete(probe, 1, raw=True)
            padless = 0
        except self._openai.APIStatusError as exc:
            if exc.status_code != 400:
                raise self._refusal(exc) from None
            padless = len(list(images_in(messages)))
            response = self._complete(to_openai_messages(text_probe(messages, _PADLESS)), 1)
        usage = response.usage
        return usage.prompt_tokens + padless if usage is not None else None

    def _call(self, request: Callable[[float], Any], valid: Callable[[Any], bool], *,
              raw: bool = False) -> Any:
        """``request(timeout)``, tried again on what may pass (see the module docstring).
        ``raw``: a refusal that no retry changes (a 4xx) is raised as the client's
        ``APIStatusError``, for the caller to read."""
        openai = self._openai
        started = time.monotonic()
        budget = 2 * self.timeout
        tries = 0
        while True:
            tries += 1
            left = started + budget - time.monotonic()
            try:
                result = request(max(1.0, min(self.timeout, left)))
                if valid(result):
                    return result
                problem = ("not_openai", _describe(result))
            except openai.APITimeoutError:
                problem = ("timeout", "")
            except openai.APIConnectionError as exc:
                problem = ("unreachable", exc.__class__.__name__)
            except openai.APIStatusError as exc:
                if exc.status_code not in (408, 409, 429) and exc.status_code < 500:
                    if raw:
                        raise
                    raise self._refusal(exc) from None
                problem = (str(exc.status_code), _detail(exc)[:200])
            except ValueError as exc:  # a body that is not JSON at all (json's error)
                problem = ("not_openai", f"a body that is not JSON ({exc})")
            wait = min(0.5 * 2 ** (tries - 1), 8.0)
            if tries > self.max_retries or time.monotonic() + wait >= started + budget:
                raise ModelUnavailableError(self._failed(problem, tries, time.monotonic() - started))
            time.sleep(wait)

    def _failed(self, problem: tuple[str, str], tries: int, spent: float) -> str:
        kind, detail = problem
        server = f"the model server at {self.base_url}"
        after = f"{tries} tr{'y' if tries == 1 else 'ies'} in {spent:.0f} s"
        if kind == "timeout":
            return (f"{server} did not answer within {self.timeout:g} s ({after}); it accepted "
                    "the connection, so it is running but stuck or overloaded: check it, or "
                    "give it longer with --request-timeout")
        if kind == "unreachable":
            return (f"cannot reach {server} ({detail}, {after}); is it running? check --endpoint")
        if kind == "not_openai":
            return (f"{server} answered with something that is not an OpenAI response "
                    f"({detail}; {after}); is --endpoint the server's OpenAI-compatible URL "
                    "(usually ending in /v1), and not a proxy's or a web page's?")
        if kind == "429":
            return (f"{server} is rate limiting the requests (429 Too Many Requests, {after}): "
                    f"{detail}; use fewer --workers, or raise the server's limits")
        return f"{server} failed with {kind} ({after}): {detail}"

    def _refusal(self, exc: Any) -> ModelUnavailableError:
        """A refusal no retry changes (4xx), in the server's own words."""
        return ModelUnavailableError(f"the model server at {self.base_url} refused the "
                                     f"request ({exc.status_code}): {_detail(exc)[:200]}")


def _is_completion(response: Any) -> bool:
    """A chat completion with at least one choice that has a message."""
    choices = getattr(response, "choices", None)
    return (isinstance(choices, list) and bool(choices)
            and getattr(choices[0], "message", None) is not None)


def _describe(body: Any) -> str:
    """What came back instead, in a few words: the start of an HTML page, a JSON value."""
    if isinstance(body, str):
        text = " ".join(body.split())
        kind = "an HTML page" if text.lstrip().lower().startswith(("<!doctype", "<html")) else "text"
        return f"{kind}: {text[:80]!r}"
    if hasattr(body, "model_dump"):
        return f"JSON without choices: {json.dumps(body.model_dump(exclude_none=True))[:80]}"
    return f"{type(body).__name__}: {str(body)[:80]!r}"


def _detail(exc: Any) -> str:
    """The server's own words: OpenAI's ``message``, FastAPI's ``detail``, or the status line."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    text = body.get("message") or body.get("detail") or error.get("message") or exc.message
    return " ".join(str(text).split())

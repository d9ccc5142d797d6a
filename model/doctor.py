"""``check_server``: is an OpenAI-compatible server ready for a long qvl-agent run?

Each check is one row: what was checked, whether it passed, what was seen, and, when it
failed, the server flag (vLLM, SGLang) or qvl-agent option that fixes it. The checks send
real requests: a synthetic 1920x1080 screenshot at the chosen max-pixels, and K+1 frames at
once when history images are used.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PIL import Image, ImageDraw

from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ConfigError, ModelUnavailableError
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS, Frame
from qvl_agent.model.openai_backend import OpenAIBackend
from qvl_agent.model.prompts import PastStep, agent_messages
from qvl_agent.model.token_check import resize_advice

__all__ = ["Check", "check_server"]


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    warn: bool = False  # passed, with something the user should know


def _screenshot() -> Image.Image:
    image = Image.new("RGB", (1920, 1080), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    for row in range(30):
        draw.text((40, 30 + row * 34), f"Row {row}: a line of text to look at", fill=(20, 20, 20))
    draw.rectangle([1500, 880, 1620, 930], fill=(30, 90, 200))
    return image


def check_server(endpoint: str, *, served_model: str | None = None,
                 min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS,
                 history_images: int = 0) -> list[Check]:
    """The checks in order; later ones are skipped when the server cannot be reached."""
    rows: list[Check] = []
    try:
        backend = OpenAIBackend(endpoint, model=served_model, max_retries=1, min_pixels=min_pixels,
                                max_pixels=max_pixels, check_tokens=False)
    except ModelUnavailableError as exc:
        text = str(exc)
        if "name one with --served-model" in text:
            rows.append(Check("reachable", True, f"{endpoint} answers"))
            rows.append(Check("served model", False, text.split("; name one")[0],
                              "pass --served-model NAME (or serve one model)"))
        else:
            rows.append(Check("reachable", False, text,
                              "start the server (vllm serve / python -m sglang.launch_server) "
                              "and check --endpoint"))
        return rows
    rows.append(Check("reachable", True, f"{endpoint} answers"))
    rows.append(Check("served model", True, backend.model))

    screen = _screenshot()
    frame = Frame.for_image(screen, Size(width=1920, height=1080), min_pixels=min_pixels,
                            max_pixels=max_pixels)
    image = frame.resize(screen)
    messages = agent_messages("computer_use", frame.size, "click the blue button", image)
    started = time.perf_counter()
    try:
        generation = backend.generate(messages, max_new_tokens=64)
        elapsed = time.perf_counter() - started
        exact = backend.count_prompt_tokens(messages)
    except ModelUnavailableError as exc:
        rows.append(Check("one step", False, str(exc), "see the server's log"))
        return rows
    from qvl_agent.model.token_check import check_prompt_tokens, expected_prompt_tokens

    if exact is None or generation.prompt_tokens is None:
        rows.append(Check(f"image tokens at {frame.width}x{frame.height}", False,
                          "the server reports no token counts, so a resize cannot be ruled out",
                          "use vLLM or SGLang, which report usage and have /tokenize"))
    else:
        expected = expected_prompt_tokens(exact, [frame.size])
        try:
            check_prompt_tokens(backend, messages, generation.prompt_tokens, probe=exact)
            rows.append(Check(f"image tokens at {frame.width}x{frame.height}", True,
                              f"exact: {generation.prompt_tokens} prompt tokens = {expected} "
                              f"({frame.image_tokens} for the frame)"))
        except ConfigError as exc:
            counts = (f"{generation.prompt_tokens} prompt tokens, exact is {expected} ({exact} for "
                      f"the text, {frame.image_tokens} for the frame)")
            if "renders the prompt differently" in str(exc):
                rows.append(Check(f"image tokens at {frame.width}x{frame.height}", False,
                                  f"{counts}: no resize explains the difference, the server "
                                  "renders the prompt differently (another chat template or "
                                  "tokenizer)",
                                  "serve a Qwen2.5-VL-Instruct checkpoint with its own chat "
                                  "template and tokenizer (no --chat-template)"))
            else:
                rows.append(Check(f"image tokens at {frame.width}x{frame.height}", False,
                                  f"{counts}: the server resizes the frame",
                                  f"{resize_advice(frame.width * frame.height)}; or "
                                  + str(exc).rsplit(", or ", 1)[-1]))
    if history_images > 0:
        rows.append(_several_images(backend, frame, image, history_images))
    # Which sampling fields the server took: settled by the requests above (model.sampling).
    dropped = backend.sampling.form == "none"
    rows.append(Check("generation settings", True,
                      backend.sampling.accepted_line() + " (the checkpoint's generation_config.json)",
                      "start the server with the checkpoint's generation_config.json as its "
                      "default (vLLM: --generation-config auto)" if dropped else "", warn=dropped))
    rows.append(Check("latency of one step", True,
                      f"{elapsed:.2f} s for a {frame.width}x{frame.height} frame and "
                      f"{generation.completion_tokens} answer tokens"))
    return rows


def _several_images(backend: OpenAIBackend, frame: Frame, image: Image.Image, k: int) -> Check:
    past = [PastStep(call=None, answer="<tool_call>\n{}\n</tool_call>", image=image)] * k
    messages = agent_messages("computer_use", frame.size, "click the blue button", image, past,
                              history_images=k)
    name = f"{k + 1} images per request"
    try:
        backend.generate(messages, max_new_tokens=16)
    except ModelUnavailableError as exc:
        return Check(name, False, str(exc),
                     f"start vLLM with --limit-mm-per-prompt '{{\"image\": {k + 1}}}' "
                     f"(SGLang takes several by default), or lower --history-images")
    return Check(name, True, f"a request with {k + 1} frames was accepted")

"""Where a server takes the checkpoint's sampling settings, and what it refuses by name.

The Qwen2.5-VL-Instruct checkpoints' ``generation_config.json`` sets ``repetition_penalty``
1.05; the client sends it so the server's own defaults do not decide. Servers differ in
where they take it:

- vLLM, SGLang (and most gateways): a field of the request, ``"repetition_penalty": 1.05``;
- ``transformers serve``: refuses unknown fields (422 "Unexpected fields in the request:
  {'repetition_penalty'}") but takes ``"generation_config": "{\\"repetition_penalty\\": 1.05}"``;
- a strict server that takes neither: the setting is left out and the server decodes with
  its own (said once: the answers may differ from the checkpoint's).

``SamplingFields`` tries those forms in that order, moving on only when the server names the
refused field, and keeps the first form the server accepts for every later request.
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

__all__ = ["SamplingFields", "refused_fields", "CHECKPOINT_SAMPLING"]

# What the Instruct checkpoints' generation_config.json sets that matters under greedy decoding.
CHECKPOINT_SAMPLING: dict[str, float] = {"repetition_penalty": 1.05}

# "Unexpected fields in the request: {'repetition_penalty'}" (transformers serve), "Extra
# inputs are not permitted" with a loc (FastAPI/pydantic), "unknown field `x`" (serde), ...
_NAMED = re.compile(r"unexpected|unknown|unrecognized|not permitted|not allowed|extra|unsupported",
                    re.IGNORECASE)


def refused_fields(detail: str, candidates: set[str]) -> set[str]:
    """The fields of ``candidates`` that a 400/422 answer's ``detail`` refuses by name."""
    if not _NAMED.search(detail):
        return set()
    return {name for name in candidates
            if re.search(rf"[\"'`]?\b{re.escape(name)}\b[\"'`]?", detail)}


class SamplingFields:
    """The request fields that carry ``settings`` to one server (thread-safe).

    Args:
        settings: name -> value, e.g. ``{"repetition_penalty": 1.05}``; empty sends nothing.
    """

    FORMS = ("fields", "generation_config", "none")

    def __init__(self, settings: dict[str, float]) -> None:
        self.settings = dict(settings)
        self._form = 0 if settings else len(self.FORMS) - 1
        self._lock = threading.Lock()

    @property
    def form(self) -> str:
        """How the settings go out now: as fields, in ``generation_config``, or not at all."""
        return self.FORMS[self._form]

    def extra_body(self) -> dict[str, Any] | None:
        match self.form:
            case "fields":
                return dict(self.settings)
            case "generation_config":
                return {"generation_config": json.dumps(self.settings)}
            case _:
                return None

    def sent_names(self) -> set[str]:
        return set(self.extra_body() or {})

    def refused(self, detail: str, tried: str) -> str | None:
        """The server refused the form ``tried`` with ``detail``: move on to the next form.
        Returns the line to tell the user (once), or None if ``detail`` names none of our
        fields (then it is a real refusal, not a field the server does not know)."""
        names = refused_fields(detail, {"generation_config"} if tried == "generation_config"
                               else set(self.settings))
        if not names:
            return None
        with self._lock:
            if self.FORMS[self._form] == tried:
                self._form += 1
        shown = ", ".join(f"{k} {v:g}" for k, v in self.settings.items())
        if tried == "fields":
            return None  # the next form may still carry them; said when it is settled
        return (f"the server refuses the checkpoint's sampling settings ({shown}) both as request "
                "fields and in generation_config; requests go without them, so the server decodes "
                "with its own defaults and its answers may differ from the checkpoint's (greedy "
                "answers can repeat themselves without the repetition penalty)")

    def accepted_line(self) -> str:
        """What the server takes, for ``doctor``."""
        shown = ", ".join(f"{k} {v:g}" for k, v in self.settings.items())
        match self.form:
            case "fields":
                return f"temperature 0 and {shown} accepted as request fields"
            case "generation_config":
                return (f"temperature 0 accepted; {', '.join(self.settings)} refused as a field, "
                        f"so {shown} goes in generation_config (transformers serve's form), accepted")
            case _:
                return (f"temperature 0 accepted; {', '.join(self.settings)} refused as a field and "
                        "in generation_config: the server decodes with its own setting, answers "
                        "may differ from the checkpoint's")

"""Questions about a screenshot: aiQuery, aiBoolean, aiNumber, aiString, aiAssert, aiWaitFor.

The screenshot goes to the model resized to its Frame (invariant 1), with a question that
asks for JSON. The answer is data: it is decoded with ``json`` and validated, never run.
aiQuery's answer must have the shape the demand states in Midscene's TypeScript-like form
(``{invoice: string, total: number}[], every invoice row``) and, when the step gives a
``schema:`` (our extension), satisfy that JSON Schema.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from PIL import Image

from qvl_agent.envs.errors import ActionParseError, ConfigError, ModelBehaviorError
from qvl_agent.model.backend import VLMBackend
from qvl_agent.model.frame import Frame

__all__ = ["Answer", "ask", "query_prompt", "shape_schema", "check_schema", "decode_json",
           "ASSERT_FORMAT", "RESULT_FORMAT"]

ASSERT_FORMAT = 'Answer with JSON only: {"pass": true or false, "thought": "why, in one sentence"}'
RESULT_FORMAT = 'Answer with JSON only: {"result": <the answer as a JSON %s>}'
_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)(?:```|$)", re.DOTALL)


@dataclass
class Answer:
    value: Any
    raw: str
    frame: tuple[int, int]
    model_s: float


def ask(backend: VLMBackend, image: Image.Image, question: str, *,
        max_new_tokens: int = 1024) -> Answer:
    """``question`` about ``image``; the decoded JSON answer. Raises ``ActionParseError``."""
    frame = Frame.for_image(image, image.size, min_pixels=backend.min_pixels,
                            max_pixels=backend.max_pixels)
    messages = [{"role": "user", "content": [{"type": "image", "image": frame.resize(image)},
                                             {"type": "text", "text": question}]}]
    generation = backend.generate(messages, max_new_tokens=max_new_tokens)
    return Answer(decode_json(generation.text), generation.text, frame.size, generation.model_s)


def decode_json(text: str) -> Any:
    """The first JSON value in ``text`` (fenced or bare). Raises ``ActionParseError``."""
    for piece in [m.group(1) for m in _FENCE.finditer(text)] + [text]:
        try:
            return json.loads(piece.strip())
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for start, char in enumerate(text):
        if char in "[{":
            try:
                return decoder.raw_decode(text, start)[0]
            except ValueError:
                continue
    shown = text.strip().replace("\n", " ")[:120]
    raise ActionParseError(f"the answer holds no JSON: {shown!r}")


def query_prompt(demand: str) -> str:
    return (f"Look at the screenshot and extract this data: {demand}\n"
            "Answer with the JSON value only (no comments), shaped as asked; "
            "numbers as JSON numbers.")


def assert_prompt(statement: str) -> str:
    return f"Look at the screenshot. Is this true: {statement}\n{ASSERT_FORMAT}"


def result_prompt(question: str, kind: str) -> str:
    return f"Look at the screenshot and answer: {question}\n{RESULT_FORMAT % kind}"


def check_schema(value: Any, schema: dict[str, Any], what: str) -> None:
    """Raise ``ModelBehaviorError`` unless ``value`` satisfies ``schema``."""
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "the answer"
        raise ModelBehaviorError(f"{what} does not match its schema at {where}: {exc.message}") from None
    except jsonschema.SchemaError as exc:
        raise ConfigError(f"the schema: is not a valid JSON Schema: {exc.message}") from None


# -- Midscene's demand shapes ------------------------------------------------------------------

_TOKEN = re.compile(r"\s*([{}\[\],;:]|[A-Za-z_$][\w$]*|\"[^\"]*\"|'[^']*')")
_TYPES = {"string": "string", "number": "number", "boolean": "boolean", "bool": "boolean",
          "int": "integer", "integer": "integer", "any": None, "object": "object"}


def shape_schema(demand: str) -> dict[str, Any] | None:
    """The JSON Schema of a demand that starts with a type (``{a: string}[]``), else None."""
    tokens, position = [], 0
    while position < len(demand):
        match = _TOKEN.match(demand, position)
        if not match:
            break
        tokens.append(match.group(1))
        position = match.end()
    try:
        schema, used = _type(tokens, 0)
    except (IndexError, ValueError):
        return None
    if used < len(tokens) and tokens[used] != ",":
        return None  # a sentence that happens to start with a word like "string"
    return schema


def _type(tokens: list[str], i: int) -> tuple[dict[str, Any], int]:
    token = tokens[i]
    if token == "{":
        properties: dict[str, Any] = {}
        i += 1
        while tokens[i] != "}":
            key = tokens[i].strip("\"'")
            if tokens[i + 1] != ":":
                raise ValueError("expected ':'")
            properties[key], i = _type(tokens, i + 2)
            if tokens[i] in (",", ";"):
                i += 1
        schema: dict[str, Any] = {"type": "object", "properties": properties,
                                  "required": list(properties)}
        i += 1
    elif token.lower() in _TYPES:
        kind = _TYPES[token.lower()]
        schema = {"type": kind} if kind else {}
        if kind == "number":
            schema = {"type": "number"}
        i += 1
    else:
        raise ValueError(f"not a type: {token}")
    while i + 1 < len(tokens) and tokens[i] == "[" and tokens[i + 1] == "]":
        schema = {"type": "array", "items": schema}
        i += 2
    return schema, i

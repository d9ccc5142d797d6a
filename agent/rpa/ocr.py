"""The ``ocr`` grounder: find the described words on any screenshot with Tesseract.

Tesseract (Debian's ``tesseract-ocr``, models included, fully offline) reads the screenshot
and reports each word with its box (``tsv`` output). The description's name ("the Submit
button" -> "submit") must appear as consecutive words of one text line. The screenshot is
read as it is first and, when the words are not found, enlarged 2x: Tesseract reads small UI
text far better enlarged, but misses large text in boxes when it is.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import dataclass

from PIL import Image

from qvl_agent.agent.rpa.grounders import Target, describe_target, normalize
from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Env, Observation
from qvl_agent.envs.errors import ConfigError, EnvError

__all__ = ["OcrGrounder", "OcrWord", "read_words", "ocr_available"]

_MIN_CONFIDENCE = 30.0


@dataclass(frozen=True)
class OcrWord:
    text: str
    box: tuple[float, float, float, float]  # screenshot pixels
    line: tuple[int, int, int]  # (block, paragraph, line) numbers
    confidence: float


def ocr_available() -> bool:
    return shutil.which("tesseract") is not None


def read_words(image: Image.Image, *, scale: int = 1, timeout: float = 60.0) -> list[OcrWord]:
    """Every word Tesseract reads on ``image``, boxes in ``image`` pixels."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise ConfigError("the ocr grounder needs Tesseract: `apt-get install tesseract-ocr` "
                          "(Debian/Ubuntu), or choose another --grounder")
    big = image.convert("L")
    if scale != 1:
        big = big.resize((image.width * scale, image.height * scale), Image.LANCZOS)
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    try:
        done = subprocess.run([binary, "stdin", "stdout", "--psm", "11", "tsv"],
                              input=buffer.getvalue(), capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise EnvError(f"Tesseract took longer than {timeout:g}s on one screenshot") from None
    if done.returncode != 0:
        raise EnvError(f"Tesseract failed: {done.stderr.decode(errors='replace').strip()[:200]}")
    words: list[OcrWord] = []
    rows = csv.DictReader(io.StringIO(done.stdout.decode("utf-8", errors="replace")),
                          delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in rows:
        text = (row.get("text") or "").strip()
        try:
            confidence = float(row.get("conf") or -1)
            left, top = int(row["left"]) / scale, int(row["top"]) / scale
            width, height = int(row["width"]) / scale, int(row["height"]) / scale
            line = (int(row["block_num"]), int(row["par_num"]), int(row["line_num"]))
        except (KeyError, TypeError, ValueError):
            continue
        if text and confidence >= _MIN_CONFIDENCE:
            words.append(OcrWord(text, (left, top, left + width, top + height), line, confidence))
    return words


class OcrGrounder:
    name = "ocr"

    def find(self, env: Env, observation: Observation, prompt: str) -> Target | None:
        wanted = describe_target(prompt).name.split()
        if not wanted:
            return None
        image = observation.screenshot
        for scale in (1, 2):
            found = _phrase(read_words(image, scale=scale), wanted)
            if found is not None:
                break
        else:
            return None
        x1, y1, x2, y2 = found
        sx = observation.screen.width / image.width
        sy = observation.screen.height / image.height
        box = (x1 * sx, y1 * sy, x2 * sx, y2 * sy)
        return Target(point=Point(x=(box[0] + box[2]) / 2, y=(box[1] + box[3]) / 2),
                      grounder=self.name, box=box, text=" ".join(wanted))


def _phrase(words: list[OcrWord], wanted: list[str]) -> tuple[float, float, float, float] | None:
    """The box of ``wanted`` as consecutive words of one line (the first such place)."""
    lines: dict[tuple[int, int, int], list[OcrWord]] = {}
    for word in words:
        lines.setdefault(word.line, []).append(word)
    for line in lines.values():
        texts = [normalize(w.text) for w in line]
        for start in range(len(line) - len(wanted) + 1):
            if texts[start:start + len(wanted)] == wanted:
                span = line[start:start + len(wanted)]
                return (min(w.box[0] for w in span), min(w.box[1] for w in span),
                        max(w.box[2] for w in span), max(w.box[3] for w in span))
    return None

"""What cannot work, found before anything opens: every problem, each one line.

A screen the spec refuses, a grounder for another screen, a step that needs the model when
none is given, a step on a screen that has no such machinery (``javascript`` on a phone), a
reference image or a file to upload that is not there. ``qvl-agent rpa --dry-run`` reports these with the script's
own problems; a run refuses to start while there is one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from qvl_agent.agent.rpa.device_steps import SCREENS
from qvl_agent.agent.rpa.ocr import ocr_available
from qvl_agent.agent.rpa.player import step_label
from qvl_agent.agent.rpa.references import local_path
from qvl_agent.agent.rpa.screens import screen_spec
from qvl_agent.agent.rpa.script import Script
from qvl_agent.agent.rpa.yamldoc import shorten
from qvl_agent.agent.rpa.steps import (
    AdbShell, Ai, Ask, Assert, Boolean, FlowStep, LocateParam, Number, Query, RefImage, String,
    Tap, WaitFor,
)
from qvl_agent.envs.errors import ConfigError

__all__ = ["preflight", "needs_model", "GrounderName"]

GrounderName = Literal["qwen", "dom", "uia", "ocr", "auto"]
_NEEDS_MODEL = (Assert, Query, Boolean, Number, String, Ask, Ai)


def preflight(script: Script, grounder: GrounderName, has_model: bool | None, base: Path) -> list[str]:
    """Every reason ``script`` cannot run with these settings (empty: it can).

    ``has_model`` None: not known yet (a dry run without --model or --endpoint), so the
    steps that need the model are not counted as problems; ``needs_model`` lists them."""
    where, screen = script.path, script.screen
    problems: list[str] = []
    try:
        screen_spec(script)  # what the screen itself refuses (a --device profile, a header)
    except ConfigError as exc:
        problems.append(str(exc))
    if grounder == "dom" and screen != "web":
        problems.append(f"--grounder dom reads a web page's elements; {where} drives {screen}:")
    if grounder == "uia" and screen != "android":
        problems.append(f"--grounder uia reads Android's hierarchy; {where} drives {screen}:")
    if grounder == "ocr" and not ocr_available():
        problems.append("--grounder ocr needs Tesseract: `apt-get install tesseract-ocr`")
    if has_model is False and grounder == "auto" and screen == "computer" and not ocr_available():
        problems.append("a computer: screen has no element tree: without a model, targets are "
                        "found by OCR, which needs Tesseract (`apt-get install tesseract-ocr`); "
                        "or give --model or --endpoint")
    for task, step in script.steps():
        def say(message: str) -> None:
            problems.append(f"{where}:{step.line}: {step_label(step)!r} (task {shorten(task.name)}) {message}")

        screens = SCREENS.get(step.kind)
        if screens is not None and screen not in screens:
            say(f"works on {' or '.join(s + ':' for s in screens)} only; this script drives {screen}:")
        if isinstance(step, AdbShell) and script.android and not script.android.exposeRunAdbShellAction:
            say("is switched off by android.exposeRunAdbShellAction: false")
        if has_model is False and needs_model(step, grounder):
            say("needs the model; give --model or --endpoint")
        images = [i for t in _targets(step) for i in t.images] + list(getattr(step, "images", []))
        for image in images:
            problem = _missing_image(image, base)
            if problem:
                say(problem)
        if isinstance(step, Tap) and step.fileChooserAccept:
            for name in step.fileChooserAccept:
                path = Path(name).expanduser()
                if not (path if path.is_absolute() else base / path).is_file():
                    say(f"fileChooserAccept: no file {shorten(name, 120)} in {base}")
    return problems


def needs_model(step: FlowStep, grounder: GrounderName) -> bool:
    """True when only the model can do ``step`` (a question, an ai step, a prompt with
    images, or any target when the grounder is qwen)."""
    targets = _targets(step)
    images = [i for t in targets for i in t.images] + list(getattr(step, "images", []))
    return isinstance(step, _NEEDS_MODEL) or bool(images) or (
        grounder == "qwen" and (bool(targets) or isinstance(step, WaitFor)))


def _targets(step: FlowStep) -> list[LocateParam]:
    found = [getattr(step, name, None) for name in ("locate", "from_", "to")]
    return [t for t in found if isinstance(t, LocateParam)]


def _missing_image(image: RefImage, base: Path) -> str | None:
    path = local_path(image, base)
    if path is not None and not path.is_file():
        return f"images: no file {shorten(image.url, 120)} (paths start from {base})"
    return None

"""``run_script``: everything ``qvl-agent rpa SCRIPT.yaml`` does, as a function.

Order: read and validate the script (nothing opens before it is valid), check that the
grounder fits the screen and that a model is given when a step needs one, open the screen,
play the tasks, and always leave a complete run directory: the usual ``meta.json`` (with
``stats``), ``trajectory.jsonl``, screenshots and ``report.html``, plus ``outputs.json``.

A failed step fails its task; the run goes on with the next task only when that task says
``continueOnError: true`` (Midscene's rule). The run passes when every task passed.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.rpa.cache import TaskCache
from qvl_agent.agent.rpa.grounders import DomGrounder, Grounder, QwenGrounder, UiaGrounder
from qvl_agent.agent.rpa.locator import CountingBackend, Locator, Stats
from qvl_agent.agent.rpa.ocr import OcrGrounder, ocr_available
from qvl_agent.agent.rpa.player import Player, StepFailure, step_label
from qvl_agent.agent.rpa.script import (
    Ai, Assert, Boolean, Number, Query, Script, String, WaitFor, load_script,
)
from qvl_agent.agent.runner import default_run_dir
from qvl_agent.agent.secrets import Secrets, placeholder
from qvl_agent.agent.trajectory import RunMeta, now_iso
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.factory import open_env
from qvl_agent.envs.spec import AndroidSpec, BrowserSpec, DesktopSpec, EnvSpec
from qvl_agent.model.backend import VLMBackend
from qvl_agent.model.options import ModelOptions

__all__ = ["RpaOptions", "RpaResult", "run_script", "screen_spec", "GrounderName"]

GrounderName = Literal["qwen", "dom", "uia", "ocr", "auto"]
_NEEDS_MODEL = (Assert, Query, Boolean, Number, String, Ai)
_LOCATING = ("aiTap", "aiDoubleClick", "aiRightClick", "aiHover", "aiInput")


class RpaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    script: Path
    variables: dict[str, str] = Field(default_factory=dict)
    grounder: GrounderName = "auto"
    model: ModelOptions | None = Field(None, description="None: no model; steps that need one fail")
    out: Path | None = None
    cache_dir: Path = Path("qvl_cache")
    headed: bool = False


@dataclass
class RpaResult:
    passed: bool
    run_dir: Path
    stats: Stats
    outputs: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    tasks: dict[str, bool] = field(default_factory=dict)


def run_script(options: RpaOptions, *, secrets: Secrets | None = None) -> RpaResult:
    """Play ``options.script``. ``${NAME}`` of a secret stands for ``<secret:NAME>`` in the
    script (what the model and the records see) and types its value where a step types it."""
    variables = dict(options.variables)
    for name in secrets.names if secrets else []:
        if name in variables:
            raise ConfigError(f"{name} is given both as --var and as a secret; keep one")
        variables[name] = placeholder(name)
    script = load_script(options.script, variables)
    _preflight(script, options)
    spec = screen_spec(script, options)
    stats = Stats()
    backend = CountingBackend(options.model.backend(), stats) if options.model else None
    out = options.out or default_run_dir(f"rpa {options.script.stem}")
    kind = {"web": EnvKind.browser, "android": EnvKind.android,
            "computer": EnvKind.desktop}[script.screen]
    meta = RunMeta(goal=f"rpa: {options.script.name}", env=kind.value, tool=kind.tool,
                   model=backend.name if backend else "none", started_at=now_iso(),
                   options={"script": str(options.script), "grounder": options.grounder,
                            "cache": script.cache.id if script.cache else None,
                            "screen": spec.model_dump(mode="json", exclude_none=True)})
    if secrets:
        meta.options["secrets"] = [info.model_dump() for info in secrets.infos]  # names only
    cache = None
    if script.cache is not None:
        cache = TaskCache(options.cache_dir, script.cache.id, script.cache.strategy)
    outputs: dict[str, Any] = {}
    result = RpaResult(passed=False, run_dir=out, stats=stats, outputs=outputs)
    recorder = RunRecorder(out)
    recorder.start(meta)
    player: Player | None = None
    try:
        with _open_screen(script, spec) as env:
            grounders = _grounders(options.grounder, script, backend, stats)
            hint = "" if backend else "; give --model or --endpoint to let Qwen2.5-VL look"
            locator = Locator(env, grounders, cache, stats, browser=script.screen == "web",
                              model_hint=hint)
            player = Player(env, locator, backend, recorder, stats, outputs, secrets)
            _play(script, player, result)
        meta.status = "success" if result.passed else "failure"
        meta.message = result.failures[0] if result.failures else None
    except KeyboardInterrupt:
        meta.status, meta.message = "interrupted", "stopped by the user (Ctrl-C)"
        raise
    except Exception as exc:
        meta.status, meta.message = "error", str(exc)
        raise
    finally:
        meta.finished_at = now_iso()
        meta.stats = stats.model_dump()
        meta.steps = len(player.steps) if player else 0
        if player is not None:
            player.guard.redact_meta(meta)
            result.failures[:] = [player.guard.redact(f) for f in result.failures]
        _write_outputs(out / "outputs.json", outputs)
        recorder.finish(meta)  # the run directory is complete whatever happens next
    if script.output:
        try:
            _write_outputs(Path(script.output), outputs)  # relative to where the command runs
        except OSError as exc:
            raise ConfigError(f"{script.path}: cannot write web.output {script.output} "
                              f"({exc.strerror}); the results are in {out / 'outputs.json'}") from None
    return result


def _play(script: Script, player: Player, result: RpaResult) -> None:
    finished = 0  # tasks that ran to their end (names may repeat, so not len(result.tasks))
    for task in script.tasks:
        passed = True
        for number, step in enumerate(task.flow, start=1):
            try:
                player.play(task, step)
            except StepFailure as failure:
                passed = False
                result.failures.append(
                    f"task {task.name!r}, step {number} ({step_label(step)}, "
                    f"{script.path}:{step.line}): {failure.reason}")
                if failure.fatal:  # the screen is gone: no later task can run
                    result.tasks[task.name] = False
                    return
                break
        result.tasks[task.name] = result.tasks.get(task.name, True) and passed
        finished += 1
        if not passed and not task.continueOnError:
            break
    result.passed = finished == len(script.tasks) and all(result.tasks.values())


def _preflight(script: Script, options: RpaOptions) -> None:
    """Refuse, before anything opens, what cannot work: a grounder for another screen, a
    step that needs the model when none is given."""
    where = script.path
    if options.grounder == "dom" and script.screen != "web":
        raise ConfigError(f"--grounder dom reads a web page's elements; {where} drives {script.screen}:")
    if options.grounder == "uia" and script.screen != "android":
        raise ConfigError(f"--grounder uia reads Android's hierarchy; {where} drives {script.screen}:")
    if options.grounder == "ocr" and not ocr_available():
        raise ConfigError("--grounder ocr needs Tesseract: `apt-get install tesseract-ocr`")
    if options.model is not None:
        return
    if options.grounder == "auto" and script.screen == "computer" and not ocr_available():
        raise ConfigError("a computer: screen has no element tree: without a model, targets are "
                          "found by OCR, which needs Tesseract (`apt-get install tesseract-ocr`); "
                          "or give --model or --endpoint")
    for task, step in script.steps():
        needs = isinstance(step, _NEEDS_MODEL) or (
            options.grounder == "qwen" and (step.kind in _LOCATING or isinstance(step, WaitFor)
                                            or getattr(step, "locate", None)))
        if needs:
            raise ConfigError(f"{where}:{step.line}: {step_label(step)!r} (task {task.name!r}) "
                              "needs the model; give --model or --endpoint")


def _grounders(name: str, script: Script, backend: VLMBackend | None, stats: Stats) -> list[Grounder]:
    def count() -> None:
        stats.locate_calls += 1

    qwen = [QwenGrounder(backend, on_call=count)] if backend is not None else []
    if name == "qwen":
        return qwen
    if name == "dom":
        return [DomGrounder()]
    if name == "uia":
        return [UiaGrounder()]
    if name == "ocr":
        return [OcrGrounder()]
    exact: list[Grounder] = {"web": [DomGrounder()], "android": [UiaGrounder()]}.get(script.screen, [])
    if ocr_available():
        exact.append(OcrGrounder())
    return exact + qwen


def screen_spec(script: Script, options: RpaOptions) -> EnvSpec:
    """The screen ``script`` drives (its ``web:``, ``android:`` or ``computer:`` section)."""
    if script.web is not None:
        return BrowserSpec(url=script.web.url,
                           viewport=(script.web.viewportWidth, script.web.viewportHeight),
                           device_scale=script.web.deviceScaleFactor, headed=options.headed)
    if script.android is not None:
        return AndroidSpec(device=script.android.deviceId)
    assert script.computer is not None
    # No sandbox: an RPA script is the user's own and acts for them; a file it writes belongs
    # on this machine (tasks and `run` get envs.sandbox's throwaway one).
    return DesktopSpec(display=script.computer.display, sandbox=False)


def _open_screen(script: Script, spec: EnvSpec) -> Env:
    """The screen, with the script's ``launch`` app or command started on it."""
    env = open_env(spec)
    try:
        if script.android is not None and script.android.launch:
            from qvl_agent.envs.android import AndroidEnv

            assert isinstance(env, AndroidEnv)
            env.open_app(script.android.launch)
        if script.computer is not None and script.computer.launch:
            from qvl_agent.envs.desktop import DesktopEnv

            assert isinstance(env, DesktopEnv)
            # The user's own command line, split like a shell would but run without one.
            env.display.launch(shlex.split(script.computer.launch), log="launch")
            env.settle()
    except BaseException:
        env.close()
        raise
    return env


def _write_outputs(path: Path, outputs: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outputs, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


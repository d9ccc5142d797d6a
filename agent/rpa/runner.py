"""``run_script``: everything ``qvl-agent rpa SCRIPT.yaml`` does, as a function.

Order: read and validate the script and check that it can run with these options (every
problem is reported, and nothing opens while there is one), open the screen, play the
tasks, and always leave a complete run directory: the usual ``meta.json`` (with ``stats``
and the options noted as ignored), ``trajectory.jsonl``, screenshots and ``report.html``,
plus ``outputs.json``.

A failed step fails its task; the run goes on with the next task only when that task says
``continueOnError: true`` (Midscene's rule). The run passes when every task passed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.rpa.cache import TaskCache
from qvl_agent.agent.rpa.grounders import DomGrounder, Grounder, QwenGrounder, UiaGrounder
from qvl_agent.agent.rpa.locator import CountingBackend, Locator, Stats
from qvl_agent.agent.rpa.ocr import OcrGrounder, ocr_available
from qvl_agent.agent.rpa.player import Player, StepFailure, step_label
from qvl_agent.agent.rpa.preflight import GrounderName, preflight
from qvl_agent.agent.rpa.screens import open_screen, screen_spec
from qvl_agent.agent.rpa.script import Script, ScriptProblems, load_script
from qvl_agent.agent.rpa.yamldoc import shorten
from qvl_agent.agent.runner import default_run_dir
from qvl_agent.agent.secrets import Secrets, placeholder
from qvl_agent.agent.trajectory import RunMeta, now_iso
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import EnvSpec
from qvl_agent.model.backend import VLMBackend
from qvl_agent.model.options import ModelOptions

__all__ = ["RpaOptions", "RpaResult", "run_script", "check_script", "script_variables",
           "screen_spec", "GrounderName"]


class RpaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    script: Path
    variables: dict[str, str] = Field(default_factory=dict)
    grounder: GrounderName = "auto"
    model: ModelOptions | None = Field(None, description="None: no model; steps that need one fail")
    out: Path | None = None
    cache_dir: Path = Field(default_factory=lambda: default_cache_dir(),
                            description="where <cache id>.cache.yaml files live")
    headed: bool = False
    device: str | None = Field(None, description="--device: the Android serial instead of deviceId")
    base: Path | None = Field(None, description="where relative paths start (default: the working directory)")
    defaults: dict[str, Any] = Field(default_factory=dict, description="a batch index's screen settings")


def default_cache_dir() -> Path:
    """The user's cache folder, not the working directory: ``$XDG_CACHE_HOME/qvl-agent/rpa``
    (``~/.cache/qvl-agent/rpa``). ``--cache-dir`` puts a cache beside a script, to commit."""
    import os

    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "qvl-agent" / "rpa"


@dataclass
class RpaResult:
    passed: bool
    run_dir: Path
    stats: Stats
    outputs: dict[str, Any]
    failures: list[str] = field(default_factory=list)
    tasks: dict[str, bool] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    print_report: bool = True


def script_variables(options: RpaOptions, secrets: Secrets | None = None) -> dict[str, str]:
    """``--var`` values, and each secret's name standing for its ``<secret:NAME>``."""
    variables = dict(options.variables)
    for name in secrets.names if secrets else []:
        if name in variables:
            raise ConfigError(f"{name} is given both as --var and as a secret; keep one")
        variables[name] = placeholder(name)
    return variables


def check_script(options: RpaOptions, *, secrets: Secrets | None = None) -> Script:
    """The script, loaded and checked against ``options``. Raises ``ScriptProblems`` listing
    every problem (the script's and the run's) before anything opens."""
    base = options.base or Path.cwd()
    script = load_script(options.script, script_variables(options, secrets), base=base,
                         device=options.device, defaults=options.defaults)
    problems = preflight(script, options.grounder, options.model is not None, base)
    if problems:
        raise ScriptProblems(problems)
    return script


def run_script(options: RpaOptions, *, secrets: Secrets | None = None) -> RpaResult:
    """Play ``options.script``. ``${NAME}`` of a secret stands for ``<secret:NAME>`` in the
    script (what the model and the records see) and types its value where a step types it."""
    script = check_script(options, secrets=secrets)
    base = options.base or Path.cwd()
    spec = screen_spec(script, headed=options.headed)
    stats = Stats()
    backend = CountingBackend(options.model.backend(), stats) if options.model else None
    name = script.agent.reportFileName or script.agent.testId or options.script.stem
    out = options.out or default_run_dir(f"rpa {name}")
    kind = {"web": EnvKind.browser, "android": EnvKind.android,
            "computer": EnvKind.desktop}[script.screen]
    meta = RunMeta(goal=f"rpa: {options.script.name}", env=kind.value, tool=kind.tool,
                   model=backend.name if backend else "none", started_at=now_iso(),
                   options={"script": str(options.script), "grounder": options.grounder,
                            "cache": script.cache.id if script.cache else None,
                            "testId": script.agent.testId, "groupName": script.agent.groupName,
                            "groupDescription": script.agent.groupDescription,
                            "ignored": script.ignored or None,
                            "screen": _recorded(spec)})
    if secrets:
        meta.options["secrets"] = [info.model_dump() for info in secrets.infos]  # names only
    cache = None
    if script.cache is not None:
        cache = TaskCache(options.cache_dir, script.cache.id, script.cache.strategy)
    outputs: dict[str, Any] = {}
    result = RpaResult(passed=False, run_dir=out, stats=stats, outputs=outputs,
                       ignored=script.ignored, print_report=script.agent.autoPrintReportMsg)
    recorder = RunRecorder(out)
    recorder.start(meta)
    player: Player | None = None
    try:
        with open_screen(script, spec) as env:
            grounders = _grounders(options.grounder, script, backend, stats)
            hint = "" if backend else "; give --model or --endpoint to let Qwen2.5-VL look"
            locator = Locator(env, grounders, cache, stats, browser=script.screen == "web",
                              model_hint=hint)
            player = Player(env, locator, backend, recorder, stats, outputs, secrets, base=base,
                            context=script.agent.aiActContext,
                            ai_steps=script.agent.replanningCycleLimit or 20)
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
        target = Path(script.output).expanduser()
        target = target if target.is_absolute() else base / target  # Midscene's: from the cwd
        try:
            _write_outputs(target, outputs)
        except OSError as exc:
            raise ConfigError(f"{script.path}: cannot write output {script.output} "
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
                    f"task {shorten(task.name)}, step {number} ({step_label(step)}, "
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


def _recorded(spec: EnvSpec) -> dict[str, Any]:
    """The screen as ``meta.json`` keeps it: header values can be credentials, so only the
    headers' names are written."""
    screen = spec.model_dump(mode="json", exclude_none=True)
    if "extra_http_headers" in screen:
        screen["extra_http_headers"] = sorted(screen["extra_http_headers"])
    return screen


def _write_outputs(path: Path, outputs: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(outputs, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)

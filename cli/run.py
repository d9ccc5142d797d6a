"""``qvl-agent run GOAL``: one goal on one screen, with a run directory and report."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from qvl_agent.cli.app import (AgentMaxPixelsOpt, AnswerActionOpt, AnswerChoice, DeviceOpt, EndpointOpt,
                     MaxNewTokensOpt, MinPixelsOpt, ModelOpt, PromptChoice, PromptOpt, ServedModelOpt,
                     SpeedupChoice, SpeedupOpt, app, refuse_model_and_endpoint)


class EnvChoice(str, Enum):
    browser = "browser"
    android = "android"
    desktop = "desktop"


OUTCOME = {
    "success": "the agent finished the task (terminate: success)",
    "failure": "the agent gave up (terminate: failure)",
    "answered": "the agent answered",
    "env_done": "the environment ended the episode",
    "max_steps": "the step budget ran out before the agent finished",
    "model_errors": "the model's answers could not be used",
    "stuck": "the agent repeated the same action on an unchanged screen",
    "error": "the run failed",
    "interrupted": "the run was interrupted",
}


@app.command()
def run(
    goal: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    env: Annotated[EnvChoice, typer.Option("--env", help="Which screen to drive.")] = EnvChoice.browser,
    url: Annotated[Optional[str], typer.Option(help="Browser: the page to start from.")] = None,
    viewport: Annotated[str, typer.Option(help="Browser: viewport in CSS pixels, WxH.")] = "1280x720",
    device_scale: Annotated[float, typer.Option("--device-scale", help="Browser: device pixels per CSS pixel (2 = HiDPI).")] = 1.0,
    headed: Annotated[bool, typer.Option("--headed", help="Browser: show the window.")] = False,
    browser_path: Annotated[Optional[str], typer.Option("--browser-path", help="Browser: Chromium/Chrome binary (default: found).")] = None,
    allow_domain: Annotated[Optional[list[str]], typer.Option("--allow-domain", help="Browser: only these hosts may be opened (repeat).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="Android: adb serial, or 'sim[:android-9|android-11|android-14]' for the built-in virtual phone (default: the only device connected).")] = None,
    display: Annotated[Optional[str], typer.Option("--display", help="Desktop: 'virtual' or 'virtual:WxH' (a managed Xvfb, fail-safe off), or ':N' (default: $DISPLAY).")] = None,
    monitor: Annotated[Optional[int], typer.Option("--monitor", help="Desktop: which monitor to see and act on, 1-based (default: the primary).")] = None,
    model: ModelOpt = None,
    endpoint: EndpointOpt = None,
    served_model: ServedModelOpt = None,
    min_pixels: MinPixelsOpt = 3136,
    max_pixels: AgentMaxPixelsOpt = None,
    torch_device: DeviceOpt = None,
    history_images: Annotated[int, typer.Option("--history-images", help="Show the model its last K screenshots as real turns (ours: the cookbook's text history plus OSWorld's turns; with --prompt osworld, OSWorld's own, default 4).")] = 0,
    prompt: PromptOpt = PromptChoice.cookbook,
    answer_action: AnswerActionOpt = AnswerChoice.auto,
    max_new_tokens: MaxNewTokensOpt = 2048,
    speedup: SpeedupOpt = SpeedupChoice.none,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Step budget.")] = 15,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/<time>-<goal>).")] = None,
) -> None:
    """Let Qwen2.5-VL work on GOAL; writes a run directory with report.html."""
    from qvl_agent.agent.runner import RunOptions, run_goal, validated
    from qvl_agent.envs.browser import parse_viewport

    refuse_model_and_endpoint(model, endpoint)
    options = validated(RunOptions, dict(goal=goal, max_steps=max_steps, out=out,
                         env=dict(env=env.value, url=url, viewport=parse_viewport(viewport),
                                  device_scale_factor=device_scale, headed=headed,
                                  browser_path=browser_path, allowed_domains=allow_domain,
                                  device=device, display=display, monitor=monitor),
                         model=dict(model=model, endpoint=endpoint, served_model=served_model,
                                    min_pixels=min_pixels, max_pixels=max_pixels,
                                    torch_device=torch_device, history_images=history_images,
                                    prompt=prompt.value, answer_action=answer_action.value,
                                    max_new_tokens=max_new_tokens, speedup=speedup.value)))
    trajectory, report = run_goal(options)
    meta = trajectory.meta
    line = f"{meta.status}: {OUTCOME[meta.status]} after {meta.steps} step(s)"
    if meta.answer is not None:
        line += f"; answer: {meta.answer}"
    if meta.message and meta.status not in ("success", "answered"):
        line += f" ({meta.message})"
    typer.echo(line)
    typer.echo(f"report: {report}")
    if meta.status == "interrupted":
        raise typer.Exit(130)
    raise typer.Exit(0 if trajectory.succeeded else 1)

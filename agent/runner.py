"""``run_goal``: everything ``qvl-agent run`` does, as a function (the CLI only parses flags)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.progress import StepProgress
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.trajectory import RunMeta, Trajectory, now_iso
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.extras import require_extra
from qvl_agent.model.backend import DEFAULT_MAX_NEW_TOKENS
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS
from qvl_agent.model.osworld import OSWORLD_MAX_PIXELS

__all__ = ["ModelOptions", "EnvOptions", "RunOptions", "run_goal", "open_env", "default_run_dir",
           "validated"]


def validated(model_class: type[BaseModel], values: dict[str, Any]) -> Any:
    """``model_class`` built from the user's options; the first problem as a ConfigError."""
    try:
        return model_class.model_validate(values)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ConfigError(f"invalid option {where}: {problem['msg']}") from None


class ModelOptions(BaseModel):
    """Which Qwen2.5-VL to ask and how."""

    model_config = ConfigDict(extra="forbid")
    model: str | None = Field(None, description="hub id or checkpoint folder")
    endpoint: str | None = Field(None, description="OpenAI-compatible server URL")
    served_model: str | None = None
    min_pixels: int = MIN_PIXELS
    max_pixels: int | None = Field(None, description="None: the prompt's own (cookbook: the "
                                   "processor's 12845056; osworld: 1003520); set when validated")
    torch_device: str | None = None
    history_images: int = Field(0, ge=0, le=10)
    max_new_tokens: int = Field(DEFAULT_MAX_NEW_TOKENS, ge=16, le=8192)
    prompt: Literal["cookbook", "osworld"] = "cookbook"
    answer_action: Literal["auto", "on", "off"] = Field(
        "auto", description="offer the answer action: auto = when the task asks a question")
    speedup: Literal["none", "prefix-cache", "static-cache", "compile"] = Field(
        "none", description="--model only: how the local backend runs a step (SpeedOptions)")

    @model_validator(mode="after")
    def _prompt_defaults(self) -> "ModelOptions":
        if self.max_pixels is None:
            self.max_pixels = OSWORLD_MAX_PIXELS if self.prompt == "osworld" else MAX_PIXELS
        if self.endpoint and self.speedup != "none":
            raise ValueError("--speedup applies to --model (local weights) only; a server "
                             "has its own (vLLM, SGLang: prefix caching is on by default)")
        return self

    def backend(self) -> Any:
        from qvl_agent.model.loader import load_backend

        return load_backend(model=self.model, endpoint=self.endpoint,
                            served_model=self.served_model, min_pixels=self.min_pixels,
                            max_pixels=self.max_pixels, device=self.torch_device,
                            speedup=self.speedup)

    def preflight(self) -> None:
        """Fail in a second, with the one-line error, if the model cannot be reached."""
        from qvl_agent.model.frame import check_pixel_limits

        check_pixel_limits(self.min_pixels, self.max_pixels)
        if self.endpoint:
            from qvl_agent.model.openai_backend import OpenAIBackend

            OpenAIBackend(self.endpoint, model=self.served_model, max_retries=1)
        else:
            from qvl_agent.model.transformers_backend import DEFAULT_MODEL, resolve_weights

            require_extra("local", "--model (Qwen2.5-VL in this process)")
            resolve_weights(self.model or DEFAULT_MODEL)

    def policy(self, tool: str, backend: Any = None, *, question: bool = False) -> QwenPolicy:
        """The policy for ``tool``; ``question``: the task expects an answer (for auto)."""
        answer = self.answer_action == "on" or (self.answer_action == "auto" and question)
        return QwenPolicy(backend or self.backend(), tool, history_images=self.history_images,
                          max_new_tokens=self.max_new_tokens, answer=answer, prompt=self.prompt)


class EnvOptions(BaseModel):
    """Which screen to drive."""

    model_config = ConfigDict(extra="forbid")
    env: Literal["browser", "android", "desktop"] = "browser"
    url: str | None = None
    viewport: tuple[int, int] = (1280, 720)
    device_scale_factor: float = 1.0
    headed: bool = False
    browser_path: str | None = None
    allowed_domains: list[str] | None = None
    device: str | None = Field(None, description="adb serial, or 'sim' for the virtual phone")
    display: str | None = Field(None, description="desktop: virtual[:WxH], :N; None: $DISPLAY")
    monitor: int | None = Field(None, ge=1, le=16, description="desktop: which monitor, 1-based "
                                "(None: the primary)")

    def browser_config(self) -> Any:
        """The BrowserConfig these options describe; a ConfigError if one is out of range."""
        from qvl_agent.envs.browser import BrowserConfig

        return validated(BrowserConfig, dict(
            url=self.url, width=self.viewport[0], height=self.viewport[1],
            device_scale_factor=self.device_scale_factor, headless=not self.headed,
            browser_path=self.browser_path, allowed_domains=self.allowed_domains))


class RunOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    goal: str = Field(min_length=1)
    env: EnvOptions = Field(default_factory=EnvOptions)
    model: ModelOptions = Field(default_factory=ModelOptions)
    max_steps: int = Field(15, ge=1, le=500)
    out: Path | None = None
    progress: bool = True


def open_env(options: EnvOptions) -> Env:
    """Start the screen ``options`` describe."""
    if options.env == "android":
        from qvl_agent.envs.android import open_android

        return open_android(options.device)
    if options.env == "desktop":
        from qvl_agent.envs.desktop import open_desktop

        return open_desktop(options.display, options.monitor)
    from qvl_agent.envs.browser import BrowserEnv

    return BrowserEnv(options.browser_config())


def default_run_dir(goal: str, root: Path = Path("runs")) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", goal.lower()).strip("-")[:40] or "run"
    return root / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{slug}"


def run_goal(options: RunOptions) -> tuple[Trajectory, Path]:
    """Run one goal end to end; return the trajectory and the report's path.

    The model is loaded before the screen starts, so a missing model fails in a second.
    """
    kind = EnvKind(options.env.env)
    if kind is EnvKind.browser:
        options.env.browser_config()  # a bad viewport is reported before the model loads
    if kind is EnvKind.desktop:
        from qvl_agent.envs.xdisplay import parse_display_spec

        parse_display_spec(options.env.display)  # so is a bad --display, or no display at all
    # A goal that ends with a question mark asks for an answer (--answer-action auto).
    policy = options.model.policy(kind.tool, question=options.goal.rstrip().endswith("?"))
    out = options.out or default_run_dir(options.goal)
    meta = RunMeta(goal=options.goal, env=kind.value, tool=kind.tool, model=policy.name,
                   started_at=now_iso(),
                   options={"max_steps": options.max_steps, **options.env.model_dump(exclude_none=True),
                            **options.model.model_dump(exclude_none=True)})
    with open_env(options.env) as env:
        recorder = RunRecorder(out)
        if options.progress:
            with StepProgress(options.max_steps) as progress:
                trajectory = run_episode(env, policy, options.goal, max_steps=options.max_steps,
                                         recorder=recorder, meta=meta, on_step=progress)
        else:
            trajectory = run_episode(env, policy, options.goal, max_steps=options.max_steps,
                                     recorder=recorder, meta=meta)
    return trajectory, out / "report.html"

"""The typer application and what every command shares: the model options, image reading.

Commands live in their own modules (``cli.run``, ``cli.eval``, ...) and register themselves on
``app`` when ``cli.main`` imports them. Nothing below ``cli`` imports it.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from qvl_agent.envs.errors import ConfigError

__all__ = ["app", "state", "ModelOpt", "EndpointOpt", "ServedModelOpt", "MinPixelsOpt",
           "MaxPixelsOpt", "DeviceOpt", "model_backend", "read_image", "refuse_model_and_endpoint",
           "PromptOpt", "AnswerActionOpt", "MaxNewTokensOpt", "AgentMaxPixelsOpt", "PromptChoice",
           "AnswerChoice", "SpeedupOpt", "SpeedupChoice"]

app = typer.Typer(
    name="qvl-agent",
    help="Let Qwen2.5-VL operate real screens: Android phones over adb, browsers, and desktops.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

state = {"debug": False}


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    state["debug"] = debug


# Options shared by every command that talks to the model.
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", help="Hub id or checkpoint folder (default: Qwen/Qwen2.5-VL-3B-Instruct).")]
EndpointOpt = Annotated[Optional[str], typer.Option(
    "--endpoint", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (instead of --model).")]
ServedModelOpt = Annotated[Optional[str], typer.Option(
    "--served-model", help="Model name on the server (default: the server's only model).")]
MinPixelsOpt = Annotated[int, typer.Option("--min-pixels", help="Smallest frame area in pixels.")]
MaxPixelsOpt = Annotated[int, typer.Option(
    "--max-pixels", help="Largest frame area in pixels; 1003520 (1280*28*28) is OSWorld's cap.")]
DeviceOpt = Annotated[Optional[str], typer.Option(
    "--torch-device", help="cuda, cpu or mps for --model (default: the best available).")]

# Options of the agent commands (run, eval): how the model is asked.
class PromptChoice(str, Enum):
    cookbook = "cookbook"
    osworld = "osworld"


class AnswerChoice(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


PromptOpt = Annotated[PromptChoice, typer.Option(
    "--prompt", help="cookbook: the Qwen cookbooks' messages; osworld: OSWorld's Qwen2.5-VL "
                     "agent's messages, exactly (desktop/browser; max-pixels 1003520, 4 history images).")]
AnswerActionOpt = Annotated[AnswerChoice, typer.Option(
    "--answer-action", help="Offer the model the answer action: auto = for tasks that ask a "
                            "question (a run goal ending in '?'), on, off (the cookbook schema).")]
MaxNewTokensOpt = Annotated[int, typer.Option(
    "--max-new-tokens", help="Token budget of one answer (the cookbook's 2048); a longer "
                             "answer is recorded as truncated.")]
class SpeedupChoice(str, Enum):
    none = "none"
    prefix_cache = "prefix-cache"
    static_cache = "static-cache"
    compile = "compile"


SpeedupOpt = Annotated[SpeedupChoice, typer.Option(
    "--speedup", help="--model only: prefix-cache (the system prompt's KV cache reused across "
                      "steps), static-cache, or compile (static cache + compiled decode step). "
                      "The answers stay the same; see benchmarks/gpu_step.py.")]
AgentMaxPixelsOpt = Annotated[Optional[int], typer.Option(
    "--max-pixels", help="Largest frame area in pixels (default 12845056, the processor's; "
                         "with --prompt osworld 1003520, OSWorld's).")]


def refuse_model_and_endpoint(model: str | None, endpoint: str | None) -> None:
    if model and endpoint:
        raise typer.BadParameter("give --model or --endpoint, not both")


def model_backend(model, endpoint, served_model, min_pixels, max_pixels, torch_device):
    """The backend the model options name (weights through transformers, or a server)."""
    from qvl_agent.model.loader import load_backend

    refuse_model_and_endpoint(model, endpoint)
    return load_backend(model=model, endpoint=endpoint, served_model=served_model,
                        min_pixels=min_pixels, max_pixels=max_pixels, device=torch_device)


def read_image(path: Path):
    """An RGB picture from a file the user named, or one ``ConfigError`` line."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB")
    except FileNotFoundError:
        raise ConfigError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ConfigError(f"cannot read {path} as an image ({exc.__class__.__name__}); "
                          "give a PNG or JPEG screenshot") from None

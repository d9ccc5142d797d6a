"""The model flags, declared once: ``--model``, ``--endpoint``, the pixel limits, the prompt...

A command that talks to Qwen2.5-VL takes a parameter ``model_options: ModelOptions`` and
``@model_flags(...)`` names the flags it offers; the decorator puts those flags in the
command's place of that parameter and hands the command one validated ``ModelOptions``
(``model.options``), whose ``backend()`` is the one way to a backend:

    @app.command()
    @model_flags(*BACKEND_FLAGS)
    def ground(image: ..., model_options: ModelOptions = FROM_FLAGS) -> None:
        backend = model_options.backend()

A flag left out is left to ``ModelOptions``' own default. ``--model`` with ``--endpoint`` is
a usage error (exit 2); a bad value is one ConfigError line naming its flag. Nothing of
``qvl_agent.model`` is imported until a command runs (``qvl-agent --help`` stays quick).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any, Optional, TypeVar

import typer

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions

__all__ = ["model_flags", "FROM_FLAGS", "BACKEND_FLAGS", "AGENT_FLAGS", "SERVER_FLAGS",
           "MinPixelsOpt", "MaxPixelsOpt", "TorchDeviceOpt"]

# The default of a command's ``model_options`` parameter: @model_flags always replaces it.
FROM_FLAGS: Any = None


class PromptChoice(str, Enum):
    cookbook = "cookbook"
    osworld = "osworld"


class AnswerChoice(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


class SpeedupChoice(str, Enum):
    auto = "auto"
    none = "none"
    prefix_cache = "prefix-cache"
    static_cache = "static-cache"
    compile = "compile"


# field -> (the flag's declaration, its default: None leaves it to ModelOptions).
_FLAGS: dict[str, tuple[Any, Any]] = {
    "model": (Annotated[Optional[str], typer.Option(
        "--model", help="Hub id or checkpoint folder (default: Qwen/Qwen2.5-VL-3B-Instruct).")], None),
    "endpoint": (Annotated[Optional[str], typer.Option(
        "--endpoint", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 "
                           "(instead of --model).")], None),
    "served_model": (Annotated[Optional[str], typer.Option(
        "--served-model", help="Model name on the server (default: the server's only model).")], None),
    "min_pixels": (Annotated[Optional[int], typer.Option(
        "--min-pixels", help="Smallest frame area in pixels (default 3136).")], None),
    "max_pixels": (Annotated[Optional[int], typer.Option(
        "--max-pixels", help="Largest frame area in pixels (default 12845056, the processor's; "
                             "OSWorld's cap is 1003520, the default with --prompt osworld).")], None),
    "torch_device": (Annotated[Optional[str], typer.Option(
        "--torch-device", help="cuda, cpu or mps for --model (default: the best available).")], None),
    "history_images": (Annotated[int, typer.Option(
        "--history-images", help="Show the model its last K screenshots as real turns (ours: the "
                                 "cookbook's text history plus OSWorld's turns; with --prompt "
                                 "osworld, OSWorld's own, default 4).")], 0),
    "prompt": (Annotated[PromptChoice, typer.Option(
        "--prompt", help="cookbook: the Qwen cookbooks' messages; osworld: OSWorld's Qwen2.5-VL "
                         "agent's messages, exactly (desktop/browser; max-pixels 1003520, 4 "
                         "history images).")], PromptChoice.cookbook),
    "answer_action": (Annotated[AnswerChoice, typer.Option(
        "--answer-action", help="Offer the model the answer action: auto = for tasks that ask a "
                                "question (a run goal ending in '?'), on, off (the cookbook "
                                "schema).")], AnswerChoice.auto),
    "max_new_tokens": (Annotated[Optional[int], typer.Option(
        "--max-new-tokens", help="Token budget of one answer (default: the cookbook's 2048); a "
                                 "longer answer is recorded as truncated.")], None),
    "speedup": (Annotated[SpeedupChoice, typer.Option(
        "--speedup", help="--model only: auto (default: prefix-cache on CUDA, none elsewhere), none "
                          "(generate), static-cache (our greedy loop on a static KV cache), compile "
                          "(+ CUDA graphs), prefix-cache (+ the system prompt's KV cache reused "
                          "across steps). The answers stay the same; see benchmarks/gpu_step.py.")],
                   SpeedupChoice.auto),
    "request_timeout": (Annotated[Optional[float], typer.Option(
        "--request-timeout", min=1, help="--endpoint: seconds one model request may take (default "
                                         "60) before it is tried again; a call gives up after "
                                         "twice this.")], None),
}

# For commands that take one of these without a model (export sft: the frame limits of its
# samples; train: where it runs).
MinPixelsOpt = _FLAGS["min_pixels"][0]
MaxPixelsOpt = _FLAGS["max_pixels"][0]
TorchDeviceOpt = _FLAGS["torch_device"][0]

# Which model to ask, and the frame's limits (ground, bench, rpa).
BACKEND_FLAGS = ("model", "endpoint", "served_model", "min_pixels", "max_pixels", "torch_device",
                 "request_timeout")
# ... and how an agent asks it (run, eval).
AGENT_FLAGS = (*BACKEND_FLAGS, "history_images", "prompt", "answer_action", "max_new_tokens",
               "speedup")
# What a server check needs besides its --endpoint (doctor).
SERVER_FLAGS = ("served_model", "min_pixels", "max_pixels", "history_images")

F = TypeVar("F", bound=Callable[..., Any])


def model_flags(*names: str, param: str = "model_options") -> Callable[[F], F]:
    """Give a typer command the model flags ``names`` in place of its parameter ``param``,
    which receives them as one validated ``ModelOptions``."""
    unknown = set(names) - set(_FLAGS)
    assert not unknown, f"no model flag {sorted(unknown)}"

    def decorate(command: F) -> F:
        # ModelOptions is only a name for type checkers in the command's module.
        signature = inspect.signature(command, eval_str=True, locals={"ModelOptions": Any})
        assert param in signature.parameters, f"{command.__name__} has no parameter {param!r}"
        flags = [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                   default=_FLAGS[name][1], annotation=_FLAGS[name][0])
                 for name in names]
        parameters: list[inspect.Parameter] = []
        for parameter in signature.parameters.values():
            parameters.extend(flags if parameter.name == param else [parameter])

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in names}
            if given.get("model") and given.get("endpoint"):
                raise typer.BadParameter("give --model or --endpoint, not both")
            from qvl_agent.envs.validation import validated
            from qvl_agent.model.options import ModelOptions

            values = {k: v.value if isinstance(v, Enum) else v for k, v in given.items()
                      if v is not None}
            kwargs[param] = validated(ModelOptions, values)
            return command(**kwargs)

        # typer reads the parameters from the signature, and their types from annotations.
        # (Flags with defaults may come before a command's own required argument.)
        wrapper.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            parameters, return_annotation=signature.return_annotation,
            __validate_parameters__=False)
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper  # type: ignore[return-value]

    return decorate

"""Optional parts of qvl-agent, installed as extras, and the one error a missing one gives.

The core (``pip install qvl-agent``) drives every screen and talks to a model server
(``--endpoint``). Running the model in this process, fine-tuning and Ray are extras:

    local   torch, torchvision, transformers, qwen-vl-utils   --model, tiny-model, bench --model
    train   local + accelerate, datasets (peft for --lora)     qvl-agent train
    ray     ray                                                --executor ray
    mcp     mcp (the Model Context Protocol SDK)               qvl-agent mcp
"""

from __future__ import annotations

import importlib.util

from qvl_agent.envs.errors import ConfigError

__all__ = ["EXTRAS", "require_extra", "missing_modules"]

# extra -> the importable modules it provides (distribution names differ: qwen-vl-utils)
EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("torch", "torchvision", "transformers", "qwen_vl_utils"),
    "train": ("torch", "torchvision", "transformers", "qwen_vl_utils", "accelerate", "datasets"),
    "ray": ("ray",),
    "mcp": ("mcp",),
}


def missing_modules(*modules: str) -> list[str]:
    """Those of ``modules`` that cannot be imported here."""
    return [name for name in modules if importlib.util.find_spec(name) is None]


def require_extra(extra: str, what: str, *also: str) -> None:
    """Raise one ``ConfigError`` line naming the pip command unless ``extra`` is installed.

    Args:
        extra: a key of ``EXTRAS``.
        what: what the user asked for, as they would say it (``"--model"``).
        also: further modules this use needs (``"peft"`` for ``--lora``).
    """
    missing = missing_modules(*EXTRAS[extra], *also)
    if missing:
        raise ConfigError(f"{what} needs {', '.join(missing)}, not installed here: "
                          f"pip install 'qvl-agent[{extra}]'")

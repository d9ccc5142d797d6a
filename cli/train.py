"""``qvl-agent train DATA --model PATH --out DIR``: a supervised fine-tune on exported data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from qvl_agent.cli.app import app, writable_folder
from qvl_agent.cli.model_flags import TorchDeviceOpt


class ScheduleChoice(str, Enum):
    constant = "constant"
    cosine = "cosine"
    linear = "linear"


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="The --out of `qvl-agent export sft --format messages`.")],
    model: Annotated[str, typer.Option("--model", help="Checkpoint to start from: a folder or a hub id.")],
    out: Annotated[Path, typer.Option("--out", help="Where the fine-tuned weights (or adapter) go.")],
    epochs: Annotated[Optional[float], typer.Option("--epochs", help="Passes over the training split (default: 1; a tiny-model checkpoint: 3000 steps instead).")] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Stop after N optimizer steps (overrides --epochs).")] = -1,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Peak learning rate (default: 1e-5 full, 1e-4 with --lora; a tiny-model checkpoint: 3e-3).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Samples per device step (default: 1; a tiny-model checkpoint: 8).")] = None,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Steps per optimizer update.")] = 1,
    schedule: Annotated[Optional[ScheduleChoice], typer.Option("--schedule", help="Learning-rate schedule after the warm-up (default: constant; a tiny-model checkpoint: cosine).")] = None,
    warmup: Annotated[Optional[float], typer.Option("--warmup", min=0.0, max=0.5, help="Share of the steps spent warming the rate up from 0 (default: 0; a tiny-model checkpoint: 0.05).")] = None,
    freeze_vision: Annotated[Optional[bool], typer.Option("--freeze-vision/--train-vision", help="Keep the vision tower as it is (default: train it; a tiny-model checkpoint: frozen, its outputs computed once per image).")] = None,
    lora: Annotated[bool, typer.Option("--lora", help="Train LoRA adapters on the language model (peft) instead of every weight.")] = False,
    lora_rank: Annotated[int, typer.Option("--lora-rank", help="LoRA rank.")] = 16,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the data order (and of LoRA's initial adapters): the same data, seed and machine give the same weights.")] = 0,
    torch_device: TorchDeviceOpt = None,
) -> None:
    """Fine-tune Qwen2.5-VL on its own chat form; prints the validation loss before and after.

    Defaults follow the checkpoint: a released model gets a gentle fine-tune, one written by
    `qvl-agent tiny-model` (its config.json says so) the from-scratch settings that make it
    learn on the CPU.
    """
    from qvl_agent.eval.sft.train import TrainOptions, train_sft

    writable_folder(out)
    report = train_sft(data, model, out, TrainOptions(
        epochs=epochs, max_steps=max_steps, learning_rate=lr, batch_size=batch_size,
        gradient_accumulation=grad_accum, schedule=schedule.value if schedule else None,
        warmup=warmup, freeze_vision=freeze_vision, lora=lora, lora_rank=lora_rank, device=torch_device, seed=seed),
        progress=True)
    which = "a tiny-model checkpoint's" if report["tiny_defaults"] else "a released checkpoint's"
    typer.echo(f"trained {report['steps']} steps of {report['batch_size']} on {report['train_samples']} "
               f"samples in {report['seconds']:.0f} s ({which} defaults: lr {report['learning_rate']:g}, "
               f"{report['schedule']} after {report['warmup']:.0%} warm-up"
               f"{', vision frozen' if report['freeze_vision'] else ''}); mean train loss "
               f"{report['train_loss']:.4f}")
    if report["validation_loss_before"] is not None:
        typer.echo(f"validation loss: {report['validation_loss_before']:.4f} -> "
                   f"{report['validation_loss_after']:.4f} ({report['validation_samples']} samples)")
    typer.echo(f"wrote {out} (train_report.json); evaluate it on seeds it never saw: "
               f"qvl-agent eval --suite SUITE --tasks REGEX --model {out} --seeds 100:120")

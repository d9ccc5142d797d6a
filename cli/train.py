"""``qvl-agent train DATA --model PATH --out DIR``: a supervised fine-tune on exported data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qvl_agent.cli.app import app, writable_folder
from qvl_agent.cli.model_flags import TorchDeviceOpt


@app.command()
def train(
    data: Annotated[Path, typer.Argument(help="The --out of `qvl-agent export sft --format messages`.")],
    model: Annotated[str, typer.Option("--model", help="Checkpoint to start from: a folder or a hub id.")],
    out: Annotated[Path, typer.Option("--out", help="Where the fine-tuned weights (or adapter) go.")],
    epochs: Annotated[float, typer.Option("--epochs", help="Passes over the training split.")] = 1.0,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Stop after N optimizer steps (overrides --epochs).")] = -1,
    lr: Annotated[float, typer.Option("--lr", help="Learning rate (1e-5 full, ~1e-4 with --lora).")] = 1e-5,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Samples per device step.")] = 1,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Steps per optimizer update.")] = 1,
    lora: Annotated[bool, typer.Option("--lora", help="Train LoRA adapters on the language model (peft) instead of every weight.")] = False,
    lora_rank: Annotated[int, typer.Option("--lora-rank", help="LoRA rank.")] = 16,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    torch_device: TorchDeviceOpt = None,
) -> None:
    """Fine-tune Qwen2.5-VL on its own chat form; prints the validation loss before and after."""
    from qvl_agent.eval.sft.train import TrainOptions, train_sft

    writable_folder(out)
    report = train_sft(data, model, out, TrainOptions(
        epochs=epochs, max_steps=max_steps, learning_rate=lr, batch_size=batch_size,
        gradient_accumulation=grad_accum, lora=lora, lora_rank=lora_rank, device=torch_device,
        seed=seed), progress=True)
    typer.echo(f"trained {report['steps']} steps on {report['train_samples']} samples")
    if report["validation_loss_before"] is not None:
        typer.echo(f"validation loss: {report['validation_loss_before']:.4f} -> "
                   f"{report['validation_loss_after']:.4f} ({report['validation_samples']} samples)")
    typer.echo(f"wrote {out} (train_report.json); use it: qvl-agent run GOAL --model {out}")

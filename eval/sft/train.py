"""``qvl-agent train``: a minimal supervised fine-tune on exported data (messages format).

transformers' ``Trainer`` with the real ``Qwen2_5_VLProcessor``: each sample is rendered by
the checkpoint's own chat template, its images go through the processor at exactly their
frame size (checked per sample: grid x 14 equals the image, which equals the resolution the
system prompt states), and the loss covers the last assistant turn only. Keeps
``mm_token_type_ids`` in every batch: without it Qwen2.5-VL trains with 1D positions while
``generate`` uses M-RoPE's 3D ones (../shared/notes/tiny-training.md).
"""

from __future__ import annotations

import json
import math
import random
import re
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.extras import require_extra

__all__ = ["TrainOptions", "train_sft", "encode_sample", "resolve_options", "training_processor", "IGNORE", "TINY_DEFAULTS",
           "REAL_DEFAULTS"]

IGNORE = -100
_RESOLUTION = re.compile(r"The screen's resolution is (\d+)x(\d+)\.")


Schedule = Literal["constant", "cosine", "linear"]


@dataclass(frozen=True)
class TrainOptions:
    """How to fine-tune; a field left None takes the checkpoint's default (``resolve_options``)."""

    epochs: float | None = None
    max_steps: int = -1
    learning_rate: float | None = None
    batch_size: int | None = None
    gradient_accumulation: int = 1
    schedule: Schedule | None = None
    warmup: float | None = None  # share of the optimizer steps spent warming up
    freeze_vision: bool | None = None  # keep the vision tower as it is (its outputs computed once)
    lora: bool = False
    lora_rank: int = 16
    device: str | None = None
    seed: int = 0


# A released checkpoint is fine-tuned gently: a full fine-tune of the 3B/7B at 1e-5 (LoRA:
# 1e-4), one pass, one sample per step, as the earlier version of this command did.
REAL_DEFAULTS: dict[str, Any] = dict(epochs=1.0, batch_size=1, schedule="constant", warmup=0.0,
                                     freeze_vision=False)
# A tiny-model checkpoint learns from scratch: a fixed budget of steps (whatever the data's
# size, so the run's length is known), a high rate with warm-up and cosine decay (after
# ../shared/notes/tiny-training.md; benchmarks/closed_loop.py measures them on the loop).
TINY_DEFAULTS: dict[str, Any] = dict(max_steps=3000, learning_rate=3e-3, batch_size=8, schedule="cosine",
                                     warmup=0.05, freeze_vision=True)


def resolve_options(options: TrainOptions, tiny: bool) -> TrainOptions:
    """``options`` with every None replaced by the default for a tiny or a released checkpoint.

    For a tiny one, ``--epochs`` or ``--max-steps`` replaces the default step budget.
    """
    defaults = TINY_DEFAULTS if tiny else REAL_DEFAULTS
    filled: dict[str, Any] = {key: value for key, value in defaults.items()
                              if key != "max_steps" and getattr(options, key) is None}
    if options.learning_rate is None and not tiny:
        filled["learning_rate"] = 1e-4 if options.lora else 1e-5
    if options.epochs is None:
        filled["epochs"] = 1.0  # the Trainer needs one; a step budget overrides it
        if tiny and options.max_steps <= 0:
            filled["max_steps"] = TINY_DEFAULTS["max_steps"]
    return replace(options, **filled)


def _rows(data: Path, split: str) -> list[dict[str, Any]]:
    path = data / f"{split}.jsonl"
    if not path.is_file():
        hint = (" it holds the sharegpt format; export with --format messages to train here"
                if (data / f"{split}.json").is_file() else "")
        raise ConfigError(f"{path} not found: give the --out of `qvl-agent export sft`;{hint}")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def encode_sample(row: dict[str, Any], processor: Any, data: Path) -> dict[str, Any]:
    """Token ids, labels (the last assistant turn only) and pixel inputs of one exported row."""
    images = []
    for name in row["images"]:
        with Image.open(data / name) as image:
            images.append(image.convert("RGB"))
    messages = [m if isinstance(m["content"], str) else
                {"role": m["role"], "content": [p if p["type"] == "text" else {"type": "image"}
                                                for p in m["content"]]}
                for m in row["messages"]]
    text = processor.apply_chat_template(messages, tokenize=False)
    inputs = processor(text=[text], images=images or None, return_tensors="pt")
    where = f"{row.get('episode', '?')} step {row.get('step', '?')}"
    stated = _RESOLUTION.search(messages[0]["content"] if isinstance(messages[0]["content"], str) else "")
    for image, (_, rows, cols) in zip(images, inputs.get("image_grid_thw", []).tolist() if images else []):
        if (cols * 14, rows * 14) != image.size:
            raise ConfigError(f"{where}: the processor resized a {image.size[0]}x{image.size[1]} "
                              f"image to {cols * 14}x{rows * 14}; its pixel limits must admit the frame")
        if stated and (int(stated[1]), int(stated[2])) != image.size:
            raise ConfigError(f"{where}: the system prompt states {stated[1]}x{stated[2]} but the "
                              f"image is {image.size[0]}x{image.size[1]}")
    ids = inputs["input_ids"][0]
    labels = ids.clone().fill_(IGNORE)
    start = _last_assistant_start(ids.tolist(), processor)
    end = len(ids)
    im_end = processor.tokenizer.convert_tokens_to_ids("<|im_end|>")
    while end > start and int(ids[end - 1]) != im_end:
        end -= 1  # the template's newline after <|im_end|> is not learnt
    labels[start:end] = ids[start:end]
    sample = {key: value[0] if key in ("input_ids", "attention_mask", "mm_token_type_ids") else value
              for key, value in inputs.items()}
    sample["labels"] = labels
    return sample


def training_processor(path: str | Path) -> Any:
    """The checkpoint's own processor, as ``train`` uses it to encode samples.

    The images are frames already (sides multiples of 28, area within the agent's limits):
    wide limits keep the processor from resizing them again, which ``encode_sample`` checks.
    """
    from transformers import AutoProcessor

    from qvl_agent.model.frame import MIN_PIXELS
    from qvl_agent.model.transformers_backend import set_pixel_limits

    processor = AutoProcessor.from_pretrained(path)
    set_pixel_limits(processor.image_processor, MIN_PIXELS, 16384 * 28 * 28)
    return processor


def _last_assistant_start(ids: list[int], processor: Any) -> int:
    header = processor.tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
    for i in range(len(ids) - len(header), -1, -1):
        if ids[i:i + len(header)] == header:
            return i + len(header)
    raise ConfigError("a sample has no assistant turn to learn")


def _collate(pad_id: int):
    """Batches padded on the left, so that every answer ends at the last position.

    Then only the last ``logits_to_keep`` positions (the longest answer and the one before
    it) go through the LM head and the loss: the same loss as over the whole sequence, without
    a vocabulary-sized row for each of the ~1,000 prompt tokens. ``mm_token_type_ids`` is kept
    (padded with 0): without it Qwen2.5-VL trains with 1D positions while ``generate`` uses
    M-RoPE's 3D ones.
    """
    import torch

    def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
        length = max(len(s["input_ids"]) for s in batch)

        def pad(key: str, value: int) -> Any:
            return torch.stack([torch.nn.functional.pad(s[key], (length - len(s[key]), 0), value=value)
                                for s in batch])

        labels = pad("labels", IGNORE)
        learnt = (labels != IGNORE).any(dim=0).nonzero()
        keep = length - int(learnt[0]) + 1 if len(learnt) else 1
        out = {"input_ids": pad("input_ids", pad_id), "attention_mask": pad("attention_mask", 0),
               "labels": labels[:, length - keep:], "logits_to_keep": keep,
               "mm_token_type_ids": pad("mm_token_type_ids", 0)}
        if any("pixel_values" in s for s in batch):
            out["pixel_values"] = torch.cat([s["pixel_values"] for s in batch if "pixel_values" in s])
            out["image_grid_thw"] = torch.cat([s["image_grid_thw"] for s in batch if "image_grid_thw" in s])
        return out

    return collate


def train_sft(data: Path, model: str, out: Path, options: TrainOptions = TrainOptions(),
              progress: Any = None) -> dict[str, Any]:
    """Fine-tune ``model`` on ``data``; writes the weights (or LoRA adapter) and a report to ``out``.

    Options left None take the defaults of the checkpoint: a tiny-model one's config says so
    (``TINY_DEFAULTS``), anything else is a released model (``REAL_DEFAULTS``).

    ``progress``: show transformers' bars, each after a line (``progress`` called with it, or
    printed to stderr when it is True) that says which stage it measures.

    Returns the report: validation loss before and after, steps, samples, the options used.
    """
    say = _announcer(progress)
    require_extra("train", "qvl-agent train", *(("peft",) if options.lora else ()))
    import torch
    from transformers import Qwen2_5_VLForConditionalGeneration

    from qvl_agent.model.tiny import tiny_marker
    from qvl_agent.model.transformers_backend import resolve_weights

    started = time.perf_counter()
    train_rows, val_rows = _rows(data, "train"), _rows(data, "validation")
    if not train_rows:
        raise ConfigError(f"{data / 'train.jsonl'} has no samples")
    path = resolve_weights(model)
    say(f"loading {model}")
    tiny = tiny_marker(path) is not None
    options = resolve_options(options, tiny)
    processor = training_processor(path)
    torch.manual_seed(options.seed)
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    network = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, dtype=dtype)
    if options.freeze_vision:  # (LoRA below leaves the tower as it is anyway)
        for parameter in network.model.visual.parameters():
            parameter.requires_grad_(False)
    if options.lora:
        from peft import LoraConfig, get_peft_model

        network = get_peft_model(network, LoraConfig(
            r=options.lora_rank, lora_alpha=2 * options.lora_rank, lora_dropout=0.0,
            # the language model's projections only; the vision tower stays as trained
            target_modules=r"^(?!.*visual).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$"))
    steps = options.max_steps if options.max_steps > 0 else math.ceil(
        math.ceil(len(train_rows) / options.batch_size) / options.gradient_accumulation * options.epochs)
    fitted = None
    if tiny and not options.lora:
        network.to(device)
        fitted = _fit_shared(network, train_rows, val_rows, processor, data, options, steps, progress, say)
    if fitted is None:
        say(f"encoding {len(train_rows)} training and {len(val_rows)} validation samples")
        train = [encode_sample(row, processor, data) for row in train_rows]
        val = [encode_sample(row, processor, data) for row in val_rows]
        fitted = _fit_trainer(network, train, val, options, steps, device, dtype, processor,
                              out, progress, say)
    global_step, train_loss, before, after = fitted
    say(f"saving to {out}")
    out.mkdir(parents=True, exist_ok=True)
    if options.lora:  # merged, so that --model OUT loads like any checkpoint
        network = network.merge_and_unload()
    network.save_pretrained(out)
    processor.save_pretrained(out)
    report = {"model": model, "data": str(data), "train_samples": len(train_rows),
              "validation_samples": len(val_rows), "steps": global_step,
              "train_loss": train_loss, "validation_loss_before": before,
              "validation_loss_after": after, "lora": options.lora, "tiny_defaults": tiny,
              "learning_rate": options.learning_rate, "batch_size": options.batch_size,
              "schedule": options.schedule, "warmup": options.warmup, "seed": options.seed,
              "freeze_vision": options.freeze_vision,
              "seconds": round(time.perf_counter() - started, 1)}
    (out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def _announcer(progress: Any) -> Any:
    """``say(line)``: the line before each of the bars, naming the stage it measures
    (``progress`` called with it, or printed to stderr when it is True)."""
    def say(line: str) -> None:
        if callable(progress):
            progress(line)
        elif progress:
            print(f"train: {line}", file=sys.stderr, flush=True)
    return say


def _system_turn(row: dict[str, Any]) -> str:
    first = row["messages"][0]
    return first["content"] if first["role"] == "system" and isinstance(first["content"], str) else ""


def _fit_trainer(network: Any, train: list, val: list, options: TrainOptions, steps: int,
                 device: str, dtype: Any, processor: Any, out: Path,
                 progress: Any, say: Any) -> tuple[int, float, float | None, float | None]:
    """transformers' Trainer: a released checkpoint (GPU, bf16, LoRA)."""
    import torch
    from transformers import Trainer, TrainingArguments

    arguments = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=1, gradient_accumulation_steps=options.gradient_accumulation,
        num_train_epochs=options.epochs, max_steps=options.max_steps,
        learning_rate=options.learning_rate, lr_scheduler_type=options.schedule,
        warmup_steps=round(options.warmup * steps),
        logging_steps=1, save_strategy="no", eval_strategy="no", report_to=[],
        remove_unused_columns=False, use_cpu=device == "cpu", seed=options.seed,
        dataloader_num_workers=0, bf16=dtype == torch.bfloat16, disable_tqdm=progress is None,
    )
    trainer = Trainer(model=network, args=arguments, train_dataset=train,
                      eval_dataset=val or None,
                      data_collator=_collate(processor.tokenizer.pad_token_id))
    if val:
        say(f"validation loss before training ({len(val)} samples)")
    before = trainer.evaluate()["eval_loss"] if val else None
    say(f"training on {len(train)} samples")
    result = trainer.train()
    if val:
        say(f"validation loss after training ({len(val)} samples)")
    after = trainer.evaluate()["eval_loss"] if val else None
    return result.global_step, result.training_loss, before, after


def _fit_shared(network: Any, train_rows: list, val_rows: list, processor: Any, data: Path,
                options: TrainOptions, steps: int,
                progress: Any, say: Any) -> tuple[int, float, float | None, float | None] | None:
    """A plain AdamW loop over shared-prefix batches (``eval.sft.prefix``): a tiny checkpoint.

    Returns None, leaving the work to the Trainer, if this transformers computes the
    shared-prefix loss of the first batch differently from the plain forward pass.
    Samples are encoded one at a time; with the vision tower frozen each keeps its image
    features instead of its pixels (7 MB for a 476x616 frame: 2,000 samples' pixels would
    hold 14 GB at once).
    """
    import torch
    from transformers import get_scheduler

    from qvl_agent.eval.sft.prefix import (add_positions, grouped_batches, image_features,
                                           shared_prefix_loss)

    def encode(row: dict[str, Any], compact: bool = True) -> dict[str, Any]:
        sample = encode_sample(row, processor, data)
        add_positions(network, sample)
        if options.freeze_vision and compact:  # the frozen tower's outputs, once per image
            sample["image_embeds"] = image_features(network, sample)
            del sample["pixel_values"]
        return sample

    rng = random.Random(options.seed)
    keys, val_keys = [_system_turn(row) for row in train_rows], [_system_turn(r) for r in val_rows]
    first = [encode(train_rows[i], compact=False)  # _same_loss runs the plain pass on pixels
             for i in grouped_batches(keys, options.batch_size, random.Random(options.seed))[0]]
    if not _same_loss(network, first):
        print("train: this transformers version runs shared-prefix batches differently; "
              "training without them (slower)")
        return None
    say(f"encoding {len(train_rows)} training and {len(val_rows)} validation samples")
    bar = _progress_bar(len(train_rows) + len(val_rows), progress, "encoding", "sample")
    train, val = [], []
    for rows, samples in ((train_rows, train), (val_rows, val)):
        for row in rows:
            samples.append(encode(row))
            bar.update(1)
    bar.close()
    parameters = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=options.learning_rate, weight_decay=0.0)
    scheduler = get_scheduler(options.schedule, optimizer, num_warmup_steps=round(options.warmup * steps),
                              num_training_steps=steps)
    if val:
        say(f"validation loss before training ({len(val)} samples)")
    before = _mean_loss(network, val, val_keys, options.batch_size)
    say(f"training on {len(train)} samples")
    network.train()
    losses: list[float] = []
    bar = _progress_bar(steps, progress)
    batches: list[list[int]] = []
    while len(losses) < steps:
        loss = 0.0
        for _ in range(options.gradient_accumulation):
            if not batches:
                batches = grouped_batches(keys, options.batch_size, rng, balance=True)
            part = shared_prefix_loss(network, [train[i] for i in batches.pop()])
            (part / options.gradient_accumulation).backward()
            loss += float(part) / options.gradient_accumulation
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        losses.append(loss)
        bar.update(1)
        bar.set_postfix(loss=f"{losses[-1]:.4f}")
    bar.close()
    network.eval()
    if val:
        say(f"validation loss after training ({len(val)} samples)")
    return len(losses), sum(losses) / len(losses), before, _mean_loss(network, val, val_keys,
                                                                        options.batch_size)


def _same_loss(network: Any, batch: list[dict[str, Any]]) -> bool:
    """The shared-prefix loss of ``batch`` equals the plain forward pass's."""
    import torch

    from qvl_agent.eval.sft.prefix import shared_prefix_loss

    device = next(network.parameters()).device
    with torch.no_grad():
        inputs = {k: (v.to(device) if hasattr(v, "to") else v)
                  for k, v in _collate(0)(batch).items()}
        plain = float(network(**inputs).loss)
        try:
            shared = float(shared_prefix_loss(network, batch))
        except (TypeError, AttributeError, RuntimeError, KeyError):
            return False
    return abs(plain - shared) <= 1e-4 * max(1.0, abs(plain))


def _mean_loss(network: Any, samples: list, keys: list[str], batch_size: int) -> float | None:
    """The loss over ``samples``' answer tokens (no gradients); None without samples."""
    import torch

    from qvl_agent.eval.sft.prefix import IGNORE, grouped_batches, shared_prefix_loss

    if not samples:
        return None
    total = tokens = 0.0
    with torch.no_grad():
        for batch in grouped_batches(keys, batch_size, random.Random(0), fill=False):
            chosen = [samples[i] for i in batch]
            count = sum(int((s["labels"][1:] != IGNORE).sum()) for s in chosen)
            total += float(shared_prefix_loss(network, chosen)) * count
            tokens += count
    return total / tokens


def _progress_bar(total: int, progress: Any, desc: str = "training", unit: str = "step") -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=progress is None, unit=unit)

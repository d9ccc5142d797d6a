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
import sys
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.extras import require_extra

__all__ = ["TrainOptions", "train_sft", "encode_sample", "IGNORE"]

IGNORE = -100
_RESOLUTION = re.compile(r"The screen's resolution is (\d+)x(\d+)\.")


@dataclass(frozen=True)
class TrainOptions:
    epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 1e-5
    batch_size: int = 1
    gradient_accumulation: int = 1
    lora: bool = False
    lora_rank: int = 16
    device: str | None = None
    seed: int = 0


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


def _last_assistant_start(ids: list[int], processor: Any) -> int:
    header = processor.tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
    for i in range(len(ids) - len(header), -1, -1):
        if ids[i:i + len(header)] == header:
            return i + len(header)
    raise ConfigError("a sample has no assistant turn to learn")


def _collate(pad_id: int):
    import torch

    def collate(batch: list[dict[str, Any]]) -> dict[str, Any]:
        length = max(len(s["input_ids"]) for s in batch)

        def pad(key: str, value: int) -> Any:
            return torch.stack([torch.nn.functional.pad(s[key], (0, length - len(s[key])), value=value)
                                for s in batch])

        out = {"input_ids": pad("input_ids", pad_id), "attention_mask": pad("attention_mask", 0),
               "labels": pad("labels", IGNORE), "mm_token_type_ids": pad("mm_token_type_ids", 0)}
        if any("pixel_values" in s for s in batch):
            out["pixel_values"] = torch.cat([s["pixel_values"] for s in batch if "pixel_values" in s])
            out["image_grid_thw"] = torch.cat([s["image_grid_thw"] for s in batch if "image_grid_thw" in s])
        return out

    return collate


def train_sft(data: Path, model: str, out: Path, options: TrainOptions = TrainOptions(),
              progress: Any = None) -> dict[str, Any]:
    """Fine-tune ``model`` on ``data``; writes the weights (or LoRA adapter) and a report to ``out``.

    ``progress``: show transformers' bars, each after a line (``progress`` called with it, or
    printed to stderr when it is True) that says which stage it measures.
    Returns the report: validation loss before and after, steps, samples.
    """
    def say(line: str) -> None:
        if callable(progress):
            progress(line)
        elif progress:
            print(f"train: {line}", file=sys.stderr, flush=True)

    require_extra("train", "qvl-agent train", *(("peft",) if options.lora else ()))
    import torch
    from transformers import (AutoProcessor, Qwen2_5_VLForConditionalGeneration, Trainer,
                              TrainingArguments)

    from qvl_agent.model.frame import MIN_PIXELS
    from qvl_agent.model.transformers_backend import resolve_weights, set_pixel_limits

    train_rows, val_rows = _rows(data, "train"), _rows(data, "validation")
    if not train_rows:
        raise ConfigError(f"{data / 'train.jsonl'} has no samples")
    path = resolve_weights(model)
    say(f"loading {model}")
    processor = AutoProcessor.from_pretrained(path)
    # The images are frames already (sides multiples of 28, area within the agent's limits):
    # wide limits keep the processor from resizing them again, which encode_sample checks.
    set_pixel_limits(processor.image_processor, MIN_PIXELS, 16384 * 28 * 28)
    torch.manual_seed(options.seed)
    device = options.device or ("cuda" if torch.cuda.is_available() else "cpu")
    dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
    network = Qwen2_5_VLForConditionalGeneration.from_pretrained(path, dtype=dtype)
    if options.lora:
        from peft import LoraConfig, get_peft_model

        network = get_peft_model(network, LoraConfig(
            r=options.lora_rank, lora_alpha=2 * options.lora_rank, lora_dropout=0.0,
            # the language model's projections only; the vision tower stays as trained
            target_modules=r"^(?!.*visual).*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)$"))
    say(f"encoding {len(train_rows)} training and {len(val_rows)} validation samples")
    train = [encode_sample(row, processor, data) for row in train_rows]
    val = [encode_sample(row, processor, data) for row in val_rows]
    arguments = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=options.batch_size,
        per_device_eval_batch_size=1, gradient_accumulation_steps=options.gradient_accumulation,
        num_train_epochs=options.epochs, max_steps=options.max_steps,
        learning_rate=options.learning_rate, lr_scheduler_type="constant", warmup_steps=0,
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
    say(f"saving to {out}")
    out.mkdir(parents=True, exist_ok=True)
    if options.lora:  # merged, so that --model OUT loads like any checkpoint
        network = network.merge_and_unload()
    network.save_pretrained(out)
    processor.save_pretrained(out)
    report = {"model": model, "data": str(data), "train_samples": len(train),
              "validation_samples": len(val), "steps": result.global_step,
              "train_loss": result.training_loss, "validation_loss_before": before,
              "validation_loss_after": after, "lora": options.lora,
              "learning_rate": options.learning_rate}
    (out / "train_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report

"""``qvl-agent export sft``: recorded episodes as supervised fine-tuning data.

Two formats, each loadable as written:

- ``messages``: ``train.jsonl`` / ``validation.jsonl`` rows ``{"messages": [...], "images":
  [...]}`` with images as ``{"type": "image"}`` parts in order (TRL's vision SFT layout, which
  ms-swift reads too) and a ``README.md`` whose card names the splits, so
  ``datasets.load_dataset(DIR)`` loads them;
- ``sharegpt``: ``train.json`` / ``validation.json`` with ``conversations`` (``human`` /
  ``gpt``, ``<image>`` where each image goes), ``system`` and ``images``, plus LLaMA-Factory's
  ``dataset_info.json`` (``qvl_agent_train``, ``qvl_agent_validation``).

Images are written once each (named by content hash), already resized to their frame, with
paths relative to the dataset folder. The split is by task: a task's samples all land on
one side.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.sft.episodes import Episode, find_episodes
from qvl_agent.eval.sft.samples import Counts, PromptOptions, Sample, episode_samples

__all__ = ["ExportSummary", "export_sft", "split_by_task", "Format"]

Format = Literal["messages", "sharegpt"]
SPLITS = ("train", "validation")


@dataclass
class ExportSummary:
    """What was read, kept and dropped."""

    episodes: int = 0
    episodes_unsuccessful: int = 0
    answers: int = 0
    failed: int = 0
    inexact: int = 0
    duplicates: int = 0
    samples: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SPLITS, 0))
    tasks: dict[str, list[str]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    images: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def split_by_task(tasks: list[str], validation: float, seed: int) -> dict[str, str]:
    """Each task's split; at least one task on each side when there are two or more."""
    ordered = sorted(set(tasks))
    random.Random(seed).shuffle(ordered)
    n_val = 0 if len(ordered) < 2 or validation <= 0 else min(len(ordered) - 1, max(1, round(len(ordered) * validation)))
    return {task: ("validation" if i < n_val else "train") for i, task in enumerate(ordered)}


def export_sft(paths: list[Path], out: Path, *, fmt: Format = "messages", only_success: bool = True,
               validation: float = 0.0, seed: int = 0, options: PromptOptions) -> ExportSummary:
    """Write the samples of the episodes under ``paths`` to ``out``; returns the summary."""
    episodes = find_episodes(paths)
    summary = ExportSummary(episodes=len(episodes))
    kept: list[Episode] = []
    for episode in episodes:
        if only_success and not episode.success:
            summary.episodes_unsuccessful += 1
        else:
            kept.append(episode)
    if (out / "summary.json").exists() or any((out / f"{s}.jsonl").exists() or (out / f"{s}.json").exists() for s in SPLITS):
        raise ConfigError(f"{out} already holds an exported dataset; choose another --out")
    (out / "images").mkdir(parents=True, exist_ok=True)
    sides = split_by_task([e.task for e in kept], validation, seed)
    rows: dict[str, list[dict[str, Any]]] = {s: [] for s in SPLITS}
    counts = Counts()
    seen: set[str] = set()
    written: set[str] = set()
    for episode in kept:
        for sample in episode_samples(episode, options, counts):
            images = [_save_image(image, out, written) for image in _images(sample.messages)]
            key = hashlib.sha1(json.dumps([_texts(sample.messages), images, sample.answer]).encode()).hexdigest()
            if key in seen:
                summary.duplicates += 1
                continue
            seen.add(key)
            side = sides[episode.task]
            rows[side].append(_row(sample, images, fmt))
            if episode.task not in summary.tasks[side]:
                summary.tasks[side].append(episode.task)
    summary.answers, summary.failed, summary.inexact = counts.answers, counts.failed, counts.inexact
    summary.images = len(written)
    for side in SPLITS:
        summary.samples[side] = len(rows[side])
        _write_split(out, side, rows[side], fmt)
    _write_loader_files(out, fmt)
    (out / "summary.json").write_text(json.dumps(summary.as_dict(), indent=2) + "\n", encoding="utf-8")
    return summary


def _images(messages: list[dict[str, Any]]) -> list[Image.Image]:
    return [part["image"] for m in messages if not isinstance(m["content"], str)
            for part in m["content"] if part.get("type") == "image"]


def _texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["content"] if isinstance(m["content"], str) else
            "".join(p.get("text", "\0image") for p in m["content"]) for m in messages]


def _save_image(image: Image.Image, out: Path, written: set[str]) -> str:
    digest = hashlib.sha1(image.tobytes() + repr(image.size).encode()).hexdigest()[:20]
    name = f"images/{digest}.png"
    if name not in written:
        image.save(out / name, format="PNG", compress_level=1)
        written.add(name)
    return name


def _row(sample: Sample, images: list[str], fmt: Format) -> dict[str, Any]:
    meta = {"task": sample.task, "episode": sample.episode, "step": sample.step,
            "frame": list(sample.frame.size)}
    if fmt == "messages":
        messages = [_message(m) for m in sample.messages]
        messages.append({"role": "assistant", "content": sample.answer})
        return {"messages": messages, "images": images, **meta}
    system = next((m["content"] for m in sample.messages if m["role"] == "system"), "")
    conversations = [{"from": "human" if m["role"] == "user" else "gpt", "value": _flat(m)}
                     for m in sample.messages if m["role"] != "system"]
    conversations.append({"from": "gpt", "value": sample.answer})
    return {"conversations": conversations, "system": system, "images": images, **meta}


def _message(message: dict[str, Any]) -> dict[str, Any]:
    if isinstance(message["content"], str):
        return dict(message)
    parts = [{"type": "image"} if p.get("type") == "image" else {"type": "text", "text": p["text"]}
             for p in message["content"]]
    return {"role": message["role"], "content": parts}


def _flat(message: dict[str, Any]) -> str:
    """A turn as LLaMA-Factory writes it: the text with ``<image>`` where each image goes."""
    if isinstance(message["content"], str):
        return message["content"]
    return "".join("<image>" if p.get("type") == "image" else p["text"] for p in message["content"])


def _write_split(out: Path, side: str, rows: list[dict[str, Any]], fmt: Format) -> None:
    if fmt == "messages":
        with open(out / f"{side}.jsonl", "w", encoding="utf-8") as file:
            for row in rows:
                file.write(json.dumps(row, ensure_ascii=False) + "\n")
    else:
        (out / f"{side}.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1) + "\n",
                                          encoding="utf-8")


def _write_loader_files(out: Path, fmt: Format) -> None:
    if fmt == "messages":
        # A dataset card: datasets.load_dataset(out) reads the splits named here.
        (out / "README.md").write_text(
            "---\nconfigs:\n- config_name: default\n  data_files:\n"
            "  - split: train\n    path: train.jsonl\n  - split: validation\n    path: validation.jsonl\n"
            "---\n\n# qvl-agent SFT data (messages)\n\nOne row per agent step: `messages` in the "
            "chat form the agent sent, images as `{\"type\": \"image\"}` parts whose files are "
            "listed in `images` (relative to this folder), the last assistant turn the answer "
            "to learn. Written by `qvl-agent export sft`.\n", encoding="utf-8")
        return
    info = {f"qvl_agent_{side}": {
        "file_name": f"{side}.json", "formatting": "sharegpt",
        "columns": {"messages": "conversations", "system": "system", "images": "images"},
        "tags": {"role_tag": "from", "content_tag": "value", "user_tag": "human",
                 "assistant_tag": "gpt"}} for side in SPLITS}
    (out / "dataset_info.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")

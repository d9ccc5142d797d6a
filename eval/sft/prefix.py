"""Training batches that share their prompt: the prefix runs once per batch.

Every sample of one kind of screen starts with the same ~1,000 tokens: the system prompt
(the tool's description with the frame size), the chat header and "The user query:  ".
A batch of such samples runs that prefix once, copies its keys and values to every sample
(the copies stay in the autograd graph, so the prefix's weights get every sample's
gradient), and runs only each sample's own tokens on top: the same loss and the same
gradients as running every sample whole (``tests/eval/test_sft_train.py`` checks it to
1e-6), at a third of the cost on a CPU. The loss covers the answer tokens only, so only
their hidden states go through the LM head.

With the vision tower frozen, each image's features are computed once (``image_features``)
and reused at every step; batches are drawn from one group of samples with the same system
turn (``grouped_batches``) so that they share the longest prefix.
"""

from __future__ import annotations

import inspect
import random
from typing import Any

__all__ = ["image_features", "shared_prefix_loss", "grouped_batches", "add_positions"]

IGNORE = -100


def add_positions(model: Any, sample: dict[str, Any]) -> None:
    """Put the sample's M-RoPE positions (3 x length) on it, as the model computes them."""
    import torch

    with torch.no_grad():
        positions, _ = model.model.get_rope_index(
            sample["input_ids"][None], image_grid_thw=sample.get("image_grid_thw"),
            attention_mask=sample["attention_mask"][None],
            mm_token_type_ids=sample["mm_token_type_ids"][None])
    sample["position_ids"] = positions[:, 0].cpu()


def image_features(model: Any, sample: dict[str, Any]) -> list[Any]:
    """The vision tower's output for each image of ``sample`` (one tensor per image), no grad."""
    import torch

    if "pixel_values" not in sample:
        return []
    device = next(model.parameters()).device
    with torch.no_grad():
        out = model.model.get_image_features(sample["pixel_values"].to(device),
                                             sample["image_grid_thw"].to(device), return_dict=True)
    return [features.detach() for features in out.pooler_output]


def shared_prefix_loss(model: Any, batch: list[dict[str, Any]]) -> Any:
    """The mean cross-entropy over the answer tokens of ``batch``, the common prefix run once.

    Each sample holds ``input_ids``, ``labels``, ``position_ids`` (``add_positions``) and
    either ``image_embeds`` (frozen vision, ``image_features``) or ``pixel_values`` with
    ``image_grid_thw`` (the vision tower runs, with gradients).
    """
    import torch

    lm = model.model.language_model
    device = next(model.parameters()).device
    image_token = model.config.image_token_id
    ids = [sample["input_ids"] for sample in batch]
    prefix = _common_prefix(ids, image_token)
    embed = lm.embed_tokens
    first = ids[0][:prefix].to(device)
    out = lm(inputs_embeds=embed(first)[None], use_cache=True,
             position_ids=batch[0]["position_ids"][:, None, :prefix].to(device))
    cache = out["cache"] if "cache" in out else out["past_key_values"]  # transformers 5 / 4
    cache.batch_repeat_interleave(len(batch))

    size = max(len(i) for i in ids) - prefix
    hidden = embed.weight.shape[1]
    inputs = torch.zeros(len(batch), size, hidden, dtype=embed.weight.dtype, device=device)
    positions = torch.ones(3, len(batch), size, dtype=torch.long, device=device)
    mask = torch.zeros(len(batch), prefix + size, dtype=torch.long, device=device)
    mask[:, :prefix] = 1
    labels = torch.full((len(batch), size), IGNORE, dtype=torch.long, device=device)
    features = _features(model, batch)
    for row, (sample, images) in enumerate(zip(batch, features)):
        own = sample["input_ids"][prefix:].to(device)
        length = len(own)
        embeds = embed(own)
        if images:
            where = (own == image_token)[:, None].expand_as(embeds)
            embeds = embeds.masked_scatter(where, torch.cat(images).to(embeds.dtype))
        inputs[row, size - length:] = embeds  # padded on the left: every answer ends at the end
        positions[:, row, size - length:] = sample["position_ids"][:, prefix:].to(device)
        mask[row, prefix + size - length:] = 1
        labels[row, size - length:] = sample["labels"][prefix:].to(device)
    learnt = (labels != IGNORE).any(dim=0).nonzero()
    keep = size - int(learnt[0]) + 1 if len(learnt) else 1
    cache_name = "cache" if "cache" in inspect.signature(lm.forward).parameters else "past_key_values"
    states = lm(inputs_embeds=inputs, position_ids=positions, attention_mask=mask, use_cache=True,
                **{cache_name: cache}).last_hidden_state
    logits = model.lm_head(states[:, size - keep:]).float()
    return torch.nn.functional.cross_entropy(
        logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, size - keep + 1:].reshape(-1),
        ignore_index=IGNORE)


def _common_prefix(ids: list[Any], image_token: int) -> int:
    """Tokens every sample starts with, stopping before the first image and the last token."""
    import torch

    shortest = min(len(i) for i in ids) - 1
    first = ids[0][:shortest]
    same = torch.ones(shortest, dtype=torch.bool)
    for other in ids[1:]:
        same &= other[:shortest] == first
    same &= first != image_token
    differs = (~same).nonzero()
    return int(differs[0]) if len(differs) else shortest


def _features(model: Any, batch: list[dict[str, Any]]) -> list[list[Any]]:
    """Each sample's image features: cached ones, or the vision tower run now (trainable)."""
    if all("image_embeds" in sample for sample in batch):
        return [sample["image_embeds"] for sample in batch]
    import torch

    device = next(model.parameters()).device
    with_images = [sample for sample in batch if "pixel_values" in sample]
    if not with_images:
        return [[] for _ in batch]
    out = model.model.get_image_features(
        torch.cat([s["pixel_values"] for s in with_images]).to(device),
        torch.cat([s["image_grid_thw"] for s in with_images]).to(device), return_dict=True)
    per_image = iter(out.pooler_output)
    return [[next(per_image) for _ in range(len(s["image_grid_thw"]))] if "pixel_values" in s else []
            for s in batch]


def grouped_batches(keys: list[str], batch_size: int, rng: random.Random, *,
                    fill: bool = True, balance: bool = False) -> list[list[int]]:
    """One epoch of batches: samples with the same key (system turn) together, in random order.

    With ``fill``, a group's last batch is filled up with other samples of the same group,
    drawn at random, so that every batch has ``batch_size`` samples (fewer only when a whole
    group is smaller); without, every sample is in exactly one batch.

    With ``balance``, a smaller group gets batches in proportion to the square root of its
    size against the largest group's, its samples repeated (in a new order each pass): ten
    phone samples beside 2,000 MiniWoB ones get 7% of the steps, not 0.5%, so that a kind of
    screen with few distinct samples is learnt too.
    """
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key, []).append(index)
    largest = max((len(members) for members in groups.values()), default=0)
    batches = []
    for members in groups.values():
        count = -(-len(members) // batch_size)
        if balance:
            count = max(count, round(-(-largest // batch_size) * (len(members) / largest) ** 0.5))
        order: list[int] = []
        for _ in range(-(-count * batch_size // len(members)) if balance else 1):
            shuffled = members[:]
            rng.shuffle(shuffled)
            order += shuffled
        for start in range(0, count * batch_size, batch_size):
            chunk = order[start:start + batch_size]
            missing = min(batch_size, len(members)) - len(chunk)
            if fill and missing > 0:
                chunk += rng.sample([m for m in members if m not in chunk], missing)
            batches.append(chunk)
    rng.shuffle(batches)
    return batches

"""System-prompt prefix caching for the local backend's static decode.

Every agent step starts with the same system turn (the tool schema, ~1,200 tokens), then the
goal, history and screenshot. Its keys and values do not depend on what follows, so they are
computed once and copied into the front of each step's static cache: the prefill then covers
only the user turn. The system turn is text only, so its M-RoPE positions are 0..n-1 on all
three axes, the same positions ``get_rope_index`` gives it inside the whole prompt.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

__all__ = ["PrefixCache"]


class PrefixCache:
    """Keys and values of the first chat turn (up to its ``<|im_end|>``), per distinct turn.

    Args:
        model: a ``Qwen2_5_VLForConditionalGeneration``.
        end_of_turn: the id of ``<|im_end|>``.
        capacity: how many different prefixes to keep (least recently used goes first).
    """

    def __init__(self, model: Any, end_of_turn: int, capacity: int = 4) -> None:
        self.model, self.end_of_turn, self.capacity = model, end_of_turn, capacity
        self._entries: OrderedDict[str, list[tuple[Any, Any]]] = OrderedDict()
        self.hits = self.misses = 0

    def length(self, input_ids: Any) -> int:
        """How many leading tokens of the prompt are its first turn (0: none, or nothing after it)."""
        ids = input_ids[0]
        ends = (ids == self.end_of_turn).nonzero()
        if len(ends) == 0 or int(ends[0]) + 1 >= ids.shape[0]:
            return 0
        return int(ends[0]) + 1

    def copy_into(self, cache: Any, input_ids: Any) -> int:
        """Write the prompt's first turn into an empty static ``cache``; how many tokens it holds."""
        length = self.length(input_ids)
        if length == 0:
            return 0
        prefix = input_ids[0, :length]
        key = hashlib.sha1(prefix.cpu().numpy().tobytes()).hexdigest()
        if key in self._entries:
            self.hits += 1
            self._entries.move_to_end(key)
        else:
            self.misses += 1
            self._entries[key] = self._prefill(prefix)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        for layer, (keys, values) in zip(cache.layers, self._entries[key], strict=True):
            layer.keys[:, :, :length].copy_(keys)
            layer.values[:, :, :length].copy_(values)
            layer.cumulative_length.fill_(length)
        return length

    def _prefill(self, prefix: Any) -> list[tuple[Any, Any]]:
        import torch
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        positions = torch.arange(prefix.shape[0], device=prefix.device).reshape(1, 1, -1).expand(3, 1, -1)
        with torch.inference_mode():
            self.model(input_ids=prefix[None], position_ids=positions, cache=cache, use_cache=True,
                       logits_to_keep=1)
        return [(layer.keys, layer.values) for layer in cache.layers]

"""System-prompt prefix caching for the local backend.

Every agent step starts with the same system turn (the tool schema, ~1,200 tokens), then the
goal, history and screenshot. Its keys and values do not depend on what follows, so they are
computed once and each step continues from a copy: the prefill then covers only the user
turn. The system turn is text only, so its M-RoPE positions are 0..n-1 on all three axes, the
same positions ``get_rope_index`` gives it inside the whole prompt.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from typing import Any

__all__ = ["PrefixCache"]


class PrefixCache:
    """KV caches of the first chat turn (up to its ``<|im_end|>``), handed out as copies.

    Args:
        model: a ``Qwen2_5_VLForConditionalGeneration``.
        end_of_turn: the id of ``<|im_end|>``.
        capacity: how many different prefixes to keep (least recently used goes first).
    """

    def __init__(self, model: Any, end_of_turn: int, capacity: int = 4) -> None:
        self.model, self.end_of_turn, self.capacity = model, end_of_turn, capacity
        self._entries: OrderedDict[str, Any] = OrderedDict()
        self.hits = self.misses = 0

    def cache_for(self, input_ids: Any) -> Any | None:
        """A fresh cache holding the prompt's first turn, or None if the prompt has no such turn."""
        ids = input_ids[0]
        ends = (ids == self.end_of_turn).nonzero()
        if len(ends) == 0 or int(ends[0]) + 1 >= ids.shape[0]:
            return None
        prefix = ids[: int(ends[0]) + 1]
        key = hashlib.sha1(prefix.cpu().numpy().tobytes()).hexdigest()
        if key in self._entries:
            self.hits += 1
            self._entries.move_to_end(key)
        else:
            self.misses += 1
            self._entries[key] = self._prefill(prefix)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
        return copy.deepcopy(self._entries[key])

    def _prefill(self, prefix: Any) -> Any:
        import torch
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        with torch.inference_mode():
            self.model(input_ids=prefix[None], cache=cache, use_cache=True, logits_to_keep=1)
        return cache

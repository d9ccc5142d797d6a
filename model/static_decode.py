"""Greedy decoding over a preallocated KV cache, each token one CUDA graph replay on CUDA.

``generate`` spends most of a decoded token launching ~1,500 small kernels from Python (a
3B model's token is 28 ms of CPU time for a few ms of GPU work). Here the prompt is
prefilled by the model's own forward into a ``StaticCache``; every further token is one
fixed-shape step (embed, the decoder over the whole cache with a position mask, lm_head,
the logits processors greedy decoding applies, argmax) that reads its position from the
cache's own counter. On CUDA that step is compiled (``torch.compile``: fused kernels, once per
process and cache length) and captured as a CUDA graph, then replayed, so a token costs one
launch; elsewhere it runs eagerly. A step that fails to compile is captured uncompiled, one
that fails to capture runs eagerly; each says so once.

The answer is the one ``generate(do_sample=False)`` gives: the same processors in the same
float32 (repetition penalty from the generation config, ``min_new_tokens``), the same
stopping rule (an end-of-turn id, or ``max_new_tokens``). ``unsupported`` names a generation
config this loop does not reproduce; the backend then keeps ``generate``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

__all__ = ["StaticDecoder", "unsupported", "cache_length_for", "compiled_step"]

_BUCKET = 2048  # cache lengths are multiples of this: one graph serves prompts that grow a little
_SLOTS = 3  # graphs (and caches) kept at once, least recently used dropped first

# Generation settings that add a logits processor this loop does not reproduce, with the value
# that leaves greedy decoding alone.
_NEUTRAL: dict[str, Any] = {
    "guidance_scale": (None, 1, 1.0), "sequence_bias": (None,), "encoder_repetition_penalty": (None, 1.0),
    "no_repeat_ngram_size": (None, 0), "encoder_no_repeat_ngram_size": (None, 0),
    "bad_words_ids": (None,), "min_length": (None, 0), "forced_bos_token_id": (None,),
    "forced_eos_token_id": (None,), "remove_invalid_values": (None, False),
    "exponential_decay_length_penalty": (None,), "suppress_tokens": (None,),
    "begin_suppress_tokens": (None,), "watermarking_config": (None,), "num_beams": (None, 1),
    "stop_strings": (None,),
}


def unsupported(model: Any) -> str | None:
    """Why this loop would not answer as ``generate`` does for ``model``, or None."""
    config = model.generation_config
    for name, neutral in _NEUTRAL.items():
        value = getattr(config, name, None)
        if not any(value is n or value == n for n in neutral):
            return f"the generation config sets {name}={value!r}"
    text = model.config.get_text_config()
    if text._attn_implementation not in ("sdpa", "eager"):
        return f"attention implementation {text._attn_implementation!r} (the static decode needs sdpa or eager)"
    if any(kind != "full_attention" for kind in getattr(text, "layer_types", None) or ["full_attention"]):
        return "the text model has sliding-window layers"
    return None


def cache_length_for(tokens: int) -> int:
    """The cache length that holds ``tokens``: rounded up to a multiple of 2048."""
    return max(1, math.ceil(tokens / _BUCKET)) * _BUCKET


class StaticDecoder:
    """Greedy generation for a ``Qwen2_5_VLForConditionalGeneration`` over static caches.

    Args:
        model: the loaded model (sdpa or eager attention).
        graphs: capture each decode step as a CUDA graph (on CUDA only; ignored elsewhere).
        compile: with graphs, compile the step with torch.compile before capturing it.
        notice: called with a line a person should see (a graph is being captured).
    """

    def __init__(self, model: Any, *, graphs: bool, compile: bool = True,
                 notice: Callable[[str], None] = lambda _: None) -> None:
        import torch

        self.model, self.notice = model, notice
        self.device = next(model.parameters()).device
        self.graphs = graphs and self.device.type == "cuda"
        self.compile = compile and self.graphs
        eos = model.generation_config.eos_token_id
        self.eos = [eos] if isinstance(eos, int) else list(eos or [])
        self.penalty = float(model.generation_config.repetition_penalty or 1.0)
        self._slots: OrderedDict[int, _Slot] = OrderedDict()
        self._pool = torch.cuda.graph_pool_handle() if self.graphs else None

    def slot(self, length: int) -> _Slot:
        """The cache (and graph) of ``length`` positions, made on first use."""
        if length in self._slots:
            self._slots.move_to_end(length)
            return self._slots[length]
        while len(self._slots) >= _SLOTS:
            self._slots.popitem(last=False)[1].release()
        slot = _Slot(self, length)
        if self.compile:
            self.notice(f"compiling the decode step for {length} cache positions and capturing it as a "
                        "CUDA graph (once per process; about a minute)")
            try:
                slot.capture(self._pool, compiled=True)
            except Exception as exc:  # noqa: BLE001 - the uncompiled step gives the same tokens
                self.compile = False
                self.notice(f"the decode step stays uncompiled: {_first_line(exc)}")
        if self.graphs and slot.graph is None:
            self.notice(f"capturing the decode step as a CUDA graph for {length} cache positions (once)")
            try:
                slot.capture(self._pool, compiled=False)
            except Exception as exc:  # noqa: BLE001 - the eager step gives the same tokens, slower
                self.graphs = False
                self.notice(f"decoding without CUDA graphs: the capture failed ({_first_line(exc)})")
        self._slots[length] = slot
        return slot

    def generate(self, inputs: dict[str, Any], *, max_new_tokens: int, min_new_tokens: int = 0,
                 prefix: Any = None, cache_length: int | None = None) -> list[int]:
        """The greedy answer's token ids (an end-of-turn id included when one ends it).

        ``inputs``: the processor's tensors on the model's device. ``prefix``: a
        ``PrefixCache`` whose stored first turn is copied in instead of prefilled.
        ``cache_length``: a longer cache than this call needs (to warm up the steps to come).
        """
        import torch

        ids = inputs["input_ids"]
        needed = cache_length_for(ids.shape[1] + max_new_tokens)
        slot = self.slot(max(needed, cache_length or 0))
        with torch.inference_mode():
            logits = slot.prefill(inputs, prefix)
            first = slot.start(logits, ids, min_new_tokens)
            tokens = [first]
            while len(tokens) < max_new_tokens and tokens[-1] not in self.eos:
                slot.advance()
                tokens.append(int(slot.token))
        return tokens


_COMPILED: dict[str, Any] = {}


def compiled_step() -> Callable[[_Slot], None]:
    """``_Slot._step`` through torch.compile, one per process: its code is reused by every slot
    of a cache length (dynamo guards on shapes, not on which slot)."""
    import torch

    if "step" not in _COMPILED:
        _COMPILED["step"] = torch.compile(_Slot._step, fullgraph=True, dynamic=False)
    return _COMPILED["step"]


def _first_line(exc: Exception) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:160]}"


class _Slot:
    """One static cache, the step's fixed buffers, and (on CUDA) the step as a graph."""

    def __init__(self, decoder: StaticDecoder, length: int) -> None:
        import torch
        from transformers import StaticCache

        model, device = decoder.model, decoder.device
        self.decoder, self.length = decoder, length
        text = model.config.get_text_config()
        self.cache = StaticCache(config=model.config, max_cache_len=length)
        head_dim = getattr(text, "head_dim", None) or text.hidden_size // text.num_attention_heads
        self.cache.early_initialization(batch_size=1, num_heads=text.num_key_value_heads, head_dim=head_dim,
                                        dtype=model.dtype, device=device)
        vocab = model.lm_head.out_features
        self.token = torch.zeros((1, 1), dtype=torch.long, device=device)
        self.delta = torch.zeros((), dtype=torch.long, device=device)  # M-RoPE offset of text after images
        self.count = torch.zeros((), dtype=torch.long, device=device)  # tokens chosen so far
        self.min_new = torch.zeros((), dtype=torch.long, device=device)
        self.seen = torch.zeros(vocab, dtype=torch.bool, device=device)  # for the repetition penalty
        self.eos = torch.tensor(decoder.eos, dtype=torch.long, device=device)
        self.positions = torch.arange(length, device=device)
        self.implementation = text._attn_implementation
        self.graph: Any = None

    def prefill(self, inputs: dict[str, Any], prefix: Any) -> Any:
        """Fill the cache with the prompt; the float32 logits of its last position."""
        model = self.decoder.model
        self.restart()
        ids = inputs["input_ids"]
        positions, deltas = model.model.get_rope_index(
            ids, mm_token_type_ids=inputs["mm_token_type_ids"], image_grid_thw=inputs.get("image_grid_thw"),
            attention_mask=inputs.get("attention_mask"))
        model.model.rope_deltas = deltas
        self.delta.copy_(deltas.reshape(()))
        start = prefix.copy_into(self.cache, ids) if prefix is not None else 0
        rest = {k: v for k, v in inputs.items() if k not in ("attention_mask", "input_ids", "mm_token_type_ids")}
        out = model(input_ids=ids[:, start:], mm_token_type_ids=inputs["mm_token_type_ids"][:, start:],
                    position_ids=positions[..., start:], cache=self.cache, use_cache=True,
                    logits_to_keep=1, **rest)
        return out.logits[:, -1].float()

    def restart(self) -> None:
        """Empty the cache: only its counters; what lies past them is masked until overwritten."""
        for layer in self.cache.layers:
            layer.cumulative_length.zero_()

    def start(self, logits: Any, ids: Any, min_new_tokens: int) -> int:
        """Choose the first token from the prefill's logits and arm the step's buffers."""
        self.seen.zero_()
        self.seen[ids[0]] = True
        self.count.zero_()
        self.min_new.fill_(min_new_tokens)
        self._choose(logits)
        return int(self.token)

    def advance(self) -> None:
        """Decode one more token into ``self.token``."""
        if self.graph is not None:
            self.graph.replay()
        else:
            self._step()

    def _step(self) -> None:
        """One decoded token; only tensor ops on fixed buffers (it is what the graph holds)."""
        model = self.decoder.model
        seen = self.cache.layers[0].cumulative_length  # the new token's index in the cache
        position_ids = (seen + self.delta).reshape(1, 1, 1).expand(3, 1, 1)
        visible = (self.positions <= seen).reshape(1, 1, 1, self.length)
        if self.implementation == "sdpa":
            mask = visible
        else:  # eager adds the mask to the scores
            import torch

            zero = torch.zeros((), dtype=model.dtype, device=visible.device)
            mask = torch.where(visible, zero, torch.finfo(model.dtype).min)
        embeds = model.model.language_model.embed_tokens(self.token)
        hidden = model.model.language_model(inputs_embeds=embeds, position_ids=position_ids,
                                            attention_mask={"full_attention": mask}, cache=self.cache,
                                            use_cache=True).last_hidden_state
        self._choose(model.lm_head(hidden[:, -1]).float())

    def _choose(self, logits: Any) -> None:
        """generate's greedy choice: repetition penalty, min_new_tokens, argmax."""
        import torch

        penalty = self.decoder.penalty
        if penalty != 1.0:
            penalized = torch.where(logits < 0, logits * penalty, logits / penalty)
            logits = torch.where(self.seen, penalized, logits)
        if self.eos.numel():
            blocked = torch.where(self.count < self.min_new, float("-inf"), logits.index_select(1, self.eos))
            logits = logits.index_copy(1, self.eos, blocked)
        choice = logits.argmax(-1)
        self.token.copy_(choice.reshape(1, 1))
        self.seen.index_fill_(0, choice, True)
        self.count.add_(1)

    def capture(self, pool: Any, *, compiled: bool) -> None:
        """Record ``_step`` (compiled or not) as a CUDA graph, after warm-up runs on a side stream."""
        import torch

        step = compiled_step() if compiled else _Slot._step
        with torch.inference_mode():
            self.restart()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    step(self)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph, pool=pool):
                step(self)
            self.restart()
        self.graph = graph

    def release(self) -> None:
        if self.graph is not None:
            self.graph.reset()
            self.graph = None

"""The vision encoder's windowed attention as one attention call per layer.

Qwen2.5-VL's encoder attends within 112-pixel windows in all but four of its 32 layers.
transformers runs that with flash attention's variable-length kernel when it is installed;
with SDPA or eager attention it splits the sequence and calls attention once per window:
84 calls per layer for a 1316x728 frame, 2,356 per image, each a handful of kernel launches.
Here the windows are gathered into one padded batch (``windows x heads x longest x dim``)
with a key-padding mask, so each windowed layer makes one call. Padded keys are masked out
and padded queries are dropped, so every real token sees exactly the keys it saw before.
The full-attention layers keep transformers' own forward.

It is installed on a loaded model by replacing the windowed layers' attention ``forward``
(no fork of transformers). Before that it checks that transformers' vision attention still
looks as this code expects and gives the same output on a small uneven input; if not, the
stock forward stays and ``install`` says why.
"""

from __future__ import annotations

import inspect
import sys
import types
from dataclasses import dataclass
from typing import Any

__all__ = ["WindowLayout", "install_batched_windows", "uninstall_batched_windows", "attend", "layout_of",
           "remember_layout", "is_installed"]

_MARK = "_qvl_batched_windows"
_IMPLEMENTATIONS = ("sdpa", "eager")  # flash attention already makes one varlen call per layer


@dataclass(frozen=True)
class WindowLayout:
    """Where each token of a window-ordered sequence sits in the padded batch.

    Attributes:
        index: ``(windows, longest)`` token index of each padded slot (0 in padding slots);
            None when one segment spans the sequence (no gather, no mask).
        keep: the flat padded slots that hold real tokens, in sequence order.
        valid: ``(windows, 1, 1, longest)`` True where a key is a real token.
    """

    index: Any
    keep: Any
    valid: Any

    @classmethod
    def from_cu_seqlens(cls, cu_seqlens: Any) -> WindowLayout:
        """The layout of the segments ``cu_seqlens`` delimits (reads the longest back once)."""
        import torch

        bounds = cu_seqlens.to(torch.long)
        starts, lengths = bounds[:-1], bounds[1:] - bounds[:-1]
        starts, lengths = starts[lengths > 0], lengths[lengths > 0]
        if lengths.shape[0] == 1 and int(starts[0]) == 0:
            return cls(index=None, keep=None, valid=None)
        longest = int(lengths.max())
        offsets = torch.arange(longest, device=bounds.device)
        valid = offsets[None, :] < lengths[:, None]
        index = torch.where(valid, starts[:, None] + offsets[None, :], 0)
        keep = valid.reshape(-1).nonzero().squeeze(1)
        return cls(index=index, keep=keep, valid=valid[:, None, None, :])

    def to(self, device: Any) -> WindowLayout:
        return WindowLayout(*(None if t is None else t.to(device) for t in (self.index, self.keep, self.valid)))

    def mask_for(self, implementation: str, dtype: Any) -> Any:
        """The key-padding mask in the form the attention function takes."""
        import torch

        if implementation == "sdpa":
            return self.valid
        zero = torch.zeros((), dtype=dtype, device=self.valid.device)
        return torch.where(self.valid, zero, torch.finfo(dtype).min)  # eager adds it to the scores


# The encoder passes one cu_seqlens tensor to all its windowed layers, so the layout is built
# once per forward. Entries hold their tensor, so an id is never reused while it is cached.
_LAYOUTS: list[tuple[Any, WindowLayout]] = []


def layout_of(cu_seqlens: Any) -> WindowLayout:
    """The (cached) layout of ``cu_seqlens``."""
    for tensor, layout in _LAYOUTS:
        if tensor is cu_seqlens:
            return layout
    return remember_layout(cu_seqlens, WindowLayout.from_cu_seqlens(cu_seqlens))


def remember_layout(cu_seqlens: Any, layout: WindowLayout) -> WindowLayout:
    """Cache ``layout`` as the layout of this very ``cu_seqlens`` tensor (the last four are kept)."""
    _LAYOUTS.insert(0, (cu_seqlens, layout))
    del _LAYOUTS[4:]
    return layout


def attend(module: Any, hidden_states: Any, layout: WindowLayout | None,
           position_embeddings: tuple[Any, Any], **kwargs: Any) -> Any:
    """``Qwen2_5_VLVisionAttention.forward`` with the segments in one call.

    ``layout`` None or whole: one segment spans the sequence (a full-attention layer, one image).
    """
    from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

    modeling = sys.modules[type(module).__module__]
    implementation = module.config._attn_implementation
    attention = ALL_ATTENTION_FUNCTIONS.get_interface(implementation, modeling.eager_attention_forward)
    seq_length = hidden_states.shape[0]
    query, key, value = (module.qkv(hidden_states).reshape(seq_length, 3, module.num_heads, -1)
                         .permute(1, 0, 2, 3).unbind(0))
    cos, sin = position_embeddings
    query, key = modeling.apply_rotary_pos_emb_vision(query, key, cos, sin)
    options = {"scaling": module.scaling, "dropout": 0.0, "is_causal": False, **kwargs}
    if layout is None or layout.index is None:
        out, _ = attention(module, *(t.transpose(0, 1).unsqueeze(0) for t in (query, key, value)),
                           attention_mask=None, **options)
    else:
        # (windows, longest, heads, dim) -> (windows, heads, longest, dim)
        batched = [t[layout.index].transpose(1, 2) for t in (query, key, value)]
        out, _ = attention(module, *batched, attention_mask=layout.mask_for(implementation, query.dtype),
                           **options)
        out = out.reshape(-1, out.shape[-2] * out.shape[-1])[layout.keep]
    return module.proj(out.reshape(seq_length, -1).contiguous())


def _windowed_forward(self: Any, hidden_states: Any, cu_seqlens: Any,
                      position_embeddings: tuple[Any, Any] | None = None,
                      max_seqlen: int | None = None, **kwargs: Any) -> Any:
    return attend(self, hidden_states, layout_of(cu_seqlens), position_embeddings, **kwargs)


def windowed_blocks(visual: Any) -> list[Any]:
    """The encoder's blocks that attend within windows (all but ``fullatt_block_indexes``)."""
    full = set(visual.fullatt_block_indexes)
    return [block for i, block in enumerate(visual.blocks) if i not in full]


def why_not(visual: Any) -> str | None:
    """Why the batched windows cannot be installed on ``visual``, or None if they can."""
    if not hasattr(visual, "blocks") or not hasattr(visual, "fullatt_block_indexes"):
        return "the vision encoder has no blocks/fullatt_block_indexes"
    blocks = windowed_blocks(visual)
    if not blocks:
        return "the vision encoder has no windowed layers"
    attn = getattr(blocks[0], "attn", None)
    if attn is None or not all(hasattr(attn, a) for a in ("qkv", "proj", "num_heads", "scaling", "config")):
        return "the vision attention has no qkv/proj/num_heads/scaling/config"
    implementation = attn.config._attn_implementation
    if implementation not in _IMPLEMENTATIONS:
        return f"attention implementation {implementation!r} (only {', '.join(_IMPLEMENTATIONS)} are batched)"
    modeling = sys.modules.get(type(attn).__module__)
    for name in ("apply_rotary_pos_emb_vision", "eager_attention_forward"):
        if not callable(getattr(modeling, name, None)):
            return f"transformers' {type(attn).__module__} has no {name}"
    parameters = list(inspect.signature(type(attn).forward).parameters)
    if parameters[:4] != ["self", "hidden_states", "cu_seqlens", "position_embeddings"]:
        return f"the vision attention's forward takes {parameters[1:]}"
    return _self_check(attn)


def _self_check(attn: Any) -> str | None:
    """Compare with the stock forward on three uneven windows of random input."""
    import torch

    weight = attn.qkv.weight
    generator = torch.Generator(device="cpu").manual_seed(0)
    lengths = [16, 4, 12]
    hidden = torch.randn(sum(lengths), attn.qkv.in_features, generator=generator).to(weight)
    head_dim = attn.qkv.out_features // 3 // attn.num_heads
    angles = torch.randn(sum(lengths), head_dim, generator=generator).to(weight.device)
    cu_seqlens = torch.tensor([0, 16, 20, 32], dtype=torch.int32, device=weight.device)
    with torch.inference_mode():
        stock = type(attn).forward(attn, hidden, cu_seqlens=cu_seqlens,
                                   position_embeddings=(angles.cos(), angles.sin()))
        ours = attend(attn, hidden, WindowLayout.from_cu_seqlens(cu_seqlens), (angles.cos(), angles.sin()))
    tolerance = 1e-4 if weight.dtype == torch.float32 else 3e-2
    error = float((ours.float() - stock.float()).abs().max() / stock.float().abs().max().clamp_min(1e-6))
    if not error <= tolerance:
        return f"the batched windows differ from transformers' by {error:.1e} on a self-check"
    return None


def install_batched_windows(model: Any) -> str | None:
    """Batch the windowed layers of ``model``'s vision encoder; None when done, else why not.

    ``model``: a ``Qwen2_5_VLForConditionalGeneration`` (or its ``.model``). Idempotent.
    """
    visual = _visual(model)
    if visual is None:
        return "the model has no vision encoder"
    if getattr(visual, _MARK, False):
        return None
    reason = why_not(visual)
    if reason is not None:
        return reason
    for block in windowed_blocks(visual):
        block.attn.forward = types.MethodType(_windowed_forward, block.attn)
    setattr(visual, _MARK, True)
    return None


def uninstall_batched_windows(model: Any) -> None:
    """Put transformers' own forward back (for benchmarks that compare both)."""
    visual = _visual(model)
    if visual is None or not getattr(visual, _MARK, False):
        return
    for block in windowed_blocks(visual):
        del block.attn.forward
    setattr(visual, _MARK, False)


def is_installed(model: Any) -> bool:
    visual = _visual(model)
    return bool(visual is not None and getattr(visual, _MARK, False))


def _visual(model: Any) -> Any:
    inner = getattr(model, "model", model)
    return getattr(inner, "visual", None)

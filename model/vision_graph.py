"""The vision encoder replayed as one CUDA graph per image grid (CUDA only).

With its windows batched (``vision_windows``) the encoder still launches ~1,500 kernels
from Python for one screenshot. Agent steps show frames of one size, so the encoder's whole
forward for a grid (rows x columns of patches) is captured once as a CUDA graph and replayed:
the image is copied into the graph's input buffer and the features come out of its output.

What the encoder derives from the grid alone (rotary positions, window order, segment
bounds) is computed before capture and handed to transformers' own forward as its
precomputed keyword arguments, so the captured forward is transformers' forward with no
host round trip. While capturing, the full-attention layers run through ``attend`` too (the
stock one reads segment lengths back to the host, which a graph cannot hold); with one image
that is the same single attention call. Anything this cannot handle (several images at
once, other keyword arguments, a failed capture) takes the eager path.
"""

from __future__ import annotations

import sys
import types
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from qvl_agent.model.vision_windows import _windowed_forward, is_installed, layout_of

__all__ = ["GraphedEncoder", "precompute", "all_layers_batched"]

_GRIDS = 4  # graphs kept (frame sizes), least recently used dropped first
_PRECOMPUTED = ("get_vision_position_ids", "get_vision_attention_seqlens", "get_vision_window_index")


class GraphedEncoder:
    """Replaces ``visual.forward`` of a model on CUDA; ``why_not`` says when it cannot.

    Args:
        model: a ``Qwen2_5_VLForConditionalGeneration`` with batched windows installed.
        notice: called with a line a person should see (a graph is being captured).
    """

    def __init__(self, model: Any, notice: Callable[[str], None] = lambda _: None) -> None:
        self.visual = model.model.visual
        self.notice = notice
        self._stock = self.visual.forward
        self._graphs: OrderedDict[tuple[int, int, int], _Graph | None] = OrderedDict()

    @staticmethod
    def why_not(model: Any) -> str | None:
        visual = model.model.visual
        if next(visual.parameters()).device.type != "cuda":
            return "not on CUDA"
        if not is_installed(model):
            return "the vision windows are not batched"
        modeling = sys.modules[type(visual).__module__]
        missing = [name for name in _PRECOMPUTED if not callable(getattr(modeling, name, None))]
        return f"transformers' vision encoder has no {', '.join(missing)}" if missing else None

    @staticmethod
    def installed_on(model: Any) -> GraphedEncoder | None:
        """The ``GraphedEncoder`` serving ``model``'s encoder now, if any."""
        current = model.model.visual.__dict__.get("forward")
        owner = getattr(current, "__self__", None)
        return owner if isinstance(owner, GraphedEncoder) else None

    def install(self) -> None:
        self.visual.forward = self.forward

    def uninstall(self) -> None:
        """Back to the eager forward; the graphs are dropped."""
        if self.visual.__dict__.get("forward") == self.forward:
            del self.visual.forward
        self._graphs.clear()

    def forward(self, hidden_states: Any, grid_thw: Any, **kwargs: Any) -> Any:
        """transformers' ``forward(hidden_states, grid_thw)``, from graphs where it can."""
        if any(value not in (None, False) for key, value in kwargs.items() if key != "return_dict"):
            return self._stock(hidden_states, grid_thw=grid_thw, **kwargs)
        grids = [tuple(int(v) for v in row) for row in grid_thw.tolist()]
        graphs = [self.graph(grid) for grid in grids]
        if any(graph is None for graph in graphs):
            return self._stock(hidden_states, grid_thw=grid_thw, **kwargs)
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        outputs, start = [], 0
        for grid, graph in zip(grids, graphs, strict=True):
            patches = grid[0] * grid[1] * grid[2]
            outputs.append(graph.run(hidden_states[start:start + patches]))
            start += patches
        import torch

        return BaseModelOutputWithPooling(
            last_hidden_state=torch.cat([o[0] for o in outputs]),
            pooler_output=torch.cat([o[1] for o in outputs]))

    def graph(self, grid: tuple[int, int, int]) -> _Graph | None:
        """The graph for ``grid``, captured on first use (None: this grid runs eagerly)."""
        if grid in self._graphs:
            self._graphs.move_to_end(grid)
            return self._graphs[grid]
        self.notice(f"capturing the vision encoder as a CUDA graph for a {grid[2] * 14}x{grid[1] * 14} "
                    "frame (once per frame size)")
        try:
            graph: _Graph | None = _Graph(self.visual, self._stock, grid)
        except Exception as exc:  # noqa: BLE001 - any failure leaves the eager encoder, said once
            self.notice(f"the vision encoder stays eager for this frame size: capture failed "
                        f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''})")
            graph = None
        self._graphs[grid] = graph
        while len(self._graphs) > _GRIDS:
            self._graphs.popitem(last=False)
        return graph


class _Graph:
    """One grid's captured encoder forward: a static input, a graph, static outputs."""

    def __init__(self, visual: Any, stock: Callable[..., Any], grid: tuple[int, int, int]) -> None:
        import torch

        device = next(visual.parameters()).device
        self.grid_thw = torch.tensor([grid], device=device)
        self.precomputed = precompute(visual, self.grid_thw)
        self.stock = stock
        patch_dim = visual.patch_embed.proj.weight[0].numel()
        self.input = torch.zeros(grid[0] * grid[1] * grid[2], patch_dim, dtype=visual.dtype, device=device)
        full = [visual.blocks[i].attn for i in visual.fullatt_block_indexes]
        with torch.inference_mode():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side), all_layers_batched(full):
                for _ in range(2):
                    self._forward()
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            with all_layers_batched(full), torch.cuda.graph(self.graph):
                self.output = self._forward()

    def _forward(self) -> Any:
        # a copy: the forward pops what it uses
        return self.stock(self.input, grid_thw=self.grid_thw, **dict(self.precomputed))

    def run(self, pixel_values: Any) -> tuple[Any, Any]:
        """(last_hidden_state, pooler_output) for one image, copied out of the graph's buffers."""
        self.input.copy_(pixel_values)
        self.graph.replay()
        return self.output.last_hidden_state.clone(), self.output.pooler_output.clone()


def precompute(visual: Any, grid_thw: Any) -> dict[str, Any]:
    """What the encoder's forward derives from ``grid_thw`` alone, as its keyword arguments.

    The layouts of both segmentations are computed now as well (they read lengths back to the
    host), so a forward given these tensors reads nothing back.
    """
    modeling = sys.modules[type(visual).__module__]
    device = grid_thw.device
    window_index, cu_window_seqlens = modeling.get_vision_window_index(
        grid_thw, spatial_merge_size=visual.spatial_merge_size, window_size=visual.window_size,
        patch_size=visual.patch_size)
    cu_seqlens, _ = modeling.get_vision_attention_seqlens(grid_thw, visual.config)
    precomputed = {
        "position_ids": modeling.get_vision_position_ids(grid_thw, visual.spatial_merge_size).to(device),
        "cu_seqlens": cu_seqlens.to(device), "window_index": window_index.to(device),
        "cu_window_seqlens": cu_window_seqlens.to(device)}
    for bounds in (precomputed["cu_seqlens"], precomputed["cu_window_seqlens"]):
        layout_of(bounds)
    return precomputed


class all_layers_batched:
    """While capturing: the full-attention layers through ``attend`` as well (no host reads)."""

    def __init__(self, modules: list[Any]) -> None:
        self.modules = modules

    def __enter__(self) -> None:
        for module in self.modules:
            module.forward = types.MethodType(_windowed_forward, module)

    def __exit__(self, *exc: object) -> None:
        for module in self.modules:
            del module.forward

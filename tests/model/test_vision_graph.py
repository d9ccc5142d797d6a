"""What the encoder's CUDA graph records, checked on the CPU: the same outputs, no host reads."""

import copy

import pytest

torch = pytest.importorskip("torch")

from qvl_agent.model.vision_graph import all_layers_batched, precompute  # noqa: E402
from qvl_agent.model.vision_windows import install_batched_windows, layout_of, remember_layout  # noqa: E402

pytestmark = pytest.mark.model

GRID = (1, 22, 30)


class _Holder:
    def __init__(self, visual):
        self.visual = visual


@pytest.fixture(scope="module")
def encoders():
    from transformers import Qwen2_5_VLConfig
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

    config = Qwen2_5_VLConfig(vision_config={
        "depth": 4, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 32,
        "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
        "fullatt_block_indexes": [1, 3]}).vision_config
    torch.manual_seed(0)
    stock = Qwen2_5_VisionTransformerPretrainedModel._from_config(config, attn_implementation="sdpa").eval()
    batched = copy.deepcopy(stock)
    assert install_batched_windows(_Holder(batched)) is None
    return stock, batched


def _full_attention(encoder):
    return [encoder.blocks[i].attn for i in encoder.fullatt_block_indexes]


def test_the_recorded_forward_gives_the_stock_outputs(encoders):
    # The graph runs transformers' forward with what it derives from the grid handed in
    # precomputed, and every layer through the batched attention.
    stock, batched = encoders
    pixels = torch.randn(GRID[0] * GRID[1] * GRID[2], 1176, generator=torch.Generator().manual_seed(2))
    grid = torch.tensor([GRID])
    with torch.inference_mode():
        expected = stock(pixels, grid_thw=grid)
        with all_layers_batched(_full_attention(batched)):
            recorded = batched(pixels, grid_thw=grid, **precompute(batched, grid))
    for ours, theirs in [(recorded.pooler_output, expected.pooler_output),
                         (recorded.last_hidden_state, expected.last_hidden_state)]:
        assert float((ours - theirs).abs().max() / theirs.abs().max()) < 1e-5
    assert all("forward" not in attn.__dict__ for attn in _full_attention(batched))  # restored after


def test_the_recorded_forward_reads_nothing_back_to_the_host(encoders):
    # A CUDA graph cannot hold a host read. On the meta device every read (.item(), .tolist(),
    # a shape that depends on values) raises, and so does mixing in a tensor made on the CPU.
    _, batched = encoders
    grid = torch.tensor([GRID])
    on_cpu = precompute(batched, grid)
    meta = {name: tensor.to("meta") for name, tensor in on_cpu.items()}
    for name in ("cu_seqlens", "cu_window_seqlens"):
        remember_layout(meta[name], layout_of(on_cpu[name]).to("meta"))
    encoder = copy.deepcopy(batched).to("meta")
    pixels = torch.empty(GRID[0] * GRID[1] * GRID[2], 1176, device="meta")
    with torch.inference_mode():
        with all_layers_batched(_full_attention(encoder)):
            out = encoder(pixels, grid_thw=grid.to("meta"), **meta)
        assert out.pooler_output.shape == (GRID[1] * GRID[2] // 4, 32)
        with pytest.raises(NotImplementedError):  # transformers' full-attention layers read lengths back
            encoder(pixels, grid_thw=grid.to("meta"), **meta)

"""The vision encoder's windows in one attention call per layer: the stock outputs, far fewer calls."""

import copy

import pytest

torch = pytest.importorskip("torch")

from qvl_agent.model.vision_windows import install_batched_windows, is_installed  # noqa: E402

pytestmark = pytest.mark.model

# A 1316x728 frame (OSWorld's 1920x1080 at max_pixels 1003520): 52x94 patches, 26x47 merged
# tokens, so the 4x4 windows do not divide it evenly (2 rows and 3 columns are left over).
FRAME_GRID = (1, 52, 94)
SMALL_GRID = (1, 22, 30)  # 11x15 merged: uneven on both sides, for the slower eager path
DEPTH = 4


def _encoder(implementation: str):
    """transformers' own encoder: the real window size, shallow and narrow (fp32, CPU)."""
    from transformers import Qwen2_5_VLConfig
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import Qwen2_5_VisionTransformerPretrainedModel

    config = Qwen2_5_VLConfig(vision_config={
        "depth": DEPTH, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 32,
        "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
        "fullatt_block_indexes": [1, 3]}).vision_config
    torch.manual_seed(0)
    return Qwen2_5_VisionTransformerPretrainedModel._from_config(
        config, attn_implementation=implementation).eval()


class _Holder:  # what install_batched_windows looks for: a model with .visual
    def __init__(self, visual):
        self.visual = visual


def _run(encoder, grid, count=("aten::scaled_dot_product_attention",)):
    """(pooler_output, last_hidden_state, attention calls) of one forward on random pixels."""
    from torch.profiler import ProfilerActivity, profile

    generator = torch.Generator().manual_seed(1)
    pixels = torch.randn(grid[0] * grid[1] * grid[2], 3 * 2 * 14 * 14, generator=generator)
    with torch.inference_mode(), profile(activities=[ProfilerActivity.CPU]) as prof:
        out = encoder(pixels, grid_thw=torch.tensor([grid]))
    calls = sum(1 for event in prof.events() if event.name in count)
    return out.pooler_output, out.last_hidden_state, calls


def _relative(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.fixture(scope="module")
def sdpa_runs():
    stock = _encoder("sdpa")
    batched = copy.deepcopy(stock)
    assert install_batched_windows(_Holder(batched)) is None
    return _run(stock, FRAME_GRID), _run(batched, FRAME_GRID)


def test_batched_windows_give_the_stock_encoder_outputs(sdpa_runs):
    (stock_out, stock_hidden, _), (out, hidden, _) = sdpa_runs
    assert _relative(out, stock_out) < 1e-5
    assert _relative(hidden, stock_hidden) < 1e-5


def test_one_attention_call_per_layer_for_a_1316x728_frame(sdpa_runs):
    (_, _, stock_calls), (_, _, calls) = sdpa_runs
    assert calls <= 2 * DEPTH
    assert stock_calls > 2 * DEPTH  # transformers' own: one call per window (84 per windowed layer)


def test_eager_attention_is_batched_too():
    softmax = ("aten::softmax",)
    stock = _encoder("eager")
    batched = copy.deepcopy(stock)
    assert install_batched_windows(_Holder(batched)) is None
    stock_out, _, stock_calls = _run(stock, SMALL_GRID, softmax)
    out, _, calls = _run(batched, SMALL_GRID, softmax)
    assert _relative(out, stock_out) < 1e-5
    assert calls <= 2 * DEPTH < stock_calls


def _modeling():
    import transformers.models.qwen2_5_vl.modeling_qwen2_5_vl as modeling

    return modeling


def _unchanged(encoder):
    return not is_installed(_Holder(encoder)) and all("forward" not in b.attn.__dict__ for b in encoder.blocks)


def test_a_transformers_without_the_expected_helpers_keeps_its_own_forward(monkeypatch):
    encoder = _encoder("sdpa")
    monkeypatch.delattr(_modeling(), "apply_rotary_pos_emb_vision")
    reason = install_batched_windows(_Holder(encoder))
    assert "apply_rotary_pos_emb_vision" in reason and _unchanged(encoder)


def test_a_vision_attention_with_another_signature_keeps_its_own_forward(monkeypatch):
    encoder = _encoder("sdpa")
    attention = type(encoder.blocks[0].attn)

    def renamed(self, hidden_states, cu_seq_lens, rotary=None, **kwargs):
        raise AssertionError("not called")

    monkeypatch.setattr(attention, "forward", renamed)
    assert "forward takes" in install_batched_windows(_Holder(encoder)) and _unchanged(encoder)


def test_a_vision_attention_that_computes_something_else_is_caught_and_kept(monkeypatch):
    encoder = _encoder("sdpa")
    attention = type(encoder.blocks[0].attn)
    stock_forward = attention.forward

    def changed(self, hidden_states, cu_seqlens, position_embeddings=None, **kwargs):
        return 1.01 * stock_forward(self, hidden_states, cu_seqlens, position_embeddings, **kwargs)

    monkeypatch.setattr(attention, "forward", changed)
    expected, _, _ = _run(encoder, SMALL_GRID)
    assert "self-check" in install_batched_windows(_Holder(encoder)) and _unchanged(encoder)
    out, _, _ = _run(encoder, SMALL_GRID)
    assert torch.equal(out, expected)  # the model still runs transformers' (here: changed) forward


def test_flash_attention_is_left_alone():
    encoder = _encoder("sdpa")
    encoder.config._attn_implementation = "flash_attention_2"
    assert "flash_attention_2" in install_batched_windows(_Holder(encoder)) and _unchanged(encoder)

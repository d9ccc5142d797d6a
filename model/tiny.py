"""A tiny, randomly initialised Qwen2.5-VL checkpoint, written to disk like a real one.

Real weights cannot be downloaded everywhere (CI has no model hub). This writes a folder
with the same files a Qwen2.5-VL-Instruct checkpoint has (``config.json``, safetensors
weights, a byte-level BPE ``tokenizer.json`` with Qwen's special tokens, the image processor
config and the official chat template), so ``TransformersBackend`` loads it through the
very ``from_pretrained`` path it uses for ``Qwen/Qwen2.5-VL-7B-Instruct``. Its answers are
noise, which is what the loop's error handling needs to be tested against.

    python -m qvl_agent.model.tiny /tmp/tiny-qwen   # or qvl-agent tiny-model DIR
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

from qvl_agent.envs.extras import require_extra
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS

__all__ = ["write_tiny_checkpoint", "SPECIAL_TOKENS"]

# Qwen2.5-VL's special tokens, in the order of their ids in the real vocabulary.
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>",
    "<|object_ref_end|>", "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>",
    "<|vision_start|>", "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
    "<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
    "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>",
]
_PLAIN_ADDED = frozenset(SPECIAL_TOKENS[14:])
_BPE_VOCAB = 1024  # base vocabulary before the special tokens


def _corpus() -> list[str]:
    """Text to learn merges from: the agent prompts themselves, plus plain JSON and digits."""
    tools = resources.files("qvl_agent.model").joinpath("data/tools.json").read_text(encoding="utf-8")
    lines = [tools, '{"name": "computer_use", "arguments": {"action": "left_click", '
             '"coordinate": [935, 406]}}', "The user query:  Task progress Step 1: 2: 3:"]
    lines += [" ".join(str(n) for n in range(i, i + 50)) for i in range(0, 2000, 50)]
    return lines


def _tokenizer_json() -> str:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_BPE_VOCAB,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    # One at a time so the ids follow SPECIAL_TOKENS' order. As in Qwen's own tokenizer,
    # <tool_call> and the FIM/repo tokens are not "special": decoding keeps them.
    for token in SPECIAL_TOKENS:
        special = token not in _PLAIN_ADDED
        added = AddedToken(token, special=special, normalized=False)
        (tokenizer.add_special_tokens if special else tokenizer.add_tokens)([added])
    return tokenizer.to_str()


def write_tiny_checkpoint(path: str | Path, *, seed: int = 0, hidden_size: int = 64,
                          layers: int = 2, vision_depth: int = 2,
                          min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS) -> Path:
    """Write a tiny random Qwen2.5-VL checkpoint to ``path`` and return it.

    Uses the real transformers classes: ``Qwen2_5_VLForConditionalGeneration.save_pretrained``
    for config and safetensors, ``Qwen2_5_VLProcessor.save_pretrained`` for the tokenizer,
    image processor and chat template.
    """
    require_extra("local", "the tiny checkpoint")
    import torch
    from transformers import (
        PreTrainedTokenizerFast, Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration,
        Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor,
    )

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer_file = path / "tokenizer.json"
    tokenizer_file.write_text(_tokenizer_json(), encoding="utf-8")
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_file=str(tokenizer_file),
        bos_token=None, eos_token="<|im_end|>", pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=[t for t in SPECIAL_TOKENS[1:] if t not in _PLAIN_ADDED],
        model_max_length=32768, clean_up_tokenization_spaces=False,
    )
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    vocab_size = len(tokenizer)
    chat_template = resources.files("qvl_agent.model").joinpath("data/chat_template.jinja").read_text(
        encoding="utf-8")
    image_processor = Qwen2VLImageProcessor(min_pixels=min_pixels, max_pixels=max_pixels,
                                            patch_size=14, merge_size=2, temporal_patch_size=2)
    processor = Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                    video_processor=Qwen2VLVideoProcessor(),
                                    chat_template=chat_template)
    processor.save_pretrained(path)

    heads = max(1, hidden_size // 16)
    head_dim = hidden_size // heads
    half = head_dim // 2
    mrope = [half - 2 * (half // 3), half // 3, half // 3]  # sums to head_dim / 2
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": vocab_size, "hidden_size": hidden_size,
            "intermediate_size": hidden_size * 2, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": max(1, heads // 2),
            "max_position_embeddings": 32768, "rope_theta": 1000000.0,
            "rope_scaling": {"type": "mrope", "mrope_section": mrope},
            "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
            "pad_token_id": ids["<|endoftext|>"],
        },
        vision_config={
            "depth": vision_depth, "hidden_size": hidden_size, "intermediate_size": hidden_size * 2,
            "num_heads": heads, "out_hidden_size": hidden_size, "patch_size": 14,
            "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
            "fullatt_block_indexes": [vision_depth - 1],
        },
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.do_sample = False
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(path, safe_serialization=True)
    (path / "qvl_tiny.json").write_text(json.dumps({"tiny": True, "seed": seed}) + "\n")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m qvl_agent.model.tiny DIR")
    print(write_tiny_checkpoint(sys.argv[1]))

"""A tiny, randomly initialised Qwen2.5-VL checkpoint, written to disk like a real one.

Real weights cannot be downloaded everywhere (CI has no model hub). This writes a folder
with the same files a Qwen2.5-VL-Instruct checkpoint has (``config.json``, safetensors
weights, a byte-level BPE ``tokenizer.json`` with Qwen's special tokens, the image processor
config and the official chat template), so ``TransformersBackend`` loads it through the
very ``from_pretrained`` path it uses for ``Qwen/Qwen2.5-VL-7B-Instruct``. Its answers are
noise until it is trained, which is what the loop's error handling needs to be tested
against; and it can be trained: ``qvl-agent train`` on the toolkit's own exported runs teaches
it to solve simple tasks (../shared/notes/tiny-training.md, the README's training section).

What makes it learn, within the same transformers classes (config values only):
- the text rotary base is small (``rope_theta`` 20, not 1e6) and M-RoPE gives most of a
  16-dim head's frequencies to the image's height and width (``mrope_section`` [2, 3, 3],
  not [4, 2, 2]): with the real model's values on so small a head, an image token's position
  turns its query by ~1e-3 radians or less, and the model cannot tell where anything is;
- the tokenizer splits text as Qwen2's own does (its pre-tokenizer regex, NFC), so every
  digit is its own token, as in the real vocabulary: coordinates are written digit by digit;
- the image processor centres pixels on white (``image_mean`` 1.0, CLIP's ``image_std``), not
  on CLIP's mean: the vision tower normalizes each patch (RMSNorm), so with CLIP's mean a
  uniform light-grey patch (a MiniWoB button, 239/255) points the same way as a white one
  (~0.01 rad apart) and a random tiny tower cannot tell the button from the page around it;
  centred on white, the page's background is zero and anything drawn on it stands out.
  Click-test, 500 training seeds, 364x504 frames, 500 steps with the tower frozen: 17/20
  held-out seeds; with CLIP's mean it learnt nothing of the button's place (3-13/20, the
  random policy's level). Every path reads the mean from the checkpoint's processor, as it
  does the released models' CLIP values.

``config.json`` carries ``qvl_agent_tiny`` (see ``tiny_marker``), so ``qvl-agent train`` can
pick the settings a from-scratch tiny model needs.

    python -m qvl_agent.model.tiny /tmp/tiny-qwen   # or qvl-agent tiny-model DIR
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

from qvl_agent.envs.extras import require_extra
from qvl_agent.model.frame import MAX_PIXELS, MIN_PIXELS

__all__ = ["write_tiny_checkpoint", "SPECIAL_TOKENS", "QWEN2_PRETOKENIZE_REGEX", "TINY_MARKER",
           "tiny_marker"]

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
# transformers' models/qwen2/tokenization_qwen2.py (the pre_tokenizer of Qwen2's and
# Qwen2.5-VL's tokenizer.json): one token per digit ("\\p{N}" alone), letters with one
# leading non-letter, punctuation runs with an optional leading space.
QWEN2_PRETOKENIZE_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                           r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")
TINY_MARKER = "qvl_agent_tiny"  # the config.json key that says qvl-agent tiny-model wrote it
# Earlier versions: 1 rope_theta 1e6, mrope [4, 2, 2], merged digits (could not learn);
# 2 CLIP's image mean (a grey button on a white page was invisible to the tower).
TINY_VERSION = 3
WHITE_MEAN = [1.0, 1.0, 1.0]  # the image processor's mean: a white page becomes zero


def _corpus() -> list[str]:
    """Text to learn merges from: the agent prompts, an answer, the chat roles (digits are
    never merged: the pre-tokenizer splits them one by one)."""
    tools = resources.files("qvl_agent.model").joinpath("data/tools.json").read_text(encoding="utf-8")
    lines = [tools, '{"name": "computer_use", "arguments": {"action": "left_click", '
             '"coordinate": [935, 406]}}', "The user query:  Task progress Step 1: 2: 3:",
             "system\nuser\nassistant\n" * 20]
    return lines


def _tokenizer_json() -> str:
    from tokenizers import (AddedToken, Regex, Tokenizer, decoders, models, normalizers,
                            pre_tokenizers, trainers)

    tokenizer = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    # Qwen2's own: NFC, its split regex, then bytes to the byte-level alphabet (no regex).
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
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
    from transformers.image_utils import OPENAI_CLIP_STD  # Qwen2.5-VL's own std

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
                                            patch_size=14, merge_size=2, temporal_patch_size=2,
                                            image_mean=WHITE_MEAN, image_std=OPENAI_CLIP_STD)
    processor = Qwen2_5_VLProcessor(image_processor=image_processor, tokenizer=tokenizer,
                                    video_processor=Qwen2VLVideoProcessor(),
                                    chat_template=chat_template)
    processor.save_pretrained(path)

    heads = max(1, hidden_size // 16)
    head_dim = hidden_size // heads
    half = head_dim // 2
    # Frequencies per section (time, height, width), summing to head_dim / 2; most go to
    # the image's two axes ([2, 3, 3] for a 16-dim head).
    spatial = (3 * half) // 8
    mrope = [half - 2 * spatial, spatial, spatial]
    config = Qwen2_5_VLConfig(
        text_config={
            "vocab_size": vocab_size, "hidden_size": hidden_size,
            "intermediate_size": hidden_size * 2, "num_hidden_layers": layers,
            "num_attention_heads": heads, "num_key_value_heads": max(1, heads // 2),
            "max_position_embeddings": 32768, "rope_theta": 20.0,
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
        **{TINY_MARKER: {"version": TINY_VERSION, "seed": seed}},
    )
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config.do_sample = False
    model.generation_config.eos_token_id = [ids["<|im_end|>"], ids["<|endoftext|>"]]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.save_pretrained(path, safe_serialization=True)
    return path


def tiny_marker(checkpoint: str | Path) -> dict | None:
    """What ``config.json`` of ``checkpoint`` says about a tiny-model origin; None if none.

    A checkpoint trained from a tiny one keeps the mark (the config is saved with it).
    """
    config = Path(checkpoint) / "config.json"
    try:
        values = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    mark = values.get(TINY_MARKER)
    return mark if isinstance(mark, dict) else None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m qvl_agent.model.tiny DIR")
    print(write_tiny_checkpoint(sys.argv[1]))

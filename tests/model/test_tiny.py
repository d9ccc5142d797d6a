"""The tiny checkpoint: Qwen2's tokenization rules, byte-level round trips, a config that can learn."""

import json

import pytest

from qvl_agent.model.prompts import system_prompt

pytestmark = pytest.mark.model

TEXTS = [
    system_prompt("computer_use", 1932, 1092),
    system_prompt("mobile_use", 1092, 2408),
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [1235, 40]}}\n</tool_call>',
    "The user query:  Type 12345 and 0.75, then 2024-06-30 at 07:45 \u2014 caf\u00e9 \u4f60\u597d 42\u00b2 \U0001f600",
    "  leading spaces, tabs\t\tand\r\nwindows lines\n\n\nthree newlines   ",
    "I'm sure it's 3rd; they'll've done it. DON'T SHOUT",
    "Ｆｕｌｌｗｉｄｔｈ ١٢٣ Ⅻ e\u0301",  # full-width letters, Arabic-Indic digits, a numeral, NFD
]


@pytest.fixture(scope="module")
def tokenizer(tiny_checkpoint):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_checkpoint)


@pytest.mark.parametrize("text", TEXTS)
def test_text_is_split_exactly_as_qwen2s_pre_tokenizer_splits_it(tokenizer, text):
    # transformers' Qwen2Tokenizer builds Qwen2's (and Qwen2.5-VL's) normalizer and
    # pre-tokenizer; with an empty vocabulary it still splits text as the real one does.
    from transformers import Qwen2Tokenizer

    qwen = Qwen2Tokenizer(vocab={"<|endoftext|>": 0}, merges=[]).backend_tokenizer
    ours = tokenizer.backend_tokenizer
    normalized = qwen.normalizer.normalize_str(text)
    assert ours.normalizer.normalize_str(text) == normalized
    assert ours.pre_tokenizer.pre_tokenize_str(normalized) == qwen.pre_tokenizer.pre_tokenize_str(normalized)


def test_every_digit_is_its_own_token(tokenizer):
    ids = tokenizer('"coordinate": [1235, 406]', add_special_tokens=False)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    digits = [t for t in tokens if any(c.isdigit() for c in t)]
    assert digits == list("1235406")


@pytest.mark.parametrize("text", TEXTS)
def test_any_text_round_trips_byte_for_byte(tokenizer, text):
    import unicodedata

    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids, clean_up_tokenization_spaces=False) == unicodedata.normalize("NFC", text)


def test_the_special_tokens_keep_qwens_roles(tokenizer):
    text = "<|im_start|>assistant\n<tool_call>\n{}\n</tool_call><|im_end|>"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.convert_ids_to_tokens(ids)[:2] == ["<|im_start|>", "assistant"]  # one token, as in Qwen's
    assert tokenizer.decode(ids, skip_special_tokens=True) == "assistant\n<tool_call>\n{}\n</tool_call>"


def test_the_config_can_see_where_image_tokens_are_and_says_it_is_ours(tiny_checkpoint):
    from qvl_agent.model.tiny import TINY_MARKER, tiny_marker

    config = json.loads((tiny_checkpoint / "config.json").read_text())
    text = config["text_config"]
    rope = text.get("rope_parameters") or text.get("rope_scaling")
    theta = rope.get("rope_theta", text.get("rope_theta"))
    assert theta == 20.0 and rope["mrope_section"] == [2, 3, 3]
    head_dim = text["hidden_size"] // text["num_attention_heads"]
    assert sum(rope["mrope_section"]) == head_dim // 2
    assert config[TINY_MARKER]["version"] >= 3 and tiny_marker(tiny_checkpoint) == config[TINY_MARKER]


def test_a_released_checkpoint_is_not_taken_for_a_tiny_one(tmp_path):
    from qvl_agent.model.tiny import tiny_marker

    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2_5_vl"}))
    assert tiny_marker(tmp_path) is None
    assert tiny_marker(tmp_path / "missing") is None


def test_a_light_grey_button_does_not_look_like_the_white_page_to_the_untrained_tower(tiny_checkpoint):
    # A MiniWoB button is 239/255 grey on a white page. Each patch is normalized in the tower,
    # so with CLIP's mean the two point the same way (0.7% apart): the tiny model could never
    # find the button. The tiny processor centres pixels on white: the page is zero.
    import torch
    from PIL import Image
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration

    processor = AutoProcessor.from_pretrained(tiny_checkpoint)
    model = Qwen2_5_VLForConditionalGeneration.from_pretrained(tiny_checkpoint).eval()

    def features(colour):
        pixels = processor.image_processor(images=[Image.new("RGB", (56, 56), colour)], return_tensors="pt")
        with torch.no_grad():
            out = model.model.get_image_features(pixels["pixel_values"], pixels["image_grid_thw"], return_dict=True)
        return out.pooler_output[0].mean(0)

    white, grey = features((255, 255, 255)), features((239, 239, 239))
    assert (white - grey).norm() > 0.5 * max(white.norm(), grey.norm())

"""The real transformers path on a tiny random Qwen2.5-VL written by model.tiny."""

import pytest
from PIL import Image

from envs.errors import ModelUnavailableError
from model.frame import Frame
from model.prompts import agent_messages, system_prompt
from model.transformers_backend import TransformersBackend, check_no_resize

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def backends(tiny_checkpoint):
    return {limit: TransformersBackend(str(tiny_checkpoint), max_pixels=limit)
            for limit in (12845056, 1003520, 200704)}


@pytest.mark.parametrize("screen", [(1280, 720), (1920, 1080), (1080, 2400), (390, 844), (3000, 200)])
@pytest.mark.parametrize("max_pixels", [12845056, 1003520, 200704])
def test_processor_sees_exactly_the_frame(backends, screen, max_pixels):
    backend = backends[max_pixels]
    screenshot = Image.new("RGB", screen, "white")
    frame = Frame.for_image(screenshot, screen, max_pixels=max_pixels)
    messages = agent_messages("computer_use", frame.size, "goal", frame.resize(screenshot))
    inputs = backend.preprocess(messages)
    (t, rows, cols), = inputs["image_grid_thw"].tolist()
    assert (cols * 14, rows * 14) == frame.size
    assert (inputs["input_ids"] == backend.model.config.image_token_id).sum() == frame.image_tokens


def test_a_processor_with_other_limits_is_caught(backends):
    screenshot = Image.new("RGB", (1920, 1080))
    frame = Frame.for_image(screenshot, (1920, 1080))  # default limits: 1932x1092
    inputs = backends[1003520].preprocess(
        agent_messages("computer_use", frame.size, "g", frame.resize(screenshot)))
    with pytest.raises(RuntimeError, match="resized a 1932x1092 frame"):
        check_no_resize([frame.resize(screenshot)], inputs["image_grid_thw"].tolist())


def test_generate_runs_end_to_end(backends):
    backend = backends[1003520]
    screenshot = Image.new("RGB", (1280, 720), "white")
    frame = Frame.for_image(screenshot, (1280, 720), max_pixels=1003520)
    messages = agent_messages("computer_use", frame.size, "open the menu", frame.resize(screenshot))
    generation = backend.generate(messages, max_new_tokens=16)
    assert isinstance(generation.text, str)
    assert 0 < generation.completion_tokens <= 16
    assert generation.prompt_tokens > frame.image_tokens
    assert generation.model_s > 0
    again = backend.generate(messages, max_new_tokens=16)
    assert again.text == generation.text  # greedy


def test_chat_template_renders_the_cookbook_system_prompt(backends):
    backend = backends[1003520]
    image = Image.new("RGB", (1288, 728))
    text = backend.processor.apply_chat_template(
        agent_messages("computer_use", (1288, 728), "g", image), tokenize=False,
        add_generation_prompt=True)
    assert text.startswith("<|im_start|>system\n" + system_prompt("computer_use", 1288, 728) + "<|im_end|>\n")
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == 1
    assert text.endswith("<|im_start|>assistant\n")


def test_tool_call_tokens_survive_decoding(backends):
    tokenizer = backends[1003520].processor.tokenizer
    ids = tokenizer("<tool_call>\n{}\n</tool_call><|im_end|>")["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True) == "<tool_call>\n{}\n</tool_call>"


def test_missing_checkpoint_is_one_clear_line(tmp_path):
    with pytest.raises(ModelUnavailableError) as info:
        TransformersBackend(str(tmp_path))
    assert "config.json" in str(info.value)
    with pytest.raises(ModelUnavailableError) as info:
        TransformersBackend("./no/such/folder")
    assert "--endpoint" in str(info.value) and "--model" in str(info.value)

"""The real transformers path on a tiny random Qwen2.5-VL written by model.tiny."""

import pytest
from jinja2.sandbox import ImmutableSandboxedEnvironment
from PIL import Image

from qvl_agent.envs.errors import ModelUnavailableError
from qvl_agent.model.frame import Frame
from qvl_agent.model.prompts import PastStep, agent_messages, grounding_messages
from qvl_agent.model.transformers_backend import TransformersBackend, check_no_resize
from tests.conftest import DATA

REF = DATA / "qwen25vl"

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
    assert generation.prompt_tokens > frame.image_tokens == generation.image_tokens
    assert generation.model_s > 0
    again = backend.generate(messages, max_new_tokens=16)
    assert again.text == generation.text  # greedy


def reference_render(messages):
    """The reference chat template (the Instruct checkpoints') rendered as transformers renders
    any chat template: a sandboxed jinja2 with trim_blocks and lstrip_blocks."""
    template = (REF / "chat_template.jinja").read_text(encoding="utf-8")
    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(template).render(messages=messages, add_generation_prompt=True)


def prompt_cases():
    desktop = Image.new("RGB", (1932, 1092))
    phone = Image.new("RGB", (1092, 2408))
    history = [PastStep(call='{"name": "mobile_use", "arguments": {"action": "open", "text": "Clock"}}',
                        answer="<tool_call>\nopen\n</tool_call>", image=phone),
               PastStep(call=None, answer="I could not decide.", image=phone)]
    return {
        "computer_use": agent_messages("computer_use", (1932, 1092), "open the menu", desktop),
        "mobile_use with image history": agent_messages("mobile_use", (1092, 2408), "set an alarm", phone,
                                                        history, history_images=2, feedback="Try again."),
        "grounding": grounding_messages(Image.new("RGB", (1288, 728)), "the Submit button"),
    }


@pytest.mark.parametrize("case", list(prompt_cases()))
def test_the_checkpoint_renders_prompts_as_the_reference_template_does(backends, case):
    messages = prompt_cases()[case]
    text = backends[12845056].processor.apply_chat_template(messages, tokenize=False,
                                                            add_generation_prompt=True)
    assert text == reference_render(messages)
    assert text.count("<|vision_start|><|image_pad|><|vision_end|>") == sum(
        1 for m in messages if not isinstance(m["content"], str) for c in m["content"] if c["type"] == "image")
    assert text.endswith("<|im_start|>assistant\n")


def test_the_rendered_system_turn_is_the_cookbook_s(backends):
    messages = prompt_cases()["computer_use"]
    text = backends[12845056].processor.apply_chat_template(messages, tokenize=False,
                                                            add_generation_prompt=True)
    cookbook = (REF / "computer_use_system_1932x1092.txt").read_text(encoding="utf-8")
    assert text.startswith("<|im_start|>system\n" + cookbook + "<|im_end|>\n<|im_start|>user\n")


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

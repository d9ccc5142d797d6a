import json

import pytest
from PIL import Image

from qvl_agent.envs.errors import ConfigError
from qvl_agent.model.prompts import (
    PastStep, agent_messages, grounding_messages, system_prompt, tool_schema, user_text,
)
from tests.conftest import DATA

REF = DATA / "qwen25vl"


def test_computer_use_system_prompt_matches_the_cookbook_byte_for_byte():
    expected = (REF / "computer_use_system_1932x1092.txt").read_text(encoding="utf-8")
    assert system_prompt("computer_use", 1932, 1092) == expected


def test_mobile_use_system_prompt_matches_the_cookbook_byte_for_byte():
    expected = (REF / "mobile_use_system_1092x2408.txt").read_text(encoding="utf-8")
    assert system_prompt("mobile_use", 1092, 2408) == expected


@pytest.mark.parametrize("tool,ref,size", [
    ("computer_use", "computer_use_system_1932x1092.txt", "1932x1092"),
    ("mobile_use", "mobile_use_system_1092x2408.txt", "1092x2408"),
])
def test_other_sizes_change_only_the_stated_resolution(tool, ref, size):
    expected = (REF / ref).read_text(encoding="utf-8").replace(
        f"resolution is {size}.", "resolution is 1316x728.")
    assert system_prompt(tool, 1316, 728) == expected


def test_tool_line_keeps_the_cookbook_key_order():
    schema = tool_schema("mobile_use", 1092, 2408)
    assert list(schema) == ["name_for_human", "name", "description", "parameters", "args_format"]
    line = system_prompt("mobile_use", 1092, 2408).split("<tools>\n")[1].split("\n</tools>")[0]
    assert json.loads(line)["function"] == schema


def test_unknown_tool_is_a_config_error():
    with pytest.raises(ConfigError, match="unknown tool 'keyboard_use'"):
        system_prompt("keyboard_use", 100, 100)


def test_user_text_lists_earlier_calls_as_the_cookbook_does():
    calls = ['{"name": "mobile_use", "arguments": {"action": "open", "text": "Clock"}}',
             '{"name": "mobile_use", "arguments": {"action": "click", "coordinate": [1, 2]}}']
    assert user_text("set an alarm", calls) == (
        "The user query:  set an alarm\n"
        "Task progress (You have done the following operation on the current device): "
        f"Step 1: {calls[0]}; Step 2: {calls[1]}; "
    )
    assert user_text("x", []).endswith("current device): ")


def _img(color, size=(56, 28)):
    return Image.new("RGB", size, color)


def test_cookbook_form_has_one_user_turn_with_text_then_image():
    messages = agent_messages("computer_use", (56, 28), "do it", _img("red"),
                              [PastStep(call='{"a": 1}', answer="x", image=_img("blue"))])
    assert [m["role"] for m in messages] == ["system", "user"]
    parts = messages[1]["content"]
    assert [p["type"] for p in parts] == ["text", "image"]
    assert 'Step 1: {"a": 1}; ' in parts[0]["text"]
    assert parts[1]["image"].getpixel((0, 0)) == (255, 0, 0)


def test_osworld_form_replays_the_last_k_steps_as_real_turns():
    history = [PastStep(call=f'{{"step": {i}}}', answer=f"answer {i}", image=_img((i, i, i)))
               for i in range(1, 5)]
    messages = agent_messages("computer_use", (56, 28), "goal", _img("red"), history,
                              history_images=2)
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user", "assistant", "user", "assistant", "user"]
    first = messages[1]["content"]
    # Steps 1-2 stay in the text; steps 3-4 come back with their screenshots and answers.
    assert 'Step 1: {"step": 1}; Step 2: {"step": 2}; ' in first[0]["text"]
    assert '"step": 3' not in first[0]["text"]
    assert first[1]["image"].getpixel((0, 0)) == (3, 3, 3)
    assert messages[2]["content"] == "answer 3"
    assert messages[3]["content"][0]["image"].getpixel((0, 0)) == (4, 4, 4)
    assert messages[4]["content"] == "answer 4"
    assert messages[5]["content"][0]["image"].getpixel((0, 0)) == (255, 0, 0)


def test_feedback_is_shown_after_the_current_screenshot():
    messages = agent_messages("mobile_use", (56, 28), "g", _img("red"), feedback="bad answer")
    assert messages[-1]["content"][-1] == {"type": "text", "text": "\nbad answer"}


def test_image_must_already_be_the_frame():
    with pytest.raises(ValueError, match="resize it first"):
        agent_messages("computer_use", (56, 56), "g", _img("red", (56, 28)))


def test_grounding_asks_for_json_boxes_or_points():
    box = grounding_messages(_img("red"), "the Submit button", "box")[0]["content"][1]["text"]
    point = grounding_messages(_img("red"), "the Submit button", "point")[0]["content"][1]["text"]
    assert "bbox" in box and "JSON" in box and "the Submit button" in box
    assert "point" in point and "JSON" in point
    with pytest.raises(ConfigError):
        grounding_messages(_img("red"), "  ")

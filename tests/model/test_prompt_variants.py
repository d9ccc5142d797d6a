"""The answer-action schemas and OSWorld's prompt, against golden files (tests/data/qwen25vl)."""

import json

import jinja2
import pytest
from PIL import Image

from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.model.options import ModelOptions
from qvl_agent.model.frame import Frame
from qvl_agent.model.osworld import OSWORLD_MAX_PIXELS, osworld_action_line, osworld_messages
from qvl_agent.model.prompts import PastStep, agent_messages, system_prompt
from tests.conftest import DATA

REF = DATA / "qwen25vl"
ANSWERS = [  # the five answers the OSWorld golden files were made with
    'Action: click the File menu\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [20, 15]}}\n</tool_call>',
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "double_click", "coordinate": [300, 200]}}\n</tool_call>',
    'I will type the name.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "type", "text": "report.txt"}}\n</tool_call>',
    '<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["ctrl", "s"]}}\n</tool_call>',
    'Thought: saved.\n<tool_call>\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["enter"]}}\n</tool_call>',
]
GOAL = "Save the document as report.txt"


@pytest.mark.parametrize("tool,size,golden", [
    ("mobile_use", (1092, 2408), "mobile_use_answer_system_1092x2408.txt"),
    ("computer_use", (1932, 1092), "computer_use_answer_system_1932x1092.txt"),
])
def test_the_answer_variant_matches_its_golden_file_and_the_default_stays_the_cookbooks(tool, size, golden):
    assert system_prompt(tool, *size, answer=True) == (REF / golden).read_text(encoding="utf-8")
    cookbook = (REF / f"{tool}_system_{size[0]}x{size[1]}.txt").read_text(encoding="utf-8")
    assert system_prompt(tool, *size) == cookbook
    schema = json.loads(system_prompt(tool, *size, answer=True).split("<tools>\n")[1].split("\n</tools>")[0])
    assert "answer" in schema["function"]["parameters"]["properties"]["action"]["enum"]
    cookbook_schema = json.loads(cookbook.split("<tools>\n")[1].split("\n</tools>")[0])
    assert "answer" not in cookbook_schema["function"]["parameters"]["properties"]["action"]["enum"]


def test_agent_messages_carry_the_variant_only_when_asked():
    image = Image.new("RGB", (56, 28))
    plain = agent_messages("mobile_use", (56, 28), "g", image)[0]["content"]
    with_answer = agent_messages("mobile_use", (56, 28), "g", image, answer=True)[0]["content"]
    assert "`answer`: Output the answer." in with_answer and "`answer`" not in plain


@pytest.mark.parametrize("answer_action,question,offered", [
    ("auto", True, True), ("auto", False, False), ("on", False, True), ("off", True, False),
])
def test_answer_action_auto_follows_the_task(answer_action, question, offered):
    options = ModelOptions(answer_action=answer_action)
    assert QwenPolicy.from_options(options, "mobile_use", _Backend(), question=question).answer is offered


class _Backend:
    name, min_pixels, max_pixels = "b", 3136, 12845056


def _template():
    text = (REF / "chat_template.jinja").read_text(encoding="utf-8")
    return jinja2.Environment().from_string(text)


def _rendered(messages):
    return _template().render(messages=messages, add_generation_prompt=True)


@pytest.mark.parametrize("steps,history_n,golden", [
    (0, 4, "osworld_step1.txt"), (5, 4, "osworld_step6.txt"), (5, 0, "osworld_step6_history0.txt"),
])
def test_osworld_messages_render_exactly_as_osworlds_own(steps, history_n, golden):
    shot = Image.new("RGB", (56, 28))
    past = [PastStep(call=None, answer=a, image=shot) for a in ANSWERS[:steps]]
    messages = osworld_messages(GOAL, shot, past, history_n=history_n)
    assert _rendered(messages) == (REF / golden).read_text(encoding="utf-8")
    # The screenshot comes before the text, as in OSWorld (the cookbook puts it after).
    first_user = next(m for m in messages if m["role"] == "user")
    assert [p["type"] for p in first_user["content"]] == ["image", "text"]


@pytest.mark.parametrize("steps", range(7))
def test_osworld_keeps_the_last_history_n_screenshots_from_the_first_step_on(steps):
    # OSWorld: the turns of answers max(0, step - history_n) .. step - 1 carry their images.
    shot = Image.new("RGB", (56, 28))
    past = [PastStep(call=None, answer=a, image=shot) for a in (ANSWERS * 2)[:steps]]
    messages = osworld_messages(GOAL, shot, past, history_n=4)
    assert sum(m["role"] == "assistant" for m in messages) == min(steps, 4)
    text = next(p["text"] for m in messages if m["role"] == "user" for p in m["content"]
                if p["type"] == "text")
    listed = text.count("\nStep ")
    assert listed == max(0, steps - 4)


def test_osworld_previous_actions_name_each_answer_as_osworld_does():
    assert [osworld_action_line(a) for a in ANSWERS] == [
        "Action: click the File menu", "Performing doubleClick action", "I will type the name.",
        "Performing hotkey action", "Performing press action"]
    assert osworld_action_line("no tool call at all") == ""


def test_osworld_mode_uses_osworlds_max_pixels_unless_told_otherwise():
    assert ModelOptions(prompt="osworld").max_pixels == OSWORLD_MAX_PIXELS == 1003520
    assert ModelOptions(prompt="osworld", max_pixels=200704).max_pixels == 200704
    assert ModelOptions().max_pixels == 12845056
    frame = Frame.for_image((1920, 1080), (1920, 1080), max_pixels=OSWORLD_MAX_PIXELS)
    assert frame.size == (1316, 728)  # what OSWorld's own smart_resize gives a 1080p screen


def test_the_policy_in_osworld_mode_sends_osworlds_messages_step_after_step():
    from qvl_agent.agent.loop import run_episode
    from qvl_agent.agent.policy import QwenPolicy
    from qvl_agent.envs.fake import FakeEnv
    from qvl_agent.model.scripted import ScriptedVLM

    done = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}\n</tool_call>'
    backend = ScriptedVLM(ANSWERS + [done], max_pixels=OSWORLD_MAX_PIXELS)
    policy = QwenPolicy(backend, "computer_use", prompt="osworld")
    trajectory = run_episode(FakeEnv(), policy, GOAL, max_steps=10)
    assert trajectory.status == "success" and len(backend.requests) == 6
    assert _rendered(backend.requests[0]) == (REF / "osworld_step1.txt").read_text(encoding="utf-8")
    assert _rendered(backend.requests[5]) == (REF / "osworld_step6.txt").read_text(encoding="utf-8")
    images = [p["image"] for m in backend.requests[5] if not isinstance(m["content"], str)
              for p in m["content"] if p["type"] == "image"]
    assert len(images) == 5 and all(i.size == trajectory.steps[0].frame for i in images)


def test_osworld_mode_refuses_a_phone():
    from qvl_agent.agent.policy import QwenPolicy
    from qvl_agent.envs.errors import ConfigError

    with pytest.raises(ConfigError, match="--prompt cookbook"):
        QwenPolicy(_Backend(), "mobile_use", prompt="osworld")

"""One answer with three tool calls drives a real page three times, in order."""

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.envs.browser import BrowserEnv
from qvl_agent.model.openai_backend import OpenAIBackend
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser]

VIEWPORT = (1280, 720)
NAME_BOX = (250, 120)  # CSS centre of #name in form.html


def all_at_once(request: QwenRequest) -> str:
    if request.index == 0:
        return ("Thought: click the name field, type, press Enter.\n"
                + tool_call(action="left_click", coordinate=request.to_frame(*NAME_BOX, VIEWPORT))
                + "\n" + tool_call(action="type", text="hello world")
                + "\n" + tool_call(action="key", keys=["enter"]))
    return tool_call(action="terminate", status="success")


def test_an_answer_with_three_calls_clicks_types_and_presses_enter_on_a_real_page():
    with PageServer() as pages, FakeQwen(all_at_once) as qwen, \
            BrowserEnv(url=pages.url("form.html")) as env:
        policy = QwenPolicy(OpenAIBackend(qwen.url), "computer_use")
        trajectory = run_episode(env, policy, "fill in the name and submit", max_steps=4)
        pages.of_type("keydown", count=1)
        events = list(pages.events)
    assert trajectory.status == "success" and len(qwen.requests) == 2  # two answers, four steps
    assert [s.action.kind for s in trajectory.steps] == ["click", "type", "key", "terminate"]
    assert [s.call_index for s in trajectory.steps] == [0, 1, 2, 0]
    kinds = [e["type"] for e in events if e["type"] in ("click", "change", "keydown")]
    assert kinds.index("click") < kinds.index("keydown")
    assert [e["target"] for e in events if e["type"] == "click"][0] == "name"
    assert any(e["type"] == "keydown" and e["key"] == "Enter" and e["target"] == "name" for e in events)
    assert [e["value"] for e in events if e["type"] == "change"][-1] == "hello world"

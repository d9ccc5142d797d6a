"""`qvl-agent mcp` as an MCP client uses it: a subprocess driven by the `mcp` SDK's own client
over stdio, on a real page, with the fake Qwen server as its model."""

from __future__ import annotations

import base64
import io
import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from PIL import Image

from qvl_agent.agent.trajectory import load_run
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = (1000, 600)
NAME_BOX = (250, 120)  # CSS centre of #name in form.html
SUBMIT = (580, 425)  # CSS centre of #submit, a 160x50 button from (500, 400)


def qwen(request: QwenRequest) -> str:
    """Grounding: the Submit button's box. The agent: click Submit, then done."""
    if request.grounding is not None:  # the image is the frame: its pixels
        sx, sy = request.image.width / VIEWPORT[0], request.image.height / VIEWPORT[1]
        box = [round(500 * sx), round(400 * sy), round(660 * sx), round(450 * sy)]
        return json.dumps([{"bbox_2d": box, "label": "Submit"}])
    answered = sum(1 for r in requests_of_agent if r.index < request.index)
    requests_of_agent.append(request)
    if answered == 0:
        return tool_call(action="left_click", coordinate=request.to_frame(*SUBMIT, VIEWPORT))
    return tool_call(action="terminate", status="success")


requests_of_agent: list[QwenRequest] = []


def server_params(*args: str) -> StdioServerParameters:
    # The whole environment: the server finds Chromium, adb, the venv as a user's shell would.
    return StdioServerParameters(command=sys.executable, args=["-m", "qvl_agent.cli", "mcp", *args],
                                 env=dict(os.environ))


async def session_of(params: StdioServerParameters, use) -> None:
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await use(session)


def text_of(result) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


def test_a_client_lists_the_tools_takes_a_screenshot_clicks_and_runs_a_goal(tmp_path):
    out = tmp_path / "session"
    seen: dict[str, object] = {}

    async def use(session: ClientSession) -> None:
        tools = {t.name: t for t in (await session.list_tools()).tools}
        seen["tools"] = sorted(tools)
        seen["act_schema"] = tools["act"].input_schema
        shot = await session.call_tool("screenshot", {})
        seen["shot"] = shot
        click = await session.call_tool("act", {"action": {"kind": "click",
                                                           "at": {"x": NAME_BOX[0], "y": NAME_BOX[1]}}})
        typed = await session.call_tool("act", {"action": {"kind": "type", "text": "hello"}})
        seen["acts"] = [click, typed]
        # Bad arguments: tool errors the client reads, and the server goes on.
        seen["unknown"] = await session.call_tool("act", {"action": {"kind": "fly"}})
        seen["outside"] = await session.call_tool("act", {"action": {"kind": "click",
                                                                      "at": {"x": 5000, "y": 10}}})
        seen["answer"] = await session.call_tool("act", {"action": {"kind": "answer", "text": "x"}})
        seen["located"] = await session.call_tool("locate", {"query": "the Submit button",
                                                             "box": True})
        seen["goal"] = await session.call_tool("run_goal", {"goal": "submit the form",
                                                           "max_steps": 5})
        seen["bad_budget"] = await session.call_tool("run_goal", {"goal": "x", "max_steps": 0})
        seen["after"] = await session.call_tool("screenshot", {})

    requests_of_agent.clear()
    with PageServer() as pages, FakeQwen(qwen) as model:
        params = server_params("--env", "browser", "--url", pages.url("form.html"),
                               "--viewport", "1000x600", "--endpoint", model.url,
                               "--out", str(out))
        anyio.run(session_of, params, use)
        clicks = [e["target"] for e in pages.of_type("click", count=2)]
        changes = [e["value"] for e in pages.of_type("change")]

    assert seen["tools"] == ["act", "locate", "run_goal", "screenshot"]
    assert "click" in json.dumps(seen["act_schema"])  # the Action vocabulary, as a schema
    # The screenshot: a PNG of the page at its CSS size, and that size said in words.
    shot = seen["shot"]
    assert not shot.is_error
    image = next(c for c in shot.content if c.type == "image")
    picture = Image.open(io.BytesIO(base64.b64decode(image.data)))
    assert image.mime_type == "image/png" and picture.size == VIEWPORT
    assert "1000x600" in text_of(shot) and shot.structured_content == {"width": 1000, "height": 600}
    assert not any(r.is_error for r in seen["acts"])
    # The page got the click on the field and the text, then the agent's click on Submit.
    assert clicks == ["name", "submit"]
    assert changes and changes[0] == "hello"
    for name in ("unknown", "outside", "answer"):
        assert seen[name].is_error, name
    assert "fly" in text_of(seen["unknown"]) or "kind" in text_of(seen["unknown"])
    assert "outside the screen, which is 1000x600" in text_of(seen["outside"])
    assert "ends the episode" in text_of(seen["answer"])
    located = seen["located"].structured_content
    assert located["screen"] == [1000, 600]
    (found,) = located["items"]
    assert found["label"] == "Submit" and abs(found["point"][0] - 580) <= 3 and \
        abs(found["point"][1] - 425) <= 3
    goal = seen["goal"].structured_content
    assert goal["status"] == "done" and goal["succeeded"] and goal["steps"] == 2
    assert Path(goal["report"]).is_file() and Path(goal["run_dir"]).parent == out / "goals"
    assert seen["bad_budget"].is_error and "--max-steps" in text_of(seen["bad_budget"])
    assert not seen["after"].is_error

    # Every call that reached the screen or the model is a step of the session's record.
    session = load_run(out)
    assert [s.extras["mcp"] for s in session.steps] == [
        "screenshot", "act", "act", "act", "act", "locate", "run_goal", "run_goal", "screenshot"]
    assert session.steps[1].action.kind == "click" and session.steps[1].screenshot == "step_001.png"
    assert [s.error_kind for s in session.steps[3:5]] == ["ActionRejectedError", "UnsupportedActionError"]
    assert session.meta.status == "stopped" and session.meta.usage.model_calls == 3
    report = (out / "report.html").read_text()
    assert "Step 6: locate" in report and "the Submit button" in report
    assert load_run(goal["run_dir"]).meta.status == "success"


def test_without_a_model_only_screenshot_and_act_are_offered(tmp_path):
    seen: dict[str, object] = {}

    async def use(session: ClientSession) -> None:
        seen["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
        seen["locate"] = await session.call_tool("locate", {"query": "x"})

    anyio.run(session_of, server_params("--env", "browser", "--out", str(tmp_path / "s")), use)
    assert seen["tools"] == ["act", "screenshot"]
    assert seen["locate"].is_error

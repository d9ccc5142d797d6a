"""Every form Midscene accepts for a step is read for what it means, and played that way.

The three forms that used to be misread are played on a recording screen with a scripted
model: ``aiAssert`` with reference images (the images reach the model), ``aiTap`` with a
nested ``locate`` (the words are what is looked for), and the older ``aiScroll:
{scrollType: untilBottom}`` (it scrolls until the page stops moving).
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.rpa.grounders import QwenGrounder
from qvl_agent.agent.rpa.locator import CountingBackend, Locator, Stats
from qvl_agent.agent.rpa.player import Player, StepFailure
from qvl_agent.agent.rpa.preflight import preflight
from qvl_agent.agent.rpa.script import (
    Ai, Assert, Input, KeyboardPress, Scroll, ScriptProblems, Tap, load_script,
)
from qvl_agent.agent.rpa.scrolling import MAX_SCROLLS
from qvl_agent.envs.actions import Click, KeyPress, Point
from qvl_agent.envs.actions import Scroll as ScrollAction
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.model.frame import Frame
from qvl_agent.model.scripted import ScriptedVLM

SCREEN = (1280, 720)


def script(tmp_path: Path, flow: str, head: str = "web: {url: http://127.0.0.1:1/}\n"):
    path = tmp_path / "script.yaml"
    body = textwrap.indent(textwrap.dedent(flow).strip("\n"), " " * 6)
    path.write_text(head + "tasks:\n  - name: t\n    flow:\n" + body + "\n")
    return load_script(path, base=tmp_path)


def steps(tmp_path: Path, flow: str, **kwargs):
    return [step for _, step in script(tmp_path, flow, **kwargs).steps()]


def play(tmp_path: Path, env: FakeEnv, answers, flow: str):
    """Load ``flow`` and play its steps with a scripted model; returns (model, player)."""
    model = ScriptedVLM(answers)
    stats = Stats()
    backend = CountingBackend(model, stats)
    locator = Locator(env, [QwenGrounder(backend)], None, stats, browser=False)
    runs = len(list(tmp_path.glob("run*")))
    player = Player(env, locator, backend, RunRecorder(tmp_path / f"run{runs}"), stats, {}, base=tmp_path)
    loaded = script(tmp_path, flow)
    for task, step in loaded.steps():
        player.play(task, step)
    return model, player


def images_in(request) -> list[Image.Image]:
    return [part["image"] for message in request for part in message["content"]
            if isinstance(part, dict) and part.get("type") == "image"]


def texts_in(request) -> str:
    return "\n".join(part["text"] for message in request for part in message["content"]
                     if isinstance(part, dict) and part.get("type") == "text")


@pytest.mark.parametrize("flow", [
    "- aiTap: the Login button",
    "- aiTap: {prompt: the Login button}",
    "- aiTap:\n    locate:\n      prompt: the Login button",              # nested (older)
    "- aiTap:\n  locate: the Login button",                               # sibling, text
    "- aiTap:\n  locate:\n    prompt: the Login button\n    cacheable: false",  # sibling, object
    "- aiTap: null\n  prompt: the Login button",
    "- aiTap: {prompt: {prompt: the Login button}}",
])
def test_every_target_form_names_the_same_target(tmp_path, flow):
    tap, = steps(tmp_path, flow)
    assert isinstance(tap, Tap) and tap.locate.prompt == "the Login button"
    assert tap.locate.cacheable is ("cacheable: false" not in flow)


def test_an_aiassert_with_images_sends_them_to_the_model(tmp_path):
    logo = Image.new("RGB", (300, 200), (200, 30, 30))
    logo.save(tmp_path / "logo.png")
    flow = """
        - aiAssert:
            prompt: Is the logo on the page?
            images:
              - name: The specific logo
                url: logo.png
            convertHttpImage2Base64: true
          errorMessage: no logo
        """
    step, = steps(tmp_path, flow)
    assert isinstance(step, Assert) and step.prompt == "Is the logo on the page?"
    assert [(i.name, i.url) for i in step.images] == [("The specific logo", "logo.png")]
    env = FakeEnv(SCREEN)
    model, _ = play(tmp_path, env, ['{"pass": true, "thought": "it is"}'], flow)
    request, = model.requests
    reference, screenshot = images_in(request)  # the reference first, the screen last
    assert screenshot.size == Frame.for_image(env.observe().screenshot, SCREEN).size
    assert reference.getpixel((10, 10)) == (200, 30, 30)
    text = texts_in(request)
    assert "The reference image named 'The specific logo'" in text
    assert "Is this true: Is the logo on the page?" in text and "{'prompt'" not in text
    with pytest.raises(StepFailure, match="^no logo$"):
        play(tmp_path, env, ['{"pass": false, "thought": "none"}'], flow)


def test_a_missing_reference_image_is_found_before_anything_opens(tmp_path):
    loaded = script(tmp_path, "- aiAssert: {prompt: x, images: [{name: a, url: nothere.png}]}")
    problem, = preflight(loaded, "auto", True, tmp_path)
    assert f"{loaded.path}:5: 'aiAssert: x'" in problem and "no file 'nothere.png'" in problem


def test_a_nested_locate_taps_what_its_prompt_names(tmp_path):
    frame = Frame.for_image((SCREEN[0], SCREEN[1]), SCREEN)
    fx, fy = frame.to_frame(Point(x=300, y=200))
    box = json.dumps([{"bbox_2d": [round(fx) - 10, round(fy) - 5, round(fx) + 10, round(fy) + 5]}])
    env = FakeEnv(SCREEN)
    model, _ = play(tmp_path, env, [box], "- aiTap:\n    locate:\n      prompt: the blue button")
    assert "Locate the blue button in the image" in texts_in(model.requests[0])
    click, = env.executed
    assert isinstance(click, Click) and abs(click.at.x - 300) < 2 and abs(click.at.y - 200) < 2


def long_page(length: int):
    """A page ``length`` screens tall: the screenshot shows where it is scrolled to."""
    limit = (length - 1) * SCREEN[1]

    def offset(executed) -> int:
        total = 0
        for action in executed:
            if isinstance(action, ScrollAction):
                total = min(max(total + action.dy, 0), limit)
        return total

    def render(executed) -> Image.Image:  # rows of the page, each its own colour
        image = Image.new("RGB", SCREEN, "white")
        draw, top = ImageDraw.Draw(image), int(offset(executed))
        for row in range(top // 40, (top + SCREEN[1]) // 40 + 1):
            y = row * 40 - top
            draw.rectangle([0, y, SCREEN[0], y + 39], fill=(row * 53 % 200, row * 97 % 200, 120))
        return image
    return render, offset, limit


def test_the_older_aiscroll_until_bottom_scrolls_to_the_end(tmp_path):
    flow = "- aiScroll: {direction: down, scrollType: untilBottom}"
    step, = steps(tmp_path, flow)
    assert isinstance(step, Scroll) and step.scrollType == "scrollToBottom" and step.locate is None
    render, offset, limit = long_page(30)  # more than any fixed number of screens
    env = FakeEnv(SCREEN, screenshot=render)
    _, player = play(tmp_path, env, [], flow)
    assert offset(env.executed) == limit
    assert len(env.executed) > 10 and player.steps[0].extras["scrolls"] == len(env.executed)
    _, player = play(tmp_path, env, [], "- aiScroll:\n  scrollType: untilTop")  # and back
    assert offset(env.executed) == 0


def test_scrolling_stops_after_max_scrolls_on_a_page_that_never_ends(tmp_path):
    env = FakeEnv(SCREEN, screenshot=lambda executed: Image.new("RGB", SCREEN, (len(executed) * 97 % 256,) * 3))
    _, player = play(tmp_path, env, [], "- aiScroll: {scrollType: scrollToBottom}")
    assert len(env.executed) == MAX_SCROLLS + 1


@pytest.mark.parametrize("flow, target, value, mode", [
    ("- aiInput: the Name field\n  value: Ada", "the Name field", "Ada", "replace"),
    ("- aiInput: Ada\n  locate: the Name field", "the Name field", "Ada", "replace"),  # older
    ("- aiInput:\n  locate: the Name field\n  value: 42", "the Name field", "42", "replace"),
    ("- aiInput:\n  value: Ada\n  mode: append", None, "Ada", "typeOnly"),  # focused field
    ("- aiInput: the Name field\n  mode: clear", "the Name field", "", "clear"),
])
def test_aiinput_forms(tmp_path, flow, target, value, mode):
    step, = steps(tmp_path, flow)
    assert isinstance(step, Input) and (step.locate.prompt if step.locate else None) == target
    assert (step.value, step.mode) == (value, mode)


@pytest.mark.parametrize("flow, key, target", [
    ("- aiKeyboardPress: Enter", "Enter", None),
    ("- aiKeyboardPress: Enter\n  locate: the search box", "Enter", "the search box"),  # older
    ("- aiKeyboardPress: the search box\n  keyName: Enter", "Enter", "the search box"),
])
def test_aikeyboardpress_forms(tmp_path, flow, key, target):
    step, = steps(tmp_path, flow)
    assert isinstance(step, KeyboardPress) and step.keyName == key
    assert (step.locate.prompt if step.locate else None) == target


def test_ai_forms_and_the_script_context_reach_the_agent(tmp_path):
    loaded = steps(tmp_path, """
        - ai: open the menu
        - aiAct: {prompt: open the menu}
        - aiAction: null
          instruction: open the menu
        """)
    assert [type(s) for s in loaded] == [Ai, Ai, Ai] and {s.prompt for s in loaded} == {"open the menu"}
    path = tmp_path / "ctx.yaml"
    path.write_text("web: {url: http://x}\nagent:\n  aiActionContext: dismiss the cookie banner\n"
                    "tasks:\n  - name: t\n    flow:\n      - ai: open the menu\n")
    ctx = load_script(path)
    assert ctx.agent.aiActContext == "dismiss the cookie banner"
    done = '<tool_call>\n{"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}\n</tool_call>'
    model = ScriptedVLM([done])
    player = Player(FakeEnv(SCREEN), Locator(FakeEnv(SCREEN), [], None, Stats(), browser=False), model,
                    RunRecorder(tmp_path / "run"), Stats(), {}, context=ctx.agent.aiActContext)
    player.play(ctx.tasks[0], ctx.tasks[0].flow[0])
    assert "dismiss the cookie banner" in texts_in(model.requests[0])


def test_one_of_every_step_kind_in_midscenes_reference_loads(tmp_path):
    loaded = steps(tmp_path, """
        - aiTap: a
        - aiDoubleClick: a
        - aiRightClick: a
        - aiHover: a
        - aiLongPress: a
          duration: 900
        - aiInput: a
          value: b
        - aiClearInput: a
        - aiKeyboardPress: Enter
        - aiScroll: a
          direction: up
        - aiDragAndDrop: {from: a, to: b}
        - aiLocate: a
          name: where
        - aiAssert: a
        - aiQuery: a
        - aiBoolean: a
        - aiNumber: a
        - aiString: a
        - aiAsk: a
        - aiWaitFor: a
          timeoutMs: 500
        - ai: a
        - sleep: 100
        - javascript: document.title
          name: title
        - logScreenshot: before
          content: the page
        - recordToReport: after
        """)
    assert [s.kind for s in loaded] == [
        "aiTap", "aiDoubleClick", "aiRightClick", "aiHover", "aiLongPress", "aiInput",
        "aiClearInput", "aiKeyboardPress", "aiScroll", "aiDragAndDrop", "aiLocate", "aiAssert",
        "aiQuery", "aiBoolean", "aiNumber", "aiString", "aiAsk", "aiWaitFor", "ai", "sleep",
        "javascript", "recordToReport", "recordToReport"]
    assert loaded[17].timeout == 500 and loaded[9].to.prompt == "b"
    phone = steps(tmp_path, "- runAdbShell: dumpsys battery\n  name: battery\n- terminate: com.x\n"
                            "- launch: com.android.settings\n- AndroidBackButton: null",
                  head="android: {deviceId: '123'}\n")
    assert [s.kind for s in phone] == ["runAdbShell", "terminate", "launch", "AndroidBackButton"]


def test_a_step_on_the_wrong_screen_is_refused_before_anything_opens(tmp_path):
    loaded = script(tmp_path, "- runAdbShell: ls\n- javascript: 1", head="computer: {}\n")
    problems = preflight(loaded, "qwen", True, tmp_path)
    assert [p.split(": ", 1)[0] for p in problems] == [f"{loaded.path}:5", f"{loaded.path}:6"]
    assert "works on android: only; this script drives computer:" in problems[0]
    assert "works on web: only" in problems[1]


def test_options_we_cannot_honour_are_noted_once_with_their_lines(tmp_path):
    loaded = script(tmp_path, """
        - aiTap: a
          deepLocate: true
        - aiTap:
          locate: {prompt: b, deepThink: true}
        - aiQuery: c
          domIncluded: true
        - aiTap: d
          deepLocate: true
        """)
    assert loaded.ignored == [
        f"ignored: deepLocate on aiTap (Midscene's two-pass locate; Qwen2.5-VL locates in one "
        f"pass on the whole screenshot); {loaded.path} lines 6, 12",
        f"ignored: deepThink on aiTap (Midscene's two-pass locate; Qwen2.5-VL locates in one "
        f"pass on the whole screenshot); {loaded.path} line 8",
        f"ignored: domIncluded on aiQuery (questions are answered from the screenshot alone); "
        f"{loaded.path} line 10"]


def test_every_problem_is_listed_with_its_line(tmp_path):
    with pytest.raises(ScriptProblems) as caught:
        script(tmp_path, """
            - aiTapp: a
            - aiInput: the Name field
            - aiTap: b
              colour: red
            - runGherkinScenario: Scenario x
            - aiPinch: {direction: in}
            """)
    lines = [p.split(": ")[0].rsplit(":", 1)[1] for p in caught.value.problems]
    assert lines == ["5", "6", "8", "9", "10"]
    assert "did you mean aiTap?" in caught.value.problems[0]
    assert "aiInput needs value:" in caught.value.problems[1]
    assert "'colour' is not an option of aiTap" in caught.value.problems[2]
    assert "Gherkin" in caught.value.problems[3] and "two-finger" in caught.value.problems[4]


def test_a_keypress_chord_from_the_script(tmp_path):
    env = FakeEnv(SCREEN)
    play(tmp_path, env, [], "- aiKeyboardPress: Control+A")
    assert env.executed == [KeyPress(keys=["Control", "a"])]


def test_reference_images_from_a_file_a_data_url_and_a_link(tmp_path):
    import base64
    import io
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from qvl_agent.agent.rpa.references import load_image
    from qvl_agent.agent.rpa.steps import RefImage
    from qvl_agent.envs.errors import ConfigError

    Image.new("RGB", (40, 30), (0, 128, 0)).save(tmp_path / "green.png")
    buffer = io.BytesIO()
    Image.new("RGB", (20, 10), (0, 0, 255)).save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        link = f"http://127.0.0.1:{server.server_address[1]}/green.png"
        from_file = load_image(RefImage(name="a", url="green.png"), tmp_path)
        from_data = load_image(RefImage(name="b", url=data_url), tmp_path)
        from_link = load_image(RefImage(name="c", url=link), tmp_path)
        with pytest.raises(ConfigError, match=r"cannot download the reference image 'd'"):
            load_image(RefImage(name="d", url=link.replace("green", "absent")), tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    assert from_file.size == (40, 30) and from_file.getpixel((1, 1)) == (0, 128, 0)
    assert from_data.size == (20, 10) and from_data.getpixel((1, 1)) == (0, 0, 255)
    assert from_link.tobytes() == from_file.tobytes()
    with pytest.raises(ConfigError, match=r"'e' \('absent.png'\) does not exist \(paths start from"):
        load_image(RefImage(name="e", url="absent.png"), tmp_path)

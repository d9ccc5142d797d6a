"""DesktopEnv on a real X server (Xvfb + openbox): every action, seen by a real X client.

``xev`` prints every event its window receives; the tests read its log, so a click counts
only when the X server delivered it to a window at the right place.
"""

from __future__ import annotations

import re
import time

import pytest

from qvl_agent.envs.actions import (
    Click, Drag, KeyPress, LongPress, MoveTo, Point, Scroll, SystemButton, TypeText, Wait,
)
from qvl_agent.envs.conformance import check_env
from qvl_agent.envs.desktop import DesktopEnv
from qvl_agent.envs.errors import ConfigError, UnsupportedActionError
from qvl_agent.envs.xdisplay import parse_display_spec, start_virtual_display

pytestmark = pytest.mark.desktop


@pytest.fixture(scope="module")
def display():
    with start_virtual_display([(800, 600)]) as shared:
        yield shared


@pytest.fixture(scope="module")
def desktop(display):
    with DesktopEnv(display=display) as env:
        yield env


class Xev:
    """A real X client window at a known place, and the events it received."""

    def __init__(self, display, name: str, geometry: str) -> None:
        self.display, self.name = display, name
        self.log = display.runtime / f"{name}.log"
        self.process = display.launch(["xev", "-name", name, "-geometry", geometry], log=name)
        deadline = time.monotonic() + 20
        while "Expose event" not in self.text() and time.monotonic() < deadline:
            time.sleep(0.05)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def events(self, kind: str, since: int = 0) -> list[str]:
        blocks = (e.strip() for e in self.text()[since:].split("\n\n"))
        return [e for e in blocks if e.startswith(kind + " event")]

    def raise_(self) -> None:
        """Bring the window to the top (another test's window may cover it)."""
        self.display.run(["xdotool", "search", "--name", self.name, "windowactivate", "--sync"])

    def mark(self) -> int:
        time.sleep(0.2)  # xev's own output is line-buffered through a file
        return len(self.text())


@pytest.fixture(scope="module")
def xev(display, desktop):
    window = Xev(display, "qvl-xev", "400x300+0+0")
    desktop.execute(Click(at=Point(x=200, y=150)))  # focus it: keys go to the focused window
    yield window
    window.process.terminate()


def _root(event: str) -> tuple[int, int]:
    x, y = re.search(r"root:\((\d+),(\d+)\)", event).groups()
    return int(x), int(y)


def _button(event: str) -> int:
    return int(re.search(r"button (\d+)", event).group(1))


def _wait_for(fn, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_the_desktop_env_conforms(display):
    env = DesktopEnv(display=display)
    assert check_env(env) == []
    assert not display._stopped  # an env that was given the display leaves it running


@pytest.mark.parametrize("action, button, presses", [
    (Click(at=Point(x=120, y=90)), 1, 1),
    (Click(at=Point(x=130, y=95), button="right"), 3, 1),
    (Click(at=Point(x=140, y=100), button="middle"), 2, 1),
    (Click(at=Point(x=150, y=105), count=2), 1, 2),
])
def test_clicks_reach_the_window_where_they_were_aimed(desktop, xev, action, button, presses):
    mark = xev.mark()
    desktop.execute(action)
    events = _wait_for(lambda: [e for e in xev.events("ButtonPress", mark) if _button(e) == button])
    assert len(events) == presses
    assert {_root(e) for e in events} == {action.at.rounded()}


def test_move_then_drag_from_the_pointer(desktop, xev):
    desktop.execute(MoveTo(at=Point(x=50, y=60)))
    mark = xev.mark()
    desktop.execute(Drag(end=Point(x=250, y=200)))  # computer_use: from where the pointer is
    press = _wait_for(lambda: xev.events("ButtonPress", mark))
    release = _wait_for(lambda: xev.events("ButtonRelease", mark))
    motion = [e for e in xev.events("MotionNotify", mark) if "state 0x100" in e]  # button 1 held
    assert _root(press[0]) == (50, 60) and _button(press[0]) == 1
    assert _root(release[-1]) == (250, 200)
    assert len(motion) >= 2  # the pointer travelled with the button down, as a hand drags


def test_long_press_holds_the_button(desktop, xev):
    mark = xev.mark()
    desktop.execute(LongPress(at=Point(x=60, y=70), seconds=0.5))
    press = _wait_for(lambda: xev.events("ButtonPress", mark))[0]
    release = _wait_for(lambda: xev.events("ButtonRelease", mark))[0]
    held = int(re.search(r"time (\d+)", release).group(1)) - int(re.search(r"time (\d+)", press).group(1))
    assert held >= 450


@pytest.mark.parametrize("scroll, button, clicks", [
    (Scroll(dy=500, at=Point(x=100, y=100)), 5, 5),  # Qwen "pixels": -5 -> five clicks down
    (Scroll(dy=-100, at=Point(x=100, y=100)), 4, 1),
    (Scroll(dy=-30, at=Point(x=100, y=100)), 4, 1),  # less than a click is still one click
    (Scroll(dx=200, at=Point(x=100, y=100)), 7, 2),
])
def test_scroll_is_whole_wheel_clicks(desktop, xev, scroll, button, clicks):
    mark = xev.mark()
    desktop.execute(scroll)
    time.sleep(0.2)
    events = [e for e in xev.events("ButtonPress", mark)]
    assert [_button(e) for e in events] == [button] * clicks
    assert all(_root(e) == (100, 100) for e in events)


def test_key_combo_is_held_together(desktop, xev):
    mark = xev.mark()
    desktop.execute(KeyPress(keys=["ctrl", "shift", "s"]))
    presses = _wait_for(lambda: len(xev.events("KeyPress", mark)) >= 3 and xev.events("KeyPress", mark))
    names = [re.search(r"keysym 0x[0-9a-f]+, (\w+)", e).group(1) for e in presses]
    assert names[:2] == ["Control_L", "Shift_L"]
    assert names[2].lower() == "s" and "state 0x5" in presses[2]  # ctrl+shift held


def test_qwen_key_names_map_and_unknown_keys_are_refused(desktop, xev):
    mark = xev.mark()
    desktop.execute(KeyPress(keys=["Return"]))
    desktop.execute(KeyPress(keys=["pgdn"]))
    desktop.execute(KeyPress(keys=["esc"]))
    names = [re.search(r"keysym 0x[0-9a-f]+, (\w+)", e).group(1)
             for e in _wait_for(lambda: len(xev.events("KeyPress", mark)) >= 3 and xev.events("KeyPress", mark))]
    assert names == ["Return", "Next", "Escape"]
    with pytest.raises(UnsupportedActionError, match="no key"):
        desktop.execute(KeyPress(keys=["volume_up"]))


def test_typing_sends_the_characters(desktop, xev):
    mark = xev.mark()
    desktop.execute(TypeText(text="Hi!"))
    typed = _wait_for(lambda: len(xev.events("KeyPress", mark)) >= 3 and xev.events("KeyPress", mark))
    assert "".join(re.search(r'XLookupString gives \d+ bytes: (?:\([0-9a-f ]+\) )?"(.*)"', e).group(1)
                   for e in typed if "XLookupString gives 1" in e) == "Hi!"


def test_wait_and_refusals(desktop):
    started = time.monotonic()
    desktop.execute(Wait(seconds=0.3))
    assert time.monotonic() - started >= 0.3
    with pytest.raises(UnsupportedActionError):
        desktop.execute(SystemButton(button="back"))


def test_unicode_typing_lands_in_a_real_editor(display, desktop, tmp_path):
    target = display.home / "unicode.txt"
    target.write_text("")
    display.launch(["mousepad", str(target)], log="mousepad")
    from qvl_agent.tasks.desktop.steps import find_window

    window = find_window(desktop, "unicode.txt", timeout=30)
    display.run(["xdotool", "windowactivate", "--sync", window])
    text = "Crème brûlée, naïve — 東京タワー ✓ 🎉 ñ"
    desktop.execute(TypeText(text=text + "\nline two"))
    desktop.execute(KeyPress(keys=["ctrl", "s"]))
    assert _wait_for(lambda: target.read_text(encoding="utf-8") == f"{text}\nline two\n"
                     or target.read_text(encoding="utf-8") == f"{text}\nline two")
    display.run(["xdotool", "windowclose", window])
    _wait_for(lambda: not display.run(["xdotool", "search", "--name", "unicode.txt"]).stdout)


class _PointsGui:
    """pyautogui as macOS Retina has it: it moves in points, half the screenshot's pixels.

    Every call forwards to the real pyautogui on the real X server, doubling coordinates as
    the OS does; only the size it reports is in points."""

    def __init__(self, real) -> None:
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def size(self):
        width, height = self._real.size()
        return width // 2, height // 2

    def position(self):
        x, y = self._real.position()
        return x // 2, y // 2

    def moveTo(self, x, y, **kw):
        return self._real.moveTo(x * 2, y * 2, **kw)

    def click(self, x, y, **kw):
        return self._real.click(x * 2, y * 2, **kw)


def test_hidpi_screenshot_larger_than_the_logical_screen(display, xev):
    from qvl_agent.model.convert import to_action
    from qvl_agent.model.frame import Frame
    from qvl_agent.model.parsing import ToolCall

    env = DesktopEnv(display=display)
    env._gui = _PointsGui(env._gui)
    env._ratio = env._scale()  # as if it had started with this pyautogui
    observation = env.observe()
    assert observation.screenshot.size == (800, 600)
    assert (observation.screen.width, observation.screen.height) == (400, 300)
    frame = Frame.for_image(observation.screenshot, observation.screen)
    # The model points at screenshot pixel (300, 200) in its frame's pixels.
    fx, fy = 300 * frame.width / 800, 200 * frame.height / 600
    action = to_action(ToolCall(name="computer_use", arguments={
        "action": "left_click", "coordinate": [round(fx), round(fy)]}), frame)
    xev.raise_()
    mark = xev.mark()
    env.execute(action)
    press = _wait_for(lambda: xev.events("ButtonPress", mark))[0]
    x, y = _root(press)
    assert abs(x - 300) <= 2 and abs(y - 200) <= 2  # the pixel the model saw, not (150, 100)
    env.close()


def test_two_monitors_offset_seeing_and_acting():
    with start_virtual_display([(640, 480), (400, 300)]) as display:
        with DesktopEnv(display=display, monitor=2) as second, DesktopEnv(display=display) as first:
            assert (second.observe().screen.width, second.observe().screen.height) == (400, 300)
            assert first.observe().screen.width == 640
            window = Xev(display, "right-monitor", "300x200+660+20")
            second.execute(MoveTo(at=Point(x=10, y=10)))  # inside monitor 2
            mark = window.mark()
            second.execute(Click(at=Point(x=100, y=80)))
            press = _wait_for(lambda: window.events("ButtonPress", mark))[0]
            assert _root(press) == (640 + 100, 80)
            # What monitor 2 shows is the desktop from x=640 on.
            whole = first._mss.grab(first._mss.monitors[0])
            from PIL import Image, ImageChops

            desktop_shot = Image.frombytes("RGB", whole.size, whole.rgb).crop((640, 0, 1040, 300))
            assert ImageChops.difference(second.observe().screenshot, desktop_shot).getbbox() is None
        with pytest.raises(ConfigError, match="has 2 monitor"):
            DesktopEnv(display=display, monitor=3)


@pytest.mark.parametrize("spec, message", [
    ("virtual:10x10", "not a screen size"), ("big", "must be 'virtual'"), ("virtual:axb", "must be"),
])
def test_bad_display_specs_are_one_clear_line(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_display_spec(spec)


def test_display_spec_forms():
    assert parse_display_spec("virtual") == ("virtual", [(1280, 720)])
    assert parse_display_spec("virtual:1920x1080+800x600") == ("virtual", [(1920, 1080), (800, 600)])
    assert parse_display_spec(":7") == (":7", [])

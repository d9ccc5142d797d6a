"""The terminal's answers, read as typed: y/yes, n/no, s/stop, anything else asked again;
a closed input stops; at a pause, Enter or r resumes and other text is advice."""

from __future__ import annotations

import io
import os
import signal
from pathlib import Path

import pytest

from qvl_agent.agent.oversight import StopRun
from qvl_agent.agent.trajectory import Confirmation, Step
from qvl_agent.cli.human import TerminalHuman
from qvl_agent.envs.actions import Click, Point


def _human(typed: str) -> tuple[TerminalHuman, io.StringIO]:
    shown = io.StringIO()
    return TerminalHuman(Path("runs/x"), stdin=io.StringIO(typed), stderr=shown), shown


def _asking() -> Step:
    step = Step(index=4, started_at="now", action=Click(at=Point(x=10, y=20)))
    step.confirmation = Confirmation(reason="its target says 'Pay'", target="Pay now",
                                     screenshot="step_004.png")
    return step


@pytest.mark.parametrize("typed,allowed", [("y\n", True), ("YES\n", True), ("n\n", False),
                                           ("maybe\nno\n", False)])
def test_yes_and_no(typed, allowed):
    human, shown = _human(typed)
    assert human.confirm(_asking()) is allowed
    text = shown.getvalue()
    assert text.startswith("step 4 wants to click (10, 20)\n  on: 'Pay now'\n  (asking because its "
                           "target says 'Pay')\n  screenshot: runs/x/step_004.png\nallow it?")
    assert ("answer y, n or s" in text) is typed.startswith("maybe")


@pytest.mark.parametrize("typed", ["s\n", "stop\n", ""])
def test_stop_or_a_closed_input_stops(typed):
    human, _ = _human(typed)
    with pytest.raises(StopRun):
        human.confirm(_asking())
    with pytest.raises(StopRun):
        _human(typed)[0].pause(Step(index=3, started_at="now"))


@pytest.mark.parametrize("typed,advice", [("\n", None), ("r\n", None), ("resume\n", None),
                                          ("  try the menu  \n", "try the menu")])
def test_a_pause_resumes_or_carries_advice(typed, advice):
    human, shown = _human(typed)
    assert human.pause(Step(index=3, started_at="now")) == advice
    assert shown.getvalue().startswith("paused after step 2: the screen is yours")


class _CtrlCWithTheFirstLine(io.StringIO):
    """A terminal where the person presses Ctrl-C just as the question starts to show."""

    pressed = False

    def write(self, text: str) -> int:
        if not self.pressed:
            self.pressed = True
            os.kill(os.getpid(), signal.SIGINT)
        return super().write(text)


@pytest.mark.parametrize("ask", ["pause", "confirm"])
def test_ctrl_c_while_a_question_shows_stops_the_run(ask):
    human = TerminalHuman(Path("runs/x"), stdin=io.StringIO("some advice\ny\n"),
                          stderr=_CtrlCWithTheFirstLine())
    step = _asking() if ask == "confirm" else Step(index=3, started_at="now")
    with human, pytest.raises(KeyboardInterrupt):
        getattr(human, ask)(step)
    assert not human.oversight.pause_requested()  # not taken for a first Ctrl-C

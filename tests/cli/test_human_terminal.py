"""A person at a real terminal (a pseudo-terminal), as they would use `qvl-agent run`:
yes/no before risky actions, Ctrl-C once to pause and advise the model, Ctrl-C twice to stop.

The command runs with the pty as its controlling terminal, so Ctrl-C is the byte 0x03 that
the terminal turns into SIGINT for the command's whole process group, as a keyboard does.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "correct-horse-battery"
VIEWPORT = (1000, 600)
USER, PASS, SIGN_IN = (250, 120), (250, 190), (180, 345)  # login.html
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\r")


class Terminal:
    """A command on a pseudo-terminal: read what it shows, type, press Ctrl-C.

    A thread reads the terminal all the time, as a terminal emulator does: a command whose
    output nobody reads blocks once the pty's buffer is full.
    """

    def __init__(self, args: list[str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, b"\x00\x28\x00\x78\x00\x00\x00\x00")  # 40x120

        def controlling_terminal() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
        self.process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env,
                                        preexec_fn=controlling_terminal, close_fds=True)
        os.close(slave)
        self._seen = bytearray()
        self._changed = threading.Condition()
        self._closed = False
        self._read_to = 0
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""  # the command exited and the terminal closed
            with self._changed:
                if not data:
                    self._closed = True
                    self._changed.notify_all()
                    return
                self._seen += data
                self._changed.notify_all()

    @property
    def screen(self) -> str:
        with self._changed:
            return _ANSI.sub(b"", bytes(self._seen)).decode(errors="replace")

    def expect(self, text: str, timeout: float = 120) -> str:
        """Wait until ``text`` shows after what the last expect matched; returns the screen."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                plain = _ANSI.sub(b"", bytes(self._seen)).decode(errors="replace")
                at = plain.find(text, self._read_to)
                if at >= 0:
                    self._read_to = at + len(text)
                    return plain
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise AssertionError(f"{text!r} never showed; the terminal shows:\n"
                                         + plain[-3000:])
                self._changed.wait(min(left, 1.0))

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def finish(self, timeout: float = 120) -> int:
        code = self.process.wait(timeout=timeout)
        self._reader.join(10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._reader.join(10)
        os.close(self.master)


class Model:
    """The fake model's answers, one per step; a step can wait until the test lets it answer."""

    def __init__(self, script: list) -> None:
        self.script, self.requests = script, []
        self.asked = [threading.Event() for _ in script]
        self.release = [threading.Event() for _ in script]
        for event in self.release:
            event.set()

    def hold(self, number: int) -> None:
        self.release[number].clear()

    def __call__(self, request: QwenRequest) -> str:
        number = len(self.requests)
        self.requests.append(request)
        self.asked[number].set()
        assert self.release[number].wait(120), "the test never let the model answer"
        return self.script[number](request)


def at(point):
    return lambda request: tool_call(action="left_click", coordinate=request.to_frame(*point, VIEWPORT))


def typed(text):
    return lambda request: tool_call(action="type", text=text)


def _run(pages: PageServer, qwen: FakeQwen, out: Path, *extra: str) -> Terminal:
    return Terminal([sys.executable, "-m", "qvl_agent.cli", "run", "sign in as alice", "--env",
                     "browser", "--url", pages.url("login.html"), "--viewport", "1000x600",
                     "--endpoint", qwen.url, "--out", str(out), "--secret",
                     f"PASSWORD={PASSWORD}", *extra])


def test_a_person_confirms_refuses_pauses_and_advises_at_the_terminal(tmp_path):
    model = Model([at(USER), typed("alice"), at(PASS), typed("<secret:PASSWORD>"),
                   typed("<secret:PASSWORD>"), at(SIGN_IN),
                   lambda r: tool_call(action="terminate", status="success")])
    model.hold(1)
    model.hold(5)
    out = tmp_path / "run"
    with PageServer() as pages, FakeQwen(model) as qwen:
        terminal = _run(pages, qwen, out, "--confirm-pattern", "sign in")
        try:
            # Ctrl-C while the model thinks about step 2: the run pauses once "alice" is typed.
            assert model.asked[1].wait(240), "the run never reached step 2"
            terminal.ctrl_c()
            terminal.expect("pausing after the current action (Ctrl-C again to stop)")
            model.release[1].set()
            terminal.expect("paused after step 2")
            terminal.expect("type advice for the model: ")
            terminal.type("the password field is right below the username")
            # Typing a secret is risky: the person is asked, says no, then yes.
            screen = terminal.expect("allow it? [y]es / [n]o / [s]top: ")
            assert "step 5 wants to type '<secret:PASSWORD>'" in screen
            assert "asking because it types a secret" in screen
            assert f"screenshot: {out / 'step_005.png'}" in screen
            terminal.type("n")
            terminal.expect("allow it? [y]es / [n]o / [s]top: ")
            terminal.type("y")
            # "Sign in" matches --confirm-pattern; a Ctrl-C meanwhile pauses after the click.
            assert model.asked[5].wait(120)
            terminal.ctrl_c()
            terminal.expect("pausing after the current action")
            model.release[5].set()
            screen = terminal.expect("allow it? [y]es / [n]o / [s]top: ")
            assert "on: 'Sign in'" in screen and "its target says 'Sign in'" in screen
            terminal.type("yes")
            terminal.expect("paused after step 7")
            terminal.expect("type advice for the model: ")
            terminal.type("")  # Enter: resume
            screen = terminal.expect("allow it? [y]es / [n]o / [s]top: ")
            assert "wants to terminate (success)" in screen and "it ends the task" in screen
            terminal.type("y")
            code = terminal.finish()
            screen = terminal.screen
        finally:
            terminal.kill()
        signed_in = pages.of_type("signin")

    assert code == 0, screen[-3000:]
    assert "success: the agent finished the task" in screen
    assert PASSWORD not in screen
    assert signed_in and signed_in[0]["password"] == PASSWORD  # typed once: after the "yes"

    # What the model was told: the advice as the user's words, then the refusal.
    texts = ["\n".join(r.texts) for r in model.requests]
    assert "The user says: the password field is right below the username" in texts[2]
    assert "The user says" not in texts[3]
    assert "The user refused your previous action" in texts[4]

    run = load_run(out)
    kinds = [(s.index, s.human.decision if s.human else s.action.kind) for s in run.steps]
    assert kinds == [(1, "click"), (2, "type"), (3, "advice"), (4, "click"), (5, "type"),
                     (6, "type"), (7, "click"), (8, "resume"), (9, "terminate")]
    advice = run.steps[2].human
    assert advice.advice == "the password field is right below the username" and advice.paused_s > 0
    refused, allowed, sign_in, end = run.steps[4], run.steps[5], run.steps[6], run.steps[8]
    assert refused.confirmation.answer == "no" and refused.error_kind == "RefusedByUser"
    assert allowed.confirmation.answer == "yes" and allowed.error is None
    assert sign_in.confirmation.target == "Sign in" and sign_in.confirmation.answer == "yes"
    assert end.confirmation.answer == "yes" and run.meta.status == "success"
    assert run.steps[0].confirmation is None and run.steps[1].confirmation is None
    assert run.meta.options["confirm"] == "risky"
    report = (out / "report.html").read_text()
    assert "Step 3: a person's turn (advice)" in report and "the person was asked" in report
    assert "Step 5: type &#x27;&lt;secret:PASSWORD&gt;&#x27; &middot; refused by the person" in report


def test_ctrl_c_twice_stops_with_a_complete_run_directory_and_exit_130(tmp_path):
    model = Model([at(USER), typed("alice"), at(PASS)])
    model.hold(1)
    out = tmp_path / "run"
    with PageServer() as pages, FakeQwen(model) as qwen:
        terminal = _run(pages, qwen, out, "--confirm", "never")
        try:
            assert model.asked[1].wait(240), "the run never reached step 2"
            terminal.ctrl_c()
            terminal.expect("pausing after the current action")
            model.release[1].set()
            terminal.expect("paused after step 2")
            terminal.ctrl_c()  # the second, as the question shows: stop
            code = terminal.finish()
            screen = terminal.screen
        finally:
            terminal.kill()

    assert code == 130, screen[-3000:]
    assert "interrupted: the run was interrupted after 3 steps" in screen
    assert "Traceback" not in screen
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["finished_at"]
    assert meta["message"] == "stopped by the user during a pause"
    run = load_run(out)
    assert [s.action.kind for s in run.steps[:2]] == ["click", "type"]
    assert run.steps[2].human.decision == "stop" and run.steps[2].human.advice is None
    assert (out / "report.html").is_file() and len(model.requests) == 2

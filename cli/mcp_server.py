"""The MCP server of ``qvl-agent mcp``: one screen handed to an MCP client over stdio.

Tools (``mcp``, the official SDK's ``MCPServer``): ``screenshot`` and ``act`` always;
``locate`` and ``run_goal`` when a model is given. Coordinates are the screen's own (those
of ``qvl_agent`` Actions): the screenshot a client gets is scaled to them.

One thread owns the screen (Playwright's sync API and a phone's adb connection belong to
the thread that opened them), and every tool call runs there, one at a time. The screen is
opened on the first call. Every call is a step of the session's run directory
(``trajectory.jsonl`` and PNGs as it goes, ``meta.json`` after each call, ``report.html``
when the session ends); each ``run_goal`` is a run directory of its own under ``goals/``.
A call that fails is a tool error the client reads, and the server goes on; arguments the
tool's schema refuses are answered by the SDK before they reach the screen, unrecorded.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ImageContent, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from typing_extensions import assert_never

from qvl_agent.agent.api import Agent
from qvl_agent.agent.recorder import RunRecorder, default_run_dir
from qvl_agent.agent.trajectory import RunMeta, Step, Timings, now_iso
from qvl_agent.agent.usage import Usage
from qvl_agent.envs.actions import (
    Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe,
    SystemButton, Terminate, TypeText, Wait,
)
from qvl_agent.envs.base import Env, EnvKind, Observation
from qvl_agent.envs.errors import ActionRejectedError, QvlError
from qvl_agent.envs.factory import open_env
from qvl_agent.envs.spec import EnvSpec
from qvl_agent.model.grounding import locate
from qvl_agent.model.options import ModelOptions
from qvl_agent.model.png import encode_png

__all__ = ["ScreenSession", "build_server", "serve", "Found", "Located", "GoalResult"]

log = logging.getLogger("qvl_agent.mcp")
T = TypeVar("T")


class Found(BaseModel):
    label: str | None = None
    point: tuple[float, float] = Field(description="x, y in screen coordinates (a box's centre)")
    box: tuple[float, float, float, float] | None = Field(None, description="x1, y1, x2, y2")


class Located(BaseModel):
    """What ``locate`` answers."""

    items: list[Found]
    screen: tuple[int, int] = Field(description="the screen's width and height")


class GoalResult(BaseModel):
    """What ``run_goal`` answers (``qvl_agent.RunResult`` in short)."""

    status: str = Field(description="done, answered, stuck, budget, stopped or error")
    outcome: str = Field(description="the run's own status (success, failure, ...)")
    succeeded: bool
    answer: str | None = None
    message: str | None = None
    steps: int
    run_dir: str
    report: str


class ScreenSession:
    """The screen an MCP client drives, every call recorded in ``out``."""

    def __init__(self, spec: EnvSpec, model: ModelOptions | None, out: Path) -> None:
        self.spec, self.model = spec, model
        self.out = out
        self.recorder = RunRecorder(out)
        kind = EnvKind(spec.kind)
        self.meta = RunMeta(goal=f"MCP session on a {kind.value} screen", env=kind.value,
                            tool=kind.tool, model="-", started_at=now_iso(),
                            options={"mcp": True, **spec.model_dump(exclude_none=True),
                                     **(model.model_dump(exclude_none=True) if model else {})})
        self.recorder.start(self.meta)
        self.steps: list[Step] = []
        self.goals: list[Usage] = []
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qvl-mcp-screen")
        self._env: Env | None = None
        self._agent: Agent | None = None
        self._shown: tuple[Observation, str | None] | None = None  # seen, not acted on since
        self._started = time.perf_counter()
        self._closed = False

    # -- the calls, each run on the screen's thread ------------------------------------------

    def call(self, work: Callable[..., T], *args: Any) -> T:
        """Run ``work`` on the screen's thread; a QvlError becomes the tool error's text."""
        try:
            return self._thread.submit(work, *args).result()
        except QvlError as exc:
            raise ToolError(str(exc)) from None

    def screenshot(self) -> CallToolResult:
        step = self._step("screenshot")
        with self._recorded(step):
            observation = self._look(step)
            self._shown = (observation, step.screenshot)
            image = observation.screenshot
            screen = observation.screen
            if image.size != (screen.width, screen.height):  # HiDPI: pixels = coordinates
                image = image.resize((screen.width, screen.height))
            text = (f"screen {screen.width}x{screen.height}: the image's pixels are the "
                    "coordinates act and locate use")
            return CallToolResult(
                content=[ImageContent(type="image", data=_base64(encode_png(image)),
                                      mime_type="image/png"),
                         TextContent(type="text", text=text)],
                structured_content={"width": screen.width, "height": screen.height})

    def act(self, action: Action) -> str:
        step = self._step("act")
        with self._recorded(step):
            if self._shown is None:  # record the screen the action lands on
                self._shown = (self._look(step), step.screenshot)
            observation, step.screenshot = self._shown
            step.screen = observation.screen
            step.action = action
            _check_on_screen(action, observation)
            started = time.perf_counter()
            try:
                self._screen().execute(action)
            finally:
                step.timings.execute_s = time.perf_counter() - started
                self._shown = None
            return f"done: {action.model_dump_json()}"

    def locate(self, query: str, box: bool) -> Located:
        step = self._step("locate")
        step.extras["target"] = query
        with self._recorded(step):
            observation = self._look(step)
            self._shown = (observation, step.screenshot)
            found = locate(self._model().backend, observation.screenshot, query,
                           shape="box" if box else "point", screen=observation.screen)
            generation = found.generation
            step.raw, step.frame = found.raw, found.frame
            step.prompt_tokens, step.image_tokens = generation.prompt_tokens, generation.image_tokens
            step.completion_tokens, step.timings.model_s = generation.completion_tokens, generation.model_s
            answer = Located(items=[Found(label=i.label, point=(round(i.point.x, 1), round(i.point.y, 1)),
                                          box=tuple(round(v, 1) for v in i.box) if i.box else None)
                                    for i in found.items],
                             screen=(observation.screen.width, observation.screen.height))
            step.extras["output"] = json.dumps(answer.model_dump()["items"])
            return answer

    def run_goal(self, goal: str, max_steps: int, max_tokens: int | None,
                 max_seconds: float | None) -> GoalResult:
        step = self._step("run_goal")
        step.extras["target"] = goal
        with self._recorded(step):
            name = default_run_dir(goal).name
            out = self.out / "goals" / f"{len(self.goals) + 1:03d}-{name}"
            self._shown = None
            result = self._model().run(goal, self._screen(), max_steps=max_steps,
                                       max_tokens=max_tokens, max_seconds=max_seconds, out=out)
            self.goals.append(result.usage)
            step.extras["output"] = f"{result.outcome}: {out}"
            return GoalResult(status=result.status, outcome=result.outcome,
                              succeeded=result.succeeded, answer=result.answer,
                              message=result.message, steps=len(result.steps),
                              run_dir=str(out), report=str(result.report))

    # -- the session ----------------------------------------------------------------------------

    def close(self) -> None:
        """Write the session's report, then close the screen (the record first: a client
        that stops waiting for the server must not cost the report)."""
        if self._closed:
            return
        self._closed = True
        meta = self.meta
        meta.steps = len(self.steps)
        meta.usage = (Usage.total(s.usage for s in self.steps) + Usage.total(self.goals)
                      ).model_copy(update={"wall_s": time.perf_counter() - self._started})
        meta.status, meta.message = "stopped", f"the MCP session ended after {len(self.steps)} call(s)"
        meta.finished_at = now_iso()
        try:
            self.recorder.finish(meta)
        finally:
            if self._env is not None:
                self._thread.submit(self._env.close).result()
            self._thread.shutdown(wait=True)

    def _screen(self) -> Env:
        if self._env is None:
            self._env = open_env(self.spec)
        return self._env

    def _model(self) -> Agent:
        if self.model is None:  # the tool is not offered then; a client calling it anyway
            raise QvlError("this server has no model: start it with --endpoint URL or --model")
        if self._agent is None:
            self._agent = Agent.from_options(self.model)
            self.meta.model = self._agent.name
        return self._agent

    def _step(self, tool: str) -> Step:
        return Step(index=len(self.steps) + 1, started_at=now_iso(), timings=Timings(),
                    extras={"mcp": tool})

    def _look(self, step: Step) -> Observation:
        started = time.perf_counter()
        observation = self._screen().observe()
        step.timings.observe_s = time.perf_counter() - started
        step.screen, step.screenshot_size = observation.screen, observation.screenshot.size
        step.screenshot = self.recorder.save_screenshot(step.index, observation.screenshot)
        return observation

    def _recorded(self, step: Step) -> _Recorded:
        return _Recorded(self, step)

    def _add(self, step: Step) -> None:
        self.steps.append(step)
        self.recorder.add(step)
        self.meta.steps = len(self.steps)
        self.recorder.write_meta(self.meta)


class _Recorded:
    """Around one call: its time, and its error on the step; the step is added either way."""

    def __init__(self, session: ScreenSession, step: Step) -> None:
        self.session, self.step = session, step
        self.started = time.perf_counter()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: object) -> None:
        step = self.step
        step.timings.wall_s = time.perf_counter() - self.started
        if error is not None:
            step.error = str(error) or error.__class__.__name__
            step.error_kind = error.__class__.__name__
        self.session._add(step)


def _points(action: Action) -> list[Point]:
    match action:
        case Click(at=at) | Scroll(at=at):
            return [at] if at is not None else []
        case LongPress(at=at) | MoveTo(at=at):
            return [at]
        case Drag(start=start, end=end):
            return [start, end] if start is not None else [end]
        case Swipe(start=start, end=end):
            return [start, end]
        case TypeText() | KeyPress() | SystemButton() | OpenApp() | Wait() | Terminate() | Answer():
            return []
        case _:
            assert_never(action)


def _check_on_screen(action: Action, observation: Observation) -> None:
    screen = observation.screen
    for point in _points(action):
        if point.x > screen.width or point.y > screen.height:
            raise ActionRejectedError(
                f"({point.x:g}, {point.y:g}) is outside the screen, which is {screen}; "
                "take a screenshot: its pixels are the coordinates")


def _base64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode("ascii")


_ACT = ("Do one action on the screen, in the screen's pixel coordinates (a screenshot's): "
        'e.g. {"kind": "click", "at": {"x": 120, "y": 340}}, {"kind": "type", "text": "hi"}, '
        '{"kind": "key", "keys": ["ctrl", "a"]}, {"kind": "scroll", "dy": 300}, '
        '{"kind": "swipe", "start": {...}, "end": {...}}, {"kind": "system_button", '
        '"button": "back"}, {"kind": "open_app", "name": "Settings"}.')


def build_server(session: ScreenSession) -> MCPServer:
    """The MCP server with the session's tools (locate and run_goal only with a model)."""
    server = MCPServer("qvl-agent", log_level="WARNING", instructions=(
        f"A {session.meta.env} screen. Take a screenshot, then act on it in its pixel "
        "coordinates" + ("; locate finds things with Qwen2.5-VL, run_goal lets it do a "
                         "whole task." if session.model else ".")))

    @server.tool(name="screenshot", description="The screen as it is now (a PNG whose pixels "
                 "are the coordinates act and locate use), with its size.",
                 annotations=ToolAnnotations(read_only_hint=True), structured_output=False)
    def screenshot() -> CallToolResult:
        return session.call(session.screenshot)

    @server.tool(name="act", description=_ACT, structured_output=False)
    def act(action: Action) -> str:
        return session.call(session.act, action)

    if session.model is None:
        return server

    @server.tool(name="locate", description="Where something is on the screen now, e.g. "
                 "'the Submit button', found by Qwen2.5-VL: points (and boxes) in screen "
                 "coordinates.", annotations=ToolAnnotations(read_only_hint=True))
    def locate_(query: str, box: bool = False) -> Located:
        return session.call(session.locate, query, box)

    @server.tool(name="run_goal", description="Let Qwen2.5-VL work on a goal on this screen "
                 "until it is done or a budget is used up; returns the status, the answer if "
                 "any, and the run's directory with its report.")
    def run_goal(goal: str, max_steps: int = 15, max_tokens: int | None = None,
                 max_seconds: float | None = None) -> GoalResult:
        return session.call(session.run_goal, goal, max_steps, max_tokens, max_seconds)

    return server


def serve(spec: EnvSpec, model: ModelOptions | None, out: Path) -> None:
    """Serve ``spec``'s screen over stdio until the client closes it (or SIGTERM)."""
    session = ScreenSession(spec, model, out)
    tools = "screenshot, act" + (", locate, run_goal" if model else "")
    print(f"qvl-agent mcp: a {spec.kind} screen over stdio (tools: {tools}); "
          f"recording to {out}", file=sys.stderr, flush=True)

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds the server: the record is finished below

    signal.signal(signal.SIGTERM, terminated)
    try:
        build_server(session).run("stdio")
    finally:
        session.close()
        print(f"qvl-agent mcp: session recorded in {out / 'report.html'}", file=sys.stderr,
              flush=True)

"""``report.html``: the page that shows what the agent saw and did, for a person to read.

A short header (goal, outcome, model, screen, totals; the options folded away), a legend for
the timings, then each step: its screenshot at a readable size (a click shows it at full
size) with the action drawn on it (an SVG layer in screen coordinates over the image, so no
pixel maths), the model's raw answer, the parsed call, the executed Action with rounded
numbers, any error, and the timings. Everything the model wrote is escaped: the report never
runs model output. The page shows the run folder's own PNGs (one copy of each screenshot);
``self_contained`` embeds them (JPEG) instead, for one file to share.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from PIL import Image

from qvl_agent.agent.describe import describe
from qvl_agent.agent.storage import write_atomic
from qvl_agent.agent.trajectory import Step, Trajectory, load_run
from qvl_agent.agent.usage import Usage
from qvl_agent.envs.actions import Click, Drag, LongPress, MoveTo, Point, Scroll, Swipe

__all__ = ["write_report", "render_report"]

_STATUS_COLOR = {
    "success": "#1a7f37", "answered": "#1a7f37", "env_done": "#1f6feb", "failure": "#bf8700",
    "max_steps": "#bf8700", "budget": "#bf8700", "model_errors": "#cf222e", "stuck": "#cf222e",
    "error": "#cf222e", "interrupted": "#6e7781", "stopped": "#6e7781", "running": "#6e7781",
    "diverged": "#cf222e",
}
# How a replay got each step (Step.replay), as the report says it.
_REPLAY = {"replayed": ("replayed", "#1f6feb"), "replanned": ("re-planned by the model", "#8250df"),
           "diverged": ("diverged", "#cf222e")}

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:16px 24px}
h1{font-size:20px;margin:0 0 6px}
.meta{color:#57606a}.meta b{color:#1f2328}
.badge{display:inline-block;color:#fff;border-radius:12px;padding:1px 10px;font-weight:600}
main{padding:16px 24px;max-width:1500px}
.step{background:#fff;border:1px solid #d0d7de;border-radius:8px;margin:0 0 16px;padding:12px 16px}
.step h2{font-size:16px;margin:0 0 8px}
.grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
.shot{position:relative;display:inline-block;line-height:0;max-width:100%;cursor:zoom-in}
.shot img{display:block;max-width:100%;max-height:min(70vh,560px);border:1px solid #d0d7de}
.shot svg{position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none}
.zoom{display:none}.zoom:checked+label .shot{cursor:zoom-out}
.zoom:checked+label .shot img{max-height:none}
.zoom:checked+label{position:fixed;inset:0;z-index:9;overflow:auto;background:rgba(0,0,0,.85);
padding:16px;text-align:center}
details{margin-top:6px}summary{cursor:pointer;color:#57606a}
.legend{font-size:12px;color:#57606a;margin-top:6px}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px;white-space:pre-wrap;
word-break:break-word;margin:4px 0 10px;font-size:12px}
.err{color:#cf222e;font-weight:600}
table{border-collapse:collapse;font-size:12px}td{padding:1px 10px 1px 0}
.label{font-size:12px;color:#57606a;text-transform:uppercase;letter-spacing:.04em}
"""


def write_report(run_dir: str | Path, *, self_contained: bool = False) -> Path:
    """(Re)build ``report.html`` in ``run_dir`` from its meta, steps and screenshots;
    ``self_contained`` embeds the screenshots (one file to share) instead of showing the
    run folder's PNGs."""
    run_dir = Path(run_dir)
    page = render_report(load_run(run_dir), run_dir, self_contained=self_contained)
    path = run_dir / "report.html"
    write_atomic(path, page)
    return path


_LEGEND = ("observe: taking the screenshot; think: everything from the screenshot to a usable "
           "action (resizing it, the prompt, the model, reading its answer); model: the model's "
           "own part of think (the request to the server, or generate here); act: carrying "
           "the action out on the screen; step: the whole step, start to end")


def render_report(trajectory: Trajectory, run_dir: Path, *, self_contained: bool = False) -> str:
    meta = trajectory.meta
    e = html.escape
    body = "\n".join(_steps(trajectory, run_dir, self_contained)) or "<p>No step was taken.</p>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>qvl-agent: {e(meta.goal[:80])}</title><style>{_CSS}</style></head><body>"
        f"<header>{_header(trajectory)}</header><main>{body}</main></body></html>"
    )


def _steps(trajectory: Trajectory, run_dir: Path, self_contained: bool) -> list[str]:
    sections, pointer = [], None
    for step in trajectory.steps:
        sections.append(_step_html(step, run_dir, pointer, self_contained))
        pointer = _pointer_after(step, pointer)
    return sections


def _header(trajectory: Trajectory) -> str:
    """Goal, outcome, model, screen and totals; the run's options folded away."""
    meta, steps = trajectory.meta, trajectory.steps
    e = html.escape
    color = _STATUS_COLOR.get(meta.status, "#6e7781")
    screen = next((s.screen for s in steps if s.screen), None)
    where = f"{meta.env}" + (f" {screen.width}x{screen.height}" if screen else "")
    facts = [f"<span class='badge' style='background:{color}'>{e(meta.status)}</span>",
             f"<b>{len(steps)}</b> step{'s' if len(steps) != 1 else ''}"]
    if (took := _duration(meta.started_at, meta.finished_at)) is not None:
        facts.append(f"<b>{_seconds(took)}</b>")
    facts += [f"model <b>{e(meta.model)}</b>", f"screen <b>{e(where)}</b>"]
    if meta.usage is None:  # a run recorded before usage was: the steps' own totals
        model_s = sum(s.timings.model_s for s in steps)
        if model_s:
            facts.append(f"model time {_seconds(model_s)}")
        tokens_in = sum(s.prompt_tokens or 0 for s in steps)
        if tokens_in:
            facts.append(f"tokens {tokens_in:,} in / {sum(s.completion_tokens or 0 for s in steps):,} out")
    lines = [f"<h1>{e(meta.goal)}</h1>", f"<p class='meta'>{' &middot; '.join(facts)}</p>"]
    if meta.usage is not None:
        lines.append(f"<p class='meta'><b>usage</b> {e(_usage_line(meta.usage))}</p>")
    if meta.answer is not None:
        lines.append(f"<p><b>answer:</b> {e(meta.answer)}</p>")
    if meta.message:
        lines.append(f"<p class='err'>{e(meta.message)}</p>")
    if meta.replay_of:
        lines.append(f"<p class='meta'><b>replay of</b> {e(meta.replay_of)}</p>")
    options = {k: v for k, v in meta.options.items() if v is not None}
    if options:
        rows = "".join(f"<tr><td class='label'>{e(str(k))}</td><td>{e(_plain(v))}</td></tr>"
                       for k, v in options.items())
        lines.append(f"<details><summary>options, started {e(meta.started_at)}</summary>"
                     f"<table>{rows}</table></details>")
    lines.append(f"<p class='legend'>{e(_LEGEND)}</p>")
    return "".join(lines)


def _duration(started: str, finished: str | None) -> float | None:
    from datetime import datetime

    if not finished:
        return None
    try:
        return (datetime.fromisoformat(finished) - datetime.fromisoformat(started)).total_seconds()
    except ValueError:
        return None


def _seconds(s: float) -> str:
    return f"{s * 1000:.0f} ms" if s < 1 else f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _rounded(value: object) -> object:
    """Numbers as a person reads them: 921.2422360248447 -> 921.2; whole numbers as ints."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 1)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v) for v in value]
    return value


def _plain(value: object) -> str:
    """An option's value without Python's quoting: lists joined, numbers rounded."""
    value = _rounded(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _usage_line(usage: Usage) -> str:
    return (f"{usage.model_calls} model calls, {usage.prompt_tokens} prompt tokens (of which "
            f"{usage.image_tokens} image), {usage.completion_tokens} completion tokens; model "
            f"{usage.model_s:.1f} s, screen {usage.screen_s:.1f} s, wall {usage.wall_s:.1f} s")


def _pointer_after(step: Step, pointer: Point | None) -> Point | None:
    """Where the mouse is after ``step`` (a computer_use drag starts there)."""
    if step.error is not None:
        return pointer
    match step.action:
        case Click(at=at) | LongPress(at=at) | MoveTo(at=at) | Scroll(at=at) if at is not None:
            return at
        case Drag(end=end):
            return end
    return pointer


def _step_html(step: Step, run_dir: Path, pointer: Point | None, self_contained: bool = False) -> str:
    e = html.escape
    if step.human is not None:
        return _human_html(step)
    refused = step.confirmation is not None and step.confirmation.answer == "no"
    if refused:
        title = f"Step {step.index}: {e(describe(step.action))} &middot; refused by the person"
    elif step.error:
        title = f"Step {step.index}: unusable answer ({e(step.error_kind or 'error')})"
    else:
        title = f"Step {step.index}: {e(describe(step.action))}"
    if label := step.extras.get("rpa") or step.extras.get("mcp"):  # a script's or a tool call's
        title = (f"Step {step.index}: {e(str(label))} &middot; "
                 f"{e(describe(step.action)) if not step.error else 'failed'}")
    if step.call_index:  # a further tool call of the answer above, run without a new look
        title += f" &middot; call {step.call_index + 1} of the answer above"
    if step.replay is not None:
        label, color = _REPLAY[step.replay.source]
        if step.replay.source == "diverged":
            title = f"Step {step.index}: {e(describe(step.replay.recorded))}"
        title += f" <span class='badge' style='background:{color}'>{label}</span>"
    shot = _screenshot_html(step, run_dir, pointer, self_contained)
    details = []
    if step.replay is not None and (step.replay.note or step.replay.recorded_step):
        what = f"recorded step {step.replay.recorded_step}" if step.replay.recorded_step else ""
        note = e(step.replay.note or "")
        css = "err" if step.replay.source != "replayed" else "meta"
        details.append(f"<div class='label'>replay</div><p class='{css}'>"
                       f"{e(what)}{': ' if what and note else ''}{note}</p>")
    if step.warning:
        details.append(f"<div class='label'>told the model</div><p class='err'>{e(step.warning)}</p>")
    if step.confirmation is not None:
        c = step.confirmation
        asked = f"asked because {c.reason}" + (f"; target: {c.target!r}" if c.target else "")
        details.append(f"<div class='label'>the person was asked</div><p>{e(asked)}; answer: "
                       f"<b>{e(c.answer or 'none')}</b> after {c.waited_s:.1f} s</p>")
    if step.error:
        details.append(f"<div class='label'>error</div><p class='err'>{e(step.error_kind or '')}: "
                       f"{e(step.error)}</p>")
    if step.raw is not None:
        details.append(f"<div class='label'>model answer (raw)</div><pre>{e(step.raw)}</pre>")
    if step.call is not None:
        details.append("<div class='label'>parsed call (frame pixels)</div>"
                       f"<pre>{e(json.dumps(_rounded(step.call), ensure_ascii=False))}</pre>")
    if step.action is not None:
        action = _rounded(step.action.model_dump(mode="json"))
        details.append("<div class='label'>action (screen coordinates)</div>"
                       f"<pre>{e(json.dumps(action, ensure_ascii=False))}</pre>")
    t = step.timings
    rows = [("time", f"observe {_seconds(t.observe_s)} · think {_seconds(t.think_s)} (model "
                     f"{_seconds(t.model_s)}) · act {_seconds(t.execute_s)} · step {_seconds(t.wall_s)}")]
    if step.prompt_tokens is not None:
        images = f" ({step.image_tokens} image)" if step.image_tokens is not None else ""
        rows.append(("tokens", f"{step.prompt_tokens} in{images} / {step.completion_tokens} out"))
    if step.screen:
        sizes = f"screen {step.screen}"
        if step.frame:
            sizes += f", frame {step.frame[0]}x{step.frame[1]}"
        rows.append(("sizes", sizes))
    if step.extras.get("url"):
        rows.append(("url", str(step.extras["url"])))
    if step.extras.get("blocked_navigations"):
        rows.append(("blocked", ", ".join(map(str, step.extras["blocked_navigations"]))))
    for key in ("task", "line", "grounder", "cache", "target", "value", "output"):
        if step.extras.get(key) is not None:  # RPA steps
            rows.append((key, str(step.extras[key])))
    details.append("<table>" + "".join(f"<tr><td class='label'>{e(k)}</td><td>{e(v)}</td></tr>"
                                       for k, v in rows) + "</table>")
    return (f"<section class='step' id='step-{step.index}'><h2>{title}</h2><div class='grid'>"
            f"<div>{shot}</div><div>{''.join(details)}</div></div></section>")


def _human_html(step: Step) -> str:
    """A person's turn: how long the run was theirs, and what they told the model."""
    e = html.escape
    turn = step.human
    assert turn is not None
    said = {"resume": "resumed", "advice": "resumed with advice", "stop": "stopped the run"}
    lines = [f"<p>The run was paused for {turn.paused_s:.1f} s; the person "
             f"{said[turn.decision]}.</p>"]
    if turn.advice:
        lines.append(f"<div class='label'>told the model</div><pre>{e(turn.advice)}</pre>")
    return (f"<section class='step' id='step-{step.index}'><h2>Step {step.index}: a person's "
            f"turn ({e(turn.decision)})</h2>{''.join(lines)}</section>")


def _screenshot_html(step: Step, run_dir: Path, pointer: Point | None,
                     self_contained: bool = False) -> str:
    if not step.screenshot or not (run_dir / step.screenshot).is_file():
        if step.call_index:
            return "<p class='meta'>(no new screenshot: it ran right after the call above)</p>"
        return "<p class='meta'>(no screenshot)</p>"
    name = html.escape(step.screenshot)
    if self_contained:
        try:
            with Image.open(run_dir / step.screenshot) as image:
                buffer = io.BytesIO()
                image.convert("RGB").save(buffer, format="JPEG", quality=80)
        except OSError:
            return "<p class='meta'>(screenshot unreadable)</p>"
        source = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
        link = ""
    else:  # the run folder's own PNG: one copy of each screenshot
        source = name
        link = f"<a class='meta' href='{name}'>{name}</a>"
    overlay = _overlay(step, pointer)
    zoom = f"zoom-{step.index}-{step.call_index}"
    return (f"<input type='checkbox' class='zoom' id='{zoom}'><label for='{zoom}' "
            f"title='click for full size'><span class='shot'><img alt='step {step.index}' "
            f"src='{source}'>{overlay}</span></label><br>{link}")


def _overlay(step: Step, pointer: Point | None) -> str:
    """SVG in screen coordinates, stretched over the screenshot (for a replay that diverged,
    where the recorded action would have gone)."""
    action = step.action or (step.replay.recorded if step.replay is not None else None)
    if step.screen is None or action is None:
        return ""
    w, h = step.screen.width, step.screen.height
    r = max(w, h) / 90
    marks: list[str] = []

    def target(p: Point, label: str = "") -> None:
        marks.append(f"<circle cx='{p.x:.1f}' cy='{p.y:.1f}' r='{r:.1f}' fill='rgba(255,0,0,.25)' "
                     f"stroke='red' stroke-width='{r / 4:.1f}'/>")
        marks.append(f"<path d='M{p.x - 2 * r:.1f} {p.y:.1f}H{p.x + 2 * r:.1f}M{p.x:.1f} "
                     f"{p.y - 2 * r:.1f}V{p.y + 2 * r:.1f}' stroke='red' stroke-width='{r / 6:.1f}'/>")
        if label:
            marks.append(f"<text x='{p.x + 1.5 * r:.1f}' y='{p.y - 1.5 * r:.1f}' fill='red' "
                         f"font-size='{2 * r:.1f}' font-family='sans-serif'>{html.escape(label)}</text>")

    def arrow(a: Point, b: Point) -> None:
        marks.append(f"<line x1='{a.x:.1f}' y1='{a.y:.1f}' x2='{b.x:.1f}' y2='{b.y:.1f}' stroke='red' "
                     f"stroke-width='{r / 3:.1f}' marker-end='url(#head)'/>")

    match action:
        case Click(at=at, count=count) if at is not None:
            target(at, "x2" if count == 2 else "")
        case LongPress(at=at):
            target(at, "hold")
        case MoveTo(at=at):
            target(at, "move")
        case Drag(start=start, end=end):
            if start or pointer:
                arrow(start or pointer, end)
            target(end, "drop")
        case Swipe(start=start, end=end):
            target(start)
            arrow(start, end)
        case Scroll(dy=dy, at=at):
            p = at or Point(x=w / 2, y=h / 2)
            arrow(p, Point(x=p.x, y=max(0.0, min(h, p.y + (4 * r if dy > 0 else -4 * r)))))
        case _:
            return ""
    head = ("<defs><marker id='head' viewBox='0 0 10 10' refX='8' refY='5' markerWidth='4' "
            "markerHeight='4' orient='auto'><path d='M0 0L10 5L0 10z' fill='red'/></marker></defs>")
    return (f"<svg viewBox='0 0 {w} {h}' preserveAspectRatio='none' "
            f"xmlns='http://www.w3.org/2000/svg'>{head}{''.join(marks)}</svg>")

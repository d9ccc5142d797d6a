"""Benchmark summaries: accuracy with Wilson 95% intervals overall and per group, as Markdown,
JSON and an HTML page of the misses with the target box and the predicted point drawn."""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from qvl_agent.eval.metrics import rate

__all__ = ["score", "breakdown", "write_summary", "write_misses_html", "SCREENSPOT_GROUPS"]

SCREENSPOT_GROUPS = ("split", "ui_type", "split/ui_type", "platform", "application", "group",
                     "data_source")


def score(rows: Sequence[dict[str, Any]], metric: str = "hit") -> dict[str, Any]:
    """``{"accuracy", "n", "hits", "ci95", "unparseable"}`` of ``rows`` on a boolean column."""
    r = rate(bool(row.get(metric)) for row in rows)
    return {"accuracy": round(r.value, 6), "n": r.total, "hits": r.successes,
            "ci95": [round(r.low, 6), round(r.high, 6)],
            "unparseable": sum(1 for row in rows if row.get("parsed") is False)}


def _group_value(row: dict[str, Any], key: str) -> str | None:
    parts = [row.get(k) for k in key.split("/")]
    return None if any(p is None for p in parts) else "/".join(map(str, parts))


def breakdown(rows: Sequence[dict[str, Any]], groups: Iterable[str],
              metric: str = "hit") -> dict[str, dict[str, dict[str, Any]]]:
    """Per group key (a column, or ``a/b`` for pairs), the score of each value seen.
    Keys no row has are left out."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for key in groups:
        by_value: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            value = _group_value(row, key)
            if value is not None:
                by_value.setdefault(value, []).append(row)
        if by_value:
            out[key] = {v: score(by_value[v], metric) for v in sorted(by_value)}
    return out


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _table(title: str, scores: dict[str, dict[str, Any]]) -> list[str]:
    lines = [f"### {title}", "", "| value | accuracy % | hits / n | 95% CI % | unparseable |",
             "| --- | ---: | ---: | ---: | ---: |"]
    for value, s in scores.items():
        lines.append(f"| {value} | {_pct(s['accuracy'])} | {s['hits']} / {s['n']} | "
                     f"{_pct(s['ci95'][0])}-{_pct(s['ci95'][1])} | {s['unparseable']} |")
    return lines + [""]


def write_summary(out: Path, title: str, summary: dict[str, Any],
                  extra_metrics: dict[str, dict[str, Any]] | None = None) -> Path:
    """``OUT/summary.json`` (``summary`` as is) and ``OUT/summary.md``; returns the .md path."""
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    lines = [f"# {title}", ""]
    for key in ("model", "data", "layout", "prompt", "level"):
        if summary.get(key) is not None:
            lines.append(f"- {key}: `{summary[key]}`")
    lines += [f"- samples: {summary['n']} (unparseable answers: {summary['unparseable']})",
              f"- **accuracy: {_pct(summary['accuracy'])}%** ({summary['hits']}/{summary['n']}; "
              f"95% CI {_pct(summary['ci95'][0])}-{_pct(summary['ci95'][1])}%)", ""]
    for name, s in (extra_metrics or {}).items():
        lines.append(f"- {name}: {_pct(s['accuracy'])}% ({s['hits']}/{s['n']}; 95% CI "
                     f"{_pct(s['ci95'][0])}-{_pct(s['ci95'][1])}%)")
    if extra_metrics:
        lines.append("")
    if skipped := summary.get("skipped"):
        steps, episodes = skipped["steps"], skipped["episodes"]
        lines += [f"- skipped, not scored: {steps} step{'s' if steps != 1 else ''} and {episodes} "
                  f"episode{'s' if episodes != 1 else ''} whose records could not be read; the first:",
                  *(f"  - {problem}" for problem in skipped["first"]), ""]
    for key, scores in summary.get("breakdown", {}).items():
        lines += _table(f"by {key}", scores)
    if summary.get("misses_html"):
        lines.append(f"Misses, drawn: [{summary['misses_html']}]({summary['misses_html']})")
    path = out / "summary.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _thumbnail(image: Image.Image, box: Sequence[float] | None, point: Sequence[float] | None,
               max_side: int = 900) -> str:
    scale = min(1.0, max_side / max(image.size))
    shown = image.convert("RGB").resize((max(1, round(image.width * scale)),
                                         max(1, round(image.height * scale))))
    draw = ImageDraw.Draw(shown)
    if box is not None:
        draw.rectangle([v * scale for v in box], outline=(20, 170, 60), width=3)
    if point is not None:
        x, y = point[0] * scale, point[1] * scale
        draw.ellipse([x - 7, y - 7, x + 7, y + 7], outline=(230, 30, 30), width=3)
        draw.line([x - 12, y, x + 12, y], fill=(230, 30, 30), width=2)
        draw.line([x, y - 12, x, y + 12], fill=(230, 30, 30), width=2)
    buffer = io.BytesIO()
    shown.save(buffer, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def write_misses_html(path: Path, title: str, misses: Sequence[dict[str, Any]], *,
                      root: Path, limit: int = 200) -> Path:
    """One self-contained page: each miss's screenshot with the target box (green) and the
    predicted point (red), the instruction and the raw answer. Rows need ``image`` (relative
    to ``root``), ``box``, ``point``, ``instruction``, ``raw``, ``id``."""
    shown = list(misses)[:limit]
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}</title>",
             "<style>body{font:14px sans-serif;margin:1em}figure{margin:0 0 2em}"
             "img{max-width:100%;border:1px solid #ccc}pre{white-space:pre-wrap;background:#f4f4f4;"
             "padding:.5em}</style>", f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(misses)} misses; green: the target box, red: the predicted point."
             + (f" The first {limit} are shown." if len(misses) > limit else "") + "</p>"]
    for row in shown:
        try:
            with Image.open(root / row["image"]) as image:
                src = _thumbnail(image, row.get("box"), row.get("point"))
            img = f"<img src='{src}' alt='{html.escape(row['id'])}'>"
        except OSError as exc:
            img = f"<p>(image {html.escape(str(row['image']))} unreadable: {html.escape(str(exc))})</p>"
        what = "no usable answer" if row.get("point") is None else f"predicted {row['point']}"
        parts.append(
            f"<figure id='{html.escape(row['id'])}'><h3>{html.escape(row['id'])}: "
            f"{html.escape(row['instruction'])}</h3>{img}<figcaption>target {row.get('box')}, "
            f"{html.escape(what)}<pre>{html.escape(row.get('raw') or '')}</pre></figcaption></figure>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path

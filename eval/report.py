"""An eval run's ``report.html``: the summary a person opens first, linking every instance.

The success rate with its Wilson 95% interval per family and per task, then one row per
instance (outcome, score, how it ended, steps, seconds, the answer or the reason) linked to
that instance's own ``report.html``. Buttons keep only failures or only errors in view (CSS
only: no script runs). ``write_eval_report(out)`` rebuilds it from ``eval.json`` and
``results.jsonl`` alone, so ``qvl-agent report OUT`` works on any eval folder.
"""

from __future__ import annotations

import html
from pathlib import Path

from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.config import EvalConfig, InstanceResult
from qvl_agent.eval.summary import Row, summarize

__all__ = ["write_eval_report", "render_eval_report", "is_eval_dir"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;background:#f6f8fa;color:#1f2328}
header{background:#fff;border-bottom:1px solid #d0d7de;padding:16px 24px}
h1{font-size:20px;margin:0 0 6px}h2{font-size:16px;margin:20px 0 8px}
main{padding:8px 24px 24px;max-width:1400px}.meta{color:#57606a}
table{border-collapse:collapse;background:#fff;border:1px solid #d0d7de;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600}
.success{color:#1a7f37}.failure{color:#9a6700}.error{color:#cf222e}
.filters{margin:8px 0}.filters label{border:1px solid #d0d7de;border-radius:14px;padding:2px 12px;
margin-right:6px;cursor:pointer;background:#fff}.filters input{display:none}
#show-failures:checked~.filters label[for=show-failures],#show-errors:checked~.filters label[for=show-errors],
#show-all:checked~.filters label[for=show-all]{background:#1f2328;color:#fff}
#show-failures:checked~table tr.o-success{display:none}
#show-errors:checked~table tr.o-success,#show-errors:checked~table tr.o-failure{display:none}
"""


def is_eval_dir(folder: Path) -> bool:
    """Whether ``folder`` holds an eval run (rather than one run of ``qvl-agent run``)."""
    return (folder / "eval.json").is_file() and not (folder / "meta.json").is_file()


def write_eval_report(out: Path, *, planned: int | None = None) -> Path:
    """(Re)build ``OUT/report.html`` from the run's ``eval.json`` and ``results.jsonl``."""
    from qvl_agent.eval.results import ResultsFile
    from qvl_agent.eval.runner import read_recorded

    out = Path(out)
    if not (out / "eval.json").is_file():
        raise ConfigError(f"{out} is not an eval run directory: it has no eval.json")
    config = read_recorded(out / "eval.json")
    results_path = out / "results.jsonl"
    if results_path.is_file():
        file = ResultsFile(results_path)
        results = list(file.rows.values())
        file.close()
    else:
        results = []
    page = render_eval_report(config, results, planned)
    path = out / "report.html"
    tmp = out / "report.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(path)
    return path


def _rate_cells(row: Row) -> str:
    r = row.rate
    return (f"<td>{html.escape(row.name)}</td><td class='n'>{r.successes}/{r.total}</td>"
            f"<td class='n'>{100 * r.value:.0f}%</td><td class='n'>{100 * r.low:.0f}-{100 * r.high:.0f}%</td>"
            f"<td class='n'>{row.errors}</td><td class='n'>{row.mean_steps:.1f}</td>"
            f"<td class='n'>{row.mean_seconds:.1f}</td>")


def _rate_table(rows: list[Row], what: str, total: Row | None = None) -> str:
    head = (f"<tr><th>{what}</th><th>solved</th><th>rate</th><th>95% CI</th><th>errors</th>"
            "<th>mean steps</th><th>mean s</th></tr>")
    body = "".join(f"<tr>{_rate_cells(row)}</tr>" for row in rows)
    if total is not None:
        body += f"<tr class='total'>{_rate_cells(total)}</tr>"
    return f"<table>{head}{body}</table>"


def render_eval_report(config: EvalConfig, results: list[InstanceResult],
                       planned: int | None = None) -> str:
    e = html.escape
    tasks, families, total = summarize(results)
    model = config.policy.model
    who = (config.policy.kind if config.policy.kind != "qwen"
           else f"qwen ({model.endpoint or model.model or 'Qwen/Qwen2.5-VL-3B-Instruct'})")
    done = f"{len(results)} of {planned} instances" if planned else f"{len(results)} instances"
    r = total.rate
    headline = (f"solved {r.successes} of {r.total}: {100 * r.value:.0f}% "
                f"(95% CI {100 * r.low:.0f}-{100 * r.high:.0f}%)" if r.total else "no results yet")
    counts = {o: sum(x.outcome == o for x in results) for o in ("success", "failure", "error")}
    rows = []
    for x in sorted(results, key=lambda x: (x.task, x.seed)):
        link = f"<a href='{e(x.report)}'>report</a>" if x.report else "-"
        note = f"answer: {x.answer!r} " if x.answer is not None else ""
        note += x.message or ""
        rows.append(f"<tr class='o-{x.outcome}'><td>{e(x.instance)}</td>"
                    f"<td class='{x.outcome}'>{x.outcome}</td><td class='n'>{x.score:g}</td>"
                    f"<td>{e(x.status)}</td><td class='n'>{x.steps}</td>"
                    f"<td class='n'>{x.duration_s:.1f}</td><td>{link}</td>"
                    f"<td>{e(note[:300])}</td></tr>")
    filters = (
        "<input type='radio' name='show' id='show-all' checked>"
        "<input type='radio' name='show' id='show-failures'>"
        "<input type='radio' name='show' id='show-errors'>"
        "<div class='filters'>"
        f"<label for='show-all'>all ({len(results)})</label>"
        f"<label for='show-failures'>not solved ({counts['failure'] + counts['error']})</label>"
        f"<label for='show-errors'>errors ({counts['error']})</label></div>")
    instances = ("<table><tr><th>instance</th><th>outcome</th><th>score</th><th>ended</th>"
                 "<th>steps</th><th>s</th><th>run</th><th>note</th></tr>" + "".join(rows) + "</table>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>qvl-agent eval: {e(config.suite)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>eval: {e(config.suite)}</h1>"
        f"<p><b>{e(headline)}</b></p>"
        f"<p class='meta'>policy {e(who)} &middot; {e(done)} &middot; seeds {config.seeds} "
        f"&middot; errors (the harness could not finish an instance) count as not solved</p>"
        "</header><main>"
        + (f"<h2>Families</h2>{_rate_table(families, 'family')}" if len(families) > 1 else "")
        + f"<h2>Tasks</h2>{_rate_table(tasks, 'task', total)}"
        + f"<h2>Instances</h2>{filters}{instances}</main></body></html>")

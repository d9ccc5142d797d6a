"""Mutation testing of the modules where a silent bug costs most, with mutmut; prints the
kill rate per module.

A mutant is the code with one small change (``<`` for ``<=``, a constant off by one, an
argument dropped); a test suite that still passes with it would pass with that bug. For each
module below, mutmut runs the module's fast tests against each of its mutants. Survivors are
either killed by a new test or listed in ``benchmarks/mutation_equivalent.txt`` with the
reason they cannot change anything a user sees (that file is read here: listed mutants are
left out of the rate). The target is 90% or more of the other mutants killed in every module.
Not run in CI: on a 2-core machine shared with other work, one module takes 20 s to 5 min
and the whole list about 25 minutes (``--report`` prints the last table again).

mutmut imports the code it mutates from a folder of its own (``mutants/``), whose layout
must be the import layout; ours maps ``qvl_agent.model`` to ``model/`` and so on
(pyproject's package-dir). So each module runs in a workspace, ``build/mutation/NAME``: the
package laid out as it is imported, the tests, and pyproject.toml with a ``[tool.mutmut]``
made of the repository's own section plus the module's file and tests.

    .venv/bin/python benchmarks/mutation.py                  # every module, one at a time
    .venv/bin/python benchmarks/mutation.py parsing frame    # some of them
    .venv/bin/python benchmarks/mutation.py --list           # the modules and their tests

Look at a survivor: ``cd build/mutation/NAME && ../../../.venv/bin/python -c "from
mutmut.__main__ import cli; cli()" show MUTANT``. Needs mutmut (the ``test`` extra).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutation"
EQUIVALENT = Path(__file__).with_name("mutation_equivalent.txt")
TARGET = 0.90


@dataclass(frozen=True)
class Module:
    path: str  # as imported: qvl_agent/model/frame.py
    tests: tuple[str, ...]  # pytest arguments: the fast tests that cover it
    functions: tuple[str, ...] = ()  # only these functions' mutants count (all when empty)


MODULES = {
    "token_check": Module("qvl_agent/model/token_check.py", ("tests/model/test_token_check.py",)),
    "metrics": Module("qvl_agent/eval/metrics.py", ("tests/eval/test_metrics.py",)),
    "results": Module("qvl_agent/eval/jsonl.py",
                      ("tests/eval/test_results.py", "tests/eval/test_jsonl.py")),
    "frame": Module("qvl_agent/model/frame.py",
                    ("tests/model/test_frame.py", "tests/model/test_frame_properties.py")),
    "parsing": Module("qvl_agent/model/parsing.py", ("tests/model/test_parsing.py",)),
    "convert": Module("qvl_agent/model/convert.py", ("tests/model/test_convert.py",)),
    # The scoring: the point an answer gives.
    "screenspot": Module("qvl_agent/eval/bench/screenspot.py",
                         ("tests/eval/bench/test_screenspot.py", "-k", "read_point"),
                         ("read_point", "_is_number")),
    # The rest of it: one sample through a backend to a results row, scored end to end.
    "screenspot_predict": Module("qvl_agent/eval/bench/screenspot.py",
                                 ("tests/eval/bench/test_screenspot.py", "-m", "not slow"),
                                 ("predict_sample", "screenspot_messages")),
    "androidcontrol": Module("qvl_agent/eval/bench/androidcontrol.py",
                             ("tests/eval/bench/test_androidcontrol.py", "-m", "not android"),
                             ("judge", "control_type", "scroll_direction", "gold_action")),
    "sandbox_mounts": Module("qvl_agent/envs/sandbox_mounts.py",
                             ("tests/envs/test_sandbox_mounts.py",)),
    # mutmut leaves decorated functions alone: _probe is _probe_now wrapped in lru_cache.
    "sandbox_probe": Module("qvl_agent/envs/sandbox.py",
                            ("tests/envs/test_sandbox_refusals.py", "-k", "not cli"),
                            ("_probe_now", "check_bubblewrap")),
    "secrets": Module("qvl_agent/agent/secrets.py", ("tests/agent/test_secrets.py",),
                      ("mask_values", "redact", "_forms", "reveal", "uses")),
}
# A mutant that makes a test hang is caught too: the run would never end.
KILLED = {"killed", "caught by type check", "timeout"}


def package_dirs() -> dict[str, str]:
    """qvl_agent's subpackages and their folders, as pyproject's package-dir maps them."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return data["tool"]["setuptools"]["package-dir"]


def write_workspace(name: str, module: Module, again: bool = False) -> Path:
    """build/mutation/NAME: the package as imported, the tests, pyproject for mutmut.
    ``again``: update an existing one, so mutmut keeps the results the changes leave valid."""
    work = WORK / name
    if not again:
        shutil.rmtree(work, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    for package, folder in package_dirs().items():
        shutil.copytree(ROOT / folder, work / package.replace(".", "/"), ignore=ignore,
                        dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore, dirs_exist_ok=True)
    text = (ROOT / "pyproject.toml").read_text()
    ours = tomllib.loads(text)["tool"].get("mutmut", {})
    start = text.find("[tool.mutmut]")
    if start != -1:  # keep the rest of the file, drop our section (rewritten below)
        end = text.find("\n[", start + 1)
        text = text[:start] + (text[end + 1:] if end != -1 else "")
    settings = {**ours, "source_paths": ["qvl_agent"], "only_mutate": [module.path],
                "pytest_add_cli_args_test_selection": list(module.tests)}
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    (work / "pyproject.toml").write_text(text.rstrip() + "\n\n[tool.mutmut]\n" + "\n".join(lines) + "\n")
    return work


def equivalent_mutants() -> dict[str, str]:
    """``mutant reason`` lines of mutation_equivalent.txt (# comments)."""
    found = {}
    for line in EQUIVALENT.read_text().splitlines():
        line = line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip()
        if line:
            mutant, _, reason = line.partition(" ")
            if not reason.strip():
                sys.exit(f"{EQUIVALENT.name}: {mutant} needs a reason")
            found[mutant] = reason.strip()
    return found


def status_of(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return status_by_exit_code[code]


def function_of(mutant: str) -> str:
    """``qvl_agent.m.xǁClassǁmethod__mutmut_3`` -> ``method``; ``qvl_agent.m.x_f__mutmut_1`` -> ``f``."""
    last = mutant.rsplit(".", 1)[-1].rsplit("__mutmut_", 1)[0]
    return last.rsplit("ǁ", 1)[-1] if "ǁ" in last else last.removeprefix("x_")


def run(name: str, module: Module, children: int, again: bool) -> dict:
    work = write_workspace(name, module, again)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", "from mutmut.__main__ import cli; cli()", "run",
                           "--max-children", str(children)], cwd=work, capture_output=True,
                          text=True)
    seconds = time.monotonic() - started
    meta = work / "mutants" / (module.path + ".meta")
    if done.returncode != 0 or not meta.is_file():
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n", file=sys.stderr)
        sys.exit(f"mutmut failed on {name} (exit status {done.returncode})")
    (work / "seconds").write_text(f"{seconds:.0f}")
    return tally(name, module, seconds)


def tally(name: str, module: Module, seconds: float | None) -> dict:
    """The row of a finished workspace, with the equivalent mutants as listed now."""
    meta = WORK / name / "mutants" / (module.path + ".meta")
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    if module.functions:
        codes = {k: v for k, v in codes.items() if function_of(k) in module.functions}
    equivalent = equivalent_mutants()
    statuses = Counter()
    survivors = []
    for mutant, code in sorted(codes.items()):
        status = status_of(code)
        if mutant in equivalent:
            status = "equivalent"
        statuses[status] += 1
        if status not in KILLED and status != "equivalent":
            survivors.append(f"{mutant} ({status})")
    counted = len(codes) - statuses["equivalent"]
    killed = sum(statuses[s] for s in KILLED)
    return {"name": name, "mutants": len(codes), "killed": killed,
            "equivalent": statuses["equivalent"], "survivors": survivors,
            "rate": killed / counted if counted else 1.0, "seconds": seconds}


def _time(seconds: float | None) -> str:
    return f"{seconds:.0f} s" if seconds is not None else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", choices=[[], *MODULES], metavar="MODULE",
                        help=f"some of: {', '.join(MODULES)} (default: all)")
    parser.add_argument("--children", type=int, default=1, help="mutants tested at once (2 cores: 1)")
    parser.add_argument("--again", action="store_true",
                        help="reuse build/mutation/NAME: only mutants whose code or tests changed run")
    parser.add_argument("--report", action="store_true",
                        help="only print the table of the workspaces already run")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    args = parser.parse_args()
    if args.list:
        for name, module in MODULES.items():
            print(f"{name:16} {module.path:42} {' '.join(module.tests)}")
        return
    rows = []
    for name in args.modules or MODULES:
        if args.report:
            work = WORK / name
            if not (work / "mutants" / (MODULES[name].path + ".meta")).is_file():
                continue
            seconds = (work / "seconds").read_text() if (work / "seconds").is_file() else None
            row = tally(name, MODULES[name], float(seconds) if seconds else None)
        else:
            row = run(name, MODULES[name], args.children, args.again)
        rows.append(row)
        for survivor in row["survivors"]:
            print(f"  survived: {survivor}", flush=True)
        print(f"{name}: {row['killed']}/{row['mutants'] - row['equivalent']} killed "
              f"({100 * row['rate']:.1f}%) in {_time(row['seconds'])}", flush=True)
    print()
    print("| module | mutants | equivalent | killed | survived | kill rate | time |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {MODULES[row['name']].path} | {row['mutants']} | {row['equivalent']} | "
              f"{row['killed']} | {len(row['survivors'])} | {100 * row['rate']:.1f}% | "
              f"{_time(row['seconds'])} |")
    total = sum(row["seconds"] or 0 for row in rows)
    print(f"\ntotal {total / 60:.1f} min; target {100 * TARGET:.0f}% in each module: "
          f"{'met' if all(row['rate'] >= TARGET for row in rows) else 'NOT met'}")


if __name__ == "__main__":
    main()

"""The closed loop, measured: a tiny model trained on the toolkit's own oracle runs, evaluated
through the agent on seeds it never saw, next to the random policy and the untrained model.

Every step is the command a user runs (``qvl-agent tiny-model``, ``eval --policy oracle``,
``export sft``, ``train``, ``eval --model``), each in its own process, each timed:

    tiny-model TINY
    eval --suite miniwob --tasks TASKS --policy oracle --seeds N            (training seeds 0..N-1)
    eval --suite android --device sim --tasks open-app --policy oracle --seeds M
    export sft ORACLE-RUNS --out DATA --max-pixels P
    train DATA --model TINY --out TRAINED                                   (its defaults)
    eval ... --policy random | --model TINY | --model TRAINED --seeds A:B   (held-out seeds,
                                                                             --max-pixels P)

The trained model is evaluated as any model is: the cookbook prompt, the real processor,
success read from the page or the phone. The model's frames are capped at ``--max-pixels``
(default 200704 = 256 x 28 x 28: MiniWoB's 480x630 page becomes a 364x504 frame, 234 image
tokens, and the phone's 1080x2400 screen 280x644, 230 tokens, where the full size would take
374 and 3,354):
the export and the evaluations use the same cap, as a user's would, and the agent maps the
frame's coordinates back to the screen. The untrained model gets ``--max-new-tokens 64`` and
the trained one ``--max-new-tokens 256`` (a right answer is ~35 tokens; without a cap an answer
the model never learnt runs to 2,048 tokens of noise, 85 s per phone instance, which changes
nothing but the time). Prints a table of success per task and the time of each
step; ``--json`` writes both. The machine's load average is printed too: on a shared machine
the times are not this script's alone. Trained checkpoints stay in --out (not committed).

    .venv/bin/python benchmarks/closed_loop.py [--out DIR] [--train-seeds 500] [--held-out 1000:1020]
        [--tasks REGEX] [--hard REGEX] [--no-android] [--max-pixels 200704]
        [--train-args "--max-steps 150"] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VISIBLE = "click-test$|click-dialog$|focus-text$"  # the target can be seen; no reading needed
HARD = "click-button$"  # the target is named by its label: the model must read
ANDROID = "^android/open-app$"  # tap the app's icon on the launcher (1080x2400)


def qvl(*args: str, log: Path) -> float:
    """Run ``qvl-agent ARGS``; its output goes to ``log``. Returns the seconds it took."""
    started = time.perf_counter()
    with open(log, "w", encoding="utf-8") as out:
        result = subprocess.run([sys.executable, "-m", "qvl_agent.cli", *args], stdout=out,
                                stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.exit(f"qvl-agent {' '.join(args)} failed ({result.returncode}); see {log}")
    return time.perf_counter() - started


def successes(run: Path) -> dict[str, tuple[int, int]]:
    """Solved and total instances per task of an eval run."""
    table: dict[str, tuple[int, int]] = {}
    for line in (run / "results.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        solved, total = table.get(row["task"], (0, 0))
        table[row["task"]] = (solved + (row["outcome"] == "success"), total + 1)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temporary one)")
    parser.add_argument("--tasks", default=VISIBLE, help="MiniWoB tasks whose target is visible")
    parser.add_argument("--hard", default=HARD, help="harder MiniWoB tasks, reported whatever they score ('' for none)")
    parser.add_argument("--no-android", action="store_true", help="leave out the virtual phone's task")
    parser.add_argument("--train-seeds", type=int, default=500, help="oracle seeds 0..N-1 to learn from "
                        "(500 per task: click-test 80%% held out, 100: 45%%)")
    parser.add_argument("--android-seeds", type=int, default=20, help="oracle seeds of the android task")
    parser.add_argument("--held-out", default="1000:1020", help="seeds A:B to evaluate on")
    parser.add_argument("--max-pixels", type=int, default=200704,
                        help="largest frame area, for the export and the model's evaluations (as --max-pixels)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--train-args", default="", help="extra flags for `qvl-agent train` (none: its defaults)")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()

    root = args.out or Path(tempfile.mkdtemp(prefix="closed-loop-"))
    root.mkdir(parents=True, exist_ok=True)
    logs = root / "logs"
    logs.mkdir(exist_ok=True)
    load_before = os.getloadavg()
    miniwob = args.tasks + (f"|{args.hard}" if args.hard else "")
    suites = [("miniwob", miniwob, [], args.train_seeds)]
    if not args.no_android:
        suites.append(("android", ANDROID, ["--device", "sim"], args.android_seeds))
    times: dict[str, float] = {}
    started = time.perf_counter()

    tiny, trained, data = root / "tiny", root / "trained", root / "data"
    times["tiny-model"] = qvl("tiny-model", str(tiny), log=logs / "tiny-model.log")
    oracle_runs = []
    for suite, tasks, env, seeds in suites:
        run = root / f"oracle-{suite}"
        times[f"oracle {suite}"] = qvl("eval", "--suite", suite, "--tasks", tasks, *env, "--policy", "oracle",
                                       "--seeds", str(seeds), "--workers", str(args.workers),
                                       "--out", str(run), log=logs / f"oracle-{suite}.log")
        oracle_runs.append(str(run))
    pixels = ["--max-pixels", str(args.max_pixels)]
    times["export"] = qvl("export", "sft", *oracle_runs, "--out", str(data), *pixels, log=logs / "export.log")
    times["train"] = qvl("train", str(data), "--model", str(tiny), "--out", str(trained),
                         *shlex.split(args.train_args), log=logs / "train.log")
    policies = {"random": ["--policy", "random"],
                "untrained": ["--model", str(tiny), "--max-new-tokens", "64", *pixels],
                "trained": ["--model", str(trained), "--max-new-tokens", "256", *pixels]}
    scores: dict[str, dict[str, tuple[int, int]]] = {}
    for name, flags in policies.items():
        for suite, tasks, env, _ in suites:
            run = root / f"{name}-{suite}"
            times[f"eval {name} {suite}"] = qvl(
                "eval", "--suite", suite, "--tasks", tasks, *env, *flags, "--seeds", args.held_out,
                "--workers", str(args.workers), "--out", str(run), log=logs / f"{name}-{suite}.log")
            for task, score in successes(run).items():
                scores.setdefault(task, {})[name] = score
    total = time.perf_counter() - started
    report = json.loads((trained / "train_report.json").read_text(encoding="utf-8"))

    print(f"Closed loop: tiny Qwen2.5-VL trained on oracle runs (miniwob seeds 0..{args.train_seeds - 1}"
          + ("" if args.no_android else f", android seeds 0..{args.android_seeds - 1}")
          + f"), evaluated on held-out seeds {args.held_out}\n")
    print(f"{'task':<24}" + "".join(f"{name:>12}" for name in policies))
    for task in sorted(scores):
        cells = [scores[task].get(name, (0, 0)) for name in policies]
        print(f"{task:<24}" + "".join(f"{f'{s}/{n} {100 * s / max(n, 1):.0f}%':>12}" for s, n in cells))
    print(f"\ntrain: {report['steps']} steps of {report['batch_size']} on {report['train_samples']} samples, "
          f"lr {report['learning_rate']:g} {report['schedule']}, mean loss {report['train_loss']:.3f}, "
          f"{report['seconds']:.0f} s")
    print("\nstep" + " " * 24 + "seconds")
    for step, seconds in times.items():
        print(f"{step:<28}{seconds:>7.0f}")
    print(f"{'total':<28}{total:>7.0f}  ({total / 60:.1f} min; {os.cpu_count()} CPUs, load average "
          f"{load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after)")
    if args.json:
        args.json.write_text(json.dumps({
            "scores": {task: {name: list(score) for name, score in row.items()} for task, row in scores.items()},
            "times": times, "total_s": total, "train": report, "held_out": args.held_out,
            "load_average": [load_before[0], os.getloadavg()[0]]}, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

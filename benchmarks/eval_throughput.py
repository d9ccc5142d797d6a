"""Evaluation throughput: MiniWoB++ instances per minute with the oracle policy, 1 vs 2 workers,
and 2 workers as Ray actors.

Each configuration runs the oracle-covered MiniWoB tasks (one seed each, or those matching
--tasks) through the real harness (spawned workers or Ray actors, each with its own Chromium)
in a fresh output folder; the table shows the median over --repeats runs of each, in one run
of this script, and the ratio against 1 local worker. The Ray rows join a loopback Ray
cluster the script starts once (its start-up is not timed: a cluster is there before a run;
the actors' start-up is timed, as the local workers' is). --no-ray leaves them out.

    .venv/bin/python benchmarks/eval_throughput.py [--repeats 3] [--tasks REGEX] [--no-ray]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qvl_agent.eval.config import EvalConfig, PolicySpec  # noqa: E402
from qvl_agent.eval.runner import run_eval  # noqa: E402


def one_run(workers: int, tasks: str | None, ray_address: str | None = None) -> tuple[float, int, int]:
    with tempfile.TemporaryDirectory() as folder:
        config = EvalConfig(suite="miniwob", tasks=tasks, workers=workers, out=Path(folder) / "out",
                            policy=PolicySpec(kind="oracle"), ray_address=ray_address,
                            executor="ray" if ray_address else "local")
        started = time.perf_counter()
        results = run_eval(config)
        elapsed = time.perf_counter() - started
    return len(results) / (elapsed / 60), len(results), sum(r.outcome == "success" for r in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tasks", default=None, help="regular expression over task ids")
    parser.add_argument("--no-ray", action="store_true", help="only the local rows")
    args = parser.parse_args()

    with contextlib.ExitStack() as stack:
        address = None
        if not args.no_ray:
            from qvl_agent.eval.ray_cluster import LOOPBACK_ENV, loopback_head

            os.environ.update(LOOPBACK_ENV)
            address = stack.enter_context(loopback_head(num_cpus=2))
        setups = [("local", 1, None), ("local", 2, None)] + ([("ray", 2, address)] if address else [])
        rows = []
        for executor, workers, ray_address in setups:
            rates, count, solved = [], 0, 0
            for _ in range(args.repeats):
                per_minute, count, solved = one_run(workers, args.tasks, ray_address)
                rates.append(per_minute)
            rows.append((executor, workers, statistics.median(rates), count, solved, rates))
    base = rows[0][2]
    print(f"MiniWoB++ oracle policy, {rows[0][3]} instances per run, median of {args.repeats} runs "
          "(worker start-up included)\n")
    print(f"{'executor':>8}  {'workers':>7}  {'instances/min':>13}  {'ratio':>5}  {'solved':>7}  runs")
    for executor, workers, median, count, solved, rates in rows:
        print(f"{executor:>8}  {workers:>7}  {median:>13.1f}  {median / base:>5.2f}  {solved:>3}/{count:<3}  "
              + ", ".join(f"{r:.1f}" for r in rates))


if __name__ == "__main__":
    main()

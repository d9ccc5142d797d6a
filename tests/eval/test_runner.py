"""The evaluation harness: workers, crashes, time limits, kills and --resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import BrowserSpec
from qvl_agent.eval.config import EvalConfig, PolicySpec
from qvl_agent.eval.runner import run_eval
from qvl_agent.eval.worker import run_dir_name
from qvl_agent.tasks.registry import get_suite
from tests.conftest import run_cli
from tests.eval.suites import lines, sleepy_suite

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def slow_suite(folder: Path, count: int = 4, sleep: float = 3.0) -> Path:
    """``count`` instances that each sleep ``sleep`` s in their setup."""
    return sleepy_suite(folder, [sleep] * count)


def test_oracle_run_with_two_workers_writes_one_line_per_instance(tmp_path):
    config = EvalConfig(suite="web", seeds=2, workers=2, out=tmp_path / "out",
                        policy=PolicySpec(kind="oracle"))
    results = run_eval(config)
    assert len(results) == 12 and all(r.outcome == "success" for r in results)
    assert {r.worker for r in results} == {0, 1}
    got = lines(tmp_path / "out")  # the file itself, not the return value: one line each
    assert sorted(r["instance"] for r in got) == sorted(f"{t.id}#{s}" for t in get_suite("web").tasks
                                                        for s in range(2))
    for r in got:
        assert (tmp_path / "out" / r["report"]).is_file()
    with pytest.raises(ConfigError, match="--resume"):
        run_eval(config)  # never silently appends to a finished run


def test_a_policy_that_claims_success_scores_nothing(tmp_path):
    results = run_eval(EvalConfig(suite="web", out=tmp_path / "out", policy=PolicySpec(kind="random")))
    solved = [r.instance for r in results if r.outcome == "success"]
    # Only the infeasible task can be "solved" by luck, and a claim of success is not a failure.
    assert solved == []


def held_open_by(path: Path, pids: list[int]) -> int | None:
    """The process among ``pids`` that has ``path`` open (a worker writing that instance)."""
    for pid in pids:
        try:
            fds = list(Path(f"/proc/{pid}/fd").iterdir())
        except OSError:
            continue  # gone, or not ours
        for fd in fds:
            try:
                if os.readlink(fd) == os.path.realpath(path):
                    return pid
            except OSError:
                continue
    return None


def test_a_killed_worker_is_an_error_and_the_run_goes_on(tmp_path):
    suite = slow_suite(tmp_path / "suite", sleep=0)
    # t0 waits a minute in the middle of its episode, so while its trajectory file is open the
    # instance is certainly in flight: the kill cannot fall between two instances.
    spec = json.loads((suite / "t0.json").read_text())
    spec["oracle"].insert(1, {"action": "wait", "seconds": 60})
    (suite / "t0.json").write_text(json.dumps(spec))
    out = tmp_path / "out"
    trajectory = out / "runs" / run_dir_name("slow/t0", 0) / "trajectory.jsonl"
    process = subprocess.Popen([sys.executable, "-m", "qvl_agent.cli", "eval", "--suite", str(suite),
                                "--policy", "oracle", "--workers", "2", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and process.poll() is None:
        if trajectory.exists() and (out / "workers.json").exists():
            victim = held_open_by(trajectory, list(json.loads((out / "workers.json").read_text()).values()))
        time.sleep(0.1)
    assert victim, "no worker ever ran slow/t0"
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=180)
    assert process.returncode == 0, stderr
    got = lines(out)
    assert sorted(r["instance"] for r in got) == [f"slow/t{i}#0" for i in range(4)]
    killed, = [r for r in got if r["outcome"] == "error"]
    assert killed["instance"] == "slow/t0#0" and killed["status"] == "crashed"
    assert "killed (signal 9)" in killed["message"]
    assert sorted(r["instance"] for r in got if r["outcome"] == "success") == [f"slow/t{i}#0" for i in (1, 2, 3)]
    assert f"summary: {out / 'summary.md'}" in stdout

    again = run_cli("eval", "--suite", str(suite), "--policy", "oracle", "--out", str(out), "--resume")
    assert again.returncode == 0
    assert len(lines(out)) == 4  # nothing duplicated, nothing re-run


def test_a_killed_run_resumes_with_exactly_one_line_per_instance(tmp_path):
    suite = slow_suite(tmp_path / "suite", count=4, sleep=2.0)
    out = tmp_path / "out"
    args = [sys.executable, "-m", "qvl_agent.cli", "eval", "--suite", str(suite), "--policy", "oracle",
            "--seeds", "2", "--workers", "2", "--out", str(out)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / "results.jsonl").exists() and len((out / "results.jsonl").read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the whole run: parent and workers
    process.wait(timeout=30)
    before = lines(out)
    assert 2 <= len(before) < 8

    result = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"resuming: {len(before)} of 8 instances already done" in result.stderr
    after = lines(out)
    instances = [r["instance"] for r in after]
    assert sorted(instances) == sorted(f"slow/t{i}#{s}" for i in range(4) for s in range(2))
    assert after[:len(before)] == before  # what was done is kept as it was
    summary = (out / "summary.md").read_text()
    assert "8 of 8 planned" in summary and "[report](runs/" in summary


def test_a_hanging_instance_is_killed_at_the_time_limit(tmp_path):
    suite = slow_suite(tmp_path / "suite", count=2, sleep=60)
    config = EvalConfig(suite=str(suite), out=tmp_path / "out", time_limit_s=4,
                        policy=PolicySpec(kind="oracle"))
    started = time.monotonic()
    results = run_eval(config)
    assert time.monotonic() - started < 60
    assert [r.status for r in results] == ["timeout", "timeout"]
    assert "time limit of 4 s" in results[0].message


def test_plan_errors_are_one_line():
    with pytest.raises(ConfigError, match="not a valid regular expression"):
        run_eval(EvalConfig(suite="web", tasks="(", out=Path("/tmp/never")))
    with pytest.raises(ConfigError, match="no task id in suite 'web' matches --tasks 'nothing-matches'"):
        run_eval(EvalConfig(suite="web", tasks="nothing-matches", out=Path("/tmp/never"),
                            policy=PolicySpec(kind="oracle")))
    with pytest.raises(ConfigError, match="unknown suite 'nope'"):
        get_suite("nope")


def test_resume_refuses_options_that_would_mix_two_setups(tmp_path):
    out = tmp_path / "out"
    run_eval(EvalConfig(suite="web", tasks="mug", out=out, policy=PolicySpec(kind="oracle")))
    with pytest.raises(ConfigError, match=r"--policy: 'oracle' then, 'random' now"):
        run_eval(EvalConfig(suite="web", tasks="mug", out=out, resume=True,
                            policy=PolicySpec(kind="random")))
    # Each difference is named by the flag that sets it (or, without one, the recorded field).
    with pytest.raises(ConfigError, match=r"--max-pixels: 12845056 then, 200704 now"):
        run_eval(EvalConfig(suite="web", tasks="mug", out=out, resume=True,
                            policy=PolicySpec(kind="oracle", model={"max_pixels": 200704})))
    with pytest.raises(ConfigError, match=r"env.viewport: \[1280, 720\] then, \[800, 600\] now"):
        run_eval(EvalConfig(suite="web", tasks="mug", out=out, resume=True,
                            env=BrowserSpec(viewport=(800, 600)), policy=PolicySpec(kind="oracle")))
    # How it runs may change: more workers, another time limit, another browser binary.
    run_eval(EvalConfig(suite="web", tasks="mug", out=out, resume=True, workers=2, time_limit_s=30,
                        env=BrowserSpec(browser_path="/usr/bin/chromium"),
                        policy=PolicySpec(kind="oracle")))
    # A run directory from an older qvl-agent (its eval.json had env_options): one line.
    recorded = json.loads((out / "eval.json").read_text())
    recorded["env_options"] = recorded.pop("env")
    (out / "eval.json").write_text(json.dumps(recorded))
    with pytest.raises(ConfigError, match=r"eval.json was not written by this version"):
        run_eval(EvalConfig(suite="web", tasks="mug", out=out, resume=True,
                            policy=PolicySpec(kind="oracle")))


@pytest.mark.parametrize("given, seeds", [("3", [0, 1, 2]), ("100:103", [100, 101, 102]), (" 7:8 ", [7])])
def test_seeds_name_a_count_or_a_held_out_range(given, seeds):
    from qvl_agent.eval.config import parse_seeds
    from qvl_agent.eval.runner import plan

    first, count = parse_seeds(given)
    config = EvalConfig(suite="web", tasks="^web/", seeds=count, first_seed=first, out=Path("/tmp/never"))
    planned = plan(config, get_suite("web"))
    assert sorted({seed for _, seed in planned}) == seeds
    assert len(planned) == len(seeds) * len(get_suite("web").tasks)


@pytest.mark.parametrize("given", ["0", "5:5", "9:3", "-1:4", "a:b", "1:2:3", ""])
def test_seeds_that_name_nothing_are_one_line(given):
    from qvl_agent.eval.config import parse_seeds

    with pytest.raises(ConfigError, match=r"give a count N .* or a range A:B"):
        parse_seeds(given)


def test_resume_keeps_a_seed_range_and_refuses_another(tmp_path):
    """eval --resume: --seeds A:B sets the count and the first seed together, typed again or
    not, and a range that differs from the run's is refused by the flag as it is typed."""
    from qvl_agent.eval.command import resumed_values
    from qvl_agent.eval.runner import check_recorded
    from qvl_agent.model.options import ModelOptions

    out = tmp_path / "out"
    out.mkdir()
    recorded = EvalConfig(suite="web", tasks="mug", seeds=20, first_seed=100, out=out,
                          env=BrowserSpec(), policy=PolicySpec(kind="oracle"))
    (out / "eval.json").write_text(recorded.model_dump_json())
    values = dict(suite=None, tasks=None, seeds=1, first_seed=0, out=out, resume=True,
                  policy=dict(kind="qwen", model=ModelOptions(), replay=None, replay_seed=None))
    for typed, given in ((values, set()), ({**values, "seeds": 20, "first_seed": 100}, {"seeds"})):
        merged = resumed_values(typed, {}, given)
        assert (merged["seeds"], merged["first_seed"]) == (20, 100)
        check_recorded(EvalConfig.model_validate(merged))
    other = resumed_values({**values, "seeds": 20, "first_seed": 0}, {}, {"seeds"})
    with pytest.raises(ConfigError, match=r"--seeds: '100:120' then, 20 now"):
        check_recorded(EvalConfig.model_validate(other))

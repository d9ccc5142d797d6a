"""``--executor ray`` on a real Ray cluster (one loopback head node for the whole module).

Same results as the local pool; a killed Ray worker is an error row and the run goes on; a
killed driver resumes with exactly one line per instance; Ctrl-C stops the run's workers;
the time limit kills the worker; no address starts and stops a Ray of the run's own; what
no node has, or an address nothing answers at, is one error line.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import AndroidSpec
from qvl_agent.eval.config import EvalConfig, PolicySpec
from qvl_agent.eval.ray_cluster import LOOPBACK_ENV, loopback_head
from qvl_agent.eval.ray_executor import actor_options
from qvl_agent.eval.runner import run_eval
from qvl_agent.tasks.registry import get_suite
from tests.conftest import run_cli
from tests.eval.suites import lines, sleepy_suite

MINIWOB_SUBSET = "^miniwob/(click-test|click-button|focus-text|enter-text)$"


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    with loopback_head(num_cpus=2) as address:
        yield address


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "qvl_agent.cli", "eval", *args]


def loopback_env() -> dict[str, str]:
    return {**os.environ, **LOOPBACK_ENV}


@pytest.mark.browser
@pytest.mark.slow
def test_miniwob_oracle_subset_gives_the_same_results_as_the_local_pool(ray_address, tmp_path):
    common = ("eval", "--suite", "miniwob", "--tasks", MINIWOB_SUBSET, "--seeds", "2",
              "--policy", "oracle", "--workers", "2")
    local = run_cli(*common, "--out", str(tmp_path / "local"))
    assert local.returncode == 0, local.stderr
    out = tmp_path / "ray"
    done = run_cli(*common, "--executor", "ray", "--ray-address", ray_address, "--out", str(out),
                   env=LOOPBACK_ENV)
    assert done.returncode == 0, done.stderr
    assert f"on Ray ({ray_address})" in " ".join(done.stderr.split())  # rich wraps lines
    local_rows, ray_rows = lines(tmp_path / "local"), lines(out)
    assert len(ray_rows) == 8 == len(local_rows)
    assert sum(r["outcome"] == "success" for r in local_rows) == 8  # "the same" is not two empty runs

    def outcomes(rows: list[dict]) -> dict[str, tuple]:
        return {r["instance"]: (r["outcome"], r["score"], r["status"], r["steps"], r["answer"]) for r in rows}

    assert outcomes(ray_rows) == outcomes(local_rows)
    assert {r["worker"] for r in ray_rows} == {0, 1}
    for row in ray_rows:  # trajectories, screenshots and reports land in the driver's run directory
        assert (out / row["report"]).is_file()
        assert list((out / row["report"]).parent.glob("*.png"))

    def rate(run: Path) -> str:
        return next(line for line in (run / "summary.md").read_text().splitlines() if "success rate" in line)

    assert rate(out) == rate(tmp_path / "local") == "**success rate: 100.0% (8/8; 95% CI 67.6-100.0%)**"


@pytest.mark.browser
@pytest.mark.slow
def test_a_killed_ray_worker_is_an_error_row_and_the_rest_completes(ray_address, tmp_path):
    # Task 0 sleeps a minute in its setup; one worker takes it first. Once the worker has
    # started, task 0 is on it (running, or sent and queued): killing it then always cuts it.
    suite = sleepy_suite(tmp_path / "suite", [60, 0, 0, 0])
    out = tmp_path / "out"
    process = subprocess.Popen(cli("--suite", str(suite), "--policy", "oracle", "--workers", "1",
                                   "--executor", "ray", "--ray-address", ray_address, "--out", str(out)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=loopback_env())
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline and process.poll() is None:
        if (out / "workers.json").exists():
            victim = json.loads((out / "workers.json").read_text())["0"]
        time.sleep(0.2)
    assert victim, "no Ray worker started"
    assert Path(f"/proc/{victim}/cmdline").read_bytes().startswith(b"ray::"), "not a Ray worker"
    os.kill(victim, signal.SIGKILL)
    stdout, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr
    got = {r["instance"]: r for r in lines(out)}
    assert sorted(got) == [f"slow/t{i}#0" for i in range(4)]
    killed = got["slow/t0#0"]
    assert killed["outcome"] == "error" and killed["status"] == "crashed"
    assert killed["message"].startswith("the Ray worker died")
    assert killed["duration_s"] < 50  # cut, not waited out
    assert all(got[f"slow/t{i}#0"]["outcome"] == "success" for i in (1, 2, 3))
    assert json.loads((out / "workers.json").read_text())["0"] != victim  # a new worker took over
    assert "**success rate: 75.0% (3/4;" in (out / "summary.md").read_text()


@pytest.mark.browser
@pytest.mark.slow
def test_a_killed_driver_then_resume_ends_with_one_line_per_instance(ray_address, tmp_path):
    suite = sleepy_suite(tmp_path / "suite", [1.0] * 4)
    out = tmp_path / "out"
    args = cli("--suite", str(suite), "--policy", "oracle", "--seeds", "2", "--workers", "2",
               "--executor", "ray", "--ray-address", ray_address, "--out", str(out))
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True, env=loopback_env())
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if (out / "results.jsonl").exists() and len((out / "results.jsonl").read_text().splitlines()) >= 2:
            break
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # the driver; its actors die with its Ray job
    process.wait(timeout=30)
    before = lines(out)
    assert 2 <= len(before) < 8

    result = subprocess.run(args + ["--resume"], capture_output=True, text=True, timeout=300,
                            env=loopback_env())
    assert result.returncode == 0, result.stderr
    assert f"resuming: {len(before)} of 8 instances already done" in result.stderr
    after = lines(out)
    assert len((out / "results.jsonl").read_text().splitlines()) == 8
    assert sorted(r["instance"] for r in after) == sorted(f"slow/t{i}#{s}" for i in range(4) for s in range(2))
    assert after[:len(before)] == before  # what was done is kept as it was
    assert all(r["outcome"] == "success" for r in after)
    assert "8 of 8 planned" in (out / "summary.md").read_text()


@pytest.mark.browser
@pytest.mark.slow
def test_ctrl_c_stops_the_run_s_ray_workers_and_the_run_resumes_locally(ray_address, tmp_path):
    suite = sleepy_suite(tmp_path / "suite", [0, 60, 0])
    out = tmp_path / "out"
    process = subprocess.Popen(cli("--suite", str(suite), "--policy", "oracle", "--workers", "2",
                                   "--executor", "ray", "--ray-address", ray_address, "--out", str(out)),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=loopback_env())
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if (out / "results.jsonl").exists() and (out / "results.jsonl").read_text().count("\n") >= 1:
            break
        time.sleep(0.2)
    workers = list(json.loads((out / "workers.json").read_text()).values())
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends the driver
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted with" in stdout and "--resume" in stdout
    deadline = time.monotonic() + 30  # ray.kill is asynchronous: wait for the workers to go
    while [pid for pid in workers if Path(f"/proc/{pid}").exists()] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []
    done = {r["instance"] for r in lines(out)}
    assert "slow/t1#0" not in done  # the minute-long instance was stopped, not waited for

    again = run_cli("eval", "--suite", str(suite), "--policy", "oracle", "--out", str(out),
                    "--resume", "--time-limit", "5")  # the local pool may finish a Ray run
    assert again.returncode == 0, again.stderr
    assert sorted(r["instance"] for r in lines(out)) == [f"slow/t{i}#0" for i in range(3)]


@pytest.mark.browser
@pytest.mark.slow
def test_the_time_limit_kills_the_ray_worker(ray_address, tmp_path, monkeypatch):
    for name, value in LOOPBACK_ENV.items():  # this driver is the test process itself
        monkeypatch.setenv(name, value)
    suite = sleepy_suite(tmp_path / "suite", [60, 0])
    config = EvalConfig(suite=str(suite), out=tmp_path / "out", time_limit_s=4, executor="ray",
                        ray_address=ray_address, policy=PolicySpec(kind="oracle"))
    seen: dict[str, bool] = {}

    def progress(event: str, result, state) -> None:
        if result is None:
            return
        if result.instance == "slow/t0#0":  # the timed-out worker; its replacement is starting
            seen["victim"] = json.loads((tmp_path / "out" / "workers.json").read_text())["0"]
        else:  # by the next result the timed-out worker must be gone, not sleeping on
            seen["victim_alive"] = Path(f"/proc/{seen['victim']}").exists()

    started = time.monotonic()
    results = run_eval(config, progress=progress)
    assert time.monotonic() - started < 50
    assert [(r.instance, r.outcome) for r in results] == [("slow/t0#0", "error"), ("slow/t1#0", "success")]
    assert results[0].status == "timeout" and "time limit of 4 s" in results[0].message
    assert seen["victim_alive"] is False


@pytest.mark.browser
@pytest.mark.slow
def test_without_an_address_a_local_ray_is_started_and_stopped(tmp_path):
    def ray_servers() -> set[int]:
        listing = subprocess.run(["ps", "-eo", "pid=,comm="], capture_output=True, text=True).stdout
        return {int(pid) for pid, name in (line.split(None, 1) for line in listing.splitlines())
                if name.strip() in ("gcs_server", "raylet")}

    before = ray_servers()
    out = tmp_path / "out"
    # HOME apart, as found: Ray's own ray.init() writes ~/.ray/auth_token there, and every
    # later `ray start --head` of the user then asks for it.
    done = run_cli("eval", "--suite", "web", "--tasks", "mug", "--policy", "oracle",
                   "--executor", "ray", "--out", str(out), env={"HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert "on Ray (a local Ray for this run)" in " ".join(done.stderr.split())
    assert [r["outcome"] for r in lines(out)] == ["success"]
    assert json.loads((out / "workers.json").read_text())["0"] != os.getpid()
    assert ray_servers() <= before  # nothing of that Ray is left running
    assert not (tmp_path / ".ray" / "auth_token").exists()  # nor its token


@pytest.mark.slow
def test_a_cluster_that_refuses_the_drivers_token_is_said_to(tmp_path):
    """As found: a user's `ray start --head` with token authentication (turned on by a
    ~/.ray/auth_token), and the join said "start one with `ray start --head`"."""
    with loopback_head(num_cpus=1, auth_token="a-token-for-this-test-0123456789") as address:
        result = run_cli("eval", "--suite", "web", "--tasks", "mug", "--policy", "oracle",
                         "--executor", "ray", "--ray-address", address,
                         "--out", str(tmp_path / "out"), env=LOOPBACK_ENV, timeout=300)
    assert result.returncode == 2, result.stderr
    assert "gcs_client" not in result.stderr  # not Ray's client repeating its failure
    said = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(said) == 1, result.stderr
    assert said[0].startswith(f"error: cannot join the Ray cluster at {address}: it uses token "
                              "authentication and refused this driver")
    assert "~/.ray/auth_token" in said[0] and "RAY_AUTH_TOKEN" in said[0]
    assert "RAY_AUTH_MODE=token" in said[0] and "start one with" not in said[0]


@pytest.mark.slow
def test_a_resource_no_node_has_is_one_line_not_a_wait(ray_address, tmp_path):
    result = run_cli("eval", "--suite", "android", "--device", "R58M123", "--policy", "oracle",
                     "--tasks", "wifi", "--executor", "ray", "--ray-address", ray_address,
                     "--out", str(tmp_path / "out"), env=LOOPBACK_ENV, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "no node of the Ray cluster has android_device" in result.stderr
    assert "--resources '{\"android_device\": 1}'" in result.stderr
    assert "interrupted" not in result.stdout


def test_each_worker_asks_for_what_its_env_needs(tmp_path):
    def options(suite: str, **values) -> dict:
        return actor_options(EvalConfig(suite=suite, out=tmp_path, **values), get_suite(suite))

    assert options("web", policy=PolicySpec(kind="oracle")) == {"num_cpus": 1, "memory": 1024**3}
    assert options("android", env=AndroidSpec(device="sim"), policy=PolicySpec(kind="oracle")) == \
        {"num_cpus": 1, "memory": 1024**3 // 2}
    phone = options("android", env=AndroidSpec(device="R58M123"), policy=PolicySpec(kind="oracle"))
    assert phone["resources"] == {"android_device": 1}
    weights = options("web", policy=PolicySpec(kind="qwen", model={"model": "/ckpt"}))
    assert weights["num_gpus"] == 1
    served = options("web", policy=PolicySpec(kind="qwen", model={"endpoint": "http://gpu:8000/v1"}))
    assert "num_gpus" not in served
    assert get_suite("web").env_kind is EnvKind.browser


def test_ray_options_are_checked_at_the_command_line(tmp_path):
    result = run_cli("eval", "--suite", "web", "--ray-address", "auto", "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "--ray-address needs --executor ray" in result.stderr
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = run_cli("eval", "--suite", "web", "--policy", "oracle", "--executor", "ray",
                     "--ray-address", f"127.0.0.1:{port}", "--out", str(tmp_path / "o"), timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: no Ray cluster answers at 127.0.0.1:{port}")
    assert len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_without_ray_installed_the_user_is_told_how_to_get_it(monkeypatch):
    from qvl_agent.eval.ray_executor import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # what `import ray` sees when it is missing
    with pytest.raises(ConfigError, match=r"pip install 'qvl-agent\[ray\]'"):
        require_ray()

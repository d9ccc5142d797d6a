"""``--executor ray``: the evaluation's workers as Ray actors, anywhere on a Ray cluster.

Each slot is one actor that owns one env and runs the same ``InstanceRunner`` as a local
worker process, instance after instance. Why actors and not a Ray task per instance: an env
costs more to start than an instance takes (measured here on MiniWoB, median of 3 starts and
12 instances on a busy 2-core machine: 2.8 s to start Chromium and the page server, 0.7 s per
oracle instance), so a task per instance would spend most of its time starting browsers. The driver (this process) schedules, enforces the time limit
and is the only writer of ``results.jsonl``, exactly as with the local pool.

- Time limit: Ray refuses ``ray.cancel(force=True)`` for an actor's method, so the actor is
  killed (``ray.kill``) and replaced, as the local pool kills its worker process.
- A worker process or node that dies makes its instance an error row (status ``crashed``,
  the message says what Ray reported); it is not retried: a process that dies can be the
  agent's doing (a page that eats the memory) as well as the machine's; ``--resume`` runs
  it again. The rest of the run goes on with a new actor in that slot.
- Files: every actor writes its instance's trajectory, screenshots and report straight into
  ``--out``, which must therefore be a path every node sees (one machine, or a shared mount
  such as NFS at the same path on every node). Each actor checks this when it starts.
- Resources: each actor asks for what its env needs (see ``actor_options``); ``--model``
  asks for a GPU per actor, ``--endpoint`` none (the server batches everyone's requests).
- Authentication: a Ray started for the run (no ``--ray-address``) uses token
  authentication with a token made for the run and kept in its environment
  (``RAY_AUTH_TOKEN``), never written to ``~/.ray/auth_token``: Ray 2.60's ``ray.init()``
  would otherwise write one, and from then on every ``ray start --head`` of the user turns
  token authentication on. A cluster that refuses this driver's token (or its lack of one)
  is said to, with where the token goes (see ``_AUTH_HELP``).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError, EvalError
from qvl_agent.envs.extras import require_extra
from qvl_agent.envs.spec import AndroidSpec
from qvl_agent.eval.config import EvalConfig, InstanceResult, instance_id
from qvl_agent.eval.executor import Event, Finished, Lost, write_worker_pids
from qvl_agent.eval.worker import InstanceRunner
from qvl_agent.tasks.registry import Suite, get_suite

__all__ = ["RayExecutor", "actor_options", "check_address", "require_ray", "is_loopback"]

GIB = 1024**3
# Logical memory each env asks for, so a cluster does not pack more envs on a node than it holds.
_MEMORY = {EnvKind.browser: 1 * GIB, EnvKind.desktop: 1 * GIB, EnvKind.android: GIB // 2}
# Actors that die as they start, in a row, before the run gives up (a node without
# qvl-agent installed, a broken env): better one clear error than replacing them for ever.
_MAX_FAILED_STARTS = 3


def is_loopback(address: str | None) -> bool:
    """No address (a Ray started for the run) or one on 127.0.0.1 / localhost."""
    return address is None or address.split(":")[0] in ("127.0.0.1", "localhost")


def require_ray(address: str | None = None) -> Any:
    """``ray``, imported; for a loopback cluster, imported so that it stays on loopback.

    Ray resolves 127.0.0.1 to the machine's network address unless its "no cluster" switch
    is set when it is first imported; with the switch, a driver reaches a head started with
    ``--node-ip-address 127.0.0.1``, and a Ray started for the run listens on loopback only.
    """
    if is_loopback(address) and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    require_extra("ray", "--executor ray (or use --executor local)")
    import ray

    return ray


def check_address(address: str | None) -> None:
    """Refuse a HOST:PORT that nothing answers at, at once: Ray itself retries for minutes."""
    if not address or address == "auto" or "://" in address:
        return  # none, Ray's own lookup, or Ray Client: Ray answers those quickly enough
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--ray-address {address!r} is not HOST:PORT, auto or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one "
                          "with `ray start --head`, or check --ray-address") from None


def actor_options(config: EvalConfig, suite: Suite) -> dict[str, Any]:
    """What one worker asks the cluster for: a CPU and its env's memory; a GPU for local
    weights; the custom resource ``android_device`` for a real phone (start the node a phone
    is plugged into with ``ray start --resources '{"android_device": 1}'``)."""
    options: dict[str, Any] = {"num_cpus": 1, "memory": _MEMORY[suite.env_kind]}
    model = config.policy.model
    asks = config.policy.kind == "qwen" or (config.policy.kind == "replay" and model.given)
    if asks and not model.endpoint and model.torch_device != "cpu":
        options["num_gpus"] = 1
    spec = suite.spec(config.env)
    if isinstance(spec, AndroidSpec) and not spec.on_sim:
        options["resources"] = {"android_device": 1}
    return options


class _InstanceActor:
    """One slot on the cluster: an ``InstanceRunner`` with its env, kept between instances."""

    def __init__(self, config_json: str, slot: int) -> None:
        self.runner = InstanceRunner(EvalConfig.model_validate_json(config_json), slot)

    def prepare(self) -> dict[str, Any]:
        # The driver wrote eval.json into --out before any actor started: if this node does
        # not see it, results written here would never reach the run directory.
        sees_out = (self.runner.config.out / "eval.json").is_file()
        if sees_out:
            self.runner.prepare()
        return {"pid": os.getpid(), "node": socket.gethostname(), "sees_out": sees_out}

    def run(self, task_id: str, seed: int) -> str:
        return self.runner.run(task_id, seed).model_dump_json()

    def close(self) -> None:
        self.runner.close()


def _absolute(config: EvalConfig) -> EvalConfig:
    """Paths as every actor must read them: a Ray worker does not run in the driver's folder."""
    suite = Path(config.suite)
    update: dict[str, Any] = {"out": config.out.resolve()}
    if suite.is_dir():
        update["suite"] = str(suite.resolve())
    return config.model_copy(update=update)


def _reason(exc: BaseException) -> str:
    """Ray's long message as one line: what died, and the detail Ray gives for it."""
    text = str(exc)
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    detail = ""
    for marker in ("Worker exit detail:", "The actor is dead because"):
        if marker in text:
            detail = text.split(marker, 1)[1].strip().split(". ")[0].strip().rstrip(".")
            break
    return f"the Ray worker died: {first.rstrip('.')}" + (f" ({detail})" if detail else "")


class RayExecutor:
    """One Ray actor per slot. Joins ``--ray-address`` or starts a local Ray for the run."""

    def __init__(self, config: EvalConfig) -> None:
        self.ray = require_ray(config.ray_address)
        self.config = _absolute(config)
        self.config_json = self.config.model_dump_json()
        self.options = actor_options(self.config, get_suite(config.suite))
        self.started = False
        self.owns_ray = False  # connected by us, so ours to disconnect
        self.actors: dict[int, Any] = {}
        self.ready: set[int] = set()
        self.busy: dict[int, str] = {}
        self.pending: dict[Any, tuple[int, str]] = {}  # object ref -> (slot, "prepare" | "run")
        self.pids: dict[int, int] = {}
        self.failed_starts = 0

    def _connect(self) -> None:
        ray, address = self.ray, self.config.ray_address
        if ray.is_initialized():
            return  # joined already by the caller (a notebook, a benchmark): theirs to close
        check_address(address)
        common: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.WARNING,
                                  "configure_logging": True}
        if address is None:
            self._saved_env = _token_for_the_run()
        said = _Said()
        try:
            with _stderr_kept(said):  # Ray's C++ client repeats each failure many times there
                if address is None:
                    # Loopback only, no dashboard, a small object store: results are a few KB each.
                    ray.init(_node_ip_address="127.0.0.1", include_dashboard=False,
                             object_store_memory=200_000_000, **common)
                elif is_loopback(address):
                    ray.init(address=address, _node_ip_address="127.0.0.1", **common)
                else:
                    ray.init(address=address, **common)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            self._restore_env()
            if "Unauthenticated" in said.text or "InvalidAuthToken" in said.text:
                sent = ("its token is not the cluster's"
                        if os.environ.get("RAY_AUTH_MODE", "").lower() == "token"
                        else "this driver sent no token (RAY_AUTH_MODE is not 'token')")
                raise ConfigError(f"cannot join the Ray cluster at {address}: it uses token "
                                  f"authentication and refused this driver: {sent}. {_AUTH_HELP}"
                                  ) from None
            raise ConfigError(f"cannot join the Ray cluster at {address}: {exc}; start one with "
                              "`ray start --head` or check --ray-address") from None
        self.owns_ray = True

    def start(self, slots: int) -> None:
        self._connect()
        self.started = True
        self._check_resources()
        self.actor_class = self.ray.remote(_InstanceActor)
        for slot in range(slots):
            self._spawn(slot)

    def _check_resources(self) -> None:
        """A worker that asks for what no node has would wait for ever: say so instead."""
        wanted = {"GPU": self.options.get("num_gpus", 0), **self.options.get("resources", {})}
        total = self.ray.cluster_resources()
        missing = [name for name, amount in wanted.items() if amount and total.get(name, 0) < amount]
        if missing:
            hints = {"GPU": "serve the model and give --endpoint, or add a node with a GPU",
                     "android_device": "start the node a phone is plugged into with "
                                       "ray start --resources '{\"android_device\": 1}'"}
            raise ConfigError(f"no node of the Ray cluster has {' or '.join(missing)}, which every "
                              f"worker of this run asks for: {'; '.join(hints[m] for m in missing)}")

    def _spawn(self, slot: int) -> None:
        actor = self.actor_class.options(**self.options).remote(self.config_json, slot)
        self.actors[slot] = actor
        self.pending[actor.prepare.remote()] = (slot, "prepare")

    def idle(self) -> list[int]:
        return sorted(s for s in self.ready if s not in self.busy)

    def submit(self, slot: int, instance: tuple[str, int]) -> None:
        self.busy[slot] = instance_id(*instance)
        self.pending[self.actors[slot].run.remote(*instance)] = (slot, "run")

    def poll(self, timeout: float) -> list[Event]:
        if not self.pending:
            time.sleep(timeout)
            return []
        refs = list(self.pending)
        ready, _ = self.ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = self.ray.wait(refs, num_returns=len(refs), timeout=0)
        events: list[Event] = []
        for ref in ready:
            if ref not in self.pending:
                continue  # its actor died earlier in this loop and was replaced
            slot, kind = self.pending.pop(ref)
            try:
                value = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:
                events += self._died(slot, kind, exc)
                continue
            if kind == "prepare":
                self._ready(slot, value)
            else:
                self.busy.pop(slot, None)
                events.append(Finished(slot, InstanceResult.model_validate_json(value)))
        return events

    def _ready(self, slot: int, info: dict[str, Any]) -> None:
        if not info["sees_out"]:
            raise ConfigError(f"--out {self.config.out} is not on node {info['node']}: with Ray every "
                              "node must see the run directory at the same path (shared storage)")
        self.failed_starts = 0
        self.ready.add(slot)
        self.pids[slot] = info["pid"]
        write_worker_pids(self.config.out, self.pids)

    def _died(self, slot: int, kind: str, exc: BaseException) -> list[Event]:
        reason = _reason(exc)
        if kind == "prepare":
            self.failed_starts += 1
            if self.failed_starts >= _MAX_FAILED_STARTS:
                raise EvalError(f"Ray workers die as they start ({reason}); is qvl-agent installed "
                                "on every node, and does its env start there?")
        lost = [Lost(slot, reason)] if slot in self.busy else []
        self._replace(slot)
        return lost

    def kill(self, slot: int) -> None:
        self._replace(slot)

    def _replace(self, slot: int) -> None:
        self._forget(slot)
        self._spawn(slot)

    def _forget(self, slot: int) -> None:
        """Kill the slot's actor (if it still lives) and drop everything it owed us."""
        actor = self.actors.pop(slot, None)
        if actor is not None:
            try:
                self.ray.kill(actor, no_restart=True)
            except Exception:  # noqa: BLE001 - gone already; nothing to stop
                pass
        for ref in [r for r, (s, _) in self.pending.items() if s == slot]:
            del self.pending[ref]
        self.busy.pop(slot, None)
        self.ready.discard(slot)

    def close(self) -> None:
        if not self.started:
            return
        self.started = False
        # Idle actors close their envs; busy ones (Ctrl-C, an error) are stopped at once.
        closing = [self.actors[s].close.remote() for s in self.idle()]
        if closing:
            self.ray.wait(closing, num_returns=len(closing), timeout=10)
        for slot in list(self.actors):
            self._forget(slot)
        if self.owns_ray:
            self.ray.shutdown()
            self.owns_ray = False
        self._restore_env()

    def _restore_env(self) -> None:
        saved, self._saved_env = getattr(self, "_saved_env", {}), {}
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        if saved:
            _reread_auth()


_AUTH_HELP = ("Give this driver the cluster's token (`ray get-auth-token` on the head node prints "
              "it) and set RAY_AUTH_MODE=token: the token goes in ~/.ray/auth_token (or the file "
              "RAY_AUTH_TOKEN_PATH names), or in RAY_AUTH_TOKEN. If the cluster should not ask "
              "for one, start it with RAY_AUTH_MODE=disabled (a ~/.ray/auth_token on the head "
              "turns token authentication on by itself)")


def _token_for_the_run() -> dict[str, str | None]:
    """Token authentication for a Ray started for this run, with a token that lives in the
    environment only (the workers inherit it); the variables it set, to restore after."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return {}
    if os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH"):
        return {}
    if Path.home().joinpath(".ray", "auth_token").is_file():
        return {}  # the user's own token: Ray uses it and writes nothing
    saved = {name: os.environ.get(name) for name in ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN")}
    os.environ["RAY_AUTH_MODE"] = "token"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
    _reread_auth()
    return saved


def _reread_auth() -> None:
    """Make this process's Ray read RAY_AUTH_* again: its configuration was read when ray
    was imported (what Ray's own _enable_token_auth does)."""
    try:
        from ray._raylet import AuthenticationTokenLoader, Config
    except ImportError:  # another Ray version: it reads them at ray.init
        return
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


class _Said:
    text = ""


@contextmanager
def _stderr_kept(said: _Said) -> Iterator[None]:
    """Everything written to file descriptor 2 (Ray's C++ logs too) goes to ``said.text``."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as kept:
        os.dup2(kept.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            kept.seek(0)
            said.text = kept.read().decode(errors="replace")

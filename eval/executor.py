"""Executors: where an evaluation's instances run. The scheduling is all they differ in.

Every executor runs the same instance runner (``eval.worker.InstanceRunner``: one env per
worker, reused, each instance a pure function of task, seed and options to a result row) in
a fixed number of *slots*; the scheduler in ``eval.runner`` hands instances to idle slots,
enforces the time limit and writes ``results.jsonl``. An executor only starts slots, sends
an instance to one, reports what happened, and kills a slot (replacing it) when told to.

- ``LocalExecutor``: one spawned process per slot on this machine (the default).
- ``eval.ray_executor.RayExecutor``: one Ray actor per slot, anywhere on a Ray cluster.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import queue
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from qvl_agent.agent.storage import write_atomic
from qvl_agent.eval.config import EvalConfig, InstanceResult, instance_id
from qvl_agent.eval.worker import worker_main

__all__ = ["Executor", "Started", "Finished", "Lost", "Event", "LocalExecutor", "write_worker_pids"]


@dataclass(frozen=True)
class Started:
    """The slot began its instance (the time limit counts from here)."""

    slot: int


@dataclass(frozen=True)
class Finished:
    """The slot's instance ended with a result row; the slot is idle again."""

    slot: int
    result: InstanceResult


@dataclass(frozen=True)
class Lost:
    """The slot died with an instance on it (the executor has replaced it already)."""

    slot: int
    reason: str


Event = Started | Finished | Lost


class Executor(Protocol):
    """What the scheduler needs from a place to run instances."""

    def start(self, slots: int) -> None:
        """Start ``slots`` workers (they may become ready later)."""

    def idle(self) -> list[int]:
        """Slots ready for an instance and without one, in slot order."""

    def submit(self, slot: int, instance: tuple[str, int]) -> None:
        """Send (task id, seed) to an idle slot."""

    def poll(self, timeout: float) -> list[Event]:
        """Wait up to ``timeout`` seconds; return everything that happened since the last poll.
        A slot that died idle is replaced silently; one that died busy yields ``Lost``."""

    def kill(self, slot: int) -> None:
        """Stop the slot's instance by force (the time limit), and replace the slot."""

    def close(self) -> None:
        """Stop every slot; safe to call twice and after Ctrl-C."""


def write_worker_pids(out: Path, pids: dict[int, int]) -> None:
    """``workers.json``: slot -> process id, so a person (or a test) can find a worker."""
    write_atomic(out / "workers.json", json.dumps(pids) + "\n")


@dataclass
class _Process:
    process: Any
    inbox: Any
    busy: str | None = None


class LocalExecutor:
    """One spawned worker process per slot, fed through queues."""

    def __init__(self, config: EvalConfig) -> None:
        self.config = config
        self.ctx = mp.get_context("spawn")
        self.outbox = self.ctx.Queue()
        self.config_json = config.model_dump_json()
        self.slots: list[_Process] = []

    def _spawn(self, slot: int) -> _Process:
        inbox = self.ctx.Queue()
        process = self.ctx.Process(target=worker_main, name=f"qvl-eval-{slot}", daemon=True,
                                   args=(self.config_json, slot, inbox, self.outbox, os.getpid()))
        process.start()
        return _Process(process=process, inbox=inbox)

    def _write_pids(self) -> None:
        write_worker_pids(self.config.out, {i: s.process.pid for i, s in enumerate(self.slots)})

    def start(self, slots: int) -> None:
        self.slots = [self._spawn(slot) for slot in range(slots)]
        self._write_pids()

    def idle(self) -> list[int]:
        # A worker still starting takes its first instance from its queue when it is ready;
        # the time limit starts with its "started" message, not here.
        return [i for i, s in enumerate(self.slots) if s.busy is None]

    def submit(self, slot: int, instance: tuple[str, int]) -> None:
        self.slots[slot].busy = instance_id(*instance)
        self.slots[slot].inbox.put(instance)

    def poll(self, timeout: float) -> list[Event]:
        # Who is dead is read *before* the queue is drained: a worker that sent its result
        # and then died must count as finished, not lost.
        dead = [i for i, s in enumerate(self.slots) if not s.process.is_alive()]
        events = self._drain(timeout if not dead else 0)
        for slot in dead:
            busy = self.slots[slot].busy
            if busy is not None:
                code = self.slots[slot].process.exitcode
                events.append(Lost(slot, f"the worker died (exit code {code})" if code and code > 0
                                   else f"the worker was killed (signal {-code if code else '?'})"))
            self._replace(slot)
        return events

    def _drain(self, timeout: float) -> list[Event]:
        """Every message waiting (the first wait may be short)."""
        events: list[Event] = []
        wait: float | None = timeout
        while True:
            try:
                kind, slot, payload, _pid = (self.outbox.get(timeout=wait) if wait
                                             else self.outbox.get_nowait())
            except queue.Empty:
                return events
            wait = None
            busy = self.slots[slot].busy
            if kind == "started":
                if payload == busy:
                    events.append(Started(slot))
                continue
            result = InstanceResult.model_validate_json(payload)
            if result.instance != busy:
                continue  # a late answer from an instance already recorded as timed out
            self.slots[slot].busy = None
            events.append(Finished(slot, result))

    def kill(self, slot: int) -> None:
        self.slots[slot].process.kill()
        self.slots[slot].process.join(5)
        self._replace(slot)

    def _replace(self, slot: int) -> None:
        self.slots[slot].process.join(1)
        self.slots[slot] = self._spawn(slot)
        self._write_pids()

    def close(self) -> None:
        for s in self.slots:
            if s.process.is_alive():
                try:
                    s.inbox.put(None)
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + 10
        for s in self.slots:
            s.process.join(max(0.1, deadline - time.monotonic()))
            if s.process.is_alive():
                s.process.kill()
                s.process.join(2)


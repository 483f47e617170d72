"""The server's CPU and memory during a run, sampled with psutil from a thread.

The hub's processes (``direkt serve`` and its workers) are counted apart from
``redis-server``, so the report says what the Python side costs. The load
clients' own CPU is sampled too: on a shared machine, a saturated client
delays messages as surely as a saturated server, and the report must say which.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Sample:
    t: float
    hub_cpu_pct: float
    hub_rss_mb: float
    redis_cpu_pct: float
    redis_rss_mb: float
    clients_cpu_pct: float = 0.0


@dataclass
class Sampler:
    root_pid: int | None
    interval: float = 0.5
    samples: list[Sample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _procs: dict[int, psutil.Process] = field(default_factory=dict)
    client_pids: list[int] = field(default_factory=list)

    def processes(self) -> list[psutil.Process]:
        if self.root_pid is None:
            return []
        try:
            root = psutil.Process(self.root_pid)
            found = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []
        for p in found:
            self._procs.setdefault(p.pid, p)  # keep the object: cpu_percent() is per object
        return [self._procs[p.pid] for p in found]

    def snapshot(self) -> Sample:
        hub_cpu = hub_rss = redis_cpu = redis_rss = 0.0
        for p in self.processes():
            try:
                with p.oneshot():
                    cpu, rss, name = p.cpu_percent(), p.memory_info().rss / 2**20, p.name()
            except psutil.NoSuchProcess:
                continue
            if name.startswith("redis"):
                redis_cpu, redis_rss = redis_cpu + cpu, redis_rss + rss
            else:
                hub_cpu, hub_rss = hub_cpu + cpu, hub_rss + rss
        return Sample(time.monotonic(), hub_cpu, hub_rss, redis_cpu, redis_rss, self._clients_cpu())

    def _clients_cpu(self) -> float:
        total = 0.0
        for pid in self.client_pids:
            try:
                total += self._procs.setdefault(pid, psutil.Process(pid)).cpu_percent()
            except psutil.NoSuchProcess:
                continue
        return total

    def start(self) -> None:
        self.snapshot()  # prime cpu_percent
        self._thread = threading.Thread(target=self._run, name="direkt-load-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.samples.append(self.snapshot())

    def stop(self) -> list[Sample]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.samples

"""The server's live connection to Redis and its background work.

Starts without Redis if it must (``/healthz`` answers, ``/readyz`` says why it
is not ready), connects with backoff, loads the scripts, then runs the reaper:
expired leases back to the queue, guarantee breaches counted, stuck moves
finished. Losing Redis mid-run makes operations fail with ``RedisUnavailable``
(fail closed) and readiness go red; nothing in Redis is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import httpx
import structlog
from redis.asyncio import RedisCluster

from direkt.queue.records import ReapReport
from direkt.queue.waitroom import Waitroom
from direkt.server.care.retention import job_for
from direkt.server.care.triageflow import keep_knowledge
from direkt.server.care.workflow import Workflow
from direkt.server.demo import seed_demo_cases
from direkt.server.errors import ConfigError, DirektError, RedisUnavailable
from direkt.server.liveconfig import ConfigStore, LiveConfig
from direkt.server.metrics import REDIS_SAMPLE_EVERY, Metrics, WaitingCensus, waiting_census
from direkt.server.redis.connect import LeanRedis, connect, describe
from direkt.server.region import RegionConfig
from direkt.server.settings import Settings
from direkt.server.wiring import Services, build_services
from direkt.server.ws.hub import Hub
from direkt.signaling.ice import gather_only_on
from direkt.triage.model import KnowledgeBase

log = structlog.get_logger("direkt.backend")
READY_TIMEOUT_S = 2.0
MAX_BACKOFF_S = 5.0
RETENTION_FIRST_RUN_S = 60.0  # the first retention run, a minute after start (then every interval)


@dataclass(frozen=True)
class Readiness:
    ready: bool
    problem: str = ""


class Backend:
    def __init__(self, settings: Settings, config: RegionConfig, kb: KnowledgeBase, metrics: Metrics) -> None:
        self.settings = settings
        self.metrics = metrics
        self.config = config
        self.kb = kb
        self.waitroom: Waitroom | None = None
        self.services: Services | None = None
        self.hub: Hub | None = None
        self._http = httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        self.problem = f"connecting to Redis at {describe(settings.redis_url)}"
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._config_watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="direkt-backend")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """A start that failed says why, in the log and in ``/readyz``: it stayed silent, ready never.

        A configuration error (the schedules file, read once Redis holds the
        live configuration) names file, key and problem; any other error only
        its type (a message may hold personal data).
        """
        if task.cancelled() or task.exception() is None:
            return
        exc = task.exception()
        self.problem = (
            exc.message if isinstance(exc, ConfigError) else f"the server could not start ({type(exc).__name__})"
        )
        log.error("backend_failed", problem=self.problem)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._config_watch is not None:
            self._config_watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._config_watch
        if self.hub is not None:
            await self.hub.stop()
        await self._http.aclose()
        if self.waitroom is not None:
            await self.waitroom.client.aclose()
        self.metrics.process_ended()

    async def readiness(self) -> Readiness:
        """Redis reachable and every script loaded (reloaded if Redis lost them)."""
        waitroom = self.waitroom
        if waitroom is None:
            return Readiness(False, self.problem)
        try:
            async with asyncio.timeout(READY_TIMEOUT_S):
                await waitroom.client.ping()
                if not await waitroom.scripts.loaded():
                    await waitroom.load_scripts()
                if self.services is not None:  # the live configuration stored (re-seeded if lost) and applied
                    await self.services.live.refresh()
        except TimeoutError:
            return Readiness(False, f"Redis did not answer within {READY_TIMEOUT_S:.0f} s")
        except (DirektError, OSError) as exc:
            return Readiness(False, getattr(exc, "message", str(exc)))
        except Exception as exc:  # noqa: BLE001 - redis-py errors: report, never crash the probe
            return Readiness(False, f"Redis is unavailable: {exc or type(exc).__name__}")
        return Readiness(True)

    async def waiting_census(self) -> tuple[WaitingCensus, int]:
        """The waiting room by queue and urgency, and the instant read, for a scrape.

        Empty while Redis is unavailable: the scrape still shows every other family.
        """
        waitroom = self.waitroom
        if waitroom is None:
            return {}, 0
        try:
            queues = await waitroom.census()
        except DirektError as exc:
            log.warning("census_failed", code=exc.code)
            return {}, 0
        return waiting_census(queues), waitroom.clock()

    async def _run(self) -> None:
        waitroom = await self._connect()
        if waitroom is None:
            return
        gather_only_on([a.strip() for a in self.settings.ice_host_addresses.split(",") if a.strip()])
        live = LiveConfig(self.config, ConfigStore(waitroom.client), waitroom.clock)
        with contextlib.suppress(RedisUnavailable):  # else the watch below seeds or loads it
            await live.refresh()
        if live.current.spec != self.config.spec:  # an operator who edited the file and restarted: say why
            log.warning("region_file_not_live", hint="Redis holds the live configuration; direkt config import FILE")
        services = build_services(self.settings, live, self.kb, waitroom, self._http, self.metrics)
        with contextlib.suppress(RedisUnavailable):  # a replay needs it; serving does not
            await keep_knowledge(waitroom.client, self.kb)
        hub = Hub(services)
        await hub.start()
        self._config_watch = asyncio.create_task(live.watch(services.fanout), name="direkt-config")
        # readiness turns green only now: every request finds the services
        self.services, self.hub, self.waitroom = services, hub, waitroom
        log.info("backend_ready")  # one line per worker: the load runner counts them
        if self.settings.demo_cases:
            with contextlib.suppress(RedisUnavailable):
                seeded = await seed_demo_cases(waitroom, services.files)
                log.info("demo_cases", seeded=seeded)
        retention = asyncio.create_task(self._retain_forever(services), name="direkt-retention")
        try:
            await self._reap_forever(waitroom, Workflow(services))
        finally:
            retention.cancel()

    async def _connect(self) -> Waitroom | None:
        """Connect with backoff until connected (or stopping: None)."""
        url, delay = self.settings.redis_url, 0.2
        while not self._stop.is_set():
            try:
                client = await connect(url, self.settings.redis_timeout_seconds)
                if isinstance(client, LeanRedis):  # a Redis Cluster's commands go through redis-py: not timed
                    client.lean.sample_replies(REDIS_SAMPLE_EVERY, self.metrics.redis_reply)
                waitroom = Waitroom(client, self.config.directory, lease_ms=int(self.settings.lease_seconds * 1000))
                await waitroom.load_scripts()
            except DirektError as exc:
                self.problem = exc.message
                log.warning("redis_unreachable", problem=exc.message, retry_in_s=delay)
                await self._sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_S)
                continue
            log.info("redis_connected", redis=describe(url), cluster=isinstance(client, RedisCluster))
            self.problem = ""
            return waitroom
        return None

    async def _reap_forever(self, waitroom: Waitroom, workflow: Workflow) -> None:
        while not self._stop.is_set():
            try:
                report = await waitroom.reap()
                if report != ReapReport():
                    log.info("reaped", **report.__dict__)
                    self.metrics.breaches.labels("same_day").inc(report.sameday_breaches)
                    self.metrics.breaches.labels("assessment").inc(report.assessment_breaches)
                if expired := await workflow.expire_join_windows():
                    log.info("join_windows_expired", cases=expired)
            except DirektError as exc:  # never let the reaper die: leases must keep expiring
                log.warning("reaper_paused", problem=exc.message, code=exc.code)
            await self._sleep(self.settings.reap_interval_seconds)

    async def _retain_forever(self, services: Services) -> None:
        """The retention job, every ``retention_interval_seconds``; the lock makes it one run across processes."""
        interval = self.settings.retention_interval_seconds
        await self._sleep(min(RETENTION_FIRST_RUN_S, interval))
        while not self._stop.is_set():
            config = services.config  # the live configuration: its rules and regions as they are now
            job = job_for(
                services.client, config.retention, list(config.directory.regions), services.audit, self.settings.secret
            )
            try:
                await job.run(services.clock())
            except DirektError as exc:  # the next interval tries again
                log.warning("retention_paused", problem=exc.message, code=exc.code)
            await self._sleep(interval)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

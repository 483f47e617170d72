"""Metrics for operations: every family in one place, exposed at ``GET /metrics``.

The shell counts at its one-place choke points (the socket's dispatch, the
error frame, the HTTP error mapping, claims and handover, triage, the reaper);
nothing else names a metric. Labels are bounded by construction: roles, frame
types, error codes, units and skills of the region file, urgencies, triage
levels and close outcomes. Never a case id, a personal identity number, a
user id or message text.

Under ``direkt serve`` (one worker or many) ``PROMETHEUS_MULTIPROC_DIR`` is
set before any worker imports ``prometheus_client`` (``serve.metrics_dir``):
each worker writes its values to files there and a scrape, answered by any
worker, sums them (``prometheus_client.multiprocess``). In-process apps (the
tests' ``TestClient``) keep their values in memory, one ``Metrics`` per app.

The queues' depth and oldest wait are not counted as cases move: they are read
from Redis when scraped (``WaitingCensus``, one script call per region), so a
scrape sees the waiting room as it is whichever worker answers.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from direkt.queue.model import Skill
from direkt.queue.records import QueueCensus
from direkt.queue.urgency import Urgency
from direkt.server.errors import ConfigError, NotFound, Unauthenticated

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REDIS_SAMPLE_EVERY = 16  # one Redis reply in 16 is timed: a histogram observation takes a lock and writes a file
MAX_FRAME_TYPES = 64  # far more than the protocol has: a bound, should a relayed event carry a strange type
OTHER = "other"
FLUSH_EVERY_S = 1.0  # frame counts wait at most this long in plain ints before they reach the shared counters
UNSCANNED = "unscanned"  # the urgency label of waiting cases beyond the census bound (queue.readings)

# Seconds. A reply on loopback takes tens of microseconds; a stalled Redis, seconds.
REDIS_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
# From "chatta nu" (15 minutes) to the three-day assessment guarantee.
WAIT_BUCKETS = (30, 60, 300, 900, 1800, 3600, 7200, 14400, 43200, 86400, 259200)


def urgency_label(urgency: Urgency) -> str:
    return urgency.name.lower()


class Metrics:
    """The process's metric families (``prometheus_client``), made once per app.

    Raises:
        ConfigError: ``PROMETHEUS_MULTIPROC_DIR`` was set after ``prometheus_client``
            was imported (its values would stay in memory, and scrapes see one worker).
    """

    def __init__(self) -> None:
        self.multiprocess = MULTIPROC_ENV in os.environ
        if self.multiprocess and values.ValueClass is values.MutexValue:
            raise ConfigError("environment", MULTIPROC_ENV, "must be set before prometheus_client is imported")
        # registry=None: the families are collected per scrape (``exposition``), never through a global registry.
        self.sockets = Gauge(
            "direkt_ws_open_sockets", "Open WebSockets, by role", ["role"], registry=None, multiprocess_mode="livesum"
        )
        self.frames_in = Counter("direkt_ws_frames_received", "Frames received, by type", ["type"], registry=None)
        self.frames_out = Counter("direkt_ws_frames_sent", "Frames queued to send, by type", ["type"], registry=None)
        self.claims = Counter(
            "direkt_claims", "Cases claimed (chats opened), by unit and skill", ["unit", "skill"], registry=None
        )
        self.transfers = Counter(
            "direkt_transfers", "Cases transferred, by the unit and skill taking them", ["unit", "skill"], registry=None
        )
        self.closes = Counter("direkt_closes", "Cases closed, by unit and outcome", ["unit", "outcome"], registry=None)
        self.breaches = Counter(
            "direkt_guarantee_breaches", "Care guarantees breached (same_day, assessment)", ["guarantee"], registry=None
        )
        self.errors = Counter("direkt_errors", "Refusals, by code and where (ws, http)", ["code", "via"], registry=None)
        self.triage = Counter("direkt_triage_outcomes", "Triages finished, by result level", ["level"], registry=None)
        self.redis_latency = Histogram(
            "direkt_redis_command_seconds",
            f"Redis round trips on the lean connection, one reply in {REDIS_SAMPLE_EVERY} timed",
            buckets=REDIS_BUCKETS,
            registry=None,
        )
        self.claim_wait = Histogram(
            "direkt_claim_wait_seconds",
            "Time from submission to the first claim, by urgency",
            ["urgency"],
            buckets=WAIT_BUCKETS,
            registry=None,
        )
        self._frame_in: dict[str, Counter] = {}
        self._frame_out: dict[str, Counter] = {}
        self._pending_in: dict[str, int] = {}
        self._pending_out: dict[str, int] = {}
        self._flush_at: asyncio.TimerHandle | None = None

    @property
    def families(self) -> tuple[MetricWrapperBase, ...]:
        return (self.sockets, self.frames_in, self.frames_out, self.claims, self.transfers, self.closes,
                self.breaches, self.errors, self.triage, self.redis_latency, self.claim_wait)  # fmt: skip

    # -- the shell's counts ------------------------------------------------------------------------
    # Frames are counted in plain ints and added to the families at most FLUSH_EVERY_S later, at a
    # scrape of this process, and when it stops. One ``inc`` per frame took a lock and wrote the
    # multiprocess file: a tenth of the hub's CPU in ``direkt load compare`` (three frames per message).

    def frame_in(self, kind: object) -> None:
        _tally(self._pending_in, kind)
        if self._flush_at is None:
            self._schedule_flush()

    def frame_out(self, kind: object) -> None:
        """A frame queued to send; ``kind`` is its ``t`` (events relayed from Redis carry theirs)."""
        _tally(self._pending_out, kind)
        if self._flush_at is None:
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a script, a unit test): counted at once
            self.flush()
            return
        self._flush_at = loop.call_later(FLUSH_EVERY_S, self.flush)

    def flush(self) -> None:
        """Add the frames counted since the last flush to the families (the children cached)."""
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        pending_in, pending_out, self._pending_in, self._pending_out = self._pending_in, self._pending_out, {}, {}
        for kind, n in pending_in.items():
            _child(self._frame_in, self.frames_in, kind).inc(n)
        for kind, n in pending_out.items():
            _child(self._frame_out, self.frames_out, kind).inc(n)

    def error(self, code: str, via: str) -> None:
        self.errors.labels(code, via).inc()

    def redis_reply(self, seconds: float) -> None:
        """One sampled Redis round trip (``direkt.server.redis.resp``)."""
        self.redis_latency.observe(seconds)

    def process_ended(self) -> None:
        """This worker stops: its counts are flushed, its open-socket gauge no longer counts (``livesum``)."""
        self.flush()
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]  # untyped upstream

    # -- the scrape ----------------------------------------------------------------------------

    def exposition(self, census: WaitingCensus, now_ms: int) -> bytes:
        """The text exposition: every worker's families (summed) and the waiting room as read now."""
        self.flush()  # this process's counts are current; another worker's are at most FLUSH_EVERY_S old
        registry = CollectorRegistry(auto_describe=False)
        if self.multiprocess:
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        else:
            for family in self.families:
                registry.register(family)
        registry.register(QueueCollector(census, now_ms))
        return generate_latest(registry)


def _tally(pending: dict[str, int], kind: object) -> None:
    """One more frame of ``kind``: not a string, or past ``MAX_FRAME_TYPES`` types, it is "other"."""
    if not isinstance(kind, str) or (kind not in pending and len(pending) >= MAX_FRAME_TYPES):
        kind = OTHER
    pending[kind] = pending.get(kind, 0) + 1


def _child(children: dict[str, Counter], family: Counter, kind: object) -> Counter:
    """The family's child for a frame type: past ``MAX_FRAME_TYPES`` types, or not a string, "other"."""
    if not isinstance(kind, str):
        return family.labels(OTHER)
    child = children.get(kind)
    if child is None:
        if len(children) >= MAX_FRAME_TYPES:
            return family.labels(OTHER)
        child = children[kind] = family.labels(kind)
    return child


@dataclass(frozen=True)
class QueueCount:
    """Waiting cases of one urgency in one queue, and the submission time of the oldest (0: none)."""

    waiting: int
    oldest_submitted_ms: int


# (unit, skill, urgency label) -> count; bounded by the region file's queues times six labels.
WaitingCensus = Mapping[tuple[str, str, str], QueueCount]


class QueueCollector(Collector):
    """Queue depth and oldest wait per unit, skill and urgency, from one census read at scrape time."""

    def __init__(self, census: WaitingCensus, now_ms: int) -> None:
        self.census = census
        self.now_ms = now_ms

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(
            "direkt_queue_depth", "Cases waiting, by unit, skill and urgency", labels=["unit", "skill", "urgency"]
        )
        oldest = GaugeMetricFamily(
            "direkt_queue_oldest_wait_seconds",
            "How long the oldest waiting case has waited, by unit, skill and urgency (0: none waiting)",
            labels=["unit", "skill", "urgency"],
        )
        for labels, count in sorted(self.census.items()):
            depth.add_metric(list(labels), count.waiting)
            if labels[2] != UNSCANNED:
                waited = max(0, self.now_ms - count.oldest_submitted_ms) if count.oldest_submitted_ms else 0
                oldest.add_metric(list(labels), waited / 1000)
        return iter((depth, oldest))


def waiting_census(queues: Mapping[tuple[str, Skill], QueueCensus]) -> dict[tuple[str, str, str], QueueCount]:
    """The census by label values: every urgency of every queue (zeros too, so dashboards keep their series)."""
    found = {}
    for (unit, skill), queue in queues.items():
        for urgency in Urgency:
            count = QueueCount(queue.waiting.get(urgency, 0), queue.oldest_submitted_ms.get(urgency, 0))
            found[(unit, skill.value, urgency_label(urgency))] = count
        beyond = queue.size - sum(queue.waiting.values())
        if beyond > 0:  # past the census bound: counted, urgency unread
            found[(unit, skill.value, UNSCANNED)] = QueueCount(beyond, 0)
    return found


def check_scraper(authorization: str, token: str) -> None:
    """A scrape's ``Authorization`` header against ``DIREKT_METRICS_TOKEN``.

    Raises:
        NotFound: no token is set: ``/metrics`` answers as an unknown path, so nothing shows by default.
        Unauthenticated: no bearer token, or a wrong one.
    """
    if not token:
        raise NotFound("Not Found")
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise Unauthenticated("send the metrics token as a bearer token (Authorization: Bearer …)")


def family_names(metrics: Metrics) -> Iterator[str]:
    """Every family name ``/metrics`` shows (the dashboard's test checks its queries against them)."""
    for family in metrics.families:
        yield from (described.name for described in family.describe())
    yield from ("direkt_queue_depth", "direkt_queue_oldest_wait_seconds")

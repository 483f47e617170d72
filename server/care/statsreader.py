"""Reading the statistics: the region's event log for a period, paged, through the pure fold.

``StatsAsk`` is what a caller asks (unit or region, local dates, bucket);
``resolve`` checks it against the care directory (pure: 400 for bad dates, a
reversed or too long period, 404 for an unknown unit or region); ``read_stats``
reads ``dk:{r}:log`` with XRANGE in pages of ``PAGE`` entries and folds them
one page at a time, so memory does not grow with the log. Stream ids are
Redis's clock and the fold filters on the event time ``at``, so the read
reaches ``SLACK_MS`` beyond each end of the period.

``StatsRoom`` is the supervisor's door: who may see which units, and the
``stats.read`` audit record of every read and refusal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from direkt.queue.keys import RegionKeys
from direkt.queue.model import Directory, Staff
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.queue.statistics import BUCKETS, Fold, Query, day_bounds, parse_event
from direkt.server.care.audit import AuditLog, operation
from direkt.server.errors import BadRequest, Forbidden, NotFound

PAGE = 2000  # entries per XRANGE call
MAX_DAYS = 93  # the longest period one read may cover: a quarter
MAX_EVENTS = 5_000_000  # entries one read folds at most; beyond that the answer says it is not complete
SLACK_MS = 5 * 60_000  # how far Redis's clock (the ids) may be from the servers' (the event times)


@dataclass(frozen=True)
class StatsAsk:
    """A request for statistics, as typed: dates ``YYYY-MM-DD`` (local, both included)."""

    start: str
    end: str
    unit: str = ""
    region: str = ""
    by: str = "day"


@dataclass(frozen=True)
class Scope:
    region: str
    units: frozenset[str]  # empty: every unit of the region
    query: Query
    first: dt.date
    last: dt.date


EARLIEST, LATEST = dt.date(2000, 1, 1), dt.date(2099, 12, 31)  # no log holds events outside these


def parse_day(text: str, name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a date YYYY-MM-DD") from None
    if not EARLIEST <= day <= LATEST:
        raise BadRequest(f"{name} must be a date from {EARLIEST} to {LATEST}")
    return day


def resolve(ask: StatsAsk, directory: Directory) -> Scope:
    """The region, units and period of ``ask``.

    Raises:
        BadRequest: a malformed date or bucket, ``from`` after ``to``, a period over ``MAX_DAYS``,
            or no region given where the directory has several.
        NotFound: an unknown unit or region.
    """
    first, last = parse_day(ask.start, "from"), parse_day(ask.end, "to")
    if first > last:
        raise BadRequest("from must not be after to")
    if (last - first).days + 1 > MAX_DAYS:
        raise BadRequest(f"the period is too long: at most {MAX_DAYS} days")
    if ask.by not in BUCKETS:
        raise BadRequest(f"by must be one of {', '.join(BUCKETS)}")
    if ask.unit:
        unit = directory.units.get(ask.unit)
        if unit is None:
            raise NotFound(f"no unit {ask.unit!r}")
        if ask.region and ask.region != unit.region:
            raise BadRequest(f"unit {ask.unit!r} is not in region {ask.region!r}")
        region, units = unit.region, frozenset({unit.id})
    else:
        region, units = _region(ask.region, directory), frozenset()
    start, end = day_bounds(first, last)
    return Scope(region, units, Query(start, end, units, ask.by), first, last)


def _region(region: str, directory: Directory) -> str:
    if region:
        if region not in directory.regions:
            raise NotFound(f"no region {region!r}")
        return region
    if len(directory.regions) != 1:
        raise BadRequest("name a region or a unit: this directory has several regions")
    return next(iter(directory.regions))


async def read_stats(client: RedisClient, scope: Scope) -> dict[str, Any]:
    """Fold the region's log over the scope's period; the answer names its scope and period."""
    folding = Fold(scope.query)
    log = RegionKeys(scope.region).log
    low, high = f"{max(0, scope.query.start_ms - SLACK_MS)}", f"{scope.query.end_ms + SLACK_MS}"
    read, complete = 0, True
    while True:
        with redis_errors():
            page: Any = await client.xrange(log, min=low, max=high, count=PAGE)
        for _, fields in page:
            event = parse_event(fields)
            if event is not None:
                folding.add(event)
        read += len(page)
        if len(page) < PAGE:
            break
        if read >= MAX_EVENTS:
            complete = False
            break
        low = "(" + page[-1][0].decode()
    return {
        "region": scope.region,
        "scope": sorted(scope.units),  # the units asked for; empty: every unit of the region
        "from": scope.first.isoformat(),
        "to": scope.last.isoformat(),
        "by": scope.query.by,
        "complete": complete,
        **folding.result(),
    }


class StatsRoom:
    """Statistics for supervisors: a supervisor reads the units they supervise, an administrator all."""

    def __init__(self, client: RedisClient, directory: Directory, audit: AuditLog) -> None:
        self.client, self.directory, self.audit = client, directory, audit

    async def read(self, staff: Staff, ask: StatsAsk, now_ms: int) -> dict[str, Any]:
        """Raises BadRequest, NotFound (see ``resolve``) and Forbidden: a unit not supervised, or
        a whole region by a supervisor (they get their own units of it instead)."""
        scope = resolve(ask, self.directory)
        if scope.units:
            unit = next(iter(scope.units))
            if not staff.supervises(unit):
                await self.audit.record(operation(now_ms, staff, "stats.read", unit=unit, detail="forbidden", ok=False))
                raise Forbidden(f"you do not supervise {unit}")
        elif "admin" not in staff.roles:
            own = frozenset(u for u in staff.units if staff.supervises(u) and self._in(u, scope.region))
            if not own:
                await self.audit.record(operation(now_ms, staff, "stats.read", detail="forbidden", ok=False))
                raise Forbidden(f"you supervise no unit in {scope.region}")
            scope = replace(scope, units=own, query=replace(scope.query, units=own))
        detail = f"{scope.first.isoformat()}/{scope.last.isoformat()}"
        unit = next(iter(scope.units)) if len(scope.units) == 1 else ""
        await self.audit.record(operation(now_ms, staff, "stats.read", unit=unit, detail=detail))
        return await read_stats(self.client, scope)

    def _in(self, unit: str, region: str) -> bool:
        found = self.directory.units.get(unit)
        return found is not None and found.region == region

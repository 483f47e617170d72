"""Statistics of the waiting room: a pure fold over the region's event log.

The event log (``dk:{r}:log``, written by the Lua scripts' ``emit``) is the one
source: nothing here reads Redis or the clock. ``parse_event`` turns a stream
entry into an ``Event``; ``fold`` turns the events of a period into figures for
the whole scope and for each unit, plus a time series by hour, day or week
(local time, Europe/Stockholm). What each figure means: docs/operations.md,
"Statistics".

An event belongs to the unit it names (``u``); a transfer belongs to the unit
the case left (``fu``). Periods are half-open, ``[start, end)``, on the event
time ``at``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgpack

from .hours import instant_ms, local_time

BUCKETS = ("hour", "day", "week")
BUSIEST = 3  # busiest hours of the day reported


@dataclass(frozen=True)
class Event:
    """One event of the log: its kind (``t``), case (``c``), time (``at``, ms) and short-code fields."""

    kind: str
    case: str
    at_ms: int
    fields: Mapping[str, str]

    @property
    def unit(self) -> str:
        return self.fields.get("u", "")

    def number(self, name: str) -> int | None:
        value = self.fields.get(name, "")
        return int(value) if value.lstrip("-").isdigit() else None

    def flag(self, name: str) -> bool:
        return self.fields.get(name) == "1"


# The published event's field names (queue/lua/common.lua ``emit``) and the fold's short codes.
CODES = {
    "case": "c", "unit": "u", "skill": "k", "staff": "s", "outcome": "o", "urgency": "ur", "guarantee": "g",
    "from_unit": "fu", "from_skill": "fk", "region": "rg", "reason": "rt",
}  # fmt: skip


def parse_event(raw: Mapping[Any, Any]) -> Event | None:
    """An event from a log entry's fields: ``e`` (the published event, msgpack) and ``x`` (the
    statistics' own fields, msgpack), or flat fields (``t``, ``c``, ``at``, codes); None for an
    entry that is not an event."""
    fields = {_text(k): v for k, v in raw.items()}
    if "e" in fields:
        try:
            published = msgpack.unpackb(fields["e"])
            extra = msgpack.unpackb(fields["x"]) if "x" in fields else {}
        except (ValueError, TypeError, msgpack.ExtraData):
            return None
        if not isinstance(published, dict) or not isinstance(extra, dict):
            return None
        fields = {CODES.get(str(k), str(k)): v for k, v in published.items()} | {str(k): v for k, v in extra.items()}
    text = {k: _text(v) for k, v in fields.items() if v is not None and v is not False}
    kind, case, at = text.pop("t", ""), text.pop("c", ""), text.pop("at", "")
    if not kind or not at.isdigit():
        return None
    return Event(kind, case, int(at), text)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def bucket(at_ms: int, by: str) -> str:
    """The local hour (``2026-12-07T14``), day (``2026-12-07``) or ISO week (``2026-W50``) of an instant."""
    local = local_time(at_ms)
    if by == "hour":
        return local.strftime("%Y-%m-%dT%H")
    if by == "day":
        return local.date().isoformat()
    if by == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    raise ValueError(f"by must be one of {', '.join(BUCKETS)}")


def percentile(values: list[int], q: float) -> int | None:
    """Nearest-rank percentile (an observed value, no interpolation); None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass
class StaffFigures:
    claimed: int = 0
    closed: int = 0
    transferred: int = 0
    chat_ms: list[int] = field(default_factory=list)  # how long each closed chat was held

    def view(self) -> dict[str, Any]:
        return {
            "chats": self.claimed,
            "closed": self.closed,
            "transferred": self.transferred,
            "chat_ms_total": sum(self.chat_ms),
            "chat_ms_p50": percentile(self.chat_ms, 0.5),
        }


@dataclass
class Figures:
    """The figures of one scope (a unit, or all units asked for)."""

    arrived: Counter[str] = field(default_factory=Counter)  # by dimension "entry:<e>", "reason:<r>", …
    contacts: Counter[str] = field(default_factory=Counter)  # closed cases, by the same dimensions + outcome
    waits: dict[str, list[int]] = field(default_factory=dict)  # time to first contact, by urgency
    guarantees: Counter[str] = field(default_factory=Counter)  # sameday_met, sameday_breached, assess_…
    abandoned: int = 0
    abandoned_before_contact: int = 0
    transferred: int = 0
    moved_out: int = 0
    staff: dict[str, StaffFigures] = field(default_factory=dict)
    arrivals_by_hour: Counter[int] = field(default_factory=Counter)  # local hour of day 0..23

    def add(self, ev: Event) -> None:
        handler = _HANDLERS.get(ev.kind)
        if handler is not None:
            handler(self, ev)

    def _staff(self, ev: Event) -> StaffFigures | None:
        who = ev.fields.get("s", "")
        return self.staff.setdefault(who, StaffFigures()) if who else None

    def view(self) -> dict[str, Any]:
        sameday = (self.guarantees["sameday_met"], self.guarantees["sameday_breached"])
        assess = (self.guarantees["assess_met"], self.guarantees["assess_breached"])
        busiest = sorted(self.arrivals_by_hour.items(), key=lambda kv: (-kv[1], kv[0]))[:BUSIEST]
        return {
            "arrived": sum(v for k, v in self.arrived.items() if k.startswith("entry:")),
            "arrived_by": _split(self.arrived),
            "contacts": self.contacts["all"],
            "contacts_by": _split(self.contacts - Counter({"all": self.contacts["all"]})),
            "first_contact": {
                urgency: {"count": len(w), "p50_ms": percentile(w, 0.5), "p90_ms": percentile(w, 0.9)}
                for urgency, w in sorted(self.waits.items())
            },
            "same_day": {"met": sameday[0], "breached": sameday[1], "percent": percent(sameday[0], sum(sameday))},
            "assessment": {"met": assess[0], "breached": assess[1], "percent": percent(assess[0], sum(assess))},
            "abandoned": self.abandoned,
            "abandoned_before_contact": self.abandoned_before_contact,
            "transferred": self.transferred,
            "moved_out": self.moved_out,
            "staff": {who: s.view() for who, s in sorted(self.staff.items())},
            "busiest_hours": [{"hour": hour, "arrived": n} for hour, n in busiest],
        }


def _split(counter: Counter[str]) -> dict[str, dict[str, int]]:
    """``{"entry:seek_care": 3}`` → ``{"entry": {"seek_care": 3}}``, each sorted by name."""
    out: dict[str, dict[str, int]] = {}
    for key in sorted(counter):
        dimension, _, value = key.partition(":")
        if counter[key]:
            out.setdefault(dimension, {})[value or "-"] = counter[key]
    return out


PROFILE = (("entry", "e"), ("reason", "r"), ("care", "l"), ("urgency", "ur"))


def _profile(ev: Event) -> list[str]:
    f = ev.fields
    return [
        f"entry:{f.get('e', '')}",
        f"reason:{f.get('r', '')}",
        f"care:{f.get('l', '')}",
        f"urgency:{f.get('ur', '')}",
    ]


def _enqueued(fig: Figures, ev: Event) -> None:
    fig.arrived.update(_profile(ev))
    fig.arrivals_by_hour[local_time(ev.at_ms).hour] += 1


def _first_contact(fig: Figures, ev: Event) -> None:
    wait = ev.number("w")
    if wait is not None:
        fig.waits.setdefault(ev.fields.get("ur", ""), []).append(max(0, wait))


def _contact(fig: Figures, ev: Event) -> None:
    _first_contact(fig, ev)
    if ev.flag("sd"):
        fig.guarantees["sameday_met"] += 1


def _closed(fig: Figures, ev: Event) -> None:
    fig.contacts.update(["all", *_profile(ev), f"outcome:{ev.fields.get('o', '')}"])
    if ev.flag("fc"):
        _first_contact(fig, ev)
    for name, flag in (("sameday_met", "sd"), ("assess_met", "as")):
        if ev.flag(flag):
            fig.guarantees[name] += 1
    who = fig._staff(ev)
    if who is not None:
        who.closed += 1
        who.chat_ms.append(max(0, ev.number("d") or 0))


def _claimed(fig: Figures, ev: Event) -> None:
    who = fig._staff(ev)
    if who is not None:
        who.claimed += 1


def _abandoned(fig: Figures, ev: Event) -> None:
    fig.abandoned += 1
    fig.abandoned_before_contact += ev.flag("bc")


def _transferred(fig: Figures, ev: Event) -> None:
    fig.transferred += 1
    who = fig._staff(ev)
    if who is not None:
        who.transferred += 1


def _moving(fig: Figures, ev: Event) -> None:
    fig.moved_out += 1
    who = fig._staff(ev)
    if who is not None:
        who.transferred += 1


def _breach(fig: Figures, ev: Event) -> None:
    guarantee = ev.fields.get("g", "")
    if guarantee in ("sameday", "assess"):
        fig.guarantees[f"{guarantee}_breached"] += 1


_HANDLERS = {
    "enqueued": _enqueued,
    "contact": _contact,
    "closed": _closed,
    "claimed": _claimed,
    "abandoned": _abandoned,
    "transferred": _transferred,
    "moving": _moving,
    "breach": _breach,
}

# The time series: a few counts per bucket.
SERIES = {"arrived": "enqueued", "contacts": "closed", "abandoned": "abandoned", "transferred": "transferred"}


def owner(ev: Event) -> str:
    """The unit an event counts for: the unit a transferred case left, else the unit it names."""
    return ev.fields.get("fu", "") if ev.kind == "transferred" else ev.unit


@dataclass(frozen=True)
class Query:
    """What to fold: the period ``[start_ms, end_ms)``, the units in scope (empty: every unit) and the bucket."""

    start_ms: int
    end_ms: int
    units: frozenset[str] = frozenset()
    by: str = "day"


def buckets(query: Query) -> list[str]:
    """Every bucket of the period, oldest first (so a chart shows quiet hours as zero)."""
    seen: dict[str, None] = {}
    step = 3_600_000  # an hour: every local hour, day and week of the period is hit (DST too)
    for at in range(query.start_ms, query.end_ms, step):
        seen[bucket(at, query.by)] = None
    return list(seen)


class Fold:
    """The statistics of ``query``, folded one event at a time (bounded memory for a long log)."""

    def __init__(self, query: Query) -> None:
        if query.by not in BUCKETS:
            raise ValueError(f"by must be one of {', '.join(BUCKETS)}")
        self.query = query
        self.total = Figures()
        self.units: dict[str, Figures] = {}
        self.series: dict[str, Counter[str]] = {b: Counter() for b in buckets(query)}

    def add(self, ev: Event) -> None:
        """Count one event; one outside the period or the units in scope is skipped."""
        q, unit = self.query, owner(ev)
        if not q.start_ms <= ev.at_ms < q.end_ms or (q.units and unit not in q.units):
            return
        if ev.kind == "enqueued" and ev.fields.get("rt") == "transfer":
            return  # a case that moved in from another region arrived there, not here
        self.total.add(ev)
        if unit:
            self.units.setdefault(unit, Figures()).add(ev)
        for name, kind in SERIES.items():
            if ev.kind == kind:
                self.series[bucket(ev.at_ms, q.by)][name] += 1

    def result(self) -> dict[str, Any]:
        """A JSON-ready map: ``total`` (every unit in scope), ``units`` (each unit that had events)
        and ``series`` (per bucket, oldest first, counts of arrived, contacts, abandoned and
        transferred cases)."""
        return {
            "total": self.total.view(),
            "units": {unit: fig.view() for unit, fig in sorted(self.units.items())},
            "series": [
                {"bucket": b, **{name: counts[name] for name in SERIES}} for b, counts in sorted(self.series.items())
            ],
        }


def fold(events: Iterable[Event], query: Query) -> dict[str, Any]:
    """The statistics of ``query`` from the log's events (any order; those outside are skipped)."""
    folding = Fold(query)
    for ev in events:
        folding.add(ev)
    return folding.result()


def day_bounds(first: dt.date, last: dt.date) -> tuple[int, int]:
    """The period from the start of local day ``first`` to the end of local day ``last`` (ms, half-open)."""
    return instant_ms(first, 0), instant_ms(last + dt.timedelta(days=1), 0)

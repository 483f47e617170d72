"""A unit steered by its supervisor: intake closed for a while, a notice to its waiting room.

Kept in Redis in the region's hash tag (``keys.unit_control``): the field
``<unit>:intake`` holds a closure (until when, the message citizens read) and
``<unit>:notice`` a notice (its text, until when), each as JSON. An entry
whose time has passed is no longer in force (``Steering.at``); the next
change of that field overwrites it.
Every change is published on ``keys.unit_control_channel`` with the unit's
id, and every server process's position feed re-reads it and tells the
unit's waiting citizens within a second; a submission reads the unit's
closure afresh, so a citizen arriving at any process is refused at once.

The pure part (``Steering``, ``check_text``, ``check_until``, ``decode``,
``citizen_view``) is unit-tested; ``SteeringStore`` is the thin I/O.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from direkt.queue.hours import local_time
from direkt.queue.model import Directory
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.errors import Conflict, NotFound, RequestError
from direkt.server.redis import keys

HOUR_MS = 3_600_000
MAX_CLOSURE_MS = 12 * HOUR_MS  # intake closed for at most this long: a longer break is a change of opening hours
MAX_NOTICE_MS = 24 * HOUR_MS  # a notice is shown at most this long
MAX_TEXT = 300  # characters of a message or notice
KINDS = ("intake", "notice")


class Invalid(RequestError):
    """A well-formed request whose values cannot be used (a time in the past, a text too long)."""

    code = "invalid_value"
    status = 422


class IntakeClosed(Conflict):
    """A citizen's case for a unit whose supervisor has closed its intake for a while.

    ``fields`` go into the JSON error beside ``code`` and ``message``: the
    unit, the supervisor's message (``notice``), when intake opens again, and
    ``text``, what the citizen reads (the message and the time, by language).
    """

    code = "intake_closed"

    def __init__(self, unit: str, notice: str, until_ms: int) -> None:
        super().__init__("the unit takes no new cases just now")
        at = local_time(until_ms).strftime("%H:%M")
        text = {
            "sv": f"{notice} Mottagningen tar emot nya ärenden igen kl. {at}.",
            "en": f"{notice} The unit takes new cases again at {at}.",
        }
        self.fields = {"unit": unit, "notice": notice, "until_ms": until_ms, "text": text}


@dataclass(frozen=True)
class Entry:
    """A closure of intake (``text``: the message to citizens) or a notice, in force until ``until_ms``."""

    text: str
    until_ms: int
    by: str = ""  # the staff id who set it
    at_ms: int = 0

    def encode(self) -> str:
        return orjson.dumps({"text": self.text, "until_ms": self.until_ms, "by": self.by, "at_ms": self.at_ms}).decode()

    def view(self) -> dict[str, Any]:
        return {"text": self.text, "until_ms": self.until_ms}


@dataclass(frozen=True)
class Steering:
    """A unit's steering as stored; ``at(now)`` keeps only what is in force."""

    intake: Entry | None = None
    notice: Entry | None = None

    def at(self, now_ms: int) -> Steering:
        return Steering(
            self.intake if self.intake and self.intake.until_ms > now_ms else None,
            self.notice if self.notice and self.notice.until_ms > now_ms else None,
        )

    def view(self, now_ms: int) -> dict[str, Any]:
        """As the waiting citizen and the supervisor see it: each part in force, or null."""
        live = self.at(now_ms)
        return {
            "intake_closed": live.intake.view() if live.intake else None,
            "notice": live.notice.view() if live.notice else None,
        }


@dataclass
class Units:
    """Every unit's steering as one process last read it (the position feed's copy)."""

    by_unit: dict[str, Steering] = field(default_factory=dict)

    def of(self, unit_id: str) -> Steering:
        return self.by_unit.get(unit_id, Steering())


def check_text(text: str, what: str) -> str:
    """The text trimmed; 1 to ``MAX_TEXT`` characters, no control characters.

    Raises:
        Invalid: naming ``what``.
    """
    text = text.strip()
    if not text:
        raise Invalid(f"{what} is empty")
    if len(text) > MAX_TEXT:
        raise Invalid(f"{what} is over {MAX_TEXT} characters")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise Invalid(f"{what} has control characters")
    return text


def check_until(until_ms: int, now_ms: int, longest_ms: int, what: str) -> int:
    """``until_ms``, which must be after ``now_ms`` and at most ``longest_ms`` after it.

    Raises:
        Invalid: in the past, or too far ahead.
    """
    if until_ms <= now_ms:
        raise Invalid(f"{what} must be in the future")
    if until_ms - now_ms > longest_ms:
        raise Invalid(f"{what} is at most {longest_ms // HOUR_MS} hours ahead")
    return until_ms


def decode(raw: bytes | str | None) -> Entry | None:
    """A stored entry, or None when missing or unreadable (a later version's form: not in force)."""
    if not raw:
        return None
    try:
        data = orjson.loads(raw)
        return Entry(str(data["text"]), int(data["until_ms"]), str(data.get("by", "")), int(data.get("at_ms", 0)))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def parse_hash(fields: Mapping[Any, Any]) -> dict[str, Steering]:
    """A region's stored hash (``<unit>:intake`` / ``<unit>:notice`` -> JSON) as each unit's steering."""
    parts: dict[str, dict[str, Entry | None]] = {}
    for name, raw in fields.items():
        text = name.decode() if isinstance(name, bytes) else str(name)
        unit, _, kind = text.rpartition(":")
        if unit and kind in KINDS:
            parts.setdefault(unit, {})[kind] = decode(raw)
    return {unit: Steering(p.get("intake"), p.get("notice")) for unit, p in parts.items()}


class SteeringStore:
    """Reads and changes units' steering in Redis, and announces each change."""

    def __init__(self, client: RedisClient, directory: Directory) -> None:
        self.client = client
        self.directory = directory

    def _region(self, unit_id: str) -> str:
        unit = self.directory.units.get(unit_id)
        if unit is None:
            raise NotFound("no such unit")
        return unit.region

    async def of_unit(self, unit_id: str) -> Steering:
        key = keys.unit_control(self._region(unit_id))
        with redis_errors():
            intake, notice = await self.client.hmget(key, [f"{unit_id}:intake", f"{unit_id}:notice"])
        return Steering(decode(intake), decode(notice))

    async def of_units(self, unit_ids: Iterable[str]) -> dict[str, Steering]:
        """The steering of these units (one read per region)."""
        regions = sorted({self._region(u) for u in unit_ids})
        found: dict[str, Steering] = {}
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            for region in regions:
                pipe.hgetall(keys.unit_control(region))
            for stored in await pipe.execute():
                found |= parse_hash(stored)
        return found

    async def check_intake(self, unit_id: str, now_ms: int) -> None:
        """Raises IntakeClosed when the unit's intake is closed at ``now_ms``."""
        closure = (await self.of_unit(unit_id)).at(now_ms).intake
        if closure is not None:
            raise IntakeClosed(unit_id, closure.text, closure.until_ms)

    async def put(self, unit_id: str, kind: str, entry: Entry) -> None:
        await self._change(unit_id, kind, entry)

    async def remove(self, unit_id: str, kind: str) -> bool:
        """Take away the unit's closure or notice; False if none was stored."""
        return await self._change(unit_id, kind, None)

    async def _change(self, unit_id: str, kind: str, entry: Entry | None) -> bool:
        region = self._region(unit_id)
        key, name = keys.unit_control(region), f"{unit_id}:{kind}"
        with redis_errors():
            pipe = self.client.pipeline(transaction=False)
            pipe.hget(key, name)
            if entry is None:
                pipe.hdel(key, name)
            else:
                pipe.hset(key, name, entry.encode())
            pipe.publish(keys.unit_control_channel(region), unit_id)
            before, *_ = await pipe.execute()
        return decode(before) is not None

"""The case file: who a case belongs to and what the triage found.

The waiting room (``direkt.queue``) knows where a case waits and who holds
it; the case file knows whose it is (owner, patient, guardian), the triage
summary staff read before the first word, and the chat's join state. It is
written once, before the case enters the queue, so a nurse who claims a case
always finds its file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import msgpack

from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.errors import NotFound
from direkt.server.redis import keys

# A case file, its transcript and its photos are patient-record material: they carry no TTL
# and are kept for the region's retention rules (``direkt.server.care.retention`` removes them).
PHONE_FIELD = "phone"  # the case file hash's field for a number changed after submission (``set_phone``)
# What ``CaseFile.citizen_view`` reads of the triage summary: a citizen's join decodes only these.
CITIZEN_TRIAGE = frozenset({"reason", "care_level"})


@dataclass(frozen=True)
class CaseFile:
    case_id: str
    owner_uid: str  # the logged-in citizen (the guardian when acting for a child)
    patient_pnr: str
    patient_name: str
    guardian_pnr: str  # "" unless a guardian acts for a child
    first_name: str
    phone: str
    lang: str
    entry: str
    home_unit: str
    created_ms: int
    triage: Mapping[str, Any] = field(default_factory=dict)  # the rendered triage result
    triage_session: bytes = b""  # the engine session (inputs + knowledge-base version), to replay the triage
    # chat state (changes over the case's life)
    ready_ms: int = 0  # a nurse opened the chat and the citizen was told
    joined_ms: int = 0
    staff_id: str = ""
    staff_name: str = ""
    closed_ms: int = 0
    outcome: str = ""
    referred_unit: str = ""  # outcome "referred": the care unit (catalogue id) the patient was sent to
    booking: str = ""  # outcomes "visit_booked", "video_consultation": the booking's id

    def console_view(self) -> dict[str, Any]:
        """What staff see: identity, triage summary, chat state."""
        return {
            "case": self.case_id,
            "patient": {"name": self.patient_name, "pnr": self.patient_pnr, "first_name": self.first_name},
            "guardian": self.guardian_pnr or None,
            "entry": self.entry,
            "lang": self.lang,
            "triage": dict(self.triage),
            "ready_ms": self.ready_ms or None,
            "joined_ms": self.joined_ms or None,
            "staff": self.staff_id or None,
            "closed_ms": self.closed_ms or None,
            "outcome": self.outcome or None,
            "referred_unit": self.referred_unit or None,
            "booking": self.booking or None,
        }

    def citizen_view(self) -> dict[str, Any]:
        return {
            "case": self.case_id,
            "patient_name": self.patient_name,
            "entry": self.entry,
            "reason": self.triage.get("reason"),
            "care_level": self.triage.get("care_level"),
            "created_ms": self.created_ms,
            "ready_ms": self.ready_ms or None,
            "staff_name": self.staff_name or None,
            "closed_ms": self.closed_ms or None,
            "outcome": self.outcome or None,
            "referred_unit": self.referred_unit or None,
            "booking": self.booking or None,
            "sms_phone": self.phone or None,  # the citizen's own number for notices (their view only)
        }


class CaseFiles:
    """Args:
    client: a Redis or Redis Cluster client.
    pseudonym: a patient's personnummer -> the pseudonym their case index is keyed by
        (``sessions.citizen_uid``); None: no patient index is written or read.
    """

    def __init__(self, client: RedisClient, pseudonym: Callable[[str], str] | None = None) -> None:
        self.client = client
        self.pseudonym = pseudonym

    async def create(self, file: CaseFile) -> CaseFile:
        """Write the file unless it exists (a retried submission); returns the stored one."""
        key = keys.case_file(file.case_id)
        pipe = self.client.pipeline(transaction=False)  # one round trip; each write is safe to repeat
        pipe.hsetnx(key, "f", _packed(file))
        pipe.zadd(keys.user_cases(file.owner_uid), {file.case_id: file.created_ms})
        if self.pseudonym is not None:
            # The patient's history (the console's "earlier contacts"): a child's cases under the
            # child, whichever guardian sent them. The retention job takes a file out as it removes it.
            patient = keys.patient_cases(self.pseudonym(file.patient_pnr))
            pipe.zadd(patient, {file.case_id: file.created_ms})
        with redis_errors():
            created = (await pipe.execute())[0]
        return file if created else await self.get(file.case_id)

    async def get(self, case_id: str, triage: Collection[str] | None = None) -> CaseFile:
        """The case file; with ``triage``, only those keys of its triage summary (and no triage session).

        Decoding the whole summary (some 150 small maps and strings, 5.8 KiB)
        was most of the cost of a citizen's join, which shows two of its keys
        (``CITIZEN_TRIAGE``). A file read with ``triage`` is for reading:
        never write it back (``update`` reads the whole file again).

        Raises:
            NotFound: an unknown case.
        """
        with redis_errors():
            found: Any = await self.client.hmget(keys.case_file(case_id), ["f", PHONE_FIELD])
        raw, phone = found
        if raw is None:
            raise NotFound("no such case")
        file = CaseFile(**(msgpack.unpackb(raw) if triage is None else _unpacked_lean(raw, triage)))
        return file if phone is None else replace(file, phone=phone.decode())

    async def set_phone(self, case_id: str, phone: str) -> None:
        """The citizen's number for notices ("" for none), in a field of its own: it changes while
        the case waits, and must not race the chat-state writes of ``update`` (the claim's ``ready_ms``)."""
        with redis_errors():
            await self.client.hset(keys.case_file(case_id), PHONE_FIELD, phone)

    async def update(self, case_id: str, **changes: Any) -> CaseFile:
        """Change chat-state fields. Last writer wins; callers hold the case's lease."""
        file = replace(await self.get(case_id), **changes)
        with redis_errors():
            await self.client.hset(keys.case_file(case_id), "f", _packed(file))
        return file

    async def of_user(self, uid: str, limit: int = 50) -> list[CaseFile]:
        with redis_errors():
            ids: Any = await self.client.zrevrange(keys.user_cases(uid), 0, limit - 1)
        files = []
        for case_id in ids:
            try:
                files.append(await self.get(case_id.decode()))
            except NotFound:
                continue
        return files

    async def of_patient(self, pnr: str, limit: int) -> list[CaseFile]:
        """The newest ``limit`` case files about the patient ``pnr``, newest first, in two round trips.

        Only files whose patient is ``pnr`` (the index is keyed by a pseudonym); files
        gone (expired) are left out.

        Raises:
            RedisUnavailable: Redis could not be read.
        """
        if self.pseudonym is None:
            return []
        with redis_errors():
            ids: Any = await self.client.zrevrange(keys.patient_cases(self.pseudonym(pnr)), 0, limit - 1)
        if not ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for case_id in ids:
            pipe.hget(keys.case_file(case_id.decode()), "f")
        with redis_errors():
            raws: list[Any] = await pipe.execute()
        files = [CaseFile(**msgpack.unpackb(raw)) for raw in raws if raw is not None]
        return [f for f in files if f.patient_pnr == pnr]


def _unpacked_lean(raw: bytes, triage: Collection[str]) -> dict[str, Any]:
    """The stored map with only the ``triage`` keys of the summary decoded; the rest is skipped
    by msgpack without making objects, and the triage session is left out (b"")."""
    reader = msgpack.Unpacker()
    reader.feed(raw)
    found: dict[str, Any] = {}
    for _ in range(reader.read_map_header()):
        name = reader.unpack()
        if name == "triage":
            found[name] = _picked(reader, triage)
        elif name == "triage_session":
            reader.skip()
            found[name] = b""
        else:
            found[name] = reader.unpack()
    return found


def _picked(reader: msgpack.Unpacker, wanted: Collection[str]) -> dict[str, Any]:
    picked: dict[str, Any] = {}
    for _ in range(reader.read_map_header()):
        key = reader.unpack()
        if key in wanted:
            picked[key] = reader.unpack()
        else:
            reader.skip()
    return picked


def _packed(file: CaseFile) -> bytes:
    """The stored form: a map of the fields. Shallow, unlike ``dataclasses.asdict``,
    which deep-copies the triage summary only for msgpack to read it once."""
    return msgpack.packb({f.name: getattr(file, f.name) for f in fields(CaseFile)} | {"triage": dict(file.triage)})  # type: ignore[no-any-return]

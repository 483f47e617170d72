"""`direkt data retention | export | erase`, run as the installed command against the embedded
Redis: exit codes, what an export holds, what an erasure removes and keeps, the audit records
of both, and a personnummer never in the command's logs or errors.

Personal identity numbers: Skatteverket's published test numbers
(server/data/test_personnummer.txt, named in tests/support_hub.py).
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgpack
import orjson
import pytest
from support import timeout
from support_hub import ELSA, ERIK, GUARDIAN, UNLISTED

from direkt.queue.ids import new_case_id, ulid
from direkt.queue.keys import RegionKeys
from direkt.queue.lookup import wall_clock_ms
from direkt.server.booking.model import Booking
from direkt.server.booking.service import new_booking_id
from direkt.server.booking.store import BookingStore
from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.care.casefile import CaseFile, CaseFiles
from direkt.server.care.photos import photo_key_id
from direkt.server.cli import main
from direkt.server.identity.sessions import citizen_uid
from direkt.server.redis import keys
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.retentionrules import DAY_MS
from direkt.server.settings import Settings

DIREKT = Path(sys.executable).with_name("direkt")
NOBODY = "189001019802"  # a test number nothing is held about
REGION = "vm"  # the demo region file's (the command reads it)
PHOTO = b"\x89PNG-pixels"
NO_BOOKING = Booking("", "", "", "", 0, 0, "", "", "", "")


@dataclass
class World:
    url: str
    audit_file: Path
    erik_case: str
    elsa_case: str
    other_case: str
    triage_key: str
    photo_key: str
    old_booking: Booking = NO_BOOKING  # Erik's visit eleven years ago: past its rule
    booking: Booking = NO_BOOKING  # Erik's visit the day after tomorrow
    elsa_booking: Booking = NO_BOOKING  # booked by her guardian


async def _book(client: Any, start: int, patient: str, owner: str, guardian: str = "") -> Booking:
    """A booking as the booking store writes it (its Lua script), at any time, past or ahead."""
    booking = Booking(new_booking_id("vc-skultuna"), "vc-skultuna", "nurse", "physical", start, start + 900_000,
                      "booked", patient, "Test Person", uid(owner), booked_by="nurse-a1", created_ms=start - DAY_MS,
                      guardian_pnr=guardian)  # fmt: skip
    await BookingStore(client).book(booking, f"nurse:physical:{start}")
    return booking


def uid(pnr: str) -> str:
    return citizen_uid(Settings().secret, pnr)


async def _seed(url: str, audit_file: Path) -> World:
    client = await connect(url)
    now = wall_clock_ms()
    try:
        await client.flushall()
        files = CaseFiles(client, uid)
        cases = [new_case_id(REGION, now - DAY_MS, os.urandom(10)) for _ in range(3)]
        erik, elsa, other = cases
        for cid, patient, guardian, owner in ((erik, ERIK, "", ERIK), (elsa, ELSA, GUARDIAN, GUARDIAN),
                                              (other, UNLISTED, "", UNLISTED)):  # fmt: skip
            await files.create(CaseFile(cid, uid(owner), patient, "Test Person", guardian, "Test", "+46700000000",
                                        "sv", "seek_care", "vc-skultuna", now - DAY_MS))  # fmt: skip
        for text in ("Ont i halsen sedan i går", "Feber 38,5"):
            await client.xadd(keys.chat(erik), {"m": msgpack.packb({"kind": "msg", "from": "citizen", "text": text})})
        photo = keys.photo(erik, photo_key_id(now, os.urandom(10)))
        await client.set(photo, b"image/png\n" + PHOTO)
        for cid, state in ((erik, "closed"), (elsa, "waiting"), (other, "closed")):
            fields = {"id": cid, "state": state, "submitted": now - DAY_MS, "queued_at": now - DAY_MS,
                      "meta": msgpack.packb({"reason": "sore_throat"})}  # fmt: skip
            if state == "closed":
                fields["closed_at"] = now - DAY_MS + 60_000
            await client.hset(RegionKeys(REGION).case(cid), mapping=fields)  # type: ignore[arg-type]
        triage = keys.triage(ulid(now, os.urandom(10)))
        await client.set(triage, msgpack.packb({"owner": uid(ERIK), "patient": ERIK, "guardian": "", "lang": "sv"}))
        await client.set(keys.triage(ulid(now, os.urandom(10))), msgpack.packb({"patient": UNLISTED, "guardian": ""}))
        old = await _book(client, now - 11 * 365 * DAY_MS, ERIK, ERIK)
        ahead = await _book(client, now + 2 * DAY_MS, ERIK, ERIK)
        elsas = await _book(client, now + 3 * DAY_MS, ELSA, GUARDIAN, GUARDIAN)
        audit = AuditLog(client, audit_file)
        await audit.record(AuditRecord(now - 1000, "nurse-a1", "nurse", "vc-skultuna", "case.read", erik, ERIK))
        await audit.record(AuditRecord(now - 999, "nurse-a1", "nurse", "vc-skultuna", "case.read", other, UNLISTED))
    finally:
        await client.aclose()
    return World(url, audit_file, erik, elsa, other, triage, photo, old, ahead, elsas)


@pytest.fixture
def world(standalone_redis: EmbeddedRedis, tmp_path: Path) -> World:
    return asyncio.run(_seed(standalone_redis.url, tmp_path / "audit.jsonl"))


def direkt(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIREKT_AUDIT_FILE": str(world.audit_file), "DIREKT_LOG_LEVEL": "debug"}
    env.pop("REDIS_URL", None)
    return subprocess.run(
        [str(DIREKT), "data", *args, "--redis-url", world.url],
        capture_output=True, text=True, timeout=timeout(60), env=env, check=False,
    )  # fmt: skip


async def _redis(url: str, call: str, *args: Any, **kwargs: Any) -> Any:
    client = await connect(url)
    try:
        return await getattr(client, call)(*args, **kwargs)
    finally:
        await client.aclose()


def redis(world: World, call: str, *args: Any, **kwargs: Any) -> Any:
    return asyncio.run(_redis(world.url, call, *args, **kwargs))


def audit_trail(world: World) -> list[AuditRecord]:
    return [AuditRecord.from_fields(data) for _, data in redis(world, "xrange", keys.AUDIT_STREAM)]


def test_an_export_holds_everything_about_the_patient_and_is_audited(world: World) -> None:
    done = direkt(world, "export", "--patient", ERIK)
    assert done.returncode == 0, done.stderr
    assert ERIK not in done.stderr  # the command's log lines drop it
    data = orjson.loads(done.stdout)
    assert data["patient"] == ERIK
    [case] = data["cases"]
    assert (case["case"], case["as"], case["file"]["patient_pnr"]) == (world.erik_case, "patient", ERIK)
    assert [e["text"] for e in case["transcript"]] == ["Ont i halsen sedan i går", "Feber 38,5"]
    [photo] = case["photos"]
    assert (photo["content_type"], base64.b64decode(photo["base64"])) == ("image/png", PHOTO)
    assert case["queue_record"]["state"] == "closed" and case["queue_record"]["meta"] == {"reason": "sore_throat"}
    assert [t["id"] for t in data["triage_sessions"]] == [world.triage_key.rpartition(":")[2]]
    assert [(r["action"], r["case_id"]) for r in data["audit"]] == [("case.read", world.erik_case)]
    assert world.other_case not in done.stdout and UNLISTED not in done.stdout
    old, ahead = world.old_booking, world.booking
    assert [(b["id"], b["as"], b["patient_pnr"], int(b["start_ms"])) for b in data["bookings"]] == [
        (old.id, "patient", ERIK, old.start_ms),
        (ahead.id, "patient", ERIK, ahead.start_ms),
    ]
    assert world.elsa_booking.id not in done.stdout

    trail = audit_trail(world)[2:]
    assert [(r.action, r.case_id, r.patient, r.detail) for r in trail] == [
        ("data.export", "", "", "cases:1/bookings:2"),
        ("case.export", world.erik_case, ERIK, ""),
        ("booking.export", old.id, ERIK, old.id),
        ("booking.export", ahead.id, ERIK, ahead.id),
    ]
    assert all(r.actor.startswith("cli:") and r.role == "operator" for r in trail)


def test_a_guardian_export_holds_their_childs_case(world: World) -> None:
    done = direkt(world, "export", "--patient", f"{GUARDIAN[:8]}-{GUARDIAN[8:]}")
    assert done.returncode == 0, done.stderr
    [case] = orjson.loads(done.stdout)["cases"]
    assert (case["case"], case["as"], case["file"]["patient_pnr"]) == (world.elsa_case, "guardian", ELSA)
    assert case["queue_record"]["state"] == "waiting"
    [booking] = orjson.loads(done.stdout)["bookings"]
    assert (booking["id"], booking["as"], booking["patient_pnr"]) == (world.elsa_booking.id, "guardian", ELSA)


def test_an_export_to_a_file_is_private(world: World, tmp_path: Path) -> None:
    out = tmp_path / "erik.json"
    done = direkt(world, "export", "--patient", ERIK, "--out", str(out))
    assert done.returncode == 0 and done.stdout == ""
    assert orjson.loads(out.read_bytes())["cases"][0]["case"] == world.erik_case
    assert out.stat().st_mode & 0o777 == 0o600


def test_an_erasure_removes_what_the_rules_allow_and_keeps_the_record(world: World) -> None:
    done = direkt(world, "erase", "--patient", ERIK)
    assert done.returncode == 0, done.stderr
    assert ERIK not in done.stderr and ERIK not in done.stdout
    report = orjson.loads(done.stdout)
    assert report["erased"] == {"triage_sessions": 1, "queue_records": 1, "case_files": 0, "transcripts": 0,
                                "photos": 0, "bookings": 1}  # fmt: skip
    assert report["kept"] == {"case_files": 1, "transcripts": 1, "photos": 1, "bookings": 1, "queue_records": 0,
                              "audit": 1}  # fmt: skip
    assert report["why_kept"]["bookings"] == "Patientdatalagen 3 kap. 17 §"
    assert report["why_kept"]["transcripts"] == "Patientdatalagen 3 kap. 17 §"
    assert report["why_kept"]["audit"] == "HSLF-FS 2016:40 4 kap. 9 §"
    assert redis(world, "exists", world.triage_key, RegionKeys(REGION).case(world.erik_case)) == 0
    kept = (keys.case_file(world.erik_case), keys.chat(world.erik_case), world.photo_key)
    assert redis(world, "exists", *kept) == 3
    assert redis(world, "exists", RegionKeys(REGION).case(world.other_case)) == 1  # another patient's: untouched
    old, ahead = world.old_booking, world.booking  # the visit past its rule goes with its slot and index entry
    assert redis(world, "exists", keys.booking(old.unit, old.id)) == 0
    assert redis(world, "hget", keys.booking_slots(old.unit), f"nurse:physical:{old.start_ms}") is None
    assert redis(world, "zscore", keys.user_bookings(old.owner_uid), old.id) is None
    assert redis(world, "zscore", keys.booking_calendar(old.unit), old.id) is None
    assert redis(world, "exists", keys.booking(ahead.unit, ahead.id)) == 1  # the visit ahead: kept
    assert redis(world, "zscore", keys.user_bookings(ahead.owner_uid), ahead.id) is not None
    trail = audit_trail(world)[2:]
    assert [(r.action, r.case_id, r.patient, r.detail) for r in trail] == [
        ("data.erase", "", "", "erased:3/kept:5"),
        ("case.erase", world.erik_case, ERIK, "keys:1"),
        ("booking.erase", old.id, ERIK, old.id),
        ("booking.erase", ahead.id, ERIK, ahead.id),
    ]


def test_an_erasure_keeps_a_live_cases_queue_record(world: World) -> None:
    done = direkt(world, "erase", "--patient", GUARDIAN)
    assert done.returncode == 0, done.stderr
    report = orjson.loads(done.stdout)
    assert report["erased"]["queue_records"] == 0 and report["kept"]["queue_records"] == 1
    assert redis(world, "exists", RegionKeys(REGION).case(world.elsa_case)) == 1


@pytest.mark.parametrize("command", ["export", "erase"])
def test_a_patient_nothing_is_held_about_exits_1_and_is_audited(world: World, command: str) -> None:
    done = direkt(world, command, "--patient", NOBODY)
    assert done.returncode == 1
    assert "nothing is held about this patient" in done.stderr and NOBODY not in done.stderr
    assert done.stdout == ""
    last = audit_trail(world)[-1]
    assert (last.action, last.patient) == (f"data.{command}", "")


@pytest.mark.parametrize("bad", ["19910831-2390", "9108312399x", "19911331-2399", "tolvan", ""])
@pytest.mark.parametrize("command", ["export", "erase"])
def test_a_bad_personnummer_is_a_usage_error_that_does_not_echo_it(
    bad: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["data", command, "--patient", bad, "--redis-url", "redis://127.0.0.1:1"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "not a valid personal identity number" in err
    assert not bad or bad not in err


def test_retention_on_demand_dry_then_for_real(world: World) -> None:
    old = keys.triage(ulid(wall_clock_ms() - 3 * DAY_MS, os.urandom(10)))
    redis(world, "set", old, msgpack.packb({"patient": ERIK}))
    dry = direkt(world, "retention", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert orjson.loads(dry.stdout) == {"dry_run": True, "removed": {
        "transcripts": 0, "case_files": 0, "photos": 0, "bookings": 1, "queue_records": 0, "triage_sessions": 1,
        "event_log": 0, "audit": 0}}  # fmt: skip
    assert redis(world, "exists", old) == 1
    done = direkt(world, "retention")
    assert done.returncode == 0, done.stderr
    assert "triage_sessions  removed 1" in done.stdout and "bookings         removed 1" in done.stdout
    assert redis(world, "exists", old, world.triage_key) == 1  # the old one gone, today's kept
    gone, kept = world.old_booking, world.booking  # the visit eleven years ago: gone; the one ahead: kept
    assert redis(world, "exists", keys.booking(gone.unit, gone.id), keys.booking(kept.unit, kept.id)) == 1
    assert redis(world, "zrange", keys.user_bookings(kept.owner_uid), 0, -1) == [kept.id.encode()]
    details = [r.detail for r in audit_trail(world) if r.action == "retention.remove"]
    assert (details[3], details[5]) == ("bookings:1", "triage_sessions:1")


def test_retention_while_another_run_holds_the_lock_exits_1(world: World) -> None:
    redis(world, "set", keys.RETENTION_LOCK, "another-process", px=60_000)
    done = direkt(world, "retention")
    assert done.returncode == 1 and "another retention run holds the lock" in done.stderr


def test_retention_without_redis_exits_1(tmp_path: Path) -> None:
    world = World("redis://127.0.0.1:1", tmp_path / "audit.jsonl", "", "", "", "", "")
    done = direkt(world, "retention")
    assert done.returncode == 1 and "Redis" in done.stderr

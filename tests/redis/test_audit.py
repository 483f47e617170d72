"""The audit log against real Redis (embedded and a 3-master cluster) and a real file.

HSLF-FS 2016:40 4 kap. 9 §: every access to patient data is logged with
action, unit, time, user and patient, and nothing is ever overwritten.

Personal identity numbers: Skatteverket's published test numbers
(server/data/test_personnummer.txt, named in tests/support_hub.py).
"""

from __future__ import annotations

import itertools
import stat
from pathlib import Path

import orjson
import pytest
import structlog
from redis.asyncio import Redis, RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from support import at, free_port, short_tmpdir
from support_hub import ELSA, ERIK, GUARDIAN, UNLISTED

from direkt.queue.scripts import RedisClient
from direkt.server.care import audit
from direkt.server.care.audit import AuditError, AuditLog, AuditRecord, is_operation, read_file
from direkt.server.errors import RedisUnavailable
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.redis.keys import AUDIT_STREAM

PATIENT = ERIK  # the patient most tests are about
CHILD = ELSA
OTHER = UNLISTED
T0 = at("2026-11-23 10:00")


def access(
    patient: str, action: str = "case.read", *, ts_ms: int = T0, case_id: str = "a.C1", **more: str
) -> AuditRecord:
    return AuditRecord(
        ts_ms=ts_ms, actor="nurse-a1", role="nurse", unit="vc-a1", action=action, case_id=case_id, patient=patient,
        **more,
    )  # fmt: skip


async def test_a_record_reads_back_as_it_was_written(redis_client: RedisClient) -> None:
    log = AuditLog(redis_client, None)
    rec = AuditRecord(
        ts_ms=T0, actor="doc-a", role="doctor", unit="vc-a2", action="case.transfer", case_id="a.C7",
        patient=PATIENT, detail="1177-a",
    )  # fmt: skip
    stream_id = await log.record(rec)
    assert stream_id.count("-") == 1
    assert await log.for_patient(PATIENT) == [rec]


async def test_an_export_holds_the_patients_records_and_those_as_guardian(redis_client: RedisClient) -> None:
    log = AuditLog(redis_client, None)
    own = access(PATIENT, case_id="a.C1")
    childs = access(CHILD, "transcript.read", case_id="a.C2", guardian=GUARDIAN)
    guardian_own = access(GUARDIAN, case_id="a.C3")
    someone_else = access(OTHER, case_id="a.C4")
    for rec in (own, childs, guardian_own, someone_else):
        await log.record(rec)

    assert await log.for_patient(PATIENT) == [own]
    assert await log.for_patient(CHILD) == [childs]
    assert await log.for_patient(GUARDIAN) == [childs, guardian_own]
    assert await log.for_patient("189001019802") == []


async def test_records_come_back_in_the_order_they_were_made_across_pages(redis_client: RedisClient) -> None:
    log = AuditLog(redis_client, None)
    made = []
    for i in range(23):
        # clocks of several servers disagree: order is the stream's, not ts_ms
        mine = access(PATIENT, ts_ms=T0 + (i * 7919) % 1000, case_id=f"a.C{i}")
        await log.record(mine)
        await log.record(access(OTHER, case_id=f"a.X{i}"))
        made.append(mine)
    for page in (1, 4, 46, 1000):
        assert await log.for_patient(PATIENT, page=page) == made


async def test_the_file_holds_the_same_records_with_stream_ids_private_to_the_owner(
    redis_client: RedisClient, tmp_path: Path
) -> None:
    path = tmp_path / "not" / "yet" / "audit.jsonl"
    log = AuditLog(redis_client, path)
    made = [access(PATIENT, "case.claim"), access(CHILD, guardian=GUARDIAN), access(PATIENT, "case.close")]
    ids = [await log.record(rec) for rec in made]

    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["id"] for line in lines] == ids
    assert [AuditRecord.from_fields(line) for line in lines] == made
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_file(path, PATIENT) == await log.for_patient(PATIENT) == [made[0], made[2]]
    assert read_file(path, GUARDIAN) == [made[1]]


async def test_several_records_at_once_are_kept_in_order_in_both_stores(
    redis_client: RedisClient, tmp_path: Path
) -> None:
    """One read that shows several cases (the console's earlier contacts) records each of them."""
    path = tmp_path / "audit.jsonl"
    log = AuditLog(redis_client, path)
    before = await log.record(access(PATIENT, "earlier.list", case_id="a.C9"))
    made = [access(PATIENT, "earlier.read", case_id=f"a.C{i}", detail="via:a.C9") for i in (3, 1)]
    made.append(access(CHILD, "earlier.read", case_id="a.C5", guardian=GUARDIAN))
    ids = await log.record_all(made)
    order = [tuple(map(int, i.split("-"))) for i in (before, *ids)]
    assert order == sorted(set(order))  # each its own id, after the one before
    assert await log.record_all([]) == []
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert [line["id"] for line in lines] == [before, *ids]
    assert (await log.for_patient(PATIENT))[1:] == read_file(path, PATIENT)[1:] == made[:2]
    assert read_file(path, GUARDIAN) == await log.for_patient(GUARDIAN) == [made[2]]


@pytest.mark.parametrize("kind", ["standalone", "cluster"])
async def test_without_redis_recording_fails_and_nothing_is_written(kind: str, tmp_path: Path) -> None:
    url = f"redis://127.0.0.1:{free_port()}"  # nothing listens there
    options = {"socket_connect_timeout": 1.0, "retry": Retry(NoBackoff(), 0)}
    client: RedisClient = Redis.from_url(url, **options) if kind == "standalone" else RedisCluster.from_url(url)
    path = tmp_path / "audit.jsonl"
    try:
        with pytest.raises(RedisUnavailable):
            await AuditLog(client, path).record(access(PATIENT))
    finally:
        await client.aclose()
    assert not path.exists()  # the caller refuses the access, so nothing was accessed


async def test_an_unwritable_file_does_not_lose_the_record_or_log_the_patient(
    redis_client: RedisClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured = structlog.testing.CapturingLogger()
    monkeypatch.setattr(audit, "log", captured)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    log = AuditLog(redis_client, blocker / "audit.jsonl")  # its "directory" is a file

    rec = access(CHILD, guardian=GUARDIAN)
    stream_id = await log.record(rec)

    assert await log.for_patient(CHILD) == [rec]
    [call] = captured.calls
    assert call.method_name == "warning" and call.kwargs["stream_id"] == stream_id
    said = repr(call)
    assert CHILD not in said and GUARDIAN not in said and str(blocker) not in said


async def test_the_log_is_append_only(redis_client: RedisClient) -> None:
    log = AuditLog(redis_client, None)
    same = access(PATIENT)
    ids = [await log.record(same) for _ in range(5)]
    assert all(_key(a) < _key(b) for a, b in itertools.pairwise(ids))
    assert await redis_client.xlen(AUDIT_STREAM) == 5
    assert await log.for_patient(PATIENT) == [same] * 5


async def test_records_survive_a_redis_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(short_tmpdir("dk-audit-"), fsync="always").start()
    try:
        client = await connect(server.url)
        made = [access(PATIENT, case_id=f"a.C{i}") for i in range(3)]
        for rec in made:
            await AuditLog(client, None).record(rec)
        await client.aclose()
        server.stop()
        server.start()
        client = await connect(server.url)
        try:
            assert await AuditLog(client, None).for_patient(PATIENT) == made
        finally:
            await client.aclose()
    finally:
        server.stop()


async def test_a_line_cut_short_by_a_crash_is_skipped(redis_client: RedisClient, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(redis_client, path)
    made = [access(PATIENT, case_id="a.C1"), access(PATIENT, case_id="a.C2")]
    for rec in made:
        await log.record(rec)
    with path.open("ab") as file:
        file.write(b'{"id":"9999999999999-0","ts_ms":17')  # the crash
    assert read_file(path, PATIENT) == made


def test_a_corrupt_line_inside_the_file_is_an_error_naming_only_its_number(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    good = access(PATIENT).to_json(stream_id="1-0")
    path.write_bytes(good + b"\n" + b'{"patient":"' + PATIENT.encode() + b'"\n' + good + b"\n")
    with pytest.raises(AuditError, match="line 2") as caught:
        read_file(path, PATIENT)
    assert PATIENT not in caught.value.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"patient": "19910831-2399"}, "patient"),
        ({"patient": ""}, "patient"),
        ({"guardian": "9108312399"}, "guardian"),
        ({"outcome": "maybe"}, "outcome"),
        ({"detail": "patienten skrev att hon har ont"}, "detail"),  # message text never goes in
        ({"action": ""}, "action"),
        ({"case_id": ""}, "case_id"),
        ({"actor": ""}, "actor"),
    ],
)
def test_malformed_records_are_refused_without_echoing_the_value(change: dict[str, str], field: str) -> None:
    fields = {**access(PATIENT).to_fields(), **change}
    with pytest.raises(AuditError, match=field) as caught:
        AuditRecord.from_fields(fields)
    assert PATIENT not in caught.value.message and "9108312399" not in caught.value.message


def test_a_denied_access_to_a_case_that_does_not_exist_has_no_patient() -> None:
    rec = AuditRecord(
        ts_ms=T0, actor="nurse-b", role="nurse", unit="vc-b1", action="access.denied", case_id="a.C404",
        patient="", outcome="denied", detail="not_found",
    )  # fmt: skip
    assert AuditRecord.from_fields(rec.to_fields()) == rec


def test_an_operation_names_no_case_and_no_patient() -> None:
    rec = AuditRecord(
        ts_ms=T0, actor="lena.sund", role="supervisor", unit="vc-a1", action="unit.intake_close", case_id="",
        patient="", detail="until:1764000000000",
    )  # fmt: skip
    assert AuditRecord.from_fields(rec.to_fields()) == rec
    assert is_operation("config.unit") and not is_operation("case.read")
    with pytest.raises(AuditError, match="no patient") as caught:
        AuditRecord.from_fields({**rec.to_fields(), "patient": PATIENT})
    assert PATIENT not in caught.value.message
    with pytest.raises(AuditError, match="case_id"):  # a patient's action still names its case
        AuditRecord.from_fields({**rec.to_fields(), "action": "case.read"})


async def test_an_export_needs_a_12_digit_number(redis_client: RedisClient) -> None:
    with pytest.raises(AuditError):
        await AuditLog(redis_client, None).for_patient("19910831-2399")
    with pytest.raises(AuditError):
        await AuditLog(redis_client, None).for_patient("")


def _key(stream_id: str) -> tuple[int, int]:
    ms, seq = stream_id.split("-")
    return int(ms), int(seq)

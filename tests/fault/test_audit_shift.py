"""A scripted shift against the access log (TARGETS 25): one complete record per patient-data
access, nothing more, nothing less; append-only; through a server kill -9 and a Redis kill -9.

Two nurses and three citizens (one a guardian acting for her child) do every kind of access
the server audits: a case file read over HTTP (and through the phrase templates), claims,
joins (the transcript over the socket) and transcript pages over HTTP, photo upload and read,
release, transfer, close, a release by the join window (the system), and the refusals: another
citizen's case, a child of 13, a case of another unit, a claim of a held case, a close and a
chat write by a nurse who does not hold the case. The test keeps a ledger of each access it
makes (who, role, unit, patient, guardian, action, outcome, and the time window it happened
in) and compares it with the log read back the supported ways: ``direkt audit export`` from
Redis and from the JSON-lines file, and the stream itself.

Mid-shift the citizens' server process is killed (SIGKILL) and started again on its port,
and then Redis (AOF ``appendfsync always``) is killed and started again on its directory:
every record written before each kill is still there afterwards, byte for byte, in order (the
stream's entries and the file's lines), and the shift goes on. An access tried while Redis
is down is refused (fail closed) and leaves no record.
"""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from PIL import Image
from support import DIREKT_SERVE, ServerProcess, free_port, short_tmpdir, timeout
from support_hub import ELSA, ERIK, GUARDIAN, LOVA, citizen, frames_until, refused, staff, waiting_case

from direkt.loadtests.client import Client, Socket
from direkt.server.care.audit import AuditRecord
from direkt.server.redis import keys
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

CHILD_FEVER = {"fever": True, "temperature": 38.5, "fever_days": 1}
JOIN_WINDOW_S = 5  # Lova never joins the chat a nurse opens for her: the system releases it after this
SERVER_ENV = {"DIREKT_LEASE_SECONDS": "30", "DIREKT_JOIN_WINDOW_SECONDS": str(JOIN_WINDOW_S)}


def server_env(audit_file: Path) -> dict[str, str]:
    """Every server process writes the same audit file (each would have its own in its data dir)."""
    return SERVER_ENV | {"DIREKT_AUDIT_FILE": str(audit_file)}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Access:
    """One access the shift made, as its audit record must name it."""

    actor: str
    role: str
    unit: str
    action: str
    case_id: str
    patient: str
    guardian: str
    outcome: str
    detail: str


class Ledger:
    """The shift's own account: each access, in order, with the window of time it was made in."""

    def __init__(self) -> None:
        self.accesses: list[Access] = []
        self.windows: list[tuple[int, int]] = []

    async def made(self, access: Access, call: Awaitable[Any]) -> Any:
        started = now_ms()
        result = await call
        self.accesses.append(access)
        self.windows.append((started, now_ms()))
        return result

    def check(self, records: list[AuditRecord]) -> None:
        """Exactly one record per access, in the order made, each stamped within its access's window."""
        got = [Access(r.actor, r.role, r.unit, r.action, r.case_id, r.patient, r.guardian, r.outcome, r.detail)
               for r in records]  # fmt: skip
        assert [astuple(a) for a in got] == [astuple(a) for a in self.accesses]
        for rec, (started, ended) in zip(records, self.windows, strict=True):
            assert started <= rec.ts_ms <= ended, (rec.action, rec.case_id, started, rec.ts_ms, ended)

    def about(self, pnr: str) -> list[Access]:
        return [a for a in self.accesses if pnr in (a.patient, a.guardian)]


# --- reading the log back -----------------------------------------------------------------------


async def stream(redis_url: str) -> list[tuple[bytes, dict[bytes, bytes]]]:
    """The audit stream as Redis holds it: (id, fields), raw bytes, oldest first."""
    client = await connect(redis_url)
    try:
        entries: Any = await client.xrange(keys.AUDIT_STREAM)
    finally:
        await client.aclose()
    return [(entry_id, dict(fields)) for entry_id, fields in entries]


def export(pnr: str, *source: str) -> list[Access]:
    """``direkt audit export --json`` for one patient: from Redis (``--redis-url``) or the file (``--file``)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DIREKT_") and k != "REDIS_URL"}
    done = subprocess.run(
        [*DIREKT_SERVE[:-1], "audit", "export", "--patient", pnr, "--json", *source],
        env=environ | {"PYTHONSAFEPATH": "1"},
        capture_output=True,
        timeout=timeout(60),
        check=True,
    )
    records = [AuditRecord.from_fields(orjson.loads(line)) for line in done.stdout.splitlines()]
    return [Access(r.actor, r.role, r.unit, r.action, r.case_id, r.patient, r.guardian, r.outcome, r.detail)
            for r in records]  # fmt: skip


def file_bytes(path: Path) -> bytes:
    return path.read_bytes()


def file_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@dataclass
class Snapshot:
    entries: list[tuple[bytes, dict[bytes, bytes]]]
    file: bytes


async def snapshot(redis_url: str, audit_file: Path) -> Snapshot:
    return Snapshot(await stream(redis_url), file_bytes(audit_file))


async def unchanged_since(before: Snapshot, redis_url: str, audit_file: Path) -> None:
    """What was written before is still there, byte for byte, in the same order, in both stores."""
    after = await snapshot(redis_url, audit_file)
    assert after.entries[: len(before.entries)] == before.entries
    assert after.file.startswith(before.file)


# --- the shift's moves ----------------------------------------------------------------------------


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


async def upload(client: Client, case: str) -> str:
    headers = {"X-CSRF-Token": client.csrf, "Content-Type": "image/jpeg"}
    response = await client.http.post(f"/api/cases/{case}/photos", content=photo(), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["photo"])


async def upload_refused(client: Client, case: str, status: int, code: str) -> None:
    headers = {"X-CSRF-Token": client.csrf, "Content-Type": "image/jpeg"}
    response = await client.http.post(f"/api/cases/{case}/photos", content=photo(), headers=headers)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


async def read_photo(client: Client, case: str, photo_id: str, status: int = 200) -> None:
    response = await client.http.get(f"/api/cases/{case}/photos/{photo_id}")
    assert response.status_code == status, response.text


async def request_ok(sock: Socket, frame: dict[str, Any], reply: str) -> dict[str, Any]:
    got = await sock.request(frame, reply, timeout(10))
    assert got["t"] == reply, got
    return got


async def request_refused(sock: Socket, frame: dict[str, Any], code: str) -> None:
    got = await sock.request(frame, "error", timeout(10))
    assert (got["t"], got.get("code")) == ("error", code), got


async def joined(sock: Socket, case: str) -> None:
    """Follow ``case`` (the reply is the ``case`` frame after the replay)."""
    await request_ok(sock, {"t": "join", "case": case}, "case")


async def chat(sock: Socket, case: str, cid: str) -> None:
    await request_ok(sock, {"t": "send", "case": case, "cid": cid, "text": f"Meddelande {cid}"}, "ack")


async def until_waiting(nurse: Client, case: str, seconds: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    while case not in {row["case"] for row in (await nurse.call("GET", "/api/staff/queue"))["cases"]}:
        assert loop.time() < deadline, f"{case} did not come back to the queue"
        await asyncio.sleep(0.1)  # polls the queue


@dataclass
class Crew:
    """Everyone on the shift; sockets are replaced when their server dies."""

    erik: Client
    maja: Client
    lova: Client
    nora: Client  # nurse-1: units vc-t and 1177-t, on the server that stays up
    olle: Client  # nurse-2: unit vc-t only, on the citizens' server
    sockets: dict[str, Socket]

    async def socket(self, name: str, client: Client) -> Socket:
        sock = await client.socket()
        self.sockets[name] = sock
        return sock


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    redis = EmbeddedRedis(short_tmpdir("dk-aredis-"), fsync="always", port=free_port()).start()
    yield redis
    redis.stop()


@pytest.fixture
def audit_file() -> Path:
    return short_tmpdir("dk-audit-") / "audit.jsonl"


@pytest.fixture
async def crew_and_servers(
    own_redis: EmbeddedRedis, audit_file: Path
) -> AsyncIterator[tuple[Crew, list[ServerProcess]]]:
    """The citizens' server (A: Erik, Maja, Lova and Olle) and the nurses' (B: Nora), one audit file."""
    env = server_env(audit_file)
    servers = [ServerProcess(own_redis.url, **env)]
    async with AsyncExitStack() as stack:
        stack.callback(lambda: [s.stop() for s in servers])
        servers.append(ServerProcess(own_redis.url, **env))
        a, b = servers[0].base, servers[1].base
        clients = [await citizen(a, ERIK), await citizen(a, GUARDIAN), await citizen(a, LOVA)]
        clients += [await staff(b, "nurse-1"), await staff(a, "nurse-2")]
        for client in clients:
            stack.push_async_callback(client.aclose)
        crew = Crew(*clients, sockets={})

        async def close_sockets() -> None:
            for sock in crew.sockets.values():
                await sock.close()

        stack.push_async_callback(close_sockets)
        yield crew, servers


# --- the shift ---------------------------------------------------------------------------------------


async def test_a_scripted_shift_leaves_one_record_per_access_through_a_server_and_a_redis_kill(
    own_redis: EmbeddedRedis, audit_file: Path, crew_and_servers: tuple[Crew, list[ServerProcess]]
) -> None:
    crew, servers = crew_and_servers
    ledger = Ledger()
    erik_uid, maja_uid = str(crew.erik.me["uid"]), str(crew.maja.me["uid"])

    def nora(unit: str, action: str, case: str, patient: str, guardian: str = "", outcome: str = "ok",
             detail: str = "") -> Access:  # fmt: skip
        return Access("nurse-1", "nurse", unit, action, case, patient, guardian, outcome, detail)

    def olle(unit: str, action: str, case: str, patient: str, guardian: str = "", outcome: str = "ok",
             detail: str = "") -> Access:  # fmt: skip
        return Access("nurse-2", "nurse", unit, action, case, patient, guardian, outcome, detail)

    # -- the morning: three cases in the waiting room (nothing read by staff yet, nothing audited)
    eriks = await waiting_case(crew.erik)
    view = await crew.maja.triage_as("seek_care", "child_fever", CHILD_FEVER, child=ELSA)
    elsas = str((await crew.maja.submit(view["id"], chat_anyway=True))["case"])
    lovas = await waiting_case(crew.lova)
    es = await crew.socket("erik", crew.erik)
    await joined(es, eriks)
    ms = await crew.socket("maja", crew.maja)
    await joined(ms, elsas)
    n1 = await crew.socket("nora", crew.nora)
    n2 = await crew.socket("olle", crew.olle)
    assert await crew.erik.call("GET", f"/api/cases/{eriks}")  # a citizen's own reads are not staff access

    # -- Nora reads Erik's case, claims it, opens the chat, exchanges a photo and reads it all
    await ledger.made(nora("vc-t", "case.read", eriks, ERIK), crew.nora.call("GET", f"/api/staff/cases/{eriks}"))
    await ledger.made(nora("vc-t", "case.claim", eriks, ERIK), request_ok(n1, {"t": "claim", "case": eriks}, "claimed"))
    await ledger.made(nora("vc-t", "transcript.read", eriks, ERIK), joined(n1, eriks))
    await frames_until(es, "case", 10, case=eriks, state="joined")
    await chat(es, eriks, "e-1")
    await chat(n1, eriks, "n-1")
    photo_id = await ledger.made(nora("vc-t", "photo.upload", eriks, ERIK), upload(crew.nora, eriks))
    await ledger.made(nora("vc-t", "photo.read", eriks, ERIK), read_photo(crew.nora, eriks, photo_id))
    await ledger.made(
        nora("vc-t", "transcript.read", eriks, ERIK), crew.nora.call("GET", f"/api/staff/cases/{eriks}/transcript")
    )
    await ledger.made(
        nora("vc-t", "case.read", eriks, ERIK), crew.nora.call("GET", f"/api/staff/templates?case={eriks}")
    )

    # -- Olle reaches for Erik's case, which Nora holds, then takes Elsa's
    await ledger.made(
        olle("vc-t", "case.claim", eriks, ERIK, outcome="denied"),
        request_refused(n2, {"t": "claim", "case": eriks}, "case_conflict"),
    )
    await ledger.made(
        olle("vc-t", "case.close", eriks, ERIK, outcome="denied", detail="self_care_advice"),
        refused(crew.olle.call("POST", f"/api/staff/cases/{eriks}/close", {"outcome": "self_care_advice"}), 409,
                "conflict"),
    )  # fmt: skip
    await ledger.made(
        olle("vc-t", "case.claim", elsas, ELSA, GUARDIAN), request_ok(n2, {"t": "claim", "case": elsas}, "claimed")
    )
    await ledger.made(olle("vc-t", "transcript.read", elsas, ELSA, GUARDIAN), joined(n2, elsas))
    await frames_until(ms, "case", 10, case=elsas, state="joined")
    await chat(ms, elsas, "m-1")

    # -- citizens reach for cases not theirs: refused as if they did not exist, and audited
    def refusal(actor: str, role: str, action: str, case: str, patient: str, guardian: str = "") -> Access:
        return Access(actor, role, "", action, case, patient, guardian, "denied", "not_found")

    await ledger.made(
        refusal(erik_uid, "citizen", "case.read", elsas, ELSA, GUARDIAN),
        refused(crew.erik.call("GET", f"/api/cases/{elsas}"), 404, "not_found"),
    )
    await ledger.made(
        refusal(erik_uid, "citizen", "transcript.read", elsas, ELSA, GUARDIAN),
        request_refused(es, {"t": "join", "case": elsas}, "not_found"),
    )
    lova_13: list[tuple[str, Callable[[], Awaitable[Any]]]] = [  # Maja's daughter, but 13: she logs in herself
        ("case.read", lambda: refused(crew.maja.call("GET", f"/api/cases/{lovas}"), 404, "not_found")),
        ("transcript.read", lambda: refused(crew.maja.call("GET", f"/api/cases/{lovas}/transcript"), 404, "not_found")),
        ("photo.upload", lambda: upload_refused(crew.maja, lovas, 404, "not_found")),
        ("photo.read", lambda: read_photo(crew.maja, lovas, photo_id, 404)),
        ("case.abandon", lambda: refused(crew.maja.call("POST", f"/api/cases/{lovas}/abandon"), 404, "not_found")),
    ]
    for action, call in lova_13:
        await ledger.made(refusal(maja_uid, "guardian", action, lovas, LOVA), call())

    # -- kill -9 of the citizens' server (Olle's too), started again on its port
    before = await snapshot(own_redis.url, audit_file)
    assert len(before.entries) == len(ledger.accesses)
    servers[0].kill()
    servers[0] = ServerProcess(own_redis.url, port=servers[0].port, **server_env(audit_file))
    await unchanged_since(before, own_redis.url, audit_file)

    # -- the shift goes on: everyone on that server reconnects; Olle resumes and closes Elsa's case
    es = await crew.socket("erik", crew.erik)
    await joined(es, eriks)
    ms = await crew.socket("maja", crew.maja)
    await joined(ms, elsas)
    n2 = await crew.socket("olle", crew.olle)
    await ledger.made(olle("vc-t", "transcript.read", elsas, ELSA, GUARDIAN), joined(n2, elsas))
    await chat(ms, elsas, "m-2")
    await ledger.made(
        olle("vc-t", "case.close", elsas, ELSA, GUARDIAN, detail="self_care_advice"),
        request_ok(n2, {"t": "close", "case": elsas, "outcome": "self_care_advice"}, "done"),
    )

    # -- Nora sends Erik's case to 1177, where Olle does not serve: his read is refused
    await ledger.made(
        nora("vc-t", "case.transfer", eriks, ERIK, detail="1177-t:nurse"),
        request_ok(n1, {"t": "transfer", "case": eriks, "unit": "1177-t", "skill": "nurse"}, "done"),
    )
    await ledger.made(
        olle("1177-t", "case.read", eriks, ERIK, outcome="denied"),
        refused(crew.olle.call("GET", f"/api/staff/cases/{eriks}"), 403, "forbidden"),
    )

    # -- Nora opens Lova's chat; Lova never comes, and the join window gives the case back
    await ledger.made(nora("vc-t", "case.claim", lovas, LOVA), request_ok(n1, {"t": "claim", "case": lovas}, "claimed"))
    started = now_ms()
    gone = await n1.expect("done", timeout(JOIN_WINDOW_S + 15), case=lovas)
    ledger.accesses.append(Access("system", "system", "vc-t", "case.release", lovas, LOVA, "", "ok", "join_window"))
    ledger.windows.append((started, now_ms()))
    assert gone["state"] == "released"  # her console is told at once, not at the next lease heartbeat
    await until_waiting(crew.olle, lovas, 10)
    await ledger.made(olle("vc-t", "case.claim", lovas, LOVA), request_ok(n2, {"t": "claim", "case": lovas}, "claimed"))
    await ledger.made(
        olle("vc-t", "case.close", lovas, LOVA, detail="no_contact"),
        request_ok(n2, {"t": "close", "case": lovas, "outcome": "no_contact"}, "done"),
    )

    # -- kill -9 of Redis: an access meanwhile is refused and leaves no record; then it comes back
    before = await snapshot(own_redis.url, audit_file)
    assert len(before.entries) == len(ledger.accesses)
    own_redis.kill()
    await refused(crew.nora.call("GET", f"/api/staff/cases/{eriks}"), 503, "redis_unavailable")
    own_redis.start()
    await unchanged_since(before, own_redis.url, audit_file)
    await n1.expect("queue", timeout(20), ref="")  # the snapshot her socket gets when its fan-out is back

    # -- the shift goes on: Nora takes Erik's case at 1177; her second tab lets it go
    claimed = await ledger.made(
        nora("1177-t", "case.claim", eriks, ERIK), request_ok(n1, {"t": "claim_next", "rid": "after-redis"}, "claimed")
    )
    assert claimed["case"] == eriks
    n1b = await crew.socket("nora-2", crew.nora)
    await ledger.made(
        nora("1177-t", "case.release", eriks, ERIK), request_ok(n1b, {"t": "release", "case": eriks}, "done")
    )
    assert (await n1.expect("done", timeout(10), case=eriks))["state"] == "released"
    await ledger.made(
        nora("1177-t", "chat.write", eriks, ERIK, outcome="denied", detail="conflict"),
        request_refused(n1, {"t": "send", "case": eriks, "cid": "n-late", "text": "Hej igen"}, "conflict"),
    )
    await ledger.made(
        nora("1177-t", "case.claim", eriks, ERIK), request_ok(n1b, {"t": "claim_next", "rid": "again"}, "claimed")
    )
    await ledger.made(
        nora("1177-t", "case.close", eriks, ERIK, detail="visit_booked"),
        request_ok(n1b, {"t": "close", "case": eriks, "outcome": "visit_booked"}, "done"),
    )

    # -- the end of the shift: the log, read back every supported way, is the ledger
    entries = await stream(own_redis.url)
    ledger.check([AuditRecord.from_fields(fields) for _, fields in entries])
    lines = [orjson.loads(line) for line in file_bytes(audit_file).splitlines()]
    assert [line["id"] for line in lines] == [entry_id.decode() for entry_id, _ in entries]
    ledger.check([AuditRecord.from_fields(line) for line in lines])
    for pnr in (ERIK, ELSA, LOVA, GUARDIAN):
        assert export(pnr, "--redis-url", own_redis.url) == ledger.about(pnr)
        assert export(pnr, "--file", str(audit_file)) == ledger.about(pnr)
    assert file_mode(audit_file) == 0o600  # the server's own: personal identity numbers are in it

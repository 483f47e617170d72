"""The queue and the nurse's workflow over real WebSockets, a real ``direkt serve`` and real Redis.

Staff-only notes that never reach the citizen, release, transfer and close,
coalesced queue positions that move within a second, a queue without staff,
claims in deadline order, pick-from-list units and capacity, leases kept alive
by an open console, chat-ready notices by app and SMS, the join window, and the
access log. Delivery itself (retries, resumes, replays) is in test_ws_delivery.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from support import ServerProcess, timeout
from support_hub import (
    CANNOT_DRINK,
    DELIVERY_SERVER_ENV,
    ERIK,
    GUARDIAN,
    SORE_THROAT,
    UNLISTED,
    ask,
    audit_log,
    barrier,
    citizen,
    find,
    frames_until,
    kinds,
    open_chat,
    queue_row,
    rejoin,
    send,
    staff,
    until_waiting,
    waiting_case,
    welcomed,
)
from support_sms import SmsReceiver, sms_receiver

from direkt.loadtests.client import Client, Socket
from direkt.queue.scripts import RedisClient
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

SERVER_ENV = DELIVERY_SERVER_ENV  # the module's server (tests/hub/conftest.py)

ERIK_PHONE = "+46701740606"


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsReceiver]:
    with sms_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def notifying(standalone_redis: EmbeddedRedis, sms: SmsReceiver) -> Iterator[ServerProcess]:
    """SMS through the receiver above; a citizen has one second to join a ready chat."""
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_JOIN_WINDOW_SECONDS="1",
        DIREKT_REAP_INTERVAL_SECONDS="0.2",
        DIREKT_SMS_URL=sms.url,
    )
    yield process
    process.stop()


# --- staff-only entries, transfer, close ----------------------------------------------------------


async def test_a_transfer_to_a_unit_that_cannot_take_the_patient_is_refused(server: ServerProcess) -> None:
    """The dialog lists only units that take the patient's age; the server holds to it too."""
    async with open_chat(server.base) as chat:  # Erik, an adult
        frame = {"t": "transfer", "case": chat.case, "unit": "bvc-t", "skill": "nurse", "note": ""}
        refused = await chat.ns.request(frame, "done")
        assert (refused["t"], refused["code"]) == ("error", "bad_request"), refused
        assert "Testby BVC" in refused["message"]
        # nothing moved: the nurse still holds the case and the chat goes on
        ack = await chat.ns.request(
            {"t": "send", "case": chat.case, "cid": "still-mine", "text": "Jag är kvar."}, "ack"
        )
        assert ack["t"] == "ack", ack
        await frames_until(chat.cs, "msg", cid="still-mine")


async def test_transfer_and_journal_notes_reach_staff_and_never_the_citizen(server: ServerProcess) -> None:
    transfer_note = "Behöver bedömas av Annanby, misstänkt halsböld."
    journal_note = "Journal: egenvård, åter vid försämring."
    async with open_chat(server.base) as chat:
        pia = await staff(server.base, "nurse-other")
        try:
            psock = await welcomed(pia)
            assert (await psock.recv(timeout(5)))["t"] == "queue"
            frame = {"t": "transfer", "case": chat.case, "unit": "vc-other", "skill": "nurse", "note": transfer_note}
            done, before = await ask(chat.ns, frame, "done")
            assert done["state"] == "transferred"

            # Nora, still following, sees her note; Pia sees the case arrive in her queue.
            note = await find(chat.ns, before, "msg", code="transfer")
            assert note["staff_only"] is True and note["text"] == transfer_note
            event = await psock.expect("queue_event")
            assert (event["event"]["t"], event["event"]["case"], event["event"]["unit"]) == (
                "transferred",
                chat.case,
                "vc-other",
            )
            assert (await queue_row(psock, chat.case) or {}).get("unit") == "vc-other"

            # The citizen is told where the case went, to whom, and is waiting again.
            told = await frames_until(chat.cs, "case", state="waiting")
            [moved] = kinds(told, "msg")
            assert moved["code"] == "transferred" and "en sjuksköterska på Annanby vårdcentral" in moved["text"]
            where = {"unit": "vc-other", "unit_name": "Annanby vårdcentral", "skill": "nurse"}
            assert {k: moved[k] for k in where} == where
            assert (told[-1]["back"], told[-1]["queue"]) == ("transferred", where)
            status = await chat.citizen.call("GET", f"/api/cases/{chat.case}")
            assert status["state"] == "waiting" and {k: status["queue"][k] for k in where} == where
            assert (status["queue"]["home_unit_name"], status["queue"]["home_open"]) == ("Testby vårdcentral", True)

            claimed = await psock.request({"t": "claim_next", "rid": "pia-1"}, "claimed")
            assert claimed["case"] == chat.case
            assert (claimed["file"]["unit"], claimed["file"]["skill"]) == ("vc-other", "nurse")
            ready = await frames_until(chat.cs, "case", state="ready")
            assert (ready[-1]["staff_name"], ready[-1]["profession"]) == ("Pia Annan", "nurse")
            joined = await frames_until(psock, "case", case=chat.case, ref=await join(psock, chat.case))
            assert [m["text"] for m in kinds(joined, "msg", code="transfer")] == [transfer_note]

            close = {"t": "close", "case": chat.case, "outcome": "self_care_advice", "note": journal_note}
            done, before = await ask(psock, close, "done")
            assert done["state"] == "closed"
            journal = await find(psock, before, "msg", code="journal")
            assert journal["staff_only"] is True and journal["text"] == journal_note

            live = await frames_until(chat.cs, "case", state="closed")
            replay = await rejoin(chat.citizen, chat.case)
            await psock.close()
        finally:
            await pia.aclose()
    for frames in (live, replay):
        assert not [m for m in kinds(frames, "msg") if m.get("staff_only") or m.get("k") == "note"]
        assert transfer_note not in str(frames) and journal_note not in str(frames)
    told = [m["code"] for m in kinds(replay, "msg", k="system")]
    assert told == ["chat_ready", "transferred", "chat_ready", "closed"]


async def join(sock: Socket, case: str) -> str:
    ref = f"join-{next(sock.refs)}"
    await sock.send({"t": "join", "case": case, "ref": ref})
    return ref


async def test_close_tells_the_citizen_and_ends_writing(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        await send(chat.cs, chat.case, "c1", "Tack för hjälpen!")
        reply = await chat.ns.request({"t": "close", "case": chat.case, "outcome": "self_care_advice"}, "done")
        assert reply["state"] == "closed"
        frames = await frames_until(chat.cs, "case", state="closed")
        assert kinds(frames, "msg", code="closed")
        late = await chat.cs.request({"t": "send", "case": chat.case, "cid": "c2", "text": "En sak till"}, "ack")
        assert (late["t"], late["code"]) == ("error", "conflict") and "closed" in late["message"]
        again = await chat.ns.request({"t": "send", "case": chat.case, "cid": "n1", "text": "Hej då"}, "ack")
        assert (again["t"], again["code"]) == ("error", "conflict")


async def test_release_puts_the_citizen_back_in_the_queue_and_says_so(server: ServerProcess) -> None:
    async with open_chat(server.base) as chat:
        assert (await chat.ns.request({"t": "release", "case": chat.case}, "done"))["state"] == "released"
        frames = await frames_until(chat.cs, "case", state="waiting")
        [back] = kinds(frames, "msg")
        assert back["k"] == "system" and back["code"] == "returned" and back["text_en"]
        position = await chat.cs.expect("position", case=chat.case)  # the waiting-room view is back
        assert position["position"] == 1
        late = await chat.cs.request({"t": "send", "case": chat.case, "cid": "c1", "text": "Hallå?"}, "ack")
        assert (late["t"], late["code"]) == ("error", "conflict")


# --- queue positions -----------------------------------------------------------------------------


async def test_positions_are_coalesced_and_move_as_cases_ahead_are_claimed(server: ServerProcess) -> None:
    erik = await citizen(server.base)
    maja = await citizen(server.base, GUARDIAN)
    nora = await staff(server.base)
    try:
        for _ in range(4):  # ahead of Maja
            await waiting_case(erik)
        mine = await waiting_case(maja)
        behind = [(await erik.triage("seek_care", [(q, a) for q, a in SORE_THROAT]))["id"] for _ in range(6)]
        msock = await welcomed(maja)
        await msock.send({"t": "join", "case": mine})
        first = await msock.expect("position", case=mine)
        assert (first["position"], first["depth"]) == (5, 5)
        nsock = await welcomed(nora)

        # Eight queue changes in a moment: six cases join behind Maja, two ahead of her are claimed.
        claims = [{"t": "claim_next", "rid": f"burst-{i}"} for i in range(2)]
        await asyncio.gather(*(erik.submit(tid) for tid in behind), *(nsock.send(c) for c in claims))
        taken = [(await nsock.expect("claimed"))["case"] for _ in claims]
        assert mine not in taken and None not in taken
        # Every frame up to the one that shows where the burst left Maja: third of nine.
        burst = kinds(await frames_until(msock, "position", 5, position=3, depth=9), "position")

        # Then one claim at a time, each in an interval of its own: one frame each.
        steps = []
        for i in range(2):
            assert (await nsock.request({"t": "claim_next", "rid": f"step-{i}"}, "claimed"))["case"] != mine
            moved = await frames_until(msock, "position", 5, position=2 - i, depth=8 - i)
            steps.append(kinds(moved + await barrier(msock), "position"))
        await msock.close()
        await nsock.close()
    finally:
        for client in (erik, maja, nora):
            await client.aclose()
    assert 1 <= len(burst) <= 3, burst  # not one frame per change
    assert (burst[-1]["position"], burst[-1]["depth"]) == (3, 9)
    places = [first["position"]] + [p["position"] for p in burst]
    assert places == sorted(places, reverse=True)
    assert [[(p["position"], p["depth"]) for p in step] for step in steps] == [[(2, 8)], [(1, 7)]]
    assert all(p["estimated_wait_ms"] is None or p["estimated_wait_ms"] >= 0 for p in burst + steps[0] + steps[1])


async def test_a_queue_whose_only_staff_are_away_is_unstaffed_and_one_on_a_pause_is_not(
    server: ServerProcess,
) -> None:
    """The waiting room's "no one is there" follows availability, not only an open console."""
    erik = await citizen(server.base)
    nora = await staff(server.base)  # the only one online who serves Erik's queue
    try:
        mine = await waiting_case(erik)
        esock = await welcomed(erik)
        await esock.send({"t": "join", "case": mine})
        await frames_until(esock, "position", 5, case=mine, staffed=False)
        nsock = await welcomed(nora)
        await frames_until(esock, "position", 5, case=mine, staffed=True)
        seen = []
        for availability in ("away", "paused", "away", "available"):
            await nora.call("PUT", "/api/staff/availability", {"availability": availability})
            staffed = availability != "away"
            await frames_until(esock, "position", 5, case=mine, staffed=staffed)
            status = await erik.call("GET", f"/api/cases/{mine}")
            seen.append((availability, status["position"]["staffed"]))
        await esock.close()
        await nsock.close()
    finally:
        for client in (erik, nora):
            await client.aclose()
    assert seen == [("away", False), ("paused", True), ("away", False), ("available", True)]


@pytest.fixture(scope="module")
def rare_sweeps(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """Positions swept only every 30 s: a frame sooner is the queue's own change reaching the citizens."""
    process = ServerProcess(standalone_redis.url, DIREKT_POSITION_INTERVAL_SECONDS="30", DIREKT_MESSAGE_RATE="1000")
    yield process
    process.stop()


POSITION_LAG_S = 1.5  # "within about a second", generous for a loaded machine


async def test_a_case_ahead_claimed_or_withdrawn_moves_the_next_citizen_within_a_second(
    rare_sweeps: ServerProcess,
) -> None:
    erik = await citizen(rare_sweeps.base)
    maja = await citizen(rare_sweeps.base, GUARDIAN)
    nora = await staff(rare_sweeps.base)
    loop = asyncio.get_running_loop()
    try:
        ahead = [await waiting_case(erik) for _ in range(3)]
        mine = await waiting_case(maja)
        msock = await welcomed(maja)
        await msock.send({"t": "join", "case": mine})
        assert (await msock.expect("position", timeout(5), case=mine))["position"] == 4
        nsock = await welcomed(nora)
        lags = []
        for place in (3, 2):  # claimed, one after the other
            claimed = await nsock.request({"t": "claim_next", "rid": f"lag-{place}"}, "claimed")
            acked = loop.time()
            assert claimed["case"] in ahead, claimed
            await msock.expect("position", timeout(5), case=mine, position=place)
            lags.append(loop.time() - acked)
        left = (await erik.call("GET", f"/api/cases/{ahead[2]}"))["state"]
        assert left == "waiting", left
        await erik.call("POST", f"/api/cases/{ahead[2]}/abandon")  # withdrawn by the citizen ahead
        withdrawn = loop.time()
        await msock.expect("position", timeout(5), case=mine, position=1)
        lags.append(loop.time() - withdrawn)
        await msock.close()
        await nsock.close()
    finally:
        for client in (erik, maja, nora):
            await client.aclose()
    assert all(lag < POSITION_LAG_S for lag in lags), lags


# --- the nurse's workflow ------------------------------------------------------------------------


async def test_claim_next_takes_the_earliest_deadline_not_the_earliest_arrival(
    server: ServerProcess, erik: Client
) -> None:
    days = await waiting_case(erik)
    urgent = await waiting_case(erik, case=CANNOT_DRINK)  # arrives later, must wait less
    nora = await staff(server.base)
    try:
        nsock = await welcomed(nora)
        snapshot = await nsock.expect("queue")
        assert [row["case"] for row in snapshot["cases"]] == [urgent, days]
        first = await nsock.request({"t": "claim_next", "rid": "a"}, "claimed")
        second = await nsock.request({"t": "claim_next", "rid": "b"}, "claimed")
        third = await nsock.request({"t": "claim_next", "rid": "c"}, "claimed")
        await nsock.close()
    finally:
        await nora.aclose()
    assert (first["case"], first["file"]["triage"]["level"]) == (urgent, "urgent")
    assert second["case"] == days
    assert third["case"] is None  # the queue is empty


async def test_a_pick_from_list_unit_allows_claiming_a_case_and_a_1177_unit_does_not(
    server: ServerProcess, erik: Client
) -> None:
    at_vc = await waiting_case(erik)  # Erik's home unit vc-t picks from the list
    stranger = await citizen(server.base, UNLISTED)  # no home unit: 1177-t, deadline order only
    nora = await staff(server.base)
    try:
        at_1177 = await waiting_case(stranger)
        nsock = await welcomed(nora)
        refused = await nsock.request({"t": "claim", "case": at_1177}, "claimed")
        assert (refused["t"], refused["code"]) == ("error", "forbidden")
        assert "claim next" in refused["message"]
        picked = await nsock.request({"t": "claim", "case": at_vc}, "claimed")
        assert picked["t"] == "claimed" and picked["case"] == at_vc
        assert (await nsock.request({"t": "claim_next", "rid": "n"}, "claimed"))["case"] == at_1177
        await nsock.close()
    finally:
        await stranger.aclose()
        await nora.aclose()


async def test_a_nurse_at_max_chats_is_told_she_is_at_capacity(server: ServerProcess, erik: Client) -> None:
    cases = [await waiting_case(erik) for _ in range(3)]
    olle = await staff(server.base, "nurse-2")  # max_chats = 2
    try:
        osock = await welcomed(olle)
        taken = [(await osock.request({"t": "claim_next", "rid": f"r{i}"}, "claimed"))["case"] for i in range(2)]
        assert taken == cases[:2]
        full = await osock.request({"t": "claim_next", "rid": "r2"}, "claimed")
        picked = await osock.request({"t": "claim", "case": cases[2]}, "claimed")
        await osock.close()
    finally:
        await olle.aclose()
    assert (full["t"], full["code"]) == ("error", "at_capacity")
    assert (picked["t"], picked["code"]) == ("error", "at_capacity")


async def test_heartbeats_hold_a_claim_while_the_console_is_open_and_it_returns_when_it_is_gone(
    server: ServerProcess,
) -> None:
    erik = await citizen(server.base)
    olle = await staff(server.base, "nurse-2")
    try:
        case = await waiting_case(erik)
        osock = await welcomed(olle)
        original = next(row for row in (await osock.expect("queue"))["cases"] if row["case"] == case)
        async with nora_holding(server, case) as nsock:
            await asyncio.sleep(6.5)  # longer than the 5 s lease
            assert await queue_row(osock, case) is None  # still hers: not back in the queue
            assert (await nsock.request({"t": "join", "case": case}, "case"))["state"] == "claimed"
            assert (await nsock.request({"t": "send", "case": case, "cid": "n1", "text": "Hej!"}, "ack"))["t"] == "ack"
        # The console is gone: no heartbeats, the lease runs out, the reaper puts the case back.
        row = await until_waiting(osock, case, seconds=5 + 3)
        assert row["deadline_ms"] == original["deadline_ms"]
        await osock.close()
    finally:
        await erik.aclose()
        await olle.aclose()


@asynccontextmanager
async def nora_holding(server: ServerProcess, case: str) -> AsyncIterator[Socket]:
    """Nora claims ``case`` (the only one waiting) and holds it while the block runs."""
    nora = await staff(server.base)
    try:
        sock = await welcomed(nora)
        assert (await sock.request({"t": "claim_next", "rid": "hold"}, "claimed"))["case"] == case
        yield sock
        await sock.close()
    finally:
        await nora.aclose()


# --- chat-ready notices and the join window -------------------------------------------------------


async def test_the_citizen_is_told_the_chat_is_ready_in_the_app_and_by_one_sms(
    notifying: ServerProcess, sms: SmsReceiver
) -> None:
    sms.received.clear()
    erik = await citizen(notifying.base)
    nora = await staff(notifying.base)
    try:
        case = await waiting_case(erik)
        # His number for the SMS, with consent (issue 23: never the demo file's unasked)
        await erik.call("PUT", f"/api/cases/{case}/phone", {"phone": ERIK_PHONE, "consent": True})
        csock = await welcomed(erik)  # the app is open, the chat not yet joined
        nsock = await welcomed(nora)
        assert (await nsock.request({"t": "claim_next", "rid": "r"}, "claimed"))["case"] == case
        [*_, notice] = await frames_until(csock, "notice", kind="chat_ready", case=case)
        assert "Testby vårdcentral" in notice["text"]["sv"] and notice["text"]["en"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout(5)
        while not sms.received:
            assert loop.time() < deadline, "no SMS was sent"
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)
        await csock.close()
        await nsock.close()
    finally:
        await erik.aclose()
        await nora.aclose()
    [message] = sms.received
    assert message["to"] == ERIK_PHONE and message["message"] == notice["text"]["sv"]
    # The region's brand (the test region's is the neutral default): its sender, its text.
    assert message["from"] == "VardDirekt"
    assert message["message"].startswith("Vården direkt: Din chatt med Testby vårdcentral är redo. Logga in inom 1 min")
    assert ERIK_PHONE not in notifying.output() and "701740606" not in notifying.output()


async def test_a_citizen_who_never_joins_goes_back_to_the_queue_at_the_same_deadline(
    notifying: ServerProcess, redis: RedisClient
) -> None:
    erik = await citizen(notifying.base)
    nora = await staff(notifying.base)
    try:
        case = await waiting_case(erik)
        nsock = await welcomed(nora)
        original = (await nsock.expect("queue"))["cases"][0]
        assert original["case"] == case
        assert (await nsock.request({"t": "claim_next", "rid": "r"}, "claimed"))["case"] == case
        row = await until_waiting(nsock, case, seconds=1 + 3)  # a 1 s window, reaped every 0.2 s
        assert row["deadline_ms"] == original["deadline_ms"]
        frames = await rejoin(erik, case)  # when Erik does look, he is told what happened
        assert kinds(frames, "msg", code="not_joined")
        await nsock.close()
    finally:
        await erik.aclose()
        await nora.aclose()
    [record] = [r for r in await audit_log(redis) if r["action"] == "case.release" and r["case_id"] == case]
    assert (record["detail"], record["actor"], record["patient"], record["unit"]) == ("join_window", "system", ERIK,
                                                                                     "vc-t")  # fmt: skip


# --- the access log and the application log -------------------------------------------------------


async def test_staff_reading_a_chat_is_in_the_access_log_and_no_personal_data_is_in_the_server_log(
    server: ServerProcess, redis: RedisClient
) -> None:
    secret = "Mitt hemliga symptom: blod i urinen sedan tisdag"
    async with open_chat(server.base) as chat:
        await send(chat.cs, chat.case, "c1", secret)
        await chat.ns.expect("msg", cid="c1")
        case = chat.case
    reads = [r for r in await audit_log(redis) if r["action"] == "transcript.read" and r["case_id"] == case]
    assert reads, "joining the chat as staff was not recorded"
    assert [(r["actor"], r["role"], r["unit"], r["patient"], r["outcome"]) for r in reads] == [
        ("nurse-1", "nurse", "vc-t", ERIK, "ok")  # one join, one record: a list, so a duplicate fails
    ]
    assert all(r["ts_ms"].isdigit() for r in reads)
    log = server.output()
    assert "ws_open" in log  # the log is being written
    for personal in (ERIK, "19910831-2399", "910831-2399", "9108312399", secret, "blod i urinen"):
        assert personal not in log, personal

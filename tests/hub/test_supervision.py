"""The supervisor's board and steering against a real ``direkt serve`` and a real Redis.

What a supervisor would notice: the board shows her unit's waiting cases and
who is online with which chats, and nothing of another unit; closing intake
refuses arriving citizens with her message and tells waiting ones; a notice
reaches the waiting room; a chat she releases or reassigns leaves its nurse's
console at once and (reassigned) opens in the other's. Every action and every
refusal of one is in the audit log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from support import ServerProcess, timeout
from support_hub import (
    GUARDIAN,
    SORE_THROAT,
    Login,
    audit_log,
    citizen,
    frames_until,
    open_chat,
    refused,
    waiting_case,
)

from direkt.loadtests.client import Client, Socket
from direkt.queue.scripts import RedisClient

pytestmark = pytest.mark.slow

SERVER_ENV = {"DIREKT_POSITION_INTERVAL_SECONDS": "0.5"}
HOUR_MS = 3_600_000
BUSY = "Hög belastning: vi tar inte emot nya ärenden just nu. Ring 1177 om det brådskar."


@pytest.fixture
async def boss(login: Login) -> Client:
    """Siv, supervisor of vc-t (not of 1177-t or vc-other)."""
    return await login(staff_id="super-vc")


async def board_until(client: Client, check: Any, what: str, seconds: float = 8.0) -> dict[str, Any]:
    """GET /api/supervision until ``check(board)`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout(seconds)
    while True:
        board = await client.call("GET", "/api/supervision")
        if check(board):
            return board
        assert loop.time() < deadline, f"not on the board within {seconds} s: {what}"
        await asyncio.sleep(0.1)


def unit_of(board: dict[str, Any], unit: str) -> dict[str, Any]:
    return next(u for u in board["units"] if u["unit"] == unit)


def staff_of(board: dict[str, Any], unit: str, staff_id: str) -> dict[str, Any]:
    return next(s for s in unit_of(board, unit)["staff"] if s["id"] == staff_id)


async def operations(redis: RedisClient, actor: str = "super-vc") -> list[tuple[str, str, str, str]]:
    return [
        (r["action"], r["unit"], r["outcome"], r["detail"])
        for r in await audit_log(redis)
        if r["actor"] == actor and r["case_id"] == ""
    ]


@pytest.fixture
async def nurse_socket(nurse: Client) -> AsyncIterator[Socket]:
    sock = await nurse.socket()
    yield sock
    await sock.close()


# -- the board ---------------------------------------------------------------------------------


async def test_the_board_shows_the_waiting_case_and_the_nurses_open_chat(
    server: Any, boss: Client, login: Login
) -> None:
    async with open_chat(server.base) as chat:
        waiting = await waiting_case(await login(pnr=GUARDIAN))
        board = await board_until(
            boss,
            lambda b: staff_of(b, "vc-t", "nurse-1")["online"] and staff_of(b, "vc-t", "nurse-1")["chats"],
            "Nora online with her chat",
        )
    assert [u["unit"] for u in board["units"]] == ["vc-t"]  # her unit only
    vc = unit_of(board, "vc-t")
    nurse_queue = next(q for q in vc["queues"] if q["skill"] == "nurse")
    assert nurse_queue["depth"] == 1 and nurse_queue["by_urgency"] == {"5": 1}
    assert nurse_queue["oldest"]["case"] == waiting and nurse_queue["oldest"]["state"] == "ok"
    assert nurse_queue["oldest"]["left_ms"] > 0 and nurse_queue["breached"] == nurse_queue["soon"] == 0
    nora = staff_of(board, "vc-t", "nurse-1")
    assert nora["status"] == "available" and nora["chats"] == [{"case": chat.case, "unit": "vc-t", "skill": "nurse"}]
    assert staff_of(board, "vc-t", "nurse-2")["status"] == "offline"
    assert vc["chats"] == [
        {"case": chat.case, "unit": "vc-t", "skill": "nurse", "holder": "nurse-1", "takers": []}
    ]  # Olle is not online: no one could take it over
    assert vc["intake_closed"] is None and vc["notice"] is None and vc["closed_days"] == []
    assert "Erik" not in str(board) and "Maja" not in str(board)  # why and how urgent, never who


async def test_the_board_needs_a_supervisor(server: Any, nurse: Client, login: Login) -> None:
    await refused(nurse.call("GET", "/api/supervision"), 403, "forbidden")
    erik = await login(pnr=GUARDIAN)
    await refused(erik.call("GET", "/api/supervision"), 403, "forbidden")
    nobody = Client(server.base)
    try:
        await refused(nobody.call("GET", "/api/supervision"), 401, "unauthenticated")
    finally:
        await nobody.aclose()


# -- intake ------------------------------------------------------------------------------------


async def test_closed_intake_refuses_arrivals_with_the_message_and_tells_the_waiting(
    boss: Client, erik: Client, login: Login, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    sock = await erik.socket()
    try:
        await sock.request({"t": "join", "case": case}, "case")
        await frames_until(sock, "position", case=case)
        now = (await boss.call("GET", "/api/supervision"))["now_ms"]
        until = now + 2 * HOUR_MS
        closed = await boss.call("PUT", "/api/units/vc-t/intake", {"until_ms": until, "text": BUSY})
        assert closed["intake_closed"] == {"text": BUSY, "until_ms": until}
        told = await frames_until(sock, "position", 5.0, case=case, intake_closed={"text": BUSY, "until_ms": until})
        assert told[-1]["notice"] is None
        maja = await login(pnr=GUARDIAN)
        refusal = await refused(waiting_case(maja), 409, "intake_closed")
        assert BUSY in refusal.text["sv"] and "kl." in refusal.text["sv"] and BUSY in refusal.text["en"]
        status = await erik.call("GET", f"/api/cases/{case}")
        assert status["position"]["intake_closed"] == {"text": BUSY, "until_ms": until}
        # replayed: the same state, audited again
        again = await boss.call("PUT", "/api/units/vc-t/intake", {"until_ms": until, "text": BUSY})
        assert again == closed
        opened = await boss.call("DELETE", "/api/units/vc-t/intake")
        assert opened["intake_closed"] is None
        await frames_until(sock, "position", 5.0, case=case, intake_closed=None)
        assert await boss.call("DELETE", "/api/units/vc-t/intake") == opened  # replayed: still open
        await waiting_case(maja)  # accepted again
    finally:
        await sock.close()
    assert [op[:3] for op in await operations(redis)] == [
        ("unit.intake_close", "vc-t", "ok"),
        ("unit.intake_close", "vc-t", "ok"),
        ("unit.intake_open", "vc-t", "ok"),
        ("unit.intake_open", "vc-t", "ok"),
    ]
    assert (await operations(redis))[0][3] == "120m"


async def test_closing_intake_is_refused_for_bad_input_and_other_units(
    server: Any, boss: Client, nurse: Client, redis: RedisClient
) -> None:
    now = (await boss.call("GET", "/api/supervision"))["now_ms"]
    good = {"until_ms": now + HOUR_MS, "text": BUSY}
    await refused(boss.call("PUT", "/api/units/vc-t/intake", {**good, "until_ms": now - 1}), 422, "invalid_value")
    await refused(
        boss.call("PUT", "/api/units/vc-t/intake", {**good, "until_ms": now + 13 * HOUR_MS}), 422, "invalid_value"
    )
    await refused(boss.call("PUT", "/api/units/vc-t/intake", {**good, "text": "   "}), 422, "invalid_value")
    await refused(boss.call("PUT", "/api/units/vc-t/intake", {**good, "text": "x" * 301}), 422, "invalid_value")
    await refused(boss.call("PUT", "/api/units/vc-t/intake", {**good, "text": "x" * 5000}), 400, "bad_request")
    await refused(boss.call("PUT", "/api/units/vc-t/intake", {**good, "extra": 1}), 400, "bad_request")
    await refused(boss.call("PUT", "/api/units/vc-t/intake", {"until_ms": "soon", "text": BUSY}), 400, "bad_request")
    response = await boss.http.put(
        "/api/units/vc-t/intake",
        content=b"x" * 70_000,
        headers={"X-CSRF-Token": boss.csrf, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    await refused(boss.call("PUT", "/api/units/vc-other/intake", good), 403, "forbidden")
    await refused(boss.call("PUT", "/api/units/no-such/intake", good), 404, "not_found")
    await refused(nurse.call("PUT", "/api/units/vc-t/intake", good), 403, "forbidden")
    await refused(nurse.call("DELETE", "/api/units/vc-t/intake"), 403, "forbidden")
    nobody = Client(server.base)
    try:
        await refused(nobody.call("PUT", "/api/units/vc-t/intake", good), 401, "unauthenticated")
    finally:
        await nobody.aclose()
    no_csrf = await boss.http.put("/api/units/vc-t/intake", json=good)
    assert no_csrf.status_code == 403
    board = await boss.call("GET", "/api/supervision")
    assert unit_of(board, "vc-t")["intake_closed"] is None  # nothing refused took effect
    ops = await operations(redis)
    assert ops[:4] == [("unit.intake_close", "vc-t", "denied", "invalid_value")] * 4
    assert ("unit.intake_close", "vc-other", "denied", "forbidden") in ops
    assert ("unit.intake_close", "", "denied", "not_found") in ops


# -- notice -----------------------------------------------------------------------------------


async def test_a_notice_reaches_the_waiting_room_until_taken_down(
    boss: Client, erik: Client, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    sock = await erik.socket()
    try:
        await sock.request({"t": "join", "case": case}, "case")
        await frames_until(sock, "position", case=case)
        now = (await boss.call("GET", "/api/supervision"))["now_ms"]
        text = "Vi har många ärenden i dag. Tack för ditt tålamod!"
        posted = await boss.call("PUT", "/api/units/vc-t/notice", {"until_ms": now + HOUR_MS, "text": text})
        assert posted["notice"] == {"text": text, "until_ms": now + HOUR_MS}
        await frames_until(sock, "position", 5.0, case=case, notice={"text": text, "until_ms": now + HOUR_MS})
        await boss.call("DELETE", "/api/units/vc-t/notice")
        await frames_until(sock, "position", 5.0, case=case, notice=None)
        await refused(
            boss.call("PUT", "/api/units/vc-t/notice", {"until_ms": now + 25 * HOUR_MS, "text": text}),
            422,
            "invalid_value",
        )
        await refused(
            boss.call("PUT", "/api/units/1177-t/notice", {"until_ms": now + HOUR_MS, "text": text}), 403, "forbidden"
        )
    finally:
        await sock.close()
    assert [op[0] for op in await operations(redis)] == [
        "unit.notice_post", "unit.notice_clear", "unit.notice_post", "unit.notice_post",
    ]  # fmt: skip


# -- release and reassign ------------------------------------------------------------------------


async def test_a_released_chat_leaves_the_nurses_console_at_once(server: Any, boss: Client, redis: RedisClient) -> None:
    async with open_chat(server.base) as chat:
        released = await boss.call("POST", f"/api/supervision/cases/{chat.case}/release", {"holder": "nurse-1"})
        assert released == {"case": chat.case, "state": "waiting", "unit": "vc-t", "released_from": "nurse-1"}
        await frames_until(chat.ns, "done", 5.0, case=chat.case, state="released")
        await frames_until(chat.cs, "case", 5.0, case=chat.case, state="waiting")
        # replayed: no longer held by her
        await refused(
            boss.call("POST", f"/api/supervision/cases/{chat.case}/release", {"holder": "nurse-1"}), 409, "conflict"
        )
        refusal = await chat.ns.request({"t": "send", "case": chat.case, "cid": "late", "text": "hej"}, "ack")
        assert refusal["t"] == "error"  # her socket writes no more
    ops = await operations(redis)
    assert ops[0] == ("staff.release", "vc-t", "ok", "nurse-1")
    assert ops[1] == ("staff.release", "vc-t", "denied", "not_held")
    [access] = [r for r in await audit_log(redis) if r["actor"] == "super-vc" and r["case_id"]]
    assert (access["action"], access["case_id"], access["role"]) == ("case.release", chat.case, "supervisor")


async def test_a_reassigned_chat_moves_from_one_console_to_the_other(
    server: Any, boss: Client, colleague: Client, redis: RedisClient
) -> None:
    olle = await colleague.socket()
    try:
        async with open_chat(server.base) as chat:
            await board_until(boss, lambda b: staff_of(b, "vc-t", "nurse-2")["online"], "Olle online")
            board = await board_until(
                boss, lambda b: unit_of(b, "vc-t")["chats"] and unit_of(b, "vc-t")["chats"][0]["takers"], "a taker"
            )
            assert unit_of(board, "vc-t")["chats"][0]["takers"] == ["nurse-2"]
            body = {"holder": "nurse-1", "to": "nurse-2"}
            moved = await boss.call("POST", f"/api/supervision/cases/{chat.case}/reassign", body)
            assert moved == {"case": chat.case, "state": "claimed", "holder": "nurse-2", "changed": True}
            await frames_until(chat.ns, "done", 5.0, case=chat.case, state="released")
            await frames_until(olle, "assigned", 5.0, case=chat.case)
            taken = await olle.request({"t": "claim", "case": chat.case}, "claimed")
            assert taken["case"] == chat.case
            assert (await olle.request({"t": "join", "case": chat.case}, "case"))["state"] == "claimed"
            ack = await olle.request({"t": "send", "case": chat.case, "cid": "olle-1", "text": "Hej, Olle här."}, "ack")
            assert ack["t"] == "ack"
            await frames_until(chat.cs, "msg", 5.0, case=chat.case)
            # replayed: it is Olle's already
            again = await boss.call("POST", f"/api/supervision/cases/{chat.case}/reassign", body)
            assert again["changed"] is False
            # back to Nora, who is not the holder named
            await refused(
                boss.call(
                    "POST", f"/api/supervision/cases/{chat.case}/reassign", {"holder": "nurse-1", "to": "nurse-1"}
                ),
                409,
                "conflict",
            )
            # someone who does not serve the queue, or is not a staff member
            for to in ("nurse-other", "nobody"):
                await refused(
                    boss.call("POST", f"/api/supervision/cases/{chat.case}/reassign", {"holder": "nurse-2", "to": to}),
                    422,
                    "invalid_value",
                )
            # Doris serves vc-t but not the nurse queue; Nora is online but the case is Olle's, not Doris's
            await refused(
                boss.call(
                    "POST", f"/api/supervision/cases/{chat.case}/reassign", {"holder": "nurse-2", "to": "doctor-1"}
                ),
                422,
                "invalid_value",
            )
    finally:
        await olle.close()
    ops = await operations(redis)
    assert ops[0] == ("staff.reassign", "vc-t", "ok", "nurse-1:nurse-2")
    assert ("staff.reassign", "vc-t", "denied", "not_held") in ops
    assert ("staff.reassign", "vc-t", "denied", "invalid_value") in ops


async def test_chat_actions_are_refused_outside_her_units_and_for_bad_input(
    server: Any, boss: Client, erik: Client, nurse: Client, redis: RedisClient
) -> None:
    view = await erik.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    elsewhere = (await erik.call("POST", "/api/cases", {"triage": view["id"], "unit": "vc-other"}))["case"]
    release = f"/api/supervision/cases/{elsewhere}/release"
    await refused(boss.call("POST", release, {"holder": "nurse-other"}), 403, "forbidden")
    await refused(
        boss.call("POST", "/api/supervision/cases/t.01ARZ3NDEKTSV4RRFFQ69G5FAV/release", {"holder": "nurse-1"}),
        404,
        "not_found",
    )
    await refused(boss.call("POST", release, {}), 400, "bad_request")
    await refused(boss.call("POST", release, {"holder": "not a staff id!"}), 400, "bad_request")
    await refused(nurse.call("POST", release, {"holder": "nurse-1"}), 403, "forbidden")
    nobody = Client(server.base)
    try:
        await refused(nobody.call("POST", release, {"holder": "nurse-1"}), 401, "unauthenticated")
    finally:
        await nobody.aclose()
    ops = await operations(redis)
    assert ops[0] == ("staff.release", "vc-other", "denied", "forbidden")
    assert ("staff.release", "", "denied", "not_found") in ops


async def test_a_chat_is_not_given_to_someone_offline_or_away(
    server: Any, boss: Client, colleague: Client, redis: RedisClient
) -> None:
    async with open_chat(server.base) as chat:
        reassign = f"/api/supervision/cases/{chat.case}/reassign"
        body = {"holder": "nurse-1", "to": "nurse-2"}
        await refused(boss.call("POST", reassign, body), 409, "conflict")  # Olle has no console open
        olle = await colleague.socket()
        try:
            await colleague.call("PUT", "/api/staff/availability", {"availability": "away"})
            await board_until(boss, lambda b: staff_of(b, "vc-t", "nurse-2")["status"] == "away", "Olle away")
            await refused(boss.call("POST", reassign, body), 409, "conflict")
        finally:
            await olle.close()
        held = await chat.nurse.call("GET", "/api/staff/queue")
        assert held["held"] == [chat.case]  # still Nora's
    ops = await operations(redis)
    assert ops == [("staff.reassign", "vc-t", "denied", "conflict")] * 2


async def test_intake_closed_through_one_process_is_refused_by_another(
    server: Any, standalone_redis: Any, boss: Client
) -> None:
    other = ServerProcess(standalone_redis.url, **SERVER_ENV)
    try:
        now = (await boss.call("GET", "/api/supervision"))["now_ms"]
        await boss.call("PUT", "/api/units/vc-t/intake", {"until_ms": now + HOUR_MS, "text": BUSY})
        maja = await citizen(other.base, GUARDIAN)
        try:
            refusal = await refused(waiting_case(maja), 409, "intake_closed")
            assert refusal.text["en"].startswith(BUSY)
            await boss.call("DELETE", "/api/units/vc-t/intake")
            assert await waiting_case(maja)
        finally:
            await maja.aclose()
    finally:
        other.stop()

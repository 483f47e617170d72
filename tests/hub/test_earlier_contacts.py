"""The patient's earlier contacts beside a case in the console (issue 20), against a real
``direkt serve`` and a real Redis: ``GET /api/staff/cases/{case}/earlier`` and the
transcript read on request.

What a nurse would notice: the returning patient's earlier cases at her units, newest first, in
words (date, unit, reason, care level, outcome, who handled it), their transcripts on request;
nothing from units she does not serve, not even that there is something; a child's history is
the child's. What the patient's log extract shows: every one of those reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from support import ServerProcess
from support_hub import ELSA, ERIK, GUARDIAN, SORE_THROAT, citizen, error_of, refused, staff

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditLog, AuditRecord, read_file

pytestmark = pytest.mark.slow

FAINT_AFTER_FOOD = ("allergic_reaction", {"dizziness": True, "reaction_trigger": "food", "reaction_onset": "hours"})
CANNOT_DRINK = ("sore_throat", {"cannot_drink": True, "symptom_days": 3})
CHILD_FEVER = ("child_fever", {"fever": True, "temperature": 38.5, "fever_days": 1})  # self-care: chat anyway
MADE_UP_CASE = "t.01J00000000000000000000000"  # the shape of a case id, but no case

Login = Callable[..., Awaitable[Client]]


@pytest.fixture
async def login(server: ServerProcess) -> AsyncIterator[Login]:
    """Log in as a citizen (``pnr=``) or staff member (``staff_id=``); every client is closed after the test."""
    opened: list[Client] = []

    async def log_in(*, pnr: str = "", staff_id: str = "") -> Client:
        client = await (staff(server.base, staff_id) if staff_id else citizen(server.base, pnr))
        opened.append(client)
        return client

    yield log_in
    for client in opened:
        await client.aclose()


Reason = tuple[str, dict[str, Any]]


async def submitted(who: Client, case: Reason | None = None, *, unit: str = "", **start: Any) -> str:
    """Triage (sore throat for ten days by default, or ``case``) and submit; ``unit``: the clinic's page."""
    if case is None:
        view = await who.triage("seek_care", [tuple(a) for a in SORE_THROAT], **start)  # type: ignore[misc]
    else:
        view = await who.triage_as("seek_care", case[0], case[1], **start)
    body = {"triage": view["id"], "chat_anyway": view["result"]["care_level"] == "self_care"}
    return str((await who.call("POST", "/api/cases", body | ({"unit": unit} if unit else {})))["case"])


async def handled(nurse: Client, case: str, outcome: str, *, said: str = "", note: str = "") -> None:
    """``nurse`` takes ``case`` (the only one waiting in her queues), may write once, and closes it."""
    sock = await nurse.socket()
    try:
        claimed = await sock.request({"t": "claim_next", "rid": f"claim-{case}"}, "claimed")
        assert claimed["case"] == case, claimed
        if said:
            assert (await sock.request({"t": "join", "case": case}, "case"))["t"] == "case"
            ack = await sock.request({"t": "send", "case": case, "cid": "earlier-1", "text": said}, "ack")
            assert ack["t"] == "ack", ack
    finally:
        await sock.close()
    await nurse.call("POST", f"/api/staff/cases/{case}/close", {"outcome": outcome, "note": note})


async def earlier(client: Client, case: str) -> list[dict[str, Any]]:
    answer = await client.call("GET", f"/api/staff/cases/{case}/earlier")
    assert answer["case"] == case
    return list(answer["earlier"])


async def audit_of(redis: RedisClient, pnr: str) -> list[AuditRecord]:
    return await AuditLog(redis, None).for_patient(pnr)


def reads(records: list[AuditRecord], actor: str) -> list[tuple[str, str, str, str]]:
    return [(r.action, r.case_id, r.outcome, r.detail) for r in records if r.actor == actor]


async def test_a_nurse_sees_the_earlier_contacts_at_her_units_newest_first_in_words(
    login: Login, redis: RedisClient, server: ServerProcess
) -> None:
    erik = await login(pnr=ERIK)
    nora, pia = await login(staff_id="nurse-1"), await login(staff_id="nurse-other")  # vc-t + 1177-t; vc-other
    first = await submitted(erik)
    await handled(nora, first, "self_care_advice", said="Drick varmt och vila rösten.", note="Halsont 10 dygn.")
    elsewhere = await submitted(erik, CANNOT_DRINK, unit="vc-other")
    await handled(pia, elsewhere, "visit_booked")
    second = await submitted(erik, FAINT_AFTER_FOOD)
    await handled(nora, second, "referred")
    now = await submitted(erik)

    shown = await earlier(nora, now)
    assert [c["case"] for c in shown] == [second, first]  # newest first; not the one at Annanby
    newest, oldest = shown
    assert newest["created_ms"] > oldest["created_ms"] and newest["closed_ms"] >= newest["created_ms"]
    assert (newest["unit"], newest["unit_name"], newest["state"]) == ("vc-t", "Testby vårdcentral", "closed")
    assert newest["reason"] == {"code": "allergic_reaction", "label": {"sv": "Allergisk reaktion",
                                                                      "en": "Allergic reaction"}}  # fmt: skip
    assert (newest["care_level"], newest["outcome"]) == ("chat_now", "referred")
    assert newest["outcome_label"] == {"sv": "Hänvisad", "en": "Referred"}
    assert (newest["profession"], newest["staff_name"]) == ("nurse", "Nora Nilsson")
    assert oldest["reason"]["label"]["sv"] == "Ont i halsen"
    assert (oldest["care_level"], oldest["outcome_label"]["sv"]) == ("within_days", "Egenvårdsråd")
    assert elsewhere not in str(shown) and "Annanby" not in str(shown)

    # the transcript on request: everything, the journal note included, for a case at her unit only
    transcript = await nora.call("GET", f"/api/staff/cases/{first}/transcript")
    texts = [m.get("text") for m in transcript["messages"]]
    assert "Drick varmt och vila rösten." in texts and "Halsont 10 dygn." in texts
    await refused(nora.call("GET", f"/api/staff/cases/{elsewhere}/transcript"), 403, "forbidden")

    # Pia at Annanby, reading beside Erik's case there: nothing of Testby's, not even a count
    assert await earlier(pia, elsewhere) == []

    # every read in the patient's log extract, in Redis and in the server's audit file
    expected = [
        ("earlier.list", now, "ok", ""),
        ("earlier.read", second, "ok", f"via:{now}"),
        ("earlier.read", first, "ok", f"via:{now}"),
        ("transcript.read", first, "ok", ""),
        ("transcript.read", elsewhere, "denied", ""),
    ]
    after_close = reads(await audit_of(redis, ERIK), "nurse-1")[-len(expected) :]
    assert after_close == expected
    assert reads(read_file(server.data_dir / "audit.jsonl", ERIK), "nurse-1")[-len(expected) :] == expected
    [shown_read] = [r for r in await audit_of(redis, ERIK) if r.action == "earlier.read" and r.case_id == second]
    assert (shown_read.unit, shown_read.role, shown_read.patient) == ("vc-t", "nurse", ERIK)
    assert reads(await audit_of(redis, ERIK), "nurse-other")[-1] == ("earlier.list", elsewhere, "ok", "")


async def test_a_childs_earlier_contacts_are_the_childs_and_the_guardians_are_hers(login: Login) -> None:
    maja = await login(pnr=GUARDIAN)
    nora = await login(staff_id="nurse-1")
    hers = await submitted(maja)
    await handled(nora, hers, "self_care_advice")
    elsas = await submitted(maja, CHILD_FEVER, child=ELSA)
    await handled(nora, elsas, "visit_booked")

    elsa_now = await submitted(maja, CHILD_FEVER, child=ELSA)
    assert [c["case"] for c in await earlier(nora, elsa_now)] == [elsas]
    await handled(nora, elsa_now, "no_contact")
    maja_now = await submitted(maja)
    assert [c["case"] for c in await earlier(nora, maja_now)] == [hers]


async def test_refusals_are_typed_and_tell_nothing(login: Login, server: ServerProcess, redis: RedisClient) -> None:
    erik = await login(pnr=ERIK)
    nora, pia = await login(staff_id="nurse-1"), await login(staff_id="nurse-other")
    first = await submitted(erik)
    await handled(nora, first, "self_care_advice")
    now = await submitted(erik)
    path = f"/api/staff/cases/{now}/earlier"

    await refused(erik.call("GET", path), 403, "forbidden")  # a citizen, even about her own case
    denied = await refused(pia.call("GET", path), 403, "forbidden")  # a nurse of another unit
    assert first not in str(denied) and "Ont i halsen" not in str(denied)
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        error_of(await anonymous.get(path), 401, "unauthenticated")
    await refused(nora.call("GET", "/api/staff/cases/not%20a%20case/earlier"), 400, "bad_request")
    await refused(nora.call("GET", f"/api/staff/cases/{MADE_UP_CASE}/earlier"), 404, "not_found")

    assert reads(await audit_of(redis, ERIK), "nurse-other") == [("earlier.list", now, "denied", "")]
    assert not [r for r in await audit_of(redis, ERIK) if r.action == "earlier.read"]  # nothing was shown

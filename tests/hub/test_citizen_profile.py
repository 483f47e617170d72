"""A citizen's profile (issue 23, point 7) against a real ``direkt serve``, the project's own issuer
and a stand-in SMS gateway on loopback: names from the e-ID's claims (the widget's session, the
nurse's summary, ``{first_name}`` in templates), and the mobile number for the chat-ready SMS,
given with consent when joining the waiting room and changed or removed while waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from oidc_issuer import CLIENT_ID, CLIENT_SECRET, Issuer
from support import ServerProcess, timeout
from support_hub import ERIK, SORE_THROAT, UNLISTED, citizen, error_of, staff
from support_sms import SmsReceiver, sms_receiver

from direkt.loadtests.client import ApiError, Client, Socket
from direkt.server.care.audit import AuditLog
from direkt.server.care.patientdata import PatientData
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.retentionrules import RetentionRules

pytestmark = pytest.mark.slow

GIVEN = "+46 70-111 22 33"
GIVEN_E164 = "+46701112233"
ERIK_DEMO_PHONE = "+46701740606"


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsReceiver]:
    with sms_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with Issuer() as running:
        yield running


@pytest.fixture(scope="module")
def site(standalone_redis: EmbeddedRedis, issuer: Issuer, sms: SmsReceiver) -> Iterator[ServerProcess]:
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_OIDC_ISSUER=issuer.url,
        DIREKT_OIDC_CLIENT_ID=CLIENT_ID,
        DIREKT_OIDC_CLIENT_SECRET=CLIENT_SECRET,
        DIREKT_SMS_URL=sms.url,
    )
    issuer.redirect_uris.add(process.url("/auth/oidc/callback"))
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def fresh(issuer: Issuer, sms: SmsReceiver) -> None:
    issuer.reset()
    sms.received.clear()


async def oidc_citizen(site: ServerProcess, issuer: Issuer, pnr: str, **claims: Any) -> Client:
    """A citizen logged in through the issuer, releasing ``claims`` beside the personnummer."""
    issuer.subject = pnr
    issuer.claims = claims
    client = Client(site.base)
    start = await client.http.get("/auth/oidc/login")
    back = await client.http.get((await client.http.get(start.headers["location"])).headers["location"])
    assert back.status_code == 303, back.text
    client.me = (await client.http.get("/api/session")).json()
    client.csrf = client.me["csrf"]
    return client


@pytest.fixture
async def nurse(site: ServerProcess) -> AsyncIterator[Client]:
    client = await staff(site.base)
    yield client
    await client.aclose()


async def submitted(client: Client, **notify: Any) -> dict[str, Any]:
    view = await client.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
    return dict(await client.call("POST", "/api/cases", {"triage": view["id"], **notify}))


# -- names ----------------------------------------------------------------------------------------


async def test_the_names_the_e_id_releases_are_shown_and_greeted(
    site: ServerProcess, issuer: Issuer, nurse: Client
) -> None:
    person = await oidc_citizen(site, issuer, UNLISTED, given_name="Saga", family_name="Lindqvist")
    try:
        assert (person.me["name"], person.me["given_name"]) == ("Saga Lindqvist", "Saga")
        case = (await submitted(person))["case"]
        assert (await person.call("GET", f"/api/cases/{case}"))["patient_name"] == "Saga Lindqvist"
        summary = await nurse.call("GET", f"/api/staff/cases/{case}")
        assert summary["patient"]["name"] == "Saga Lindqvist" and summary["patient"]["first_name"] == "Saga"
        listing = await nurse.call("GET", f"/api/staff/templates?case={case}")
        [greeting] = [t for t in listing["templates"] if t["id"] == "greeting"]
        assert greeting["filled"]["sv"].startswith("Hej Saga! Jag heter")
    finally:
        await person.aclose()


async def test_the_claims_name_wins_over_the_demo_file(site: ServerProcess, issuer: Issuer) -> None:
    person = await oidc_citizen(site, issuer, ERIK, name="Erik Johan Nilsson")
    try:
        assert (person.me["name"], person.me["given_name"]) == ("Erik Johan Nilsson", "Erik")
    finally:
        await person.aclose()


async def test_the_demo_file_names_a_listed_person_without_name_claims(site: ServerProcess, issuer: Issuer) -> None:
    person = await oidc_citizen(site, issuer, ERIK)
    try:
        assert (person.me["name"], person.me["given_name"], person.me["phone"]) == (
            "Erik Nilsson", "Erik", ERIK_DEMO_PHONE
        )  # fmt: skip
    finally:
        await person.aclose()


async def test_someone_unnamed_is_a_neutral_invanare_and_greeted_without_a_name(
    site: ServerProcess, issuer: Issuer, nurse: Client
) -> None:
    person = await oidc_citizen(site, issuer, UNLISTED, given_name=["not", "a", "string"], name="\u0000\u200b ")
    try:
        assert (person.me["name"], person.me["given_name"]) == ("Invånare", "")
        case = (await submitted(person))["case"]
        listing = await nurse.call("GET", f"/api/staff/templates?case={case}")
        [greeting] = [t for t in listing["templates"] if t["id"] == "greeting"]
        assert greeting["filled"]["sv"].startswith("Hej! Jag heter") and "Testperson" not in str(listing)
    finally:
        await person.aclose()


async def test_a_phone_number_claim_is_offered_for_notices(site: ServerProcess, issuer: Issuer) -> None:
    person = await oidc_citizen(site, issuer, UNLISTED, phone_number="+46731234567")
    try:
        assert person.me["phone"] == "+46731234567"
    finally:
        await person.aclose()


# -- the mobile number for notices -------------------------------------------------------------


async def sms_to(sms: SmsReceiver, seconds: float = 5) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout(seconds)
    while not sms.received:
        assert asyncio.get_running_loop().time() < deadline, "no SMS was sent"
        await asyncio.sleep(0.05)
    return sms.received[0]


async def claimed_by(nurse: Client, case: str) -> Socket:
    """The nurse's console claims the next case, ``case``; the open socket keeps the case held."""
    sock = await nurse.socket()
    assert (await sock.recv(timeout(5)))["t"] == "welcome"
    claimed = await sock.request({"t": "claim_next", "rid": f"r-{case}"}, "claimed")
    assert claimed["case"] == case
    return sock


async def test_the_sms_goes_to_the_number_given_with_consent(
    site: ServerProcess, sms: SmsReceiver, nurse: Client
) -> None:
    erik = await citizen(site.base, ERIK)
    try:
        case = await submitted(erik, phone=GIVEN, sms_consent=True)
        assert case["sms_phone"] == GIVEN_E164
        await (await claimed_by(nurse, case["case"])).close()
        assert (await sms_to(sms))["to"] == GIVEN_E164  # not the demo file's +46701740606
    finally:
        await erik.aclose()
    assert GIVEN_E164 not in site.output() and "1112233" not in site.output()


async def test_without_consent_no_sms_is_sent_and_no_number_kept(
    site: ServerProcess, sms: SmsReceiver, nurse: Client
) -> None:
    erik = await citizen(site.base, ERIK)
    saga = await citizen(site.base, UNLISTED)
    olle = await staff(site.base, "nurse-2")
    try:
        case = await submitted(erik, phone=GIVEN, sms_consent=False)
        assert case["sms_phone"] is None
        console = await claimed_by(nurse, case["case"])
        # A later case with consent: its SMS is the only one (Erik's chat opened first, and sent none;
        # nor the demo file's number for him, unasked).
        later = await submitted(saga, phone="0761234567", sms_consent=True, unit="vc-t")
        other_console = await claimed_by(olle, later["case"])
        await sms_to(sms)
        assert [m["to"] for m in sms.received] == ["+46761234567"]
        await console.close()
        await other_console.close()
    finally:
        await erik.aclose()
        await saga.aclose()
        await olle.aclose()


async def test_the_number_can_be_changed_and_removed_while_waiting(
    site: ServerProcess, sms: SmsReceiver, nurse: Client, standalone_redis: EmbeddedRedis
) -> None:
    erik = await citizen(site.base, ERIK)
    try:
        case = (await submitted(erik))["case"]
        changed = await erik.call("PUT", f"/api/cases/{case}/phone", {"phone": "0731234567", "consent": True})
        assert changed == {"case": case, "sms": True, "sms_phone": "+46731234567"}
        assert (await erik.call("GET", f"/api/cases/{case}"))["sms_phone"] == "+46731234567"
        removed = await erik.call("PUT", f"/api/cases/{case}/phone", {"phone": "", "consent": False})
        assert removed["sms"] is False and (await erik.call("GET", f"/api/cases/{case}"))["sms_phone"] is None
        again = await erik.call("PUT", f"/api/cases/{case}/phone", {"phone": "+46 76 555 44 33", "consent": True})
        assert again["sms_phone"] == "+46765554433"
        client = await connect(standalone_redis.url)
        try:  # the patient's data extract (direkt data) has the number as it is now
            held = await PatientData(client, RetentionRules(), AuditLog(client, None)).held(ERIK)
        finally:
            await client.aclose()
        assert [f.phone for f in held.files] == ["+46765554433"]
        await (await claimed_by(nurse, case)).close()
        assert (await sms_to(sms))["to"] == "+46765554433"
    finally:
        await erik.aclose()
    assert "5554433" not in site.output()


@pytest.mark.parametrize(
    "phone", ["08-123 456 78", "+4712345678", "0701234", "070123456789", "hej", "+46701234567x", "１２３"]
)
async def test_a_number_that_is_not_a_swedish_mobile_is_refused(site: ServerProcess, phone: str) -> None:
    erik = await citizen(site.base, ERIK)
    try:
        view = await erik.triage("seek_care", [tuple(a) for a in SORE_THROAT])  # type: ignore[misc]
        body = {"triage": view["id"], "phone": phone, "sms_consent": True}
        with pytest.raises(ApiError) as refused:
            await erik.call("POST", "/api/cases", body)
        assert (refused.value.status, refused.value.code) == (400, "bad_request")
        case = (await submitted(erik))["case"]
        with pytest.raises(ApiError) as again:
            await erik.call("PUT", f"/api/cases/{case}/phone", {"phone": phone, "consent": True})
        assert (again.value.status, again.value.code) == (400, "bad_request")
    finally:
        await erik.aclose()


async def test_the_phone_endpoint_refuses_what_it_should(site: ServerProcess, nurse: Client) -> None:
    erik = await citizen(site.base, ERIK)
    other = await citizen(site.base, UNLISTED)
    try:
        case = (await submitted(erik))["case"]
        path = f"/api/cases/{case}/phone"
        for body in ({"phone": 1}, {"phone": "0701234567", "consent": "yes"}, {"extra": 1}, [], {"phone": "0" * 33}):
            with pytest.raises(ApiError) as bad:
                await erik.call("PUT", path, body)
            assert bad.value.status in (400, 422), body
        async with httpx.AsyncClient(base_url=site.base, headers={"Origin": site.base}, timeout=10) as anonymous:
            error_of(await anonymous.put(path, json={"phone": ""}), 401, "unauthenticated")
        with pytest.raises(ApiError) as foreign:
            await other.call("PUT", path, {"phone": "0701234567", "consent": True})
        assert (foreign.value.status, foreign.value.code) == (404, "not_found")  # another's case: not confirmed
        with pytest.raises(ApiError) as by_staff:
            await nurse.call("PUT", path, {"phone": "0701234567", "consent": True})
        assert by_staff.value.status == 403
        error_of(await erik.http.put(path, json={"phone": ""}), 403, "csrf_failed")  # no CSRF token
        big = await erik.http.put(
            path,
            content=b"{" + b" " * 70_000 + b"}",
            headers={"X-CSRF-Token": erik.csrf, "content-type": "application/json"},
        )
        assert big.status_code == 413
        await erik.call("POST", f"/api/cases/{case}/abandon")
        with pytest.raises(ApiError) as closed:
            await erik.call("PUT", path, {"phone": "0701234567", "consent": True})
        assert (closed.value.status, closed.value.code) == (409, "conflict")
        with pytest.raises(ApiError) as unknown:
            await erik.call("PUT", "/api/cases/c-nosuchcase/phone", {"phone": ""})
        assert unknown.value.status == 404
    finally:
        await erik.aclose()
        await other.aclose()

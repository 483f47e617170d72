"""Nurse guidance over HTTP (issue 24), against a real ``direkt serve`` and a real Redis:
``GET /api/staff/guidance`` (search, or filled from a case's triage) and ``GET /api/staff/guidance/{id}``.

What a nurse would notice: a misspelt or English word finds the article; a case she holds fills the
search with its reason, which comes first; the article says what to assess, ask, where to refer and
what advice to give, with its sources. What she must not get: a case she may not see (refused and
audited as such). What others get: citizens and the logged-out are refused; bad input is a clear 400/404.
"""

from __future__ import annotations

import httpx
import pytest
from support import ServerProcess
from support_hub import ERIK, Login, error_of, refused, waiting_case

from direkt.queue.scripts import RedisClient
from direkt.server.care.audit import AuditLog

pytestmark = pytest.mark.slow
MADE_UP_CASE = "t.01J00000000000000000000000"


async def test_a_nurse_finds_guidance_by_a_misspelling_in_swedish_and_a_synonym_in_english(login: Login) -> None:
    nurse = await login(staff_id="nurse-1")
    found = await nurse.call("GET", "/api/staff/guidance?q=urinv%C3%A4gsinfektoin")
    assert found["results"][0]["id"] == "urinary"
    assert found["results"][0]["title"] == "Urinvägsbesvär"
    assert found["kb_version"] and found["case"] is None
    english = await nurse.call("GET", "/api/staff/guidance?q=strep+throat&lang=en")
    assert (english["results"][0]["id"], english["results"][0]["title"]) == ("sore_throat", "Sore throat")
    assert (await nurse.call("GET", "/api/staff/guidance?q="))["results"] == []
    for age, first in ((6, "child_breathing"), (70, "cough_cold")):
        assert (await nurse.call("GET", f"/api/staff/guidance?q=hosta&age={age}"))["results"][0]["id"] == first


async def test_an_article_says_what_to_assess_ask_refer_and_advise_with_sources(login: Login) -> None:
    nurse = await login(staff_id="nurse-1")
    article = await nurse.call("GET", "/api/staff/guidance/sore_throat")
    assert article["title"] == {"sv": "Ont i halsen", "en": "Sore throat"}
    assert article["written"] and article["summary"]["sv"]
    assert article["assess"] and article["ask"] and article["advice"]
    assert {"emergency", "primary_care"} <= {r["kind"] for r in article["refer"]}
    assert any("Läkemedelsverket" in s for s in article["sources"])
    composed = await nurse.call("GET", "/api/staff/guidance/hair_loss")  # not hand-written: from the KB alone
    assert not composed["written"] and composed["sources"] and composed["advice"]


async def test_a_case_fills_the_search_with_its_triage_and_the_read_is_audited(
    login: Login, redis: RedisClient
) -> None:
    erik, nurse = await login(pnr=ERIK), await login(staff_id="nurse-1")
    case = await waiting_case(erik)  # a sore throat for ten days, at Testby vårdcentral
    found = await nurse.call("GET", f"/api/staff/guidance?case={case}")
    assert (found["case"], found["reason"], found["query"]) == (case, "sore_throat", "Ont i halsen")
    assert found["results"][0]["id"] == "sore_throat" and found["results"][0]["matched"] == "reason"
    assert "Hosta" in found["findings"]  # the findings present fill the search too
    typed = await nurse.call("GET", f"/api/staff/guidance?case={case}&q=tick+bite&lang=en")
    assert [r["id"] for r in typed["results"][:2]] == ["sore_throat", "insect_tick_bite"]  # the case's reason leads
    assert typed["query"] == "tick bite" and typed["age"] == 35  # Erik's age, from the triage
    records = await AuditLog(redis, None).for_patient(ERIK)
    reads = [(r.action, r.case_id, r.outcome, r.detail) for r in records if r.actor == "nurse-1"]
    assert reads.count(("case.read", case, "ok", "guidance")) == 2  # a replayed read is audited again


async def test_a_case_the_nurse_may_not_see_is_refused_and_audited(login: Login, redis: RedisClient) -> None:
    erik, other = await login(pnr=ERIK), await login(staff_id="nurse-other")  # nurse-other serves vc-other only
    case = await waiting_case(erik)
    response = await other.http.get(f"/api/staff/guidance?case={case}")
    error_of(response, 403, "forbidden")
    assert "Ont i halsen" not in response.text
    records = await AuditLog(redis, None).for_patient(ERIK)
    assert [(r.action, r.outcome) for r in records if r.actor == "nurse-other"] == [("case.read", "denied")]
    await refused(other.call("GET", f"/api/staff/guidance?case={MADE_UP_CASE}"), 404, "not_found")


async def test_bad_input_gets_a_clear_error(login: Login) -> None:
    nurse = await login(staff_id="nurse-1")
    http = nurse.http
    assert "q" in error_of(await http.get("/api/staff/guidance", params={"q": "a" * 201}), 400, "bad_request")
    error_of(await http.get("/api/staff/guidance", params={"q": "hals", "lang": "de"}), 400, "bad_request")
    error_of(await http.get("/api/staff/guidance", params={"case": "x" * 65}), 400, "bad_request")
    error_of(await http.get("/api/staff/guidance", params={"q": "hosta", "age": "-1"}), 400, "bad_request")
    error_of(await http.get("/api/staff/guidance", params={"q": "hosta", "age": "old"}), 400, "bad_request")
    error_of(await http.get("/api/staff/guidance", params={"case": "not a case"}), 400, "bad_request")
    error_of(await http.get("/api/staff/guidance/no_such_reason"), 404, "not_found")
    error_of(await http.get("/api/staff/guidance/SORE_THROAT"), 404, "not_found")
    error_of(await http.get("/api/staff/guidance/%2e%2e%2fscreen"), 404, "not_found")
    found = await http.get("/api/staff/guidance", params={"q": "hals" * 50})  # 200 characters: the most allowed
    assert found.status_code == 200


async def test_citizens_and_the_logged_out_are_refused(login: Login, server: ServerProcess) -> None:
    erik = await login(pnr=ERIK)
    await refused(erik.call("GET", "/api/staff/guidance?q=halsont"), 403, "forbidden")
    await refused(erik.call("GET", "/api/staff/guidance/sore_throat"), 403, "forbidden")
    async with httpx.AsyncClient(base_url=server.base) as anonymous:
        error_of(await anonymous.get("/api/staff/guidance", params={"q": "halsont"}), 401, "unauthenticated")
        error_of(await anonymous.get("/api/staff/guidance/sore_throat"), 401, "unauthenticated")

"""The README's walkthrough, as written there, against a real ``direkt serve`` with the demo
region and its demo cases, over HTTP and WebSocket (issue 20, point 10).

The answers are read from the README itself, so the text and the test cannot drift apart.
The route does not depend on the hour either: the pure router is asked for every half hour
of two years (Easter, midsummer and Christmas included) and always answers a queue that the
README's nurse serves and whose cases she may take from the list.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import ServerProcess, timeout
from support_hub import citizen, frames_until, staff

from direkt.loadtests.client import Client
from direkt.queue.model import Skill
from direkt.queue.routing import RouteRequest, route
from direkt.queue.urgency import Urgency
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.server.region import load_region_config

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DEMO_REGION = ROOT / "server" / "data" / "region.toml"
ERIK = "199108312399"
NURSE, DOCTOR = "cecilia.berg", "bo.ek"  # as the README names them
HALF_HOUR_MS = 30 * 60_000


def readme_answers() -> list[str]:
    """The answers of the walkthrough's first step, in order, as the README words them."""
    text = " ".join(README.read_text(encoding="utf-8").split())
    step = re.search(r"answer, in order: (.*?); then send the case", text)
    assert step, "the README's walkthrough no longer lists its answers"
    return [quoted or number for quoted, number in re.findall(r'"([^"]+)"|`(\d+)`', step.group(1))]


def value_for(question: dict[str, Any], said: str) -> Any:
    """What the citizen's click or typing sends for the README's answer to ``question``."""
    if question["kind"] == "number":
        return int(said)
    if question["kind"] == "photo":
        assert said == "Nästa", question["id"]
        return "skip"
    labels = {option["text"]["sv"]: option["id"] for option in question["options"]}
    assert said in labels, f"the README answers {said!r} to {question['id']}, which offers {list(labels)}"
    return [labels[said]] if question["kind"] == "checklist" else labels[said]


# -- the route, at every hour --------------------------------------------------------------------


def test_the_walkthrough_case_reaches_the_named_nurse_at_any_hour_of_two_years() -> None:
    directory = load_region_config(DEMO_REGION).directory
    home = next(c.home_unit for c in load_region_config(DEMO_REGION).citizens.values() if c.pnr == ERIK)
    nurse = directory.staff[NURSE]
    start = int(dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp() * 1000)
    reached = set()
    for now in range(start, start + 2 * 365 * 24 * 2 * HALF_HOUR_MS, HALF_HOUR_MS):
        unit = route(RouteRequest(home, Skill.NURSE, Urgency.DAYS, now), directory, now).unit
        assert unit.id in nurse.units and unit.pick_from_list, (unit.id, dt.datetime.fromtimestamp(now / 1000, dt.UTC))
        reached.add(unit.id)
    assert reached == {"vc-viksang", "1177-vm"}  # the home centre, and 1177 over long holidays


# -- the walkthrough, live -------------------------------------------------------------------------


@pytest.fixture
def demo_server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    """``make run``: the demo region with its demo cases in the waiting room."""
    process = ServerProcess(standalone_redis.url, config=DEMO_REGION, DIREKT_DEMO_CASES="1")
    deadline = time.monotonic() + timeout(20)
    while '"event":"demo_cases"' not in process.output():
        assert time.monotonic() < deadline, "the demo cases were never written"
        time.sleep(0.05)
    yield process
    process.stop()


async def triage_as_the_readme_says(erik: Client) -> dict[str, Any]:
    view = await erik.call("POST", "/api/triage", {"entry": "seek_care"})  # "Söka vård"
    for said in readme_answers():
        question = view["question"]
        assert question is not None, f"the triage ended before the README's answer {said!r}"
        body = {"question": question["id"], "value": value_for(question, said)}
        view = await erik.call("POST", f"/api/triage/{view['id']}/answer", body)
    assert view["question"] is None and view["result"], view
    return dict(view)


async def test_the_readme_walkthrough_from_citizen_to_nurse_to_doctor(demo_server: ServerProcess) -> None:
    erik = await citizen(demo_server.base, ERIK)
    nurse = await staff(demo_server.base, NURSE)
    doctor = await staff(demo_server.base, DOCTOR)
    sockets = []
    try:
        view = await triage_as_the_readme_says(erik)
        result = view["result"]
        assert (result["profession"], result["urgency"]) == ("nurse", int(Urgency.DAYS)), result
        case = (await erik.submit(view["id"]))["case"]
        erik_sock = await erik.socket()
        sockets.append(erik_sock)
        await erik_sock.request({"t": "join", "case": case}, "case")

        nurse_sock = await nurse.socket()
        sockets.append(nurse_sock)
        row = next(r for r in (await nurse_sock.request({"t": "watch"}, "queue"))["cases"] if r["case"] == case)
        assert row["label"]["sv"] == "Ont i halsen" and row["pickable"], row  # "Ta ärende" on the row
        assert (await nurse_sock.request({"t": "claim", "case": case}, "claimed"))["case"] == case
        await nurse_sock.request({"t": "join", "case": case}, "case")
        greeting = {"t": "send", "case": case, "cid": "w-1", "template": "greeting", "text": "Hej Erik!"}
        assert (await nurse_sock.request(greeting, "ack"))["t"] == "ack"
        await frames_until(erik_sock, "msg", 10, case=case, text="Hej Erik!")

        transfer = {"t": "transfer", "case": case, "unit": "vc-viksang", "skill": "doctor", "note": "Halsont."}
        assert (await nurse_sock.request(transfer, "done"))["state"] == "transferred"

        doctor_sock = await doctor.socket()
        sockets.append(doctor_sock)
        assert (await doctor_sock.request({"t": "claim_next", "rid": "walk-1"}, "claimed"))["case"] == case
    finally:
        for sock in sockets:
            await sock.close()
        for client in (erik, nurse, doctor):
            await client.aclose()

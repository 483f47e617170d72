"""``direkt demo chat``: one whole journey against a running server, printed.

A demo citizen logs in with the test e-ID, answers the triage, waits; a demo
nurse who serves the queue the case landed in claims it; they chat (the nurse
with a phrase template); the nurse closes the case with an outcome; the
citizen reads the transcript. Uses the demo region file's people.
"""

from __future__ import annotations

import asyncio
from typing import Any

from direkt.loadtests.client import Client

CITIZEN = "199108312399"  # Erik Nilsson (demo), a Skatteverket test number
NURSES = ("cecilia.berg", "ingrid.dahl", "david.holm", "eva.sjo", "johan.lund", "anna.lind")
ANSWERS: list[tuple[str, Any]] = [
    ("screen.now", ["none"]),
    ("reason", "sore_throat"),
    ("screen.risk", ["none"]),
    ("sore_throat.danger", ["none"]),
    ("sore_throat.medicines", ["none"]),
    ("sore_throat.fever", "no"),
    ("sore_throat.centor", ["cough"]),
    ("sore_throat.ill", "no"),
    ("sore_throat.days", 10),
    ("sore_throat.photo", "skip"),
]


async def find_nurse(base: str, case_id: str) -> tuple[Client, dict[str, Any]]:
    for username in NURSES:
        nurse = Client(base)
        await nurse.login_staff(username)
        queue = await nurse.call("GET", "/api/staff/queue")
        row = next((r for r in queue["cases"] if r["case"] == case_id), None)
        if row is not None:
            return nurse, row
        await nurse.aclose()
    raise RuntimeError("no demo nurse serves the queue the case landed in")


async def run(base: str) -> int:
    citizen = Client(base)
    me = await citizen.login_citizen(CITIZEN)
    print(f"citizen logged in: {me['name']} ({me['pnr_masked']})")
    view = await citizen.triage("seek_care", ANSWERS)
    result = view["result"]
    print(f"triage: {result['reason']['label']['en']} -> {result['care_level']} ({result['profession']})")
    case = await citizen.submit(view["id"])
    case_id = case["case"]
    print(f"waiting room: case {case_id}, position {case['position']['position']} of {case['position']['depth']}")
    csock = await citizen.socket()
    await csock.send({"t": "join", "case": case_id})
    nurse, row = await find_nurse(base, case_id)
    print(f"nurse {nurse.me['name']} sees it in {row['unit']} (deadline order, urgency {row['urgency']})")
    nsock = await nurse.socket()
    if row["pickable"]:
        claimed = await nsock.request({"t": "claim", "case": case_id}, "claimed")
    else:
        claimed = await claim_until(nsock, case_id)
    print(f"claimed; triage summary has {len(claimed['file']['triage']['answers'])} answers")
    notice = await csock.expect("notice", 5)
    print(f"citizen notice: {notice['text']['en']}")
    await nsock.request({"t": "join", "case": case_id}, "synced")
    templates = await nurse.call("GET", f"/api/staff/templates?q=start&case={case_id}")
    greeting = templates["templates"][0]
    await nsock.request({"t": "send", "case": case_id, "cid": "n1", "template": greeting["id"],
                         "text": greeting["filled"]["sv"]}, "ack")  # fmt: skip
    question = "Hej! Jag har haft ont i halsen länge."
    await csock.request({"t": "send", "case": case_id, "cid": "c1", "text": question}, "ack")
    await nsock.request({"t": "send", "case": case_id, "cid": "n2", "text": "Tack. Drick varmt och vila."}, "ack")
    await nsock.request({"t": "close", "case": case_id, "outcome": "self_care_advice",
                         "note": "Halsont 10 dagar, Centor 2, opåverkad. Egenvårdsråd."}, "done")  # fmt: skip
    transcript = await citizen.call("GET", f"/api/cases/{case_id}/transcript")
    print("transcript (as the citizen reads it):")
    for m in transcript["messages"]:
        print(f"  [{m.get('role')}] {m.get('name', '')}: {m['text']}")
    await csock.close()
    await nsock.close()
    await citizen.aclose()
    await nurse.aclose()
    return 0


async def claim_until(sock: Any, case_id: str) -> dict[str, Any]:
    """Claim next until our case comes up (more urgent ones first); the others go back after."""
    others = []
    try:
        for i in range(12):
            claimed: dict[str, Any] = await sock.request({"t": "claim_next", "rid": f"demo-{i}"}, "claimed")
            if claimed.get("case") == case_id:
                return claimed
            if claimed.get("t") == "error" or claimed.get("case") is None:
                break
            others.append(claimed["case"])
    finally:
        for other in others:
            await sock.request({"t": "release", "case": other}, "done")
    raise RuntimeError("the case did not come up before the nurse's chat limit")


def main(base: str) -> int:
    return asyncio.run(run(base))

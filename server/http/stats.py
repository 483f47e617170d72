"""The statistics room of the HTTP API: ``GET /api/stats`` for supervisors and administrators.

Figures come from the region's event log through the pure fold
(``direkt.queue.statistics``, read by ``server/care/statsreader.py``); every
read and every refusal is audited as ``stats.read``. What each figure means:
docs/operations.md, "Statistics".
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.server.care.audit import operation
from direkt.server.care.statsreader import StatsAsk, StatsRoom
from direkt.server.care.workflow import Workflow
from direkt.server.errors import Forbidden
from direkt.server.http.api import Endpoint, query_of
from direkt.server.http.requests import authed, ok
from direkt.server.identity.sessions import Session
from direkt.server.wiring import Services

_Date = Annotated[str, msgspec.Meta(max_length=10, description="a local date, YYYY-MM-DD")]
_Code = Annotated[str, msgspec.Meta(max_length=64)]


class StatsQuery(msgspec.Struct):
    """The query of a statistics read: a period of local days, both included, and a scope."""

    from_: _Date = msgspec.field(default="", name="from")
    to: _Date = ""
    unit: Annotated[_Code, msgspec.Meta(description="one unit; none: the units you supervise in the region")] = ""
    region: Annotated[_Code, msgspec.Meta(description="the region (default: the unit's, or the only one)")] = ""
    by: Annotated[str, msgspec.Meta(description="the series' bucket: hour, day or week")] = "day"


async def stats_get(request: Request, svc: Services, session: Session) -> Response:
    query = query_of(request, StatsQuery)
    workflow = Workflow(svc)
    try:
        staff = workflow.staff_with_role(session.principal, "supervisor")
    except Forbidden:
        if session.principal.is_staff:  # a nurse without the role: the refusal is audited
            who = workflow.staff_of(session.principal)
            await svc.audit.record(operation(svc.clock(), who, "stats.read", detail="no_role", ok=False))
        raise
    ask = StatsAsk(query.from_, query.to or query.from_, query.unit, query.region, query.by)
    room = StatsRoom(svc.client, svc.config.directory, svc.audit)
    report = await room.read(staff, ask, svc.clock())
    units = svc.config.directory.units.values()
    report["choices"] = [  # the units this reader may ask for in the region (the page's filter)
        {"unit": u.id, "name": u.name} for u in units if u.region == report["region"] and staff.supervises(u.id)
    ]
    people = svc.config.directory.staff
    report["staff_names"] = {who: people[who].name for who in report["total"]["staff"] if who in people}
    reasons = svc.kb.reasons
    codes = set(report["total"]["arrived_by"].get("reason", {})) | set(report["total"]["contacts_by"].get("reason", {}))
    report["reason_labels"] = {c: {"sv": reasons[c].label.sv, "en": reasons[c].label.en} for c in codes if c in reasons}
    return ok(report)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/stats",
        authed(stats_get),
        "Statistics of a period (contacts, waits, guarantee compliance, staff) for supervisors",
        who="staff",
        query=StatsQuery,
    ),
]

"""The journal record of a closed case, for staff: a FHIR R4 Bundle and a printable page (docs/record.md).

Both are built afresh at each request from the case as it was closed (``care.record``), and
every export is audited as ``record.export`` with its format.
"""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.keys import CASE_ID_PATTERN
from direkt.server.care.fhirrecord import build_bundle
from direkt.server.care.record import record_input
from direkt.server.care.recordhtml import CONTENT_SECURITY_POLICY, render_record
from direkt.server.care.workflow import Workflow
from direkt.server.errors import BadRequest
from direkt.server.http.api import Endpoint
from direkt.server.http.requests import authed
from direkt.server.identity.sessions import Session
from direkt.server.wiring import Services

FHIR_JSON = "application/fhir+json"
_PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def _case_id(request: Request) -> str:
    case_id: str = request.path_params["case"]
    if not CASE_ID_PATTERN.fullmatch(case_id):
        raise BadRequest("not a case id")
    return case_id


async def record_fhir(request: Request, svc: Services, session: Session) -> Response:
    wf = Workflow(svc)
    case_id = _case_id(request)
    data = await record_input(wf, wf.staff_of(session.principal), case_id, "fhir")
    body = orjson.dumps(build_bundle(data))
    disposition = {"Content-Disposition": f'inline; filename="journal-{case_id}.json"'}
    return Response(body, media_type=FHIR_JSON, headers=_PRIVATE | disposition)


async def record_html(request: Request, svc: Services, session: Session) -> Response:
    wf = Workflow(svc)
    data = await record_input(wf, wf.staff_of(session.principal), _case_id(request), "html")
    page = render_record(data, svc.clock())
    headers = _PRIVATE | {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "Referrer-Policy": "no-referrer"}
    return Response(page, media_type="text/html; charset=utf-8", headers=headers)


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/staff/cases/{case}/record",
        authed(record_fhir),
        "A closed case's journal record as a FHIR R4 Bundle (application/fhir+json; each export audited)",
        who="staff",
    ),
    Endpoint(
        "GET",
        "/api/staff/cases/{case}/record.html",
        authed(record_html),
        "A closed case's journal record as a printable page (each export audited)",
        who="staff",
    ),
]

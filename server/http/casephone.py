"""The citizen's mobile number for the "your chat is ready" SMS (issue 23): given with consent when
joining the waiting room (``POST /api/cases``), changed or removed while waiting (here).

The number is stored with the case file only: never in a log line, never in an audit record.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.server.care.workflow import Workflow
from direkt.server.http.api import Endpoint, citizen_only
from direkt.server.http.requests import json_body, ok
from direkt.server.identity.profile import notice_phone
from direkt.server.identity.sessions import Session
from direkt.server.wiring import Services


class CasePhone(msgspec.Struct, forbid_unknown_fields=True):
    """``phone`` with ``consent``: SMS to that number; ``consent`` false or no phone: no SMS."""

    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""
    consent: bool = False


async def case_phone(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, CasePhone)
    phone = notice_phone(body.phone, body.consent)
    file = await Workflow(svc).set_phone(session.principal, request.path_params["case"], phone)
    return ok({"case": file.case_id, "sms": bool(phone), "sms_phone": phone or None})


ENDPOINTS = [
    Endpoint(
        "PUT",
        "/api/cases/{case}/phone",
        citizen_only(case_phone),
        "Give, change or remove the mobile number for the chat-ready SMS (consent needed)",
        CasePhone,
    ),
]

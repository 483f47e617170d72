"""The supervisor's API: the live board of their units, and steering them.

Every route needs a staff login with the supervisor role for the unit (an
administrator: every unit); another staff member gets 403, no session 401.
Every change is audited as an operation (``unit.*``, ``staff.*``), and so is
every refusal of one.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.model import Staff
from direkt.server.care.audit import operation
from direkt.server.care.steering import (
    MAX_CLOSURE_MS,
    MAX_NOTICE_MS,
    MAX_TEXT,
    Entry,
    SteeringStore,
    check_text,
    check_until,
)
from direkt.server.care.supervision import Supervision
from direkt.server.errors import DirektError
from direkt.server.http.api import Endpoint
from direkt.server.http.requests import authed, json_body, ok
from direkt.server.identity.sessions import Session
from direkt.server.wiring import Services

StaffId = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_.@-]{1,64}$", description="a staff member's id")]


class IntakeBody(msgspec.Struct, forbid_unknown_fields=True):
    until_ms: Annotated[int, msgspec.Meta(ge=0, description="when intake opens again (at most 12 hours ahead)")]
    text: Annotated[str, msgspec.Meta(max_length=4 * MAX_TEXT, description="the message citizens read")]


class NoticeBody(msgspec.Struct, forbid_unknown_fields=True):
    until_ms: Annotated[int, msgspec.Meta(ge=0, description="when the notice is taken down (at most 24 hours ahead)")]
    text: Annotated[str, msgspec.Meta(max_length=4 * MAX_TEXT, description="the notice waiting citizens read")]


class ReleaseBody(msgspec.Struct, forbid_unknown_fields=True):
    holder: StaffId  # who holds the chat as the supervisor saw it: another holder by now is a 409


class ReassignBody(msgspec.Struct, forbid_unknown_fields=True):
    holder: StaffId
    to: StaffId


def _supervisor(svc: Services, session: Session) -> tuple[Supervision, Staff]:
    sup = Supervision(svc)
    return sup, sup.staff_with_role(session.principal, "supervisor")


async def _of_unit(svc: Services, session: Session, unit: str, action: str) -> tuple[Supervision, Staff]:
    """A supervisor of ``unit``; a refusal of a supervisor (another unit, unknown unit) is audited."""
    sup, boss = _supervisor(svc, session)
    try:
        sup.supervisor_of(boss, unit)
    except DirektError as exc:
        known = unit if unit in svc.config.directory.units else ""
        await svc.audit.record(operation(svc.clock(), boss, action, unit=known, detail=exc.code, ok=False))
        raise
    return sup, boss


async def board(request: Request, svc: Services, session: Session) -> Response:
    sup, boss = _supervisor(svc, session)
    return ok(await sup.board(boss))


async def _put_steering(
    request: Request, svc: Services, session: Session, part: str, body_type: type[IntakeBody | NoticeBody]
) -> Response:
    """Put a unit's intake closure or notice in force (``part``), audited; a bad text or time is refused, audited."""
    unit, action, longest = request.path_params["unit"], STEERING_ACTIONS[part][0], STEERING_LONGEST_MS[part]
    _, boss = await _of_unit(svc, session, unit, action)
    body = await json_body(request, body_type)
    now = svc.clock()
    try:
        entry = Entry(check_text(body.text, "text"), check_until(body.until_ms, now, longest, "until_ms"), boss.id, now)
    except DirektError as exc:
        await svc.audit.record(operation(now, boss, action, unit=unit, detail=exc.code, ok=False))
        raise
    minutes = (entry.until_ms - now + 59_999) // 60_000
    await svc.audit.record(operation(now, boss, action, unit=unit, detail=f"{minutes}m" if part == "intake" else ""))
    store = SteeringStore(svc.client, svc.config.directory)
    await store.put(unit, part, entry)
    return ok({"unit": unit, **(await store.of_unit(unit)).view(now)})


async def _end_steering(request: Request, svc: Services, session: Session, part: str) -> Response:
    """End a unit's intake closure or notice (``part``) early, audited."""
    unit, action = request.path_params["unit"], STEERING_ACTIONS[part][1]
    _, boss = await _of_unit(svc, session, unit, action)
    now = svc.clock()
    await svc.audit.record(operation(now, boss, action, unit=unit))
    store = SteeringStore(svc.client, svc.config.directory)
    await store.remove(unit, part)
    return ok({"unit": unit, **(await store.of_unit(unit)).view(now)})


STEERING_ACTIONS = {
    "intake": ("unit.intake_close", "unit.intake_open"),
    "notice": ("unit.notice_post", "unit.notice_clear"),
}
STEERING_LONGEST_MS = {"intake": MAX_CLOSURE_MS, "notice": MAX_NOTICE_MS}


async def intake_close(request: Request, svc: Services, session: Session) -> Response:
    return await _put_steering(request, svc, session, "intake", IntakeBody)


async def intake_open(request: Request, svc: Services, session: Session) -> Response:
    return await _end_steering(request, svc, session, "intake")


async def notice_post(request: Request, svc: Services, session: Session) -> Response:
    return await _put_steering(request, svc, session, "notice", NoticeBody)


async def notice_clear(request: Request, svc: Services, session: Session) -> Response:
    return await _end_steering(request, svc, session, "notice")


async def chat_release(request: Request, svc: Services, session: Session) -> Response:
    sup, boss = _supervisor(svc, session)
    body = await json_body(request, ReleaseBody)
    case_id = request.path_params["case"]
    record = await sup.release_chat(boss, case_id, body.holder)
    return ok({"case": case_id, "state": "waiting", "unit": record.unit, "released_from": body.holder})


async def chat_reassign(request: Request, svc: Services, session: Session) -> Response:
    sup, boss = _supervisor(svc, session)
    body = await json_body(request, ReassignBody)
    case_id = request.path_params["case"]
    moved = await sup.reassign_chat(boss, case_id, body.holder, body.to)
    return ok({"case": case_id, "state": "claimed", "holder": body.to, "changed": moved})


ENDPOINTS = [
    Endpoint(
        "GET",
        "/api/supervision",
        authed(board),
        "The supervisor's live board: queues, deadlines, breaches, staff online and their chats, per unit",
        who="staff",
    ),
    Endpoint(
        "PUT",
        "/api/units/{unit}/intake",
        authed(intake_close),
        "Close the unit's intake until a time (at most 12 h), with a message to citizens",
        IntakeBody,
        who="staff",
    ),
    Endpoint("DELETE", "/api/units/{unit}/intake", authed(intake_open), "Open the unit's intake again", who="staff"),
    Endpoint(
        "PUT",
        "/api/units/{unit}/notice",
        authed(notice_post),
        "Post a notice to the unit's waiting room until a time (at most 24 h)",
        NoticeBody,
        who="staff",
    ),
    Endpoint("DELETE", "/api/units/{unit}/notice", authed(notice_clear), "Take the notice down", who="staff"),
    Endpoint(
        "POST",
        "/api/supervision/cases/{case}/release",
        authed(chat_release),
        "Take a staff member's chat back to its queue (at its original deadline)",
        ReleaseBody,
        who="staff",
    ),
    Endpoint(
        "POST",
        "/api/supervision/cases/{case}/reassign",
        authed(chat_reassign),
        "Give a staff member's chat to another who is online and serves its queue",
        ReassignBody,
        who="staff",
    ),
]

"""The HTTP API for citizens and staff. Every route is listed in ``ENDPOINTS``,
which builds both the Starlette routes and ``/openapi.json``.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.keys import CASE_ID_PATTERN
from direkt.queue.scripts import redis_errors
from direkt.server.care.availability import availability_of, parse_availability, set_availability, tell_consoles
from direkt.server.care.earlier import earlier_contacts
from direkt.server.care.photos import photo_key_id, sanitise_photo
from direkt.server.care.queueviews import position_view
from direkt.server.care.templates import TemplateInput, fill, template_view
from direkt.server.care.transcript import MAX_PAGE, REPLAY_PAGE, Entry, Page
from direkt.server.care.transfers import transfer_targets
from direkt.server.care.triageflow import ReadAhead, age_in_months, stockholm_date
from direkt.server.care.workflow import Workflow
from direkt.server.care.writeguard import Guard
from direkt.server.errors import BadRequest, Conflict, Forbidden, NotFound
from direkt.server.http.requests import authed, json_body, ok, read_body, services, session_with
from direkt.server.identity.access import may_act_for
from direkt.server.identity.profile import notice_phone
from direkt.server.identity.sessions import Session
from direkt.server.redis import keys
from direkt.server.wiring import Services
from direkt.server.ws.frames import Note, Outcome, Short
from direkt.signaling.sdp import MAX_SDP_CHARS

MAX_PHOTO_BYTES = 8 * 1024 * 1024

Q = TypeVar("Q", bound=msgspec.Struct)


# -- request bodies (validated by msgspec; unknown fields refused) -----------------------


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    pass


class TranscriptQuery(msgspec.Struct):
    """The query of a transcript read: one page, from a position (docs/protocol.md §4)."""

    after: Annotated[
        str, msgspec.Meta(max_length=41, description="read after this entry id (the previous page's next)")
    ] = ""
    epoch: Annotated[
        str, msgspec.Meta(max_length=64, description="the epoch of the previous page; another one: 409 history_lost")
    ] = ""
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE, description="the most entries on the page")] = REPLAY_PAGE


class TriageStart(_Body):
    entry: str
    child: str = ""
    sex: str = ""
    lang: str = "sv"


class TriageAnswer(_Body):
    question: str
    value: str | int | float | list[str] | bool | None


class UnitsQuery(msgspec.Struct):
    """The query of the transfer targets: the patient's age, to leave out units that cannot take them."""

    age: Annotated[int, msgspec.Meta(ge=0, le=130, description="the patient's age in years")] | None = None


class AvailabilityBody(_Body):
    availability: str  # available, paused or away


class CaseSubmit(_Body):
    triage: str
    chat_anyway: bool = False
    unit: str = ""  # the clinic whose page the widget is on (data-unit); default: the citizen's listing
    phone: Annotated[str, msgspec.Meta(max_length=32)] = ""  # a mobile number for the "chat ready" SMS (issue 23)
    sms_consent: bool = False  # the citizen ticked "send me an SMS": without it no number is kept


class CaseClose(_Body):
    outcome: Outcome
    note: Note = ""
    unit: Short = ""  # the unit referred to (outcome "referred")
    booking: Short = ""  # the visit booked (outcomes "visit_booked", "video_consultation")


class CallTestOffer(_Body):
    type: str
    sdp: str


class TemplateBody(_Body):
    title: str
    text_sv: str
    text_en: str
    tags: list[str] = msgspec.field(default_factory=list)
    unit: str | None = None


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Callable[[Request], Awaitable[Response]]
    summary: str
    body: type | None = None
    who: str = "citizen"  # citizen, staff, any, public
    raw_body: str = ""  # a non-JSON body's media type
    query: type | None = None  # a msgspec Struct of the query parameters


# -- citizens --------------------------------------------------------------------------


def _workflow(svc: Services) -> Workflow:
    return Workflow(svc)


async def _staff_case(svc: Services, session: Session, case_id: str, action: str) -> None:
    wf = _workflow(svc)
    await wf.staff_case(wf.staff_of(session.principal), case_id, action)


async def triage_start(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, TriageStart)
    relations = await svc.guardians.children_of(session.principal.pnr) if body.child else None
    state = await svc.triage.start(session.principal, body.entry, body.child, body.sex, body.lang, relations)
    return ok(svc.triage.view(state), 201)


async def triage_get(request: Request, svc: Services, session: Session, ahead: ReadAhead) -> Response:
    state = await svc.triage.get(session.principal, request.path_params["tid"], ahead)
    return ok(svc.triage.view(state))


async def triage_answer(request: Request, svc: Services, session: Session, ahead: ReadAhead) -> Response:
    body = await json_body(request, TriageAnswer)
    value = tuple(body.value) if isinstance(body.value, list) else body.value
    state = await svc.triage.answer(session.principal, request.path_params["tid"], body.question, value, ahead)
    return ok(svc.triage.view(state))


async def triage_back(request: Request, svc: Services, session: Session, ahead: ReadAhead) -> Response:
    state = await svc.triage.back(session.principal, request.path_params["tid"], ahead)
    return ok(svc.triage.view(state))


async def case_submit(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, CaseSubmit)
    phone = notice_phone(body.phone, body.sms_consent)
    done = await _workflow(svc).submit(
        session.principal, body.triage, chat_anyway=body.chat_anyway, unit=body.unit, phone=phone
    )
    view = done.file.citizen_view() | {
        "state": "waiting",
        "position": position_view(done.position),
        "queue": done.queue,
    }
    return ok(view, 201 if done.created else 200)


async def unit_get(request: Request) -> Response:
    """Public: a unit's name, for the embedded widget's heading."""
    unit = services(request).config.directory.units.get(request.path_params["unit"])
    if unit is None:
        raise NotFound("no such unit")
    return ok({"unit": unit.id, "name": unit.name, "region": unit.region})


async def case_list(request: Request, svc: Services, session: Session) -> Response:
    files = await svc.files.of_user(session.principal.uid)
    return ok({"cases": [f.citizen_view() for f in files]})


async def case_get(request: Request, svc: Services, session: Session) -> Response:
    return ok(await _workflow(svc).citizen_status(session.principal, request.path_params["case"]))


async def case_abandon(request: Request, svc: Services, session: Session) -> Response:
    left = await _workflow(svc).abandon(session.principal, request.path_params["case"])
    return ok({"case": request.path_params["case"], "abandoned": True, "now": left})


async def case_transcript(request: Request, svc: Services, session: Session) -> Response:
    case_id, query = request.path_params["case"], query_of(request, TranscriptQuery)
    page = await _workflow(svc).transcript(session.principal, case_id, query.epoch, query.after, query.limit)
    return ok(page_view(case_id, page))


async def photo_upload(request: Request, svc: Services, session: Session) -> Response:
    case_id = request.path_params["case"]
    guard = await _photo_guard(svc, session, case_id)
    raw = await read_body(request, MAX_PHOTO_BYTES)
    photo = await asyncio.to_thread(sanitise_photo, raw, max_bytes=MAX_PHOTO_BYTES)
    photo_id = photo_key_id(svc.clock(), os.urandom(10))  # dated: the retention rules count from the upload
    value = photo.content_type.encode() + b"\n" + photo.data
    await svc.guards.set(guard, keys.photo(case_id, photo_id), value)
    return ok(
        {"photo": photo_id, "content_type": photo.content_type, "width": photo.width, "height": photo.height}, 201
    )


async def _photo_guard(svc: Services, session: Session, case_id: str) -> Guard:
    """Who may add a photo: the nurse holding the case (under her current lease), or its citizen while open."""
    wf = _workflow(svc)
    if session.principal.is_staff:
        staff = wf.staff_of(session.principal)
        _, record = await wf.staff_case(staff, case_id, "photo.upload", holder=True)
        return Guard.lease(case_id, staff.id, record.token, svc.clock())
    if (await wf.citizen_case(session.principal, case_id, "photo.upload")).closed_ms:
        raise Conflict("the case is closed; photos can no longer be added")
    return Guard.file(case_id)


async def photo_get(request: Request, svc: Services, session: Session) -> Response:
    case_id, photo_id = request.path_params["case"], request.path_params["photo"]
    if session.principal.is_staff:
        await _staff_case(svc, session, case_id, "photo.read")
    else:
        await _workflow(svc).citizen_case(session.principal, case_id, "photo.read")
    if not photo_id.isalnum() or len(photo_id) > 40:
        raise NotFound("no such photo")
    with redis_errors():
        stored: Any = await svc.client.get(keys.photo(case_id, photo_id))
    if stored is None:
        raise NotFound("no such photo")
    content_type, _, data = stored.partition(b"\n")
    headers = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
    return Response(data, media_type=content_type.decode(), headers=headers)


async def my_children(request: Request, svc: Services, session: Session) -> Response:
    """Children the logged-in guardian may act for: 1–12 years, and under 6 in child health care."""
    relations = await svc.guardians.children_of(session.principal.pnr)
    today = stockholm_date(svc.clock())
    children = []
    for pnr, name in relations.children.items():
        entries = [
            e for e in ("seek_care", "child_health") if may_act_for(relations, session.principal.pnr, pnr, today, e)
        ]
        if entries:
            months = age_in_months(pnr, today)
            children.append({"pnr": pnr, "name": name, "age": months // 12, "age_months": months,
                             "entries": entries})  # fmt: skip
    return ok({"children": children})


# -- staff -------------------------------------------------------------------------------


async def staff_queue(request: Request, svc: Services, session: Session) -> Response:
    wf = _workflow(svc)
    staff = wf.staff_of(session.principal)
    held = [r.case_id for r in await svc.waitroom.held_by(staff)]
    return ok({"cases": await wf.queue_snapshot(staff), "held": held, "max_chats": staff.max_chats})


async def staff_availability(request: Request, svc: Services, session: Session) -> Response:
    staff = _workflow(svc).staff_of(session.principal)
    return ok({"availability": (await availability_of(svc.client, staff.id, svc.clock())).value})


async def staff_set_availability(request: Request, svc: Services, session: Session) -> Response:
    """Available, on a pause or away: "take next" is refused unless available."""
    staff = _workflow(svc).staff_of(session.principal)
    value = parse_availability((await json_body(request, AvailabilityBody)).availability)
    await set_availability(svc.client, staff.id, value, svc.clock())
    await tell_consoles(svc.client, session.principal.uid, value)
    return ok({"availability": value.value})


async def staff_units(request: Request, svc: Services, session: Session) -> Response:
    """The units a case can be transferred to, by name: with ``age``, only those that take such a
    patient; each with its skills, whether it is open (else when it opens) and its queues' lengths."""
    _workflow(svc).staff_of(session.principal)
    query = query_of(request, UnitsQuery)
    directory = svc.config.directory
    depths = await svc.waitroom.depths()
    targets = transfer_targets(directory.units.values(), depths, directory.calendar, svc.clock(), query.age)
    return ok({"units": targets})


async def staff_case(request: Request, svc: Services, session: Session) -> Response:
    wf = _workflow(svc)
    file, record = await wf.staff_case(wf.staff_of(session.principal), request.path_params["case"], "case.read")
    return ok(
        file.console_view()
        | {
            "state": record.state,
            "unit": record.unit,
            "skill": record.skill.value,
            "deadline_ms": record.deadline_ms,
            "holder": record.holder or None,
        }
    )


async def staff_earlier(request: Request, svc: Services, session: Session) -> Response:
    """The patient's other cases at the units I serve, newest first (each shown case audited)."""
    wf = _workflow(svc)
    staff = wf.staff_of(session.principal)
    case_id = request.path_params["case"]
    if not CASE_ID_PATTERN.fullmatch(case_id):
        raise BadRequest("not a case id")
    return ok({"case": case_id, "earlier": await earlier_contacts(wf, staff, case_id)})


async def staff_transcript(request: Request, svc: Services, session: Session) -> Response:
    wf = _workflow(svc)
    case_id, query = request.path_params["case"], query_of(request, TranscriptQuery)
    await wf.staff_case(wf.staff_of(session.principal), case_id, "transcript.read")
    return ok(page_view(case_id, await svc.transcripts.since(case_id, query.epoch, query.after, query.limit)))


async def staff_close(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, CaseClose)
    wf = _workflow(svc)
    staff, case_id = wf.staff_of(session.principal), request.path_params["case"]
    await wf.close(staff, case_id, body.outcome, body.note, unit=body.unit, booking=body.booking)
    return ok({"case": case_id, "state": "closed", "outcome": body.outcome})


async def template_list(request: Request, svc: Services, session: Session) -> Response:
    wf = _workflow(svc)
    staff = wf.staff_of(session.principal)
    templates = await svc.templates.list(staff, request.query_params.get("q", "")[:64])
    views = [template_view(t) | {"editable": svc.templates.may_change(staff, t)} for t in templates]
    if case_id := request.query_params.get("case"):
        file, record = await wf.staff_case(staff, case_id, "case.read")
        unit = svc.config.directory.units[record.unit].name
        values = {"first_name": file.first_name, "unit": unit, "nurse_name": staff.name}
        for view, template in zip(views, templates, strict=True):
            view["filled"] = {"sv": fill(template.text_sv, values), "en": fill(template.text_en, values)}
    return ok({"templates": views, "unit_phrases": svc.templates.writable_units(staff)})  # units she may add to


async def template_create(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, TemplateBody)
    staff = _workflow(svc).staff_of(session.principal)
    return ok(template_view(await svc.templates.create(staff, _template_input(body))), 201)


async def template_update(request: Request, svc: Services, session: Session) -> Response:
    body = await json_body(request, TemplateBody)
    staff = _workflow(svc).staff_of(session.principal)
    template = await svc.templates.update(staff, request.path_params["tid"], _template_input(body))
    return ok(template_view(template))


async def template_delete(request: Request, svc: Services, session: Session) -> Response:
    staff = _workflow(svc).staff_of(session.principal)
    await svc.templates.delete(staff, request.path_params["tid"])
    return Response(status_code=204)


async def calltest_start(request: Request, svc: Services, session: Session) -> Response:
    """The pre-call test: a complete offer in, the echo peer's answer out (signaling/echo.py)."""
    body = await json_body(request, CallTestOffer)
    if body.type != "offer" or len(body.sdp) > MAX_SDP_CHARS:
        raise BadRequest(f"send a complete offer: type offer, at most {MAX_SDP_CHARS} characters of SDP")
    answer = await svc.calltest.answer(session.principal.uid, body.sdp)
    return ok({"type": "answer", "sdp": answer, "expires_in_s": int(svc.calltest.lifetime_s)}, 201)


async def calltest_stop(request: Request, svc: Services, session: Session) -> Response:
    await svc.calltest.stop(session.principal.uid)
    return Response(status_code=204)


def _template_input(body: TemplateBody) -> TemplateInput:
    return TemplateInput(body.title, body.text_sv, body.text_en, tuple(body.tags), body.unit)


def query_of(request: Request, kind: type[Q]) -> Q:
    """The request's query parameters as ``kind`` (a msgspec Struct; other parameters are ignored).

    Raises:
        BadRequest: a parameter is malformed or out of range.
    """
    try:
        return msgspec.convert(dict(request.query_params), kind, strict=False)
    except msgspec.ValidationError as exc:
        raise BadRequest(f"invalid query: {exc}") from None


def page_view(case_id: str, page: Page) -> dict[str, Any]:
    """A transcript page; ``next`` is null on the last one."""
    messages = [entry_view(e) for e in page.entries]
    return {"case": case_id, "epoch": page.epoch, "messages": messages, "next": page.next or None}


def entry_view(entry: Entry) -> dict[str, Any]:
    view = {"id": entry.id, **{k: v for k, v in entry.body.items() if k != "vis"}}
    if entry.staff_only:
        view["staff_only"] = True
    return view


def check_citizen(session: Session) -> None:
    if session.principal.is_staff:
        raise Forbidden("this is for citizens")


def citizen_only(handler: Any) -> Any:
    async def wrapped(request: Request, svc: Services, session: Session) -> Response:
        check_citizen(session)
        return await handler(request, svc, session)  # type: ignore[no-any-return]

    return authed(functools.update_wrapper(wrapped, handler))


TriageHandler = Callable[[Request, Services, Session, ReadAhead], Awaitable[Response]]


def citizen_triage(handler: TriageHandler) -> Callable[[Request], Awaitable[Response]]:
    """``citizen_only`` for a handler on the triage in the path: the session and
    the stored triage are read in one round trip to Redis, the triage is used
    only after the session's checks (and the handler's own, in its order)."""

    async def endpoint(request: Request) -> Response:
        svc = services(request)
        session, raw = await session_with(request, svc, svc.triage.key(request.path_params["tid"]))
        check_citizen(session)
        return await handler(request, svc, session, ReadAhead(raw))

    return functools.update_wrapper(endpoint, handler)  # __wrapped__ marks it as needing a session (openapi)


ENDPOINTS = [
    Endpoint("POST", "/api/triage", citizen_only(triage_start), "Start a triage on an entry", TriageStart),
    Endpoint("GET", "/api/triage/{tid}", citizen_triage(triage_get), "The current question or the result"),
    Endpoint(
        "POST",
        "/api/triage/{tid}/answer",
        citizen_triage(triage_answer),
        "Answer the current question (or change an earlier answer)",
        TriageAnswer,
    ),
    Endpoint("POST", "/api/triage/{tid}/back", citizen_triage(triage_back), "Go back one question"),
    Endpoint("POST", "/api/cases", citizen_only(case_submit), "Send a finished triage to the waiting room", CaseSubmit),
    Endpoint("GET", "/api/cases", citizen_only(case_list), "My cases and my children's"),
    Endpoint("GET", "/api/cases/{case}", citizen_only(case_get), "A case's state and waiting-room position"),
    Endpoint("POST", "/api/cases/{case}/abandon", citizen_only(case_abandon), "Leave the waiting room"),
    Endpoint(
        "GET",
        "/api/cases/{case}/transcript",
        citizen_only(case_transcript),
        "Read the chat transcript, a page at a time: ask again with after=next and epoch until next is null",
        query=TranscriptQuery,
    ),
    Endpoint(
        "POST",
        "/api/cases/{case}/photos",
        authed(photo_upload),
        "Attach a photo (JPEG, PNG or WebP; metadata removed)",
        who="any",
        raw_body="image/*",
    ),
    Endpoint("GET", "/api/cases/{case}/photos/{photo}", authed(photo_get), "A photo of the case", who="any"),
    Endpoint("GET", "/api/units/{unit}", unit_get, "A unit's public name (for the embedded widget)", who="public"),
    Endpoint("GET", "/api/me/children", citizen_only(my_children), "Children I may act for"),
    Endpoint(
        "POST",
        "/api/calltest",
        authed(calltest_start),
        "Pre-call test: an echo peer answers a complete WebRTC offer",
        CallTestOffer,
        who="any",
    ),
    Endpoint("DELETE", "/api/calltest", authed(calltest_stop), "End my pre-call test", who="any"),
    Endpoint("GET", "/api/staff/queue", authed(staff_queue), "Waiting cases of my queues", who="staff"),
    Endpoint("GET", "/api/staff/availability", authed(staff_availability), "Available, paused or away", who="staff"),
    Endpoint(
        "PUT",
        "/api/staff/availability",
        authed(staff_set_availability),
        "Set myself available, paused or away (take next needs available)",
        AvailabilityBody,
        who="staff",
    ),
    Endpoint(
        "GET",
        "/api/staff/units",
        authed(staff_units),
        "Units a case can be transferred to, with opening and queue lengths",
        who="staff",
        query=UnitsQuery,
    ),
    Endpoint(
        "GET",
        "/api/staff/cases/{case}",
        authed(staff_case),
        "Case details with the triage summary (audited)",
        who="staff",
    ),
    Endpoint(
        "GET",
        "/api/staff/cases/{case}/earlier",
        authed(staff_earlier),
        "The patient's earlier contacts at my units, newest first; transcripts on request (each read audited)",
        who="staff",
    ),
    Endpoint(
        "GET",
        "/api/staff/cases/{case}/transcript",
        authed(staff_transcript),
        "The transcript including staff notes, a page at a time as for citizens (each page audited)",
        who="staff",
        query=TranscriptQuery,
    ),
    Endpoint(
        "POST",
        "/api/staff/cases/{case}/close",
        authed(staff_close),
        "Close with an outcome and a journal note",
        CaseClose,
        who="staff",
    ),
    Endpoint(
        "GET",
        "/api/staff/templates",
        authed(template_list),
        "Phrase templates; q searches title and tags, case fills placeholders",
        who="staff",
    ),
    Endpoint(
        "POST",
        "/api/staff/templates",
        authed(template_create),
        "Create a personal or unit template",
        TemplateBody,
        who="staff",
    ),
    Endpoint(
        "PUT", "/api/staff/templates/{tid}", authed(template_update), "Edit a template", TemplateBody, who="staff"
    ),
    Endpoint("DELETE", "/api/staff/templates/{tid}", authed(template_delete), "Delete a template", who="staff"),
]

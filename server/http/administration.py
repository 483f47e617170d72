"""Administration without restarts: an administrator edits staff, units and phrase templates in
the live configuration (server/liveconfig.py); a supervisor adds a unit's one-off closure days.

Every edit names the version it was made against (``If-Match``), is validated by the region
file's validator (422 ``config_invalid`` with the ``field`` to fix, nothing applied), stored by
compare-and-set (409 ``config_conflict`` when someone else's edit came first), applied on every
server process within seconds, and audited as ``config.<what>`` (``unit.closure_day``) with the
id as detail; refusals are audited as denied.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated, TypeVar

import msgspec
from argon2 import PasswordHasher
from starlette.requests import Request
from starlette.responses import Response

from direkt.queue.keys import RegionKeys
from direkt.queue.model import Directory, OverflowWhen, Skill, Staff, UnitKind
from direkt.queue.scripts import redis_errors
from direkt.server.care.audit import operation
from direkt.server.care.triageflow import stockholm_date
from direkt.server.care.workflow import Workflow
from direkt.server.configedits import (
    config_view,
    field_of,
    find,
    put_staff,
    put_template,
    put_unit,
    remove_template,
    remove_unit,
    staff_view,
    unit_view,
    with_closed_day,
)
from direkt.server.errors import (
    BadRequest,
    ConfigConflict,
    ConfigError,
    ConfigRejected,
    Conflict,
    DirektError,
    Forbidden,
    NotFound,
    VersionRequired,
)
from direkt.server.http.api import Endpoint
from direkt.server.http.requests import authed, json_body, ok
from direkt.server.identity.sessions import Session, staff_uid
from direkt.server.region import OverflowSpec, RegionConfig, RegionFile, StaffSpec, TemplateSpec, TemplateText, UnitSpec
from direkt.server.wiring import Services

TEMPLATE_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
CLOSURE_RETRIES = 5  # a closure day is merged into the newest version; retried if another edit came first
_hasher = PasswordHasher()
B = TypeVar("B", bound=msgspec.Struct)
SAFE_CODE = re.compile(r"^[A-Za-z0-9_.:@+-]{1,64}$")
ISO_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    pass


class StaffBody(_Body):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    profession: Skill
    units: list[str]
    max_chats: int
    id: Annotated[str, msgspec.Meta(max_length=63)] = ""  # POST only; PUT takes it from the path
    skills: list[Skill] | None = None
    roles: list[str] = msgspec.field(default_factory=list)
    active: bool = True
    password: Annotated[str, msgspec.Meta(min_length=4, max_length=128)] | None = None  # absent: keep
    # Identities the staff identity provider may name; absent: keep, null: remove (docs/identity.md).
    hsa_id: Annotated[str, msgspec.Meta(max_length=44)] | msgspec.UnsetType | None = msgspec.UNSET
    upn: Annotated[str, msgspec.Meta(max_length=320)] | msgspec.UnsetType | None = msgspec.UNSET


class RuleBody(_Body):
    to: str
    when: OverflowWhen
    window: dict[str, str] | None = None
    wait_over_min: int | None = None
    skills: list[Skill] | None = None


class UnitBody(_Body):
    region: str
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    kind: UnitKind
    skills: list[Skill]
    hours: dict[str, str]
    id: Annotated[str, msgspec.Meta(max_length=63)] = ""  # POST only
    fallback: list[str] = msgspec.field(default_factory=list)
    pick_from_list: bool = False
    closed_days: list[dt.date] = msgspec.field(default_factory=list)
    staff_edit_phrases: bool = True
    overflow: list[RuleBody] = msgspec.field(default_factory=list)


class TemplateTextBody(_Body):
    sv: Annotated[str, msgspec.Meta(max_length=2000)]
    en: Annotated[str, msgspec.Meta(max_length=2000)]


class AdminTemplateBody(_Body):
    title: Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
    text: TemplateTextBody
    id: Annotated[str, msgspec.Meta(max_length=63)] = ""  # POST only
    tags: list[Annotated[str, msgspec.Meta(min_length=1, max_length=32)]] = msgspec.field(default_factory=list)
    unit: str | None = None  # None: every unit


class ClosureDayBody(_Body):
    date: dt.date


async def admin_body(request: Request, kind: type[B]) -> B:
    """The body as ``kind``; a field of the wrong type or shape is a 422 naming it."""
    return await json_body(request, kind, _config_rejected)


def _config_rejected(exc: msgspec.ValidationError) -> DirektError:
    problem, _, where = str(exc).partition(" - at `$")
    return ConfigRejected(where.rstrip("`").lstrip("."), problem[:1].lower() + problem[1:])


def if_match(request: Request) -> int:
    """The configuration version the edit was made against (``If-Match: "7"``).

    Raises:
        VersionRequired: no If-Match; BadRequest: not a version.
    """
    value = request.headers.get("if-match")
    if value is None:
        raise VersionRequired('send If-Match with the configuration version you edited, e.g. If-Match: "7"')
    text = value.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or len(text) > 12:
        raise BadRequest("If-Match must be a configuration version number")
    return int(text)


def _code(text: str) -> str:
    """An id for the audit record's detail or unit: as sent if it is a short code, else "-" (no free text)."""
    return text if SAFE_CODE.match(text) else "-"


async def _refused(svc: Services, staff: Staff, action: str, detail: str, unit: str = "") -> None:
    record = operation(
        svc.clock(), staff, action, unit=_code(unit) if unit else "", detail=_code(detail) if detail else "", ok=False
    )
    await svc.audit.record(record)


async def _admin(svc: Services, session: Session, action: str, detail: str) -> Staff:
    """The administrator behind the session (a staff member without the role: 403, audited)."""
    wf = Workflow(svc)
    staff = wf.staff_of(session.principal)
    try:
        return wf.staff_with_role(session.principal, "admin")
    except Forbidden:
        await _refused(svc, staff, action, detail)
        raise


async def _admin_body(request: Request, svc: Services, session: Session, what: str, kind: type[B]) -> B:
    """The body of an administrator's edit, read only once the role is checked (a nurse's
    request is refused before its body is parsed or a password hashed; the refusal names the
    item edited, or nothing for an item to be added)."""
    item = next(iter(request.path_params.values()), "")
    await _admin(svc, session, f"config.{what}", item)
    return await admin_body(request, kind)


Change = Callable[[RegionFile], RegionFile]


async def _edit(
    request: Request, svc: Services, session: Session, what: str, item_id: str, change: Change, unit: str = ""
) -> RegionConfig:
    """Check, apply, store and audit one administrator's edit; deactivated staff's sessions end."""
    action = f"config.{what}"
    admin = await _admin(svc, session, action, item_id)
    try:
        expected = if_match(request)
        await svc.live.refresh()
        if svc.live.stamp is None or expected != svc.live.stamp.version:
            raise ConfigConflict("the configuration changed since you read it; reload it and edit again")
        old, spec = svc.live.current, change(svc.live.spec)
        await _no_cases_stranded(svc, old.directory, spec)
        new = await _write(svc, expected, spec, admin.id, what, item_id)
    except DirektError:
        await _refused(svc, admin, action, item_id, unit)
        raise
    await svc.audit.record(operation(svc.clock(), admin, action, unit=unit, detail=_code(item_id)))
    for gone in set(old.directory.staff) - set(new.directory.staff):
        await svc.sessions.revoke_user(staff_uid(gone))  # deactivated: logged out everywhere
    return new


async def _no_cases_stranded(svc: Services, before: Directory, after: RegionFile) -> None:
    """Refuse to remove a unit, or a skill from a unit, while cases wait or are held in that queue:
    nobody would serve them any more.

    Raises:
        Conflict: a case waits in, or is held from, a queue the edit removes.
    """
    kept = {(u.id, skill) for u in after.units for skill in u.skills}
    gone = {(u.id, skill): u.region for u in before.units.values() for skill in u.skills if (u.id, skill) not in kept}
    if not gone:
        return
    with redis_errors():
        for (unit, skill), region in gone.items():
            if await svc.client.zcard(RegionKeys(region).queue(unit, skill.value)):
                raise Conflict(f"cases wait in {unit}'s {skill.value} queue: move or close them first")
        for region in {region for region in gone.values()}:
            rk = RegionKeys(region)
            for case_id in await svc.client.zrange(rk.leases, 0, -1):
                held = await svc.client.hmget(rk.case(_text(case_id)), "unit", "skill")
                if (_text(held[0]), _text(held[1])) in {(u, s.value) for u, s in gone}:
                    raise Conflict(f"a chat is open in {_text(held[0])}'s queue: close or move it first")


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


async def _write(svc: Services, expected: int, spec: RegionFile, by: str, what: str, item_id: str) -> RegionConfig:
    collection = {"staff": "staff", "unit": "units", "template": "templates"}[what]
    try:
        return await svc.live.write(expected, spec, by)
    except ConfigError as exc:
        raise ConfigRejected(field_of(exc.key, collection, item_id, spec), exc.problem) from None


def _version(svc: Services) -> int:
    return svc.live.stamp.version if svc.live.stamp else 0


# -- the whole configuration ---------------------------------------------------------------


async def config_get(request: Request, svc: Services, session: Session) -> Response:
    await _admin(svc, session, "config.read", "")
    await svc.live.refresh()
    return ok(config_view(svc.live.spec, _version(svc)))


# -- staff ---------------------------------------------------------------------------------


async def _staff_spec(body: StaffBody, staff_id: str, current: StaffSpec | None) -> StaffSpec:
    if body.password is not None:
        password_hash: str | None = await asyncio.to_thread(_hasher.hash, body.password)
    else:
        password_hash = current.password_hash if current else None
    hsa_id = (current.hsa_id if current else None) if body.hsa_id is msgspec.UNSET else body.hsa_id
    upn = (current.upn if current else None) if body.upn is msgspec.UNSET else body.upn
    return StaffSpec(
        staff_id, body.name, body.profession, body.units, body.max_chats, body.skills, password_hash, body.roles,
        body.active, hsa_id, upn,
    )  # fmt: skip


async def staff_create(request: Request, svc: Services, session: Session) -> Response:
    body = await _admin_body(request, svc, session, "staff", StaffBody)
    if not body.id:
        raise ConfigRejected("id", "a new staff member needs an id")
    member = await _staff_spec(body, body.id, None)

    def change(spec: RegionFile) -> RegionFile:
        if find(spec.staff, body.id) is not None:
            raise Conflict(f"there is already a staff member {body.id!r}")
        return put_staff(spec, member)

    await _edit(request, svc, session, "staff", body.id, change)
    return ok({"version": _version(svc), "staff": staff_view(member)}, 201)


async def staff_update(request: Request, svc: Services, session: Session) -> Response:
    staff_id = request.path_params["staff"]
    body = await _admin_body(request, svc, session, "staff", StaffBody)
    if body.id and body.id != staff_id:
        raise ConfigRejected("id", "the id cannot change; add a new staff member instead")
    member = await _staff_spec(body, staff_id, find(svc.live.spec.staff, staff_id))
    await _edit(request, svc, session, "staff", staff_id, lambda spec: put_staff(spec, _known(spec, staff_id, member)))
    return ok({"version": _version(svc), "staff": staff_view(member)})


def _known(spec: RegionFile, staff_id: str, member: StaffSpec) -> StaffSpec:
    current = find(spec.staff, staff_id)
    if current is None:
        raise NotFound("no such staff member")
    if member.password_hash is None and current.password_hash is not None:
        return msgspec.structs.replace(member, password_hash=current.password_hash)
    return member


async def staff_deactivate(request: Request, svc: Services, session: Session) -> Response:
    """Deactivate (never delete: the audit log names them): logged out at once, no new login."""
    staff_id = request.path_params["staff"]

    def change(spec: RegionFile) -> RegionFile:
        current = find(spec.staff, staff_id)
        if current is None:
            raise NotFound("no such staff member")
        return put_staff(spec, msgspec.structs.replace(current, active=False))

    await _edit(request, svc, session, "staff", staff_id, change)
    member = find(svc.live.spec.staff, staff_id)
    assert member is not None
    return ok({"version": _version(svc), "staff": staff_view(member)})


# -- units ---------------------------------------------------------------------------------


def _unit_spec(body: UnitBody, unit_id: str) -> tuple[UnitSpec, list[OverflowSpec]]:
    unit = UnitSpec(
        unit_id, body.region, body.name, body.kind, body.skills, body.hours, body.fallback, body.pick_from_list,
        body.closed_days, body.staff_edit_phrases,
    )  # fmt: skip
    rules = [OverflowSpec(unit_id, r.to, r.when, r.window, r.wait_over_min, r.skills) for r in body.overflow]
    return unit, rules


async def unit_create(request: Request, svc: Services, session: Session) -> Response:
    body = await _admin_body(request, svc, session, "unit", UnitBody)
    if not body.id:
        raise ConfigRejected("id", "a new unit needs an id")
    unit, rules = _unit_spec(body, body.id)

    def change(spec: RegionFile) -> RegionFile:
        if find(spec.units, body.id) is not None:
            raise Conflict(f"there is already a unit {body.id!r}")
        return put_unit(spec, unit, rules)

    await _edit(request, svc, session, "unit", body.id, change, unit=body.id)
    return ok({"version": _version(svc), "unit": unit_view(unit, svc.live.spec)}, 201)


async def unit_update(request: Request, svc: Services, session: Session) -> Response:
    unit_id = request.path_params["unit"]
    body = await _admin_body(request, svc, session, "unit", UnitBody)
    if body.id and body.id != unit_id:
        raise ConfigRejected("id", "the id cannot change; add a new unit instead")
    unit, rules = _unit_spec(body, unit_id)

    def change(spec: RegionFile) -> RegionFile:
        if find(spec.units, unit_id) is None:
            raise NotFound("no such unit")
        return put_unit(spec, unit, rules)

    await _edit(request, svc, session, "unit", unit_id, change, unit=unit_id)
    return ok({"version": _version(svc), "unit": unit_view(unit, svc.live.spec)})


async def unit_delete(request: Request, svc: Services, session: Session) -> Response:
    """Remove a unit no staff member, rule, fallback or citizen refers to any more (else 422 naming it)."""
    unit_id = request.path_params["unit"]

    def change(spec: RegionFile) -> RegionFile:
        if find(spec.units, unit_id) is None:
            raise NotFound("no such unit")
        return remove_unit(spec, unit_id)

    await _edit(request, svc, session, "unit", unit_id, change, unit=unit_id)
    return ok({"version": _version(svc), "deleted": unit_id})


# -- unit phrase templates -----------------------------------------------------------------


def _template_spec(body: AdminTemplateBody, template_id: str, current: TemplateSpec | None) -> TemplateSpec:
    owner = current.staff if current else None  # a personal template from the file stays its owner's
    return TemplateSpec(template_id, body.title, TemplateText(body.text.sv, body.text.en), body.tags, body.unit, owner)


async def template_create(request: Request, svc: Services, session: Session) -> Response:
    body = await _admin_body(request, svc, session, "template", AdminTemplateBody)
    if not TEMPLATE_ID.match(body.id):
        raise ConfigRejected("id", "an id of lowercase letters, digits, '.', '_' or '-' is required")
    template = _template_spec(body, body.id, None)

    def change(spec: RegionFile) -> RegionFile:
        if find(spec.templates, body.id) is not None:
            raise Conflict(f"there is already a template {body.id!r}")
        return put_template(spec, template)

    await _edit(request, svc, session, "template", body.id, change, unit=body.unit or "")
    return ok({"version": _version(svc), "template": msgspec.to_builtins(template)}, 201)


async def template_update(request: Request, svc: Services, session: Session) -> Response:
    template_id = request.path_params["tid"]
    body = await _admin_body(request, svc, session, "template", AdminTemplateBody)
    if body.id and body.id != template_id:
        raise ConfigRejected("id", "the id cannot change; add a new template instead")
    current = find(svc.live.spec.templates, template_id)
    template = _template_spec(body, template_id, current)

    def change(spec: RegionFile) -> RegionFile:
        if find(spec.templates, template_id) is None:
            raise NotFound("no such template")
        return put_template(spec, template)

    await _edit(request, svc, session, "template", template_id, change, unit=body.unit or "")
    return ok({"version": _version(svc), "template": msgspec.to_builtins(template)})


async def template_delete(request: Request, svc: Services, session: Session) -> Response:
    template_id = request.path_params["tid"]

    def change(spec: RegionFile) -> RegionFile:
        if find(spec.templates, template_id) is None:
            raise NotFound("no such template")
        return remove_template(spec, template_id)

    await _edit(request, svc, session, "template", template_id, change)
    return ok({"version": _version(svc), "deleted": template_id})


# -- one-off closure days (a supervisor of the unit, or an administrator) ----------------------


async def _supervisor(svc: Services, session: Session, unit_id: str, detail: str) -> Staff:
    staff = Workflow(svc).staff_of(session.principal)
    await svc.live.refresh()  # a unit added a moment ago on another process is known here too
    if svc.config.directory.units.get(unit_id) is None:
        raise NotFound("no such unit")
    if not staff.supervises(unit_id):
        await _refused(svc, staff, "unit.closure_day", detail, unit_id)
        raise Forbidden("this needs a supervisor of the unit")
    return staff


def _day(text: str) -> dt.date:
    try:
        if not ISO_DATE.match(text):
            raise ValueError(text)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigRejected("date", "a date is written YYYY-MM-DD") from None


async def _closure(svc: Services, staff: Staff, unit_id: str, day: dt.date, *, closed: bool) -> Response:
    detail = ("add:" if closed else "remove:") + day.isoformat()
    try:
        if closed and day < stockholm_date(svc.clock()):
            raise ConfigRejected("date", "the date has passed")
        for _ in range(CLOSURE_RETRIES):
            await svc.live.refresh()
            unit = find(svc.live.spec.units, unit_id)
            if unit is None:
                raise NotFound("no such unit")
            if not closed and day not in unit.closed_days:
                raise NotFound("the unit is not closed that day")
            spec = with_closed_day(svc.live.spec, unit_id, day, closed=closed)
            if spec == svc.live.spec:  # a replay: already so
                break
            try:
                await _write(svc, _version(svc), spec, staff.id, "unit", unit_id)
                break
            except ConfigConflict:
                continue  # someone else's edit came first: merge into theirs
        else:
            raise ConfigConflict("the configuration kept changing; try again")
    except DirektError:
        await _refused(svc, staff, "unit.closure_day", detail, unit_id)
        raise
    await svc.audit.record(operation(svc.clock(), staff, "unit.closure_day", unit=unit_id, detail=detail))
    unit = find(svc.live.spec.units, unit_id)
    days = [d.isoformat() for d in unit.closed_days] if unit else []
    return ok({"unit": unit_id, "closed_days": days, "version": _version(svc)})


async def closure_day_add(request: Request, svc: Services, session: Session) -> Response:
    unit_id = request.path_params["unit"]
    staff = await _supervisor(svc, session, unit_id, "add")
    body = await admin_body(request, ClosureDayBody)
    return await _closure(svc, staff, unit_id, body.date, closed=True)


async def closure_day_remove(request: Request, svc: Services, session: Session) -> Response:
    unit_id = request.path_params["unit"]
    staff = await _supervisor(svc, session, unit_id, "remove")
    return await _closure(svc, staff, unit_id, _day(request.path_params["date"]), closed=False)


ENDPOINTS = [
    Endpoint(
        "GET", "/api/admin/config", authed(config_get), "The live configuration and its version (admin)", who="staff"
    ),
    Endpoint(
        "POST", "/api/admin/staff", authed(staff_create), "Add a staff member (admin; If-Match)", StaffBody, who="staff"
    ),
    Endpoint(
        "PUT",
        "/api/admin/staff/{staff}",
        authed(staff_update),
        "Edit a staff member (admin; If-Match)",
        StaffBody,
        who="staff",
    ),
    Endpoint(
        "DELETE",
        "/api/admin/staff/{staff}",
        authed(staff_deactivate),
        "Deactivate a staff member: logged out at once (admin; If-Match)",
        who="staff",
    ),
    Endpoint("POST", "/api/admin/units", authed(unit_create), "Add a unit (admin; If-Match)", UnitBody, who="staff"),
    Endpoint(
        "PUT",
        "/api/admin/units/{unit}",
        authed(unit_update),
        "Edit a unit: hours, closure days, overflow, flags (admin; If-Match)",
        UnitBody,
        who="staff",
    ),
    Endpoint(
        "DELETE",
        "/api/admin/units/{unit}",
        authed(unit_delete),
        "Remove a unit nothing refers to (admin; If-Match)",
        who="staff",
    ),
    Endpoint(
        "POST",
        "/api/admin/templates",
        authed(template_create),
        "Add a phrase template (admin; If-Match)",
        AdminTemplateBody,
        who="staff",
    ),
    Endpoint(
        "PUT",
        "/api/admin/templates/{tid}",
        authed(template_update),
        "Edit a phrase template (admin; If-Match)",
        AdminTemplateBody,
        who="staff",
    ),
    Endpoint(
        "DELETE",
        "/api/admin/templates/{tid}",
        authed(template_delete),
        "Delete a phrase template (admin; If-Match)",
        who="staff",
    ),
    Endpoint(
        "POST",
        "/api/units/{unit}/closure-days",
        authed(closure_day_add),
        "Close a unit for one day (its supervisor or an admin)",
        ClosureDayBody,
        who="staff",
    ),
    Endpoint(
        "DELETE",
        "/api/units/{unit}/closure-days/{date}",
        authed(closure_day_remove),
        "Open a unit again on a closure day (its supervisor or an admin)",
        who="staff",
    ),
]

"""Phrase templates: unit-wide and personal texts staff send with one click.

Templates from the region configuration are the base (read-only here; an
administrator edits them in the live configuration); staff create, edit and
delete their own personal templates, and unit templates of units they serve
where the unit allows it (``staff_edit_phrases``), stored in Redis. Placeholders ``{first_name}``, ``{unit}``
and ``{nurse_name}`` are filled in before the nurse edits and sends.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import msgpack

from direkt.queue.model import Staff
from direkt.queue.scripts import RedisClient, redis_errors
from direkt.server.errors import BadRequest, Forbidden, NotFound
from direkt.server.redis import keys
from direkt.server.region import PLACEHOLDERS, PhraseTemplate, RegionConfig

MAX_TITLE = 80
MAX_TEXT = 2000
MAX_TAGS = 10


@dataclass(frozen=True)
class TemplateInput:
    title: str
    text_sv: str
    text_en: str
    tags: tuple[str, ...] = ()
    unit: str | None = None  # None = personal


def check_placeholders(text: str) -> None:
    """Raises BadRequest for a broken or unknown placeholder, or one with a format spec or conversion.

    A spec such as ``{unit:>99999999}`` would make every fill of a shared template
    allocate that much, or fail outright: placeholders are plain names only.
    """
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError:
        raise BadRequest("a template has a broken placeholder; use {first_name}, {unit} or {nurse_name}") from None
    if {name for name, _, _ in fields} - PLACEHOLDERS or any(spec or conv for _, spec, conv in fields):
        allowed = ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))
        raise BadRequest(f"unknown placeholder; use only {allowed}, written just so")


def fill(text: str, values: Mapping[str, str]) -> str:
    """Fill placeholders; the text was checked when the template was saved.

    Specs and conversions are ignored rather than applied (texts from the region
    file are checked by another rule), so no template can set a field width.
    """
    parts = list(string.Formatter().parse(text))
    filled = "".join(literal + (values.get(name, "") if name is not None else "") for literal, name, _, _ in parts)
    if any(name is not None and not values.get(name) for _, name, _, _ in parts):
        return re.sub(r"[ \t]+([,.!?])", r"\1", filled)  # no first name known: "Hej !" is "Hej!"
    return filled


def visible_to(template: PhraseTemplate, staff: Staff) -> bool:
    if template.staff is not None:
        return template.staff == staff.id
    return template.unit is None or template.unit in staff.units


def matches(template: PhraseTemplate, query: str) -> bool:
    q = query.casefold().strip()
    if not q:
        return True
    return q in template.title.casefold() or any(q in tag.casefold() for tag in template.tags)


class Templates:
    def __init__(self, client: RedisClient, config: Callable[[], RegionConfig]) -> None:
        """``config``: the region configuration now (it changes while the server runs)."""
        self.client = client
        self.config = config

    @property
    def base(self) -> dict[str, PhraseTemplate]:
        return {t.id: t for t in self.config().templates}

    def unit_editable(self, unit_id: str) -> bool:
        """Whether staff may change the unit's templates (the unit's ``staff_edit_phrases``)."""
        return self.config().unit_phrases_editable(unit_id)

    def may_change(self, staff: Staff, template: PhraseTemplate) -> bool:
        """Whether ``staff`` may edit or delete ``template`` (her own, or her unit's where the unit allows it)."""
        try:
            self._check_may_change(staff, template)
        except Forbidden:
            return False
        return True

    def writable_units(self, staff: Staff) -> list[str]:
        """Her units whose phrase templates she may add to (``staff_edit_phrases``)."""
        return [u for u in staff.units if self.unit_editable(u)]

    async def list(self, staff: Staff, query: str = "") -> list[PhraseTemplate]:
        every = {**self.base, **await self._stored()}
        return sorted(
            (t for t in every.values() if visible_to(t, staff) and matches(t, query)),
            key=lambda t: (t.staff is None, t.title.casefold()),
        )

    async def get(self, staff: Staff, template_id: str) -> PhraseTemplate:
        template = self.base.get(template_id) or (await self._stored()).get(template_id)
        if template is None or not visible_to(template, staff):
            raise NotFound("no such template")
        return template

    async def create(self, staff: Staff, data: TemplateInput) -> PhraseTemplate:
        self._check(staff, data)
        template = self._build("t-" + secrets.token_hex(6), staff, data)
        await self._store(template)
        return template

    async def update(self, staff: Staff, template_id: str, data: TemplateInput) -> PhraseTemplate:
        current = await self.get(staff, template_id)
        self._check_may_change(staff, current)
        self._check(staff, data)
        template = self._build(template_id, staff, data)
        await self._store(template)
        return template

    async def delete(self, staff: Staff, template_id: str) -> None:
        current = await self.get(staff, template_id)
        self._check_may_change(staff, current)
        with redis_errors():
            await self.client.hdel(keys.TEMPLATES, template_id)

    def _check(self, staff: Staff, data: TemplateInput) -> None:
        if not data.title.strip() or len(data.title) > MAX_TITLE:
            raise BadRequest(f"a title of 1–{MAX_TITLE} characters is required")
        for text in (data.text_sv, data.text_en):
            if not text.strip() or len(text) > MAX_TEXT:
                raise BadRequest(f"texts in Swedish and English of 1–{MAX_TEXT} characters are required")
            check_placeholders(text)
        if len(data.tags) > MAX_TAGS or any(not 0 < len(tag) <= 32 for tag in data.tags):
            raise BadRequest(f"at most {MAX_TAGS} tags of 1–32 characters")
        if data.unit is not None and data.unit not in staff.units:
            raise Forbidden("you can only make templates for units you serve")
        if data.unit is not None and not self.unit_editable(data.unit):
            raise Forbidden("this unit's phrase templates are edited by an administrator")

    def _check_may_change(self, staff: Staff, template: PhraseTemplate) -> None:
        if template.id in self.base:
            raise Forbidden("this template comes from the region configuration; change it there")
        if template.staff is not None and template.staff != staff.id:
            raise Forbidden("this is another staff member's template")
        if template.unit is not None and template.unit not in staff.units:
            raise Forbidden("you can only change templates of units you serve")
        if template.unit is not None and not self.unit_editable(template.unit):
            raise Forbidden("this unit's phrase templates are edited by an administrator")

    def _build(self, template_id: str, staff: Staff, data: TemplateInput) -> PhraseTemplate:
        owner = None if data.unit is not None else staff.id
        return PhraseTemplate(
            template_id, data.title.strip(), data.text_sv, data.text_en, tuple(data.tags), data.unit, owner
        )

    async def _store(self, template: PhraseTemplate) -> None:
        with redis_errors():
            await self.client.hset(keys.TEMPLATES, template.id, msgpack.packb(asdict(template)))

    async def _stored(self) -> dict[str, PhraseTemplate]:
        with redis_errors():
            raw: Any = await self.client.hgetall(keys.TEMPLATES)
        out = {}
        for key, blob in raw.items():
            fields = msgpack.unpackb(blob)
            fields["tags"] = tuple(fields["tags"])
            out[key.decode()] = PhraseTemplate(**fields)
        return out


def template_view(template: PhraseTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "title": template.title,
        "text": {"sv": template.text_sv, "en": template.text_en},
        "tags": list(template.tags),
        "unit": template.unit,
        "personal": template.staff is not None,
    }

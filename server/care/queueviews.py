"""Where a case waits, as clients are shown it, and telling a citizen they wait again.

The views are plain maps (docs/protocol.md §6): a waiting case's place and
wait for the citizen (``position_view``), a row of a console's queue
(``waiting_view``), the unit and profession a case waits for
(``QueueViews.queue_view``). ``_back_in_queue`` is the one way a case that
was opened goes back to waiting in the citizen's eyes: the chat-visible
entry and the case event, with the queue it now waits in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from direkt.queue.hours import is_open
from direkt.queue.model import Skill, Staff
from direkt.queue.records import Position
from direkt.queue.scripts import redis_errors
from direkt.queue.waitinfo import Smoothed, shown_range, staffed_queues
from direkt.server.care.presence import StaffPresence, online_ttl_ms
from direkt.server.care.transcript import system_body
from direkt.server.care.workflowbase import WorkflowBase
from direkt.server.redis import keys


class QueueViews(WorkflowBase):
    """``queue_view``, ``staffed``, ``queue_snapshot`` and the back-in-queue notice."""

    def queue_view(self, unit_id: str, skill: Skill, *, home: str = "") -> dict[str, Any]:
        """Where a case waits, as clients show it: the unit (id and name) and the profession it waits for.

        With ``home`` (the citizen's own unit) elsewhere than where the case
        waits: its name and whether it is open now, so the citizen is told who
        answers while their own unit is closed.
        """
        units = self.s.config.directory.units
        unit = units.get(unit_id)
        view: dict[str, Any] = {"unit": unit_id, "unit_name": unit.name if unit else unit_id, "skill": skill.value}
        if home and home != unit_id and (own := units.get(home)) is not None:
            open_now = is_open(own.hours, self.s.config.directory.calendar, self.s.clock())
            view |= {"home_unit": home, "home_unit_name": own.name, "home_open": open_now}
        return view

    async def staffed(self, unit_id: str, skill: str) -> bool:
        """Whether anyone who serves this queue has a console open now and is not away."""
        ttl = online_ttl_ms(self.s.settings.position_interval_seconds)
        online = await StaffPresence(self.s.client, ttl).attending(self.s.clock())
        return (unit_id, skill) in staffed_queues(self.s.config.directory, online)

    async def queue_snapshot(self, staff: Staff) -> list[dict[str, Any]]:
        """The waiting cases of the staff member's queues, earliest deadline first."""
        rows = []
        for unit, skill in self.s.config.directory.queues_of(staff):
            for case in await self.s.waitroom.waiting(unit.id, skill):
                rows.append(
                    waiting_view(
                        case.case_id,
                        unit.id,
                        skill.value,
                        case.deadline_ms,
                        case.urgency,
                        case.submitted_ms,
                        case.meta,
                        unit.pick_from_list,
                    )
                )
        return sorted(rows, key=lambda r: (r["deadline_ms"], r["case"]))

    async def _back_in_queue(
        self, case_id: str, code: str, sv: str, en: str, queue: Mapping[str, str] | None = None
    ) -> None:
        await self.s.files.update(case_id, ready_ms=0, joined_ms=0, staff_id="", staff_name="")
        with redis_errors():
            await self.s.client.zrem(keys.JOIN_WINDOWS, case_id)
        await self.append(case_id, system_body(code, sv, en) | dict(queue or {}))
        await self.publish_case(case_id, {"state": "waiting", "back": code} | ({"queue": dict(queue)} if queue else {}))


def position_view(pos: Position, smoothed: Smoothed | None = None, *, staffed: bool | None = None) -> dict[str, Any]:
    """A waiting case's place as the citizen sees it (docs/protocol.md §6).

    ``estimated_wait_ms`` is the smoothed estimate when there is one;
    ``wait_range_ms`` the range to show (None: say so instead, see
    ``waitinfo.shown_range``); ``open``/``opens_ms`` whether the unit the case
    waits at is open now, else when it opens; ``staffed`` whether anyone who
    serves the queue has a console open (None: not known).
    """
    wait = smoothed.wait_ms if smoothed is not None else pos.estimated_wait_ms
    shown = shown_range(wait, pos.position, pos.served, open_now=pos.open, staffed=staffed)
    return {
        "position": pos.position,
        "depth": pos.depth,
        "estimated_wait_ms": None if wait is None else round(wait),
        "deadline_ms": pos.deadline_ms,
        "wait_range_ms": [shown.low_ms, shown.high_ms] if shown else None,
        "open": pos.open,
        "opens_ms": None if pos.open else pos.opens_ms,
        "staffed": staffed,
    }


def waiting_view(
    case_id: str,
    unit: str,
    skill: str,
    deadline: int,
    urgency: int,
    submitted: int,
    meta: Mapping[str, Any],
    pick: bool,
) -> dict[str, Any]:
    """A waiting case as a row of a console's queue (no personal identity, no free text)."""
    return {
        "case": case_id,
        "unit": unit,
        "skill": skill,
        "deadline_ms": deadline,
        "urgency": int(urgency),
        "submitted_ms": submitted,
        "reason": meta.get("reason"),
        "label": meta.get("label"),
        "age": meta.get("age"),
        "for_child": meta.get("for_child", False),
        "pickable": pick,
    }

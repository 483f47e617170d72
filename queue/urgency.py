"""Urgency levels and contact deadlines: the order of the waiting room.

A case's score in the waiting room is its contact deadline, ``submitted +
maximum wait of its urgency``. Serving the earliest deadline first puts urgent
cases ahead of routine ones while guaranteeing that no case starves: a routine
case that has waited long enough gets a deadline earlier than a fresh urgent one.
"""

from __future__ import annotations

import enum

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


class Urgency(enum.IntEnum):
    """How soon a citizen must be contacted; lower value is more urgent.

    Life-threatening conditions never enter the waiting room: triage tells the
    citizen to call 112. These levels are for everything that a nurse can
    handle in a chat.
    """

    IMMEDIATE = 1  # "chatta nu": contact within 15 minutes
    URGENT = 2  # within an hour
    SOON = 3  # within a few hours
    TODAY = 4  # the same day
    DAYS = 5  # within three days (the care guarantee's medical assessment)

    @property
    def max_wait_ms(self) -> int:
        return MAX_WAIT_MS[self]

    @property
    def label_sv(self) -> str:
        return LABELS[self][0]

    @property
    def label_en(self) -> str:
        return LABELS[self][1]

    @classmethod
    def parse(cls, value: str | int) -> Urgency:
        """Accept a level number or name (``2``, ``"2"``, ``"urgent"``).

        Raises:
            ValueError: with the accepted values, when ``value`` names no level.
        """
        if isinstance(value, bool):
            pass  # True is an int to Python, but never an urgency
        elif isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
            try:
                return cls(int(value))
            except ValueError:
                pass
        elif isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        names = ", ".join(u.name.lower() for u in cls)
        raise ValueError(f"unknown urgency {value!r}; use 1-5 or one of {names}")


MAX_WAIT_MS: dict[Urgency, int] = {
    Urgency.IMMEDIATE: 15 * MINUTE_MS,
    Urgency.URGENT: HOUR_MS,
    Urgency.SOON: 4 * HOUR_MS,
    Urgency.TODAY: 12 * HOUR_MS,
    Urgency.DAYS: 3 * DAY_MS,
}

LABELS: dict[Urgency, tuple[str, str]] = {
    Urgency.IMMEDIATE: ("Omgående", "Immediately"),
    Urgency.URGENT: ("Inom en timme", "Within an hour"),
    Urgency.SOON: ("Inom några timmar", "Within a few hours"),
    Urgency.TODAY: ("Samma dag", "Today"),
    Urgency.DAYS: ("Inom tre dagar", "Within three days"),
}


def deadline_ms(submitted_ms: int, urgency: Urgency) -> int:
    """The contact deadline of a case: its score in the waiting room.

    Args:
        submitted_ms: when the case was submitted (Unix epoch, milliseconds).
        urgency: the urgency level triage gave it.

    Returns:
        The latest time (epoch ms) the citizen should be contacted.
    """
    return submitted_ms + MAX_WAIT_MS[urgency]

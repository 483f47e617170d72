"""The care guarantee (vårdgaranti) deadlines of a chat case.

- Contact the same day: a citizen who writes to their primary care centre is
  contacted the same day; a case sent while the unit will not open again that
  day is due by the end of the next day the unit opens.
- Medical assessment within three days for a new or much worsened problem: by
  the end of the third calendar day after the day of submission.
"""

from __future__ import annotations

import datetime as dt

from .hours import DAY_MINUTES, HolidayCalendar, WeeklyHours, instant_ms, local_time, next_open_ms

ASSESSMENT_DAYS = 3


def same_day_deadline_ms(hours: WeeklyHours, calendar: HolidayCalendar, submitted_ms: int) -> int:
    """End of the local day on which the unit first answers the case.

    A unit that does not open within the planning horizon gets the end of the
    submission day, so that such a case shows as breached rather than never due.
    """
    opens = next_open_ms(hours, calendar, submitted_ms)
    day = local_time(opens if opens is not None else submitted_ms).date()
    return instant_ms(day, DAY_MINUTES)


def assessment_deadline_ms(submitted_ms: int) -> int:
    """End of the third local calendar day after the day of submission."""
    day = local_time(submitted_ms).date() + dt.timedelta(days=ASSESSMENT_DAYS)
    return instant_ms(day, DAY_MINUTES)

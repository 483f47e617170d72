"""Booking a visit (issue 24): schedules as data, slots from them, and bookings taken atomically.

- ``schedule``: the pure core: weekly schedules and exceptions -> time slots (Stockholm wall time);
- ``model``: a booking and its views;
- ``store``: Redis, one Lua script per operation on a unit's hash tag (no double booking);
- ``service``: ``Bookings``, the rules (in the schedule, not in the past, who may) over the store.
"""

"""What citizens and staff do with cases: one place for the rules, shared by
the HTTP API and the WebSocket hub.

Every staff read or change of a case is written to the audit log before the
answer leaves (fail closed: no audit record, no access), and so is every
denial. Chat-visible effects (a nurse opened the chat, the case was moved,
closed) are transcript entries; internal notes are staff-only entries.

``Workflow`` puts the parts together, one module per concern:

- ``workflowbase``: the services, who may see a case (``citizen_case``,
  ``staff_of``, ``staff_case``) and what a step leaves (``append``,
  ``publish_case``, ``audit``);
- ``queueviews``: where a case waits as clients are shown it
  (``queue_view``, ``queue_snapshot``, ``position_view``) and the
  back-in-queue notice;
- ``citizencases``: ``submit``, ``citizen_status``, ``abandon``,
  ``transcript``, ``citizen_joined``;
- ``claims``: ``claim_next``, ``claim``, opening the chat, ``first_contact``;
- ``handover``: ``release``, ``transfer``, ``close``;
- ``systemrelease``: the system ends a lease (a unit taken from her:
  ``end_unassigned_leases``; ``serves``);
- ``joinwindows``: cases whose citizen did not join in time go back.
"""

from __future__ import annotations

from direkt.server.care.citizencases import CitizenCases
from direkt.server.care.claims import Claims
from direkt.server.care.handover import Handover
from direkt.server.care.joinwindows import JoinWindows


class Workflow(CitizenCases, Claims, Handover, JoinWindows):
    """The case workflow over one process's services (``Workflow(services)``)."""

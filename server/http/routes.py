"""Every HTTP API endpoint, room by room: ``app.py`` serves them, ``openapi.py`` documents them.

Each room of the API keeps its endpoints in its own module as ``ENDPOINTS``
(a list of ``api.Endpoint``) and is added here, once.
"""

from __future__ import annotations

from direkt.server.http import (
    administration,
    api,
    bookings,
    casephone,
    catalogue,
    guidance,
    record,
    stats,
    supervision,
    vaccination,
)
from direkt.server.http.api import Endpoint
from direkt.server.identity import embedlogin

ENDPOINTS: list[Endpoint] = [
    *api.ENDPOINTS,  # citizens' and staff's care: triage, cases, photos, queues, templates
    *supervision.ENDPOINTS,  # the supervisor's board and steering of units
    *stats.ENDPOINTS,  # statistics for supervisors
    *administration.ENDPOINTS,  # the live configuration (admin) and closure days (supervisors)
    *casephone.ENDPOINTS,  # the citizen's mobile number for the chat-ready SMS, with consent
    *guidance.ENDPOINTS,  # nurse guidance: search by symptom, body part, event or synonym (issue 24)
    *embedlogin.ENDPOINTS,  # a chat framed on another site: a pop-up login handed over by a one-time code
    *record.ENDPOINTS,  # a closed case's journal record: FHIR R4 and a printable page
    *bookings.ENDPOINTS,  # booking a visit: slots, a nurse books from a chat, citizens' bookings (issue 24)
    *catalogue.ENDPOINTS,  # the referral catalogue: find a care unit, its card and the referral message
    *vaccination.ENDPOINTS,  # vaccination self-booking after the vaccination triage (issue 24)
]

""" "Your chat is ready" notices: a notifier seam, an SMS gateway, and a fan-out.

``Notifier`` is the seam: the hub hands a ``Notice`` to one notifier and does
not care whether it becomes an SMS, a push message or a line in a test's list.

Privacy rule (DESIGN, Patientdatalagen): a phone number and the notice text go
to the SMS gateway and nowhere else. They never appear in logs, in error
messages, or in the idempotency reference, which is derived from the case id
and the notice kind only.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
import structlog

from direkt.server.errors import BadRequest, DirektError, Unavailable

# Swedish mobile numbers in E.164: +46 7 then 0, 2, 3, 6 or 9, then seven digits
# (PTS number plan: 070, 072, 073, 076, 079; 071 is for machines, not people).
SWEDISH_MOBILE = re.compile(r"\+467[02369][0-9]{7}")


@dataclass(frozen=True, slots=True)
class Notice:
    """One notice to one citizen about one case, in Swedish with English beside it."""

    user_id: str
    case_id: str
    kind: str
    text_sv: str
    text_en: str
    phone: str | None = None


class Notifier(Protocol):
    """Delivers notices; raises a ``DirektError`` when delivery failed."""

    async def notify(self, notice: Notice) -> None: ...


def notice_reference(case_id: str, kind: str) -> str:
    """The idempotency key for a notice: the same for every retry, no personal data.

    Args:
        case_id: the case the notice is about.
        kind: the notice kind, e.g. "chat_ready".

    Returns:
        "dk-" and 32 hex digits of SHA-256 over case id and kind, so the gateway
        can drop duplicates without learning our case ids.
    """
    digest = hashlib.sha256(f"{case_id}\0{kind}".encode()).hexdigest()
    return f"dk-{digest[:32]}"


def check_phone(phone: str) -> str:
    """Accept only a Swedish mobile number in E.164 form, e.g. "+46701740605".

    Args:
        phone: the number as stored for the citizen.

    Returns:
        ``phone``, unchanged.

    Raises:
        BadRequest: any other form (national "070…", spaces, landline, foreign).
    """
    if not SWEDISH_MOBILE.fullmatch(phone):
        raise BadRequest("the phone number is not a Swedish mobile number in the form +467XXXXXXXX")
    return phone


class SmsGateway:
    """Sends a notice's Swedish text as one SMS through an HTTP gateway, from the region's sender.

    One POST per attempt, JSON body ``{"to", "from", "message", "reference"}``.
    Connection errors, timeouts and 5xx answers are retried with a short
    doubling backoff; a 4xx answer is final (retrying an identical refused
    request cannot succeed).
    """

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        sender: str | Callable[[], str],
        token: str = "",
        timeout_s: float = 5.0,
        attempts: int = 3,
        backoff_s: float = 0.2,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._url = url
        self._http = http
        self._sender = sender
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._timeout_s = timeout_s
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._log = structlog.get_logger("direkt.notify")

    async def notify(self, notice: Notice) -> None:
        """Send the notice by SMS; a notice without a phone number is skipped.

        Args:
            notice: what to send; ``notice.phone`` is the recipient.

        Raises:
            BadRequest: the phone number is not a Swedish mobile number (nothing is sent).
            Unavailable: the gateway refused the request (4xx) or failed every attempt.
        """
        if notice.phone is None:
            return
        body = {
            "to": check_phone(notice.phone),
            "from": self._sender() if callable(self._sender) else self._sender,  # the live configuration's
            "message": notice.text_sv,
            "reference": notice_reference(notice.case_id, notice.kind),
        }
        for attempt in range(1, self._attempts + 1):
            if await self._attempt(body, notice, attempt):
                return
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise Unavailable(f"the SMS gateway did not accept the notice after {self._attempts} attempts")

    async def _attempt(self, body: dict[str, str], notice: Notice, attempt: int) -> bool:
        """One POST: True when accepted, False when worth retrying; raises when final."""
        try:
            response = await self._http.post(self._url, json=body, headers=self._headers, timeout=self._timeout_s)
        except httpx.TransportError as exc:
            return self._retrying(notice, attempt, error=type(exc).__name__)
        if response.is_success:
            return True
        if response.status_code >= 500:
            return self._retrying(notice, attempt, status=response.status_code)
        raise Unavailable(f"the SMS gateway refused the notice (HTTP {response.status_code})")

    def _retrying(self, notice: Notice, attempt: int, **why: str | int) -> bool:
        self._log.warning("notify.sms.retry", case_id=notice.case_id, kind=notice.kind, attempt=attempt, **why)
        return False


class FanoutNotifier:
    """Hands each notice to several notifiers at once; one failing never stops the others."""

    def __init__(self, notifiers: Sequence[Notifier]) -> None:
        self._notifiers = tuple(notifiers)
        self._log = structlog.get_logger("direkt.notify")

    async def notify(self, notice: Notice) -> None:
        """Deliver through every notifier concurrently; log failures, raise nothing.

        Args:
            notice: what to deliver.
        """
        results = await asyncio.gather(*(n.notify(notice) for n in self._notifiers), return_exceptions=True)
        for notifier, result in zip(self._notifiers, results, strict=True):
            if isinstance(result, BaseException):
                self._log_failure(notifier, notice, result)

    def _log_failure(self, notifier: Notifier, notice: Notice, error: BaseException) -> None:
        # Type and stable code only: an exception's message may carry a number or text.
        self._log.warning(
            "notify.failed",
            notifier=type(notifier).__name__,
            case_id=notice.case_id,
            kind=notice.kind,
            error=type(error).__name__,
            code=error.code if isinstance(error, DirektError) else None,
        )

"""What a person sees when a login fails: a page in Swedish and English, not raw JSON.

Pure: an error in, a kind of failure and an HTML page out. The login routes
(``auth.friendly_login_errors``) answer a browser's navigation with the page
and keep the typed JSON for API clients and ``fetch``.

The page says what happened in plain words, what to do, links back to the
start of the login, and names the region's advice number for urgent matters.
It never shows token contents, claims, or the personal identity number: the
exception's message is not on the page at all, only the kind of failure.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from direkt.server.errors import (
    BadRequest,
    DirektError,
    Forbidden,
    NotFound,
    RateLimited,
    RedisUnavailable,
    Unauthenticated,
    Unavailable,
)
from direkt.server.identity.personnummer import (
    BAD_CHECK_DIGIT,
    IN_THE_FUTURE,
    NOT_A_DATE,
    PLUS_WITH_CENTURY,
    WRONG_SHAPE,
)

_PNR_PROBLEMS = (WRONG_SHAPE, BAD_CHECK_DIGIT, PLUS_WITH_CENTURY, IN_THE_FUTURE, NOT_A_DATE)


@dataclass(frozen=True)
class Words:
    """One failure in plain words: a heading, what happened, what to do; Swedish and English."""

    title_sv: str
    what_sv: str
    do_sv: str
    title_en: str
    what_en: str
    do_en: str


KINDS: dict[str, Words] = {
    "cancelled": Words(
        "Inloggningen avbröts", "Du avbröt inloggningen, eller så godkändes den inte i e-legitimationen.",
        "Logga in igen när du vill fortsätta.",
        "The login was cancelled", "You cancelled the login, or it was not approved in the e-ID.",
        "Log in again when you want to continue.",
    ),
    "unavailable": Words(
        "Inloggningen fungerar inte just nu", "Tjänsten för e-legitimation svarar inte.",
        "Vänta en stund och försök igen.",
        "Login is not working right now", "The e-ID service does not answer.",
        "Wait a moment and try again.",
    ),
    "expired": Words(
        "Inloggningen har gått ut", "Inloggningen tog för lång tid, har redan använts eller startades i en annan "
        "webbläsare.", "Börja om från början i den här webbläsaren.",
        "The login has expired", "The login took too long, was already used, or was started in another browser.",
        "Start again from the beginning in this browser.",
    ),
    "missing_claim": Words(
        "Vi fick inte veta vem du är", "E-legitimationen skickade inte de uppgifter vi behöver för att logga in dig.",
        "Försök igen. Om det inte hjälper, prova en annan e-legitimation.",
        "We could not tell who you are", "The e-ID did not send the details we need to log you in.",
        "Try again. If that does not help, try another e-ID.",
    ),
    "bad_pnr": Words(
        "Personnumret godtas inte", "Personnumret från e-legitimationen kan inte användas här.",
        "Kontrollera att du loggar in som dig själv och försök igen.",
        "The personal identity number is not accepted",
        "The personal identity number from the e-ID cannot be used here.",
        "Check that you log in as yourself and try again.",
    ),
    "low_assurance": Words(
        "E-legitimationen räcker inte här", "Vården kräver en e-legitimation med hög säkerhetsnivå, till exempel "
        "BankID eller Freja+.", "Logga in igen med en sådan e-legitimation.",
        "This e-ID is not enough here", "Healthcare needs an e-ID of a high assurance level, such as BankID or "
        "Freja+.", "Log in again with such an e-ID.",
    ),
    "not_staff": Words(
        "Du har inget konto här", "Du loggade in, men är inte upplagd som personal på någon mottagning här.",
        "Kontakta din chef eller IT-support om du borde ha tillgång.",
        "You have no account here", "You logged in, but you are not registered as staff of any unit here.",
        "Contact your manager or IT support if you should have access.",
    ),
    "not_verified": Words(
        "Inloggningen kunde inte kontrolleras", "Svaret från e-legitimationen gick inte att lita på, så vi "
        "loggade inte in dig.", "Börja om från början.",
        "The login could not be verified", "The answer from the e-ID could not be trusted, so you were not logged in.",
        "Start again from the beginning.",
    ),
    "too_many": Words(
        "För många försök", "Det har gjorts för många misslyckade inloggningar.", "Vänta en kvart och försök igen.",
        "Too many attempts", "There have been too many failed logins.", "Wait fifteen minutes and try again.",
    ),
    "no_provider": Words(
        "Inloggningen finns inte här", "Det här sättet att logga in är inte påslaget.",
        "Gå till startsidan och välj ett annat sätt att logga in.",
        "This login is not available", "This way of logging in is not turned on.",
        "Go to the start page and choose another way to log in.",
    ),
    "failed": Words(
        "Inloggningen misslyckades", "Något gick fel när du loggade in.", "Försök igen.",
        "The login failed", "Something went wrong while you were logging in.", "Try again.",
    ),
}  # fmt: skip

# Substrings of the messages raised on the login paths (auth.py, oidc.py, sessions.py), first match wins.
_BY_MESSAGE: tuple[tuple[str, str], ...] = (
    ("not started in this browser", "expired"),
    ("state", "expired"),
    ("expired or was already completed", "expired"),
    ("authorization code", "expired"),
    ("form has expired", "expired"),
    ("lacks", "missing_claim"),
    ("does not carry", "missing_claim"),
    ("no ID token", "missing_claim"),
    ("did not release", "missing_claim"),
    ("not staff", "not_staff"),
    ("test numbers", "bad_pnr"),
)

_BY_TYPE: tuple[tuple[type[DirektError] | tuple[type[DirektError], ...], str], ...] = (
    ((Unavailable, RedisUnavailable), "unavailable"),
    (RateLimited, "too_many"),
    (NotFound, "no_provider"),
)


def kind_of(exc: DirektError) -> str:
    """The kind of login failure ``exc`` is (a key of ``KINDS``).

    The reason a login route attached (``exc.reason``) wins; then
    the exception's type and message; then a generic kind by type.
    """
    reason = str(getattr(exc, "reason", ""))
    if reason in KINDS:
        return reason
    if exc.code == "assurance_too_low":  # the acr check of the relying party (issue 23, point 2)
        return "low_assurance"
    for kinds, kind in _BY_TYPE:
        if isinstance(exc, kinds):
            return kind
    if isinstance(exc, BadRequest) and exc.message in _PNR_PROBLEMS:
        return "bad_pnr"
    if isinstance(exc, Unauthenticated | Forbidden | BadRequest):
        for fragment, kind in _BY_MESSAGE:
            if fragment in exc.message:
                return kind
    return "not_verified" if isinstance(exc, Unauthenticated) else "failed"


def wants_html(accept: str, fetch_mode: str) -> bool:
    """A browser's navigation (``Sec-Fetch-Mode: navigate`` or an Accept naming HTML before JSON)."""
    if fetch_mode:
        return fetch_mode == "navigate"
    accept = accept.lower()
    at_html = accept.find("text/html")
    at_json = accept.find("application/json")
    return at_html >= 0 and (at_json < 0 or at_html < at_json)


def error_page(kind: str, start: str, advice_phone: str, service: str) -> str:
    """The whole page for a failure of ``kind``; ``start`` is the local path that starts the login again."""
    w = KINDS.get(kind, KINDS["failed"])
    if kind == "no_provider":
        start = "/"  # this way of logging in is not there to start again
    e = html.escape
    advice_sv = advice_en = ""
    if advice_phone:
        advice_sv = (
            f"<p>Om det är brådskande: ring {e(advice_phone)} för sjukvårdsrådgivning. Vid livsfara: ring 112.</p>"
        )
        advice_en = (
            f"<p>If it is urgent: call {e(advice_phone)} for health advice. If a life is in danger: call 112.</p>"
        )
    else:
        advice_sv = "<p>Vid livsfara: ring 112.</p>"
        advice_en = "<p>If a life is in danger: call 112.</p>"
    return PAGE.format(
        service=e(service), kind=e(kind), start=e(start),
        title_sv=e(w.title_sv), what_sv=e(w.what_sv), do_sv=e(w.do_sv), advice_sv=advice_sv,
        title_en=e(w.title_en), what_en=e(w.what_en), do_en=e(w.do_en), advice_en=advice_en,
    )  # fmt: skip


PAGE = """<!doctype html>
<html lang="sv"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title_sv} – {service}</title><link rel="icon" href="/shared/icon.svg" type="image/svg+xml">
<meta name="robots" content="noindex">
<style>body{{font-family:system-ui,sans-serif;margin:0;background:#fff;color:#111;line-height:1.5}}
header{{background:#00507a;color:#fff;padding:.75rem 1rem;font-weight:700}}
main{{max-width:36rem;margin:1.5rem auto;padding:0 1rem}} section+section{{border-top:1px solid #ccc;margin-top:1.5rem}}
a.again{{display:inline-block;background:#00507a;color:#fff;padding:.6rem 1.2rem;border-radius:.4rem;
text-decoration:none;font-weight:600}} a:focus{{outline:3px solid #f5a623;outline-offset:2px}}
</style></head><body data-login-error="{kind}">
<header>{service}</header>
<main>
<section><h1>{title_sv}</h1><p>{what_sv}</p><p>{do_sv}</p>
<p><a class="again" href="{start}">Logga in igen</a> <a href="/">Till startsidan</a></p>{advice_sv}</section>
<section lang="en"><h2>{title_en}</h2><p>{what_en}</p><p>{do_en}</p>
<p><a class="again" href="{start}">Try again</a> <a href="/">To the start page</a></p>{advice_en}</section>
</main></body></html>
"""


class LoginRefusedAtProvider(Unauthenticated):
    """The provider sent the browser back with ``error=...`` instead of a code (RFC 6749 4.1.2.1)."""

    def __init__(self, provider_error: str) -> None:
        super().__init__("the identity provider did not log you in")
        self.reason = provider_reason(provider_error)


def provider_reason(provider_error: str) -> str:
    """The kind of failure an OAuth ``error`` value names: the person said no, or the provider is down."""
    if provider_error in ("access_denied", "login_required", "consent_required", "interaction_required"):
        return "cancelled"
    if provider_error in ("temporarily_unavailable", "server_error"):
        return "unavailable"
    return "failed"

"""The browser clients (``client-demo/``) served as static files, with the
headers a health-care site needs: a strict Content Security Policy (scripts,
styles and sockets from this origin only; the chat page may be framed only by
the allowed origins), no MIME sniffing, no referrer beyond this origin, and
revalidation on every load so a deployment is picked up at once.

``/widget.js`` is the embeddable launcher: a clinic's page loads it with a
``<script>`` tag and it frames ``/chat/``, so it is served without a frame
restriction of its own.
"""

from __future__ import annotations

from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from direkt.server.settings import Settings


def content_security_policy(frame_ancestors: frozenset[str]) -> str:
    ancestors = " ".join(["'self'", *sorted(frame_ancestors)])
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' blob: data:",
            "media-src 'self' blob: mediastream:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {ancestors}",
        ]
    )


class SecureHeaders:
    """Adds the site's security and caching headers to every static response."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cache-control", b"no-cache"),
            (b"permissions-policy", b"camera=(self), microphone=(self), geolocation=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def client_app(settings: Settings) -> ASGIApp | None:
    """The static client app, or None when the client directory is absent (an API-only install)."""
    directory = Path(settings.client_dir)
    if not (directory / "index.html").is_file():
        return None
    files = StaticFiles(directory=directory, html=True)
    return SecureHeaders(files, content_security_policy(settings.origins))

"""``/openapi.json``: built from the route tables, request bodies from their msgspec types."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from direkt.server.api import ENDPOINTS
from direkt.server.auth import AUTH_ROUTES

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
ERROR_STATUSES = {
    "400": "malformed body or parameters (bad_request)",
    "401": "not logged in (unauthenticated)",
    "403": "Origin refused, CSRF token missing, or not allowed (forbidden)",
    "404": "not found, or not visible to this user",
    "409": "the case or triage is in a state that does not allow this",
    "413": "body over its limit (too_large)",
    "415": "not a JPEG, PNG or WebP photo (photo_rejected)",
    "422": "a triage start or answer refused (not_eligible, question_not_asked, invalid_answer)",
    "429": "rate limited",
    "503": "Redis or a provider unavailable",
}


def operations() -> Iterable[tuple[str, str, str, type | None, str, str]]:
    for e in ENDPOINTS:
        yield e.method, e.path, e.summary, e.body, e.who, e.raw_body
    for method, path, handler, summary, body in AUTH_ROUTES:
        # Logging in needs no session; logout, tickets and the session view do (``authed`` wraps them).
        yield method, path, summary, body, "any" if hasattr(handler, "__wrapped__") else "public", ""


def openapi_document(version: str) -> dict[str, Any]:
    ops = list(operations())
    bodies = [body for *_, body, _, _ in ((m, p, s, b, w, r) for m, p, s, b, w, r in ops) if body is not None]
    (_, components) = msgspec.json.schema_components(bodies, ref_template="#/components/schemas/{name}")
    paths: dict[str, dict[str, Any]] = {}
    for method, path, summary, body, who, raw in ops:
        paths.setdefault(path, {})[method.lower()] = _operation(method, path, summary, body, who, raw)
    components["Error"] = ERROR_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "direkt",
            "version": version,
            "description": "HTTP API of direkt. The WebSocket protocol is in docs/protocol.md.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "direkt_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
            },
        },
    }


def _operation(method: str, path: str, summary: str, body: type | None, who: str, raw: str) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "operationId": f"{method.lower()}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
        "tags": [who],
        "responses": {"200": {"description": "OK"}}
        | {
            code: {
                "description": text,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for code, text in ERROR_STATUSES.items()
        },
    }
    params = re.findall(r"{(\w+)}", path)
    if params:
        op["parameters"] = [{"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in params]
    if body is not None:
        ref = {"$ref": f"#/components/schemas/{body.__name__}"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    elif raw:
        op["requestBody"] = {"required": True, "content": {raw: {"schema": {"type": "string", "format": "binary"}}}}
    if who != "public":
        op["security"] = [{"session": [], "csrf": []}] if method != "GET" else [{"session": []}]
    return op

"""``/openapi.json``: built from the route tables, request bodies from their msgspec types."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import msgspec

from direkt.server.http.api import Endpoint
from direkt.server.http.routes import ENDPOINTS
from direkt.server.identity.auth import AUTH_ROUTES

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
    "400": "malformed body or parameters (bad_request), or a transcript position not in it (bad_position)",
    "401": "not logged in (unauthenticated)",
    "403": "Origin refused, CSRF token missing, or not allowed (forbidden)",
    "404": "not found, or not visible to this user",
    "409": "the case or triage is in a state that does not allow this; history_lost: the transcript started again; "
    "config_conflict: the configuration changed since the version edited",
    "413": "body over its limit (too_large)",
    "415": "not a JPEG, PNG or WebP photo (photo_rejected)",
    "422": "a triage start or answer refused (not_eligible, question_not_asked, invalid_answer); "
    "config_invalid: a configuration edit failed validation (error.field names the field)",
    "428": "a configuration edit without If-Match (version_required)",
    "429": "rate limited",
    "503": "Redis or a provider unavailable",
}


def operations() -> Iterable[Endpoint]:
    yield from ENDPOINTS
    for method, path, handler, summary, body in AUTH_ROUTES:
        # Logging in needs no session; logout, tickets and the session view do (``authed`` wraps them).
        yield Endpoint(method, path, handler, summary, body, "any" if hasattr(handler, "__wrapped__") else "public")


def openapi_document(version: str) -> dict[str, Any]:
    ops = list(operations())
    bodies = [e.body for e in ops if e.body is not None]
    (_, components) = msgspec.json.schema_components(bodies, ref_template="#/components/schemas/{name}")
    paths: dict[str, dict[str, Any]] = {}
    for e in ops:
        paths.setdefault(e.path, {})[e.method.lower()] = _operation(e)
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


def _operation(e: Endpoint) -> dict[str, Any]:
    method, path, summary, body, who, raw = e.method, e.path, e.summary, e.body, e.who, e.raw_body
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
    params = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}} for p in re.findall(r"{(\w+)}", path)
    ]
    params += _query_parameters(e.query) if e.query is not None else []
    if params:
        op["parameters"] = params
    if body is not None:
        ref = {"$ref": f"#/components/schemas/{body.__name__}"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref}}}
    elif raw:
        op["requestBody"] = {"required": True, "content": {raw: {"schema": {"type": "string", "format": "binary"}}}}
    if who != "public":
        op["security"] = [{"session": [], "csrf": []}] if method != "GET" else [{"session": []}]
    return op


def _query_parameters(query: type) -> list[dict[str, Any]]:
    """A query Struct's fields as optional query parameters (each has a default)."""
    (_, components) = msgspec.json.schema_components([query])
    fields = components[query.__name__]["properties"]
    return [{"name": name, "in": "query", "required": False, "schema": schema} for name, schema in fields.items()]

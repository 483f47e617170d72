"""Helpers for the hub tests: real server processes, logged-in clients, cases in the waiting room."""

from __future__ import annotations

from typing import Any

from direkt.loadtests.client import Client

# Skatteverket test numbers (server/data/test_personnummer.txt), as listed in tests/data/hub_region.toml.
GUARDIAN = "198105102381"  # Maja, guardian of ELSA (8) and LOVA (13)
ELSA = "201801012392"
LOVA = "201212122384"
ERIK = "199108312399"
UNLISTED = "194101012393"  # a test number not in the region file

# Sore throat for ten days, nothing alarming: "within days", nurse, chat.
SORE_THROAT = [
    ["redflags.now", ["none"]],
    ["reason", "sore_throat"],
    ["sore_throat.danger", ["none"]],
    ["sore_throat.medicine", "no"],
    ["sore_throat.centor", "two"],
    ["sore_throat.ill", "no"],
    ["sore_throat.days", 10],
    ["sore_throat.photo", "skip"],
]


async def citizen(base: str, pnr: str = ERIK) -> Client:
    client = Client(base)
    await client.login_citizen(pnr)
    return client


async def staff(base: str, username: str = "nurse-1") -> Client:
    client = Client(base)
    await client.login_staff(username)
    return client


async def waiting_case(client: Client, answers: list[list[Any]] | None = None, **start: Any) -> str:
    """Triage (sore throat by default) and submit; returns the case id."""
    view = await client.triage("seek_care", [tuple(a) for a in (answers or SORE_THROAT)], **start)  # type: ignore[misc]
    submitted = await client.submit(view["id"])
    return str(submitted["case"])


async def refused(call: Any, status: int, code: str) -> Any:
    """Await a client call (an awaitable) that must be refused with a typed JSON error
    ``{"error": {"code", "message"}}`` of ``status`` and ``code``; returns the ``ApiError``."""
    from direkt.loadtests.client import ApiError

    try:
        await call
    except ApiError as exc:
        assert (exc.status, exc.code) == (status, code), exc
        assert exc.message
        return exc
    raise AssertionError(f"expected {status} {code}, but the call succeeded")


def error_of(response: Any, status: int, code: str) -> str:
    """The message of a typed JSON error answer (an ``httpx.Response``); asserts status, shape and code."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    return str(body["error"]["message"])

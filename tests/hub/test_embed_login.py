"""The pop-up login of a chat framed on another site (server/identity/embedlogin.py), over HTTP
against a real ``direkt serve``: the frame's start and its binding cookie, the pop-up's one-time
code, and the frame's exchange, with malformed, replayed, expired, foreign-browser and
wrong-Origin codes refused.

The cookies are Secure, so httpx never sends them over http: each "browser" here carries its
own cookies by hand, as a loopback browser does (Chromium treats http://127.0.0.1 as secure).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from support import ServerProcess
from support_hub import ERIK, error_of, refused

from direkt.loadtests.client import Client
from direkt.server.redis import keys
from direkt.server.redis.connect import RedisClient

pytestmark = pytest.mark.slow
EVIL = "https://evil.example"


class Frame:
    """The framed chat in one browser: its own partition's cookies, sent by hand."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.cookies: dict[str, str] = {}

    async def post(self, path: str, body: Any = None, *, origin: str | None = "", **headers: str) -> httpx.Response:
        sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), **headers}
        if origin is None:
            self.http.headers.pop("Origin", None)
        elif origin:
            sent["Origin"] = origin
        response = await self.http.post(path, json=body, headers=sent)
        for header in response.headers.get_list("set-cookie"):  # kept as a browser keeps them
            name, _, rest = header.partition("=")
            value = rest.split(";")[0]
            if "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        self.http.cookies.clear()
        return response

    async def start(self) -> str:
        response = await self.post("/auth/embed/start")
        assert response.status_code == 201, response.text
        return str(response.json()["login"])


@pytest.fixture
async def frame(server: ServerProcess) -> AsyncIterator[Frame]:
    async with httpx.AsyncClient(base_url=server.base, headers={"Origin": server.base}, timeout=10) as http:
        yield Frame(http)


async def code_for(server: ServerProcess, login: str, pnr: str = ERIK) -> str:
    """The pop-up: a first-party test e-ID login, handed over as a code."""
    async with Client(server.base) as popup:
        await popup.login_citizen(pnr)
        answer = await popup.call("POST", "/auth/embed/code", {"login": login})
        assert answer["expires_in_s"] == 60
        # the pop-up's own session ended: the login moved into the frame
        assert (await popup.call("GET", "/api/session")) == {"logged_in": False}
        return str(answer["code"])


async def test_a_code_gives_the_frame_a_partitioned_session_once(server: ServerProcess, frame: Frame) -> None:
    started = await frame.post("/auth/embed/start")
    assert started.status_code == 201
    bind = started.headers["set-cookie"]
    for attribute in ("direkt_embed_bind=", "HttpOnly", "Secure", "SameSite=none", "Partitioned", "Path=/auth/embed/"):
        assert attribute in bind, bind
    code = await code_for(server, started.json()["login"])

    exchanged = await frame.post("/auth/embed/exchange", {"code": code})
    assert exchanged.status_code == 200, exchanged.text
    me = exchanged.json()
    assert (me["role"], me["name"], me["provider"]) == ("citizen", "Erik Nilsson", "test-eid")
    cookies = exchanged.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("direkt_embed_session="))
    for attribute in ("HttpOnly", "Secure", "SameSite=none", "Partitioned", "Path=/"):
        assert attribute in session, session
    assert "Max-Age" not in session  # a browser-session cookie, like the site's own
    assert "direkt_embed_bind" not in frame.cookies  # the binding is spent

    # the frame's session works for the API, with its CSRF token, and for a socket ticket
    headers = {"Cookie": f"direkt_embed_session={frame.cookies['direkt_embed_session']}"}
    seen = await frame.http.get("/api/session", headers=headers)
    assert seen.json()["logged_in"] is True and seen.json()["uid"] == me["uid"]
    ticket = await frame.post("/api/tickets", **{"X-CSRF-Token": me["csrf"]})
    assert ticket.status_code == 201
    assert error_of(await frame.post("/api/tickets"), 403, "csrf_failed")  # no token: refused as anywhere

    # replayed: the code worked once
    frame.cookies["direkt_embed_bind"] = "x" * 32
    error_of(await frame.post("/auth/embed/exchange", {"code": code}), 401, "unauthenticated")

    # logging out in the frame deletes the partitioned cookie with a partitioned deletion
    out = await frame.post("/auth/logout", **{"X-CSRF-Token": me["csrf"]})
    assert out.status_code == 200
    gone = next(c for c in out.headers.get_list("set-cookie") if c.startswith("direkt_embed_session="))
    assert "Max-Age=0" in gone and "Partitioned" in gone, gone


async def test_a_code_is_refused_in_another_browser_and_without_the_binding(
    server: ServerProcess, frame: Frame
) -> None:
    code = await code_for(server, await frame.start())
    async with httpx.AsyncClient(base_url=server.base, headers={"Origin": server.base}, timeout=10) as http:
        other = Frame(http)
        await other.start()  # a binding of its own, not the one the code was made for
        error_of(await other.post("/auth/embed/exchange", {"code": code}), 403, "forbidden")
    # the refused attempt spent the code: the thief's try cannot be repeated by the owner either
    error_of(await frame.post("/auth/embed/exchange", {"code": code}), 401, "unauthenticated")

    code = await code_for(server, await frame.start())
    frame.cookies.pop("direkt_embed_bind")
    error_of(await frame.post("/auth/embed/exchange", {"code": code}), 403, "forbidden")


async def test_an_expired_code_and_an_expired_login_are_refused(
    server: ServerProcess, frame: Frame, redis: RedisClient
) -> None:
    login = await frame.start()
    await redis.pexpire(keys.embed_login(login), 1)
    await until_gone(redis, keys.embed_login(login))
    async with Client(server.base) as popup:
        await popup.login_citizen(ERIK)
        await refused(popup.call("POST", "/auth/embed/code", {"login": login}), 401, "unauthenticated")

    code = await code_for(server, await frame.start())
    await redis.pexpire(keys.embed_code(code), 1)
    await until_gone(redis, keys.embed_code(code))
    error_of(await frame.post("/auth/embed/exchange", {"code": code}), 401, "unauthenticated")


async def until_gone(redis: RedisClient, key: str, deadline_s: float = 5) -> None:
    end = time.monotonic() + deadline_s
    while await redis.exists(key):  # Redis expires it (1 ms): checked, never slept on
        assert time.monotonic() < end, f"{key} never expired"


async def test_a_login_is_handed_over_once_and_only_by_a_citizen(server: ServerProcess, frame: Frame) -> None:
    login = await frame.start()
    await code_for(server, login)
    async with Client(server.base) as popup:
        await popup.login_citizen(ERIK)
        await refused(popup.call("POST", "/auth/embed/code", {"login": login}), 401, "unauthenticated")
    async with Client(server.base) as staff:
        await staff.login_staff("nurse-1")
        await refused(staff.call("POST", "/auth/embed/code", {"login": await frame.start()}), 403, "forbidden")
    async with httpx.AsyncClient(base_url=server.base, headers={"Origin": server.base}, timeout=10) as nobody:
        error_of(await nobody.post("/auth/embed/code", json={"login": login}), 401, "unauthenticated")


@pytest.mark.parametrize(
    "body",
    [
        {"code": "short"},
        {"code": "x" * 65},
        {"code": "bad code with spaces!!"},
        {"code": 7},
        {},
        {"code": "a" * 32, "x": 1},
    ],
)
async def test_malformed_codes_are_refused(frame: Frame, body: dict[str, Any]) -> None:
    await frame.start()
    error_of(await frame.post("/auth/embed/exchange", body), 400, "bad_request")


async def test_malformed_and_oversized_bodies_are_refused(server: ServerProcess, frame: Frame) -> None:
    raw = await frame.http.post(
        "/auth/embed/exchange", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    error_of(raw, 400, "bad_request")
    big = await frame.http.post(
        "/auth/embed/exchange",
        content=b'{"code":"' + b"a" * 70_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    error_of(big, 413, "too_large")
    async with Client(server.base) as popup:
        await popup.login_citizen(ERIK)
        await refused(popup.call("POST", "/auth/embed/code", {"login": "../../x"}), 400, "bad_request")


async def test_a_wrong_or_missing_origin_is_refused(server: ServerProcess, frame: Frame) -> None:
    error_of(await frame.post("/auth/embed/start", origin=EVIL), 403, "origin_refused")
    code = await code_for(server, await frame.start())
    error_of(await frame.post("/auth/embed/exchange", {"code": code}, origin=EVIL), 403, "origin_refused")
    error_of(await frame.post("/auth/embed/exchange", {"code": code}, origin=None), 403, "origin_refused")
    # refused before the code was looked at: the owner's frame still exchanges it
    frame.http.headers["Origin"] = server.base
    assert (await frame.post("/auth/embed/exchange", {"code": code})).status_code == 200
    async with Client(server.base, origin=EVIL) as popup:
        await refused(popup.call("POST", "/auth/test-eid", {"pnr": ERIK}), 403, "origin_refused")

"""Guardian relations from a guardian register over HTTP (issue 23, point 7): a real HTTP server on
loopback answers ``GET ?guardian=<pnr>`` as a population-register adapter would; the hub asks it at
every access to a child's case (no cache in this module: TTL 0), refuses a child's case with 503
when it cannot say, and never lets an outage or a malformed answer grant access.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from support import ServerProcess, free_port, serve_in_thread
from support_hub import ELSA, ERIK, GUARDIAN, LOVA, SORE_THROAT, citizen

from direkt.loadtests.client import ApiError, Client
from direkt.server.errors import Unavailable
from direkt.server.identity.guardians import HttpGuardians, parse_children
from direkt.server.redis.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

NOAH = "201501012395"  # a Skatteverket test number the region file does not list
TOKEN = "register-test-token"
CHILD_FEVER = {"fever": True, "temperature": 38.5, "fever_days": 1}


@dataclass
class Register:
    """A stand-in population-register adapter: children by guardian, and how it misbehaves."""

    url: str
    children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    status: int = 200
    body: bytes | None = None  # a raw answer instead of the JSON
    delay_s: float = 0.0
    asked: list[str] = field(default_factory=list)

    def reset(self) -> None:
        self.children = {GUARDIAN: [{"pnr": ELSA, "name": "Elsa Registersson"}, {"pnr": NOAH, "name": "Noah Berg"}]}
        self.status, self.body, self.delay_s = 200, None, 0.0
        self.asked.clear()

    async def handle(self, request: Request) -> Response:
        guardian = request.query_params.get("guardian", "")
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        self.asked.append(guardian)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)  # the register is slow (the server's timeout is what is tested)
        if self.body is not None:
            return Response(self.body, status_code=self.status, media_type="application/json")
        return JSONResponse({"children": self.children.get(guardian, [])}, status_code=self.status)


@pytest.fixture(scope="module")
def register() -> Iterator[Register]:
    port = free_port()
    running = Register(f"http://127.0.0.1:{port}/guardians")
    with serve_in_thread(Starlette(routes=[Route("/guardians", running.handle)]), port, "guardian register"):
        yield running


@pytest.fixture(scope="module")
def site(standalone_redis: EmbeddedRedis, register: Register) -> Iterator[ServerProcess]:
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_GUARDIANS_URL=register.url,
        DIREKT_GUARDIANS_TTL_SECONDS="0",
        DIREKT_GUARDIANS_TIMEOUT_SECONDS="0.5",
        DIREKT_GUARDIANS_TOKEN=TOKEN,
    )
    yield process
    process.stop()


@pytest.fixture(autouse=True)
def fresh(register: Register) -> None:
    register.reset()


async def child_case(guardian: Client, child: str = ELSA) -> str:
    view = await guardian.triage_as("seek_care", "child_fever", CHILD_FEVER, child=child)
    return str((await guardian.submit(view["id"], chat_anyway=True))["case"])


async def refused(call: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call
    return caught.value


async def test_the_children_come_from_the_register(site: ServerProcess, register: Register) -> None:
    maja = await citizen(site.base, GUARDIAN)
    try:
        listed = (await maja.call("GET", "/api/me/children"))["children"]
        assert [(c["pnr"], c["name"]) for c in listed] == [(ELSA, "Elsa Registersson"), (NOAH, "Noah Berg")]
        assert GUARDIAN in register.asked
        case = await child_case(maja, NOAH)  # a child the region file does not know
        assert (await maja.call("GET", f"/api/cases/{case}"))["patient_name"] == "Noah Berg"
        # Lova is Maja's child in the region file, not in the register: the register is what counts.
        assert (await refused(maja.triage_as("seek_care", "child_fever", CHILD_FEVER, child=LOVA))).status == 403
    finally:
        await maja.aclose()


async def test_relations_are_asked_again_at_every_access(site: ServerProcess, register: Register) -> None:
    maja = await citizen(site.base, GUARDIAN)
    try:
        case = await child_case(maja)
        before = len(register.asked)
        for _ in range(3):
            await maja.call("GET", f"/api/cases/{case}")
        assert len(register.asked) == before + 3
        register.children[GUARDIAN] = []  # custody changed while she was logged in
        gone = await refused(maja.call("GET", f"/api/cases/{case}"))
        assert (gone.status, gone.code) == (404, "not_found")
    finally:
        await maja.aclose()


@pytest.mark.parametrize(
    "outage",
    [
        {"status": 500},
        {"status": 404},
        {"status": 401},
        {"delay_s": 2.0},
        {"body": b"<html>maintenance</html>"},
        {"body": b'{"children": [{"pnr": "201801012393", "name": "Bad Check"}]}'},
        {"body": b'{"children": "all of them"}'},
        {"body": b'{"kids": []}'},
    ],
)
async def test_an_outage_refuses_the_childs_case_never_allows_it(
    site: ServerProcess, register: Register, outage: dict[str, Any]
) -> None:
    maja = await citizen(site.base, GUARDIAN)
    erik = await citizen(site.base, ERIK)
    try:
        case = await child_case(maja)
        own = (
            await erik.call(
                "POST",
                "/api/cases",
                {"triage": (await erik.triage("seek_care", [tuple(a) for a in SORE_THROAT]))["id"]},
            )
        )["case"]  # type: ignore[misc]
        for name, value in outage.items():
            setattr(register, name, value)
        down = await refused(maja.call("GET", f"/api/cases/{case}"))
        assert (down.status, down.code) == (503, "unavailable")
        assert (await refused(maja.call("GET", "/api/me/children"))).status == 503
        asked = len(register.asked)
        assert (await erik.call("GET", f"/api/cases/{own}"))["case"] == own  # one's own case asks no register
        assert len(register.asked) == asked
    finally:
        await maja.aclose()
        await erik.aclose()
    assert GUARDIAN not in site.output() and ELSA not in site.output()


async def test_answers_are_kept_for_the_ttl_only(register: Register) -> None:
    """The cache of ``HttpGuardians`` against the same running register, with a clock the test sets."""
    clock = [1000.0]
    async with httpx.AsyncClient() as http:
        source = HttpGuardians(register.url, http, ttl_s=60, timeout_s=2, token=TOKEN, now=lambda: clock[0])
        first = await source.children_of(GUARDIAN)
        assert set(first.children) == {ELSA, NOAH} and register.asked == [GUARDIAN]
        register.children[GUARDIAN] = []
        clock[0] += 59
        assert set((await source.children_of(GUARDIAN)).children) == {ELSA, NOAH}  # kept
        assert len(register.asked) == 1
        clock[0] += 2
        assert (await source.children_of(GUARDIAN)).children == {}  # asked again after 60 s
        assert len(register.asked) == 2
        register.status = 503
        clock[0] += 61
        with pytest.raises(Unavailable):
            await source.children_of(GUARDIAN)  # an outage is never answered from an expired entry


def test_the_register_answer_is_checked() -> None:
    found = parse_children(
        GUARDIAN, b'{"children": [{"pnr": "201801012392", "name": " Elsa\\n A "}, {"pnr": "201501012395"}]}'
    )
    assert found.children == {ELSA: "Elsa A", NOAH: ""}
    assert found.guardians_of(ELSA) == [GUARDIAN] and found.guardians_of(LOVA) == []
    for bad in (
        b'{"children": [{"pnr": "20180101-2392"}]}',
        b"",
        b"[]",
        b'{"children": [{"name": "x"}]}',
        b'{"children": [{"pnr": 1, "name": 2}]}',
        b"null",
    ):
        with pytest.raises(Unavailable):
            parse_children(GUARDIAN, bad)

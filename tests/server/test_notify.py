"""Chat-ready notices: SMS through a real HTTP gateway on loopback, and the fan-out.

The gateway is a small Starlette app under uvicorn in a background thread that
records every request and answers from a script (503 n times, 400, slow).
Phone numbers are from the range reserved for fiction (+46 70-174 06 05 .. 99).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from structlog.testing import capture_logs
from support import free_port, serve_in_thread, timeout

from direkt.server.care.notices import FanoutNotifier, Notice, Notifier, SmsGateway, notice_reference
from direkt.server.errors import BadRequest, DirektError, Unavailable

PHONE = "+46701740605"
TEXT_SV = "Din chatt med vårdcentralen är redo. Logga in för att svara."
TEXT_EN = "Your chat with the health centre is ready. Log in to reply."
NOTICE = Notice(
    user_id="u-tolvan", case_id="a.01JDQ4ZP2Y3KX8V7N6M5R4T3S2", kind="chat_ready", text_sv=TEXT_SV, text_en=TEXT_EN,
    phone=PHONE,
)  # fmt: skip
SLOW = -1  # a scripted answer that arrives too late


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Gateway:
    """Records requests; answers the statuses in ``script`` in order, then 200."""

    url: str
    received: list[Received] = field(default_factory=list)
    script: list[int] = field(default_factory=list)

    async def handle(self, request: Request) -> JSONResponse:
        self.received.append(Received(dict(request.headers), await request.body()))
        status = self.script.pop(0) if self.script else 200
        if status == SLOW:
            await asyncio.sleep(timeout(0.5))
            status = 200
        return JSONResponse({"status": status}, status_code=status)


@pytest.fixture(scope="module")
def gateway_server() -> Iterator[Gateway]:
    port = free_port()
    gateway = Gateway(url=f"http://127.0.0.1:{port}/sms")
    app = Starlette(routes=[Route("/sms", gateway.handle, methods=["POST"])])
    with serve_in_thread(app, port, "SMS gateway"):
        yield gateway


@pytest.fixture
def gateway(gateway_server: Gateway) -> Gateway:
    gateway_server.received.clear()
    gateway_server.script.clear()
    return gateway_server


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def sms(gateway_url: str, http: httpx.AsyncClient, **options: Any) -> SmsGateway:
    defaults: dict[str, Any] = {"sender": "Testregion", "backoff_s": 0.01, "timeout_s": timeout(2)}
    return SmsGateway(gateway_url, http, **(defaults | options))


# --- the request on the wire --------------------------------------------------------------------


async def test_sends_one_post_with_the_exact_body_and_headers(gateway: Gateway, http: httpx.AsyncClient) -> None:
    await sms(gateway.url, http, token="test-token").notify(NOTICE)

    [request] = gateway.received
    assert httpx.Response(200, content=request.body).json() == {
        "to": PHONE,
        "from": "Testregion",
        "message": TEXT_SV,
        "reference": notice_reference(NOTICE.case_id, "chat_ready"),
    }
    assert request.headers["authorization"] == "Bearer test-token"
    assert request.headers["content-type"] == "application/json"


async def test_no_authorization_header_without_a_token(gateway: Gateway, http: httpx.AsyncClient) -> None:
    await sms(gateway.url, http, sender="Vardcentral").notify(NOTICE)
    [request] = gateway.received
    assert "authorization" not in request.headers
    assert b'"from":"Vardcentral"' in request.body


def test_reference_is_stable_per_case_and_kind_and_holds_no_personal_data() -> None:
    reference = notice_reference(NOTICE.case_id, "chat_ready")
    assert reference == notice_reference(NOTICE.case_id, "chat_ready")
    assert reference != notice_reference(NOTICE.case_id, "chat_closed")
    assert reference != notice_reference("a.01JDQ4ZP2Y3KX8V7N6M5R4T3S3", "chat_ready")
    for personal in (NOTICE.case_id, NOTICE.user_id, PHONE, "0701740605", "701740605"):
        assert personal not in reference


# --- retries ---------------------------------------------------------------------------------


async def test_5xx_is_retried_then_succeeds_with_the_same_reference(gateway: Gateway, http: httpx.AsyncClient) -> None:
    gateway.script[:] = [503, 503]
    await sms(gateway.url, http).notify(NOTICE)
    assert len(gateway.received) == 3
    assert len({r.body for r in gateway.received}) == 1


async def test_5xx_on_every_attempt_is_unavailable(gateway: Gateway, http: httpx.AsyncClient) -> None:
    gateway.script[:] = [503, 500, 502, 503]
    with pytest.raises(Unavailable, match="after 3 attempts") as caught:
        await sms(gateway.url, http).notify(NOTICE)
    assert len(gateway.received) == 3
    assert caught.value.status == 503
    assert "701740605" not in caught.value.message


@pytest.mark.parametrize("status", [400, 401, 403, 422])
async def test_4xx_is_not_retried(gateway: Gateway, http: httpx.AsyncClient, status: int) -> None:
    gateway.script[:] = [status]
    with pytest.raises(Unavailable, match=f"refused the notice \\(HTTP {status}\\)") as caught:
        await sms(gateway.url, http).notify(NOTICE)
    assert len(gateway.received) == 1
    assert "701740605" not in caught.value.message


async def test_a_slow_gateway_times_out_and_is_retried(gateway: Gateway, http: httpx.AsyncClient) -> None:
    gateway.script[:] = [SLOW]
    await sms(gateway.url, http, timeout_s=timeout(0.1)).notify(NOTICE)
    assert len(gateway.received) == 2


async def test_gateway_down_is_unavailable_after_every_attempt(http: httpx.AsyncClient) -> None:
    down = f"http://127.0.0.1:{free_port()}/sms"  # nothing listens here
    started = time.monotonic()
    with pytest.raises(Unavailable, match="after 2 attempts") as caught:
        await sms(down, http, attempts=2).notify(NOTICE)
    assert "701740605" not in caught.value.message
    assert time.monotonic() - started < timeout(5)


def test_at_least_one_attempt(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        SmsGateway("http://127.0.0.1:1/sms", http, sender="Testregion", attempts=0)


# --- who gets an SMS -------------------------------------------------------------------------


async def test_a_notice_without_a_phone_is_skipped(gateway: Gateway, http: httpx.AsyncClient) -> None:
    await sms(gateway.url, http).notify(replace(NOTICE, phone=None))
    assert gateway.received == []


@pytest.mark.parametrize("phone", ["+46701740699", "+46721740605", "+46731740605", "+46761740605", "+46791740605"])
async def test_swedish_mobile_numbers_are_accepted(gateway: Gateway, http: httpx.AsyncClient, phone: str) -> None:
    await sms(gateway.url, http).notify(replace(NOTICE, phone=phone))
    assert len(gateway.received) == 1


@pytest.mark.parametrize(
    "phone",
    [
        pytest.param("0701740605", id="national-form"),
        pytest.param("+46 70 174 06 05", id="spaces"),
        pytest.param("+46-70-1740605", id="dashes"),
        pytest.param("0046701740605", id="00-prefix"),
        pytest.param("+460701740605", id="trunk-zero-kept"),
        pytest.param("+4670174060", id="too-short"),
        pytest.param("+467017406055", id="too-long"),
        pytest.param("+46811740605", id="stockholm-landline"),
        pytest.param("+46711740605", id="machine-to-machine"),
        pytest.param("+4520174060", id="danish"),
        pytest.param("", id="empty"),
        pytest.param("+46701740605\n", id="trailing-newline"),
    ],
)
async def test_other_phone_formats_are_bad_requests_and_nothing_is_sent(
    gateway: Gateway, http: httpx.AsyncClient, phone: str
) -> None:
    with pytest.raises(BadRequest) as caught:
        await sms(gateway.url, http).notify(replace(NOTICE, phone=phone))
    assert gateway.received == []
    assert "174" not in caught.value.message


# --- fan-out ---------------------------------------------------------------------------------


class Recorder:
    def __init__(self) -> None:
        self.notices: list[Notice] = []

    async def notify(self, notice: Notice) -> None:
        self.notices.append(notice)


class Broken:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def notify(self, notice: Notice) -> None:
        raise self.error


def assert_no_personal_data(logs: Sequence[Mapping[str, Any]]) -> None:
    rendered = repr(logs)
    for secret in ("701740605", TEXT_SV, TEXT_EN, NOTICE.user_id, "vårdcentralen", "health centre"):
        assert secret not in rendered


async def test_fanout_continues_after_a_failing_notifier_and_logs_without_personal_data() -> None:
    before, after = Recorder(), Recorder()
    notifiers: list[Notifier] = [before, Broken(RuntimeError(f"could not text {PHONE}: {TEXT_SV}")), after]
    with capture_logs() as logs:
        await FanoutNotifier(notifiers).notify(NOTICE)
    assert before.notices == after.notices == [NOTICE]
    assert logs == [
        {
            "event": "notify.failed",
            "log_level": "warning",
            "notifier": "Broken",
            "case_id": NOTICE.case_id,
            "kind": "chat_ready",
            "error": "RuntimeError",
            "code": None,
        }
    ]
    assert_no_personal_data(logs)


async def test_fanout_with_the_sms_gateway_down(http: httpx.AsyncClient) -> None:
    recorder = Recorder()
    down = sms(f"http://127.0.0.1:{free_port()}/sms", http, attempts=2)
    with capture_logs() as logs:
        await FanoutNotifier([down, recorder]).notify(NOTICE)
    assert recorder.notices == [NOTICE]
    failed = [e for e in logs if e["event"] == "notify.failed"]
    assert [(e["notifier"], e["error"], e["code"]) for e in failed] == [("SmsGateway", "Unavailable", "unavailable")]
    assert [e["attempt"] for e in logs if e["event"] == "notify.sms.retry"] == [1, 2]
    assert_no_personal_data(logs)


async def test_fanout_logs_every_failure_and_raises_nothing() -> None:
    errors: list[Exception] = [Unavailable("push service down"), BadRequest("bad phone"), DirektError("x")]
    with capture_logs() as logs:
        await FanoutNotifier([Broken(e) for e in errors]).notify(NOTICE)
    assert [e["code"] for e in logs] == ["unavailable", "bad_request", "internal"]


async def test_fanout_of_nothing_does_nothing() -> None:
    with capture_logs() as logs:
        await FanoutNotifier([]).notify(NOTICE)
    assert logs == []

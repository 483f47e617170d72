"""A region's brand on the server's side (issue 22): with a region file of another
brand (tests/data/brand_region.toml), /api/client-config gives that brand, and the
chat-ready notice goes out as an SMS from its sender in its words."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support import ServerProcess, timeout
from support_hub import citizen, frames_until, staff, waiting_case, welcomed
from support_sms import SmsReceiver, sms_receiver

from direkt.server.redis.embedded import EmbeddedRedis

BRAND_CONFIG = Path(__file__).parents[1] / "data" / "brand_region.toml"
ERIK_PHONE = "+46701740606"  # Erik's number in the test region


@pytest.fixture(scope="module")
def sms() -> Iterator[SmsReceiver]:
    with sms_receiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def branded(standalone_redis: EmbeddedRedis, sms: SmsReceiver) -> Iterator[ServerProcess]:
    """The brand region's server; SMS through the receiver, two minutes to join a ready chat."""
    process = ServerProcess(
        standalone_redis.url, config=BRAND_CONFIG, DIREKT_SMS_URL=sms.url, DIREKT_JOIN_WINDOW_SECONDS="120"
    )
    yield process
    process.stop()


async def test_client_config_gives_the_regions_brand(branded: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=branded.base) as anonymous:
        config = (await anonymous.get("/api/client-config")).json()
    assert config["brand"] == {
        "name": {"sv": "Hälsolinjen Test", "en": "Health Line Test"},
        "short_name": "Hälsolinjen",
        "logo": "/shared/logo-alt.svg",
        "colors": {"primary": "#6b2c91", "on_primary": "#ffffff"},
        "advice_phone": "0771-00 00 00",
    }
    async with httpx.AsyncClient(base_url=branded.base) as anonymous:
        logo = await anonymous.get("/shared/logo-alt.svg")
    assert logo.status_code == 200 and logo.headers["content-type"].startswith("image/svg+xml")


async def test_the_chat_ready_sms_comes_from_the_regions_sender_in_its_words(
    branded: ServerProcess, sms: SmsReceiver
) -> None:
    erik = await citizen(branded.base)
    nora = await staff(branded.base)
    try:
        case = await waiting_case(erik)
        # His number for the SMS, with consent (issue 23: never the demo file's unasked)
        await erik.call("PUT", f"/api/cases/{case}/phone", {"phone": ERIK_PHONE, "consent": True})
        csock = await welcomed(erik)
        nsock = await welcomed(nora)
        assert (await nsock.request({"t": "claim_next", "rid": "r"}, "claimed"))["case"] == case
        [*_, notice] = await frames_until(csock, "notice", kind="chat_ready", case=case)
        assert await asyncio.to_thread(sms.arrived.wait, timeout(5)), "no SMS was sent"
        await csock.close()
        await nsock.close()
    finally:
        await erik.aclose()
        await nora.aclose()
    message = sms.received[0]
    sv = "Hälsolinjen: Testby vårdcentral kan chatta med dig nu. Logga in inom 2 min."
    assert (message["from"], message["to"], message["message"]) == ("Halsolinjen", ERIK_PHONE, sv)
    assert notice["text"] == {
        "sv": sv,
        "en": "Hälsolinjen: Testby vårdcentral can chat with you now. Log in within 2 min.",
    }

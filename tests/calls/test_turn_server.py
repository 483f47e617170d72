"""TARGETS 24 against a real TURN server: Debian's coturn (``use-auth-secret``) on loopback, sharing
``DIREKT_TURN_SECRET`` with a real ``direkt serve``, and aioice's TURN client doing the Allocate a
browser does. A party's credentials get a relay; the same credentials once expired, or with their
expiry pushed on, or signed with another secret, get none; a non-party and a closed case get no
credentials at all; and a call whose peers may use nothing but the relay carries media.

``scripts/ensure-coturn`` (``make test``) installs coturn; without ``turnserver`` the module skips
with that reason. The shortest TTL direkt accepts is 60 s: the credentials that expire are shown to a
second coturn whose clock runs two minutes ahead (Debian's faketime); without faketime the test waits
out their minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from aioice import stun
from aioice.turn import TurnClientUdpProtocol
from aiortc import RTCConfiguration, RTCIceTransportPolicy
from support import ServerProcess, reseeded, short_tmpdir, timeout
from support_hub import Chat, open_chat, staff

from direkt.loadtests.calls import set_up_call
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis
from direkt.signaling import peer
from direkt.signaling.ice import turn_credentials

pytestmark = pytest.mark.slow

TURNSERVER = shutil.which("turnserver")
FAKETIME = shutil.which("faketime")  # Debian's, installed with coturn by scripts/ensure-coturn
AHEAD_S = 120  # the later coturn's clock: past every credential this module's direkt issues
TURN_SECRET = "test-turn-secret-not-for-production"
TTL_S = 60  # the shortest direkt accepts (DIREKT_TURN_TTL_SECONDS)


class Coturn:
    """``turnserver`` on 127.0.0.1 only (UDP; no TCP, TLS, DTLS or CLI), TURN REST API credentials
    with ``secret``, its own empty config file (not Debian's /etc/turnserver.conf), database and log."""

    def __init__(self, secret: str, ahead_s: int = 0) -> None:
        """``ahead_s``: its clock that many seconds ahead of this machine's (Debian's faketime)."""
        self.dir = short_tmpdir("dk-turn-")
        self.port = free_udp_port()
        self.log = self.dir / "turn.log"
        config = self.dir / "turnserver.conf"
        config.write_text("")
        args = [
            str(TURNSERVER), "-c", str(config), "-n",
            "--listening-ip", "127.0.0.1", "--relay-ip", "127.0.0.1", "--listening-port", str(self.port),
            "--use-auth-secret", "--static-auth-secret", secret, "--realm", "direkt.test",
            "--no-cli", "--no-tls", "--no-dtls", "--no-tcp", "--no-rfc5780",
            "--allow-loopback-peers",  # the relay call's peers are on 127.0.0.1
            "--userdb", str(self.dir / "turndb"), "--pidfile", str(self.dir / "turn.pid"),
            "--log-file", str(self.log), "--simple-log",
        ]  # fmt: skip
        if ahead_s:
            args = [str(FAKETIME), "-f", f"+{ahead_s}s", *args]
        with (self.dir / "stdout.log").open("wb") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        """Until a STUN Binding request gets its answer (coturn allows those without credentials)."""
        deadline = time.monotonic() + timeout(15)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect(("127.0.0.1", self.port))
            sock.settimeout(0.2)
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"turnserver exited ({self.process.returncode}): {self.output()[-2000:]}")
                request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
                try:
                    sock.send(bytes(request))
                    if stun.parse_message(sock.recv(2048)).transaction_id == request.transaction_id:
                        return
                except (TimeoutError, ConnectionRefusedError, ValueError):
                    continue  # not listening yet (an ICMP refusal, or nothing within 0.2 s): ask again
        raise RuntimeError(f"turnserver did not answer a STUN Binding request: {self.output()[-2000:]}")

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        """Its whole process group: under faketime, turnserver is faketime's child and outlived it
        (one stray turnserver after every `make test`)."""
        self._signal_group(signal.SIGTERM)
        try:
            self.process.wait(timeout(10))
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.process.wait()

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)  # start_new_session: the group is the server's own


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def allocate(port: int, username: str, password: str) -> tuple[str, int]:
    """A TURN Allocate over UDP with long-term credentials, as a browser's ICE agent does: the
    relayed address coturn gives, or ``stun.TransactionFailed`` with its error. Deleted at once."""
    server = ("127.0.0.1", port)
    _, client = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: TurnClientUdpProtocol(server, username, password, lifetime=600, channel_refresh_time=500),
        remote_addr=server,
    )
    try:
        relayed = await asyncio.wait_for(client.connect(), timeout(10))
    except BaseException:
        client.transport.close()
        raise
    await client.delete()
    return relayed


async def refused_by_coturn(port: int, username: str, password: str) -> int:
    """The error code coturn answers an Allocate with these credentials (fails if it allocates)."""
    with pytest.raises(stun.TransactionFailed) as failed:
        await allocate(port, username, password)
    return int(failed.value.response.error_code)


async def live_call(chat: Chat) -> str:
    """The nurse proposes a video call and the citizen accepts: both are parties of a live call."""
    proposed = await chat.ns.request({"t": "call_propose", "case": chat.case, "media": "video"}, "call")
    call = str(proposed["call"])
    await chat.cs.expect("call", timeout(5), call=call, state="proposed")
    accepted = await chat.cs.request({"t": "call_accept", "case": chat.case, "call": call}, "call")
    assert accepted["state"] == "accepted", accepted
    return call


def turn_entry(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["t"] == "ice_servers", reply
    (entry,) = reply["servers"]  # DIREKT_ICE_SERVERS is the TURN URL alone
    return dict(entry)


@pytest.fixture(scope="module")
def coturn() -> Iterator[Coturn]:
    if TURNSERVER is None:
        pytest.skip("turnserver (coturn) is missing: scripts/ensure-coturn installs it (make test does)")
    server = Coturn(TURN_SECRET)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def later_coturn() -> Iterator[Coturn | None]:
    """The same coturn, secret and all, with its clock AHEAD_S on; None without faketime."""
    if TURNSERVER is None or FAKETIME is None:
        yield None
        return
    server = Coturn(TURN_SECRET, ahead_s=AHEAD_S)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis, coturn: Coturn) -> Iterator[ServerProcess]:
    """direkt with coturn as its only ICE server (this module's ``chat`` fixture uses it)."""
    process = ServerProcess(
        standalone_redis.url,
        DIREKT_ICE_HOST_ADDRESSES="127.0.0.1",
        DIREKT_ICE_SERVERS=f"turn:127.0.0.1:{coturn.port}?transport=udp",
        DIREKT_TURN_SECRET=TURN_SECRET,
        DIREKT_TURN_TTL_SECONDS=str(TTL_S),
    )
    yield process
    process.stop()


@dataclass(frozen=True)
class Issued:
    username: str
    credential: str
    expires_s: int
    asked_at_s: float  # this machine's clock just before asking
    relayed_while_valid: tuple[str, int] | str  # coturn's relayed address, or its refusal


async def _issue_and_allocate(server: ServerProcess, coturn: Coturn, redis_url: str) -> Issued:
    client = await connect(redis_url)
    await client.flushall()
    await client.aclose()
    await asyncio.to_thread(reseeded, redis_url)
    async with open_chat(server.base) as chat:
        call = await live_call(chat)
        asked_at_s = time.time()
        reply = await chat.ns.request({"t": "call_ice_servers", "case": chat.case, "call": call}, "ice_servers")
        turn = turn_entry(reply)
        try:
            relayed: tuple[str, int] | str = await allocate(coturn.port, turn["username"], turn["credential"])
        except stun.TransactionFailed as exc:
            relayed = str(exc)
        return Issued(turn["username"], turn["credential"], reply["expires_ms"] // 1000, asked_at_s, relayed)


@pytest.fixture(scope="module", autouse=True)
def issued_first(server: ServerProcess, coturn: Coturn, standalone_redis: EmbeddedRedis) -> Issued:
    """A party's credentials, issued (and used for an Allocate) as the module starts."""
    return asyncio.run(_issue_and_allocate(server, coturn, standalone_redis.url))


async def test_a_party_s_credentials_get_a_relay_and_altered_ones_do_not(chat: Chat, coturn: Coturn) -> None:
    """The positive control (direkt and coturn agree on the secret and the format), and what a
    party cannot do with their credentials: push the expiry on, or sign their own."""
    call = await live_call(chat)
    ask = {"t": "call_ice_servers", "case": chat.case, "call": call}
    for sock in (chat.ns, chat.cs):
        turn = turn_entry(await sock.request(ask, "ice_servers"))
        host, port = await allocate(coturn.port, turn["username"], turn["credential"])
        assert host == "127.0.0.1" and port > 0
        expiry, _, uid = turn["username"].partition(":")
        pushed_on = f"{int(expiry) + 3600}:{uid}"
        assert await refused_by_coturn(coturn.port, pushed_on, turn["credential"]) == 401
        forged = turn_credentials("another-secret", uid, int(expiry) + 3600)
        assert await refused_by_coturn(coturn.port, *forged) == 401


async def test_no_credentials_for_a_non_party_or_once_the_case_is_closed(chat: Chat, server: ServerProcess) -> None:
    call = await live_call(chat)
    ask = {"t": "call_ice_servers", "case": chat.case, "call": call}
    olle = await staff(server.base, "nurse-2")  # same unit: may follow the case, is no party of the call
    try:
        os_ = await olle.socket()
        await os_.request({"t": "join", "case": chat.case}, "case")
        got = await os_.request(ask, "ice_servers")
        assert got["t"] == "error" and got["code"] == "conflict", got
        await os_.close()
    finally:
        await olle.aclose()
    await chat.ns.request({"t": "close", "case": chat.case, "outcome": "video_consultation"}, "done")
    for sock in (chat.ns, chat.cs):
        got = await sock.request(ask, "ice_servers")
        assert got["t"] == "error" and got["code"] in {"conflict", "call_state", "no_call"}, got


@pytest.fixture
def relay_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """aiortc peers that gather relay candidates only (``iceTransportPolicy: "relay"``)."""
    plain = peer.rtc_configuration

    def relay_configuration(servers: list[dict[str, Any]]) -> RTCConfiguration:
        return dataclasses.replace(plain(servers), iceTransportPolicy=RTCIceTransportPolicy.RELAY)

    monkeypatch.setattr(peer, "rtc_configuration", relay_configuration)


@pytest.mark.usefixtures("relay_only")
async def test_a_call_with_relay_candidates_only_carries_media_through_coturn(chat: Chat) -> None:
    pair = await set_up_call(chat.ns, chat.cs, chat.case, "video", timeout=timeout(20))
    try:
        for side in (pair.staff, pair.citizen):
            assert side.pc is not None and side.pc.localDescription is not None
            candidates = [line for line in side.pc.localDescription.sdp.splitlines() if line.startswith("a=candidate")]
            assert candidates and all(" typ relay " in line for line in candidates), candidates
        async with asyncio.timeout(timeout(15)):
            await asyncio.gather(pair.staff.wait_for_media(10), pair.citizen.wait_for_media(10))
        assert pair.staff.received["video"] >= 10 and pair.citizen.received["audio"] >= 10
    finally:
        await pair.close()


async def test_credentials_are_refused_by_coturn_once_expired(
    issued_first: Issued, coturn: Coturn, later_coturn: Coturn | None
) -> None:
    """The same credentials that got a relay at the start of the module: only the clock has moved.

    With Debian's faketime, a second coturn whose clock runs AHEAD_S on shows it at once (and
    takes credentials that are valid at its time, so it refuses for the expiry alone); without
    it, the test waits out the minute on coturn's own clock.
    """
    relayed = issued_first.relayed_while_valid
    assert isinstance(relayed, tuple), f"coturn refused the credentials while they were valid: {relayed}"
    assert int(issued_first.username.partition(":")[0]) == issued_first.expires_s
    assert issued_first.expires_s <= issued_first.asked_at_s + TTL_S + 1  # DIREKT_TURN_TTL_SECONDS, no more
    if later_coturn is not None:
        assert issued_first.expires_s < time.time() + AHEAD_S  # past their expiry at the later coturn's time
        uid = issued_first.username.partition(":")[2]
        valid_then = turn_credentials(TURN_SECRET, uid, int(time.time()) + AHEAD_S + 3600)
        host, _ = await allocate(later_coturn.port, *valid_then)
        assert host == "127.0.0.1"
        assert await refused_by_coturn(later_coturn.port, issued_first.username, issued_first.credential) == 401
        return
    # coturn's clock is this machine's: on to the first whole second past the expiry (+ 0.1 s for
    # any slew of the wall clock against asyncio's monotonic one while waiting)
    past_expiry = issued_first.expires_s + 1
    await asyncio.sleep(max(0.0, past_expiry - time.time() + 0.1))
    assert time.time() >= past_expiry
    assert await refused_by_coturn(coturn.port, issued_first.username, issued_first.credential) == 401

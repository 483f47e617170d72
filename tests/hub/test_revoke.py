"""An assignment revoked by an operator (``direkt staff revoke``) closes that staff member's sockets at once."""

from __future__ import annotations

import asyncio

from support import ServerProcess, timeout
from support_hub import not_logged_in, staff

from direkt.server.cli import main
from direkt.server.redis.embedded import EmbeddedRedis


async def test_revoking_a_staff_member_closes_their_sockets_and_ends_their_sessions(
    server: ServerProcess, standalone_redis: EmbeddedRedis, capsys: object
) -> None:
    nurse = await staff(server.base, "nurse-1")
    other = await staff(server.base, "nurse-2")
    try:
        sock = await nurse.socket()
        bystander = await other.socket()
        await sock.expect("welcome")
        code = await asyncio.to_thread(main, ["staff", "revoke", "nurse-1", "--redis-url", standalone_redis.url])
        assert code == 0
        await asyncio.wait_for(sock.closed.wait(), timeout(5))
        assert sock.close_code == 4001
        assert await not_logged_in(nurse.http)
        assert not bystander.closed.is_set()
        pong = await bystander.request({"t": "ping", "n": 1}, "pong")
        assert pong["n"] == 1
        await bystander.close()
    finally:
        await nurse.aclose()
        await other.aclose()


async def test_a_logout_racing_a_new_socket_still_closes_it(server: ServerProcess) -> None:
    """The revocation may be published before the new socket listens for it: it must close anyway."""
    for _ in range(10):
        nurse = await staff(server.base, "nurse-2")
        try:
            sock = await nurse.socket()
            await nurse.call("POST", "/auth/logout")  # at once, without waiting for welcome
            await asyncio.wait_for(sock.closed.wait(), timeout(5))
            assert sock.close_code == 4001
        finally:
            await nurse.aclose()

"""ICE servers from configuration, and short-lived TURN credentials.

There is no public default: aiortc's own default is a public STUN server, so
every peer connection gets this module's explicit list, empty when nothing is
configured (right on loopback). TURN credentials follow the TURN REST API
(draft-uberti-behave-turn-rest) that coturn's ``use-auth-secret`` accepts:
username ``<expiry unix seconds>:<uid>``, password
``base64(HMAC-SHA1(secret, username))``. The hub issues them only to the
parties of a live call.

aiortc (and PyAV under it) is imported only when a configuration is built:
it is over half a second of every server start, which needs none of it until
a call or a call test.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from direkt.server.errors import ConfigError

if TYPE_CHECKING:
    from aiortc import RTCConfiguration

SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
_URL = re.compile(
    r"(?:stuns?:(?P<stun>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<stun_port>\d{1,5}))?"
    r"|turns?:(?P<turn>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(?P<turn_port>\d{1,5}))?(?:\?transport=(?:udp|tcp))?)",
    re.ASCII,
)


@dataclass(frozen=True)
class IceConfig:
    urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_ttl_s: int = 1800

    @classmethod
    def parse(cls, urls: str, turn_secret: str, turn_ttl_s: float) -> IceConfig:
        """From ``DIREKT_ICE_SERVERS`` (comma-separated URLs); raises ConfigError."""
        listed = tuple(u.strip() for u in urls.split(",") if u.strip())
        for url in listed:
            match = _URL.fullmatch(url) if len(url) <= 256 else None
            port = match and (match["stun_port"] or match["turn_port"])
            if match is None or (port and int(port) > 65535):
                raise ConfigError("environment", "DIREKT_ICE_SERVERS", f"{url!r} is not a stun:/turn: URL with a host")
        if not math.isfinite(turn_ttl_s):
            raise ConfigError("environment", "DIREKT_TURN_TTL_SECONDS", "must be 60–86400 seconds")
        config = cls(listed, turn_secret, int(turn_ttl_s))
        if config.turn_urls and not turn_secret:
            raise ConfigError("environment", "DIREKT_TURN_SECRET", "TURN URLs need the TURN server's shared secret")
        if not 60 <= config.turn_ttl_s <= 86_400:
            raise ConfigError("environment", "DIREKT_TURN_TTL_SECONDS", "must be 60–86400 seconds")
        return config

    @property
    def stun_urls(self) -> tuple[str, ...]:
        return tuple(u for u in self.urls if u.startswith(("stun:", "stuns:")))

    @property
    def turn_urls(self) -> tuple[str, ...]:
        return tuple(u for u in self.urls if u.startswith(("turn:", "turns:")))

    def public_servers(self) -> list[dict[str, Any]]:
        """STUN only, no credentials: for the pre-call test and client configuration."""
        return [{"urls": list(self.stun_urls)}] if self.stun_urls else []

    def servers_for(self, uid: str, now_s: int) -> tuple[list[dict[str, Any]], int]:
        """The list for a party of a live call, with TURN credentials; and when they expire (unix s)."""
        expires = now_s + self.turn_ttl_s
        servers = self.public_servers()
        if self.turn_urls:
            username, credential = turn_credentials(self.turn_secret, uid, expires)
            servers.append({"urls": list(self.turn_urls), "username": username, "credential": credential})
        return servers, expires


def turn_credentials(secret: str, uid: str, expires_s: int) -> tuple[str, str]:
    username = f"{expires_s}:{uid}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def turn_accepts(secret: str, username: str, credential: str, now_s: int) -> bool:
    """What a TURN server with ``use-auth-secret`` decides: right HMAC and not expired."""
    expiry, _, _uid = username.partition(":")
    if not expiry.isdigit() or int(expiry) <= now_s:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()
    return hmac.compare_digest(expected, credential)


def rtc_configuration(servers: list[dict[str, Any]]) -> RTCConfiguration:
    """An aiortc configuration with exactly these servers (never aiortc's public default)."""
    from aiortc import RTCConfiguration, RTCIceServer

    return RTCConfiguration(
        iceServers=[
            RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential")) for s in servers
        ]
    )


def gather_only_on(addresses: list[str]) -> None:
    """aiortc gathers host candidates on these addresses only (all interfaces when empty)."""
    if not addresses:
        return
    import aioice.ice

    listed = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: [
        a for a in listed if (":" in a and use_ipv6) or (":" not in a and use_ipv4)
    ]

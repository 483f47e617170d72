"""Who a guardian's children are: from the region's demo file, or from an HTTP JSON service.

The service is the shape a region's adapter to the population register
(folkbokföringen, e.g. through Skatteverket's Navet) would expose:

    GET <DIREKT_GUARDIANS_URL>?guardian=<12-digit personnummer>
    Authorization: Bearer <DIREKT_GUARDIANS_TOKEN>   (when set)
    200 {"children": [{"pnr": "201505152389", "name": "Elsa Andersson"}, ...]}

Relations are asked for at every access to a child's case and at every start
of a child's triage, not only at login: custody changes, and a session lasts
hours. Answers are kept at most ``DIREKT_GUARDIANS_TTL_SECONDS`` (60 s by
default; 0 keeps nothing) in this process's memory only, never in Redis or a log.

An outage (no answer within the timeout, a non-200 status, a malformed body)
is ``Unavailable`` (503): the child's case is refused, never allowed. A
guardian's own cases never ask the service.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import orjson

from direkt.server.errors import BadRequest, Unavailable
from direkt.server.identity.personnummer import Personnummer
from direkt.server.region import RegionConfig
from direkt.server.settings import Settings

MAX_ANSWER_BYTES = 64 * 1024
MAX_CHILDREN = 64
CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class ChildrenOf:
    """One guardian's children as the source said just now: personnummer -> name ("" if not given).

    Has ``guardians_of`` like ``RegionConfig``, so the pure rules of ``access`` take either.
    """

    guardian: str
    children: Mapping[str, str] = field(default_factory=dict)

    def guardians_of(self, child_pnr: str) -> list[str]:
        return [self.guardian] if child_pnr in self.children else []


class GuardianSource(Protocol):
    async def children_of(self, guardian_pnr: str) -> ChildrenOf:
        """The guardian's children now. Raises Unavailable when the source cannot say."""
        ...


class DemoGuardians:
    """The region file's ``citizens[].children`` (the live configuration's, read at each call)."""

    def __init__(self, config: Callable[[], RegionConfig]) -> None:
        self._config = config

    async def children_of(self, guardian_pnr: str) -> ChildrenOf:
        config = self._config()
        me = config.citizens.get(guardian_pnr)
        names = {pnr: (c.name if (c := config.citizens.get(pnr)) else "") for pnr in (me.children if me else ())}
        return ChildrenOf(guardian_pnr, names)


def parse_children(guardian_pnr: str, body: bytes) -> ChildrenOf:
    """The service's answer, checked: every child a valid personnummer, names strings.

    Raises:
        Unavailable: the answer is not the documented shape (never a guess at what it meant).
    """
    try:
        document: Any = orjson.loads(body)
        listed = document["children"]
        if not isinstance(listed, list) or len(listed) > MAX_CHILDREN:
            raise TypeError
        children = {}
        for child in listed:
            name = child.get("name") or ""
            if not isinstance(name, str):
                raise TypeError
            children[Personnummer(str(child["pnr"])).digits] = " ".join(name.split())[:100]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, BadRequest):
        raise Unavailable("the guardian register answered with something other than the documented JSON") from None
    return ChildrenOf(guardian_pnr, children)


class HttpGuardians:
    """The guardian register over HTTP, with a short cache in memory."""

    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        ttl_s: float = 60.0,
        timeout_s: float = 3.0,
        token: str = "",
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url, self._http, self._ttl_s, self._timeout_s, self._now = url, http, ttl_s, timeout_s, now
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._cache: dict[str, tuple[float, ChildrenOf]] = {}

    async def children_of(self, guardian_pnr: str) -> ChildrenOf:
        """Raises Unavailable: no answer in time, an error status, or a malformed answer."""
        kept = self._cache.get(guardian_pnr)
        if kept is not None and kept[0] > self._now():
            return kept[1]
        found = parse_children(guardian_pnr, await self._ask(guardian_pnr))
        if self._ttl_s > 0:
            self._keep(guardian_pnr, found)
        return found

    async def _ask(self, guardian_pnr: str) -> bytes:
        try:
            response = await self._http.get(
                self._url, params={"guardian": guardian_pnr}, headers=self._headers, timeout=self._timeout_s
            )
        except httpx.TimeoutException:
            raise Unavailable("the guardian register did not answer in time") from None
        except httpx.HTTPError:
            raise Unavailable("the guardian register cannot be reached") from None
        if response.status_code != 200:
            raise Unavailable(f"the guardian register answered HTTP {response.status_code}")
        if len(response.content) > MAX_ANSWER_BYTES:
            raise Unavailable("the guardian register's answer is too large")
        return response.content

    def _keep(self, guardian_pnr: str, found: ChildrenOf) -> None:
        now = self._now()
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            while len(self._cache) >= CACHE_ENTRIES:
                del self._cache[next(iter(self._cache))]  # the oldest kept
        self._cache[guardian_pnr] = (now + self._ttl_s, found)


def guardian_source(settings: Settings, http: httpx.AsyncClient, config: Callable[[], RegionConfig]) -> GuardianSource:
    """The HTTP register when ``DIREKT_GUARDIANS_URL`` is set, else the demo file."""
    s = settings
    if s.guardians_url:
        return HttpGuardians(
            s.guardians_url, http, ttl_s=s.guardians_ttl_seconds, timeout_s=s.guardians_timeout_seconds,
            token=s.guardians_token,
        )  # fmt: skip
    return DemoGuardians(config)

"""A case's transcript: a Redis Stream per case, appended before any ack.

Guarantees (DESIGN "Messages are appended to a Redis Stream per case before
they are acked"; TARGETS 1–6):

* One round trip per inbound message: the append script checks the client
  message id, XADDs, remembers the id and PUBLISHes the entry for fan-out,
  atomically. Pub/sub order therefore equals stream order. Appends share
  round trips: on one Redis they go over the lean auto-pipelined connection
  (``direkt.server.redis.resp``), on a cluster through a group commit
  (``direkt.server.redis.batching``); either way in the order they were made.
* Idempotent sends: ``<sender>:<client id>`` maps to the stream id; a retry
  gets the first id back and nothing is stored twice (Matrix transaction ids).
* Epochs (Centrifugo): each transcript has a random epoch, created with it. If
  Redis loses the transcript (restarted empty), the epoch is gone too and a
  new one is made; a client resuming with the old epoch is told the history is
  lost instead of being given a partial replay.
* A resume position must be an id that exists in the stream (or "0-0" for
  the start). A position from the future, or one Redis no longer has, is an
  explicit failure, never a silent gap.
* Reads come a page at a time (``Transcripts.since``, ``Transcripts.pages``),
  however long the transcript: a reader holds one page, never the whole
  stream, and never stops short of the end while saying it is complete. Every
  page is checked like a resume (epoch, position), so a transcript lost
  midway is reported, not skipped over.

Entries hold one field ``m``: a msgpack map (kind, sender, text, …). Entries
marked ``vis=staff`` (journal and transfer notes) never reach citizens, in
live delivery and in replay alike.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import AsyncGenerator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import msgpack
from redis.exceptions import ResponseError

from direkt.queue.scripts import REDIS_FAILURES, RedisClient, redis_errors, unavailable
from direkt.server.care.writeguard import CHECK, Guard, refusal
from direkt.server.errors import BadRequest, Conflict
from direkt.server.redis import keys
from direkt.server.redis.batching import ScriptBatcher
from direkt.server.redis.connect import LeanRedis
from direkt.server.redis.resp import Commands

START = "0-0"
REPLAY_PAGE = 500  # entries per read: the most a replay or a transcript request holds at once
MAX_PAGE = 1000  # the largest page a client may ask for (GET …/transcript?limit=)

# KEYS[1] stream  KEYS[2] client-id map  KEYS[3] epoch  KEYS[4] guard or case file
# ARGV[1] dedupe field ("" = none)  ARGV[2] epoch to create if missing
# ARGV[3] channel  ARGV[4] packed entry  ARGV[5..8] the writer (``writeguard.Guard``)
# Returns {stream id, epoch, 1 if stored now / 0 if a retry}, or {"", "", verdict}
# when the guard refuses (the writer's lease is not current, or the case is gone).
# Atomic so that a retry racing the first attempt can never store twice, so that
# PUBLISH order is stream order, and so that a lease cannot change between the
# check and the write. A retry of a message stored under a valid lease gets its
# id back even if the lease has moved on since.
APPEND = (
    CHECK
    + """
if ARGV[1] ~= '' then
  local earlier = redis.call('HGET', KEYS[2], ARGV[1])
  if earlier then return {earlier, redis.call('GET', KEYS[3]) or '', 0} end
end
local refused = guard_refusal(KEYS[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
if refused then return {'', '', refused} end
local epoch = redis.call('GET', KEYS[3])
if not epoch then
  epoch = ARGV[2]
  redis.call('SET', KEYS[3], epoch)
end
local id = redis.call('XADD', KEYS[1], '*', 'm', ARGV[4])
if ARGV[1] ~= '' then redis.call('HSET', KEYS[2], ARGV[1], id) end
redis.call('PUBLISH', ARGV[3], epoch .. ' ' .. id .. ' ' .. ARGV[4])
return {id, epoch, 1}
"""
)

# KEYS[1] stream  KEYS[2] epoch  ARGV[1] epoch to create if missing
# Returns {epoch, last id or ""}: the epoch is created here too, so that a
# resume after Redis lost everything sees a new epoch, not an empty history.
HEAD = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #last == 0 then return {epoch, ''} end
return {epoch, last[1][1]}
"""


# KEYS[1] stream  KEYS[2] epoch
# ARGV[1] epoch to create if missing  ARGV[2] the client's epoch ("" = none yet)
# ARGV[3] its position ("0-0" = from the start)  ARGV[4] how many entries at most
# Returns {epoch, "ok", the entries after the position, at most ARGV[4]}, or
# {epoch, "lost"} (another epoch), {epoch, "ahead"} (past the last entry) or
# {epoch, "unknown"} (not an entry here: trimmed, or never there). A resume in
# one round trip, with the checks and the page from the same instant; each next
# page is read through it too, so no page follows a gap.
SINCE = """
local epoch = redis.call('GET', KEYS[2])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
end
if ARGV[2] ~= '' and ARGV[2] ~= epoch then return {epoch, 'lost'} end
local start = '-'
if ARGV[3] ~= '0-0' then
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
  if #last == 0 then return {epoch, 'ahead'} end
  local ms, seq = string.match(ARGV[3], '^(%d+)-(%d+)$')
  local lms, lseq = string.match(last[1][1], '^(%d+)-(%d+)$')
  if tonumber(ms) > tonumber(lms) or (ms == lms and tonumber(seq) > tonumber(lseq)) then
    return {epoch, 'ahead'}
  end
  if #redis.call('XRANGE', KEYS[1], ARGV[3], ARGV[3], 'COUNT', 1) == 0 then return {epoch, 'unknown'} end
  start = '(' .. ARGV[3]
end
return {epoch, 'ok', redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', tonumber(ARGV[4]))}
"""


class HistoryLost(Conflict):
    """The client's epoch is not the transcript's: Redis lost history; start again."""

    code = "history_lost"

    def __init__(self, epoch: str) -> None:
        super().__init__("the chat history was lost on the server; it starts again from here")
        self.epoch = epoch


class BadPosition(BadRequest):
    code = "bad_position"


class Entry(NamedTuple):
    """One transcript entry. A named tuple, not a frozen dataclass: made for every entry
    fanned out or replayed, and a frozen dataclass's ``__init__`` costs twice as much."""

    id: str
    body: Mapping[str, Any]

    @property
    def staff_only(self) -> bool:
        return self.body.get("vis") == "staff"


@dataclass(frozen=True)
class Page:
    """Entries after a position, oldest first, at most a page of them.

    ``next`` is the position to read the next page from, or "" when these are
    the last entries the transcript holds.
    """

    epoch: str
    entries: list[Entry]
    next: str


class Appended(NamedTuple):
    """An append's outcome (a named tuple: one per chat message, see ``Entry``)."""

    id: str
    epoch: str
    stored: bool


def parse_id(stream_id: str) -> tuple[int, int]:
    """``"<ms>-<seq>"`` as a comparable pair.

    Raises:
        BadPosition: not a stream id.
    """
    ms, sep, seq = stream_id.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit() or len(stream_id) > 41:
        raise BadPosition("a stream position looks like 1700000000000-0")
    return int(ms), int(seq)


def system_body(code: str, sv: str, en: str, *, staff_only: bool = False, **extra: Any) -> dict[str, Any]:
    """A system message's body, in Swedish and English (``staff_only``: never shown to citizens)."""
    body = {"k": "system", "code": code, "text": sv, "text_en": en, "role": "system", **extra}
    if staff_only:
        body["vis"] = "staff"
    return body


def pack_body(body: Mapping[str, Any]) -> bytes:
    """An entry's body as stored in its stream's field ``m`` (and published)."""
    return msgpack.packb(dict(body))  # type: ignore[no-any-return]


def decode_published(data: bytes) -> tuple[str, Entry]:
    """A fan-out payload ``<epoch> <id> <packed>`` → (epoch, entry)."""
    epoch, id_, packed = data.split(b" ", 2)
    return epoch.decode(), Entry(id_.decode(), msgpack.unpackb(packed))


class Transcripts:
    """Args:
    client: redis-py, for everything but the append.
    commands: the lean connection the appends go through (``direkt.server.redis.resp``);
        None on a Redis Cluster, where appends are group-committed through redis-py.
    """

    def __init__(self, client: RedisClient, commands: Commands | None = None) -> None:
        self.client = client
        self.commands = commands
        self.batcher = ScriptBatcher(client, APPEND) if commands is None else None
        self._head = client.register_script(HEAD)
        self._since = client.register_script(SINCE)

    @classmethod
    def for_client(cls, client: RedisClient) -> Transcripts:
        """Appends on the client's lean connection where it has one (not on a cluster)."""
        return cls(client, client.lean if isinstance(client, LeanRedis) else None)

    def writes(self) -> int:
        """How many writes to Redis the appends took (they share them under load)."""
        return self.batcher.round_trips if self.batcher is not None else self.commands.writes  # type: ignore[union-attr]

    async def append(
        self, case_id: str, body: Mapping[str, Any], dedupe: str = "", guard: Guard | None = None
    ) -> Appended:
        """Store an entry (and publish it); a repeated ``dedupe`` key returns the first id.

        Raises:
            StaleToken: ``guard``'s lease is not the case's current one.
            CaseGone: ``guard`` needs a case record that is gone.
        """
        guard = guard or Guard.none(case_id)
        args = [dedupe, new_epoch(), keys.case_channel(case_id), pack_body(body), *guard.args()]
        key_list = [keys.chat(case_id), keys.chat_ids(case_id), keys.chat_epoch(case_id), guard.key]
        try:
            if self.batcher is not None:
                id_, epoch, stored = await self.batcher(keys=key_list, args=args)
            else:
                id_, epoch, stored = await self.commands.eval(APPEND, key_list, args)  # type: ignore[union-attr]
        except (ResponseError, *REDIS_FAILURES) as exc:
            raise unavailable(exc) from None
        if not id_:
            refusal(stored)
        return Appended(id_.decode(), epoch.decode(), bool(stored))

    async def head(self, case_id: str) -> tuple[str, str]:
        """(epoch, last id or "")."""
        try:
            epoch, last = await self._head(keys=[keys.chat(case_id), keys.chat_epoch(case_id)], args=[new_epoch()])
        except (ResponseError, *REDIS_FAILURES) as exc:
            raise unavailable(exc) from None
        return epoch.decode(), last.decode()

    async def since(self, case_id: str, epoch: str, after: str, limit: int = REPLAY_PAGE) -> Page:
        """The first ``limit`` entries after ``after`` in ``epoch``: the start of exactly the gap, or an error.

        Read on from ``page.next`` (with ``page.epoch``) until it is "", or use ``pages``.

        Args:
            epoch: the epoch the client last saw; "" for a first subscription.
            after: the last stream id the client has; "0-0" (or "") for all.
            limit: the most entries to return, 1 to MAX_PAGE.

        Returns:
            The current epoch, the entries after the position (oldest first) and
            where the next page starts.

        Raises:
            HistoryLost: the epoch is not the current one.
            BadPosition: the position is malformed, in the future, or unknown.
            BadRequest: the limit is out of range.
        """
        if not 1 <= limit <= MAX_PAGE:
            raise BadRequest(f"a page holds 1 to {MAX_PAGE} entries")
        after = after or START
        parse_id(after)
        stream = keys.chat(case_id)
        try:  # one more than asked for tells whether another page follows
            reply = await self._since(
                keys=[stream, keys.chat_epoch(case_id)], args=[new_epoch(), epoch, after, limit + 1]
            )
        except (ResponseError, *REDIS_FAILURES) as exc:
            raise unavailable(exc) from None
        current, verdict = reply[0].decode(), reply[1]
        if verdict == b"lost":
            raise HistoryLost(current)
        if verdict == b"ahead":
            raise BadPosition("the position is ahead of the transcript")
        if verdict == b"unknown":
            raise BadPosition("the position is not in the transcript (trimmed or never there)")
        entries = _entries(reply[2][:limit])
        return Page(current, entries, entries[-1].id if len(reply[2]) > limit else "")

    async def pages(self, case_id: str, epoch: str = "", after: str = "") -> AsyncGenerator[Page, None]:
        """Every entry after ``after`` in ``epoch``, a page at a time (``since``'s errors, on any page).

        The next page is read only when the caller asks for it: a caller that
        waits for its reader between pages holds one page at a time.
        """
        page = await self.since(case_id, epoch, after)
        yield page
        while page.next:
            page = await self.since(case_id, page.epoch, page.next)
            yield page

    async def read_position(self, case_id: str, who: str) -> str:
        """How far ``who`` has read (the newest ``read`` they sent, see ``writeguard.PUBLISH``), "" if nothing."""
        with redis_errors():
            position: Any = await self.client.hget(keys.chat_read(case_id), who)
        return position.decode() if position else ""


def _entries(raw: list[Any]) -> list[Entry]:
    """Entries from a script's XRANGE reply: [[id, [field, value, …]], …] with the one field ``m``."""
    return [Entry(id_.decode(), msgpack.unpackb(fields[1])) for id_, fields in raw]


# An epoch only has to differ from every epoch this transcript had before: a
# random prefix per process and a counter do that without drawing 6 random
# bytes from the OS for every message (3 % of the hub's CPU under load).
_EPOCH_PREFIX = secrets.token_hex(4)
_epochs = itertools.count(1)


def new_epoch() -> str:
    return f"{_EPOCH_PREFIX}{next(_epochs):x}"

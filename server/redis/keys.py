"""Every Redis key and channel name of the hub, built in one place.

The waiting room's keys live in ``direkt.queue.keys``. Chat keys carry the
case id as their hash tag, so one case's transcript, idempotency map and epoch
share a cluster slot (the append script touches only them) while cases spread
over the cluster.

    dk:sess:<sid>              hash    a login session (user, role, csrf, expiry); TTL = idle timeout
    dk:usess:<uid>             set     session ids of a user (log out everywhere, revoke)
    dk:ticket:<ticket>         str     one-time WebSocket ticket -> session id (30 s)
    dk:login:<state>           str     a login in progress (OIDC state, PKCE verifier, nonce) (10 min)
    dk:triage:<id>             str     a triage session (msgpack: owner, patient, engine session)
    dk:kb:<version>            str     a triage knowledge base snapshot (every version served, for replay)
    dk:conns:<uid>             zset    live sockets of a user, score = expiry (connection limit)
    dk:flooded:<uid>           str     set when a socket of the user was closed as a flood: new ones refused (10 s)
    dk:online                  zset    staff ids with a console open, score = last seen (server/care/presence.py)
    dk:ucases:<uid>            zset    cases a citizen may see (own and children's), score = created
    dk:pcases:<pid>            zset    cases about one patient (pid: the patient's pseudonym), score = created
    dk:file:{<case>}           hash    the case file: owner, patient, guardian, triage summary
    dk:chat:{<case>}           stream  the transcript
    dk:chat:{<case>}:cid       hash    "<sender>:<client message id>" -> stream id (idempotent sends)
    dk:chat:{<case>}:epoch     str     the transcript's epoch (changes only if Redis lost it)
    dk:chat:{<case>}:read      hash    participant -> last stream id read
    dk:photo:{<case>}:<id>     str     a sanitised photo
    dk:call:{<case>}           hash    the case's call: v (version) and the msgpack call record
    dk:tpl                     hash    phrase templates created or edited at run time (msgpack)
    dk:join                    zset    cases whose chat is ready, score = end of the join window
    dk:avail                   hash    staff id -> "<available/paused/away>:<set at ms>", for a shift
    dk:audit                   stream  append-only access log (HSLF-FS 2016:40 4 kap. 9 §)
    dk:marker                  str     a random value set once: gone or changed = Redis lost its data
    dk:case:{<case>}           channel chat, typing and read fan-out for one case
    dk:user:<uid>              channel notices and revocations for one user's sockets
    dk:config                  hash    the live region configuration: seed, version, doc (JSON), at, by
    dk:config:changed          channel "<seed>:<version>" of each new configuration (server/liveconfig.py)
"""

from __future__ import annotations

ROOT = "dk"
AUDIT_STREAM = f"{ROOT}:audit"
STAFF_ONLINE = f"{ROOT}:online"
TEMPLATES = f"{ROOT}:tpl"
JOIN_WINDOWS = f"{ROOT}:join"
AVAILABILITY = f"{ROOT}:avail"
DATA_MARKER = f"{ROOT}:marker"


def triage_kb(version: str) -> str:
    return f"{ROOT}:kb:{version}"


def session(sid: str) -> str:
    return f"{ROOT}:sess:{sid}"


def user_sessions(uid: str) -> str:
    return f"{ROOT}:usess:{uid}"


def ticket(value: str) -> str:
    return f"{ROOT}:ticket:{value}"


def login(state: str) -> str:
    return f"{ROOT}:login:{state}"


def triage(tid: str) -> str:
    return f"{ROOT}:triage:{tid}"


def connections(uid: str) -> str:
    return f"{ROOT}:conns:{uid}"


def flooded(uid: str) -> str:
    """Set when one of the user's sockets was closed as a flood: new sockets are refused while it lives."""
    return f"{ROOT}:flooded:{uid}"


def user_cases(uid: str) -> str:
    return f"{ROOT}:ucases:{uid}"


def patient_cases(pid: str) -> str:
    """The patient's own cases (a child's, not their guardian's): ``pid`` is ``sessions.citizen_uid`` of the patient."""
    return f"{ROOT}:pcases:{pid}"


def case_file(case_id: str) -> str:
    return f"{ROOT}:file:{{{case_id}}}"


def chat(case_id: str) -> str:
    return f"{ROOT}:chat:{{{case_id}}}"


def chat_ids(case_id: str) -> str:
    return f"{chat(case_id)}:cid"


def chat_epoch(case_id: str) -> str:
    return f"{chat(case_id)}:epoch"


def chat_read(case_id: str) -> str:
    return f"{chat(case_id)}:read"


def photo(case_id: str, photo_id: str) -> str:
    return f"{ROOT}:photo:{{{case_id}}}:{photo_id}"


def call(case_id: str) -> str:
    return f"{ROOT}:call:{{{case_id}}}"


def case_channel(case_id: str) -> str:
    return f"{ROOT}:case:{{{case_id}}}"


def user_channel(uid: str) -> str:
    return f"{ROOT}:user:{uid}"


# -- Supervision (issue 22): a unit's steering state, in its region's hash tag -----------------
#   dk:{<region>}:unitctl           hash    "<unit>:intake" / "<unit>:notice" -> JSON (server/care/steering.py)
#   dk:{<region>}:unitctl:changed   channel the unit whose steering changed (every process re-reads it)


def unit_control(region: str) -> str:
    return f"{ROOT}:{{{region}}}:unitctl"


def unit_control_channel(region: str) -> str:
    return f"{unit_control(region)}:changed"


# Retention and patient data (issue 22): one retention run at a time across processes.
# The lock names every region's data, so it carries no hash tag: one key, one slot.
RETENTION_LOCK = f"{ROOT}:retention:lock"


def chat_pattern() -> str:
    """SCAN pattern of every transcript stream (with TYPE stream; its side keys are hashes/strings)."""
    return f"{ROOT}:chat:{{*}}"


def case_file_pattern() -> str:
    return f"{ROOT}:file:{{*}}"


def photo_pattern(case_id: str = "*") -> str:
    """Every photo, or every photo of one case."""
    return f"{ROOT}:photo:{{{case_id}}}:*"


def triage_pattern() -> str:
    return f"{ROOT}:triage:*"


# -- administration without restarts: the live region configuration (server/liveconfig.py) --
# One document for every region (units overflow between regions), so no region hash tag.
CONFIG = f"{ROOT}:config"
CONFIG_CHANGED = f"{ROOT}:config:changed"


# -- RP-initiated logout (server/identity/oidclogout.py): a session's ID token, for id_token_hint --
def oidc_id_token(sid: str) -> str:
    return f"{ROOT}:idtoken:{sid}"


# -- cross-site embedding (server/identity/embedlogin.py): a pop-up login handed to the framed chat --
def embed_login(login_id: str) -> str:
    """A framed chat's login in progress: the hash of its browser binding (10 minutes)."""
    return f"{ROOT}:embedlogin:{login_id}"


def embed_code(code: str) -> str:
    """A one-time code from the pop-up, for the framed chat to exchange for a session (60 s)."""
    return f"{ROOT}:embedcode:{code}"


# -- vaccination self-booking (server/http/vaccination.py): the booking made with a triage --
def vaccination_booking(tid: str) -> str:
    """The one booking triage ``tid`` made: "<booking id> <unit> <start_ms asked for>" (the triage's TTL)."""
    return f"{ROOT}:vaccbooking:{tid}"


# -- booking a visit (issue 24, server/booking/): a unit's bookings share the hash tag {bk:<unit>},
#    so one Lua script takes or frees a slot atomically (book, cancel, rebook) --
#   dk:{bk:<unit>}:slots     hash    "<profession>:<mode>:<start_ms>" -> the booking id holding that slot
#   dk:{bk:<unit>}:b:<id>    hash    a booking (server/booking/model.py); kept when cancelled (status)
#   dk:{bk:<unit>}:cal       zset    the unit's booked (not cancelled) ids, score = start
#   dk:{bk:<unit>}:dedupe    hash    booking id -> the dedupe of the request that made it (a replay finds it)
#   dk:ubk:<uid>             zset    booking ids of one citizen account (own and children's), score = created;
#                                    another slot on a Cluster: written first, entries without a booking skipped
#   Retention (server/care/bookingdata.py): a booking is record material, removed `retention.bookings` days
#   after its end_ms with its slot field, calendar and replay entries (one script on the unit's tag), then
#   its dk:ubk entry; dk:ubk entries and dk:vaccbooking links naming no booking go once past the cutoff.


def booking_prefix(unit: str) -> str:
    return f"{ROOT}:{{bk:{unit}}}:"


def booking_slots(unit: str) -> str:
    return f"{booking_prefix(unit)}slots"


def booking(unit: str, booking_id: str) -> str:
    return f"{booking_prefix(unit)}b:{booking_id}"


def booking_calendar(unit: str) -> str:
    return f"{booking_prefix(unit)}cal"


def booking_dedupe(unit: str) -> str:
    return f"{booking_prefix(unit)}dedupe"


def user_bookings(uid: str) -> str:
    return f"{ROOT}:ubk:{uid}"

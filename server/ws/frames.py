"""The WebSocket frame codec: pure, one codec per subprotocol, typed frames.

``direkt.v1.msgpack`` (binary frames, the default) and ``direkt.v1.json``
(text frames) decode to the same typed client frames, validated by msgspec
(types, lengths, unknown fields refused), and both raise one ``FrameError``
on bad input. Server frames are plain maps encoded by the same codec. Never
pickle. ``docs/protocol.md`` documents every frame.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from direkt.server.errors import BadRequest
from direkt.server.ws.nesting import nesting_problem

MSGPACK = "direkt.v1.msgpack"
JSON = "direkt.v1.json"
SUBPROTOCOLS = (MSGPACK, JSON)

CaseId = Annotated[str, msgspec.Meta(min_length=3, max_length=110, pattern=r"^[a-z0-9-]+\.[0-9A-Za-z]+$")]
ClientId = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Ref = Annotated[str, msgspec.Meta(max_length=64)]
StreamId = Annotated[str, msgspec.Meta(max_length=41)]
Text = Annotated[str, msgspec.Meta(max_length=4000)]
Note = Annotated[str, msgspec.Meta(max_length=8000)]
Short = Annotated[str, msgspec.Meta(max_length=64)]

Outcome = Literal[
    "self_care_advice", "visit_booked", "referred", "video_consultation", "told_to_call_112", "no_contact"
]


class FrameError(BadRequest):
    code = "bad_frame"


class _Frame(msgspec.Struct, tag_field="t", forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    ref: Ref = ""  # echoed in the reply or error, so a client can match them


class Join(_Frame, tag="join"):
    """Follow a case's chat; replays what came after ``after`` in ``epoch``."""

    case: CaseId
    epoch: Short = ""
    after: StreamId = ""


class Leave(_Frame, tag="leave"):
    case: CaseId


class Send(_Frame, tag="send"):
    case: CaseId
    cid: ClientId
    text: Text = ""
    template: Short = ""
    photo: Short = ""


class Typing(_Frame, tag="typing"):
    case: CaseId
    on: bool = True


class Read(_Frame, tag="read"):
    case: CaseId
    id: StreamId


class Ping(_Frame, tag="ping"):
    n: int = 0


class ClaimNext(_Frame, tag="claim_next"):
    rid: ClientId


class Claim(_Frame, tag="claim"):
    case: CaseId


class Release(_Frame, tag="release"):
    case: CaseId


class Transfer(_Frame, tag="transfer"):
    case: CaseId
    unit: Short
    skill: Short
    note: Note = ""


class Close(_Frame, tag="close"):
    """``unit``: the care unit referred to (outcome ``referred`` only); ``booking``: the visit booked
    (outcomes ``visit_booked`` and ``video_consultation`` only)."""

    case: CaseId
    outcome: Outcome
    note: Note = ""
    unit: Short = ""
    booking: Short = ""


class Watch(_Frame, tag="watch"):
    """Consoles: a fresh queue snapshot (also sent on connect)."""


# -- calls (docs/protocol.md §7) ------------------------------------------------------------

CallId = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{12}$")]
Sdp = Annotated[str, msgspec.Meta(max_length=32_000)]
IceCandidate = Annotated[str, msgspec.Meta(max_length=1024)]


class CallPropose(_Frame, tag="call_propose"):
    case: CaseId
    media: Literal["audio", "video"]


class CallAccept(_Frame, tag="call_accept"):
    case: CaseId
    call: CallId


class CallDecline(_Frame, tag="call_decline"):
    case: CaseId
    call: CallId


class CallHangup(_Frame, tag="call_hangup"):
    case: CaseId
    call: CallId


class CallReport(_Frame, tag="call_report"):
    """A party says the media connected, or failed (``reason``: devices, ice, media, …)."""

    case: CaseId
    call: CallId
    state: Literal["connected", "failed"]
    reason: Annotated[str, msgspec.Meta(max_length=64, pattern=r"^[a-z_]*$")] = ""


class CallIceServers(_Frame, tag="call_ice_servers"):
    case: CaseId
    call: CallId


class SessionDescription(_Frame, tag="sdp"):
    case: CaseId
    call: CallId
    kind: Literal["offer", "answer"]
    sdp: Sdp


class IceCandidateFrame(_Frame, tag="ice"):
    case: CaseId
    call: CallId
    candidate: IceCandidate
    mid: Annotated[str, msgspec.Meta(max_length=32)] = ""
    mline: Annotated[int, msgspec.Meta(ge=0, le=63)] = 0


CallFrame = (
    CallPropose
    | CallAccept
    | CallDecline
    | CallHangup
    | CallReport
    | CallIceServers
    | SessionDescription
    | IceCandidateFrame
)

ClientFrame = (
    Join | Leave | Send | Typing | Read | Ping | ClaimNext | Claim | Release | Transfer | Close | Watch | CallFrame
)
STAFF_ONLY = (ClaimNext, Claim, Release, Transfer, Close, Watch)

_msgpack_decoder = msgspec.msgpack.Decoder(ClientFrame)
_json_decoder = msgspec.json.Decoder(ClientFrame)
_msgpack_encoder = msgspec.msgpack.Encoder()
_json_encoder = msgspec.json.Encoder()


class Codec:
    """Encode server frames and decode client frames for one subprotocol."""

    def __init__(self, subprotocol: str) -> None:
        self.subprotocol = subprotocol
        self.binary = subprotocol == MSGPACK

    def decode(self, data: bytes | str) -> ClientFrame:
        """Raises FrameError: wrong frame kind, nested too deeply, malformed, unknown type or fields."""
        if isinstance(data, str) == self.binary:
            kind = "binary (msgpack)" if self.binary else "text (JSON)"
            raise FrameError(f"this connection speaks {self.subprotocol}: send {kind} frames")
        if (problem := nesting_problem(data)) is not None:
            raise FrameError(problem)  # before msgspec, which recurses once per level
        try:
            frame: ClientFrame = _json_decoder.decode(data) if isinstance(data, str) else _msgpack_decoder.decode(data)
            return frame
        except msgspec.ValidationError as exc:
            raise FrameError(f"invalid frame: {exc}") from None
        except msgspec.DecodeError:
            raise FrameError("the frame could not be decoded") from None

    def encode(self, frame: dict[str, Any]) -> bytes | str:
        if self.binary:
            return _msgpack_encoder.encode(frame)
        return _json_encoder.encode(frame).decode()


def choose_subprotocol(offered: list[str]) -> str | None:
    """The first supported subprotocol the client offered; msgpack when none offered.

    Returns None when the client offered only subprotocols we do not speak.
    """
    if not offered:
        return MSGPACK
    return next((p for p in offered if p in SUBPROTOCOLS), None)


def peek_ref(data: bytes | str) -> str:
    """Best effort: the ``ref`` of an undecodable frame, to echo in the error."""
    if nesting_problem(data) is not None:
        return ""
    try:
        raw = msgspec.json.decode(data) if isinstance(data, str) else msgspec.msgpack.decode(data)
    except (msgspec.DecodeError, ValueError, TypeError):
        return ""
    ref = raw.get("ref") if isinstance(raw, dict) else None
    return ref if isinstance(ref, str) and len(ref) <= 64 else ""

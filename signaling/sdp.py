"""What SDP and ICE candidates the server relays: pure checks, typed errors.

The server never uses a session description; it only decides whether one is
fit to pass to the other party. It must be a WebRTC description (RFC 8866
lines, ICE credentials, a DTLS fingerprint: no unencrypted media), small,
and parseable by aiortc's parser; an audio call's SDP carries no active video.
Candidates follow RFC 8839's ``candidate-attribute`` grammar. Anything else is
``BadSdp`` or ``BadCandidate``, which leave the call and the chat untouched.
They are this module's own errors; the server maps them to its ``bad_sdp`` and
``bad_candidate`` refusals (``direkt.server.errors.as_direkt_errors``).
"""

from __future__ import annotations

import ipaddress
import re

MAX_SDP_CHARS = 32_000
MAX_SDP_LINES = 600
MAX_MEDIA_SECTIONS = 8
MAX_CANDIDATE_CHARS = 1024
MEDIA_KINDS = frozenset({"audio", "video", "application"})

_LINE = re.compile(r"[a-z]=[\x20-\x7e]*")
_MEDIA = re.compile(r"m=(\w+) (\d{1,5})(?:/\d+)? [A-Z/]+(?: [\w/.-]+)*", re.ASCII)
_CANDIDATE = re.compile(
    r"candidate:(?P<foundation>[A-Za-z0-9+/]{1,32}) (?P<component>\d{1,3}) (?P<transport>udp|tcp)"
    r" (?P<priority>\d{1,10}) (?P<address>[0-9A-Fa-f:.]{2,45}|[0-9A-Za-z-]{1,63}\.local) (?P<port>\d{1,5})"
    r" typ (?P<type>host|srflx|prflx|relay)(?P<rest>(?: [\x21-\x7e]{1,64} [\x21-\x7e]{1,64})*)",
    re.IGNORECASE | re.ASCII,  # RFC 8839's grammar is ASCII: no Unicode digits or case folding
)


class SignalRefused(Exception):
    """A session description or an ICE candidate the server will not relay; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadSdp(SignalRefused):
    """Not a WebRTC session description fit for the call."""


class BadCandidate(SignalRefused):
    """Not an RFC 8839 ICE candidate (or its mid or m-line index is out of range)."""


def check_sdp(sdp: str, *, media: str) -> None:
    """Raises BadSdp unless ``sdp`` is a WebRTC description fit for a ``media`` call."""
    if not sdp or len(sdp) > MAX_SDP_CHARS:
        raise BadSdp(f"an SDP has 1–{MAX_SDP_CHARS} characters")
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if not lines:
        raise BadSdp("an SDP has at least a v=0 line")
    if len(lines) > MAX_SDP_LINES:
        raise BadSdp(f"an SDP has at most {MAX_SDP_LINES} lines")
    if lines[0] != "v=0":
        raise BadSdp("an SDP starts with v=0")
    if bad := next((n for n, line in enumerate(lines, 1) if not _LINE.fullmatch(line)), None):
        raise BadSdp(f"line {bad} is not of the form x=value in printable ASCII")
    session, sections = _split(lines)
    for kind in ("o=", "s=", "t="):
        if not any(line.startswith(kind) for line in session):
            raise BadSdp(f"the session has no {kind} line")
    if not 1 <= len(sections) <= MAX_MEDIA_SECTIONS:
        raise BadSdp(f"an SDP has 1–{MAX_MEDIA_SECTIONS} media sections")
    for section in sections:
        _check_section(section, session, media)
    _parse(sdp)


def _split(lines: list[str]) -> tuple[list[str], list[list[str]]]:
    first = next((i for i, line in enumerate(lines) if line.startswith("m=")), len(lines))
    sections: list[list[str]] = []
    for line in lines[first:]:
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    return lines[:first], sections


def _check_section(section: list[str], session: list[str], media: str) -> None:
    match = _MEDIA.fullmatch(section[0])
    if match is None or match[1] not in MEDIA_KINDS:
        raise BadSdp("a media line is m=audio|video|application <port> <proto> <formats>")
    kind, port = match[1], int(match[2])
    if port > 65535:
        raise BadSdp("a media port is at most 65535")
    if kind == "video" and media == "audio" and (port != 0 or "a=bundle-only" in section):
        # a bundle-only section has port 0 and still carries media over the bundle
        raise BadSdp("this is an audio call: the SDP may not send or receive video")
    if port == 0 and "a=bundle-only" not in section:
        return  # a rejected or stopped section needs nothing more
    attributes = session + section
    for needed in ("a=ice-ufrag:", "a=ice-pwd:", "a=fingerprint:"):
        if not any(line.startswith(needed) for line in attributes):
            raise BadSdp(f"a media section needs {needed[2:-1]} (WebRTC media is always encrypted)")


def _parse(sdp: str) -> None:
    # Imported here: aiortc takes a quarter of a second to import, and the server's error
    # tree imports this module for its errors (direkt.server.errors), CLI commands included.
    from aiortc.sdp import SessionDescription

    try:
        SessionDescription.parse(sdp)
    except Exception:  # noqa: BLE001 - a third-party parser fed hostile text: any failure is malformed SDP
        raise BadSdp("the SDP could not be parsed") from None


def check_candidate(candidate: str, mid: str, mline: int) -> None:
    """Raises BadCandidate unless ``candidate`` is an RFC 8839 candidate (or "" for end-of-candidates)."""
    if not 0 <= mline < 64:
        raise BadCandidate("mline is 0–63")
    if mid and not re.fullmatch(r"[\x21-\x7e]{1,32}", mid):
        raise BadCandidate("mid is up to 32 printable characters")
    if candidate == "":
        return
    if len(candidate) > MAX_CANDIDATE_CHARS:
        raise BadCandidate(f"a candidate has at most {MAX_CANDIDATE_CHARS} characters")
    match = _CANDIDATE.fullmatch(candidate)
    if match is None:
        raise BadCandidate("not an RFC 8839 candidate: candidate:<foundation> <component> <transport> … typ <type>")
    if not 1 <= int(match["component"]) <= 256 or int(match["priority"]) >= 2**32 or int(match["port"]) > 65535:
        raise BadCandidate("component, priority or port out of range")
    address = match["address"]
    if not address.lower().endswith(".local"):
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise BadCandidate("the address is not an IP address or an mDNS .local name") from None

"""What SDP and ICE candidates the server relays between call parties (protocol §7).

Real descriptions come from aiortc peers built here (no packets are exchanged:
``setLocalDescription`` only gathers) and from a Chromium-format offer written
out below; every rejection asserts its wire code, and hypothesis feeds both
checks hostile text and mutated descriptions.
"""

from __future__ import annotations

import asyncio

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack
from aiortc.sdp import SessionDescription
from hypothesis import given, settings
from hypothesis import strategies as st

from direkt.server.errors import BadRequest, to_direkt_error
from direkt.signaling.sdp import MAX_SDP_CHARS, BadCandidate, BadSdp, check_candidate, check_sdp

FINGERPRINT = (
    "a=fingerprint:sha-256 4A:9D:2C:71:E0:5B:8F:13:A6:77:0C:D4:29:BE:61:F8:"
    "05:3A:C2:9E:74:1B:D0:68:E3:5F:92:0A:B7:4C:16:DD"
)
MSID = "6f1c1c3e-5a9f-4d2b-8a50-0b7f3e9d2c41"
# A Chromium offer for an audio+video call, in Chromium's line order: one
# BUNDLE transport, trickle ICE (no candidates yet), opus/red/G722/PCM audio and
# VP8/VP9 video with RTX.
CHROMIUM_OFFER_LINES = [
    "v=0",
    "o=- 6253720815573546370 2 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0 1",
    "a=extmap-allow-mixed",
    f"a=msid-semantic: WMS {MSID}",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:Qx7d",
    "a=ice-pwd:9bZt3lK0mR5vW2pY8nC4hJ6s",
    "a=ice-options:trickle",
    FINGERPRINT,
    "a=setup:actpass",
    "a=mid:0",
    "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=sendrecv",
    f"a=msid:{MSID} 0d2e4b6a-7c81-4f39-a2d5-93e1b8c04f17",
    "a=rtcp-mux",
    "a=rtcp-rsize",
    "a=rtpmap:111 opus/48000/2",
    "a=rtcp-fb:111 transport-cc",
    "a=fmtp:111 minptime=10;useinbandfec=1",
    "a=rtpmap:63 red/48000/2",
    "a=fmtp:63 111/111",
    "a=rtpmap:9 G722/8000",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:8 PCMA/8000",
    "a=rtpmap:13 CN/8000",
    "a=rtpmap:110 telephone-event/48000",
    "a=rtpmap:126 telephone-event/8000",
    "a=ssrc:3735928559 cname:Yq2mB7x9Lk3pQ8rT",
    f"a=ssrc:3735928559 msid:{MSID} 0d2e4b6a-7c81-4f39-a2d5-93e1b8c04f17",
    "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99",
    "c=IN IP4 0.0.0.0",
    "a=rtcp:9 IN IP4 0.0.0.0",
    "a=ice-ufrag:Qx7d",
    "a=ice-pwd:9bZt3lK0mR5vW2pY8nC4hJ6s",
    "a=ice-options:trickle",
    FINGERPRINT,
    "a=setup:actpass",
    "a=mid:1",
    "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset",
    "a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    "a=extmap:13 urn:3gpp:video-orientation",
    "a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
    "a=sendrecv",
    f"a=msid:{MSID} 8b3f0e2c-1d47-4a96-b5c8-2e7f9a0d6c53",
    "a=rtcp-mux",
    "a=rtcp-rsize",
    "a=rtpmap:96 VP8/90000",
    "a=rtcp-fb:96 goog-remb",
    "a=rtcp-fb:96 transport-cc",
    "a=rtcp-fb:96 ccm fir",
    "a=rtcp-fb:96 nack",
    "a=rtcp-fb:96 nack pli",
    "a=rtpmap:97 rtx/90000",
    "a=fmtp:97 apt=96",
    "a=rtpmap:98 VP9/90000",
    "a=rtcp-fb:98 goog-remb",
    "a=rtcp-fb:98 nack",
    "a=fmtp:98 profile-id=0",
    "a=rtpmap:99 rtx/90000",
    "a=fmtp:99 apt=98",
    "a=ssrc-group:FID 2882400001 2882400002",
    "a=ssrc:2882400001 cname:Yq2mB7x9Lk3pQ8rT",
    "a=ssrc:2882400002 cname:Yq2mB7x9Lk3pQ8rT",
]
CHROMIUM_OFFER = "\r\n".join(CHROMIUM_OFFER_LINES) + "\r\n"
VIDEO_LINE = "m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99"


def sdp_of(lines: list[str]) -> str:
    return "\r\n".join(lines) + "\r\n"


def without(prefix: str, lines: list[str] = CHROMIUM_OFFER_LINES) -> str:
    kept = [line for line in lines if not line.startswith(prefix)]
    assert len(kept) < len(lines), f"nothing starts with {prefix!r}"
    return sdp_of(kept)


def replaced(old: str, new: str, lines: list[str] = CHROMIUM_OFFER_LINES) -> str:
    assert old in lines, f"no line {old!r}"
    return sdp_of([new if line == old else line for line in lines])


def audio_sections(count: int) -> str:
    """An offer with ``count`` bundled audio sections, ICE credentials and fingerprint at session level."""
    mids = " ".join(str(n) for n in range(count))
    lines = ["v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0", f"a=group:BUNDLE {mids}"]
    lines += ["a=ice-ufrag:Qx7d", "a=ice-pwd:9bZt3lK0mR5vW2pY8nC4hJ6s", FINGERPRINT]
    for mid in range(count):
        lines += [
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "c=IN IP4 0.0.0.0",
            "a=setup:actpass",
            f"a=mid:{mid}",
            "a=sendrecv",
            "a=rtcp-mux",
            "a=rtpmap:111 opus/48000/2",
        ]
    return sdp_of(lines)


def padded_to(chars: int) -> str:
    """The Chromium offer grown to exactly ``chars`` characters by one long unknown attribute."""
    head = "a=x-padding:"
    room = chars - len(CHROMIUM_OFFER) - len(head) - 2
    assert room > 0
    padded = CHROMIUM_OFFER + head + "p" * room + "\r\n"
    assert len(padded) == chars
    return padded


def rejected_sdp(sdp: str, media: str = "video") -> BadSdp:
    with pytest.raises(BadSdp) as raised:
        check_sdp(sdp, media=media)
    assert to_direkt_error(raised.value).code == "bad_sdp"
    return raised.value


# -- real descriptions ---------------------------------------------------------------------


async def aiortc_offer_and_answer(kinds: tuple[str, ...], *, answer_kinds: tuple[str, ...] = ()) -> tuple[str, str]:
    """An aiortc offer with a track per kind, and the answer of a peer sending ``answer_kinds``."""
    tracks = {"audio": AudioStreamTrack, "video": VideoStreamTrack}
    offerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    answerer = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        for kind in kinds:
            offerer.addTrack(tracks[kind]())
        await offerer.setLocalDescription(await offerer.createOffer())
        await answerer.setRemoteDescription(offerer.localDescription)
        for kind in answer_kinds:
            answerer.addTrack(tracks[kind]())
        await answerer.setLocalDescription(await answerer.createAnswer())
        return offerer.localDescription.sdp, answerer.localDescription.sdp
    finally:
        await offerer.close()
        await answerer.close()


def aiortc_descriptions(kinds: tuple[str, ...], answer_kinds: tuple[str, ...]) -> tuple[str, str]:
    return asyncio.run(asyncio.wait_for(aiortc_offer_and_answer(kinds, answer_kinds=answer_kinds), 20))


@pytest.fixture(scope="module")
def video_pair() -> tuple[str, str]:
    return aiortc_descriptions(("audio", "video"), ("audio", "video"))


@pytest.fixture(scope="module")
def audio_pair() -> tuple[str, str]:
    return aiortc_descriptions(("audio",), ("audio",))


def test_aiortc_video_offer_and_answer_pass(video_pair: tuple[str, str]) -> None:
    offer, answer = video_pair
    for sdp in (offer, answer):
        assert "m=video " in sdp and "a=fingerprint:sha-256 " in sdp
        check_sdp(sdp, media="video")


def test_aiortc_video_descriptions_are_refused_in_an_audio_call(video_pair: tuple[str, str]) -> None:
    offer, answer = video_pair
    rejected_sdp(offer, media="audio")
    rejected_sdp(answer, media="audio")


def test_aiortc_audio_offer_and_answer_pass_in_both_kinds_of_call(audio_pair: tuple[str, str]) -> None:
    offer, answer = audio_pair
    for sdp in (offer, answer):
        assert "m=audio " in sdp and "m=video" not in sdp
        check_sdp(sdp, media="audio")
        check_sdp(sdp, media="video")


def test_chromium_offer_passes_in_a_video_call() -> None:
    SessionDescription.parse(CHROMIUM_OFFER)  # the literal itself is sound
    check_sdp(CHROMIUM_OFFER, media="video")


def test_line_feed_only_line_endings_pass() -> None:
    check_sdp(CHROMIUM_OFFER.replace("\r\n", "\n"), media="video")


def test_size_limit_is_inclusive() -> None:
    check_sdp(padded_to(MAX_SDP_CHARS), media="video")
    rejected_sdp(padded_to(MAX_SDP_CHARS + 1))


def test_eight_media_sections_pass_and_nine_do_not() -> None:
    check_sdp(audio_sections(8), media="audio")
    rejected_sdp(audio_sections(9), media="audio")


def test_video_section_with_a_port_is_refused_only_in_an_audio_call() -> None:
    check_sdp(CHROMIUM_OFFER, media="video")
    error = rejected_sdp(CHROMIUM_OFFER, media="audio")
    assert "audio call" in error.message


def test_a_rejected_video_section_passes_in_an_audio_call() -> None:
    # What a browser answers when it refuses video: port 0, out of the bundle, inactive.
    swap = {"a=group:BUNDLE 0 1": "a=group:BUNDLE 0", VIDEO_LINE: "m=video 0 UDP/TLS/RTP/SAVPF 96 97 98 99"}
    lines = [swap.get(line, line) for line in CHROMIUM_OFFER_LINES]
    video = lines.index("m=video 0 UDP/TLS/RTP/SAVPF 96 97 98 99")
    lines[video:] = ["a=inactive" if line == "a=sendrecv" else line for line in lines[video:]]
    check_sdp(sdp_of(lines), media="audio")
    check_sdp(sdp_of(lines), media="video")


def test_a_rejected_section_needs_no_transport_of_its_own() -> None:
    # Firefox's answer refusing video: a bare port-0 section without ICE credentials or a fingerprint.
    video = CHROMIUM_OFFER_LINES.index(VIDEO_LINE)
    bare = ["m=video 0 UDP/TLS/RTP/SAVPF 96", "c=IN IP4 0.0.0.0", "a=inactive", "a=mid:1", "a=rtpmap:96 VP8/90000"]
    lines = ["a=group:BUNDLE 0" if line == "a=group:BUNDLE 0 1" else line for line in CHROMIUM_OFFER_LINES[:video]]
    check_sdp(sdp_of(lines + bare), media="audio")
    bare_audio = ["m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:1", "a=rtpmap:111 opus/48000/2"]
    error = rejected_sdp(sdp_of(lines + bare_audio), media="audio")  # a live section does need them
    assert "ice-ufrag" in error.message


def test_a_bundle_only_video_section_is_refused_in_an_audio_call() -> None:
    lines = ["m=video 0 UDP/TLS/RTP/SAVPF 96 97 98 99" if line == VIDEO_LINE else line for line in CHROMIUM_OFFER_LINES]
    lines.insert(lines.index("a=mid:1") + 1, "a=bundle-only")
    check_sdp(sdp_of(lines), media="video")  # well-formed: only the audio-only rule may refuse it
    rejected_sdp(sdp_of(lines), media="audio")


MALFORMED_SDP = [
    pytest.param("", "characters", id="empty"),
    pytest.param(padded_to(MAX_SDP_CHARS + 1), "characters", id="over-32000-chars"),
    pytest.param(CHROMIUM_OFFER.replace("v=0", "v=1", 1), "v=0", id="version-1"),
    pytest.param(sdp_of(CHROMIUM_OFFER_LINES[1:]), "v=0", id="no-version-line"),
    pytest.param(" " + CHROMIUM_OFFER, "v=0", id="leading-space"),
    pytest.param(replaced("s=-", "s=Samtal med sjuksköterska"), "printable ASCII", id="non-ascii"),
    pytest.param(replaced("s=-", "s=\t-"), "printable ASCII", id="tab"),
    pytest.param(replaced("s=-", "s=-\x07"), "printable ASCII", id="bell"),
    pytest.param(replaced("s=-", "s=-\x00"), "printable ASCII", id="nul"),
    pytest.param(replaced("s=-", "s=-\x7f"), "printable ASCII", id="delete"),
    pytest.param(CHROMIUM_OFFER.replace("a=mid:0\r\n", "a=mid:0\r\r\n"), "printable ASCII", id="stray-cr"),
    pytest.param(replaced("a=rtcp-rsize", "rtcp-rsize"), "printable ASCII", id="line-without-type"),
    pytest.param(replaced("a=rtcp-rsize", "A=rtcp-rsize"), "printable ASCII", id="upper-case-type"),
    pytest.param(replaced("a=rtcp-rsize", "a:rtcp-rsize"), "printable ASCII", id="colon-for-equals"),
    pytest.param(replaced("a=rtcp-rsize", "ab=rtcp-rsize"), "printable ASCII", id="two-letter-type"),
    pytest.param(without("o="), "no o= line", id="no-origin"),
    pytest.param(without("s="), "no s= line", id="no-session-name"),
    pytest.param(without("t="), "no t= line", id="no-timing"),
    pytest.param(sdp_of(CHROMIUM_OFFER_LINES[:7]), "media sections", id="no-media-section"),
    pytest.param(audio_sections(9), "media sections", id="nine-media-sections"),
    pytest.param(replaced(VIDEO_LINE, "m=text 9 UDP/TLS/RTP/SAVPF 96 97 98 99"), "media line", id="media-text"),
    pytest.param(replaced(VIDEO_LINE, "m=message 9 UDP/TLS/RTP/SAVPF 96"), "media line", id="media-message"),
    pytest.param(replaced(VIDEO_LINE, "m=video nine UDP/TLS/RTP/SAVPF 96"), "media line", id="port-not-a-number"),
    pytest.param(replaced(VIDEO_LINE, "m=video 9"), "media line", id="media-line-without-proto"),
    pytest.param(without("a=fingerprint:"), "fingerprint", id="unencrypted-no-fingerprint"),
    pytest.param(without("a=ice-ufrag:"), "ice-ufrag", id="no-ice-ufrag"),
    pytest.param(without("a=ice-pwd:"), "ice-pwd", id="no-ice-pwd"),
    pytest.param(replaced(VIDEO_LINE, "m=video 70000 UDP/TLS/RTP/SAVPF 96 97 98 99"), "65535", id="port-70000"),
    pytest.param(replaced(VIDEO_LINE, "m=video 65536 UDP/TLS/RTP/SAVPF 96 97 98 99"), "65535", id="port-65536"),
    pytest.param(replaced("a=rtpmap:111 opus/48000/2", "a=rtpmap:opus"), "parsed", id="unparseable-rtpmap"),
    pytest.param(replaced("a=setup:actpass", "a=setup:sometimes"), "parsed", id="unparseable-setup"),
]


@pytest.mark.parametrize(("sdp", "rule"), MALFORMED_SDP)
def test_malformed_sdp_is_bad_sdp(sdp: str, rule: str) -> None:
    error = rejected_sdp(sdp, media="video")
    assert isinstance(to_direkt_error(error), BadRequest)
    assert rule in error.message  # refused by the rule the case is about, not by accident
    assert "Samtal" not in error.message and "\r" not in error.message  # the SDP is never echoed back


@pytest.mark.parametrize("sdp", ["\n", "\r\n", "\r\n\r\n\n"])
def test_only_line_breaks_is_bad_sdp(sdp: str) -> None:
    rejected_sdp(sdp)


# -- candidates ----------------------------------------------------------------------------

CHROMIUM_EXTENSIONS = "generation 0 ufrag x network-id 1 network-cost 10"
GOOD_CANDIDATES = [
    pytest.param(
        f"candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host {CHROMIUM_EXTENSIONS}", id="host"
    ),
    pytest.param(
        "candidate:842163049 1 udp 1686052607 203.0.113.17 46243 typ srflx raddr 192.168.0.196 rport 46243 "
        + CHROMIUM_EXTENSIONS,
        id="srflx",
    ),
    pytest.param(
        "candidate:3170536617 1 udp 41885695 198.51.100.3 62000 typ relay raddr 203.0.113.17 rport 46243 "
        + CHROMIUM_EXTENSIONS,
        id="relay",
    ),
    pytest.param(
        f"candidate:1191357045 1 tcp 1518280447 192.168.0.196 9 typ host tcptype active {CHROMIUM_EXTENSIONS}",
        id="tcp-active",
    ),
    pytest.param(
        "candidate:2999745851 1 udp 2122262783 2001:db8::5c2b:1 53421 typ host "
        "generation 0 ufrag x network-id 2 network-cost 10",
        id="ipv6",
    ),
    pytest.param(
        "candidate:2739470924 1 udp 2113937151 3f3a1c2e-8f0b-4b51-9d8e-7e5a2b1c0d4f.local 54400 typ host "
        "generation 0 ufrag x network-cost 999",
        id="mdns",
    ),
    pytest.param("candidate:0 1 UDP 2122252543 192.168.1.2 49203 typ host", id="firefox-host"),
    pytest.param("candidate:5 1 udp 1853824767 192.0.2.44 61301 typ prflx raddr 0.0.0.0 rport 0", id="prflx"),
    pytest.param("candidate:f957a2332b1715da3b0ef8ba684454eb 1 udp 2130706431 192.0.2.2 53666 typ host", id="aiortc"),
    pytest.param("candidate:1 2 udp 2122260222 192.168.0.196 46244 typ host", id="rtcp-component"),
    pytest.param("", id="end-of-candidates"),
]


@pytest.mark.parametrize("candidate", GOOD_CANDIDATES)
@pytest.mark.parametrize(("mid", "mline"), [("0", 0), ("1", 1), ("audio", 63), ("", 0)])
def test_real_candidates_pass(candidate: str, mid: str, mline: int) -> None:
    check_candidate(candidate, mid, mline)


HOST = f"candidate:1467250027 1 udp 2122260223 192.168.0.196 46243 typ host {CHROMIUM_EXTENSIONS}"
BAD_CANDIDATES = [
    pytest.param("hello", "0", 0, id="garbage"),
    pytest.param("a=" + HOST, "0", 0, id="sdp-line-prefix"),
    pytest.param(HOST.replace(" typ host", " host"), "0", 0, id="missing-typ"),
    pytest.param(HOST.replace(" typ host", " typ local"), "0", 0, id="unknown-type"),
    pytest.param(HOST.replace(" udp ", " sctp "), "0", 0, id="transport-sctp"),
    pytest.param(HOST.replace(" udp ", " tls "), "0", 0, id="transport-tls"),
    pytest.param(HOST.replace(" 46243 ", " 70000 "), "0", 0, id="port-70000"),
    pytest.param(HOST.replace(" 46243 ", " 65536 "), "0", 0, id="port-65536"),
    pytest.param(HOST.replace(" 1 udp ", " 0 udp "), "0", 0, id="component-0"),
    pytest.param(HOST.replace(" 1 udp ", " 257 udp "), "0", 0, id="component-257"),
    pytest.param(HOST.replace(" 2122260223 ", " 4294967296 "), "0", 0, id="priority-2-32"),
    pytest.param(HOST.replace("192.168.0.196", "turn.example.org"), "0", 0, id="host-name"),
    pytest.param(HOST.replace("192.168.0.196", "999.168.0.196"), "0", 0, id="octet-999"),
    pytest.param(HOST.replace("192.168.0.196", "2001:db8:::1"), "0", 0, id="bad-ipv6"),
    pytest.param(HOST.replace("192.168.0.196", "fe80::1%eth0"), "0", 0, id="ipv6-zone"),
    pytest.param(HOST.replace("candidate:1467250027", "candidate:"), "0", 0, id="no-foundation"),
    pytest.param(HOST.replace("candidate:1467250027", "candidate:14-67"), "0", 0, id="foundation-dash"),
    pytest.param(HOST + " generation", "0", 0, id="dangling-attribute"),
    pytest.param(HOST + "\r\na=candidate:1 1 udp 1 203.0.113.66 9 typ host", "0", 0, id="crlf-injection"),
    pytest.param(HOST + "\na=end-of-candidates", "0", 0, id="lf-injection"),
    pytest.param(HOST + "\r\n", "0", 0, id="trailing-crlf"),
    pytest.param(HOST.replace(" typ ", "  typ "), "0", 0, id="double-space"),
    pytest.param(HOST.replace(" typ ", "\ttyp "), "0", 0, id="tab"),
    pytest.param(HOST + " k v" * 250, "0", 0, id="over-1024-chars"),
    pytest.param(HOST, "0", 64, id="mline-64"),
    pytest.param(HOST, "0", -1, id="mline-minus-1"),
    pytest.param("", "0", 64, id="end-of-candidates-mline-64"),
    pytest.param(HOST, "a b", 0, id="mid-space"),
    pytest.param(HOST, "m" * 33, 0, id="mid-33-chars"),
    pytest.param(HOST, "0\r\n", 0, id="mid-crlf"),
    pytest.param(HOST, "mid-é", 0, id="mid-non-ascii"),
]


@pytest.mark.parametrize(("candidate", "mid", "mline"), BAD_CANDIDATES)
def test_malformed_candidates_are_bad_candidate(candidate: str, mid: str, mline: int) -> None:
    with pytest.raises(BadCandidate) as raised:
        check_candidate(candidate, mid, mline)
    assert to_direkt_error(raised.value).code == "bad_candidate"


def test_candidate_length_limit_is_inclusive() -> None:
    longest = HOST
    while len(longest) + 13 <= 1024 - 10:
        longest += " k vvvvvvvvvv"
    longest += " k " + "v" * (1024 - len(longest) - 3)
    assert len(longest) == 1024
    check_candidate(longest, "0", 0)
    with pytest.raises(BadCandidate) as raised:
        check_candidate(longest + "v", "0", 0)
    assert "1024" in raised.value.message


@pytest.mark.parametrize(
    "candidate",
    [
        pytest.param("candidate:1 1 udp 2122260223 192.168.0.196 ٤٦٢٤٣ typ host", id="arabic-indic-port"),
        pytest.param("candidate:1 ١ udp 2122260223 192.168.0.196 46243 typ host", id="arabic-indic-component"),
        pytest.param("candidate:ſ 1 udp 2122260223 192.168.0.196 46243 typ hoſt", id="long-s"),
        pytest.param("candidate:\u212a 1 udp 2122260223 192.168.0.196 46243 typ host", id="kelvin-sign"),
    ],
)
def test_non_ascii_candidates_are_bad_candidate(candidate: str) -> None:
    with pytest.raises(BadCandidate):
        check_candidate(candidate, "0", 0)


# -- fuzzing -------------------------------------------------------------------------------

FUZZ = settings(max_examples=200, deadline=None)


def media_port(m_line: str) -> int:
    return int(m_line.split()[1].split("/", maxsplit=1)[0])


def check_or_bad_sdp(sdp: str, media: str) -> bool:
    """True when ``sdp`` passed; a passing description must really be one."""
    try:
        check_sdp(sdp, media=media)
    except BadSdp as error:
        assert to_direkt_error(error).code == "bad_sdp"
        return False
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    assert lines[0] == "v=0"
    assert 1 <= sum(line.startswith("m=") for line in lines) <= 8
    if any(media_port(line) for line in lines if line.startswith("m=")):
        assert any(line.startswith("a=fingerprint:") for line in lines)
    assert all(line.isascii() and line.isprintable() for line in lines)
    SessionDescription.parse(sdp)
    return True


@FUZZ
@given(sdp=st.text(max_size=300), media=st.sampled_from(["audio", "video"]))
def test_fuzz_arbitrary_text_is_passed_or_bad_sdp(sdp: str, media: str) -> None:
    check_or_bad_sdp(sdp, media)


@FUZZ
@given(
    sdp=st.sampled_from(["v=0\r\n", "v=0\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"]).flatmap(
        lambda head: st.builds(lambda tail: head + tail, st.text(alphabet="amvost=0123456789 :/\r\n-", max_size=200))
    )
)
def test_fuzz_sdp_shaped_text_is_passed_or_bad_sdp(sdp: str) -> None:
    check_or_bad_sdp(sdp, "video")


MUTATIONS = st.lists(
    st.tuples(
        st.sampled_from(["delete", "duplicate", "garble", "swap", "truncate"]),
        st.integers(min_value=0, max_value=10_000),
        st.text(max_size=12),
    ),
    min_size=1,
    max_size=6,
)


def mutate(lines: list[str], mutations: list[tuple[str, int, str]]) -> str:
    lines = list(lines)
    for kind, where, text in mutations:
        if not lines:
            break
        n = where % len(lines)
        if kind == "delete":
            del lines[n]
        elif kind == "duplicate":
            lines.insert(n, lines[n])
        elif kind == "garble":
            cut = where % (len(lines[n]) + 1)
            lines[n] = lines[n][:cut] + text + lines[n][cut + len(text) :]
        elif kind == "swap":
            m = (where // 7) % len(lines)
            lines[n], lines[m] = lines[m], lines[n]
        else:
            lines[n] = lines[n][: where % (len(lines[n]) + 1)]
    return sdp_of(lines)


@FUZZ
@given(mutations=MUTATIONS, media=st.sampled_from(["audio", "video"]))
def test_fuzz_mutated_chromium_offer_is_passed_or_bad_sdp(mutations: list[tuple[str, int, str]], media: str) -> None:
    sdp = mutate(CHROMIUM_OFFER_LINES, mutations)
    if check_or_bad_sdp(sdp, media) and media == "audio":
        assert not any(media_port(line) for line in sdp.split("\r\n") if line.startswith("m=video "))


@FUZZ
@given(
    candidate=st.text(max_size=120)
    | st.builds(lambda cut, text: HOST[:cut] + text + HOST[cut:], st.integers(0, len(HOST)), st.text(max_size=6)),
    mid=st.text(max_size=40),
    mline=st.integers(min_value=-5, max_value=70),
)
def test_fuzz_candidates_are_passed_or_bad_candidate(candidate: str, mid: str, mline: int) -> None:
    try:
        check_candidate(candidate, mid, mline)
    except BadCandidate as error:
        assert to_direkt_error(error).code == "bad_candidate"
        return
    assert 0 <= mline <= 63 and len(mid) <= 32 and len(candidate) <= 1024
    assert not any(c in candidate + mid for c in "\r\n\t\x00")
    assert candidate == "" or (candidate.startswith("candidate:") and " typ " in candidate)

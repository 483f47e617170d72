"""What a case holds, over the HTTP API against a real ``direkt serve`` process and a real Redis:
photos (stored without their metadata, refused when not a photo or too large, read by staff
of the unit and audited) and the transcript, read page by page to its end.

What a citizen or a nurse would notice: a photo without its GPS position, a
photo another citizen cannot reach, a long transcript read whole.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from PIL import ExifTags, Image
from support_hub import (
    ERIK,
    LONG_TRANSCRIPT,
    audit_of,
    error_of,
    refused,
    seed_transcript,
    waiting_case,
)

from direkt.loadtests.client import Client
from direkt.queue.scripts import RedisClient
from direkt.server.care.transcript import pack_body
from direkt.server.redis import keys

pytestmark = pytest.mark.slow


# -- photos ------------------------------------------------------------------------------------

GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (59.0, 19.0, 48.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (18.0, 4.0, 7.0),
}


def photo(kind: str, size: tuple[int, int] = (64, 48)) -> bytes:
    """A small picture with a GPS position and a camera make in its EXIF."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    image.save(out, kind, exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's own premise
    return data


async def upload(client: Client, case: str, data: bytes, content_type: str = "image/jpeg") -> httpx.Response:
    headers = {"X-CSRF-Token": client.csrf, "Content-Type": content_type}
    return await client.http.post(f"/api/cases/{case}/photos", content=data, headers=headers)


@pytest.mark.parametrize(("kind", "media_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
async def test_a_photo_is_stored_without_its_metadata(erik: Client, kind: str, media_type: str) -> None:
    case = await waiting_case(erik)
    response = await upload(erik, case, photo(kind), "application/octet-stream")  # the type is sniffed
    assert response.status_code == 201, response.text
    stored = response.json()
    assert (stored["content_type"], stored["width"], stored["height"]) == (media_type, 64, 48)

    got = await erik.http.get(f"/api/cases/{case}/photos/{stored['photo']}")
    assert got.status_code == 200
    assert got.headers["content-type"] == media_type
    assert got.headers["x-content-type-options"] == "nosniff" and "no-store" in got.headers["cache-control"]
    image = Image.open(io.BytesIO(got.content))
    assert (image.format, image.size) == (kind, (64, 48))
    assert not image.getexif() and "exif" not in image.info
    assert b"SpyCam" not in got.content and b"Exif" not in got.content


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (gif(), "image/gif"),
        ("Hej, det här är ingen bild.".encode(), "image/jpeg"),  # a declared type changes nothing
        (b"\xff\xd8\xff\xe0 truncated", "image/jpeg"),
        (b"", "image/png"),
    ],
    ids=["gif", "text", "broken-jpeg", "empty"],
)
async def test_anything_but_a_photo_is_refused(erik: Client, data: bytes, content_type: str) -> None:
    case = await waiting_case(erik)
    error_of(await upload(erik, case, data, content_type), 415, "photo_rejected")


async def test_a_photo_over_8_mib_is_refused(erik: Client) -> None:
    case = await waiting_case(erik)
    error_of(await upload(erik, case, b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024)), 413, "too_large")


async def test_a_closed_case_takes_no_more_photos(erik: Client) -> None:
    case = await waiting_case(erik)
    await erik.call("POST", f"/api/cases/{case}/abandon")
    error_of(await upload(erik, case, photo("JPEG")), 409, "conflict")


async def test_another_citizen_cannot_upload_to_or_read_my_photos(erik: Client, stranger: Client) -> None:
    case = await waiting_case(erik)
    stored = (await upload(erik, case, photo("JPEG"))).json()
    error_of(await upload(stranger, case, photo("JPEG")), 404, "not_found")
    error_of(await stranger.http.get(f"/api/cases/{case}/photos/{stored['photo']}"), 404, "not_found")
    error_of(await erik.http.get(f"/api/cases/{case}/photos/pdoesnotexist"), 404, "not_found")


async def test_staff_of_the_unit_read_the_photo_and_it_is_audited(
    erik: Client, nurse: Client, outsider: Client, redis: RedisClient
) -> None:
    case = await waiting_case(erik)
    stored = (await upload(erik, case, photo("JPEG"))).json()
    got = await nurse.http.get(f"/api/cases/{case}/photos/{stored['photo']}")
    assert got.status_code == 200 and Image.open(io.BytesIO(got.content)).size == (64, 48)
    error_of(await outsider.http.get(f"/api/cases/{case}/photos/{stored['photo']}"), 403, "forbidden")
    reads = [(r.action, r.actor, r.outcome) for r in await audit_of(redis, ERIK)]
    assert reads == [("photo.read", "nurse-1", "ok"), ("photo.read", "nurse-other", "denied")]


# -- the transcript, page by page --------------------------------------------------------------


async def read_pages(client: Client, path: str, limit: int) -> list[dict[str, Any]]:
    """Every message of a transcript, read as a client should: on from ``next`` until it is null."""
    page = await client.call("GET", f"{path}?limit={limit}")
    messages = page["messages"]
    while page["next"] is not None:
        assert len(page["messages"]) <= limit and page["next"] == page["messages"][-1]["id"]
        page = await client.call(
            "GET", f"{path}?{urlencode({'after': page['next'], 'epoch': page['epoch'], 'limit': limit})}"
        )
        messages += page["messages"]
    assert len(page["messages"]) <= limit
    return messages  # type: ignore[no-any-return]


async def test_a_long_transcript_is_read_to_its_end_in_pages(erik: Client, nurse: Client, redis: RedisClient) -> None:
    case = await waiting_case(erik)
    ids = await seed_transcript(redis, case, LONG_TRANSCRIPT)
    note = pack_body({"k": "note", "code": "journal", "text": "Centor 2", "vis": "staff"})
    ids.append((await redis.xadd(keys.chat(case), {"m": note})).decode())  # the last entry: staff only

    mine = await read_pages(erik, f"/api/cases/{case}/transcript", 1000)
    assert [m["id"] for m in mine] == ids[:-1]  # all of it, once, in order; not the note
    full = await read_pages(nurse, f"/api/staff/cases/{case}/transcript", 1000)
    assert [m["id"] for m in full] == ids and full[-1]["staff_only"] is True
    first = await erik.call("GET", f"/api/cases/{case}/transcript")  # an old client: the first page, flagged
    assert len(first["messages"]) == 500 and first["next"] == ids[499]


async def test_a_bad_transcript_page_request_is_refused_with_a_typed_error(erik: Client, redis: RedisClient) -> None:
    case = await waiting_case(erik)
    [only] = await seed_transcript(redis, case, 1)
    path = f"/api/cases/{case}/transcript"
    page = await erik.call("GET", path)
    assert (page["next"], [m["id"] for m in page["messages"]]) == (None, [only])
    for query in ("limit=0", "limit=1001", "limit=many", "epoch=" + "e" * 65):
        await refused(erik.call("GET", f"{path}?{query}"), 400, "bad_request")
    for after in ("1-0", "99999999999999-0", "not-an-id"):
        await refused(erik.call("GET", f"{path}?after={after}"), 400, "bad_position")
    await refused(erik.call("GET", f"{path}?after={only}&epoch=0badc0ffee00"), 409, "history_lost")
    assert (await erik.call("GET", f"{path}?after={only}&epoch={page['epoch']}")) == page | {"messages": []}

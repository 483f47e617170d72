"""Photo upload cleaning: only pixels survive, bombs and other types are refused.

Every photo here is drawn with Pillow in memory and carries metadata a phone
would add (GPS position, camera make, XMP, comments, colour profile, PNG text);
the tests re-open the output and also search its raw bytes for the markers.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageCms, ImageFile
from PIL.PngImagePlugin import PngInfo

from direkt.server.care.photos import Photo, sanitise_photo, sniff_type
from direkt.server.errors import PhotoRejected, TooLarge

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SECRETS = [b"SecretCam", b"Stockholm-GPS", b"xmpmeta", b"secret comment", b"Sven Svensson", b"59N 18E"]
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description>Stockholm-GPS</rdf:Description></x:xmpmeta>'
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
RED, BLUE = (255, 0, 0), (0, 0, 255)


def phone_exif(orientation: int = 1) -> bytes:
    """EXIF as a phone writes it: orientation, camera make, a GPS position."""
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "SecretCam"
    exif[ExifTags.Base.ImageDescription] = "Stockholm-GPS"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (59.0, 19.0, 45.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (18.0, 4.0, 7.0)
    return exif.tobytes()


def two_colour(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: shows which way a photo was turned."""
    image = Image.new(mode, size, BLUE)
    image.paste(RED, (0, 0, size[0] // 2, size[1]))
    return image


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def jpeg(size: tuple[int, int] = (40, 20), orientation: int = 1, **params: Any) -> bytes:
    meta = {"exif": phone_exif(orientation), "xmp": XMP, "comment": b"secret comment", "icc_profile": SRGB_ICC}
    return encode(two_colour(size), "JPEG", **{**meta, **params})


def png(image: Image.Image | None = None, orientation: int = 1) -> bytes:
    info = PngInfo()
    info.add_text("Author", "Sven Svensson")
    info.add_text("Location", "59N 18E", zip=True)
    info.add_itxt("Comment", "secret comment")
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    image = two_colour() if image is None else image
    return encode(image, "PNG", pnginfo=info, exif=phone_exif(orientation), icc_profile=SRGB_ICC)


def webp(image: Image.Image | None = None, orientation: int = 1) -> bytes:
    image = two_colour() if image is None else image
    return encode(image, "WEBP", exif=phone_exif(orientation), xmp=XMP, icc_profile=SRGB_ICC, lossless=True)


def reopen(photo: Photo) -> Image.Image:
    image = Image.open(io.BytesIO(photo.data))
    image.load()
    return image


def png_header(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR announcing a huge picture, with almost no pixel data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return PNG_MAGIC + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


# --- metadata never survives ---------------------------------------------------------

MAKERS: dict[str, Callable[[], bytes]] = {"jpeg": jpeg, "png": png, "webp": webp}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_input_really_carries_the_metadata(make: Callable[[], bytes]) -> None:
    """Guards the tests below: the markers they look for are in the input."""
    data = make()
    assert b"SecretCam" in data
    assert b"Stockholm-GPS" in data
    with Image.open(io.BytesIO(data)) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "icc_profile" in image.info


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_no_metadata_survives(make: Callable[[], bytes]) -> None:
    photo = sanitise_photo(make())
    image = reopen(photo)
    assert not image.getexif()
    assert not {"exif", "xmp", "XML:com.adobe.xmp", "comment", "icc_profile", "Author", "Location", "Comment"} & set(
        image.info
    )
    for marker in [*SECRETS, b"Exif", b"ICC_PROFILE", b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP", b"http://ns.adobe"]:
        assert marker not in photo.data


@pytest.mark.parametrize(
    ("make", "content_type", "fmt"),
    [(jpeg, "image/jpeg", "JPEG"), (webp, "image/jpeg", "JPEG"), (png, "image/png", "PNG")],
    ids=["jpeg", "webp", "png"],
)
def test_output_type_and_size_match_the_data(make: Callable[[], bytes], content_type: str, fmt: str) -> None:
    photo = sanitise_photo(make())
    assert photo.content_type == content_type
    assert reopen(photo).format == fmt
    assert reopen(photo).size == (photo.width, photo.height) == (40, 20)
    assert reopen(photo).mode == "RGB"


def test_a_cleaned_photo_is_accepted_again_unchanged_in_size() -> None:
    once = sanitise_photo(jpeg((3000, 1000)))
    twice = sanitise_photo(once.data)
    assert (twice.content_type, twice.width, twice.height) == (once.content_type, once.width, once.height)


def test_a_broken_colour_profile_is_dropped_and_the_photo_kept() -> None:
    photo = sanitise_photo(jpeg(icc_profile=b"not a colour profile" * 20))
    assert "icc_profile" not in reopen(photo).info
    assert b"not a colour profile" not in photo.data


# --- orientation and size ------------------------------------------------------------------


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_exif_orientation_is_applied(make: Callable[..., bytes]) -> None:
    """Orientation 6: turn 90 degrees clockwise to show; the left (red) half ends on top."""
    image = reopen(sanitise_photo(make(orientation=6)))
    assert image.size == (20, 40)
    top, bottom = image.getpixel((10, 5)), image.getpixel((10, 35))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 200 > top[2]
    assert bottom[2] > 200 > bottom[0]


@pytest.mark.parametrize(
    ("size", "max_side", "expected"),
    [
        ((4000, 1000), 2048, (2048, 512)),
        ((1000, 4000), 2048, (512, 2048)),
        ((2048, 100), 2048, (2048, 100)),
        ((300, 200), 2048, (300, 200)),
        ((300, 200), 150, (150, 100)),
        ((5000, 3), 1000, (1000, 1)),
    ],
)
def test_the_longest_side_is_scaled_down_to_max_side(
    size: tuple[int, int], max_side: int, expected: tuple[int, int]
) -> None:
    photo = sanitise_photo(encode(two_colour(size), "JPEG"), max_side=max_side)
    assert (photo.width, photo.height) == expected
    assert reopen(photo).size == expected


def test_png_transparency_is_kept() -> None:
    image = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 5, 10))
    out = reopen(sanitise_photo(png(image)))
    assert out.mode == "RGBA"
    assert out.getpixel((8, 5)) == (0, 0, 0, 0)
    assert out.getpixel((2, 5)) == (255, 0, 0, 255)


def test_transparent_webp_becomes_jpeg_on_white_not_black() -> None:
    image = Image.new("RGBA", (16, 16), (0, 0, 0, 0))
    out = reopen(sanitise_photo(webp(image)))
    pixel = out.getpixel((8, 8))
    assert isinstance(pixel, tuple)
    assert min(pixel) > 240


def test_sixteen_bit_greyscale_png_stays_grey() -> None:
    """A plain conversion would clip every value over 255 to white."""
    out = reopen(sanitise_photo(png(Image.new("I;16", (8, 8), 32768))))
    pixel = out.getpixel((4, 4))
    assert isinstance(pixel, tuple)
    assert 120 < pixel[0] < 136


def test_palette_png_is_accepted() -> None:
    photo = sanitise_photo(png(two_colour().convert("P")))
    assert reopen(photo).getpixel((5, 5)) == RED


# --- limits ---------------------------------------------------------------------------------


def test_over_max_bytes_is_too_large_and_never_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[object] = []
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args))
    with pytest.raises(TooLarge, match="8 MiB"):
        sanitise_photo(b"\xff\xd8\xff" + bytes(8 * 1024 * 1024))
    assert opened == []


def test_max_bytes_is_inclusive_and_named_in_mib() -> None:
    data = jpeg()
    assert sanitise_photo(data, max_bytes=len(data)).width == 40
    with pytest.raises(TooLarge, match=r"0\.5 MiB") as caught:
        sanitise_photo(bytes(512 * 1024 + 1), max_bytes=512 * 1024)
    assert caught.value.code == "too_large"
    assert caught.value.status == 413


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(8000, 6000, id="48M-over-our-limit"),
        pytest.param(10_000, 10_000, id="100M-over-pillow-warning-limit"),
        pytest.param(100_000, 100_000, id="10G-over-pillow-error-limit"),
        pytest.param(2**31 - 1, 2**31 - 1, id="largest-png-header"),
    ],
)
def test_huge_dimensions_in_a_crafted_header_are_refused_without_decoding(
    width: int, height: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[ImageFile.ImageFile] = []

    def spy(image: ImageFile.ImageFile) -> None:
        decoded.append(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with pytest.raises(PhotoRejected, match="too many pixels"):
        sanitise_photo(png_header(width, height))
    assert decoded == []


def test_max_pixels_applies_to_a_real_photo() -> None:
    data = jpeg((100, 50))
    assert sanitise_photo(data, max_pixels=5000).width == 100
    with pytest.raises(PhotoRejected, match="too many pixels"):
        sanitise_photo(data, max_pixels=4999)


# --- other types and damaged files ----------------------------------------------------------


def gif() -> bytes:
    return encode(two_colour(), "GIF")


NOT_PHOTOS = {
    "gif": gif(),
    "bmp": encode(two_colour(), "BMP"),
    "tiff": encode(two_colour(), "TIFF"),
    "svg": b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    "svg-xml": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(64),
    "pdf": b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n",
    "html": b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    "zip": b"PK\x03\x04" + bytes(64),
    "riff-not-webp": b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(32),
    "text": "ett foto på utslaget".encode(),
    "one-byte": b"\xff",
}


@pytest.mark.parametrize("data", NOT_PHOTOS.values(), ids=NOT_PHOTOS.keys())
def test_other_types_are_refused_naming_the_accepted_ones(data: bytes) -> None:
    with pytest.raises(PhotoRejected, match="JPEG, PNG or WebP") as caught:
        sanitise_photo(data)
    assert caught.value.code == "photo_rejected"
    assert caught.value.status == 415


def test_empty_input_is_refused() -> None:
    with pytest.raises(PhotoRejected, match="empty"):
        sanitise_photo(b"")


DAMAGED = {
    "png-header-then-garbage": PNG_MAGIC + b"<html><script>alert(1)</script></html>" * 4,
    "png-signature-only": PNG_MAGIC,
    "jpeg-magic-then-html": b"\xff\xd8\xff<html></html>",
    "webp-header-only": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "truncated-jpeg": jpeg((200, 200))[:-400],
    "truncated-png": png(Image.effect_noise((64, 64), 50).convert("RGB"))[:-300],
    "truncated-webp": webp(Image.effect_noise((64, 64), 50).convert("RGB"))[:-100],
}


@pytest.mark.parametrize("data", DAMAGED.values(), ids=DAMAGED.keys())
def test_damaged_files_are_refused(data: bytes) -> None:
    with pytest.raises(PhotoRejected, match="could not be read"):
        sanitise_photo(data)


@pytest.mark.parametrize(
    ("data", "kind"),
    [(jpeg(), "JPEG"), (png(), "PNG"), (webp(), "WEBP"), (b"RIFF\0\0\0\0WEBP", "WEBP")],
)
def test_type_is_sniffed_from_content(data: bytes, kind: str) -> None:
    assert sniff_type(data) == kind


# --- property: hostile bytes only ever give our two refusals --------------------------------

SMALL = {"jpeg": jpeg((16, 16)), "png": png(two_colour((16, 16))), "webp": webp(two_colour((16, 16)))}
MAGICS = [b"\xff\xd8\xff", PNG_MAGIC, b"RIFF\x00\x00\x00\x00WEBP", b"RIFF\xff\xff\xff\x7fWEBPVP8X"]


def check_only_refusals(data: bytes, max_bytes: int = 1 << 20) -> None:
    try:
        photo = sanitise_photo(data, max_bytes=max_bytes, max_pixels=1 << 16, max_side=64)
    except (PhotoRejected, TooLarge):
        return
    assert photo.content_type in {"image/jpeg", "image/png"}
    assert reopen(photo).size == (photo.width, photo.height)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([b"", *MAGICS]), tail=st.binary(max_size=512), max_bytes=st.integers(1, 600))
def test_random_bytes_only_raise_refusals(prefix: bytes, tail: bytes, max_bytes: int) -> None:
    check_only_refusals(prefix + tail, max_bytes)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(SMALL)),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=8),
    cut=st.integers(0, 10_000),
)
def test_damaged_photos_only_raise_refusals(name: str, flips: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SMALL[name])
    for position, value in flips:
        data[position % len(data)] = value
    check_only_refusals(bytes(data[: max(cut, 1)]) if cut < len(data) else bytes(data))

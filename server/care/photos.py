"""Photos citizens attach to a chat (a rash, a wound): checked, cleaned, re-encoded.

Pure: bytes in, a ``Photo`` out; no I/O, no clock. Decoding is CPU-bound, so the
hub calls ``sanitise_photo`` in a worker thread.

Rules enforced here:
- the size cap is checked before anything is parsed;
- the type is sniffed from the first bytes, never taken from a file name or a
  declared content type; only JPEG, PNG and WebP are accepted;
- the pixel count is checked on the header, before the pixels are decoded
  (decompression bombs); Pillow's own bomb guard is turned into the same refusal;
- privacy (Patientdatalagen, DESIGN): nothing but pixels leaves this module.
  The picture is rebuilt as a fresh image and re-encoded, so no EXIF (GPS
  position, camera serial), XMP, comment, ICC profile or PNG text chunk
  survives. Colours are converted to sRGB first so that dropping the ICC
  profile does not change what the nurse sees.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps

from direkt.queue.ids import ulid, ulid_ms
from direkt.server.errors import PhotoRejected, TooLarge

ACCEPTED = "JPEG, PNG or WebP"
JPEG_QUALITY = 85
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Modes a colour profile is applied to as decoded (CMYK must be, before any conversion).
_PROFILE_MODES = frozenset({"RGB", "RGBA", "CMYK", "L"})
_OUTPUT = {"JPEG": ("JPEG", "image/jpeg"), "WEBP": ("JPEG", "image/jpeg"), "PNG": ("PNG", "image/png")}


@dataclass(frozen=True, slots=True)
class Photo:
    """A cleaned photo, ready to store and show: only pixels, no metadata."""

    content_type: str
    data: bytes
    width: int
    height: int


def photo_key_id(now_ms: int, entropy: bytes) -> str:
    """A new photo's id: "p" and a ULID, so the retention rules can date the photo by its id."""
    return "p" + ulid(now_ms, entropy)


def photo_time(photo_id: str) -> int | None:
    """When a photo was uploaded, read from its id; None for an id without a time (older ids)."""
    try:
        return ulid_ms(photo_id[1:]) if photo_id.startswith("p") else None
    except ValueError:
        return None


def sanitise_photo(
    data: bytes, *, max_bytes: int = 8 * 1024 * 1024, max_pixels: int = 40_000_000, max_side: int = 2048
) -> Photo:
    """Check an uploaded photo and re-encode it without any metadata.

    Args:
        data: the uploaded file, exactly as received.
        max_bytes: largest accepted upload, checked before parsing.
        max_pixels: largest accepted width x height, checked on the header before decoding.
        max_side: the longest side of the result; larger photos are scaled down.

    Returns:
        The cleaned photo: JPEG (quality 85) for JPEG and WebP input, PNG for PNG
        input, upright per its EXIF orientation, in sRGB.

    Raises:
        TooLarge: ``data`` is over ``max_bytes``.
        PhotoRejected: empty, not a JPEG/PNG/WebP by content, over ``max_pixels``,
            or damaged (truncated, corrupt) so that it cannot be decoded.
    """
    if len(data) > max_bytes:
        raise TooLarge(f"the photo is larger than the limit of {max_bytes / 2**20:g} MiB")
    kind = sniff_type(data)
    picture = _decode(data, kind, max_pixels)
    picture = _fit(picture, max_side)
    encoder, content_type = _OUTPUT[kind]
    return Photo(content_type, _encode(picture, encoder), picture.width, picture.height)


def sniff_type(data: bytes) -> str:
    """The Pillow format name ("JPEG", "PNG", "WEBP") that the leading bytes announce.

    Args:
        data: the start of a file (at least 12 bytes for WebP).

    Returns:
        "JPEG", "PNG" or "WEBP".

    Raises:
        PhotoRejected: the bytes are empty or announce any other type.
    """
    if not data:
        raise PhotoRejected("the photo is empty")
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise PhotoRejected(f"only photos in {ACCEPTED} format can be sent")


def _decode(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    """Open as ``kind`` only, refuse too many pixels before decoding, then decode upright in sRGB."""
    try:
        image = Image.open(io.BytesIO(data), formats=[kind])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _too_many_pixels() from exc
    except Exception as exc:  # hostile bytes make decoders raise anything (OSError, SyntaxError, ...)
        raise _unreadable() from exc
    with image:
        if image.width * image.height > max_pixels:
            raise _too_many_pixels()
        try:
            return _upright_srgb(image)
        except Exception as exc:  # truncated or corrupt data surfaces while decoding
            raise _unreadable() from exc


def _upright_srgb(image: Image.Image) -> Image.Image:
    icc = image.info.get("icc_profile")
    upright = _eight_bit(ImageOps.exif_transpose(image))  # decodes the pixels
    mode = "RGBA" if upright.has_transparency_data else "RGB"
    if upright.mode not in _PROFILE_MODES:
        upright = upright.convert(mode)
    if icc:
        try:
            return ImageCms.profileToProfile(upright, io.BytesIO(icc), _SRGB, outputMode=mode) or upright
        except ImageCms.PyCMSError:
            pass  # a broken or unsupported profile: read the pixels as sRGB, as browsers do
    return upright.convert(mode)


def _eight_bit(image: Image.Image) -> Image.Image:
    """16-bit greyscale PNG: scale to 8 bits (a plain convert would clip to white)."""
    if image.mode in ("I", "I;16"):
        return image.point(lambda value: value / 256).convert("L")
    return image


def _fit(image: Image.Image, max_side: int) -> Image.Image:
    scale = max_side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def _encode(image: Image.Image, encoder: str) -> bytes:
    """Re-encode the pixels of a fresh image: nothing from ``image.info`` can be carried over."""
    if encoder == "JPEG" and image.mode == "RGBA":
        image = _on_white(image)
    fresh = Image.new(image.mode, image.size)
    fresh.paste(image)
    out = io.BytesIO()
    if encoder == "JPEG":
        fresh.save(out, "JPEG", quality=JPEG_QUALITY)
    else:
        fresh.save(out, "PNG")
    return out.getvalue()


def _on_white(image: Image.Image) -> Image.Image:
    """JPEG has no transparency: show transparent parts as white, not as black."""
    background = Image.new("RGB", image.size, "white")
    background.paste(image, mask=image.getchannel("A"))
    return background


def _too_many_pixels() -> PhotoRejected:
    return PhotoRejected("the photo has too many pixels; send a smaller picture")


def _unreadable() -> PhotoRejected:
    return PhotoRejected(f"the photo could not be read; it may be damaged or incomplete ({ACCEPTED} only)")

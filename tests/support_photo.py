"""A realistic phone photo for upload tests: 4000x3000 JPEG of several MB, EXIF with a camera and a GPS position."""

from __future__ import annotations

import functools
import io
import random

from PIL import ExifTags, Image

PHONE_SIZE = (4000, 3000)
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (59.0, 19.0, 48.0),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (18.0, 4.0, 7.0),
}


@functools.cache
def phone_photo(seed: int = 20) -> bytes:
    """A 12-megapixel JPEG (about 4 MB: detail that does not compress away) with EXIF make, model and GPS."""
    width, height = PHONE_SIZE
    rng = random.Random(seed)
    coarse = (width // 4, height // 4)
    detail = Image.frombytes("RGB", coarse, rng.randbytes(coarse[0] * coarse[1] * 3)).resize(
        PHONE_SIZE, Image.Resampling.BICUBIC
    )
    light = Image.linear_gradient("L").resize(PHONE_SIZE).convert("RGB")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    Image.blend(light, detail, 0.5).save(out, "JPEG", quality=90, exif=exif)
    data = out.getvalue()
    assert 3_000_000 < len(data) < 8 * 1024 * 1024, len(data)  # the premise: a real phone photo's size
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return data

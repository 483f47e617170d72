"""The region's brand (``[brand]`` in the region file): the neutral default, the
demo's own brand, and every mistake refused at start as a ``ConfigError`` that
names the key. The region part of each file is the valid ``BASE`` below, so a
failure here is the brand's alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from direkt.server.brand import contrast
from direkt.server.errors import ConfigError
from direkt.server.region import DEMO_CONFIG, check_brand_files, load_region_config, parse_region_config
from direkt.server.settings import Settings

CLIENT_DIR = Settings().client_dir
SOURCE = "regions/brand.toml"
BASE = """\
default_home_unit = "vc-a"

[regions.a]
name = "Region A"

[[units]]
id = "vc-a"
region = "a"
name = "Vardcentral A"
kind = "primary_care"
skills = ["nurse"]
hours = { daily = "00:00-24:00" }
"""
GOOD = """
[brand]
name = { sv = "Hälsoslingan", en = "Health Loop" }
short_name = "Hälsoslingan"
logo = "/shared/icon.svg"
primary = "#6b2c5f"
on_primary = "#ffffff"
advice_phone = "0771-11 77 00"
sms_sender = "Halsoslinga"
"""


def with_brand(brand: str) -> bytes:
    return (BASE + brand).encode()


def brand_error(old: str, new: str) -> ConfigError:
    assert GOOD.count(old) == 1, f"{old!r} occurs {GOOD.count(old)} times in GOOD"
    with pytest.raises(ConfigError) as info:
        parse_region_config(with_brand(GOOD.replace(old, new)), SOURCE)
    return info.value


def test_a_file_without_a_brand_gets_the_neutral_one() -> None:
    brand = parse_region_config(BASE.encode(), SOURCE).brand
    assert brand.name_sv == "Vården direkt" and brand.sms_sender == "VardDirekt"
    assert "1177" not in repr(brand)
    assert contrast(brand.primary, brand.on_primary) >= 4.5


def test_a_brand_is_read_and_made_public_without_the_sms_details() -> None:
    brand = parse_region_config(with_brand(GOOD), SOURCE).brand
    assert brand.public() == {
        "name": {"sv": "Hälsoslingan", "en": "Health Loop"},
        "short_name": "Hälsoslingan",
        "logo": "/shared/icon.svg",
        "colors": {"primary": "#6b2c5f", "on_primary": "#ffffff"},
        "advice_phone": "0771-11 77 00",
    }
    sv, en = brand.chat_ready("Testby vårdcentral", 5)
    assert sv.startswith("Hälsoslingan: Din chatt med Testby vårdcentral är redo. Logga in inom 5 min")
    assert en.startswith("Hälsoslingan: Your chat with Testby vårdcentral is ready.")


def test_the_demo_region_has_its_own_neutral_brand_and_its_logo_is_served() -> None:
    config = load_region_config(DEMO_CONFIG)
    assert config.brand.short_name == "Vårdchatten" and config.brand.sms_sender == "Vardchatten"
    check_brand_files(config, CLIENT_DIR)


@pytest.mark.parametrize(
    ("old", "new", "key", "problem"),
    [
        ('on_primary = "#ffffff"', 'on_primary = "#8a4d7f"', "brand.on_primary", "WCAG AA needs 4.5:1"),
        (
            'primary = "#6b2c5f"\non_primary = "#ffffff"',
            'primary = "#f2c200"\non_primary = "#000000"',  # yellow under black text, but yellow text on white
            "brand.primary",
            "contrast with white paper is 1.68:1",
        ),
        ('primary = "#6b2c5f"', 'primary = "purple"', "brand.primary", "not a colour of the form #rrggbb"),
        ('sms_sender = "Halsoslinga"', 'sms_sender = "Halsoslingan"', "brand.sms_sender", "at most 11 characters"),
        ('sms_sender = "Halsoslinga"', 'sms_sender = "Hälsoslinga"', "brand.sms_sender", "at most 11 characters"),
        ('sms_sender = "Halsoslinga"', 'sms_sender = "+4670"', "brand.sms_sender", "at most 15 digits"),
        ('logo = "/shared/icon.svg"', 'logo = "https://cdn.example/logo.svg"', "brand.logo", "a path on this server"),
        ('logo = "/shared/icon.svg"', 'logo = "/../etc/passwd.svg"', "brand.logo", "a path on this server"),
        ('logo = "/shared/icon.svg"', 'logo = "/shared/base.css"', "brand.logo", "must be an image"),
        ('short_name = "Hälsoslingan"', 'short_name = " "', "brand.short_name", "1 to 60 characters"),
        ('advice_phone = "0771-11 77 00"', 'advice_phone = "call us"', "brand.advice_phone", "digits"),
        ('sms_sender = "Halsoslinga"', 'smsSender = "X"', "brand", "unknown field `smsSender`"),
    ],
)
def test_a_bad_brand_is_refused_naming_the_key(old: str, new: str, key: str, problem: str) -> None:
    error = brand_error(old, new)
    assert error.key == key
    assert problem in error.problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Din chatt är redo, {name}.", "unknown placeholder {name}"),
        ("Din chatt med {unit!r} är redo.", "without a format spec"),
        ("Din chatt med {unit är redo.", "broken placeholder"),
        ("Din chatt med {unit} är redo – logga in.", "'–' is not in the GSM 7-bit alphabet"),
        ("  ", "the text is empty"),
    ],
)
def test_a_bad_sms_text_is_refused_naming_the_key(text: str, problem: str) -> None:
    texts = f'\n[brand.texts]\nchat_ready = {{ sv = "{text}", en = "Your chat with {{unit}} is ready." }}\n'
    with pytest.raises(ConfigError) as info:
        parse_region_config(with_brand(GOOD + texts), SOURCE)
    assert info.value.key == "brand.texts.chat_ready.sv"
    assert problem in info.value.problem


def test_a_logo_that_is_not_in_the_client_directory_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "region.toml"
    path.write_bytes(with_brand(GOOD.replace("/shared/icon.svg", "/shared/no-such-logo.svg")))
    config = load_region_config(path)  # the file itself is well formed
    with pytest.raises(ConfigError) as info:
        check_brand_files(config, CLIENT_DIR)
    assert info.value.key == "brand.logo" and info.value.path == str(path)
    assert "no file /shared/no-such-logo.svg" in info.value.problem

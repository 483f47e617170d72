"""A region's brand: the service's name, logo, colours, SMS sender and notice texts.

The ``[brand]`` section of the region file; every key has a neutral default, so
a file without one runs as "Vården direkt". Checked at start like the rest of
the file (``region.py`` turns each ``BrandProblem`` into a ``ConfigError``
naming the key):

* the colours are ``#rrggbb`` and meet WCAG 2.1 AA (contrast at least 4.5:1)
  twice: the contrast colour on the primary (buttons, the chat header), and the
  primary on white paper (links, outlined buttons, headings);
* the logo is a path on this server (so the same origin by construction), and
  at start a file under the client directory (``check_logo``);
* the SMS sender follows the GSM rules for an alphanumeric originator: at most
  11 characters from A-Z, a-z, 0-9, space, '.', '-' and '_' with at least one
  letter, or a number of at most 15 digits;
* the notice texts name only known placeholders, and are written in the GSM
  7-bit alphabet so that the SMS is not sent as UCS-2 (70 characters a part).
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import msgspec

MIN_CONTRAST = 4.5  # WCAG 2.1 AA, normal text (success criterion 1.4.3)
PAPER = "#ffffff"
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
ALPHA_SENDER = re.compile(r"^[A-Za-z0-9._ -]{1,11}$")
NUMERIC_SENDER = re.compile(r"^[0-9]{1,15}$")
ADVICE_PHONE = re.compile(r"^[0-9][0-9 -]{0,19}$")
LOGO_SUFFIXES = frozenset({".svg", ".png", ".webp", ".ico"})
NOTICE_PLACEHOLDERS = frozenset({"service", "short_name", "unit", "minutes"})
# GSM 03.38 default alphabet (basic set; the extension table's characters cost two and are left out).
GSM_7BIT = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)


class _Strict(msgspec.Struct, forbid_unknown_fields=True):
    pass


class BrandText(_Strict):
    sv: str
    en: str


def _chat_ready() -> BrandText:
    return BrandText(
        sv="{short_name}: Din chatt med {unit} är redo. Logga in inom {minutes} min för att inte tappa din plats.",
        en="{short_name}: Your chat with {unit} is ready. Log in within {minutes} min to keep your place.",
    )


class BrandTexts(_Strict):
    chat_ready: BrandText = msgspec.field(default_factory=_chat_ready)


class BrandSpec(_Strict):
    """The ``[brand]`` section as written; the defaults are the neutral brand."""

    name: BrandText = msgspec.field(default_factory=lambda: BrandText(sv="Vården direkt", en="Vården direkt"))
    short_name: str = "Vården direkt"
    logo: str = "/shared/icon.svg"
    primary: str = "#00507a"
    on_primary: str = "#ffffff"
    advice_phone: str = ""  # the number for health advice now (a region's own); empty: texts leave it out
    sms_sender: str = "VardDirekt"
    texts: BrandTexts = msgspec.field(default_factory=BrandTexts)


@dataclass(frozen=True)
class Brand:
    """A checked brand; ``public()`` is what the browser clients get."""

    name_sv: str
    name_en: str
    short_name: str
    logo: str
    primary: str
    on_primary: str
    advice_phone: str
    sms_sender: str
    chat_ready_sv: str
    chat_ready_en: str

    def public(self) -> dict[str, object]:
        """The brand for ``/api/client-config``: names, logo, colours, advice number (nothing personal)."""
        return {
            "name": {"sv": self.name_sv, "en": self.name_en},
            "short_name": self.short_name,
            "logo": self.logo,
            "colors": {"primary": self.primary, "on_primary": self.on_primary},
            "advice_phone": self.advice_phone,
        }

    def chat_ready(self, unit: str, minutes: int) -> tuple[str, str]:
        """The "your chat is ready" notice (SMS and in-app), Swedish and English."""
        values = {"service": self.name_sv, "short_name": self.short_name, "unit": unit, "minutes": minutes}
        return self.chat_ready_sv.format(**values), self.chat_ready_en.format(**values | {"service": self.name_en})


class BrandProblem(ValueError):
    """One problem with the brand: the key under ``brand`` and what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def build_brand(spec: BrandSpec) -> Brand:
    """Check a ``[brand]`` section.

    Raises:
        BrandProblem: naming the key (``brand.primary``) and the problem.
    """
    for key, text in (("name.sv", spec.name.sv), ("name.en", spec.name.en), ("short_name", spec.short_name)):
        if not text.strip() or len(text) > 60:
            raise BrandProblem(f"brand.{key}", "must be 1 to 60 characters")
    _check_logo_path(spec.logo)
    _check_colours(spec.primary, spec.on_primary)
    if spec.advice_phone and not ADVICE_PHONE.match(spec.advice_phone):
        raise BrandProblem("brand.advice_phone", "digits, spaces and '-' only, e.g. \"0771-11 77 00\"")
    _check_sender(spec.sms_sender)
    ready = spec.texts.chat_ready
    for lang, text in (("sv", ready.sv), ("en", ready.en)):
        _check_notice(f"brand.texts.chat_ready.{lang}", text)
    return Brand(
        spec.name.sv, spec.name.en, spec.short_name, spec.logo, spec.primary.lower(), spec.on_primary.lower(),
        spec.advice_phone, spec.sms_sender, ready.sv, ready.en,
    )  # fmt: skip


def check_logo(brand: Brand, client_dir: Path) -> None:
    """At start: the logo is a file in the client directory the server serves.

    Raises:
        BrandProblem: ``brand.logo`` names no file there.
    """
    relative = PurePosixPath(brand.logo).relative_to("/")
    if not (Path(client_dir) / relative).is_file():
        raise BrandProblem("brand.logo", f"no file {brand.logo} in the client directory {client_dir}")


def contrast(first: str, second: str) -> float:
    """The WCAG 2.1 contrast ratio of two ``#rrggbb`` colours, 1 to 21."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _check_colours(primary: str, on_primary: str) -> None:
    for key, colour in (("primary", primary), ("on_primary", on_primary)):
        if not COLOUR.match(colour):
            raise BrandProblem(f"brand.{key}", f"{colour!r} is not a colour of the form #rrggbb")
    if (ratio := contrast(primary, on_primary)) < MIN_CONTRAST:
        raise BrandProblem("brand.on_primary", f"contrast with brand.primary is {ratio:.2f}:1, WCAG AA needs 4.5:1")
    if (ratio := contrast(primary, PAPER)) < MIN_CONTRAST:
        raise BrandProblem("brand.primary", f"contrast with white paper is {ratio:.2f}:1, WCAG AA needs 4.5:1")


def _check_logo_path(logo: str) -> None:
    path = PurePosixPath(logo)
    if not logo.startswith("/") or logo.startswith("//") or ".." in path.parts or "\\" in logo:
        raise BrandProblem("brand.logo", "must be a path on this server, e.g. /shared/logo.svg")
    if path.suffix.lower() not in LOGO_SUFFIXES:
        raise BrandProblem("brand.logo", f"must be an image: {sorted(LOGO_SUFFIXES)}")


def _check_sender(sender: str) -> None:
    alphanumeric = ALPHA_SENDER.match(sender) and any(c.isalpha() for c in sender) and sender == sender.strip()
    if not (alphanumeric or NUMERIC_SENDER.match(sender)):
        raise BrandProblem(
            "brand.sms_sender",
            f"{sender!r}: an SMS sender is at most 11 characters (A-Z, a-z, 0-9, space, '.', '-', '_', "
            "with a letter) or a number of at most 15 digits",
        )


def _check_notice(key: str, text: str) -> None:
    if not text.strip():
        raise BrandProblem(key, "the text is empty")
    try:
        fields = [(name, spec, conv) for _, name, spec, conv in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        raise BrandProblem(key, f"broken placeholder ({exc})") from None
    if any(spec or conv for _, spec, conv in fields):
        raise BrandProblem(key, "placeholders are plain names, without a format spec or conversion")
    if unknown := {name for name, _, _ in fields} - NOTICE_PLACEHOLDERS:
        raise BrandProblem(key, f"unknown placeholder {{{sorted(unknown)[0]}}}; use {sorted(NOTICE_PLACEHOLDERS)}")
    if outside := sorted(set(text) - GSM_7BIT - set("{}")):
        raise BrandProblem(key, f"{outside[0]!r} is not in the GSM 7-bit alphabet (the SMS would cost twice)")

"""A region's brand in the clients (issue 22): with a region file of another brand
(tests/data/brand_region.toml), the citizen chat and the console show its name in
the title and the header, its colour and its logo, and still pass axe.

The module runs its own ``direkt serve`` on that region file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from support import ServerProcess
from support_browser import CONSOLE, axe_check, console, screenshot

from direkt.server.redis.embedded import EmbeddedRedis

Opener = Callable[..., Page]
BRAND_CONFIG = Path(__file__).parents[1] / "data" / "brand_region.toml"
NAME = "Hälsolinjen Test"
LOGO = "/shared/logo-alt.svg"
PRIMARY = "rgb(107, 44, 145)"  # brand.primary = "#6b2c91", as getComputedStyle writes it
ON_PRIMARY = "rgb(255, 255, 255)"
LOGO_LOADED = "img => img.complete && img.naturalWidth > 0"


@pytest.fixture(scope="module")
def server(standalone_redis: EmbeddedRedis) -> Iterator[ServerProcess]:
    process = ServerProcess(standalone_redis.url, config=BRAND_CONFIG)
    yield process
    process.stop()


def logo_shown(page: Page, selector: str) -> None:
    """The brand's logo is the image's source, and the server served it (it loaded)."""
    logo = page.locator(selector)
    expect(logo).to_have_attribute("src", LOGO)
    page.wait_for_function(LOGO_LOADED, arg=logo.element_handle())


def test_the_citizen_chat_shows_the_regions_name_colour_and_logo(open_page: Opener) -> None:
    page = open_page("/chat/", name="citizen")
    expect(page).to_have_title(f"{NAME} – chatta med vården")
    expect(page.locator("#brand-name")).to_have_text(NAME)
    header = page.locator(".site-header")
    expect(header).to_have_css("background-color", PRIMARY)
    expect(page.locator("#app-heading")).to_have_css("color", ON_PRIMARY)
    logo_shown(page, ".site-header img[data-brand-logo]")
    expect(page.locator("#footer-text")).to_contain_text("0771-00 00 00")  # its advice number
    assert axe_check(page, "brand-chat") == [], "axe: violations on brand-chat, see var/axe/brand-chat.json"
    screenshot(page, "brand-chat")


def test_the_console_shows_the_regions_name_colour_and_logo_before_and_after_login(open_page: Opener) -> None:
    page = open_page(CONSOLE, name="nurse-login")
    expect(page).to_have_title(f"{NAME} – konsol")
    brand = page.locator(".topbar .brand")
    expect(brand).to_have_text(f"{NAME} – konsol")
    expect(brand).to_have_css("color", PRIMARY)  # the console's header is paper; the name is in the brand colour
    expect(page.get_by_role("button", name="Logga in")).to_have_css("background-color", PRIMARY)
    logo_shown(page, ".topbar .brand-logo")
    assert axe_check(page, "brand-console-login") == []

    page = console(open_page)
    expect(page).to_have_title(f"{NAME} – konsol")
    brand = page.locator(".brand")
    expect(brand).to_have_text(f"{NAME} – konsol")
    expect(brand).to_have_css("color", PRIMARY)
    logo_shown(page, ".brand .brand-logo")
    assert axe_check(page, "brand-console") == [], "axe: violations on brand-console, see var/axe/brand-console.json"
    screenshot(page, "brand-console")

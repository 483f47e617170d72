"""The site around the clients: the landing page, security headers, JSON errors beside static files."""

from __future__ import annotations

from typing import Any

import httpx
from support import ServerProcess
from support_browser import axe_check


def test_landing_page_links_both_clients_and_passes_axe(open_page: Any) -> None:
    page = open_page("/")
    links = page.get_by_role("link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert "/chat/" in hrefs and "/console/" in hrefs and "/admin/" in hrefs
    assert axe_check(page, "landing") == []


def test_static_pages_carry_a_strict_content_security_policy(server: ServerProcess) -> None:
    response = httpx.get(server.url("/"))
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "object-src 'none'" in csp
    assert "frame-ancestors 'self'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"


def test_api_paths_still_answer_json_errors(server: ServerProcess) -> None:
    missing = httpx.get(server.url("/api/no-such-thing"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    no_file = httpx.get(server.url("/no-such-page.html"))
    assert no_file.status_code == 404 and no_file.json()["error"]["code"] == "not_found"
    wrong = httpx.post(server.url("/index.html"))
    assert wrong.status_code == 405


def test_path_traversal_is_refused(server: ServerProcess) -> None:
    response = httpx.get(server.url("/shared/..%2f..%2fpyproject.toml"))
    assert response.status_code == 404
    assert "[project]" not in response.text  # pyproject.toml's contents never leave the server

"""The booking scripts name every key they touch in KEYS (the Cluster rule: a script may touch
only the keys it is given, so a Cluster routes it and a proxy can check it)."""

from __future__ import annotations

import re

import pytest

from direkt.server.booking.store import LUA_DIR, NAMES

CALL = re.compile(r"redis\.call\('(\w+)',\s*([^,)]+)")


@pytest.mark.parametrize("name", NAMES)
def test_every_key_a_script_touches_is_one_of_its_keys(name: str) -> None:
    source = (LUA_DIR / f"{name}.lua").read_text()
    calls = CALL.findall(source)
    assert calls, "no redis.call found: the pattern is out of date"
    assert [(cmd, key) for cmd, key in calls if not re.fullmatch(r"KEYS\[\d\]", key.strip())] == []

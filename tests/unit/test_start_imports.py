"""What a server start does not do at import: every `direkt serve` and `direkt` command pays for it.

In a subprocess, so the modules are imported fresh (this test process has most of them already).
"""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import argon2

def refuse(*args, **kwargs):
    raise SystemExit("a password was hashed at import")

argon2.PasswordHasher.hash = refuse
import direkt.server.app, direkt.server.cli
late = [name for name in ("icalendar", "aiortc", "av") if name in sys.modules]
if late:
    raise SystemExit(f"imported at start: {late}")
"""


def test_importing_the_server_hashes_no_password_and_leaves_rare_libraries_for_later() -> None:
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

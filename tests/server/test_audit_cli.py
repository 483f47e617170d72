"""`direkt audit export`: a patient's log extract (loggutdrag) from Redis or the audit file.

Personal identity numbers: 191212121212 is Tolvan Tolvansson from the Swedish
tax agency's test range; the others are INVENTED for these tests (Luhn-valid,
not known to belong to anyone).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from support import at, free_port, timeout

from direkt.server.audit import AuditLog, AuditRecord
from direkt.server.cli import main
from direkt.server.embedded_redis import EmbeddedRedis
from direkt.server.redisconn import connect

TOLVAN = "191212121212"  # the tax agency's test person
CHILD = "201212121212"  # invented
GUARDIAN = "198112189876"  # invented
OTHER = "198507099805"  # invented
WINTER = at("2026-11-23 10:00")
SUMMER = at("2026-06-15 14:30")

RECORDS = [
    AuditRecord(WINTER, "nurse-a1", "nurse", "vc-a1", "case.claim", "a.C1", TOLVAN),
    AuditRecord(WINTER + 1, "nurse-b", "nurse", "vc-b1", "case.read", "a.C9", OTHER),
    AuditRecord(WINTER + 61_250, "nurse-a1", "nurse", "vc-a1", "case.transfer", "a.C1", TOLVAN, detail="1177-a"),
    AuditRecord(SUMMER, "u-7", "guardian", "", "transcript.read", "a.C5", CHILD, guardian=GUARDIAN),
    AuditRecord(WINTER + 2, "nurse-a12", "nurse", "vc-a2", "access.denied", "a.C1", TOLVAN, outcome="denied"),
]
TOLVANS = [RECORDS[0], RECORDS[2], RECORDS[4]]


@pytest.fixture
def stores(standalone_redis: EmbeddedRedis, tmp_path: Path) -> tuple[str, Path]:
    """The embedded Redis and an audit file, both holding RECORDS of three patients."""
    path = tmp_path / "audit.jsonl"

    async def seed() -> None:
        client = await connect(standalone_redis.url)
        try:
            await client.flushall()
            for rec in RECORDS:
                await AuditLog(client, path).record(rec)
        finally:
            await client.aclose()

    asyncio.run(seed())
    return standalone_redis.url, path


def export(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    status = main(["audit", "export", *args])
    out, err = capsys.readouterr()
    return status, out.splitlines(), err


def test_an_export_prints_only_the_asked_patients_records_in_swedish_time(
    stores: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = stores
    status, lines, _ = export(capsys, "--patient", "19121212-1212", "--redis-url", url)
    assert status == 0
    assert lines == [
        "2026-11-23T10:00:00.000+01:00\tnurse-a1\tnurse\tvc-a1\tcase.claim\ta.C1\tok\t-",
        "2026-11-23T10:01:01.250+01:00\tnurse-a1\tnurse\tvc-a1\tcase.transfer\ta.C1\tok\t1177-a",
        "2026-11-23T10:00:00.002+01:00\tnurse-a12\tnurse\tvc-a2\taccess.denied\ta.C1\tdenied\t-",
    ]


def test_a_guardian_sees_what_was_read_in_their_childs_case(
    stores: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, _ = stores
    status, lines, _ = export(capsys, "--patient", GUARDIAN, "--redis-url", url)
    assert (status, lines) == (0, ["2026-06-15T14:30:00.000+02:00\tu-7\tguardian\t-\ttranscript.read\ta.C5\tok\t-"])


def test_json_lines_parse_back_into_the_records(stores: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = stores
    status, lines, _ = export(capsys, "--patient", TOLVAN, "--redis-url", url, "--json")
    assert status == 0
    assert [AuditRecord.from_fields(orjson.loads(line)) for line in lines] == TOLVANS


def test_the_file_gives_the_same_export_as_redis(stores: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, path = stores
    from_redis = export(capsys, "--patient", TOLVAN, "--redis-url", url)
    from_file = export(capsys, "--patient", TOLVAN, "--file", str(path))
    assert from_file == from_redis and len(from_file[1]) == 3


def test_without_a_url_the_embedded_redis_of_the_data_dir_is_read(
    stores: tuple[str, Path],
    standalone_redis: EmbeddedRedis,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DIREKT_DATA_DIR", str(standalone_redis.data_dir))
    status, lines, _ = export(capsys, "--patient", OTHER)
    assert status == 0 and len(lines) == 1 and "a.C9" in lines[0]


def test_a_patient_without_records_gets_a_message_and_success(
    stores: tuple[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    url, path = stores
    for source in (["--redis-url", url], ["--file", str(path)]):
        status, lines, err = export(capsys, "--patient", "194004041234", *source)
        assert (status, lines) == (0, [])
        assert "no audit records" in err


@pytest.mark.parametrize("bad", ["1212121212", "121212-1212", "19121212+1212", "1912121212125", "tolvan", ""])
def test_a_malformed_number_is_a_usage_error_that_does_not_echo_it(
    bad: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["audit", "export", "--patient", bad, "--redis-url", "redis://127.0.0.1:1"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "expected a personal identity number as YYYYMMDDNNNN or YYYYMMDD-NNNN" in err
    assert not bad or bad not in err


def test_the_installed_command_exits_2_on_a_malformed_number() -> None:
    direkt = Path(sys.executable).with_name("direkt")
    done = subprocess.run(
        [str(direkt), "audit", "export", "--patient", "19121212"],
        capture_output=True,
        text=True,
        timeout=timeout(30),
        env={**os.environ, "PYTHONSAFEPATH": "1"},
        check=False,
    )
    assert done.returncode == 2
    assert "--patient: expected a personal identity number" in done.stderr


def test_redis_and_a_file_together_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["audit", "export", "--patient", TOLVAN, "--redis-url", "redis://x", "--file", str(tmp_path / "a")])
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unreachable_redis_or_a_missing_file_fails_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = export(capsys, "--patient", TOLVAN, "--redis-url", f"redis://127.0.0.1:{free_port()}")
    assert status == 1 and "cannot reach Redis" in err and "direkt serve" in err
    status, _, err = export(capsys, "--patient", TOLVAN, "--file", str(tmp_path / "missing.jsonl"))
    assert status == 1 and "cannot read" in err

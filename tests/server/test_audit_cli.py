"""`direkt audit export`: a patient's log extract (loggutdrag) from Redis or the audit file.

Personal identity numbers: Skatteverket's published test numbers
(server/data/test_personnummer.txt, named in tests/support_hub.py).
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
from support_hub import ELSA, ERIK, GUARDIAN, UNLISTED

from direkt.server.care.audit import AuditLog, AuditRecord
from direkt.server.cli import main
from direkt.server.redis.connect import connect
from direkt.server.redis.embedded import EmbeddedRedis

PATIENT = ERIK  # the patient most tests are about
CHILD = ELSA
OTHER = UNLISTED
WINTER = at("2026-11-23 10:00")
SUMMER = at("2026-06-15 14:30")

RECORDS = [
    AuditRecord(WINTER, "nurse-a1", "nurse", "vc-a1", "case.claim", "a.C1", PATIENT),
    AuditRecord(WINTER + 1, "nurse-b", "nurse", "vc-b1", "case.read", "a.C9", OTHER),
    AuditRecord(WINTER + 61_250, "nurse-a1", "nurse", "vc-a1", "case.transfer", "a.C1", PATIENT, detail="1177-a"),
    AuditRecord(SUMMER, "u-7", "guardian", "", "transcript.read", "a.C5", CHILD, guardian=GUARDIAN),
    AuditRecord(WINTER + 2, "nurse-a12", "nurse", "vc-a2", "access.denied", "a.C1", PATIENT, outcome="denied"),
]
PATIENTS = [RECORDS[0], RECORDS[2], RECORDS[4]]


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
    status, lines, _ = export(capsys, "--patient", "19910831-2399", "--redis-url", url)
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
    status, lines, _ = export(capsys, "--patient", PATIENT, "--redis-url", url, "--json")
    assert status == 0
    assert [AuditRecord.from_fields(orjson.loads(line)) for line in lines] == PATIENTS


def test_the_file_gives_the_same_export_as_redis(stores: tuple[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    url, path = stores
    from_redis = export(capsys, "--patient", PATIENT, "--redis-url", url)
    from_file = export(capsys, "--patient", PATIENT, "--file", str(path))
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
        status, lines, err = export(capsys, "--patient", "189001019802", *source)
        assert (status, lines) == (0, [])
        assert "no audit records" in err


@pytest.mark.parametrize("bad", ["9108312399", "910831-2399", "19910831+2399", "1991083123995", "tolvan", ""])
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
        [str(direkt), "audit", "export", "--patient", "19910831"],
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
        main(["audit", "export", "--patient", PATIENT, "--redis-url", "redis://x", "--file", str(tmp_path / "a")])
    assert caught.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_an_unreachable_redis_or_a_missing_file_fails_with_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = export(capsys, "--patient", PATIENT, "--redis-url", f"redis://127.0.0.1:{free_port()}")
    assert status == 1 and "cannot reach Redis" in err and "direkt serve" in err
    status, _, err = export(capsys, "--patient", PATIENT, "--file", str(tmp_path / "missing.jsonl"))
    assert status == 1 and "cannot read" in err

"""Replaying a case's triage with the knowledge it was triaged with, after the knowledge base changed.

A server keeps a snapshot of every knowledge-base version it serves (``dk:kb:<version>``);
the case file keeps the engine session (inputs + version). Against a real Redis, embedded
and Cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support_kb import edit, small_kb, small_kb_dir

from direkt.queue.scripts import RedisClient
from direkt.server.care.casefile import CaseFile, CaseFiles
from direkt.server.care.triageflow import keep_knowledge, knowledge_for, replay_case
from direkt.server.errors import Conflict, KnowledgeBaseError, NotFound
from direkt.triage import engine, loader
from direkt.triage.answerer import run
from direkt.triage.model import Entry
from direkt.triage.plain import Reader, result_view
from direkt.triage.session import Patient

ADULT = Patient.aged(40, "female")


def file_for(kb: object, case_id: str, stated: dict[str, object]) -> CaseFile:
    done = run(kb, Entry.SEEK_CARE, ADULT, "sore_throat", stated)  # type: ignore[arg-type]
    view = result_view(kb, done.result, Reader())  # type: ignore[arg-type]
    return CaseFile(
        case_id=case_id, owner_uid="u1", patient_pnr="199108312399", patient_name="Erik Nilsson", guardian_pnr="",
        first_name="Erik", phone="", lang="sv", entry="seek_care", home_unit="vc-t", created_ms=1,
        triage=view, triage_session=engine.dump(done.session),
    )  # fmt: skip


async def test_a_case_replays_with_the_version_it_was_triaged_with(redis_client: RedisClient, tmp_path: Path) -> None:
    old_dir = small_kb_dir(tmp_path / "old")
    old = loader.load(old_dir)
    assert await keep_knowledge(redis_client, old) is True
    assert await keep_knowledge(redis_client, old) is False  # once per version
    case = file_for(old, "t.case1", {"symptom_days": 8})
    await CaseFiles(redis_client).create(case)

    # the knowledge base changes: a week of sore throat is now self-care
    edit(old_dir / "reasons" / "sore_throat.toml", 'when = "symptom_days >= 7"', 'when = "symptom_days >= 14"')
    new = loader.load(old_dir)
    assert new.version != old.version
    assert run(new, Entry.SEEK_CARE, ADULT, "sore_throat", {"symptom_days": 8}).result.level.label == "self_care"

    stored = await CaseFiles(redis_client).get("t.case1")
    report = await replay_case(redis_client, stored, new)
    assert report["same"] is True and report["current"] is False and report["kb_version"] == old.version
    assert report["replayed"]["level"] == "days" and report["replayed"]["decided_by"]["rule"] == "sore_throat.long"
    assert (await knowledge_for(redis_client, old.version, new)).version == old.version


async def test_a_version_never_kept_or_a_case_without_a_session_is_a_clear_error(
    redis_client: RedisClient, tmp_path: Path
) -> None:
    kb = small_kb(tmp_path / "kb")
    with pytest.raises(NotFound, match="no snapshot of knowledge base 0123456789abcdef"):
        await knowledge_for(redis_client, "0123456789abcdef", kb)
    bare = file_for(kb, "t.case2", {})
    with pytest.raises(Conflict, match="no stored triage session"):
        await replay_case(redis_client, CaseFile(**{**bare.__dict__, "triage_session": b""}), kb)


async def test_a_damaged_snapshot_is_refused_not_trusted(redis_client: RedisClient, tmp_path: Path) -> None:
    kb = small_kb(tmp_path / "kb")
    await redis_client.set("dk:kb:feedfacefeedface", b"\x93not a snapshot")
    with pytest.raises(KnowledgeBaseError):
        await knowledge_for(redis_client, "feedfacefeedface", kb)


def test_replay_case_on_the_command_line(standalone_redis: object, tmp_path: Path) -> None:
    import asyncio

    from direkt.server.redis.connect import connect

    url = standalone_redis.url  # type: ignore[attr-defined]
    kb = loader.load(walk_paths=False)

    async def prepare() -> None:
        client = await connect(url)
        try:
            await keep_knowledge(client, kb)
            await CaseFiles(client).create(file_for(kb, "t.cli1", {"symptom_days": 9}))
        finally:
            await client.aclose()

    asyncio.run(prepare())
    done = subprocess.run(
        [sys.executable, "-m", "direkt.server.cli", "triage", "replay-case", "t.cli1"],
        capture_output=True, text=True, check=False, env={**os.environ, "REDIS_URL": url},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["same"] is True and report["current"] is True and report["stored"]["level"] == "days"
    missing = subprocess.run(
        [sys.executable, "-m", "direkt.server.cli", "triage", "replay-case", "t.nosuchcase"],
        capture_output=True, text=True, check=False, env={**os.environ, "REDIS_URL": url},
    )  # fmt: skip
    assert missing.returncode == 1 and "no such case" in missing.stderr and "Traceback" not in missing.stderr

"""Durable storage on SQLite and on a real PostgreSQL: migrations, feedback, audit, jti cache, sessions."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from cds_service import storage
from cds_service.hooks import parse_feedback
from cds_service.storage import AuditRecord, IssuedCard, SqlStore, StorageError, open_store, patient_ref

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
LATEST = storage.MIGRATIONS[-1][0]


def feedback_items(*cards: str) -> Any:
    """Valid feedback items for the given card uuids."""
    return parse_feedback(
        {
            "feedback": [
                {"card": c, "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
                for c in cards
            ]
        }
    )


def audit_record(event_id: str = "", cards: tuple[IssuedCard, ...] = (), **changes: Any) -> AuditRecord:
    """An audit record of a successful hook call."""
    values: dict[str, Any] = {
        "event_id": event_id or str(uuid.uuid4()),
        "recorded_at": NOW,
        "request_id": "req-1",
        "service_id": "crlm-patient-view",
        "hook_instance": "hi-1",
        "patient_ref": patient_ref(b"k" * 32, "patient-1"),
        "client": "ehr",
        "tenant": None,
        "status": 200,
        "outcome": "cards",
        "duration_ms": 12.5,
        "cards": cards,
        "fetched": ("observations",),
        "knowledge_version": "kb-1",
    }
    values.update(changes)
    return AuditRecord(**values)


def test_migrate_is_idempotent(store: SqlStore) -> None:
    """Migrating twice leaves the schema at the latest version."""
    assert store.migrate() == LATEST
    assert store.migrate() == LATEST
    store.ping()


def test_migrations_upgrade_an_older_schema_keeping_data(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at schema 2 with feedback in it is upgraded to the latest schema, data intact."""
    old = open_store(database_url)
    monkeypatch.setattr(storage, "MIGRATIONS", storage.MIGRATIONS[:2])
    assert old.migrate() == 2
    old.record_feedback("svc", feedback_items("card-1"), NOW)
    monkeypatch.undo()
    assert old.migrate() == LATEST
    assert [row["card"] for row in old.feedback()] == ["card-1"]
    old.record_call(audit_record())
    old.close()


def test_concurrent_migrations_do_not_race(database_url: str) -> None:
    """Several workers migrating the same empty database at once all end at the latest version."""
    results: list[Any] = []

    def migrate() -> None:
        worker = open_store(database_url)
        try:
            results.append(worker.migrate())
        except StorageError as exc:
            results.append(exc)
        finally:
            worker.close()

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [LATEST] * 4


def test_feedback_is_stored_once_and_traced_to_its_rule(store: SqlStore) -> None:
    """Repeated feedback is kept once and joined to the rule and topic of its card."""
    store.record_cards("svc", "hi-1", [IssuedCard("card-1", "rule-a", "topic-a")], NOW)
    assert store.record_feedback("svc", feedback_items("card-1", "card-2"), NOW) == 2
    assert store.record_feedback("svc", feedback_items("card-1"), NOW) == 0
    rows = sorted(store.feedback("svc"), key=lambda r: r["card"])
    assert [(r["card"], r["ruleId"], r["topic"]) for r in rows] == [
        ("card-1", "rule-a", "topic-a"),
        ("card-2", None, None),
    ]


def test_audit_record_and_its_cards_are_written_atomically(store: SqlStore) -> None:
    """An audit record stores its cards; a failing record (duplicate id) stores none of its cards."""
    store.record_call(audit_record("event-1", (IssuedCard("card-1", "rule-a", "topic-a"),)))
    with pytest.raises(StorageError):
        store.record_call(audit_record("event-1", (IssuedCard("card-2", "rule-b", "topic-b"),)))
    store.record_feedback("svc", feedback_items("card-1", "card-2"), NOW)
    traced = {r["card"]: r["ruleId"] for r in store.feedback()}
    assert traced == {"card-1": "rule-a", "card-2": None}
    (record,) = store.audit()
    assert record["cards"] == [{"uuid": "card-1", "rule": "rule-a", "topic": "topic-a"}]
    assert record["patientRef"] == patient_ref(b"k" * 32, "patient-1")
    assert record["status"] == 200 and record["outcome"] == "cards" and record["fetched"] == ["observations"]


def test_audit_keeps_failed_calls_without_cards(store: SqlStore) -> None:
    """A rejected call (no hook instance) is audited too, oldest first, and --last limits the export."""
    store.record_call(audit_record("e1", hook_instance=None, status=400, outcome="invalid-request"))
    store.record_call(audit_record("e2", recorded_at=NOW.replace(minute=5)))
    assert [r["eventId"] for r in store.audit()] == ["e1", "e2"]
    assert [r["eventId"] for r in store.audit(1)] == ["e2"]


def test_jti_is_claimed_once_until_it_expires(store: SqlStore) -> None:
    """A jti is accepted once per issuer while it lives, and again after it expired."""
    assert store.claim_jti("iss-a", "jti-1", expires_at=1000.0, now=900.0)
    assert not store.claim_jti("iss-a", "jti-1", expires_at=1000.0, now=950.0)
    assert store.claim_jti("iss-b", "jti-1", expires_at=1000.0, now=950.0)
    assert store.claim_jti("iss-a", "jti-1", expires_at=2000.0, now=1001.0)


def test_jti_cache_is_shared_between_connections(database_url: str) -> None:
    """Two stores (as two workers) see each other's jti, and concurrent claims let exactly one through."""
    first, second = open_store(database_url), open_store(database_url)
    first.migrate()
    assert first.claim_jti("iss", "shared", 10_000.0, 1.0)
    assert not second.claim_jti("iss", "shared", 10_000.0, 1.0)
    wins: list[bool] = []

    def claim(worker: SqlStore) -> None:
        wins.append(worker.claim_jti("iss", "race", 10_000.0, 1.0))
        worker.close()

    threads = [threading.Thread(target=claim, args=(s,)) for s in (first, second) * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]
    first.close()
    second.close()


def test_sessions_expire_and_can_be_deleted(store: SqlStore) -> None:
    """Server-side sessions keep the methods the explanation app relies on."""
    store.put_session("s1", "data-1", expires_at=100.0)
    store.put_session("s1", "data-2", expires_at=200.0)
    assert store.get_session("s1", now=150.0) == "data-2"
    assert store.get_session("s1", now=250.0) is None
    store.delete_session("s1")
    assert store.get_session("s1", now=0.0) is None


def test_store_used_before_fork_works_in_the_child(store: SqlStore, database_url: str) -> None:
    """A store whose connection was opened in the parent opens its own in a forked worker."""
    store.ping()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(
        target=lambda: queue.put(store.record_feedback("svc", feedback_items("forked"), NOW))
    )
    process.start()
    process.join(30)
    assert process.exitcode == 0 and queue.get(timeout=5) == 1
    store.ping()
    assert [r["card"] for r in store.feedback()] == ["forked"]


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_unreachable_database_raises_storage_error(kind: str, tmp_path: Path) -> None:
    """A database that cannot be opened gives StorageError, never a driver exception."""
    url = f"sqlite:///{tmp_path}/missing-dir/../" if kind == "sqlite" else "postgresql://x@127.0.0.1:1/none"
    with pytest.raises(StorageError):
        open_store(url).ping()


def test_init_db_command_migrates(database_url: str) -> None:
    """`cds-service init-db` creates the schema on the configured database and says its version."""
    env = {**os.environ, "CDS_DATABASE_URL": database_url}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cds-service"), "init-db"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"database schema at version {LATEST}"
    check = open_store(database_url)
    check.ping()
    check.close()

"""Durable storage: feedback, the cards issued (so feedback traces to a rule) and the audit trail.

One SQL schema, created and migrated by :meth:`SqlStore.migrate` (``cds-service init-db``), on
SQLite by default (WAL journal, full sync, safe under several gunicorn workers). A write returns only
after its transaction is committed, so whatever the HTTP layer acknowledged is on disk.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cds_service.hooks import FeedbackItem


class StorageError(Exception):
    """The database cannot be reached or used; the message names no patient data."""


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """A card the service returned, kept so feedback on it traces back to its rule."""

    card_uuid: str
    rule_id: str
    topic: str


class Store(Protocol):
    """What the service needs from a database."""

    def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version."""
        ...

    def ping(self) -> None:
        """Raise :class:`StorageError` unless the database answers."""
        ...

    def record_cards(
        self, service_id: str, hook_instance: str, cards: Sequence[IssuedCard], issued_at: datetime
    ) -> None:
        """Remember which rule produced each card of one hook call."""
        ...

    def record_feedback(self, service_id: str, items: Sequence[FeedbackItem], received_at: datetime) -> int:
        """Store feedback items atomically; return how many were new (repeats are kept once)."""
        ...

    def feedback(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """Stored feedback, oldest first, with the rule and topic of the card when known."""
        ...

    def put_session(self, session_id: str, data: str, expires_at: float) -> None:
        """Create or replace a server-side session (opaque text; ``expires_at`` is a Unix time)."""
        ...

    def get_session(self, session_id: str, now: float) -> str | None:
        """The session's data, or ``None`` when unknown or expired."""
        ...

    def delete_session(self, session_id: str) -> None:
        """Forget a session."""
        ...


MIGRATIONS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (
        1,
        (
            """CREATE TABLE IF NOT EXISTS issued_card (
                card_uuid TEXT PRIMARY KEY,
                service_id TEXT NOT NULL,
                hook_instance TEXT NOT NULL,
                rule_id TEXT NOT NULL,
                topic TEXT NOT NULL,
                issued_at TEXT NOT NULL
            )""",
            """CREATE TABLE IF NOT EXISTS feedback (
                item_hash TEXT PRIMARY KEY,
                service_id TEXT NOT NULL,
                card_uuid TEXT NOT NULL,
                outcome TEXT NOT NULL,
                outcome_timestamp TEXT NOT NULL,
                accepted_suggestions TEXT NOT NULL,
                override_system TEXT,
                override_code TEXT,
                document TEXT NOT NULL,
                received_at TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS feedback_card ON feedback (card_uuid)",
        ),
    ),
    (
        2,
        (
            """CREATE TABLE IF NOT EXISTS server_session (
                session_id TEXT PRIMARY KEY,
                data TEXT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS server_session_expiry ON server_session (expires_at)",
        ),
    ),
)


def _item_hash(service_id: str, item: FeedbackItem) -> str:
    canonical = json.dumps([service_id, item.document], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class SqliteStore:
    """:class:`Store` on a SQLite file; one connection per thread, WAL journal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        """Open ``sqlite:///relative/or/absolute/path``."""
        return cls(Path(url.removeprefix("sqlite:///")))

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=FULL")
                connection.execute("PRAGMA busy_timeout=10000")
            except (OSError, sqlite3.Error) as exc:
                raise StorageError(f"cannot open the SQLite database ({type(exc).__name__})") from None
            self._local.connection = connection
        return connection

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            raise StorageError(f"database error ({type(exc).__name__})") from None

    def migrate(self) -> int:
        """Apply pending migrations in order inside one transaction each."""
        with self._transaction() as db:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
        current = row[0] or 0
        for version, statements in MIGRATIONS:
            if version <= current:
                continue
            with self._transaction() as db:
                for statement in statements:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
            current = version
        return current

    def ping(self) -> None:
        """Run a trivial query."""
        try:
            self._connection().execute("SELECT 1 FROM schema_version LIMIT 1").fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"database not usable ({type(exc).__name__})") from None

    def record_cards(
        self, service_id: str, hook_instance: str, cards: Sequence[IssuedCard], issued_at: datetime
    ) -> None:
        """Insert one row per card; a repeated hook instance keeps the first rows."""
        if not cards:
            return
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO issued_card VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (c.card_uuid, service_id, hook_instance, c.rule_id, c.topic, issued_at.isoformat())
                    for c in cards
                ],
            )

    def record_feedback(self, service_id: str, items: Sequence[FeedbackItem], received_at: datetime) -> int:
        """Insert all items in one transaction; exact repeats are ignored."""
        rows = []
        for item in items:
            reason = (item.override_reason or {}).get("reason") or {}
            rows.append(
                (
                    _item_hash(service_id, item),
                    service_id,
                    item.card,
                    item.outcome,
                    item.outcome_timestamp,
                    json.dumps(list(item.accepted_suggestions)),
                    reason.get("system"),
                    reason.get("code"),
                    json.dumps(item.document, sort_keys=True),
                    received_at.isoformat(),
                )
            )
        with self._transaction() as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            return db.total_changes - before

    def feedback(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """All stored feedback joined to the rule of its card."""
        query = (
            "SELECT f.service_id, f.card_uuid, f.outcome, f.outcome_timestamp, f.accepted_suggestions,"
            " f.override_system, f.override_code, f.received_at, c.rule_id, c.topic, f.document"
            " FROM feedback f LEFT JOIN issued_card c ON c.card_uuid = f.card_uuid"
        )
        params: tuple[str, ...] = ()
        if service_id is not None:
            query += " WHERE f.service_id = ?"
            params = (service_id,)
        query += " ORDER BY f.received_at, f.item_hash"
        try:
            rows = self._connection().execute(query, params).fetchall()
        except sqlite3.Error as exc:
            raise StorageError(f"database error ({type(exc).__name__})") from None
        return [
            {
                "service": r[0],
                "card": r[1],
                "outcome": r[2],
                "outcomeTimestamp": r[3],
                "acceptedSuggestions": json.loads(r[4]),
                "overrideReason": {"system": r[5], "code": r[6]} if r[6] else None,
                "receivedAt": r[7],
                "ruleId": r[8],
                "topic": r[9],
                "item": json.loads(r[10]),
            }
            for r in rows
        ]

    def put_session(self, session_id: str, data: str, expires_at: float) -> None:
        """Upsert the session and drop expired ones."""
        with self._transaction() as db:
            db.execute("DELETE FROM server_session WHERE expires_at < ?", (expires_at - 86400 * 2,))
            db.execute(
                "INSERT INTO server_session VALUES (?, ?, ?) ON CONFLICT (session_id)"
                " DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at",
                (session_id, data, expires_at),
            )

    def get_session(self, session_id: str, now: float) -> str | None:
        """Read the session unless it expired."""
        try:
            row = (
                self._connection()
                .execute(
                    "SELECT data FROM server_session WHERE session_id = ? AND expires_at > ?",
                    (session_id, now),
                )
                .fetchone()
            )
        except sqlite3.Error as exc:
            raise StorageError(f"database error ({type(exc).__name__})") from None
        return None if row is None else str(row[0])

    def delete_session(self, session_id: str) -> None:
        """Delete the session row."""
        with self._transaction() as db:
            db.execute("DELETE FROM server_session WHERE session_id = ?", (session_id,))


def open_store(database_url: str) -> Store:
    """Open the store a database URL names."""
    if database_url.startswith("sqlite:///"):
        return SqliteStore.from_url(database_url)
    raise StorageError("PostgreSQL storage is not available in this build")

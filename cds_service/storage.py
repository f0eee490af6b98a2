"""Durable storage: feedback, the cards issued, the audit trail, the ``jti`` cache and sessions.

One schema, created and migrated by :meth:`SqlStore.migrate` (``cds-service init-db``) through
numbered migrations recorded in ``schema_version``, on two databases:

* SQLite (default, ``sqlite:///path``): WAL journal, ``synchronous=FULL``, one connection per
  thread and process, ``BEGIN IMMEDIATE`` transactions; safe under several gunicorn workers on one
  host;
* PostgreSQL (``postgresql://...``, psycopg 3): for several instances; migrations take an advisory
  lock so instances starting together do not race.

A write returns only after its transaction is committed, so whatever the HTTP layer acknowledged
is on disk. Patients appear in the audit trail only as a keyed hash (:func:`patient_ref`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from cds_service.config import ConfigError
from cds_service.hooks import FeedbackItem


class StorageError(Exception):
    """The database cannot be reached or used; the message names no patient data."""


@dataclass(frozen=True, slots=True)
class IssuedCard:
    """A card the service returned, kept so feedback on it traces back to its rule."""

    card_uuid: str
    rule_id: str
    topic: str


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One hook call, as the audit trail keeps it (no patient data but a keyed hash).

    Attributes:
        event_id: Unique id of the record.
        recorded_at: When the call finished (UTC).
        request_id: The request id also found in the logs.
        service_id: The CDS service called.
        hook_instance: The caller's hookInstance, when the request was valid enough to have one.
        patient_ref: Keyed hash of the patient id (see :func:`patient_ref`), when known.
        client: Name of the authenticated CDS client (``None`` with authentication off).
        tenant: The token's ``tenant`` claim, when given.
        status: HTTP status answered.
        outcome: ``cards``, ``no-cards``, ``invalid-request``, ``prefetch-unavailable``,
            ``error`` or ``rejected``.
        duration_ms: Time spent on the call.
        cards: The cards returned: uuid, rule id and topic code of each.
        fetched: Prefetch keys read from the FHIR server.
        knowledge_version: Version of the rule base that answered.
    """

    event_id: str
    recorded_at: datetime
    request_id: str
    service_id: str
    hook_instance: str | None
    patient_ref: str | None
    client: str | None
    tenant: str | None
    status: int
    outcome: str
    duration_ms: float
    cards: tuple[IssuedCard, ...]
    fetched: tuple[str, ...]
    knowledge_version: str


def patient_ref(key: bytes, patient_id: str) -> str:
    """The audit trail's patient identifier: HMAC-SHA256 of the id under the configured secret.

    Without the secret the hash cannot be linked back to a patient by trying ids.

    >>> patient_ref(b"k" * 32, "123")[:16]
    '6f6606f7bfa64af0'
    """
    return hmac.new(key, patient_id.encode("utf-8"), hashlib.sha256).hexdigest()


class Store(Protocol):
    """What the service needs from a database."""

    def migrate(self) -> int:
        """Create or upgrade the schema; return the schema version."""
        ...

    def ping(self) -> None:
        """Raise :class:`StorageError` unless the database answers."""
        ...

    def close(self) -> None:
        """Close this process's connections (before forking workers, or at exit)."""
        ...

    def record_cards(
        self, service_id: str, hook_instance: str, cards: Sequence[IssuedCard], issued_at: datetime
    ) -> None:
        """Remember which rule produced each card of one hook call."""
        ...

    def record_call(self, record: AuditRecord) -> None:
        """Store the audit record of one hook call and its issued cards in one transaction."""
        ...

    def audit(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The audit trail, oldest first."""
        ...

    def claim_jti(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        """Record a token id; False when the issuer used it before and it has not expired."""
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
    (
        3,
        (
            """CREATE TABLE IF NOT EXISTS audit_event (
                event_id TEXT PRIMARY KEY,
                recorded_at TEXT NOT NULL,
                request_id TEXT NOT NULL,
                service_id TEXT NOT NULL,
                hook_instance TEXT,
                patient_ref TEXT,
                client TEXT,
                tenant TEXT,
                status INTEGER NOT NULL,
                outcome TEXT NOT NULL,
                duration_ms DOUBLE PRECISION NOT NULL,
                cards TEXT NOT NULL,
                fetched TEXT NOT NULL,
                knowledge_version TEXT NOT NULL
            )""",
            "CREATE INDEX IF NOT EXISTS audit_event_time ON audit_event (recorded_at)",
            "CREATE INDEX IF NOT EXISTS audit_event_patient ON audit_event (patient_ref)",
            """CREATE TABLE IF NOT EXISTS jti_seen (
                issuer TEXT NOT NULL,
                jti TEXT NOT NULL,
                expires_at DOUBLE PRECISION NOT NULL,
                PRIMARY KEY (issuer, jti)
            )""",
            "CREATE INDEX IF NOT EXISTS jti_seen_expiry ON jti_seen (expires_at)",
        ),
    ),
)

_PURGE_EVERY_SECONDS = 60.0
# Connections inherited from a parent process are kept referenced, never used or finalised, so a
# worker cannot close or write on its parent's database session.
_INHERITED: list[Any] = []


def _item_hash(service_id: str, item: FeedbackItem) -> str:
    canonical = json.dumps([service_id, item.document], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class SqlStore:
    """:class:`Store` in portable SQL; subclasses supply connections and transactions.

    SQL is written with ``?`` placeholders; :attr:`placeholder` rewrites them per driver.
    """

    placeholder = "?"
    driver_errors: tuple[type[Exception], ...] = ()

    def __init__(self) -> None:
        self._local = threading.local()
        self._last_purge = 0.0

    def _sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is not None and getattr(self._local, "pid", None) != os.getpid():
            _INHERITED.append(connection)
            connection = None
        if connection is None:
            connection = self._connect()
            self._local.connection = connection
            self._local.pid = os.getpid()
        return connection

    def _connect(self) -> Any:
        raise NotImplementedError

    def _begin(self, connection: Any) -> Iterator[Any]:
        raise NotImplementedError

    def _forget_connection(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None and getattr(self._local, "pid", None) == os.getpid():
            with suppress(*self.driver_errors):
                connection.close()

    @contextmanager
    def _transaction(self, *, lock: str | None = None) -> Iterator[Any]:
        try:
            with contextmanager(self._begin)(self._connection()) as cursor:
                if lock is not None:
                    self._lock(cursor, lock)
                yield cursor
        except self.driver_errors as exc:
            self._on_error()
            raise StorageError(f"database error ({type(exc).__name__})") from None

    def _lock(self, cursor: Any, name: str) -> None:
        """Serialise a critical section across processes (SQLite's BEGIN IMMEDIATE already does)."""

    def _on_error(self) -> None:
        """React to a driver error (PostgreSQL drops the connection so the next call reconnects)."""

    def _read(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        try:
            cursor = self._connection().execute(self._sql(statement), tuple(params))
            return list(cursor.fetchall())
        except self.driver_errors as exc:
            self._on_error()
            raise StorageError(f"database error ({type(exc).__name__})") from None

    def close(self) -> None:
        """Close this thread's connection."""
        self._forget_connection()

    def migrate(self) -> int:
        """Apply pending migrations in order, one transaction each, under a migration lock."""
        current = 0
        for version, statements in MIGRATIONS:
            with self._transaction(lock="migrate") as db:
                db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = db.execute("SELECT MAX(version) FROM schema_version").fetchone()
                current = row[0] or 0
                if version <= current:
                    continue
                for statement in statements:
                    db.execute(statement)
                db.execute(self._sql("INSERT INTO schema_version (version) VALUES (?)"), (version,))
                current = version
        return current

    def ping(self) -> None:
        """Run a trivial query on the schema."""
        self._read("SELECT 1 FROM schema_version LIMIT 1")

    def _insert_cards(
        self, db: Any, service_id: str, hook_instance: str, cards: Sequence[IssuedCard], at: str
    ) -> None:
        for card in cards:
            db.execute(
                self._sql(
                    "INSERT INTO issued_card VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (card_uuid) DO NOTHING"
                ),
                (card.card_uuid, service_id, hook_instance, card.rule_id, card.topic, at),
            )

    def record_cards(
        self, service_id: str, hook_instance: str, cards: Sequence[IssuedCard], issued_at: datetime
    ) -> None:
        """Insert one row per card; a repeated hook instance keeps the first rows."""
        if not cards:
            return
        with self._transaction() as db:
            self._insert_cards(db, service_id, hook_instance, cards, issued_at.isoformat())

    def record_call(self, record: AuditRecord) -> None:
        """Insert the audit record and the cards it issued, atomically."""
        at = record.recorded_at.isoformat()
        cards = [{"uuid": c.card_uuid, "rule": c.rule_id, "topic": c.topic} for c in record.cards]
        with self._transaction() as db:
            db.execute(
                self._sql("INSERT INTO audit_event VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                (
                    record.event_id,
                    at,
                    record.request_id,
                    record.service_id,
                    record.hook_instance,
                    record.patient_ref,
                    record.client,
                    record.tenant,
                    record.status,
                    record.outcome,
                    round(record.duration_ms, 3),
                    json.dumps(cards, separators=(",", ":")),
                    json.dumps(list(record.fetched)),
                    record.knowledge_version,
                ),
            )
            if record.hook_instance is not None:
                self._insert_cards(db, record.service_id, record.hook_instance, record.cards, at)

    def audit(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit records, oldest first (the last ``limit`` when given)."""
        query = (
            "SELECT event_id, recorded_at, request_id, service_id, hook_instance, patient_ref, client,"
            " tenant, status, outcome, duration_ms, cards, fetched, knowledge_version FROM audit_event"
            " ORDER BY recorded_at DESC, event_id"
        )
        if limit is not None:
            query += f" LIMIT {int(limit)}"
        rows = self._read(query)
        names = (
            "eventId",
            "recordedAt",
            "requestId",
            "service",
            "hookInstance",
            "patientRef",
            "client",
            "tenant",
            "status",
            "outcome",
            "durationMs",
            "cards",
            "fetched",
            "knowledgeVersion",
        )
        result = []
        for row in reversed(rows):
            entry = dict(zip(names, row, strict=True))
            entry["cards"] = json.loads(entry["cards"])
            entry["fetched"] = json.loads(entry["fetched"])
            result.append(entry)
        return result

    def claim_jti(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        """Insert the token id unless a live row exists (an expired one is taken over)."""
        with self._transaction() as db:
            cursor = db.execute(
                self._sql(
                    "INSERT INTO jti_seen (issuer, jti, expires_at) VALUES (?, ?, ?)"
                    " ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at"
                    " WHERE jti_seen.expires_at < ?"
                ),
                (issuer, jti, expires_at, now),
            )
            claimed: bool = cursor.rowcount == 1
            if now - self._last_purge > _PURGE_EVERY_SECONDS:
                db.execute(self._sql("DELETE FROM jti_seen WHERE expires_at < ?"), (now,))
                self._last_purge = now
        return claimed

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
        inserted = 0
        statement = self._sql(
            "INSERT INTO feedback VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (item_hash) DO NOTHING"
        )
        with self._transaction() as db:
            for row in rows:
                inserted += max(db.execute(statement, row).rowcount, 0)
        return inserted

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
            for r in self._read(query, params)
        ]

    def put_session(self, session_id: str, data: str, expires_at: float) -> None:
        """Upsert the session and drop expired ones."""
        with self._transaction() as db:
            db.execute(
                self._sql("DELETE FROM server_session WHERE expires_at < ?"), (expires_at - 86400 * 2,)
            )
            db.execute(
                self._sql(
                    "INSERT INTO server_session VALUES (?, ?, ?) ON CONFLICT (session_id)"
                    " DO UPDATE SET data = excluded.data, expires_at = excluded.expires_at"
                ),
                (session_id, data, expires_at),
            )

    def get_session(self, session_id: str, now: float) -> str | None:
        """Read the session unless it expired."""
        rows = self._read(
            "SELECT data FROM server_session WHERE session_id = ? AND expires_at > ?", (session_id, now)
        )
        return None if not rows else str(rows[0][0])

    def delete_session(self, session_id: str) -> None:
        """Delete the session row."""
        with self._transaction() as db:
            db.execute(self._sql("DELETE FROM server_session WHERE session_id = ?"), (session_id,))


class SqliteStore(SqlStore):
    """:class:`Store` on a SQLite file; one connection per thread, WAL journal, full sync."""

    driver_errors = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    @classmethod
    def from_url(cls, url: str) -> SqliteStore:
        """Open ``sqlite:///relative/or/absolute/path``."""
        return cls(Path(url.removeprefix("sqlite:///")))

    def _connect(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")
            connection.execute("PRAGMA busy_timeout=10000")
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open the SQLite database ({type(exc).__name__})") from None
        return connection

    def _begin(self, connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")


class PostgresStore(SqlStore):
    """:class:`Store` on PostgreSQL through psycopg 3; one connection per thread and process."""

    placeholder = "%s"

    def __init__(self, url: str) -> None:
        import psycopg

        super().__init__()
        self.url = url
        self._psycopg = psycopg
        self.driver_errors = (psycopg.Error,)

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(
                self.url, autocommit=True, connect_timeout=5, options="-c statement_timeout=10000"
            )
        except self._psycopg.Error as exc:
            raise StorageError(f"cannot connect to PostgreSQL ({type(exc).__name__})") from None

    def _begin(self, connection: Any) -> Iterator[Any]:
        with connection.transaction():
            yield connection

    def _lock(self, cursor: Any, name: str) -> None:
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", (key,))

    def _on_error(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None and (connection.closed or connection.broken):
            self._forget_connection()


def open_store(database_url: str) -> SqlStore:
    """Open the store a database URL names."""
    if database_url.startswith("sqlite:///"):
        return SqliteStore.from_url(database_url)
    if database_url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(database_url)
    raise StorageError("unsupported database URL scheme")


def load_audit_key(key: str, key_file: Path | None) -> bytes | None:
    """The audit hash secret from the setting or its file, or ``None`` when neither is given."""
    if key:
        return key.encode("utf-8")
    if key_file is not None:
        try:
            secret = key_file.read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"CDS_AUDIT_KEY_FILE: cannot read the audit key ({exc.strerror})") from None
        if len(secret) < 32:
            raise ConfigError("CDS_AUDIT_KEY_FILE must hold at least 32 bytes")
        return secret
    return None

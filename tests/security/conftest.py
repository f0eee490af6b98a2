"""Fixtures of the security and storage tests: a PostgreSQL server per session, stores on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cds_service.storage import SqlStore, open_store
from tests.security.pg import fresh_database, postgres_server


@pytest.fixture(name="postgres_url", scope="session")
def _postgres_url() -> Iterator[str]:
    """A PostgreSQL server started for this test session (skipped, or failed in CI, without PostgreSQL)."""
    with postgres_server() as url:
        yield url


@pytest.fixture(name="database_url", params=["sqlite", "postgresql"])
def _database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    server: str = request.getfixturevalue("postgres_url")
    return fresh_database(server)


@pytest.fixture(name="store")
def _store(database_url: str) -> Iterator[SqlStore]:
    """A migrated store on each database."""
    store = open_store(database_url)
    store.migrate()
    yield store
    store.close()

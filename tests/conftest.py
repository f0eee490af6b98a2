"""Fixtures shared by the whole suite: settings -> app -> client, with a fixed evaluation date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.config import Settings, load_settings

FIXED_TODAY = date(2026, 12, 1)
PUBLIC_BASE = "http://cds.test"


@pytest.fixture(name="settings")
def _settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own SQLite file and a fixed public base URL."""
    return load_settings(
        {}, database_url=f"sqlite:///{tmp_path / 'cds.sqlite3'}", public_base_url=PUBLIC_BASE
    )


@pytest.fixture(name="app")
def _app(settings: Settings) -> Flask:
    """The application, deciding as of :data:`FIXED_TODAY`."""
    app = create_app(settings, today=lambda: FIXED_TODAY)
    app.testing = True
    return app


@pytest.fixture(name="client")
def _client(app: Flask) -> Iterator[FlaskClient]:
    """A Flask test client for the application."""
    with app.test_client() as client:
        yield client


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-golden`` rewrites the expected golden responses for review in the diff."""
    parser.addoption("--update-golden", action="store_true", help="rewrite tests/golden/cases/*/expected.json")


@pytest.fixture(name="update_golden")
def _update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite golden files instead of comparing."""
    return bool(request.config.getoption("--update-golden"))

"""Fixtures shared by the whole suite: settings -> app -> client, with a fixed evaluation date.

Authentication is switched off explicitly here (and for the service processes tests start), and
loopback FHIR servers are allowed, because these fixtures serve tests of everything but client
authentication and SSRF; ``tests/security`` tests those with their own settings.
"""

from __future__ import annotations

import os
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


@pytest.fixture(name="auth_off_environment", autouse=True, scope="session")
def _auth_off_environment() -> Iterator[None]:
    """Service processes and CLI runs started by tests get CDS_AUTH=off unless a test says otherwise."""
    previous = os.environ.get("CDS_AUTH")
    os.environ["CDS_AUTH"] = "off"
    yield
    if previous is None:
        os.environ.pop("CDS_AUTH", None)
    else:
        os.environ["CDS_AUTH"] = previous


@pytest.fixture(name="settings")
def _settings(tmp_path: Path) -> Settings:
    """Settings for one test: its own SQLite file, a fixed public base URL, auth off, loopback FHIR."""
    return load_settings(
        {},
        database_url=f"sqlite:///{tmp_path / 'cds.sqlite3'}",
        public_base_url=PUBLIC_BASE,
        auth=False,
        fhir_allow_loopback=True,
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
    parser.addoption(
        "--update-golden", action="store_true", help="rewrite tests/golden/cases/*/expected.json"
    )


@pytest.fixture(name="update_golden")
def _update_golden(request: pytest.FixtureRequest) -> bool:
    """True when the run should rewrite golden files instead of comparing."""
    return bool(request.config.getoption("--update-golden"))


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker of tests that read the shared FHIR data beside the repository."""
    config.addinivalue_line("markers", "shared_data: reads the FHIR bundles in ../shared/data")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``shared_data`` skip, with the reason, when ../shared/data is absent (fail in CI)."""
    from tests.support import SHARED_DATA

    if item.get_closest_marker("shared_data") is None or SHARED_DATA.is_dir():
        return
    reason = f"the shared FHIR data is not at {SHARED_DATA} (the workspace places it beside the repository)"
    if os.environ.get("CRLM_TEST_REQUIRE_ALL") == "1":
        pytest.fail(reason)
    pytest.skip(reason)

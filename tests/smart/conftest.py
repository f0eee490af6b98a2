"""Fixtures for the explanation-app tests: clinical scenarios, the stand-in EHR, the app on loopback.

Scenarios are the FHIR mapping's example bundles (``fhir_profiles/examples``), each given a patient
name for the banner (one with markup, to check escaping), plus a colorectal-cancer patient without
liver metastases from ``tests/smart/data``.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from cds_service.app import create_app
from cds_service.config import Settings, load_settings
from tests.conftest import FIXED_TODAY
from tests.smart.standin import CLIENT_ID, StandInEhr, running_standin
from tests.support import REPO

EXAMPLES = REPO / "fhir_profiles" / "examples"
DATA = Path(__file__).resolve().parent / "data"
SESSION_SECRET = "test-secret-for-the-smart-app-0123456789abcdef"


@dataclass(frozen=True)
class Scenario:
    """One clinical scenario: a patient record as a FHIR Bundle and the name the banner must show."""

    key: str
    bundle: dict[str, Any]
    patient_id: str
    name: str


def _with_name(bundle: dict[str, Any], given: str, family: str) -> dict[str, Any]:
    result = copy.deepcopy(bundle)
    for entry in result["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["name"] = [{"use": "official", "given": [given], "family": family}]
    return result


def _load(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return document


SCENARIO_FILES = {
    "dmmr-rectal": (EXAMPLES / "Bundle-crlm-single-gene-results.json", "Dana", "Mismatch"),
    "rectal-treated": (EXAMPLES / "Bundle-crlm-local-data-items.json", "Lior", "Rectum"),
    "r1-margin": (EXAMPLES / "Bundle-crlm-mcode-snomed.json", "Mira", "Margin"),
    "lung-extrahepatic": (EXAMPLES / "Bundle-crlm-icd10.json", "Ada <b>&amp;", "O'Lung"),
}


def load_scenarios() -> dict[str, Scenario]:
    """All scenarios, keyed by a short name."""
    scenarios: dict[str, Scenario] = {}
    for key, (path, given, family) in SCENARIO_FILES.items():
        bundle = _with_name(_load(path), given, family)
        patient = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
        scenarios[key] = Scenario(key, bundle, patient["id"], f"{given} {family}")
    no_liver = _load(DATA / "Bundle-crc-without-liver-metastases.json")
    scenarios["not-in-scope"] = Scenario("not-in-scope", no_liver, "crc-no-liver", "Noor Ostrander")
    return scenarios


@pytest.fixture(name="scenarios", scope="session")
def _scenarios() -> dict[str, Scenario]:
    """The clinical scenarios."""
    return load_scenarios()


@pytest.fixture(name="standin", scope="module")
def _standin(scenarios: dict[str, Scenario]) -> Iterator[StandInEhr]:
    """The stand-in EHR serving every scenario's record."""
    with running_standin() as ehr:
        for scenario in scenarios.values():
            ehr.add_record(scenario.bundle)
        yield ehr


@pytest.fixture(autouse=True)
def _no_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with a well-behaved stand-in EHR."""
    yield
    if "standin" in request.fixturenames:
        request.getfixturevalue("standin").faults.clear()


def smart_settings(database: Path, public_base_url: str, standin: StandInEhr, **overrides: Any) -> Settings:
    """Settings for the app under test: the stand-in EHR allowlisted, a client id, a fixed secret."""
    known = {f.name for f in dataclasses.fields(Settings)}
    values: dict[str, Any] = {
        k: v for k, v in {"auth": False, "fhir_allow_loopback": True}.items() if k in known
    }  # client authentication and the SSRF guard are tested in tests/security, when present
    values |= {
        "database_url": f"sqlite:///{database}",
        "public_base_url": public_base_url,
        "fhir_server_allowlist": (standin.fhir_base,),
        "smart_client_id": CLIENT_ID,
        "smart_session_secret": SESSION_SECRET,
        "smart_frame_ancestors": ("'self'", standin.ehr_base),
    }
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture(name="smart_app")
def _smart_app(tmp_path: Path, standin: StandInEhr) -> Flask:
    """The application configured for the stand-in EHR, for Flask test-client tests."""
    app = create_app(
        smart_settings(tmp_path / "cds.sqlite3", "http://cds.test", standin), today=lambda: FIXED_TODAY
    )
    app.testing = True
    return app


@dataclass
class LiveApp:
    """The application served on a loopback port (for the browser)."""

    base: str
    app: Flask


class _LateApp:
    """A WSGI callable whose application is set once the port is known."""

    target: Callable[..., Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.target is not None
        return self.target(environ, start_response)


@pytest.fixture(name="live_app", scope="module")
def _live_app(tmp_path_factory: pytest.TempPathFactory, standin: StandInEhr) -> Iterator[LiveApp]:
    """The application on ``http://127.0.0.1:<port>``, as the EHR and the browser reach it."""
    holder = _LateApp()
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    database = tmp_path_factory.mktemp("smart-live") / "cds.sqlite3"
    app = create_app(smart_settings(database, base, standin), today=lambda: FIXED_TODAY)
    holder.target = app.wsgi_app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(base, app)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def with_settings(app: Flask, **changes: Any) -> None:
    """Change settings of a running test app (the state object is frozen, so replace it)."""
    from cds_service.app import STATE_KEY

    state = app.extensions[STATE_KEY]
    app.extensions[STATE_KEY] = dataclasses.replace(
        state, settings=dataclasses.replace(state.settings, **changes)
    )

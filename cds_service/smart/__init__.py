"""The explanation app: a SMART on FHIR page linked from the cards (CDS Hooks link type ``smart``).

An EHR launches it from a card; it reads the patient's data from the EHR's FHIR server with the token
the EHR grants, runs the hook's own decision path (:meth:`DecisionPath.evaluate`) and shows the whole
picture on one server-rendered page: facts with their sources, the pathway, alternatives, warnings,
missing data and citations. Modules: :mod:`.views` (routes), :mod:`.oauth` (SMART client),
:mod:`.sessions` (server-side sessions), :mod:`.page` (page content), :mod:`.demo` (demo mode),
:mod:`.errorpages` (error answers).
See ``docs/smart-app.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from flask import Flask, current_app

from cds_service.config import Settings
from cds_service.logs import get_logger
from cds_service.smart.demo import DemoPatient, demo_folders, load_demo_patients
from cds_service.smart.sessions import SessionVault, new_secret

RUNTIME_KEY = "crlm_smart"


@dataclass(frozen=True, slots=True)
class SmartRuntime:
    """What the app's routes need, built once per process.

    Attributes:
        vault: Signed cookies and encrypted server-side sessions.
        http: HTTP session for real issuers (discovery and token calls).
        demo_patients: The example patients, in demo mode; empty otherwise.
    """

    vault: SessionVault
    http: requests.Session
    demo_patients: dict[str, DemoPatient]


def runtime() -> SmartRuntime:
    """The runtime of the current application."""
    result: SmartRuntime = current_app.extensions[RUNTIME_KEY]
    return result


def smart_app_enabled(settings: Settings) -> bool:
    """Whether the app can be launched here, so cards may link it."""
    return bool(settings.smart_client_id) or settings.smart_demo


def init_app(app: Flask) -> None:
    """Register the app (and, in demo mode, the demo) on ``app``; the store comes from its state."""
    from cds_service.app import STATE_KEY
    from cds_service.smart import demo, errorpages, views

    app_state = app.extensions[STATE_KEY]
    settings = app_state.settings
    secret = settings.smart_session_secret.encode("utf-8") if settings.smart_session_secret else new_secret()
    http = requests.Session()
    http.trust_env = False
    patients = load_demo_patients(demo_folders(settings.profiles_dir)) if settings.smart_demo else {}
    app.extensions[RUNTIME_KEY] = SmartRuntime(SessionVault(app_state.store, secret), http, patients)
    app.register_blueprint(views.bp)
    app.before_request(errorpages.routing_error)
    if settings.smart_demo:
        app.register_blueprint(demo.bp)
        get_logger().warning(
            "demo mode is on: /demo serves a stand-in EHR with example patients; not for patient data",
            extra={"event": "smart-demo"},
        )

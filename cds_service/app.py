"""Application factory: the one place that wires settings, knowledge, storage and routes.

``create_app()`` loads and validates everything the service needs before it serves a request (rule
base, service definitions, CodeSystems, FHIR models, database schema), so a broken deployment fails
at start-up with a clear message rather than on a patient's chart. gunicorn runs
``cds_service.app:create_app()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Flask

from cds_service import api, smart
from cds_service.cards import CardRenderer
from cds_service.config import Settings, load_settings
from cds_service.core import DecisionPolicy, Knowledge, load_knowledge
from cds_service.fhir_client import HttpFetcher
from cds_service.fhir_mapping import warm_up
from cds_service.logs import configure_logging
from cds_service.pipeline import DecisionPath
from cds_service.prefetch import Fetcher
from cds_service.services import Registry, load_registry
from cds_service.smart import smart_app_enabled
from cds_service.storage import Store, open_store

STATE_KEY = "crlm_cds"


@dataclass(frozen=True, slots=True)
class AppState:
    """What the routes need, built once per process.

    Attributes:
        settings: The validated settings.
        registry: CDS service definitions.
        knowledge: The rule base.
        path: The decision path.
        store: Durable storage.
        today: Returns the date decisions are made for (``date.today`` in production).
    """

    settings: Settings
    registry: Registry
    knowledge: Knowledge
    path: DecisionPath
    store: Store
    today: Callable[[], date]


def build_decision_path(settings: Settings, fetcher: Fetcher | None) -> tuple[Registry, DecisionPath]:
    """Load and validate the service definitions, rule base and CodeSystems; warm up FHIR models.

    ``fetcher`` is how missing prefetch is read from the EHR; ``None`` means offline (the CLI).
    """
    knowledge = load_knowledge(settings.profiles_dir)
    registry = load_registry(settings.profiles_dir)
    renderer = CardRenderer.from_profiles(settings.profiles_dir, smart_app=smart_app_enabled(settings))
    warm_up()
    path = DecisionPath(
        knowledge=knowledge,
        policy=DecisionPolicy(),
        renderer=renderer,
        fetcher=fetcher,
        fetch_budget_seconds=settings.fhir_total_budget,
    )
    return registry, path


def http_fetcher(settings: Settings) -> Fetcher:
    """The production FHIR fetcher, bounded by the settings."""
    return HttpFetcher(
        connect_timeout=settings.fhir_connect_timeout,
        read_timeout=settings.fhir_read_timeout,
        max_response_bytes=settings.fhir_max_response_bytes,
        max_pages=settings.fhir_max_pages,
    )


def build_state(
    settings: Settings,
    *,
    fetcher: Fetcher | None = None,
    store: Store | None = None,
    today: Callable[[], date] = date.today,
) -> AppState:
    """Everything the routes need; raises on any invalid artefact or unreachable storage."""
    registry, path = build_decision_path(settings, fetcher or http_fetcher(settings))
    if store is None:
        store = open_store(settings.database_url)
        store.migrate()
    return AppState(settings, registry, path.knowledge, path, store, today)


def create_app(settings: Settings | None = None, **state_overrides: Any) -> Flask:
    """Create the Flask application (``state_overrides`` go to :func:`build_state`, for tests)."""
    settings = settings or load_settings()
    logger = configure_logging(settings.log_level)
    state = build_state(settings, **state_overrides)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions[STATE_KEY] = state
    api.init_app(app)
    smart.init_app(app)
    logger.info("service ready", extra={"event": "startup"})
    return app

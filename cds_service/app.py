"""Application factory: the one place that wires settings, knowledge, storage and routes.

``create_app()`` loads and validates everything the service needs before it serves a request (rule
base, service definitions, CodeSystems, FHIR models, database schema), so a broken deployment fails
at start-up with a clear message rather than on a patient's chart. gunicorn runs it through
``cds_service.wsgi:app``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import Flask

from cds_service import api, smart
from cds_service.auth import Authenticator, build_authenticator
from cds_service.cards import CardRenderer
from cds_service.config import ConfigError, Settings, load_settings
from cds_service.core import DecisionPolicy, Knowledge, load_knowledge
from cds_service.fhir_client import FhirServerPolicy, HttpFetcher
from cds_service.fhir_mapping import warm_up
from cds_service.logs import configure_logging
from cds_service.metrics import Metrics
from cds_service.pipeline import DecisionPath
from cds_service.prefetch import Fetcher
from cds_service.services import Registry, load_registry
from cds_service.smart import smart_app_enabled
from cds_service.storage import Store, load_audit_key, open_store

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
        authenticator: Verifies CDS client JWTs; ``None`` when authentication is off.
        fetch_policy: Which ``fhirServer`` URLs and addresses may be read.
        audit_key: Secret of the audit trail's patient hash.
        metrics: Prometheus counters, or ``None`` when ``/metrics`` is off.
    """

    settings: Settings
    registry: Registry
    knowledge: Knowledge
    path: DecisionPath
    store: Store
    today: Callable[[], date]
    authenticator: Authenticator | None = None
    fetch_policy: FhirServerPolicy = field(default_factory=FhirServerPolicy)
    audit_key: bytes = b""
    metrics: Metrics | None = None


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
        policy=DecisionPolicy(
            timing_definition=settings.timing_definition,
            presentation_window_days=settings.presentation_window_days,
        ),
        renderer=renderer,
        fetcher=fetcher,
        fetch_budget_seconds=settings.fhir_total_budget,
        synthea_compat=settings.synthea_compat,
    )
    return registry, path


def fetch_policy(settings: Settings) -> FhirServerPolicy:
    """The FHIR server allowlist and address rules from the settings."""
    return FhirServerPolicy.create(
        settings.fhir_server_allowlist,
        allow_loopback=settings.fhir_allow_loopback,
        networks=settings.fhir_allowed_networks,
    )


def http_fetcher(
    settings: Settings, policy: FhirServerPolicy, extra_allowed: tuple[str, ...] = ()
) -> Fetcher:
    """The production FHIR fetcher, bounded by the settings and refusing what ``policy`` refuses."""
    return HttpFetcher(
        connect_timeout=settings.fhir_connect_timeout,
        read_timeout=settings.fhir_read_timeout,
        max_response_bytes=settings.fhir_max_response_bytes,
        max_pages=settings.fhir_max_pages,
        max_entries=settings.fhir_max_entries,
        policy=policy,
        extra_allowed=extra_allowed,
    )


def _audit_key(settings: Settings) -> bytes:
    key = load_audit_key(settings.audit_key, settings.audit_key_file)
    if key is not None:
        return key
    if settings.auth:
        raise ConfigError(
            "CDS_AUDIT_KEY or CDS_AUDIT_KEY_FILE is required when authentication is on: the audit "
            "trail identifies patients only by a keyed hash (e.g. `openssl rand -hex 32`)"
        )
    return secrets.token_bytes(32)


def build_state(
    settings: Settings,
    *,
    fetcher: Fetcher | None = None,
    store: Store | None = None,
    today: Callable[[], date] = date.today,
) -> AppState:
    """Everything the routes need; raises on any invalid setting, artefact or unreachable storage."""
    opened = store is None
    store = store or open_store(settings.database_url)
    authenticator = build_authenticator(settings, store)
    audit_key = _audit_key(settings)
    policy = fetch_policy(settings)
    extra = tuple(s for c in authenticator.clients for s in c.fhir_servers) if authenticator else ()
    registry, path = build_decision_path(settings, fetcher or http_fetcher(settings, policy, extra))
    if opened:
        store.migrate()
        store.close()
    metrics = Metrics(list(registry.services)) if settings.metrics else None
    return AppState(
        settings, registry, path.knowledge, path, store, today, authenticator, policy, audit_key, metrics
    )


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
    _warn_about_trust(state)
    smart.init_app(app)
    logger.info("service ready", extra={"event": "startup"})
    return app


def _warn_about_trust(state: AppState) -> None:
    """Say loudly at start-up when the service accepts calls it cannot attribute to a real client."""
    logger = configure_logging(state.settings.log_level)
    if state.authenticator is None:
        logger.warning(
            "AUTHENTICATION IS OFF (CDS_AUTH=off): any caller can use this service; "
            "for local development only, never with patient data",
            extra={"event": "auth-off"},
        )
        return
    for client in state.authenticator.clients:
        if client.demo:
            logger.warning(
                "trusting a demo CDS client whose private key is public; test and demo only",
                extra={"event": "demo-client", "client": client.name},
            )

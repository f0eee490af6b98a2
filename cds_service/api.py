"""The HTTP layer: CDS Hooks 2.0 routes, CORS, health checks and error responses.

The only module that touches ``flask.request``. Each view parses, delegates to the decision path or
the store, and serializes. Every error becomes an OperationOutcome with its proper 4xx (or 503);
no stack trace or patient data ever reaches a caller or a log line.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from cds_service.cards import card_uuid_for
from cds_service.errors import (
    CdsError,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PrefetchUnavailable,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    operation_outcome,
)
from cds_service.hooks import parse_feedback, parse_hook_request
from cds_service.logs import get_logger
from cds_service.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from cds_service.storage import AuditRecord, IssuedCard, StorageError, patient_ref

if TYPE_CHECKING:
    from cds_service.app import AppState

bp = Blueprint("cds", __name__)

_JSON_TYPES = ("application/json", "application/fhir+json")
_SAFE_REQUEST_ID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
_AUTHENTICATED_ENDPOINTS = frozenset({"cds.discovery", "cds.call_service", "cds.feedback"})
_METRIC_ENDPOINTS = {
    "cds.discovery": "discovery",
    "cds.call_service": "service",
    "cds.feedback": "feedback",
    "cds.healthz": "health",
    "cds.readyz": "health",
    "cds.metrics": "metrics",
}
_NOT_STRUCTURE = bytes(sorted(set(range(256)) - set(b'[]{}"')))
_OPEN_CLOSE = bytes.maketrans(b"[{]}", b"(())")
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
OPENAPI_FILE = Path(__file__).resolve().parent / "openapi.yaml"


def state() -> AppState:
    """The application state built at start-up."""
    from cds_service.app import STATE_KEY

    result: AppState = current_app.extensions[STATE_KEY]
    return result


def json_response(body: Any, status: int = 200, *, content_type: str = "application/json") -> Response:
    """Serialize ``body`` as compact JSON."""
    return Response(
        json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type=f"{content_type}; charset=utf-8",
    )


def base_url() -> str:
    """The public base URL: configured, else the one this request came in on."""
    configured = state().settings.public_base_url
    return configured or request.host_url.rstrip("/")


def json_nested_deeper_than(raw: bytes, limit: int) -> bool:
    """True when valid JSON text nests arrays and objects more than ``limit`` deep.

    Runs on bytes with C-speed operations only (no Python loop over the text), about 1 ms for a
    1 MB request: drop escape sequences, keep only brackets and quotes, drop adjacent
    quote pairs (strings without brackets; quotes remain only if some string holds a bracket, and
    then the text between alternate quotes is dropped), then remove innermost ``()`` pairs once per
    level; anything left after ``limit`` rounds is deeper.

    >>> json_nested_deeper_than(b'{"a": [[1], {"b": "[[[["}], "c": "x"}', 3)
    False
    >>> json_nested_deeper_than(b'[[[[]]]]', 3)
    True
    >>> json_nested_deeper_than(b'[["][", ["][", ["][", []]]]]', 3)
    True
    """
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    structure = raw.translate(None, _NOT_STRUCTURE).replace(b'""', b"")
    if b'"' in structure:
        structure = b"".join(structure.split(b'"')[::2])
    brackets = structure.translate(_OPEN_CLOSE)
    for _ in range(limit):
        if not brackets:
            return False
        brackets = brackets.replace(b"()", b"")
    return bool(brackets)


def read_json_body() -> Any:
    """Decode the request body as JSON, with proper 4xx errors for anything else."""
    mimetype = request.mimetype or ""
    if mimetype not in _JSON_TYPES:
        raise UnsupportedMediaType("CDS-415-01", "the body must be sent as application/json")
    raw = _read_body(state().settings.max_body_bytes)
    if not raw:
        raise InvalidRequest("CDS-400-01", "the request body is empty")
    try:
        document = decode_json(raw)
    except RecursionError:
        raise InvalidRequest("CDS-400-06", "the JSON body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("CDS-400-01", "the request body is not valid JSON") from None
    if json_nested_deeper_than(raw, state().settings.max_json_depth):
        raise InvalidRequest("CDS-400-06", "the JSON body is nested too deeply")
    return document


def _read_body(limit: int) -> bytes:
    """The raw body, refusing more than ``limit`` bytes however it is sent.

    With a Content-Length, Werkzeug refuses an oversized body before reading it. A chunked body has
    none, and the WSGI server's stream would silently stop at the limit, so it is read here up to
    one byte past the limit: a truncated document must never be decoded as if it were whole.
    """
    if request.content_length is not None:
        return request.get_data(cache=False)
    stream = request.environ.get("wsgi.input")
    if stream is None:
        return b""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(1 << 16, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise PayloadTooLarge("CDS-413-01", "the request body is larger than allowed")


def decode_json(raw: bytes) -> Any:
    """Decode JSON as ``json.loads`` does, faster: orjson first, the standard library for what it refuses.

    orjson decodes a large prefetch two to three times faster; what it refuses (invalid JSON, but
    also NaN, a byte order mark, UTF-16, nesting past 1024 levels) goes to ``json.loads``, so
    results and errors stay those of the standard library. (Pausing the garbage collector while
    decoding was tried: a little faster on huge bodies, but each worker's memory then kept growing.)
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)


@bp.get("/cds-services")
def discovery() -> Response:
    """CDS Hooks discovery: the published service definitions."""
    return json_response(state().registry.discovery)


@bp.post("/cds-services/<service_id>")
def call_service(service_id: str) -> Response:
    """Run one CDS service for a CDS Hooks request."""
    app_state = state()
    service = app_state.registry.get(service_id)
    g.service = service.id
    hook_request = parse_hook_request(
        read_json_body(), expected_hook=service.hook, prefetch_keys=service.prefetch
    )
    g.hook_instance = hook_request.hook_instance
    g.patient_ref = patient_ref(app_state.audit_key, hook_request.patient_id)
    refused_server = hook_request.fhir_server is not None and not _fhir_server_allowed(
        hook_request.fhir_server
    )
    if refused_server:
        get_logger().warning(
            "fhirServer not on the allowlist; it is not contacted",
            extra={"request_id": g.get("request_id"), "code": "CDS-FHIR-01"},
        )
        hook_request = dataclasses.replace(hook_request, fhir_server=None, fhir_authorization=None)
    try:
        evaluation = app_state.path.evaluate(
            hook_request, service, today=app_state.today(), base_url=base_url()
        )
    except PrefetchUnavailable as exc:
        if not refused_server:
            raise
        raise PrefetchUnavailable(
            "CDS-412-02",
            "required prefetch data is missing and fhirServer is not a FHIR server this service may "
            "read (not on its allowlist)",
            exc.details,
        ) from None
    g.issued = tuple(
        IssuedCard(card_uuid_for(hook_request.hook_instance, r.rule_id), r.rule_id, r.topic)
        for r in evaluation.decision.recommendations
    )
    g.cards = len(evaluation.response["cards"])
    g.fetched = list(evaluation.prefetch.fetched) or None
    return json_response(evaluation.response)


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    """Store CDS Hooks feedback; 200 only once it is committed."""
    app_state = state()
    service = app_state.registry.get(service_id)
    g.service = service.id
    items = parse_feedback(read_json_body())
    try:
        app_state.store.record_feedback(service.id, items, datetime.now(UTC))
    except StorageError as exc:
        raise ServiceUnavailable("CDS-503-02", "feedback could not be stored; please retry") from exc
    return json_response({})


def _fhir_server_allowed(fhir_server: str) -> bool:
    """The service-wide allowlist, plus the calling client's own FHIR servers."""
    app_state = state()
    extra: tuple[str, ...] = ()
    context = g.get("auth")
    if context is not None and app_state.authenticator is not None:
        extra = next(
            (c.fhir_servers for c in app_state.authenticator.clients if c.name == context.client), ()
        )
    return app_state.fetch_policy.allows_base(fhir_server, extra)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics (no patient data): request counts and latencies per endpoint and service."""
    collected = state().metrics
    if collected is None:
        raise NotFound("CDS-404-02", "no such endpoint")
    return Response(collected.exposition(), content_type=METRICS_CONTENT_TYPE)


@bp.get("/openapi.yaml")
def openapi() -> Response:
    """The OpenAPI description of this service, for integrators."""
    return Response(OPENAPI_FILE.read_bytes(), content_type="application/yaml; charset=utf-8")


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Readiness: knowledge loaded and storage reachable."""
    app_state = state()
    try:
        app_state.store.ping()
    except StorageError as exc:
        raise ServiceUnavailable("CDS-503-01", "storage is not reachable") from exc
    return json_response(
        {
            "status": "ready",
            "knowledgeVersion": app_state.knowledge.version,
            "services": len(app_state.registry.services),
        }
    )


@bp.get("/knowledge/sources/<source_id>")
def source_page(source_id: str) -> Response:
    """A short public page about a cited source that has no public URL of its own."""
    citation = state().knowledge.sources.get(source_id)
    if citation is None:
        raise NotFound("CDS-404-03", "no such source")
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(citation.label)}</title></head><body><main>"
        f"<h1>{html.escape(citation.label)}</h1>"
        f"<p>Document: {html.escape(citation.document)}</p>"
        f"<p>Section: {html.escape(citation.section)}</p>"
        + (f"<p>Evidence status: {html.escape(citation.status)}</p>" if citation.status else "")
        + "<p>One of the sources of the CRLM decision-support service's rule base, version "
        f"{html.escape(state().knowledge.version)}.</p></main></body></html>"
    )
    return Response(body, content_type="text/html; charset=utf-8")


def _request_id() -> str:
    supplied = request.headers.get("X-Request-Id", "")
    if 0 < len(supplied) <= 64 and set(supplied) <= _SAFE_REQUEST_ID:
        return supplied
    return str(uuid.uuid4())


def _before() -> Response | None:
    g.started = time.perf_counter()
    g.request_id = _request_id()
    if request.method == "OPTIONS":
        return Response(status=204)
    authenticator = state().authenticator
    if authenticator is not None and request.endpoint in _AUTHENTICATED_ENDPOINTS:
        g.auth = authenticator.authenticate(request.headers.get("Authorization"), request.path)
    return None


def _outcome(status: int, cards: int) -> str:
    if status == 200:
        return "cards" if cards else "no-cards"
    if status == 412:
        return "prefetch-unavailable"
    if status in {400, 413, 415}:
        return "invalid-request"
    return "error" if status >= 500 else "rejected"


def _audit(response: Response, duration_ms: float) -> Response:
    """Write the audit record of a hook call; a call that cannot be audited is not answered."""
    app_state = state()
    service_id = g.get("service")
    if request.endpoint != "cds.call_service" or service_id is None:
        return response
    context = g.get("auth")
    if app_state.authenticator is not None and context is None:
        return response
    issued: tuple[IssuedCard, ...] = g.get("issued", ()) if response.status_code == 200 else ()
    record = AuditRecord(
        event_id=str(uuid.uuid4()),
        recorded_at=datetime.now(UTC),
        request_id=g.get("request_id", ""),
        service_id=service_id,
        hook_instance=g.get("hook_instance"),
        patient_ref=g.get("patient_ref"),
        client=context.client if context else None,
        tenant=context.tenant if context else None,
        status=response.status_code,
        outcome=_outcome(response.status_code, g.get("cards") or 0),
        duration_ms=duration_ms,
        cards=issued,
        fetched=tuple(g.get("fetched") or ()),
        knowledge_version=app_state.knowledge.version,
    )
    try:
        app_state.store.record_call(record)
    except StorageError as exc:
        get_logger().error(
            "audit record not stored",
            extra={"request_id": g.get("request_id"), "code": "CDS-STORE-02", "reason": str(exc)},
        )
        if response.status_code < 500:
            return _error_response(
                ServiceUnavailable("CDS-503-03", "the call could not be recorded; please retry")
            )
    return response


def _cors(response: Response) -> Response:
    origins = state().settings.cors_origins
    origin = request.headers.get("Origin")
    if origin and ("*" in origins or origin.rstrip("/") in origins):
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
        if "*" not in origins:
            response.headers.add("Vary", "Origin")
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type, X-Request-Id"
        response.headers["Access-Control-Expose-Headers"] = "X-Request-Id"
        response.headers["Access-Control-Max-Age"] = "600"
    return response


def _after(response: Response) -> Response:
    started = g.get("started", time.perf_counter())
    response = _audit(response, (time.perf_counter() - started) * 1000)
    response.headers["X-Request-Id"] = g.get("request_id", "")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response = _cors(response)
    duration = time.perf_counter() - started
    collected = state().metrics
    if collected is not None and request.method != "OPTIONS":
        endpoint = _METRIC_ENDPOINTS.get(request.endpoint or "", "other")
        collected.observe(endpoint, g.get("service"), response.status_code, duration)
    context = g.get("auth")
    get_logger().info(
        "request",
        extra={
            "request_id": g.get("request_id"),
            "method": request.method,
            "path": request.url_rule.rule if request.url_rule else "unmatched",
            "service": g.get("service"),
            "hook_instance": g.get("hook_instance"),
            "client": context.client if context else None,
            "tenant": context.tenant if context else None,
            "status": response.status_code,
            "duration_ms": round(duration * 1000, 2),
            "cards": g.get("cards"),
            "fetched": g.get("fetched"),
        },
    )
    return response


def _error_response(error: CdsError) -> Response:
    response = json_response(error.to_operation_outcome(), error.status, content_type="application/fhir+json")
    if isinstance(error, MethodNotAllowed) and g.get("allowed_methods"):
        response.headers["Allow"] = g.allowed_methods
    return response


def _handle_cds_error(error: CdsError) -> Response:
    level = "warning" if error.status >= 500 or isinstance(error, Unauthorized) else "info"
    getattr(get_logger(), level)(
        "request rejected",
        extra={
            "request_id": g.get("request_id"),
            "code": error.code,
            "status": error.status,
            "reason": error.reason if isinstance(error, Unauthorized) else None,
        },
    )
    response = _error_response(error)
    if isinstance(error, Unauthorized):
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _handle_http_exception(error: HTTPException) -> Response:
    if isinstance(error, RequestEntityTooLarge):
        return _handle_cds_error(PayloadTooLarge("CDS-413-01", "the request body is larger than allowed"))
    if error.code == 405:
        allowed = getattr(error, "valid_methods", None) or []
        g.allowed_methods = ", ".join(sorted(allowed))
        return _handle_cds_error(MethodNotAllowed("CDS-405-01", "this method is not allowed here"))
    if error.code == 404:
        return _handle_cds_error(NotFound("CDS-404-02", "no such endpoint"))
    status = error.code or 400
    body = operation_outcome("processing", f"CDS-{status}-00: {error.name}")
    return json_response(body, status, content_type="application/fhir+json")


def _handle_unexpected(error: Exception) -> Response:
    get_logger().error(
        "internal error",
        extra={"request_id": g.get("request_id"), "code": "CDS-500-01", "reason": type(error).__name__},
    )
    body = operation_outcome(
        "exception", "CDS-500-01: internal error; the request id identifies it in the logs"
    )
    return json_response(body, 500, content_type="application/fhir+json")


def init_app(app: Flask) -> None:
    """Register the routes, CORS, request logging and error handlers on ``app``."""
    app.register_blueprint(bp)
    app.before_request(_before)
    app.after_request(_after)
    app.register_error_handler(CdsError, _handle_cds_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(Exception, _handle_unexpected)

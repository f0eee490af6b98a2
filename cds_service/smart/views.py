"""The explanation app's routes: EHR launch, OAuth callback, the page, and its error pages.

The flow (SMART App Launch 2.x, EHR launch, public client)::

    EHR ──/smart/launch?iss&launch──▶ allowlist check ─▶ iss/.well-known/smart-configuration
        ◀── 302 authorize (PKCE S256, state, launch, aud=iss) ── pending launch kept server-side
    EHR ──/smart/callback?code&state──▶ state + browser check ─▶ token exchange (code_verifier)
        ◀── 303 /smart/app/<context id>[#rule-…] ── token kept server-side, encrypted
    browser ──/smart/app/<context id>──▶ FHIR reads with the token (the hook's prefetch templates and
        fetcher) ─▶ DecisionPath.evaluate (the hook's own path) ─▶ the page

The cookie is ``HttpOnly; Secure; SameSite=None; Partitioned`` so that it also flows when the EHR
embeds the app in an iframe (a cross-site frame), including under third-party-cookie blocking
(CHIPS partitions it per top-level site, which is the EHR's for the whole launch).
"""

from __future__ import annotations

import dataclasses
import hmac
import re
import secrets
import uuid
from typing import Any

import requests
from flask import Blueprint, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from cds_service.api import base_url, state
from cds_service.config import is_allowed_fhir_server
from cds_service.errors import PrefetchUnavailable
from cds_service.hooks import FHIR_ID, parse_hook_request
from cds_service.logs import get_logger
from cds_service.pipeline import Evaluation
from cds_service.services import ServiceDefinition
from cds_service.smart import demo, errorpages
from cds_service.smart.errors import BadLaunch, Forbidden, NotAuthorised, NotAvailable, Upstream
from cds_service.smart.headers import security_headers
from cds_service.smart.inprocess import InProcessFetcher, WsgiAdapter
from cds_service.smart.oauth import authorize_url, discover, exchange_code, new_pkce, scopes_for
from cds_service.smart.page import build_page, patient_banner, rule_anchor, rule_from_app_context
from cds_service.smart.sessions import COOKIE_NAME, COOKIE_PATH

bp = Blueprint(
    "smart",
    __name__,
    url_prefix="/smart",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)
bp.after_request(security_headers)
errorpages.register(bp)

LAUNCH_SECONDS = 600
MAX_CONTEXT_SECONDS = 3600
GRACE_SECONDS = 3600
DIRECT_PARAMETERS = (
    "patient",
    "patientId",
    "patient_id",
    "fhirServer",
    "fhir_server",
    "fhirServiceUrl",
    "server",
)
_OAUTH_ERROR = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _runtime() -> Any:
    from cds_service.smart import runtime

    return runtime()


def _service() -> ServiceDefinition:
    return next(s for s in state().registry.services.values() if s.hook == "patient-view")


def _resource_types(service: ServiceDefinition) -> tuple[str, ...]:
    """Resource types the hook's prefetch templates read (the scopes the app asks for)."""
    found: list[str] = []
    for template in service.prefetch.values():
        resource_type = template.split("?", 1)[0].split("/", 1)[0]
        if resource_type not in found:
            found.append(resource_type)
    if any(t.startswith("Medication") for t in found) and "Medication" not in found:
        found.append("Medication")
    return tuple(found)


def _timeout() -> tuple[float, float]:
    settings = state().settings
    return settings.fhir_connect_timeout, settings.fhir_read_timeout


def _demo_session() -> requests.Session:
    """An HTTP session whose demo-issuer calls run in-process (see :mod:`.inprocess`)."""
    from flask import current_app

    session = requests.Session()
    session.trust_env = False
    session.mount(demo.demo_issuer().rsplit("/fhir", 1)[0] + "/", WsgiAdapter(current_app.wsgi_app))
    return session


def _http(is_demo: bool) -> requests.Session:
    if is_demo:
        return _demo_session()
    session: requests.Session = _runtime().http
    return session


def _browser_id() -> str | None:
    browser: str | None = _runtime().vault.browser_id(request.cookies.get(COOKIE_NAME))
    return browser


def _is_demo_issuer(iss: str) -> bool:
    return bool(state().settings.smart_demo) and iss == demo.demo_issuer()


def _valid_url(url: str) -> bool:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return (
        len(url) <= 2048 and parts.scheme in {"http", "https"} and bool(parts.netloc) and not parts.query
    ) and not parts.fragment


@bp.get("/launch")
def launch() -> WerkzeugResponse:
    """EHR launch: check the issuer, start PKCE and ``state``, send the browser to authorise."""
    settings = state().settings
    args = request.args
    iss = args.get("iss", "").rstrip("/")
    launch_code = args.get("launch", "")
    direct = [name for name in DIRECT_PARAMETERS if name in args]
    if not iss:
        raise BadLaunch(
            "SMART-400-01",
            "Open this app from the EHR",
            "The launch is incomplete: the EHR supplies the FHIR server (iss) and a launch code.",
        )
    if not _valid_url(iss):
        raise BadLaunch("SMART-400-06", "Invalid launch", "The FHIR server address (iss) is not a valid URL.")
    is_demo = _is_demo_issuer(iss)
    if direct and not is_demo:
        raise BadLaunch(
            "SMART-400-02",
            "Launch parameters refused",
            "This app only accepts an EHR launch; parameters that name a FHIR server or a patient "
            "directly are refused.",
        )
    if is_demo:
        client_id = demo.DEMO_CLIENT_ID
        if not launch_code and args.get("patient"):
            launch_code = demo.mint_launch(demo.require_patient(args["patient"]).id, None)
    else:
        if not is_allowed_fhir_server(settings, iss):
            raise Forbidden(
                "SMART-403-01",
                "This EHR is not allowed",
                f"The FHIR server that launched the app ({iss}) is not on this service's allowlist "
                "(CDS_FHIR_SERVER_ALLOWLIST). Ask the service's administrator.",
            )
        if not settings.smart_client_id:
            raise NotAvailable(
                "SMART-404-01",
                "The explanation app is not set up here",
                "This service has no SMART client id configured (CDS_SMART_CLIENT_ID).",
            )
        client_id = settings.smart_client_id
    if not launch_code or len(launch_code) > 2048 or not launch_code.isprintable():
        raise BadLaunch(
            "SMART-400-01",
            "Open this app from the EHR",
            "The launch is incomplete: the EHR supplies the FHIR server (iss) and a launch code.",
        )
    if is_demo:
        demo.require_launch(launch_code)
    config = discover(_http(is_demo), iss, _timeout())
    verifier, challenge = new_pkce()
    oauth_state = secrets.token_urlsafe(32)
    vault = _runtime().vault
    browser = _browser_id() or vault.new_id()
    redirect_uri = f"{base_url()}/smart/callback"
    vault.put(
        "launch",
        oauth_state,
        {
            "browser": browser,
            "iss": iss,
            "token_endpoint": config.token_endpoint,
            "verifier": verifier,
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "demo": is_demo,
        },
        LAUNCH_SECONDS,
    )
    target = authorize_url(
        config,
        client_id=client_id,
        redirect_uri=redirect_uri,
        launch=launch_code,
        scope=scopes_for(_resource_types(_service()), config.capabilities),
        state=oauth_state,
        code_challenge=challenge,
    )
    get_logger().info("smart launch", extra={"event": "smart-launch", "reason": "demo" if is_demo else "ehr"})
    response = redirect(target, code=302)
    _set_cookie(response, vault.cookie_value(browser))
    return response


def _set_cookie(response: WerkzeugResponse, value: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        value,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="None",
        partitioned=True,
    )


@bp.get("/callback")
def callback() -> WerkzeugResponse:
    """The authorization answer: check ``state`` and the browser, exchange the code, open the page."""
    vault = _runtime().vault
    oauth_state = request.args.get("state", "")
    pending = vault.get("launch", oauth_state) if 0 < len(oauth_state) <= 512 else None
    browser = _browser_id()
    if pending is None or browser is None or not hmac.compare_digest(str(pending["browser"]), browser):
        raise BadLaunch(
            "SMART-400-04",
            "This sign-in does not match a launch from this browser",
            "The state of the answer from the EHR does not match a launch started here (or it was "
            "already used or has expired). For safety nothing is shown. Please open the app again from "
            "the EHR.",
        )
    vault.delete("launch", oauth_state)
    error = request.args.get("error")
    if error is not None:
        shown = error if _OAUTH_ERROR.fullmatch(error) else "unknown error"
        raise NotAuthorised(
            "SMART-401-01",
            "The EHR did not authorise the app",
            f"The EHR's authorization server answered '{shown}'. Please open the app again from the EHR.",
        )
    code = request.args.get("code", "")
    if not code or len(code) > 4096:
        raise BadLaunch(
            "SMART-400-05", "The sign-in answer is incomplete", "The EHR sent no authorization code."
        )
    token = exchange_code(
        _http(bool(pending["demo"])),
        pending["token_endpoint"],
        code=code,
        redirect_uri=pending["redirect_uri"],
        client_id=pending["client_id"],
        code_verifier=pending["verifier"],
        timeout=_timeout(),
    )
    context_id = vault.new_id()
    lifetime = min(token.expires_in, MAX_CONTEXT_SECONDS)
    opened = rule_from_app_context(token.app_context)
    vault.put(
        "context",
        context_id,
        {
            "browser": browser,
            "iss": pending["iss"],
            "token": token.access_token,
            "scope": token.scope,
            "patient": token.patient,
            "client_id": pending["client_id"],
            "expires_at": vault.clock() + lifetime,
            "open": opened,
            "demo": pending["demo"],
        },
        lifetime + GRACE_SECONDS,
    )
    get_logger().info("smart authorised", extra={"event": "smart-authorised"})
    target = url_for("smart.page", context_id=context_id)
    if opened:
        target += "#" + rule_anchor(opened)
    return redirect(target, code=303)


def _context(context_id: str) -> dict[str, Any]:
    vault = _runtime().vault
    context = vault.get("context", context_id) if len(context_id) <= 128 else None
    if context is None:
        raise NotAvailable(
            "SMART-404-02",
            "This page is no longer available",
            "The explanation is shown only for a while after the EHR opened it. Please open it again "
            "from the EHR.",
        )
    browser = _browser_id()
    if browser is None or not hmac.compare_digest(str(context["browser"]), browser):
        raise Forbidden(
            "SMART-403-02",
            "This page belongs to another session",
            "It was opened from the EHR in another browser or session (or this browser blocks the "
            "app's cookie). Please open it again from the EHR.",
        )
    if vault.clock() >= float(context["expires_at"]):
        vault.delete("context", context_id)
        raise NotAuthorised(
            "SMART-401-04",
            "Your access has expired",
            "The EHR's access token for this page has expired. Please open the app again from the EHR.",
        )
    result: dict[str, Any] = context
    return result


def evaluate_context(context: dict[str, Any]) -> Evaluation:
    """Read the patient's data with the token and run the hook's own decision path on it."""
    app_state = state()
    service = _service()
    body = {
        "hook": service.hook,
        "hookInstance": str(uuid.uuid4()),
        "fhirServer": context["iss"],
        "fhirAuthorization": {
            "access_token": context["token"],
            "token_type": "Bearer",
            "expires_in": max(1, int(float(context["expires_at"]) - _runtime().vault.clock())),
            "scope": context["scope"] or "launch",
            "subject": context["client_id"],
            "patient": context["patient"],
        },
        "context": {"patientId": context["patient"]},
    }
    hook_request = parse_hook_request(body, expected_hook=service.hook)
    path = app_state.path
    if context["demo"]:
        path = dataclasses.replace(path, fetcher=InProcessFetcher(_demo_session()))
    try:
        return path.evaluate(hook_request, service, today=app_state.today(), base_url=base_url())
    except PrefetchUnavailable as exc:
        # The fetcher reports only a status line; 401/403 from the FHIR server means the token is no
        # longer accepted, which the clinician fixes by launching again; 404 alone means the server
        # does not have the patient, which trying again does not change.
        if any("HTTP 401" in d or "HTTP 403" in d for d in exc.details):
            raise NotAuthorised(
                "SMART-401-05",
                "The EHR no longer accepts this app's access",
                "The FHIR server refused the access token (it may have expired or been revoked). "
                "Please open the app again from the EHR.",
            ) from None
        if exc.details and all("HTTP 404" in d for d in exc.details):
            raise NotAvailable(
                "SMART-404-04",
                "The patient's record was not found",
                "The EHR's FHIR server answered that it does not have the record of the patient in "
                "context. Please open the app again from the patient's chart.",
            ) from None
        raise Upstream(
            "SMART-502-06",
            "The patient's record could not be read",
            "The EHR's FHIR server did not return the patient and their conditions. Please try again.",
        ) from None


@bp.get("/app/<context_id>")
def page(context_id: str) -> str:
    """The explanation page for the patient the EHR launched the app for."""
    context = _context(context_id)
    if not FHIR_ID.fullmatch(str(context["patient"])):
        raise BadLaunch("SMART-400-07", "No patient in context", "The EHR did not name a valid patient.")
    evaluation = evaluate_context(context)
    banner = patient_banner(evaluation.prefetch.documents.get("patient"), context["patient"])
    model = build_page(
        evaluation.facts,
        evaluation.decision,
        banner,
        today=state().today(),
        base_url=base_url(),
        opened_rule=context.get("open"),
    )
    return render_template(
        "smart/page.html", model=model, demo=state().settings.smart_demo, demo_data=bool(context["demo"])
    )

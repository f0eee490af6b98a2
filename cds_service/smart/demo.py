"""Demo mode: a stand-in EHR, SMART authorization server and FHIR server under ``/demo``.

For newcomers and sandboxes only (``CDS_SMART_DEMO=true``; off by default, and ``python3 dev.py
serve`` turns it on explicitly). It serves the shipped example patients: every JSON file in the
profiles' ``examples/`` folder and in the repository's ``examples/`` folder that is a FHIR Bundle
with one Patient or a CDS Hooks request with prefetch. The stand-in EHR page runs the real
``patient-view`` hook for each patient and offers each card's ``smart`` link, which launches the
explanation app exactly as an EHR would (``iss`` + ``launch``), through a real authorization-code
flow with PKCE against :func:`authorize` and :func:`token`.

Launch codes, authorization codes and access tokens are self-contained values signed with a key
derived from the session secret (valid across workers, short-lived, not single-use: good enough
for a demo, never for patient data). Every page says DEMO.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, redirect, render_template, request
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.wrappers import Response as WerkzeugResponse

from cds_service.api import base_url, json_response, state
from cds_service.cards import SMART_LAUNCH_PATH
from cds_service.hooks import FHIR_ID, parse_hook_request
from cds_service.smart import errorpages
from cds_service.smart.errors import BadLaunch, NotAvailable
from cds_service.smart.headers import security_headers
from cds_service.smart.oauth import pkce_challenge
from cds_service.smart.page import human_name

DEMO_PREFIX = "/demo"
DEMO_CLIENT_ID = "crlm-cds-demo"
CODE_SECONDS = 120
TOKEN_SECONDS = 3600
LAUNCH_SECONDS = 600
MAX_APP_CONTEXT = 512
_CODE_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_RESOURCE_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")

bp = Blueprint("smart_demo", __name__, url_prefix=DEMO_PREFIX, template_folder="templates")
bp.after_request(security_headers)
errorpages.register(bp)


@dataclass(frozen=True, slots=True)
class DemoPatient:
    """One example patient: its resources as a collection Bundle, and where it came from."""

    id: str
    name: str
    source: str
    bundle: dict[str, Any]

    def resources(self, resource_type: str) -> list[dict[str, Any]]:
        """The patient's resources of one type."""
        return [
            e["resource"] for e in self.bundle["entry"] if e["resource"].get("resourceType") == resource_type
        ]


def _entries_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Bundle entries (``fullUrl`` kept) of a Bundle, a request's prefetch, or a single resource."""
    if document.get("resourceType") == "Bundle":
        entries = document.get("entry") or []
        return [e for e in entries if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    if "hook" in document and isinstance(document.get("prefetch"), dict):
        found: list[dict[str, Any]] = []
        for value in document["prefetch"].values():
            if isinstance(value, dict):
                found.extend(_entries_of(value))
        return found
    if isinstance(document.get("resourceType"), str):
        return [{"resource": document}]
    return []


def load_demo_patients(folders: list[Path]) -> dict[str, DemoPatient]:
    """The example patients found in ``folders`` (files that are not one patient's record are skipped)."""
    patients: dict[str, DemoPatient] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.json")):
            try:
                document = json.loads(path.read_text("utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(document, dict):
                continue
            entries = _entries_of(document)
            people = [e["resource"] for e in entries if e["resource"].get("resourceType") == "Patient"]
            if len(people) != 1 or not FHIR_ID.fullmatch(str(people[0].get("id", ""))):
                continue
            patient = people[0]
            if patient["id"] in patients:
                continue
            patients[patient["id"]] = DemoPatient(
                id=patient["id"],
                name=human_name(patient),
                source=path.name,
                bundle={"resourceType": "Bundle", "type": "collection", "entry": entries},
            )
    return patients


def demo_folders(profiles_dir: Path) -> list[Path]:
    """Where example patients are looked for: the profiles' ``examples/`` and a checkout's ``examples/``."""
    return [profiles_dir / "examples", profiles_dir.parent / "examples"]


def demo_issuer() -> str:
    """The demo FHIR server's base URL for the current request (also the demo SMART issuer)."""
    return f"{base_url()}{DEMO_PREFIX}/fhir"


def _patients() -> dict[str, DemoPatient]:
    from cds_service.smart import runtime

    return runtime().demo_patients


def _signer(purpose: str) -> URLSafeTimedSerializer:
    from cds_service.smart import runtime

    return URLSafeTimedSerializer(runtime().vault.demo_key, salt=f"crlm-demo-{purpose}")


def mint_launch(patient_id: str, app_context: str | None) -> str:
    """A demo EHR launch code naming the patient and the card's ``appContext``."""
    return str(_signer("launch").dumps({"patient": patient_id, "appContext": app_context}))


def _read_launch(launch_code: str) -> dict[str, Any] | None:
    """The claims of a demo launch code, or ``None`` when it is not ours or has expired."""
    try:
        claims = _signer("launch").loads(launch_code, max_age=LAUNCH_SECONDS)
    except BadData:
        return None
    return claims if isinstance(claims, dict) else None


def require_patient(patient_id: str) -> DemoPatient:
    """The demo patient with this id; a 404 page when there is none."""
    patient = _patients().get(patient_id)
    if patient is None:
        raise NotAvailable(
            "SMART-404-03",
            "No such demo patient",
            "The demo has no example patient with this id. Choose a patient on the demo EHR's page "
            f"({DEMO_PREFIX}/).",
        )
    return patient


def require_launch(launch_code: str) -> DemoPatient:
    """The demo patient a launch code names; a 4xx page when the code is not valid or names nobody."""
    claims = _read_launch(launch_code)
    if claims is None:
        raise BadLaunch(
            "SMART-400-09",
            "This demo launch is not valid",
            "The launch code is not one the demo EHR issued, or it has expired (after ten minutes). "
            f"Open the patient again from the demo EHR's page ({DEMO_PREFIX}/).",
        )
    return require_patient(str(claims.get("patient", "")))


def launch_url(patient_id: str, app_context: str | None) -> str:
    """The app's launch URL as the demo EHR opens it for a card's ``smart`` link."""
    query = urlencode({"iss": demo_issuer(), "launch": mint_launch(patient_id, app_context)})
    return f"{base_url()}{SMART_LAUNCH_PATH}?{query}"


def _cards_for(patient: DemoPatient) -> list[dict[str, Any]]:
    """The cards the real ``patient-view`` service returns for this patient (the hook's own path)."""
    from cds_service.cli import request_from_bundle

    app_state = state()
    service = next(s for s in app_state.registry.services.values() if s.hook == "patient-view")
    raw = json.dumps(patient.bundle, sort_keys=True).encode("utf-8")
    body = request_from_bundle(patient.bundle, service, raw)
    body["context"]["userId"] = "Practitioner/demo-clinician"
    hook_request = parse_hook_request(body, expected_hook=service.hook)
    evaluation = app_state.path.evaluate(hook_request, service, today=app_state.today(), base_url=base_url())
    cards: list[dict[str, Any]] = evaluation.response["cards"]
    return cards


@bp.get("/")
def launcher() -> str:
    """The stand-in EHR: each example patient, the cards the hook returns, and their smart links."""
    rows = []
    for patient in _patients().values():
        cards = []
        for card in _cards_for(patient):
            smart = next((link for link in card.get("links", []) if link.get("type") == "smart"), None)
            app_context = smart.get("appContext") if smart else None
            cards.append(
                {
                    "summary": card["summary"],
                    "indicator": card["indicator"],
                    "link_label": smart["label"] if smart else None,
                    "open": f"{DEMO_PREFIX}/ehr/launch?" + urlencode(_launch_query(patient.id, app_context)),
                    "frame": f"{DEMO_PREFIX}/ehr/frame?" + urlencode(_launch_query(patient.id, app_context)),
                }
            )
        open_plain = f"{DEMO_PREFIX}/ehr/launch?" + urlencode({"patient": patient.id})
        rows.append({"patient": patient, "cards": cards, "open": open_plain})
    return render_template("smart/demo_launcher.html", rows=rows, issuer=demo_issuer(), demo=True)


def _launch_query(patient_id: str, app_context: str | None) -> dict[str, str]:
    query = {"patient": patient_id}
    if app_context:
        query["appContext"] = app_context
    return query


def _launch_args() -> tuple[DemoPatient, str | None]:
    """The demo patient and the card's ``appContext`` of a demo EHR link; 4xx pages for anything else."""
    patient = require_patient(request.args.get("patient", ""))
    app_context = request.args.get("appContext") or None
    if app_context is not None and (len(app_context) > MAX_APP_CONTEXT or not app_context.isprintable()):
        raise BadLaunch(
            "SMART-400-08",
            "This link's card context is not valid",
            f"The link's appContext is longer than {MAX_APP_CONTEXT} characters or is not plain text. "
            f"Open the patient again from the demo EHR's page ({DEMO_PREFIX}/).",
        )
    return patient, app_context


@bp.get("/ehr/launch")
def ehr_launch() -> WerkzeugResponse:
    """Open the app for a patient the way an EHR does: a new launch code, then ``iss`` + ``launch``."""
    patient, app_context = _launch_args()
    return redirect(launch_url(patient.id, app_context), code=303)


@bp.get("/ehr/frame")
def ehr_frame() -> str:
    """A stand-in EHR screen that embeds the launched app in an iframe."""
    patient, app_context = _launch_args()
    return render_template(
        "smart/demo_frame.html", patient=patient, src=launch_url(patient.id, app_context), demo=True
    )


@bp.get("/fhir/.well-known/smart-configuration")
def smart_configuration() -> Response:
    """The demo issuer's SMART configuration."""
    base = f"{base_url()}{DEMO_PREFIX}"
    return json_response(
        {
            "issuer": f"{base}/fhir",
            "authorization_endpoint": f"{base}/auth/authorize",
            "token_endpoint": f"{base}/auth/token",
            "grant_types_supported": ["authorization_code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": ["launch", "patient/*.rs", "patient/*.read"],
            "response_types_supported": ["code"],
            "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "permission-v2"],
        }
    )


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status)


@bp.get("/auth/authorize")
def authorize() -> WerkzeugResponse:
    """Authorise the app for the launch's patient and send the browser back with a code.

    An unknown client or redirect URI is told to the person in the browser (an error page), never
    sent on to that URI (RFC 6749 §4.1.2.1); every other problem goes back to the app as an error.
    """
    args = request.args
    redirect_uri = args.get("redirect_uri", "")
    expected_redirect = f"{base_url()}/smart/callback"
    if args.get("client_id") != DEMO_CLIENT_ID or redirect_uri != expected_redirect:
        raise BadLaunch(
            "SMART-400-10",
            "Unknown app",
            "The demo authorization server only serves the explanation app of this service, with its "
            f"own callback address. Open a patient from the demo EHR's page ({DEMO_PREFIX}/).",
        )
    problems = []
    if args.get("response_type") != "code":
        problems.append("response_type must be code")
    if args.get("code_challenge_method") != "S256" or not args.get("code_challenge"):
        problems.append("PKCE with S256 is required")
    if args.get("aud") != demo_issuer():
        problems.append("aud must be the demo FHIR server")
    launch = _read_launch(args.get("launch", ""))
    if launch is None:
        problems.append("unknown or expired launch")
    elif launch.get("patient") not in _patients():
        problems.append("the launch names no demo patient")
    query: dict[str, str] = {"state": args.get("state", "")}
    if problems or launch is None:
        query |= {"error": "invalid_request", "error_description": "; ".join(problems)}
    else:
        query["code"] = _signer("code").dumps(
            {
                "patient": launch["patient"],
                "appContext": launch.get("appContext"),
                "challenge": args["code_challenge"],
                "redirect_uri": redirect_uri,
                "scope": args.get("scope", ""),
            }
        )
    return redirect(f"{redirect_uri}?{urlencode(query)}", code=302)


@bp.post("/auth/token")
def token() -> Response:
    """Exchange a code for an access token, verifying the PKCE code verifier."""
    form = request.form
    if form.get("grant_type") != "authorization_code" or form.get("client_id") != DEMO_CLIENT_ID:
        return _oauth_error("invalid_request", "authorization_code grant for the demo client only")
    try:
        code = _signer("code").loads(form.get("code", ""), max_age=CODE_SECONDS)
    except BadData:
        return _oauth_error("invalid_grant", "unknown or expired code")
    if not isinstance(code, dict) or form.get("redirect_uri") != code.get("redirect_uri"):
        return _oauth_error("invalid_grant", "redirect_uri does not match")
    verifier = form.get("code_verifier", "")
    if not _CODE_VERIFIER.fullmatch(verifier) or pkce_challenge(verifier) != code.get("challenge"):
        return _oauth_error("invalid_grant", "PKCE verification failed")
    body: dict[str, Any] = {
        "access_token": _signer("token").dumps({"patient": code["patient"]}),
        "token_type": "Bearer",
        "expires_in": TOKEN_SECONDS,
        "scope": code["scope"],
        "patient": code["patient"],
        "need_patient_banner": True,
    }
    if code.get("appContext"):
        body["appContext"] = code["appContext"]
    return json_response(body)


def _authorised_patient() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        claims = _signer("token").loads(header.removeprefix("Bearer "), max_age=TOKEN_SECONDS)
    except BadData:
        return None
    return claims.get("patient") if isinstance(claims, dict) else None


def _fhir_error(status: int, code: str, text: str) -> Response:
    issue = {"severity": "error", "code": code, "diagnostics": text}
    body = {"resourceType": "OperationOutcome", "issue": [issue]}
    return json_response(body, status, content_type="application/fhir+json")


@bp.get("/fhir/<resource_type>/<resource_id>")
def fhir_read(resource_type: str, resource_id: str) -> Response:
    """Read a resource of the authorised patient's record."""
    patient_id = _authorised_patient()
    if patient_id is None:
        return _fhir_error(401, "login", "a valid demo access token is required")
    patient = _patients().get(patient_id)
    found = [r for r in patient.resources(resource_type) if r.get("id") == resource_id] if patient else []
    if not found:
        return _fhir_error(404, "not-found", "no such resource in the authorised patient's record")
    return json_response(found[0], content_type="application/fhir+json")


@bp.get("/fhir/<resource_type>")
def fhir_search(resource_type: str) -> Response:
    """Search one resource type by ``patient``, within the authorised patient's record."""
    patient_id = _authorised_patient()
    if patient_id is None:
        return _fhir_error(401, "login", "a valid demo access token is required")
    if not _RESOURCE_TYPE.fullmatch(resource_type):
        return _fhir_error(404, "not-supported", "no such resource type")
    wanted_patient = request.args.get("patient")
    if not wanted_patient:
        return _fhir_error(400, "invalid", "the demo server searches by patient only")
    if wanted_patient != patient_id:
        return _fhir_error(403, "forbidden", "the token is for another patient")
    patient = _patients().get(patient_id)
    if patient is None:
        return _fhir_error(404, "not-found", "the token's patient is not among the demo patients")
    wanted = {resource_type} | ({"Medication"} if resource_type.startswith("Medication") else set())
    entries = [e for e in patient.bundle["entry"] if e["resource"].get("resourceType") in wanted]
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
    if entries:
        bundle["entry"] = entries
    return json_response(bundle, content_type="application/fhir+json")

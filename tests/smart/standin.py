"""A stand-in EHR for the explanation-app tests: SMART authorization server, FHIR server, EHR frame.

A real HTTP server on loopback, independent of the service's own demo code, so the app's SMART client
is tested against a second implementation: ``.well-known/smart-configuration``, ``authorize`` (auto-
approves, or misbehaves on request), ``token`` with PKCE S256 verification and one-time codes, FHIR
reads and searches restricted to the token's patient, and an EHR screen that embeds a URL in an
iframe. :attr:`StandInEhr.faults` switches misbehaviours on for one test.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "crlm-test-client"


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


@dataclass
class StandInEhr:
    """State of the stand-in EHR.

    Attributes:
        records: Patient id -> list of its resources.
        faults: Misbehaviours for the current test: ``wrong_state``, ``deny``, ``no_token``,
            ``no_patient``, ``no_s256``, ``other_patient_resource``, ``reject_tokens``.
        launches: Launch code -> (patient id, appContext or None).
        authorize_requests: Query parameters of every authorization request.
        token_requests: Form parameters of every token request.
        fhir_requests: (path with query, Authorization header) of every FHIR request.
        base: ``http://127.0.0.1:<port>``; ``fhir_base`` is ``base + "/fhir"``.
        ehr_base: The same server under ``localhost``, a different site from the app's 127.0.0.1.
    """

    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    faults: set[str] = field(default_factory=set)
    launches: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    authorize_requests: list[dict[str, str]] = field(default_factory=list)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    fhir_requests: list[tuple[str, str | None]] = field(default_factory=list)
    base: str = ""
    ehr_base: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def fhir_base(self) -> str:
        """The FHIR base URL, which is also the SMART issuer."""
        return f"{self.base}/fhir"

    def add_record(self, bundle: dict[str, Any]) -> str:
        """Serve the resources of a one-patient Bundle; return the patient id."""
        resources = [e["resource"] for e in bundle.get("entry", []) if isinstance(e.get("resource"), dict)]
        patient = next(r for r in resources if r.get("resourceType") == "Patient")
        self.records[patient["id"]] = resources
        return str(patient["id"])

    def new_launch(self, patient_id: str, app_context: str | None = None) -> str:
        """Register an EHR launch for a patient (as an EHR does before opening a smart link)."""
        code = secrets.token_urlsafe(16)
        self.launches[code] = (patient_id, app_context)
        return code

    def launch_url(self, app_launch_url: str, patient_id: str, app_context: str | None = None) -> str:
        """The URL an EHR opens for a smart link: the link's url with ``iss`` and ``launch``."""
        query = urlencode({"iss": self.fhir_base, "launch": self.new_launch(patient_id, app_context)})
        return f"{app_launch_url}?{query}"

    def frame_url(self, src: str) -> str:
        """An EHR screen (on ``localhost``, cross-site to the app) embedding ``src`` in an iframe."""
        return f"{self.ehr_base}/ehr/frame?" + urlencode({"src": src})

    def reject_all_tokens(self) -> None:
        """Make the FHIR server refuse every token issued so far (as after expiry)."""
        with self._lock:
            self.tokens.clear()

    # WSGI -------------------------------------------------------------------------------------

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        path = request.path
        if path == "/fhir/.well-known/smart-configuration":
            response = self._configuration()
        elif path == "/auth/authorize":
            response = self._authorize(request)
        elif path == "/auth/token" and request.method == "POST":
            response = self._token(request)
        elif path.startswith("/fhir/"):
            response = self._fhir(request)
        elif path == "/ehr/frame":
            src = html.escape(request.args.get("src", ""), quote=True)
            body = (
                "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
                "<title>Stand-in EHR</title></head>"
                f"<body><main><h1>Stand-in EHR</h1><iframe id='app' title='CRLM app' src='{src}' "
                "style='width:100%;height:700px'></iframe></main></body></html>"
            )
            response = Response(body, content_type="text/html; charset=utf-8")
        else:
            response = Response("not found", status=404)
        return response(environ, start_response)

    def _configuration(self) -> Response:
        document: dict[str, Any] = {
            "issuer": self.fhir_base,
            "authorization_endpoint": f"{self.base}/auth/authorize",
            "token_endpoint": f"{self.base}/auth/token",
            "capabilities": ["launch-ehr", "client-public", "context-ehr-patient", "permission-v2"],
            "code_challenge_methods_supported": ["plain"] if "no_s256" in self.faults else ["S256"],
            "grant_types_supported": ["authorization_code"],
        }
        return Response(json.dumps(document), content_type="application/json")

    def _authorize(self, request: Request) -> Response:
        args = dict(request.args.items())
        self.authorize_requests.append(args)
        redirect_uri = args.get("redirect_uri", "")
        state = args.get("state", "")
        if "wrong_state" in self.faults:
            state = "not-the-state-the-app-sent"
        launch = self.launches.get(args.get("launch", ""))
        ok = (
            args.get("client_id") == CLIENT_ID
            and args.get("response_type") == "code"
            and args.get("code_challenge_method") == "S256"
            and bool(args.get("code_challenge"))
            and args.get("aud") == self.fhir_base
            and launch is not None
        )
        if "deny" in self.faults or not ok or launch is None:
            query = {"error": "access_denied", "state": state}
        else:
            code = secrets.token_urlsafe(16)
            self.codes[code] = {
                "patient": launch[0],
                "appContext": launch[1],
                "challenge": args["code_challenge"],
                "redirect_uri": redirect_uri,
                "scope": args.get("scope", ""),
            }
            query = {"code": code, "state": state}
        return Response(status=302, headers={"Location": f"{redirect_uri}?{urlencode(query)}"})

    def _token(self, request: Request) -> Response:
        form = dict(request.form.items())
        self.token_requests.append(form)
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != CLIENT_ID
            or form.get("redirect_uri") != grant["redirect_uri"]
            or s256(form.get("code_verifier", "")) != grant["challenge"]
        ):
            return Response(
                json.dumps({"error": "invalid_grant"}), status=400, content_type="application/json"
            )
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = grant["patient"]
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": grant["scope"],
            "patient": grant["patient"],
        }
        if grant["appContext"]:
            body["appContext"] = grant["appContext"]
        if "no_token" in self.faults:
            del body["access_token"]
        if "no_patient" in self.faults:
            del body["patient"]
        return Response(json.dumps(body), content_type="application/json")

    def _fhir(self, request: Request) -> Response:
        authorization = request.headers.get("Authorization")
        self.fhir_requests.append((request.full_path.rstrip("?"), authorization))
        token = (authorization or "").removeprefix("Bearer ")
        with self._lock:
            patient_id = self.tokens.get(token)
        if patient_id is None or "reject_tokens" in self.faults:
            return _outcome(401, "login", "invalid or expired token")
        parts = request.path.removeprefix("/fhir/").split("/")
        resources = self.records.get(patient_id, [])
        if len(parts) == 2:
            resource_type, resource_id = parts
            if resource_type == "Patient" and resource_id != patient_id:
                return _outcome(403, "forbidden", "the token is for another patient")
            found = [
                r for r in resources if r["resourceType"] == resource_type and r.get("id") == resource_id
            ]
            if not found:
                return _outcome(404, "not-found", "no such resource")
            resource = dict(found[0])
            if resource_type == "Patient" and "other_patient_resource" in self.faults:
                resource["id"] = "someone-else"
            return Response(json.dumps(resource), content_type="application/fhir+json")
        if request.args.get("patient") != patient_id:
            return _outcome(403, "forbidden", "the token is for another patient")
        wanted = {parts[0]} | ({"Medication"} if parts[0].startswith("Medication") else set())
        entries = [{"resource": r} for r in resources if r["resourceType"] in wanted]
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
        if entries:
            bundle["entry"] = entries
        return Response(json.dumps(bundle), content_type="application/fhir+json")


def _outcome(status: int, code: str, text: str) -> Response:
    body = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": code, "diagnostics": text}],
    }
    return Response(json.dumps(body), status=status, content_type="application/fhir+json")


@contextmanager
def running_standin() -> Iterator[StandInEhr]:
    """Serve a :class:`StandInEhr` on a free loopback port for the duration of the block."""
    ehr = StandInEhr()
    server = make_server("127.0.0.1", 0, ehr.wsgi, threaded=True)
    ehr.base = f"http://127.0.0.1:{server.server_port}"
    ehr.ehr_base = f"http://localhost:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ehr
    finally:
        server.shutdown()
        thread.join(timeout=5)

"""Bad input to every /smart and /demo route ends on a clear 4xx, never a 5xx, a traceback or a leak.

People's pages (the app, the stand-in EHR, the authorization page) answer with the app's HTML error
page; the demo's machine endpoints (FHIR server, token endpoint) answer with a FHIR OperationOutcome
(the token endpoint's OAuth refusals keep the RFC 6749 error body SMART clients parse). Every test
also checks the captured logs: no traceback, no internal error, no patient id or name.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cds_service.app import create_app
from cds_service.logs import LOGGER_NAME, JsonFormatter
from cds_service.smart import demo, runtime
from tests.conftest import FIXED_TODAY
from tests.smart.conftest import smart_settings, with_settings
from tests.smart.standin import StandInEhr

BASE = "http://127.0.0.1:8080"  # loopback: the only host where the demo issuer may use plain http
ISSUER = f"{BASE}/demo/fhir"
GHOST = "ghost-patient-4711"
KNOWN = "crlm-single"
LONG = "x" * 5000


@pytest.fixture(name="demo_app")
def _demo_app(tmp_path: Path, standin: StandInEhr) -> Flask:
    """The application in demo mode (and set up for the stand-in EHR), for the test client."""
    settings = smart_settings(tmp_path / "cds.sqlite3", BASE, standin, smart_demo=True, max_body_bytes=4096)
    app = create_app(settings, today=lambda: FIXED_TODAY)
    app.testing = True
    return app


@pytest.fixture(name="client")
def _client(demo_app: Flask) -> FlaskClient:
    """A browser-like test client of the demo application (it keeps cookies)."""
    return demo_app.test_client()


@pytest.fixture(name="logs")
def _logs(demo_app: Flask) -> Iterator[io.StringIO]:
    """The service's log lines during the test; afterwards checked for tracebacks and patient data."""
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield sink
    finally:
        logger.removeHandler(handler)
    text = sink.getvalue()
    assert "Traceback" not in text and "internal error" not in text and "-500-" not in text, text
    with demo_app.app_context():
        patients = runtime().demo_patients.values()
        secrets = [GHOST, *(p.id for p in patients), *(p.name for p in patients if p.name)]
    leaked = [s for s in secrets if s in text and s != "Name not recorded"]
    assert leaked == [], text


def assert_html_error(response: TestResponse, status: int, code: str) -> str:
    """The app's HTML error page: status, code, title, strict CSP; no traceback, no submitted patient id."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:400]
    assert response.mimetype == "text/html"
    assert code in text and '<h1 id="error-title">' in text
    assert "Traceback" not in text and 'File "' not in text and GHOST not in text
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "Location" not in response.headers
    return text


def assert_outcome(response: TestResponse, status: int, issue: str, code: str = "") -> dict[str, Any]:
    """A FHIR OperationOutcome with the status, the issue code and, when given, the stable code."""
    assert response.status_code == status, response.get_data(as_text=True)[:400]
    assert response.mimetype == "application/fhir+json"
    body: dict[str, Any] = response.get_json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == issue and code in body["issue"][0]["diagnostics"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def signed(demo_app: Flask, purpose: str, claims: dict[str, Any]) -> str:
    """A value signed as the demo signs its launch codes, authorization codes and tokens."""
    with demo_app.test_request_context(base_url=BASE):
        return str(demo._signer(purpose).dumps(claims))


HTML_CASES = [
    ("GET", f"/smart/launch?iss={ISSUER}&patient={GHOST}", 404, "SMART-404-03"),
    ("GET", f"/smart/launch?iss={ISSUER}&patient={LONG}", 404, "SMART-404-03"),
    ("GET", f"/smart/launch?iss={ISSUER}&launch=garbage", 400, "SMART-400-09"),
    ("GET", f"/smart/launch?iss={ISSUER}&launch={LONG}", 400, "SMART-400-01"),
    ("GET", f"/smart/launch?iss={ISSUER}", 400, "SMART-400-01"),
    ("GET", "/smart/launch?iss=http://[::1/fhir&launch=x", 400, "SMART-400-06"),
    ("GET", "/smart/launch?iss=%00&launch=x", 400, "SMART-400-06"),
    ("GET", f"/smart/launch?iss=https://{LONG}.example.org/fhir&launch=x", 400, "SMART-400-06"),
    (
        "GET",
        f"/smart/launch?iss=https://other.example.org/fhir&launch=x&patient={GHOST}",
        400,
        "SMART-400-02",
    ),
    ("POST", "/smart/launch", 405, "SMART-405-00"),
    ("GET", "/smart/callback", 400, "SMART-400-04"),
    ("GET", f"/smart/callback?state={LONG}&code=x", 400, "SMART-400-04"),
    ("GET", "/smart/callback?state=abc&error=%00%ff", 400, "SMART-400-04"),
    ("POST", "/smart/callback", 405, "SMART-405-00"),
    ("GET", "/smart/app/", 404, "SMART-404-00"),
    ("GET", "/smart/app/a/b", 404, "SMART-404-00"),
    ("GET", f"/smart/app/{LONG}", 404, "SMART-404-02"),
    ("GET", "/smart/app/%00", 404, "SMART-404-02"),
    ("DELETE", "/smart/app/abc", 405, "SMART-405-00"),
    ("GET", "/smart", 404, "SMART-404-00"),
    ("GET", "/smart/", 404, "SMART-404-00"),
    ("GET", "/smart/unknown", 404, "SMART-404-00"),
    ("GET", "/smart/static/", 404, "SMART-404-00"),
    ("GET", "/smart/static/nope.css", 404, "SMART-404-00"),
    ("GET", "/smart/static/../../pyproject.toml", 404, "SMART-404-00"),
    ("POST", "/smart/static/smart.css", 405, "SMART-405-00"),
    ("PUT", "/demo/", 405, "SMART-405-00"),
    ("GET", "/demo/unknown", 404, "SMART-404-00"),
    ("GET", "/demo/ehr/launch", 404, "SMART-404-03"),
    ("GET", f"/demo/ehr/launch?patient={GHOST}", 404, "SMART-404-03"),
    ("GET", f"/demo/ehr/launch?patient={LONG}", 404, "SMART-404-03"),
    ("GET", f"/demo/ehr/launch?patient={KNOWN}&appContext={'x' * 600}", 400, "SMART-400-08"),
    ("POST", f"/demo/ehr/launch?patient={KNOWN}", 405, "SMART-405-00"),
    ("GET", f"/demo/ehr/frame?patient={GHOST}", 404, "SMART-404-03"),
    ("GET", f"/demo/ehr/frame?patient={KNOWN}&appContext=%01", 400, "SMART-400-08"),
    ("GET", "/demo/auth/authorize", 400, "SMART-400-10"),
    (
        "GET",
        f"/demo/auth/authorize?client_id={demo.DEMO_CLIENT_ID}&redirect_uri=https://evil.example.org/cb",
        400,
        "SMART-400-10",
    ),
    ("POST", "/demo/auth/authorize", 405, "SMART-405-00"),
    ("GET", "/demo/auth/unknown", 404, "SMART-404-00"),
]


@pytest.mark.parametrize(("method", "path", "status", "code"), HTML_CASES)
def test_pages_refuse_bad_input_with_the_html_error_page(
    client: FlaskClient, logs: io.StringIO, method: str, path: str, status: int, code: str
) -> None:
    """Unknown ids, missing or garbage parameters, wrong methods and long values end on a 4xx page."""
    response = client.open(BASE + path, method=method)
    assert_html_error(response, status, code)
    if status == 405:
        assert "GET" in response.headers["Allow"]


MACHINE_CASES = [
    ("GET", "/demo/auth/token", 405, "not-supported", "SMART-405-00"),
    ("POST", "/demo/fhir/Patient", 405, "not-supported", "SMART-405-00"),
    ("DELETE", "/demo/fhir/Patient/x", 405, "not-supported", "SMART-405-00"),
    ("POST", "/demo/fhir/.well-known/smart-configuration", 405, "not-supported", "SMART-405-00"),
    ("GET", "/demo/fhir", 404, "not-found", "SMART-404-00"),
    ("GET", "/demo/fhir/Patient/x/y/z", 404, "not-found", "SMART-404-00"),
    ("GET", f"/demo/fhir/Condition?patient={GHOST}", 401, "login", ""),
    ("GET", f"/demo/fhir/Patient/{GHOST}", 401, "login", ""),
]


@pytest.mark.parametrize(("method", "path", "status", "issue", "code"), MACHINE_CASES)
def test_machine_endpoints_refuse_with_an_operation_outcome(
    client: FlaskClient, logs: io.StringIO, method: str, path: str, status: int, issue: str, code: str
) -> None:
    """The demo FHIR server and token endpoint answer unknown paths and wrong methods machine-readably."""
    assert_outcome(client.open(BASE + path, method=method), status, issue, code)


@pytest.mark.parametrize(
    ("token_patient", "path", "status", "issue"),
    [
        (GHOST, f"/demo/fhir/Condition?patient={GHOST}", 404, "not-found"),
        (GHOST, f"/demo/fhir/Patient/{GHOST}", 404, "not-found"),
        (KNOWN, "/demo/fhir/Condition", 400, "invalid"),
        (KNOWN, f"/demo/fhir/Condition?patient={GHOST}", 403, "forbidden"),
        (KNOWN, f"/demo/fhir/{quote('<b>')}?patient={KNOWN}", 404, "not-supported"),
        (KNOWN, f"/demo/fhir/Condition/{LONG}", 404, "not-found"),
        (None, f"/demo/fhir/Condition?patient={KNOWN}", 401, "login"),
    ],
)
def test_demo_fhir_refuses_unknown_patients_and_bad_searches(
    demo_app: Flask,
    client: FlaskClient,
    logs: io.StringIO,
    token_patient: str | None,
    path: str,
    status: int,
    issue: str,
) -> None:
    """A token for a patient the demo lacks gets a 404 OperationOutcome (no KeyError); bad searches a 4xx."""
    token = signed(demo_app, "token", {"patient": token_patient}) if token_patient else "garbage"
    response = client.get(BASE + path, headers={"Authorization": f"Bearer {token}"})
    assert_outcome(response, status, issue)


def _code(demo_app: Flask, verifier_challenge: str = "c" * 43) -> str:
    claims = {
        "patient": KNOWN,
        "appContext": None,
        "challenge": verifier_challenge,
        "redirect_uri": f"{BASE}/smart/callback",
        "scope": "launch",
    }
    return signed(demo_app, "code", claims)


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"client_id": "another-app"}, "invalid_request"),
        ({}, "invalid_grant"),
        ({"grant_type": "password", "client_id": demo.DEMO_CLIENT_ID}, "invalid_request"),
        ({"code": "garbage"}, "invalid_grant"),
        ({"code": "x" * 2000}, "invalid_grant"),
        ({"code": "{code}", "redirect_uri": "https://evil.example.org/cb"}, "invalid_grant"),
        ({"code": "{code}", "code_verifier": "é" * 50}, "invalid_grant"),
        ({"code": "{code}", "code_verifier": "short"}, "invalid_grant"),
        ({"code": "{code}", "code_verifier": "v" * 200}, "invalid_grant"),
        ({"code": "{code}", "code_verifier": "v" * 43}, "invalid_grant"),
    ],
)
def test_token_endpoint_refuses_with_oauth_errors(
    demo_app: Flask, client: FlaskClient, logs: io.StringIO, form: dict[str, str], error: str
) -> None:
    """Bad grants, codes, redirect URIs and PKCE verifiers (non-ASCII included) get RFC 6749 400s."""
    defaults = {
        "grant_type": "authorization_code",
        "client_id": demo.DEMO_CLIENT_ID,
        "redirect_uri": f"{BASE}/smart/callback",
    }
    data = defaults | {k: v.replace("{code}", _code(demo_app)) for k, v in form.items()}
    response = client.post(f"{BASE}/demo/auth/token", data=data)
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert response.get_json()["error"] == error


def test_token_endpoint_refuses_an_oversized_body(client: FlaskClient, logs: io.StringIO) -> None:
    """A body over the size limit gets a 413 OperationOutcome, not a page or a crash."""
    response = client.post(f"{BASE}/demo/auth/token", data={"code": "x" * 10_000})
    assert_outcome(response, 413, "too-costly", "SMART-413-00")


def test_demo_launch_of_an_unknown_patient_ends_on_a_404_page(client: FlaskClient, logs: io.StringIO) -> None:
    """Finding 7: following the launch of an unknown demo patient ends on a 404 page, not a 502."""
    response = client.get(f"{BASE}/smart/launch?iss={ISSUER}&patient={GHOST}", follow_redirects=True)
    assert_html_error(response, 404, "SMART-404-03")
    assert len(response.history) == 0


def test_demo_launch_code_for_an_unknown_patient_is_refused(
    demo_app: Flask, client: FlaskClient, logs: io.StringIO
) -> None:
    """A genuine demo launch code naming a patient the demo lacks is refused at launch and at authorize."""
    launch = signed(demo_app, "launch", {"patient": GHOST, "appContext": None})
    assert_html_error(client.get(f"{BASE}/smart/launch?iss={ISSUER}&launch={launch}"), 404, "SMART-404-03")
    query = (
        f"client_id={demo.DEMO_CLIENT_ID}&redirect_uri={quote(BASE + '/smart/callback')}&response_type=code"
        f"&code_challenge={'c' * 43}&code_challenge_method=S256&aud={quote(ISSUER)}&state=s&launch={launch}"
    )
    answer = client.get(f"{BASE}/demo/auth/authorize?{query}")
    assert answer.status_code == 302
    assert "error=invalid_request" in answer.headers["Location"] and "code=" not in answer.headers["Location"]


def test_patient_gone_from_the_demo_after_launch_ends_on_a_404_page(
    demo_app: Flask, client: FlaskClient, logs: io.StringIO
) -> None:
    """When the FHIR server has no record of the token's patient the page says so (404), not 502."""
    callback = client.get(f"{BASE}/demo/ehr/launch?patient={KNOWN}", follow_redirects=True)
    assert callback.status_code == 200 and callback.request.path.startswith("/smart/app/")
    patients = demo_app.extensions["crlm_smart"].demo_patients
    removed = patients.pop(KNOWN)
    try:
        assert_html_error(client.get(BASE + callback.request.path), 404, "SMART-404-04")
    finally:
        patients[KNOWN] = removed


def test_demo_links_still_open_the_page(client: FlaskClient, logs: io.StringIO) -> None:
    """The refusals leave the good path alone: a demo EHR link with a card context opens the page."""
    context = json.dumps({"rule": "crlm-detected"})
    response = client.get(
        f"{BASE}/demo/ehr/launch?patient={KNOWN}&appContext={quote(context)}", follow_redirects=True
    )
    assert response.status_code == 200 and "DEMO" in response.get_data(as_text=True)
    frame = client.get(f"{BASE}/demo/ehr/frame?patient={KNOWN}")
    assert frame.status_code == 200 and "<iframe" in frame.get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "method", "status", "code"),
    [
        ("/cds-services/unknown/x/y", "GET", 404, "CDS-404-02"),
        ("/smartx", "GET", 404, "CDS-404-02"),
        ("/demox/ehr", "GET", 404, "CDS-404-02"),
        ("/cds-services", "DELETE", 405, "CDS-405-01"),
    ],
)
def test_other_paths_keep_the_api_operation_outcome(
    client: FlaskClient, logs: io.StringIO, path: str, method: str, status: int, code: str
) -> None:
    """Only /smart and /demo get the HTML page; the CDS Hooks API keeps its OperationOutcome."""
    response = client.open(BASE + path, method=method)
    assert_outcome(response, status, "not-found" if status == 404 else "not-supported", code)


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/demo/", "html"), (f"/demo/ehr/launch?patient={KNOWN}", "html"), ("/demo/fhir/Patient/x", "outcome")],
)
def test_demo_paths_without_demo_mode_are_unknown(
    tmp_path: Path, standin: StandInEhr, logs: io.StringIO, path: str, kind: str
) -> None:
    """With demo mode off the /demo pages do not exist: a 404 page, or an OperationOutcome for FHIR paths."""
    plain = create_app(smart_settings(tmp_path / "plain.sqlite3", BASE, standin), today=lambda: FIXED_TODAY)
    response = plain.test_client().get(BASE + path)
    if kind == "html":
        assert_html_error(response, 404, "SMART-404-00")
    else:
        assert_outcome(response, 404, "not-found", "SMART-404-00")


def test_demo_issuer_outside_demo_mode_is_just_an_unknown_issuer(
    demo_app: Flask, client: FlaskClient, logs: io.StringIO
) -> None:
    """Outside demo mode the demo issuer is an issuer off the allowlist (403), never a 5xx."""
    with_settings(demo_app, smart_demo=False)
    assert_html_error(client.get(f"{BASE}/smart/launch?iss={ISSUER}&launch=x"), 403, "SMART-403-01")

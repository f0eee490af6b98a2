"""The explanation app's SMART flow through the Flask test client: PKCE, state, allowlist, refusals.

These run everywhere (no browser): the app talks to the stand-in EHR over loopback HTTP exactly as it
would to an EHR, and the test plays the browser by following the redirects.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from cds_service.app import create_app
from cds_service.cards import SMART_LAUNCH_PATH
from cds_service.smart.oauth import pkce_challenge
from cds_service.smart.sessions import COOKIE_NAME
from tests.conftest import FIXED_TODAY
from tests.smart.conftest import Scenario, smart_settings, with_settings
from tests.smart.standin import CLIENT_ID, StandInEhr

BASE = "http://cds.test"


def start_launch(
    client: FlaskClient, standin: StandInEhr, patient_id: str, app_context: str | None = None
) -> str:
    """Open the app as the EHR does; return the authorization URL the app redirects to."""
    response = client.get(standin.launch_url(f"{BASE}{SMART_LAUNCH_PATH}", patient_id, app_context))
    assert response.status_code == 302, response.get_data(as_text=True)
    location: str = response.headers["Location"]
    return location


def authorise(authorize_url: str) -> str:
    """Play the browser at the EHR's authorization endpoint; return the callback URL it sends us to."""
    answer = requests.get(authorize_url, allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


def open_page(
    client: FlaskClient, standin: StandInEhr, patient_id: str, app_context: str | None = None
) -> TestResponse:
    """The whole launch: launch, authorise, callback, then the page."""
    callback = client.get(authorise(start_launch(client, standin, patient_id, app_context)))
    assert callback.status_code == 303, callback.get_data(as_text=True)
    return client.get(BASE + callback.headers["Location"])


def assert_error_page(response: TestResponse, status: int, code: str) -> str:
    """A plain HTML error page with the status and code, and no stack trace."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, text[:400]
    assert response.mimetype == "text/html"
    assert code in text and "<h1" in text
    assert "Traceback" not in text and 'File "' not in text
    return text


@pytest.fixture(name="client")
def _client(smart_app: Flask) -> FlaskClient:
    """A test client of the app configured for the stand-in EHR."""
    return smart_app.test_client()


def test_launch_redirects_to_authorize_with_pkce_s256_and_state(
    client: FlaskClient, standin: StandInEhr
) -> None:
    """The authorization request carries PKCE S256, a strong state, the launch, aud=iss and read scopes."""
    target = start_launch(client, standin, "crlm-single")
    parts = urlsplit(target)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{standin.base}/auth/authorize"
    assert query["response_type"] == "code" and query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == f"{BASE}/smart/callback"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 43 and query["aud"] == standin.fhir_base
    assert query["launch"] in standin.launches
    assert {"launch", "patient/Patient.rs", "patient/Condition.rs", "patient/Observation.rs"} <= set(
        query["scope"].split()
    )


def test_session_cookie_is_signed_httponly_secure_and_cross_site(
    client: FlaskClient, standin: StandInEhr
) -> None:
    """The only cookie is the signed browser id: HttpOnly, Secure, SameSite=None, Partitioned, path /smart."""
    response = client.get(standin.launch_url(f"{BASE}{SMART_LAUNCH_PATH}", "crlm-single"))
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 1
    attributes = {a.strip().split("=")[0].lower() for a in cookies[0].split(";")}
    assert cookies[0].startswith(f"{COOKIE_NAME}=")
    assert {"httponly", "secure", "samesite", "partitioned", "path"} <= attributes
    assert "SameSite=None" in cookies[0] and "Path=/smart" in cookies[0]


def test_full_launch_verifies_pkce_and_shows_the_patient(client: FlaskClient, standin: StandInEhr) -> None:
    """Following the flow ends on the patient's page; the token request carried the PKCE verifier."""
    target = start_launch(client, standin, "crlm-single")
    challenge = parse_qs(urlsplit(target).query)["code_challenge"][0]
    callback = client.get(authorise(target))
    page = client.get(BASE + callback.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Dana Mismatch" in text and "Patient/crlm-single" in text
    assert pkce_challenge(standin.token_requests[-1]["code_verifier"]) == challenge
    assert all(auth and auth.startswith("Bearer ") for _, auth in standin.fhir_requests)


def test_tokens_stay_on_the_server(client: FlaskClient, standin: StandInEhr, smart_app: Flask) -> None:
    """The access token appears in no response, no cookie and not in clear text in the database."""
    page = open_page(client, standin, "crlm-single")
    token = standin.fhir_requests[-1][1].removeprefix("Bearer ")  # type: ignore[union-attr]
    assert token not in page.get_data(as_text=True)
    cookie = client.get_cookie(COOKIE_NAME, domain="cds.test", path="/smart")
    assert cookie is not None and token not in cookie.value
    database = Path(smart_app.extensions["crlm_cds"].settings.database_url.removeprefix("sqlite:///"))
    raw = b"".join(p.read_bytes() for p in database.parent.glob(database.name + "*"))
    assert token.encode() not in raw and b"crlm-single" not in raw


def test_app_context_marks_the_card_followed_and_is_optional(
    client: FlaskClient, standin: StandInEhr, smart_app: Flask, scenarios: dict[str, Scenario]
) -> None:
    """appContext names the rule to open first; without it the page shows the same recommendations."""
    last_card = hook_cards(smart_app, scenarios["dmmr-rectal"])[-1]
    link = next(lk for lk in last_card["links"] if lk["type"] == "smart")
    rule = json.loads(link["appContext"])["rule"]
    callback = client.get(authorise(start_launch(client, standin, "crlm-single", link["appContext"])))
    assert callback.headers["Location"].endswith(f"#rule-{rule}")
    with_context = client.get(BASE + callback.headers["Location"]).get_data(as_text=True)
    without = open_page(client, standin, "crlm-single").get_data(as_text=True)
    assert "You opened this page from this card." in with_context
    assert "You opened this page from this card." not in without
    sections = re.compile(r'<section class="recommendation[^"]*" id="([^"]+)"')
    assert sections.findall(with_context) == sections.findall(without) != []


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({}, 400, "SMART-400-01"),
        ({"iss": "{fhir}"}, 400, "SMART-400-01"),
        ({"iss": "not a url", "launch": "x"}, 400, "SMART-400-06"),
        ({"iss": "https://evil.example.org/fhir", "launch": "x"}, 403, "SMART-403-01"),
        ({"iss": "{fhir}", "launch": "{launch}", "patient": "crlm-single"}, 400, "SMART-400-02"),
        ({"iss": "{fhir}", "launch": "{launch}", "fhirServer": "https://x.example.org"}, 400, "SMART-400-02"),
    ],
)
def test_launch_refusals(
    client: FlaskClient, standin: StandInEhr, query: dict[str, str], status: int, code: str
) -> None:
    """Incomplete launches, issuers off the allowlist and direct patient/server parameters are refused."""
    filled = {
        k: v.format(fhir=standin.fhir_base, launch=standin.new_launch("crlm-single"))
        for k, v in query.items()
    }
    response = client.get(f"{BASE}{SMART_LAUNCH_PATH}", query_string=filled)
    assert_error_page(response, status, code)
    assert COOKIE_NAME not in response.headers.get("Set-Cookie", "")


def test_launch_refused_without_client_id(smart_app: Flask, standin: StandInEhr) -> None:
    """Without CDS_SMART_CLIENT_ID the app is not set up and says so."""
    with_settings(smart_app, smart_client_id="")
    response = smart_app.test_client().get(standin.launch_url(f"{BASE}{SMART_LAUNCH_PATH}", "crlm-single"))
    assert_error_page(response, 404, "SMART-404-01")


@pytest.mark.parametrize(
    ("fault", "status", "code"),
    [
        ("wrong_state", 400, "SMART-400-04"),
        ("deny", 401, "SMART-401-01"),
        ("no_token", 401, "SMART-401-02"),
        ("no_patient", 400, "SMART-400-07"),
    ],
)
def test_authorization_failures_end_on_an_error_page(
    client: FlaskClient, standin: StandInEhr, fault: str, status: int, code: str
) -> None:
    """A mismatched state, a denial, a token response without token or patient end on clear 4xx pages."""
    target = start_launch(client, standin, "crlm-single")
    standin.faults.add(fault)
    assert_error_page(client.get(authorise(target)), status, code)


def test_smart_configuration_without_s256_is_refused(client: FlaskClient, standin: StandInEhr) -> None:
    """An issuer that does not offer PKCE S256 is refused before any redirect."""
    standin.faults.add("no_s256")
    response = client.get(standin.launch_url(f"{BASE}{SMART_LAUNCH_PATH}", "crlm-single"))
    assert_error_page(response, 502, "SMART-502-04")


def test_callback_from_another_browser_or_replayed_is_refused(smart_app: Flask, standin: StandInEhr) -> None:
    """The state is bound to the launching browser's cookie and is single-use."""
    first = smart_app.test_client()
    callback = authorise(start_launch(first, standin, "crlm-single"))
    assert_error_page(smart_app.test_client().get(callback), 400, "SMART-400-04")
    assert first.get(callback).status_code == 303
    assert_error_page(first.get(callback), 400, "SMART-400-04")


def test_page_of_another_browser_is_refused(smart_app: Flask, standin: StandInEhr) -> None:
    """A page URL is useless without the cookie of the browser that launched it."""
    first = smart_app.test_client()
    callback = first.get(authorise(start_launch(first, standin, "crlm-single")))
    page_url = BASE + callback.headers["Location"].split("#")[0]
    assert_error_page(smart_app.test_client().get(page_url), 403, "SMART-403-02")
    assert_error_page(first.get(f"{BASE}/smart/app/unknown-context"), 404, "SMART-404-02")


def test_expired_token_ends_on_an_error_page(
    client: FlaskClient, standin: StandInEhr, smart_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the token's lifetime has passed, the page asks for a new launch (401)."""
    callback = client.get(authorise(start_launch(client, standin, "crlm-single")))
    vault = smart_app.extensions["crlm_smart"].vault
    now = vault.clock()
    monkeypatch.setattr(vault, "clock", lambda: now + 3601)
    assert_error_page(client.get(BASE + callback.headers["Location"]), 401, "SMART-401-04")


def test_token_refused_by_the_fhir_server_ends_on_an_error_page(
    client: FlaskClient, standin: StandInEhr
) -> None:
    """When the FHIR server no longer accepts the token, the page says so (401), not a crash."""
    callback = client.get(authorise(start_launch(client, standin, "crlm-single")))
    standin.reject_all_tokens()
    assert_error_page(client.get(BASE + callback.headers["Location"]), 401, "SMART-401-05")


def test_patient_resource_must_match_the_token_patient(client: FlaskClient, standin: StandInEhr) -> None:
    """A Patient read that is not the token's patient stops the page (wrong-patient safety)."""
    callback = client.get(authorise(start_launch(client, standin, "crlm-single")))
    standin.faults.add("other_patient_resource")
    assert_error_page(client.get(BASE + callback.headers["Location"]), 409, "SMART-409-02")


def test_pages_have_strict_security_headers(client: FlaskClient, standin: StandInEhr) -> None:
    """No scripts allowed, framing only by the configured EHR origins, no referrer, no caching."""
    page = open_page(client, standin, "crlm-single")
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert f"frame-ancestors 'self' {standin.ehr_base}" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "<script" not in page.get_data(as_text=True)


def test_ehr_text_is_escaped(client: FlaskClient, standin: StandInEhr) -> None:
    """Markup in the EHR's data (the patient's name) is shown as text."""
    text = open_page(client, standin, "crlm-icd10").get_data(as_text=True)
    assert "Ada &lt;b&gt;&amp;amp; O&#39;Lung" in text
    assert "<b>&amp;" not in text


def hook_cards(app: Flask, scenario: Scenario) -> list[dict[str, Any]]:
    """The cards the patient-view service returns for a scenario's record (prefetch from the Bundle)."""
    from cds_service.cli import request_from_bundle

    registry = app.extensions["crlm_cds"].registry
    service = registry.get("crlm-patient-view")
    body = request_from_bundle(scenario.bundle, service, json.dumps(scenario.bundle).encode())
    body["context"]["userId"] = "Practitioner/test"
    response = app.test_client().post(f"/cds-services/{service.id}", json=body)
    assert response.status_code == 200, response.get_data(as_text=True)
    cards: list[dict[str, Any]] = response.get_json()["cards"]
    return cards


def test_cards_carry_the_smart_link(smart_app: Flask, scenarios: dict[str, Scenario]) -> None:
    """Each card links the app: absolute launch URL, type smart, appContext naming only its rule."""
    cards = hook_cards(smart_app, scenarios["dmmr-rectal"])
    assert cards
    for card in cards:
        smart = [link for link in card["links"] if link["type"] == "smart"]
        assert len(smart) == 1
        assert smart[0]["url"] == f"{BASE}{SMART_LAUNCH_PATH}"
        assert list(json.loads(smart[0]["appContext"])) == ["rule"]
        assert "crlm-single" not in smart[0]["appContext"]


def test_no_smart_link_when_the_app_cannot_be_launched(
    tmp_path: Path, standin: StandInEhr, scenarios: dict[str, Scenario]
) -> None:
    """Without a client id and outside demo mode the cards carry no smart link."""
    settings = smart_settings(tmp_path / "cds.sqlite3", BASE, standin, smart_client_id="")
    app = create_app(settings, today=lambda: FIXED_TODAY)
    cards = hook_cards(app, scenarios["dmmr-rectal"])
    assert cards and all(link["type"] == "absolute" for card in cards for link in card["links"])

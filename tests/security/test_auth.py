"""CDS client authentication: the JWT matrix, key sources and presets, and refusing to start unsafely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient

from cds_service.app import STATE_KEY, create_app
from cds_service.auth import SANDBOX_JWKS, load_trusted_clients
from cds_service.config import ConfigError, Settings, load_settings
from tests.conftest import FIXED_TODAY, PUBLIC_BASE
from tests.foundation.test_http import example_request
from tests.security.jwt_support import (
    AUDIT_KEY,
    ISSUER,
    SERVICE_PATH,
    SigningKey,
    bearer,
    claims,
    document_server,
    es384_key,
    hmac_token,
    jwks,
    rs384_key,
    token,
    unsigned_token,
)
from tests.support import SHARED_DATA, assert_operation_outcome

EC_KEY = es384_key("ec-1")
RSA_KEY = rs384_key("rsa-1")
STRANGER = es384_key("ec-1")


def auth_settings(tmp_path: Path, clients: Any, **changes: Any) -> Settings:
    """Settings with authentication on and the given trusted clients (inline JSON)."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path / 'auth.sqlite3'}",
        "public_base_url": PUBLIC_BASE,
        "auth": True,
        "trusted_clients": json.dumps(clients),
        "audit_key": AUDIT_KEY,
        **changes,
    }
    return load_settings({}, **values)


@pytest.fixture(name="auth_app")
def _auth_app(tmp_path: Path) -> Flask:
    """An app trusting one EHR with an ES384 and an RS384 key given inline."""
    client = {"name": "ehr", "issuer": ISSUER, "jwks": jwks(EC_KEY, RSA_KEY)}
    return create_app(auth_settings(tmp_path, [client]), today=lambda: FIXED_TODAY)


@pytest.fixture(name="auth_client")
def _auth_client(auth_app: Flask) -> Iterator[FlaskClient]:
    """A test client of :func:`_auth_app`."""
    with auth_app.test_client() as client:
        yield client


def call(client: FlaskClient, authorization: dict[str, str]) -> Any:
    """POST the example request to the service with the given headers."""
    return client.post(
        SERVICE_PATH,
        data=json.dumps(example_request()),
        content_type="application/json",
        headers=authorization,
    )


def _replayed() -> Callable[[FlaskClient], dict[str, str]]:
    jti_claims = claims()

    def make(client: FlaskClient) -> dict[str, str]:
        first = bearer(token(EC_KEY, jti_claims))
        assert call(client, first).status_code == 200
        return bearer(token(EC_KEY, jti_claims))

    return make


MATRIX: dict[str, tuple[Callable[[FlaskClient], dict[str, str]], int]] = {
    "valid ES384": (lambda _c: bearer(token(EC_KEY)), 200),
    "valid RS384": (lambda _c: bearer(token(RSA_KEY)), 200),
    "valid, aud as an array": (
        lambda _c: bearer(token(EC_KEY, claims(aud=["x", PUBLIC_BASE + SERVICE_PATH]))),
        200,
    ),
    "expired": (lambda _c: bearer(token(EC_KEY, claims(exp=int(time.time()) - 120))), 401),
    "not yet valid (nbf)": (lambda _c: bearer(token(EC_KEY, claims(nbf=int(time.time()) + 600))), 401),
    "issued in the future": (
        lambda _c: bearer(token(EC_KEY, claims(iat=int(time.time()) + 600, exp=int(time.time()) + 900))),
        401,
    ),
    "lifetime too long": (lambda _c: bearer(token(EC_KEY, claims(exp=int(time.time()) + 7200))), 401),
    "wrong aud": (lambda _c: bearer(token(EC_KEY, claims(aud=PUBLIC_BASE + "/cds-services"))), 401),
    "aud of another host": (
        lambda _c: bearer(token(EC_KEY, claims(aud="https://evil.example" + SERVICE_PATH))),
        401,
    ),
    "unknown iss": (lambda _c: bearer(token(EC_KEY, claims(iss="https://other-ehr.example.org"))), 401),
    "jku not allowlisted": (lambda _c: bearer(token(EC_KEY, jku="https://attacker.example/jwks.json")), 401),
    "unknown kid": (lambda _c: bearer(token(es384_key("ec-unknown"))), 401),
    "bad signature": (lambda _c: bearer(token(STRANGER)), 401),
    "alg none": (
        lambda _c: bearer(unsigned_token(claims(), {"alg": "none", "typ": "JWT", "kid": "ec-1"})),
        401,
    ),
    "HS256 signed with the public key": (
        lambda _c: bearer(
            hmac_token(EC_KEY.public_pem, claims(), {"alg": "HS256", "typ": "JWT", "kid": "ec-1"})
        ),
        401,
    ),
    "HS256 with the RSA public key": (
        lambda _c: bearer(
            hmac_token(RSA_KEY.public_pem, claims(), {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
        ),
        401,
    ),
    "ES256 not accepted": (
        lambda _c: bearer(token(SigningKey("ec-1", "ES256", ec.generate_private_key(ec.SECP256R1())))),
        401,
    ),
    "RS384 header on the EC key's kid": (
        lambda _c: bearer(token(SigningKey("ec-1", "RS384", RSA_KEY.private))),
        401,
    ),
    "replayed jti": (_replayed(), 401),
    "missing iss": (lambda _c: bearer(token(EC_KEY, claims(iss=None))), 401),
    "missing aud": (lambda _c: bearer(token(EC_KEY, claims(aud=None))), 401),
    "missing exp": (lambda _c: bearer(token(EC_KEY, claims(exp=None))), 401),
    "missing iat": (lambda _c: bearer(token(EC_KEY, claims(iat=None))), 401),
    "missing jti": (lambda _c: bearer(token(EC_KEY, claims(jti=None))), 401),
    "missing kid": (lambda _c: bearer(token(EC_KEY, kid=None)), 401),
    "typ not JWT": (lambda _c: bearer(token(EC_KEY, typ="at+jwt")), 401),
    "crit header": (lambda _c: bearer(token(EC_KEY, crit=["exp"])), 401),
    "no Authorization header": (lambda _c: {}, 401),
    "not a bearer token": (lambda _c: {"Authorization": "Basic dXNlcjpwYXNz"}, 401),
    "garbage token": (lambda _c: bearer("not.a.jwt"), 401),
    "oversized token": (lambda _c: bearer("a" * 9000), 401),
}


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_jwt_matrix(auth_client: FlaskClient, case: str) -> None:
    """Exactly the valid tokens get 200; every other one gets a bare 401 OperationOutcome."""
    make, expected = MATRIX[case]
    response = call(auth_client, make(auth_client))
    assert response.status_code == expected, response.get_data(as_text=True)[:300]
    if expected == 401:
        body = assert_operation_outcome(response, 401, "CDS-401-01")
        assert body["issue"] == [
            {"severity": "error", "code": "login", "diagnostics": "CDS-401-01: authentication required"}
        ], "a 401 says nothing about why"
        assert response.headers["WWW-Authenticate"] == "Bearer"


def test_rejection_reason_is_logged_without_the_token(
    auth_client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The reason for a 401 is in the log; the token is not."""
    bad = token(EC_KEY, claims(exp=int(time.time()) - 120))
    call(auth_client, bearer(bad))
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "ExpiredSignatureError" in text
    assert bad not in text and bad.split(".")[1] not in text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/cds-services", None),
        (
            "POST",
            SERVICE_PATH + "/feedback",
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"},
        ),
    ],
)
def test_discovery_and_feedback_need_a_token_for_their_own_url(
    auth_client: FlaskClient, method: str, path: str, body: Any
) -> None:
    """Discovery and feedback answer 401 without a token or with another URL's, 200 with their own."""
    data = json.dumps(body) if body is not None else None
    kwargs: dict[str, Any] = {"data": data, "content_type": "application/json"} if data else {}
    assert auth_client.open(path, method=method, **kwargs).status_code == 401
    wrong = bearer(token(EC_KEY, claims(SERVICE_PATH)))
    assert auth_client.open(path, method=method, headers=wrong, **kwargs).status_code == 401
    right = bearer(token(EC_KEY, claims(path)))
    assert auth_client.open(path, method=method, headers=right, **kwargs).status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_probes_stay_open(auth_client: FlaskClient, path: str) -> None:
    """Health, readiness and metrics need no token."""
    assert auth_client.get(path).status_code == 200


def test_cors_preflight_needs_no_token(auth_client: FlaskClient) -> None:
    """Browsers send no Authorization on the pre-flight; it must still succeed."""
    response = auth_client.options(
        SERVICE_PATH,
        headers={"Origin": "https://sandbox.cds-hooks.org", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204


def test_aliases_are_accepted_audiences(tmp_path: Path) -> None:
    """A token whose aud names a configured alias base URL is accepted."""
    client = {"name": "ehr", "issuer": ISSUER, "jwks": jwks(EC_KEY)}
    app = create_app(auth_settings(tmp_path, [client], public_url_aliases=("https://old.example.org",)))
    aliased = bearer(token(EC_KEY, claims(aud="https://old.example.org" + SERVICE_PATH)))
    assert call(app.test_client(), aliased).status_code == 200


@pytest.mark.parametrize(("tenant", "expected"), [("t-1", 200), ("t-2", 401), (None, 401)])
def test_tenant_allowlist(tmp_path: Path, tenant: str | None, expected: int) -> None:
    """With a tenant allowlist, only listed tenants are accepted."""
    client = {"name": "ehr", "issuer": ISSUER, "jwks": jwks(EC_KEY), "tenants": ["t-1"]}
    app = create_app(auth_settings(tmp_path, [client]))
    assert call(app.test_client(), bearer(token(EC_KEY, claims(tenant=tenant)))).status_code == expected


def test_jwks_from_an_allowlisted_jku_is_fetched_once_and_cached(tmp_path: Path) -> None:
    """Keys from an allowlisted jku verify tokens; the JWK Set is fetched once, then cached."""
    with document_server() as keys:
        keys.documents["/jwks.json"] = jwks(EC_KEY)
        url = keys.base_url + "/jwks.json"
        app = create_app(auth_settings(tmp_path, [{"name": "ehr", "issuer": ISSUER, "jku": [url]}]))
        client = app.test_client()
        statuses = [call(client, bearer(token(EC_KEY, jku=url))).status_code for _ in range(5)]
        assert statuses == [200] * 5
        assert keys.hits == ["/jwks.json"]


def test_unknown_kid_refetches_at_most_once_per_interval(tmp_path: Path) -> None:
    """A stream of tokens with unknown kids refetches the key set at most once per refresh interval."""
    with document_server() as keys:
        keys.documents["/jwks.json"] = jwks(EC_KEY)
        url = keys.base_url + "/jwks.json"
        settings = auth_settings(
            tmp_path, [{"name": "ehr", "issuer": ISSUER, "jku": [url]}], jwks_refresh_seconds=600
        )
        client = create_app(settings).test_client()
        assert call(client, bearer(token(EC_KEY, jku=url))).status_code == 200
        forged = [call(client, bearer(token(es384_key(f"k{i}"), jku=url))).status_code for i in range(10)]
        assert forged == [401] * 10
        assert len(keys.hits) == 1


def test_rotated_key_is_picked_up_on_unknown_kid(tmp_path: Path) -> None:
    """When the EHR rotates keys, the first token with the new kid refetches the set and passes."""
    with document_server() as keys:
        keys.documents["/jwks.json"] = jwks(EC_KEY)
        url = keys.base_url + "/jwks.json"
        settings = auth_settings(
            tmp_path, [{"name": "ehr", "issuer": ISSUER, "jku": [url]}], jwks_refresh_seconds=1
        )
        client = create_app(settings).test_client()
        assert call(client, bearer(token(EC_KEY, jku=url))).status_code == 200
        rotated = es384_key("ec-2")
        keys.documents["/jwks.json"] = jwks(rotated)
        time.sleep(1.1)
        assert call(client, bearer(token(rotated, jku=url))).status_code == 200
        assert len(keys.hits) == 2


def test_jku_not_allowlisted_is_never_fetched(tmp_path: Path) -> None:
    """A token naming a jku off the allowlist is refused without contacting that URL."""
    with document_server() as trusted, document_server() as attacker:
        trusted.documents["/jwks.json"] = jwks(EC_KEY)
        attacker.documents["/jwks.json"] = jwks(STRANGER)
        settings = auth_settings(
            tmp_path, [{"name": "ehr", "issuer": ISSUER, "jku": [trusted.base_url + "/jwks.json"]}]
        )
        client = create_app(settings).test_client()
        status = call(client, bearer(token(STRANGER, jku=attacker.base_url + "/jwks.json"))).status_code
        assert status == 401
        assert attacker.hits == []


def test_oracle_health_preset_accepts_only_jkus_listed_by_the_directory(tmp_path: Path) -> None:
    """The oracle-health preset checks the token's jku against Cerner's jku directory document."""
    with document_server() as cerner:
        listed = cerner.base_url.replace("http://", "https://") + "/keys-a"
        cerner.documents["/jwk"] = {"jkus": [listed]}
        client = {
            "name": "oracle",
            "preset": "oracle-health",
            "jku_directory": cerner.base_url + "/jwk",
            "jwks": jwks(RSA_KEY),
        }
        app = create_app(auth_settings(tmp_path, [client]))
        test_client = app.test_client()
        payload = claims(iss="https://cds-hooks.cerner.com")
        assert call(test_client, bearer(token(RSA_KEY, payload, jku=listed))).status_code == 200
        unlisted = listed.replace("keys-a", "keys-b")
        assert (
            call(
                test_client, bearer(token(RSA_KEY, claims(iss="https://cds-hooks.cerner.com"), jku=unlisted))
            ).status_code
            == 401
        )


@pytest.mark.shared_data
def test_presets_resolve_to_the_documented_settings(tmp_path: Path) -> None:
    """Sandbox (demo only, its public key inline), Oracle Health and per-customer Epic presets."""
    entries = [
        {"name": "sandbox", "preset": "cds-hooks-sandbox", "demo": True},
        {"name": "oracle", "preset": "oracle-health"},
        {
            "name": "st-elsewhere",
            "preset": "epic",
            "issuer": "https://fhir.st-elsewhere.org/api/FHIR/R4",
            "jku": ["https://fhir.st-elsewhere.org/api/epic/2019/Security/Open/PublicKeys/530013/530013"],
            "subjects": ["client-id-1"],
        },
    ]
    sandbox, oracle, epic = load_trusted_clients(auth_settings(tmp_path, entries))
    shared = json.loads((SHARED_DATA / "cds-hooks-sandbox-jwks.json").read_text("utf-8"))
    assert shared == SANDBOX_JWKS
    assert (
        sandbox.issuer == "https://sandbox.cds-hooks.org"
        and sandbox.demo
        and sandbox.algorithms == ("ES384",)
    )
    assert "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f" in sandbox.keys
    assert oracle.issuer == "https://cds-hooks.cerner.com"
    assert oracle.jku_directory == "https://authorization.cerner.com/jwk"
    assert epic.algorithms == ("RS384", "ES384") and epic.subjects == {"client-id-1"}
    assert epic.fhir_servers == ("https://fhir.st-elsewhere.org/api/FHIR/R4",)


@pytest.mark.parametrize(
    ("entries", "fragment"),
    [
        ([{"name": "sandbox", "preset": "cds-hooks-sandbox"}], '"demo": true'),
        ([{"name": "x", "preset": "nope", "issuer": ISSUER, "jwks": jwks(EC_KEY)}], "unknown preset"),
        ([{"name": "x", "issuer": ISSUER}], "needs keys"),
        ([{"name": "x", "jwks": jwks(EC_KEY)}], "needs an 'issuer'"),
        ([{"name": "x", "issuer": ISSUER, "jwks": jwks(EC_KEY), "algorithms": ["HS256"]}], "HS256"),
        ([{"name": "x", "issuer": ISSUER, "jku": ["http://keys.example.org/jwks"]}], "must use https"),
        (
            [
                {
                    "name": "x",
                    "issuer": ISSUER,
                    "jwks": {"keys": [{"kty": "oct", "kid": "a", "k": "c2VjcmV0"}]},
                }
            ],
            "asymmetric",
        ),
        ([{"name": "x", "issuer": ISSUER, "jwks": jwks(EC_KEY), "colour": "blue"}], "unknown field"),
        (
            [
                {"name": "a", "issuer": ISSUER, "jwks": jwks(EC_KEY)},
                {"name": "b", "issuer": ISSUER, "jwks": jwks(EC_KEY)},
            ],
            "more than once",
        ),
    ],
)
def test_invalid_trusted_clients_stop_start_up(tmp_path: Path, entries: Any, fragment: str) -> None:
    """A mistake in the trusted-client list stops start-up with a message naming it."""
    with pytest.raises(ConfigError) as error:
        create_app(auth_settings(tmp_path, entries))
    assert fragment in str(error.value)


def test_trusted_clients_file_in_toml_and_json(tmp_path: Path) -> None:
    """The client list can be a TOML or JSON file; relative jwks_file paths are next to it."""
    (tmp_path / "ehr-jwks.json").write_text(json.dumps(jwks(EC_KEY)))
    toml = tmp_path / "clients.toml"
    toml.write_text(f'[[clients]]\nname = "ehr"\nissuer = "{ISSUER}"\njwks_file = "ehr-jwks.json"\n')
    settings = load_settings(
        {"CDS_TRUSTED_CLIENTS_FILE": str(toml)},
        database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}",
        public_base_url=PUBLIC_BASE,
        audit_key=AUDIT_KEY,
    )
    assert call(create_app(settings).test_client(), bearer(token(EC_KEY))).status_code == 200
    as_json = tmp_path / "clients.json"
    as_json.write_text(
        json.dumps({"clients": [{"name": "ehr", "issuer": ISSUER, "jwks_file": "ehr-jwks.json"}]})
    )
    assert load_trusted_clients(load_settings({"CDS_TRUSTED_CLIENTS_FILE": str(as_json)}))[0].keys


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"trusted_clients": ""}, "no trusted CDS clients are configured"),
        ({"public_base_url": ""}, "CDS_PUBLIC_BASE_URL is required"),
        ({"audit_key": ""}, "CDS_AUDIT_KEY"),
    ],
)
def test_create_app_refuses_to_start_unsafely(tmp_path: Path, changes: dict[str, Any], fragment: str) -> None:
    """With authentication on, missing clients, public URL or audit key stop create_app."""
    settings = auth_settings(tmp_path, [{"name": "ehr", "issuer": ISSUER, "jwks": jwks(EC_KEY)}], **changes)
    with pytest.raises(ConfigError) as error:
        create_app(settings)
    assert fragment in str(error.value)


def test_authentication_is_on_by_default() -> None:
    """With no setting at all, authentication is on."""
    assert load_settings({}).auth is True


def test_serve_refuses_to_start_without_trusted_clients(tmp_path: Path) -> None:
    """`cds-service serve` with authentication on by default and no clients exits 2 with a clear message."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    env["CDS_DATABASE_URL"] = f"sqlite:///{tmp_path}/serve.sqlite3"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cds-service"), "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "no trusted CDS clients are configured" in result.stderr
    assert "Traceback" not in result.stderr


def test_auth_off_is_announced_loudly(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """With CDS_AUTH=off the service logs a warning at start-up."""
    create_app(settings)
    assert any(r.levelname == "WARNING" and "AUTHENTICATION IS OFF" in r.getMessage() for r in caplog.records)


def test_dev_py_serve_turns_authentication_off_explicitly() -> None:
    """The README's Quick start (`python3 dev.py serve`) runs with CDS_AUTH=off, said in dev.py."""
    source = (Path(__file__).resolve().parents[2] / "dev.py").read_text("utf-8")
    assert 'os.environ.setdefault("CDS_AUTH", "off")' in source


def test_audit_record_names_the_client(auth_app: Flask, auth_client: FlaskClient) -> None:
    """An authenticated hook call's audit record names the client and hashes the patient id."""
    assert call(auth_client, bearer(token(EC_KEY, claims(tenant="t-9")))).status_code == 200
    record = auth_app.extensions[STATE_KEY].store.audit()[-1]
    assert record["client"] == "ehr" and record["tenant"] == "t-9" and record["status"] == 200
    assert record["patientRef"] and example_request()["context"]["patientId"] not in json.dumps(record)

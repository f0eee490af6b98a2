"""The SMART App Launch 2.x client side: discovery, PKCE, the authorization request, the token.

Only the parts an EHR launch of a public client needs: the issuer's
``.well-known/smart-configuration``, an authorization-code request with PKCE ``S256`` and a random
``state``, and the token exchange. Every HTTP call has bounded timeouts, follows no redirect and
reads at most :data:`MAX_RESPONSE_BYTES`; nothing here logs or returns a token in an error message.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from cds_service.hooks import FHIR_ID
from cds_service.smart.errors import BadLaunch, NotAuthorised, Upstream

MAX_RESPONSE_BYTES = 256 * 1024
WELL_KNOWN = "/.well-known/smart-configuration"
_LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class SmartConfiguration:
    """What the app uses from an issuer's ``.well-known/smart-configuration``.

    Attributes:
        issuer: The FHIR base URL the EHR launched us with (``iss``).
        authorization_endpoint: Where the browser is sent to authorise.
        token_endpoint: Where the code is exchanged for a token.
        capabilities: Declared SMART capabilities.
    """

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    capabilities: frozenset[str]


@dataclass(frozen=True, slots=True)
class TokenResponse:
    """The parts of the token response the app keeps.

    Attributes:
        access_token: Bearer token for the FHIR server (kept server-side only).
        expires_in: Lifetime in seconds.
        scope: Granted scopes.
        patient: The patient in context (a FHIR id).
        app_context: ``appContext`` as sent (a string), when the EHR passed one on.
    """

    access_token: str
    expires_in: int
    scope: str
    patient: str
    app_context: str | None

    def __repr__(self) -> str:
        return "TokenResponse(access_token=<redacted>)"


def _endpoint_ok(url: str, issuer: str) -> bool:
    """An absolute https URL (http only when the issuer itself is on loopback, as in tests)."""
    parts = urlsplit(url)
    if not parts.netloc or parts.fragment:
        return False
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and urlsplit(issuer).hostname in _LOOPBACK and parts.hostname in _LOOPBACK


def _read_json(response: requests.Response, what: str) -> Any:
    body = bytearray()
    for chunk in response.iter_content(chunk_size=16384):
        body.extend(chunk)
        if len(body) > MAX_RESPONSE_BYTES:
            raise Upstream("SMART-502-02", "Unexpected answer from the EHR", f"The {what} is too large.")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise Upstream("SMART-502-02", "Unexpected answer from the EHR", f"The {what} is not JSON.") from None


def discover(http: requests.Session, issuer: str, timeout: tuple[float, float]) -> SmartConfiguration:
    """Read and check the issuer's SMART configuration; PKCE ``S256`` must be offered."""
    url = issuer.rstrip("/") + WELL_KNOWN
    unreachable = Upstream(
        "SMART-502-01",
        "The EHR's authorization server could not be reached",
        "Its SMART configuration could not be read. Please try again from the EHR in a moment.",
    )
    try:
        with http.get(
            url, headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False, stream=True
        ) as response:
            if response.status_code != 200:
                raise unreachable
            document = _read_json(response, "SMART configuration")
    except requests.RequestException:
        raise unreachable from None
    if not isinstance(document, dict):
        raise Upstream(
            "SMART-502-02", "Unexpected answer from the EHR", "The SMART configuration is not an object."
        )
    authorize = document.get("authorization_endpoint")
    token = document.get("token_endpoint")
    if not (isinstance(authorize, str) and _endpoint_ok(authorize, issuer)) or not (
        isinstance(token, str) and _endpoint_ok(token, issuer)
    ):
        raise Upstream(
            "SMART-502-03",
            "Unexpected answer from the EHR",
            "The SMART configuration lacks valid https authorization and token endpoints.",
        )
    methods = document.get("code_challenge_methods_supported")
    if not isinstance(methods, list) or "S256" not in methods:
        raise Upstream(
            "SMART-502-04",
            "The EHR does not support a secure launch",
            "Its authorization server does not offer PKCE with S256, which SMART App Launch 2 requires.",
        )
    capabilities = document.get("capabilities")
    return SmartConfiguration(
        issuer=issuer,
        authorization_endpoint=authorize,
        token_endpoint=token,
        capabilities=frozenset(c for c in capabilities if isinstance(c, str))
        if isinstance(capabilities, list)
        else frozenset(),
    )


def new_pkce() -> tuple[str, str]:
    """A PKCE ``(code_verifier, code_challenge)`` pair, method ``S256`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    """``BASE64URL(SHA256(verifier))`` without padding.

    >>> pkce_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
    'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def scopes_for(resource_types: tuple[str, ...], capabilities: frozenset[str]) -> str:
    """The scopes to ask for: the EHR launch and read access to the resource types we read.

    SMART v2 scopes (``.rs``) when the server declares ``permission-v2``, else v1 (``.read``).
    """
    suffix = "rs" if "permission-v2" in capabilities else "read"
    return " ".join(["launch", *(f"patient/{t}.{suffix}" for t in resource_types)])


def authorize_url(
    config: SmartConfiguration,
    *,
    client_id: str,
    redirect_uri: str,
    launch: str,
    scope: str,
    state: str,
    code_challenge: str,
) -> str:
    """The authorization request the browser is redirected to."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "launch": launch,
            "scope": scope,
            "state": state,
            "aud": config.issuer,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if urlsplit(config.authorization_endpoint).query else "?"
    return f"{config.authorization_endpoint}{separator}{query}"


def exchange_code(
    http: requests.Session,
    token_endpoint: str,
    *,
    code: str,
    redirect_uri: str,
    client_id: str,
    code_verifier: str,
    timeout: tuple[float, float],
) -> TokenResponse:
    """Exchange the authorization code for an access token and check the response."""
    refused = NotAuthorised(
        "SMART-401-02",
        "The EHR did not issue an access token",
        "The authorization could not be completed. Please open the app again from the EHR.",
    )
    try:
        with http.post(
            token_endpoint,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "client_id": client_id,
                "code_verifier": code_verifier,
            },
            headers={"Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            if response.status_code in (400, 401, 403):
                raise refused
            if response.status_code != 200:
                raise Upstream(
                    "SMART-502-05",
                    "The EHR's authorization server failed",
                    "The token request did not succeed. Please try again from the EHR in a moment.",
                )
            document = _read_json(response, "token response")
    except requests.RequestException:
        raise Upstream(
            "SMART-502-05",
            "The EHR's authorization server failed",
            "The token request did not succeed. Please try again from the EHR in a moment.",
        ) from None
    return parse_token_response(document)


def parse_token_response(document: Any) -> TokenResponse:
    """Check a token response: a Bearer ``access_token`` and the ``patient`` in context are required."""
    if not isinstance(document, dict):
        raise Upstream("SMART-502-02", "Unexpected answer from the EHR", "The token response is invalid.")
    token = document.get("access_token")
    if not isinstance(token, str) or not token or not token.isprintable():
        raise NotAuthorised(
            "SMART-401-02",
            "The EHR did not issue an access token",
            "The authorization could not be completed. Please open the app again from the EHR.",
        )
    token_type = document.get("token_type")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise NotAuthorised(
            "SMART-401-03", "Unsupported access token", "The EHR issued a token that is not a Bearer token."
        )
    patient = document.get("patient")
    if not isinstance(patient, str) or not FHIR_ID.fullmatch(patient):
        raise BadLaunch(
            "SMART-400-07",
            "No patient in context",
            "The EHR did not say which patient this launch is for. Open the app from a patient's chart.",
        )
    expires_in = document.get("expires_in")
    if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
        expires_in = 300
    scope = document.get("scope") if isinstance(document.get("scope"), str) else ""
    app_context = document.get("appContext")
    if isinstance(app_context, dict):
        app_context = json.dumps(app_context)
    return TokenResponse(
        access_token=token,
        expires_in=expires_in,
        scope=scope or "",
        patient=patient,
        app_context=app_context if isinstance(app_context, str) else None,
    )

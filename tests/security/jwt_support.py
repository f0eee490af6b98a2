"""Keys, JWK Sets and CDS client tokens for the authentication tests, and a loopback JWKS server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from tests.conftest import PUBLIC_BASE

ISSUER = "https://ehr.example.org"
SERVICE_PATH = "/cds-services/crlm-patient-view"
AUDIT_KEY = "audit-key-for-tests-0123456789abcdef"


@dataclass(frozen=True)
class SigningKey:
    """A private key with its kid, algorithm and public JWK."""

    kid: str
    algorithm: str
    private: Any

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK."""
        codec = ECAlgorithm if self.algorithm.startswith("ES") else RSAAlgorithm
        jwk: dict[str, Any] = codec.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    @property
    def public_pem(self) -> bytes:
        """The public key in PEM (what an HMAC-confusion attacker would use as the secret)."""
        pem: bytes = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem


def es384_key(kid: str = "ec-1") -> SigningKey:
    """A fresh P-384 key."""
    return SigningKey(kid, "ES384", ec.generate_private_key(ec.SECP384R1()))


def rs384_key(kid: str = "rsa-1") -> SigningKey:
    """A fresh 2048-bit RSA key."""
    return SigningKey(kid, "RS384", rsa.generate_private_key(public_exponent=65537, key_size=2048))


def jwks(*keys: SigningKey) -> dict[str, Any]:
    """A JWK Set of the public keys."""
    return {"keys": [k.public_jwk for k in keys]}


def claims(path: str = SERVICE_PATH, **changes: Any) -> dict[str, Any]:
    """Valid CDS Hooks claims for a call to ``path``; ``None`` values remove a claim."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": ISSUER,
        "aud": PUBLIC_BASE + path,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def token(key: SigningKey, payload: dict[str, Any] | None = None, **header: Any) -> str:
    """A JWS signed with ``key``; header fields can be added or removed (``None``)."""
    headers = {"typ": "JWT", "kid": key.kid, **header}
    headers = {k: v for k, v in headers.items() if v is not None}
    algorithm = headers.pop("alg", key.algorithm)
    return jwt.encode(payload or claims(), key.private, algorithm=algorithm, headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(payload: dict[str, Any], header: dict[str, Any]) -> str:
    """An ``alg: none`` token."""
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}."


def hmac_token(secret: bytes, payload: dict[str, Any], header: dict[str, Any]) -> str:
    """An HS256 token made by hand (PyJWT refuses to use a public key as an HMAC secret)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def bearer(value: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {value}"}


@dataclass
class DocumentServer:
    """A loopback HTTP server serving JSON documents by path and counting requests."""

    documents: dict[str, Any] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    base_url: str = ""

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.hits.append(request.path)
        document = self.documents.get(request.path)
        if document is None:
            return Response("not found", status=404)(environ, start_response)
        return Response(json.dumps(document), content_type="application/json")(environ, start_response)


@contextmanager
def document_server() -> Iterator[DocumentServer]:
    """Run a :class:`DocumentServer` on a free loopback port for the block."""
    served = DocumentServer()
    server = make_server("127.0.0.1", 0, served.wsgi, threaded=True)
    served.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        thread.join(timeout=5)

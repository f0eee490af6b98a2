"""Server-side sessions of the explanation app: tokens stay on the server, encrypted at rest.

The browser holds one signed, HttpOnly cookie with a random *browser id*; it carries no token and no
patient data. Everything else lives in the store's server sessions (``Store.put_session``), so any
worker or host that shares the database can serve the next request:

* a **pending launch**, keyed by a hash of the OAuth ``state``: issuer, token endpoint, PKCE
  verifier and the browser id it belongs to; one-time, ten minutes;
* an **app context**, keyed by a hash of a random context id that appears in the page URL: issuer,
  access token, the token's patient and the browser id; it ends when the token expires.

Row keys are SHA-256 hashes, so the database never holds a usable state or context id, and the data
is encrypted with Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from
``CDS_SMART_SESSION_SECRET``; a copy of the database alone does not yield a token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from itsdangerous import BadSignature, URLSafeSerializer

from cds_service.storage import Store

COOKIE_NAME = "crlm_smart_session"
COOKIE_PATH = "/smart"


def _derive(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so the cookie and the data never share a key."""
    return hmac.new(secret, f"crlm-cds smart {purpose}".encode(), hashlib.sha256).digest()


def new_secret() -> bytes:
    """A random secret for a process started without ``CDS_SMART_SESSION_SECRET``."""
    return secrets.token_bytes(32)


class SessionVault:
    """Signed browser ids and encrypted server-side session records.

    Attributes:
        store: Where the records live.
        clock: Unix time now (tests replace it).
    """

    def __init__(self, store: Store, secret: bytes, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.clock = clock
        self._cookie = URLSafeSerializer(_derive(secret, "cookie"), salt="browser-id")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, "session-data")))
        self._demo_key = _derive(secret, "demo")

    @property
    def demo_key(self) -> bytes:
        """The key the demo authorization server signs its codes and tokens with."""
        return self._demo_key

    @staticmethod
    def new_id() -> str:
        """A fresh random identifier (256 bits, URL-safe)."""
        return secrets.token_urlsafe(32)

    def cookie_value(self, browser_id: str) -> str:
        """The signed cookie value for a browser id."""
        return str(self._cookie.dumps(browser_id))

    def browser_id(self, cookie: str | None) -> str | None:
        """The browser id from a cookie value, or ``None`` when absent or not signed by us."""
        if not cookie:
            return None
        try:
            value = self._cookie.loads(cookie)
        except BadSignature:
            return None
        return value if isinstance(value, str) else None

    @staticmethod
    def _key(kind: str, identifier: str) -> str:
        return f"smart-{kind}:" + hashlib.sha256(identifier.encode("utf-8")).hexdigest()

    def put(self, kind: str, identifier: str, data: dict[str, Any], ttl_seconds: float) -> None:
        """Store ``data`` encrypted under ``kind`` and ``identifier`` for ``ttl_seconds``."""
        token = self._fernet.encrypt(json.dumps(data, separators=(",", ":")).encode("utf-8"))
        self.store.put_session(self._key(kind, identifier), token.decode("ascii"), self.clock() + ttl_seconds)

    def get(self, kind: str, identifier: str) -> dict[str, Any] | None:
        """The record, or ``None`` when unknown, expired or not readable with this secret."""
        raw = self.store.get_session(self._key(kind, identifier), self.clock())
        if raw is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(raw.encode("ascii")))
        except (InvalidToken, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def delete(self, kind: str, identifier: str) -> None:
        """Forget a record."""
        self.store.delete_session(self._key(kind, identifier))

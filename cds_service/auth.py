"""CDS client authentication: the bearer JWT of CDS Hooks 2.0 (§Trusting CDS Clients).

Every discovery, service and feedback call must carry ``Authorization: Bearer <JWT>`` signed by a
trusted CDS client (an EHR). :class:`Authenticator` accepts a token only when all of these hold:

* the header names an accepted **asymmetric** algorithm (ES384 and RS384 by default; ``none`` and
  every HMAC algorithm are refused whatever the configuration), ``typ`` is ``JWT``, ``kid`` is
  given, and there is no ``crit`` header;
* ``iss`` is a configured trusted client, and the key with that ``kid`` comes from the client's own
  JWK Set: inline, from a file, or fetched from a ``jku`` URL on the client's allowlist (cached,
  refetched on an unknown ``kid`` at most every ``jwks_refresh_seconds``). Keys embedded in the
  token (``jwk``, ``x5c``) are never used;
* the signature verifies, with the key's type matching the algorithm and RSA keys of 2048 bits or
  more;
* ``aud`` is exactly the URL called, built from the configured public base URL (or an alias), never
  from the request's ``Host`` header;
* ``exp``, ``iat`` and ``jti`` are present, ``exp``/``iat``/``nbf`` hold within ``jwt_leeway``, and
  ``exp - iat`` is at most ``jwt_max_lifetime``;
* ``tenant`` (and ``sub``) are on the client's allowlists when it has them;
* the ``jti`` has not been seen from this issuer during the token's lifetime (kept in the database,
  so all workers and instances share it).

Any failure raises :class:`~cds_service.errors.Unauthorized`, which the HTTP layer answers with a
bare 401; the reason goes to the log, the token never does.

Trusted clients are configured with ``CDS_TRUSTED_CLIENTS_FILE`` (JSON or TOML) and/or
``CDS_TRUSTED_CLIENTS`` (inline JSON); the format and the presets (``cds-hooks-sandbox``,
``oracle-health``, ``epic``) are documented in ``docs/security.md``.
"""

from __future__ import annotations

import json
import threading
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
import requests

from cds_service.config import ASYMMETRIC_ALGORITHMS, ConfigError, Settings
from cds_service.errors import Unauthorized

MAX_TOKEN_CHARS = 8192
MAX_JWKS_BYTES = 512 * 1024
JWKS_TIMEOUT = (2.0, 3.0)
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_KEY_TYPES = {"ES": "EC", "RS": "RSA", "PS": "RSA", "Ed": "OKP"}

SANDBOX_ISSUER = "https://sandbox.cds-hooks.org"
SANDBOX_JWKS: dict[str, Any] = {
    "keys": [
        {
            "kty": "EC",
            "use": "sig",
            "crv": "P-384",
            "kid": "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f",
            "x": "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB",
            "y": "Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy",
            "alg": "ES384",
        }
    ]
}

PRESETS: dict[str, dict[str, Any]] = {
    # The public CDS Hooks sandbox. Its private key is published, so anyone can sign as it: a client
    # with this preset must say "demo": true, and the service warns at start-up.
    "cds-hooks-sandbox": {
        "issuer": SANDBOX_ISSUER,
        "jwks": SANDBOX_JWKS,
        "jku": [f"{SANDBOX_ISSUER}/.well-known/jwks.json"],
        "algorithms": ["ES384"],
    },
    # Oracle Health (Cerner Millennium): one issuer; the token's jku must be listed by Cerner's
    # authorization server.
    "oracle-health": {
        "issuer": "https://cds-hooks.cerner.com",
        "jku_directory": "https://authorization.cerner.com/jwk",
    },
    # Epic: one client per customer organisation; its FHIR base URL is the issuer, its jku the
    # organisation's PublicKeys URL, RS384 by default.
    "epic": {"algorithms": ["RS384", "ES384"]},
}
_CLIENT_FIELDS = frozenset(
    {
        "name",
        "preset",
        "issuer",
        "jwks",
        "jwks_file",
        "jku",
        "jku_directory",
        "algorithms",
        "tenants",
        "subjects",
        "fhir_servers",
        "demo",
    }
)


@dataclass(frozen=True, slots=True)
class TrustedClient:
    """One CDS client (EHR) whose tokens the service accepts.

    Attributes:
        name: Short name used in logs and the audit trail.
        issuer: The exact ``iss`` its tokens carry.
        keys: Its JWK Set known out of band (inline or from a file): ``kid`` -> JWK.
        jku: JWK Set URLs its tokens may name in ``jku``.
        jku_directory: URL of a document listing further allowed ``jku`` URLs (Oracle Health).
        algorithms: Algorithms accepted from it (empty: the service-wide setting).
        tenants: Accepted ``tenant`` claims; empty: not checked.
        subjects: Accepted ``sub`` claims; empty: not checked.
        fhir_servers: FHIR base URLs this client's hook calls may name as ``fhirServer``, beyond
            the service-wide allowlist.
        demo: A test or demo client whose private key is public.
    """

    name: str
    issuer: str
    keys: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    jku: tuple[str, ...] = ()
    jku_directory: str | None = None
    algorithms: tuple[str, ...] = ()
    tenants: frozenset[str] = frozenset()
    subjects: frozenset[str] = frozenset()
    fhir_servers: tuple[str, ...] = ()
    demo: bool = False


@dataclass(frozen=True, slots=True)
class AuthContext:
    """Who made an authenticated call (safe to log: no token)."""

    client: str
    issuer: str
    tenant: str | None
    jti: str


class ReplayCache(Protocol):
    """Remembers ``jti`` values across workers (the database)."""

    def claim_jti(self, issuer: str, jti: str, expires_at: float, now: float) -> bool:
        """Record the ``jti``; False when it was already recorded and has not expired."""
        ...


def _https_or_loopback(where: str, url: Any) -> str:
    if not isinstance(url, str):
        raise ConfigError(f"{where} must be a URL string")
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in {"http", "https"} or parts.username or parts.fragment:
        raise ConfigError(f"{where}: {url!r} is not an absolute https URL")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ConfigError(f"{where}: {url!r} must use https (http only on loopback, for tests)")
    return url


def _string_list(where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where} must be a list of non-empty strings")
    return tuple(value)


def _jwk_set(where: str, document: Any) -> dict[str, Mapping[str, Any]]:
    """Validate a JWK Set and index its public signing keys by ``kid``."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ConfigError(f"{where} must be a JWK Set: an object with a 'keys' array")
    keys: dict[str, Mapping[str, Any]] = {}
    for key in document["keys"]:
        if not isinstance(key, dict) or not isinstance(key.get("kid"), str) or not key["kid"]:
            raise ConfigError(f"{where}: every key needs a 'kid'")
        if key.get("kty") not in {"EC", "RSA", "OKP"}:
            raise ConfigError(f"{where}: key {key['kid']!r} is not an asymmetric key (kty EC, RSA, OKP)")
        if any(private in key for private in ("d", "p", "q")):
            raise ConfigError(f"{where}: key {key['kid']!r} holds private key material; give public keys")
        keys[key["kid"]] = key
    return keys


def _client(entry: Any, index: int, base_dir: Path) -> TrustedClient:
    where = f"trusted client #{index + 1}"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object")
    unknown = set(entry) - _CLIENT_FIELDS
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    preset_name = entry.get("preset")
    if preset_name is not None and preset_name not in PRESETS:
        raise ConfigError(f"{where}: unknown preset {preset_name!r}; known: {', '.join(sorted(PRESETS))}")
    merged: dict[str, Any] = {**PRESETS.get(preset_name or "", {}), **entry}
    name = merged.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where} needs a 'name'")
    where = f"trusted client {name!r}"
    issuer = merged.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise ConfigError(f"{where} needs an 'issuer' (the exact iss of its tokens)")
    if preset_name == "cds-hooks-sandbox" and merged.get("demo") is not True:
        raise ConfigError(
            f"{where}: the cds-hooks-sandbox preset trusts a key whose private half is published; "
            'set "demo": true to accept that (test and demo deployments only)'
        )
    keys: dict[str, Mapping[str, Any]] = {}
    if "jwks" in merged:
        keys.update(_jwk_set(f"{where} jwks", merged["jwks"]))
    if "jwks_file" in merged:
        path = Path(str(merged["jwks_file"]))
        path = path if path.is_absolute() else base_dir / path
        try:
            document = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{where}: cannot read jwks_file {str(path)!r} ({exc})") from None
        keys.update(_jwk_set(f"{where} jwks_file", document))
    jku = tuple(
        _https_or_loopback(f"{where} jku", u) for u in _string_list(f"{where} jku", merged.get("jku", []))
    )
    directory = merged.get("jku_directory")
    if directory is not None:
        directory = _https_or_loopback(f"{where} jku_directory", directory)
    if not keys and not jku and directory is None:
        raise ConfigError(f"{where} needs keys: 'jwks', 'jwks_file', 'jku' or 'jku_directory'")
    algorithms = _string_list(f"{where} algorithms", merged.get("algorithms", []))
    for algorithm in algorithms:
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise ConfigError(f"{where}: algorithm {algorithm!r} is not an accepted asymmetric algorithm")
    fhir_servers = _string_list(f"{where} fhir_servers", merged.get("fhir_servers", []))
    if preset_name == "epic" and "fhir_servers" not in entry and issuer.startswith("https://"):
        fhir_servers = (issuer,)
    for server in fhir_servers:
        if urlsplit(server).scheme != "https" and urlsplit(server).hostname not in _LOOPBACK_HOSTS:
            raise ConfigError(f"{where}: fhir_servers entry {server!r} must use https")
    demo = merged.get("demo", False)
    if not isinstance(demo, bool):
        raise ConfigError(f"{where}: 'demo' must be true or false")
    return TrustedClient(
        name=name,
        issuer=issuer,
        keys=keys,
        jku=jku,
        jku_directory=directory,
        algorithms=algorithms,
        tenants=frozenset(_string_list(f"{where} tenants", merged.get("tenants", []))),
        subjects=frozenset(_string_list(f"{where} subjects", merged.get("subjects", []))),
        fhir_servers=tuple(s.rstrip("/") for s in fhir_servers),
        demo=demo,
    )


def _client_entries(document: Any, where: str) -> list[Any]:
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("clients"), list):
        return list(document["clients"])
    raise ConfigError(f"{where} must be a list of clients or an object with a 'clients' list")


def load_trusted_clients(settings: Settings) -> tuple[TrustedClient, ...]:
    """Read and validate the trusted clients from the file and the inline setting."""
    clients: list[TrustedClient] = []
    if settings.trusted_clients_file is not None:
        path = settings.trusted_clients_file
        try:
            text = path.read_text("utf-8")
            document = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"CDS_TRUSTED_CLIENTS_FILE: cannot read {str(path)!r}: {exc}") from None
        entries = _client_entries(document, "CDS_TRUSTED_CLIENTS_FILE")
        clients.extend(_client(e, i, path.parent) for i, e in enumerate(entries))
    if settings.trusted_clients:
        try:
            document = json.loads(settings.trusted_clients)
        except ValueError:
            raise ConfigError("CDS_TRUSTED_CLIENTS must be JSON") from None
        entries = _client_entries(document, "CDS_TRUSTED_CLIENTS")
        clients.extend(_client(e, i, Path.cwd()) for i, e in enumerate(entries))
    issuers = [c.issuer for c in clients]
    for issuer in set(issuers):
        if issuers.count(issuer) > 1:
            raise ConfigError(f"trusted clients: issuer {issuer!r} is configured more than once")
    names = [c.name for c in clients]
    for name in set(names):
        if names.count(name) > 1:
            raise ConfigError(f"trusted clients: name {name!r} is used more than once")
    return tuple(clients)


class _AuthFailure(Exception):
    """Why a token was refused (for the log only)."""


def _fetch_json(url: str, session: requests.Session) -> Any:
    """GET a small JSON document: no redirects, bounded time and size."""
    try:
        with session.get(url, timeout=JWKS_TIMEOUT, allow_redirects=False, stream=True) as response:
            if response.status_code != 200:
                raise _AuthFailure(f"key set fetch answered HTTP {response.status_code}")
            body = bytearray()
            for chunk in response.iter_content(65536):
                body.extend(chunk)
                if len(body) > MAX_JWKS_BYTES:
                    raise _AuthFailure("key set document too large")
    except requests.RequestException as exc:
        raise _AuthFailure(f"key set fetch failed ({type(exc).__name__})") from None
    try:
        return json.loads(body)
    except ValueError:
        raise _AuthFailure("key set document is not JSON") from None


@dataclass
class _Remote:
    """One cached remote document and when it may be fetched again."""

    value: Any = None
    fetched_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


class RemoteCache:
    """JWK Sets and ``jku`` directories fetched over HTTPS, cached per URL.

    A document is reused for ``ttl`` seconds; on a miss (unknown ``kid`` or ``jku``) it is fetched
    again only if the last fetch is at least ``min_interval`` old, so a stream of forged tokens
    cannot make the service hammer a key server. A failed refetch keeps the previous document.
    """

    def __init__(
        self,
        *,
        ttl: float,
        min_interval: float,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._min_interval = min_interval
        self._session = session or requests.Session()
        self._session.trust_env = False
        self._clock = clock
        self._entries: dict[str, _Remote] = {}
        self._guard = threading.Lock()

    def get(self, url: str, parse: Callable[[Any], Any], *, refresh: bool = False) -> Any:
        """The parsed document at ``url``; ``refresh`` asks for a newer copy (rate-bounded)."""
        with self._guard:
            entry = self._entries.setdefault(url, _Remote())
        with entry.lock:
            age = self._clock() - entry.fetched_at
            stale = age >= self._ttl or (refresh and age >= self._min_interval)
            if entry.value is None and age < self._min_interval:
                raise _AuthFailure("key set unavailable (recent fetch failed)")
            if stale:
                try:
                    value = parse(_fetch_json(url, self._session))
                except (_AuthFailure, ConfigError) as exc:
                    entry.fetched_at = self._clock()
                    if entry.value is None:
                        raise _AuthFailure(f"key set {url} unavailable: {exc}") from None
                else:
                    entry.value = value
                    entry.fetched_at = self._clock()
            return entry.value


def _directory_urls(document: Any) -> frozenset[str]:
    """Every https URL string anywhere in a ``jku`` directory document (its format is not published)."""
    found: set[str] = set()
    stack = [document]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and item.startswith("https://"):
            found.add(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return frozenset(found)


class Authenticator:
    """Verifies CDS client JWTs (see the module docstring for the rules)."""

    def __init__(
        self,
        settings: Settings,
        clients: Sequence[TrustedClient],
        replay: ReplayCache,
        *,
        remote: RemoteCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not settings.public_base_url:
            raise ConfigError(
                "CDS_PUBLIC_BASE_URL is required when authentication is on: the JWT audience is "
                "checked against the public URL of each endpoint, never against the Host header"
            )
        self._clients = {c.issuer: c for c in clients}
        self._bases = (settings.public_base_url, *settings.public_url_aliases)
        self._algorithms = settings.jwt_algorithms
        self._leeway = settings.jwt_leeway
        self._max_lifetime = settings.jwt_max_lifetime
        self._replay = replay
        self._remote = remote or RemoteCache(
            ttl=settings.jwks_cache_seconds, min_interval=settings.jwks_refresh_seconds
        )
        self._clock = clock
        self._jwk_cache: dict[tuple[str, str, str], jwt.PyJWK] = {}

    @property
    def clients(self) -> tuple[TrustedClient, ...]:
        """The trusted clients."""
        return tuple(self._clients.values())

    def authenticate(self, authorization: str | None, path: str) -> AuthContext:
        """Verify the ``Authorization`` header of a call to ``path``; raise Unauthorized if not."""
        try:
            return self._verify(authorization, path)
        except _AuthFailure as exc:
            raise Unauthorized(str(exc)) from None

    def _verify(self, authorization: str | None, path: str) -> AuthContext:
        if not authorization:
            raise _AuthFailure("no Authorization header")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise _AuthFailure("Authorization is not a bearer token")
        if len(token) > MAX_TOKEN_CHARS:
            raise _AuthFailure("token too long")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _AuthFailure("token is not a well-formed JWS") from None
        issuer = unverified.get("iss")
        client = self._clients.get(issuer) if isinstance(issuer, str) else None
        if client is None:
            raise _AuthFailure("issuer not trusted")
        algorithm = header.get("alg")
        allowed = client.algorithms or self._algorithms
        if not isinstance(algorithm, str) or algorithm not in allowed:
            raise _AuthFailure(f"algorithm {str(algorithm)[:16]!r} not accepted")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise _AuthFailure("typ is not JWT")
        if "crit" in header:
            raise _AuthFailure("crit header not supported")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 256:
            raise _AuthFailure("kid missing")
        key = self._key(client, kid, algorithm, header.get("jku"))
        audiences = [base + path for base in self._bases]
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=audiences,
                issuer=client.issuer,
                leeway=self._leeway,
                options={
                    "require": ["iss", "aud", "exp", "iat", "jti"],
                    "enforce_minimum_key_length": True,
                    "strict_aud": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise _AuthFailure(f"token rejected ({type(exc).__name__})") from None
        return self._check_claims(client, claims)

    def _check_claims(self, client: TrustedClient, claims: dict[str, Any]) -> AuthContext:
        now = self._clock()
        issued, expires = claims["iat"], claims["exp"]
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (issued, expires)):
            raise _AuthFailure("iat and exp must be numbers")
        if issued > now + self._leeway:
            raise _AuthFailure("token issued in the future")
        if expires - issued > self._max_lifetime:
            raise _AuthFailure("token lifetime longer than allowed")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 255:
            raise _AuthFailure("jti must be a non-empty string")
        tenant = claims.get("tenant")
        if tenant is not None and not isinstance(tenant, str):
            raise _AuthFailure("tenant must be a string")
        if client.tenants and tenant not in client.tenants:
            raise _AuthFailure("tenant not allowed")
        if client.subjects and claims.get("sub") not in client.subjects:
            raise _AuthFailure("sub not allowed")
        if not self._replay.claim_jti(client.issuer, jti, float(expires) + self._leeway, now):
            raise _AuthFailure("jti replayed")
        return AuthContext(client=client.name, issuer=client.issuer, tenant=tenant, jti=jti)

    def _key(self, client: TrustedClient, kid: str, algorithm: str, jku: Any) -> jwt.PyJWK:
        """The verification key: the client's own keys first, then its allowlisted ``jku``."""
        if jku is not None and (not isinstance(jku, str) or not self._jku_allowed(client, jku)):
            raise _AuthFailure("jku not on the client's allowlist")
        jwk = client.keys.get(kid)
        source = "static"
        if jwk is None:
            urls = [jku] if isinstance(jku, str) else list(client.jku)
            for url in urls:
                keys = self._remote.get(url, lambda d: _jwk_set("remote JWK Set", d))
                if kid not in keys:
                    keys = self._remote.get(url, lambda d: _jwk_set("remote JWK Set", d), refresh=True)
                jwk = keys.get(kid)
                if jwk is not None:
                    source = url
                    break
        if jwk is None:
            raise _AuthFailure("unknown kid")
        return self._pyjwk(source, jwk, algorithm)

    def _jku_allowed(self, client: TrustedClient, jku: str) -> bool:
        if jku in client.jku:
            return True
        if client.jku_directory is None or urlsplit(jku).scheme != "https":
            return False
        listed = self._remote.get(client.jku_directory, _directory_urls)
        if jku not in listed:
            listed = self._remote.get(client.jku_directory, _directory_urls, refresh=True)
        return jku in listed

    def _pyjwk(self, source: str, jwk: Mapping[str, Any], algorithm: str) -> jwt.PyJWK:
        cache_key = (source, json.dumps(jwk, sort_keys=True), algorithm)
        cached = self._jwk_cache.get(cache_key)
        if cached is not None:
            return cached
        if jwk.get("kty") != _KEY_TYPES.get(algorithm[:2]):
            raise _AuthFailure("key type does not match the algorithm")
        if jwk.get("alg") not in (None, algorithm) or jwk.get("use") not in (None, "sig"):
            raise _AuthFailure("key not meant for this algorithm or for signatures")
        try:
            key = jwt.PyJWK(dict(jwk), algorithm=algorithm)
        except jwt.PyJWTError:
            raise _AuthFailure("key cannot be used") from None
        self._jwk_cache[cache_key] = key
        return key


def build_authenticator(settings: Settings, replay: ReplayCache) -> Authenticator | None:
    """The authenticator the settings ask for, or ``None`` when authentication is off.

    Raises :class:`ConfigError` when authentication is on but no trusted client is configured.
    """
    if not settings.auth:
        return None
    clients = load_trusted_clients(settings)
    if not clients:
        raise ConfigError(
            "authentication is on (the default) but no trusted CDS clients are configured: set "
            "CDS_TRUSTED_CLIENTS_FILE or CDS_TRUSTED_CLIENTS (see docs/security.md), or set "
            "CDS_AUTH=off for local development only"
        )
    return Authenticator(settings, clients, replay)

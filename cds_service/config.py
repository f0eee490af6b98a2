"""Service configuration: read once at start-up from ``CDS_*`` environment variables.

:func:`load_settings` is the only place that reads the environment. Invalid values stop start-up
with a :class:`ConfigError` that names the variable and what is expected; they are never replaced
by a default silently.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cds_service.core.policy import TimingDefinition

ENV_PREFIX = "CDS_"

T = TypeVar("T")


class ConfigError(Exception):
    """The configuration is invalid; the service must not start."""


def _default_profiles_dir() -> Path:
    """The published profiles: packaged copy in a wheel, else the repository's ``fhir_profiles/``."""
    packaged = Path(__file__).resolve().parent / "fhir_profiles"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "fhir_profiles"


@dataclass(frozen=True, slots=True)
class Settings:
    """Typed service settings; every field maps to ``CDS_<FIELD NAME IN UPPER CASE>``.

    Attributes:
        host: Interface ``cds-service serve`` binds to.
        port: Port ``cds-service serve`` binds to.
        workers: gunicorn worker processes for ``cds-service serve``.
        public_base_url: The externally visible base URL (e.g. ``https://cds.example.org``); used
            for absolute links and the JWT audience. Empty: derived from each request.
        cors_origins: Origins allowed to call the service from a browser; ``*`` allows any.
        max_body_bytes: Largest accepted request body.
        max_json_depth: Deepest accepted JSON nesting.
        database_url: ``sqlite:///<path>`` (default) or ``postgresql://...``.
        profiles_dir: Directory of the published FHIR artefacts (service definitions, ValueSets).
        fhir_connect_timeout: Seconds to connect to an EHR FHIR server.
        fhir_read_timeout: Seconds to wait for each FHIR response.
        fhir_total_budget: Seconds for all FHIR fetches of one hook call, ``next`` pages included.
        fhir_max_response_bytes: Largest FHIR response read.
        fhir_max_pages: Most ``next`` pages followed per search.
        log_level: Python logging level name.
        fhir_server_allowlist: Base URLs of the FHIR servers (SMART issuers) the service may talk
            to; see :func:`is_allowed_fhir_server`. Empty: none, so the explanation app refuses
            every launch except the demo's.
        smart_client_id: OAuth client id of the explanation app registered at the EHR. Empty:
            the app accepts no EHR launch and cards carry no ``smart`` link (unless demo mode).
        smart_session_secret: Secret for the app's session cookie signature and the encryption of
            its server-side sessions (tokens). Empty: a random secret per start, so sessions do
            not survive a restart or span several hosts.
        smart_frame_ancestors: Origins that may embed the app in a frame (CSP ``frame-ancestors``
            sources), e.g. the EHR's origin.
        smart_demo: Demo mode: a stand-in EHR, SMART authorization server and FHIR server with
            the example patients under ``/demo``. Never with patient data.
        auth: Verify the CDS client's JWT on discovery, service and feedback calls (on by default;
            ``off`` only for local development, and the service then warns loudly at start-up).
        trusted_clients_file: JSON or TOML file of the trusted CDS clients (see docs/security.md).
        trusted_clients: The same client list as inline JSON.
        public_url_aliases: Further public base URLs a JWT ``aud`` may name (e.g. an old host name).
        jwt_algorithms: JWS algorithms accepted (asymmetric only; ``none`` and HMAC are refused).
        jwt_leeway: Seconds of clock skew allowed for ``exp``, ``iat`` and ``nbf``.
        jwt_max_lifetime: Longest accepted token lifetime (``exp - iat``), also how long a ``jti`` is
            remembered.
        jwks_cache_seconds: How long a JWK Set fetched from a ``jku`` is used before it is fetched
            again.
        jwks_refresh_seconds: Least time between two fetches of one JWK Set on an unknown ``kid``.
        audit_key: Secret of the keyed hash (HMAC-SHA256) that identifies patients in the audit
            trail; required with authentication on.
        audit_key_file: File holding that secret (for container secrets), instead of ``audit_key``.
        fhir_allow_loopback: Allow fetching from loopback FHIR servers on any port, over http too
            (tests and demos only).
        fhir_allowed_networks: Non-public networks (CIDR) FHIR servers may resolve to, e.g. a
            hospital's internal network; link-local networks are never allowed.
        fhir_max_entries: Most Bundle entries read per search, ``next`` pages included.
        metrics: Serve Prometheus metrics at ``/metrics``.
        timing_definition: Definition of synchronous liver metastases the cards follow
            (``e-ahpba-2023``, ``adam-2015`` or ``maki-2023``; the other definitions are shown too).
        presentation_window_days: Days after diagnosis of the primary that still count as "at
            presentation" (staging window); unset: the rule base's value.
        synthea_compat: Read Synthea's colorectal stage codes (e.g. 94260004 as a stage IV colon
            primary). For synthetic test data only; never with real patient data.
    """

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    public_base_url: str = ""
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = 32 * 1024 * 1024
    max_json_depth: int = 64
    database_url: str = "sqlite:///var/cds-service.sqlite3"
    profiles_dir: Path = field(default_factory=_default_profiles_dir)
    fhir_connect_timeout: float = 2.0
    fhir_read_timeout: float = 5.0
    fhir_total_budget: float = 8.0
    fhir_max_response_bytes: int = 32 * 1024 * 1024
    fhir_max_pages: int = 10
    log_level: str = "INFO"
    fhir_server_allowlist: tuple[str, ...] = ()
    smart_client_id: str = ""
    smart_session_secret: str = field(default="", repr=False)
    smart_frame_ancestors: tuple[str, ...] = ("'self'", "https:")
    smart_demo: bool = False
    auth: bool = True
    trusted_clients_file: Path | None = None
    trusted_clients: str = ""
    public_url_aliases: tuple[str, ...] = ()
    jwt_algorithms: tuple[str, ...] = ("ES384", "RS384")
    jwt_leeway: int = 30
    jwt_max_lifetime: int = 3600
    jwks_cache_seconds: int = 3600
    jwks_refresh_seconds: int = 60
    audit_key: str = field(default="", repr=False)
    audit_key_file: Path | None = None
    fhir_allow_loopback: bool = False
    fhir_allowed_networks: tuple[str, ...] = ()
    fhir_max_entries: int = 20000
    metrics: bool = True
    timing_definition: TimingDefinition = TimingDefinition.E_AHPBA_2023
    presentation_window_days: int | None = None
    synthea_compat: bool = False


def _parse_timing(name: str, raw: str) -> TimingDefinition:
    try:
        return TimingDefinition(raw.lower())
    except ValueError:
        choices = ", ".join(t.value for t in TimingDefinition)
        raise ConfigError(f"{name} must be one of {choices}, got {raw!r}") from None


def _parse_int(name: str, raw: str, *, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _parse_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value > 0:
        raise ConfigError(f"{name} must be > 0, got {raw!r}")
    return value


def _parse_url(name: str, raw: str) -> str:
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"{name} must be an absolute http(s) URL without query, got {raw!r}")
    return raw.rstrip("/")


def _parse_origins(name: str, raw: str) -> tuple[str, ...]:
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    for origin in origins:
        parts = urlsplit(origin)
        if origin != "*" and (parts.scheme not in {"http", "https"} or not parts.netloc or parts.path):
            raise ConfigError(f"{name}: {origin!r} is not an origin like https://host:port")
    return origins


def _parse_database_url(name: str, raw: str) -> str:
    if raw.startswith("sqlite:///") and len(raw) > len("sqlite:///"):
        return raw
    if raw.startswith(("postgresql://", "postgres://")):
        return raw
    raise ConfigError(f"{name} must be sqlite:///<path> or postgresql://..., got a different scheme")


def _parse_log_level(name: str, raw: str) -> str:
    level = raw.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"{name} must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {raw!r}")
    return level


def _parse_dir(name: str, raw: str) -> Path:
    path = Path(raw)
    if not path.is_dir():
        raise ConfigError(f"{name} must be an existing directory, got {raw!r}")
    return path


_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _normalise_base(url: str) -> tuple[str, str, str] | None:
    """``(scheme, host:port, path)`` of an absolute http(s) URL, lower-cased and with default ports."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return parts.scheme, f"{parts.hostname.lower()}:{port}", parts.path.rstrip("/")


def _parse_allowlist(name: str, raw: str) -> tuple[str, ...]:
    entries = tuple(e.strip().rstrip("/") for e in raw.split(",") if e.strip())
    for entry in entries:
        parts = urlsplit(entry)
        if _normalise_base(entry) is None or parts.query or parts.fragment:
            raise ConfigError(f"{name}: {entry!r} is not an absolute http(s) base URL without query")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ConfigError(f"{name}: {entry!r} must use https (http only on loopback)")
    return entries


def is_allowed_fhir_server(settings: Settings, url: str) -> bool:
    """True when ``url`` is an allowlisted FHIR base URL or lies under one.

    The one allowlist check for FHIR servers and SMART issuers: same scheme, host and port, and a
    path equal to an entry's or below it (``https://h/r4`` allows ``https://h/r4/tenant`` but not
    ``https://h/r4x``).

    >>> s = Settings(fhir_server_allowlist=("https://fhir.example.org/r4",))
    >>> is_allowed_fhir_server(s, "https://FHIR.example.org:443/r4/tenant-1")
    True
    >>> is_allowed_fhir_server(s, "https://fhir.example.org/r4x")
    False
    """
    target = _normalise_base(url)
    if target is None or urlsplit(url).query or urlsplit(url).fragment:
        return False
    for entry in settings.fhir_server_allowlist:
        allowed = _normalise_base(entry)
        if allowed is None or allowed[:2] != target[:2]:
            continue
        if target[2] == allowed[2] or target[2].startswith(allowed[2] + "/"):
            return True
    return False


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _parse_secret(name: str, raw: str) -> str:
    if raw and len(raw) < 32:
        raise ConfigError(f"{name} must be at least 32 characters (e.g. from `openssl rand -hex 32`)")
    return raw


def _parse_frame_ancestors(name: str, raw: str) -> tuple[str, ...]:
    sources = tuple(s.strip().rstrip("/") for s in raw.replace(",", " ").split() if s.strip())
    for source in sources:
        parts = urlsplit(source)
        keyword = source in {"'self'", "'none'", "https:", "*"}
        if not keyword and (parts.scheme not in {"http", "https"} or not parts.netloc or parts.path):
            raise ConfigError(f"{name}: {source!r} is not an origin, 'self', 'none', https: or *")
    if not sources:
        raise ConfigError(f"{name} must name at least one source ('none' forbids framing)")
    return sources


ASYMMETRIC_ALGORITHMS = frozenset(
    {"ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "EdDSA"}
)


def _parse_algorithms(name: str, raw: str) -> tuple[str, ...]:
    algorithms = tuple(a.strip() for a in raw.split(",") if a.strip())
    for algorithm in algorithms:
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise ConfigError(
                f"{name}: {algorithm!r} is not an accepted JWS algorithm; asymmetric only: "
                + ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
            )
    if not algorithms:
        raise ConfigError(f"{name} must name at least one algorithm")
    return algorithms


def _parse_file(name: str, raw: str) -> Path | None:
    if not raw:
        return None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(f"{name} must be an existing file, got {raw!r}")
    return path


def _parse_base_urls(name: str, raw: str) -> tuple[str, ...]:
    return tuple(_parse_url(name, u.strip()) for u in raw.split(",") if u.strip())


def _parse_networks(name: str, raw: str) -> tuple[str, ...]:
    networks = []
    for entry in (e.strip() for e in raw.split(",") if e.strip()):
        try:
            network = ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {entry!r} is not a network in CIDR notation") from None
        if network.overlaps(_LINK_LOCAL[network.version]):
            raise ConfigError(f"{name}: {entry!r} overlaps link-local addresses, which are never allowed")
        networks.append(str(network))
    return tuple(networks)


_LINK_LOCAL = {4: ipaddress.ip_network("169.254.0.0/16"), 6: ipaddress.ip_network("fe80::/10")}

_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "host": lambda _n, raw: raw,
    "port": lambda n, raw: _parse_int(n, raw, minimum=1),
    "workers": lambda n, raw: _parse_int(n, raw, minimum=1),
    "public_base_url": _parse_url,
    "cors_origins": _parse_origins,
    "max_body_bytes": lambda n, raw: _parse_int(n, raw, minimum=1024),
    "max_json_depth": lambda n, raw: _parse_int(n, raw, minimum=8),
    "database_url": _parse_database_url,
    "profiles_dir": _parse_dir,
    "fhir_connect_timeout": _parse_float,
    "fhir_read_timeout": _parse_float,
    "fhir_total_budget": _parse_float,
    "fhir_max_response_bytes": lambda n, raw: _parse_int(n, raw, minimum=1024),
    "fhir_max_pages": lambda n, raw: _parse_int(n, raw, minimum=1),
    "log_level": _parse_log_level,
    "fhir_server_allowlist": _parse_allowlist,
    "smart_client_id": lambda _n, raw: raw,
    "smart_session_secret": _parse_secret,
    "smart_frame_ancestors": _parse_frame_ancestors,
    "smart_demo": _parse_bool,
    "auth": _parse_bool,
    "trusted_clients_file": _parse_file,
    "trusted_clients": lambda _n, raw: raw,
    "public_url_aliases": _parse_base_urls,
    "jwt_algorithms": _parse_algorithms,
    "jwt_leeway": lambda n, raw: _parse_int(n, raw, minimum=0),
    "jwt_max_lifetime": lambda n, raw: _parse_int(n, raw, minimum=60),
    "jwks_cache_seconds": lambda n, raw: _parse_int(n, raw, minimum=60),
    "jwks_refresh_seconds": lambda n, raw: _parse_int(n, raw, minimum=1),
    "audit_key": _parse_secret,
    "audit_key_file": _parse_file,
    "fhir_allow_loopback": _parse_bool,
    "fhir_allowed_networks": _parse_networks,
    "fhir_max_entries": lambda n, raw: _parse_int(n, raw, minimum=1),
    "metrics": _parse_bool,
    "timing_definition": _parse_timing,
    "presentation_window_days": lambda n, raw: _parse_int(n, raw, minimum=0),
    "synthea_compat": _parse_bool,
}


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build :class:`Settings` from ``CDS_*`` variables, then apply keyword ``overrides``.

    Unknown ``CDS_*`` variables are rejected, because a misspelt security setting must not be
    ignored silently.
    """
    env = os.environ if environ is None else environ
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for key, raw in env.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :].lower()
        if name not in known:
            raise ConfigError(f"unknown setting {key}; known: {', '.join(sorted(known))}")
        values[name] = _PARSERS[name](key, raw.strip())
    values.update(overrides)
    return Settings(**values)


def env_name(field_name: str) -> str:
    """The environment variable that sets a :class:`Settings` field."""
    return ENV_PREFIX + field_name.upper()

"""Service configuration: read once at start-up from ``CDS_*`` environment variables.

:func:`load_settings` is the only place that reads the environment. Invalid values stop start-up
with a :class:`ConfigError` that names the variable and what is expected; they are never replaced
by a default silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

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
    """

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    public_base_url: str = ""
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = 64 * 1024 * 1024
    max_json_depth: int = 64
    database_url: str = "sqlite:///var/cds-service.sqlite3"
    profiles_dir: Path = field(default_factory=_default_profiles_dir)
    fhir_connect_timeout: float = 2.0
    fhir_read_timeout: float = 5.0
    fhir_total_budget: float = 8.0
    fhir_max_response_bytes: int = 32 * 1024 * 1024
    fhir_max_pages: int = 10
    log_level: str = "INFO"


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

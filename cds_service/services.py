"""The service registry: CDS service definitions read from ``fhir_profiles/cds-services.json``.

The discovery document is data, served as published; this module only loads it, checks it against
the CDS Hooks 2.0 service-definition rules and exposes each service's prefetch templates.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service.errors import NotFound

DISCOVERY_FILE = "cds-services.json"
REQUIRED_PREFETCH_EXTENSION = "org.crlm-cds.required-prefetch"

_TOKEN = re.compile(r"\{\{([^}]*)\}\}")
_ALLOWED_TOKENS = frozenset(
    {
        "context.patientId",
        "context.userId",
        "context.encounterId",
        "userPractitionerId",
        "userPractitionerRoleId",
        "userPatientId",
        "userRelatedPersonId",
    }
)


class ServiceDefinitionError(Exception):
    """The published service definitions are invalid; the service must not start."""


@dataclass(frozen=True, slots=True)
class ServiceDefinition:
    """One CDS service as published in discovery.

    Attributes:
        id: Service id (the URL path segment).
        hook: The hook it answers.
        prefetch: Prefetch key -> template.
        required_prefetch: Keys without which the service answers 412.
        document: The definition exactly as published.
    """

    id: str
    hook: str
    prefetch: dict[str, str]
    required_prefetch: frozenset[str]
    document: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Registry:
    """All services of this deployment, keyed by id, plus the discovery document."""

    services: dict[str, ServiceDefinition]
    discovery: dict[str, Any]

    def get(self, service_id: str) -> ServiceDefinition:
        """The service with this id, or :class:`NotFound`."""
        try:
            return self.services[service_id]
        except KeyError:
            raise NotFound("CDS-404-01", "no CDS service with this id") from None


def _check_definition(entry: Any) -> ServiceDefinition:
    if not isinstance(entry, dict):
        raise ServiceDefinitionError("each service definition must be a JSON object")
    for name in ("hook", "id", "description"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise ServiceDefinitionError(f"service definition needs a non-empty string {name!r}")
    if not re.fullmatch(r"[A-Za-z0-9._-]+", entry["id"]):
        raise ServiceDefinitionError(f"service id {entry['id']!r} is not URL-safe")
    prefetch = entry.get("prefetch", {})
    if not isinstance(prefetch, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in prefetch.items()
    ):
        raise ServiceDefinitionError("prefetch must map keys to template strings")
    for key, template in prefetch.items():
        for token in _TOKEN.findall(template):
            if token not in _ALLOWED_TOKENS:
                raise ServiceDefinitionError(f"prefetch {key!r} uses a token CDS Hooks 2.0 does not allow")
    for name, value in entry.items():
        if value in (None, "", [], {}):
            raise ServiceDefinitionError(f"service definition field {name!r} is empty; omit it instead")
    required = entry.get("extension", {}).get(REQUIRED_PREFETCH_EXTENSION, [])
    if not set(required) <= set(prefetch):
        raise ServiceDefinitionError("required prefetch keys must be prefetch keys")
    return ServiceDefinition(
        id=entry["id"],
        hook=entry["hook"],
        prefetch=dict(prefetch),
        required_prefetch=frozenset(required),
        document=entry,
    )


def load_registry(profiles_dir: Path) -> Registry:
    """Load and validate the discovery document from ``profiles_dir``."""
    path = profiles_dir / DISCOVERY_FILE
    try:
        document = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise ServiceDefinitionError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("services"), list):
        raise ServiceDefinitionError(f"{path} must be an object with a 'services' array")
    services: dict[str, ServiceDefinition] = {}
    for entry in document["services"]:
        definition = _check_definition(entry)
        if definition.id in services:
            raise ServiceDefinitionError(f"duplicate service id {definition.id!r}")
        services[definition.id] = definition
    return Registry(services=services, discovery=document)


def render_template(template: str, context: dict[str, str]) -> str:
    """Fill a prefetch template's ``{{...}}`` tokens from the hook context.

    ``context`` maps token names (``context.patientId``, ``userPractitionerId`` ...) to values that
    the caller has already checked to be FHIR ids. A token without a value raises ``KeyError``.

    >>> render_template("Patient/{{context.patientId}}", {"context.patientId": "p1"})
    'Patient/p1'
    """
    return _TOKEN.sub(lambda m: context[m.group(1)], template)

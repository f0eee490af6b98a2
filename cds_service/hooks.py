"""The CDS Hooks 2.0 wire model: parsing and validating hook requests and feedback.

Pure functions from decoded JSON to typed objects; they raise :class:`InvalidRequest` with one
diagnostic per problem. Unknown fields (including ``extension``) are tolerated as the spec requires.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from cds_service.errors import InvalidRequest

FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_REFERENCE = re.compile(r"(Practitioner|PractitionerRole|Patient|RelatedPerson)/([A-Za-z0-9\-.]{1,64})")
HOOK_INSTANCE = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@dataclass(frozen=True, slots=True)
class FhirAuthorization:
    """The EHR's access token for its FHIR server; transient, never logged or stored."""

    access_token: str
    token_type: str
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    def __repr__(self) -> str:
        return "FhirAuthorization(access_token=<redacted>)"


@dataclass(frozen=True, slots=True)
class HookRequest:
    """A validated hook call.

    Attributes:
        hook: Hook name, e.g. ``patient-view``.
        hook_instance: The caller's unique id of this call.
        patient_id: ``context.patientId`` (a FHIR id).
        user_id: ``context.userId`` when given (``Practitioner/123``).
        encounter_id: ``context.encounterId`` when given.
        fhir_server: Base URL of the EHR's FHIR server, when given.
        fhir_authorization: Token for it, when given.
        prefetch: Prefetch key -> value as received (resource, Bundle or ``None``).
    """

    hook: str
    hook_instance: str
    patient_id: str
    user_id: str | None
    encounter_id: str | None
    fhir_server: str | None
    fhir_authorization: FhirAuthorization | None
    prefetch: dict[str, Any]

    def template_context(self) -> dict[str, str]:
        """Values for prefetch template tokens that this request can fill."""
        values = {"context.patientId": self.patient_id}
        if self.encounter_id:
            values["context.encounterId"] = self.encounter_id
        if self.user_id:
            values["context.userId"] = self.user_id
            resource_type, _, user = self.user_id.partition("/")
            values[f"user{resource_type}Id"] = user
        return values


def _string(body: dict[str, Any], name: str, problems: list[str], *, required: bool) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            problems.append(f"'{name}' is required")
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"'{name}' must be a non-empty string")
        return None
    return value


def _shown(key: str) -> str:
    """A client-chosen name, cut short enough to echo in an error message."""
    return key if len(key) <= 64 else key[:61] + "..."


def parse_hook_request(
    body: Any, *, expected_hook: str, prefetch_keys: Collection[str] | None = None
) -> HookRequest:
    """Validate a decoded hook request body for a service answering ``expected_hook``.

    With ``prefetch_keys`` (the service's templates), prefetch entries under other keys are dropped
    unread: CDS Hooks forbids sending other services' prefetch, and nothing here uses them.
    """
    if not isinstance(body, dict):
        raise InvalidRequest("CDS-400-02", "the request body must be a JSON object")
    problems: list[str] = []
    hook = _string(body, "hook", problems, required=True)
    if hook is not None and hook != expected_hook:
        problems.append(f"'hook' must be '{expected_hook}' for this service")
    hook_instance = _string(body, "hookInstance", problems, required=True)
    if hook_instance is not None and not HOOK_INSTANCE.fullmatch(hook_instance):
        problems.append("'hookInstance' must be an id of at most 128 letters, digits and . _ : - (a UUID)")
        hook_instance = None
    fhir_server = _string(body, "fhirServer", problems, required=False)
    if fhir_server is not None:
        parts = urlsplit(fhir_server)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            problems.append("'fhirServer' must be an absolute http(s) URL")
            fhir_server = None

    authorization = _parse_authorization(body.get("fhirAuthorization"), problems)
    if authorization is not None and fhir_server is None and "fhirServer" not in body:
        problems.append("'fhirServer' is required when 'fhirAuthorization' is given")

    context = body.get("context")
    patient_id = user_id = encounter_id = None
    if not isinstance(context, dict):
        problems.append("'context' is required and must be an object")
    else:
        patient_id = _string(context, "patientId", problems, required=True)
        if patient_id is not None and not FHIR_ID.fullmatch(patient_id):
            problems.append("'context.patientId' must be a FHIR id")
            patient_id = None
        user_id = _string(context, "userId", problems, required=False)
        if user_id is not None and not _REFERENCE.fullmatch(user_id):
            problems.append("'context.userId' must be a reference like 'Practitioner/123'")
            user_id = None
        encounter_id = _string(context, "encounterId", problems, required=False)
        if encounter_id is not None and not FHIR_ID.fullmatch(encounter_id):
            problems.append("'context.encounterId' must be a FHIR id")
            encounter_id = None

    prefetch = body.get("prefetch", {})
    if not isinstance(prefetch, dict):
        problems.append("'prefetch' must be an object")
        prefetch = {}
    if prefetch_keys is not None:
        prefetch = {k: v for k, v in prefetch.items() if k in prefetch_keys}
    for key, value in prefetch.items():
        if value is not None and not (isinstance(value, dict) and isinstance(value.get("resourceType"), str)):
            problems.append(f"prefetch '{_shown(key)}' must be a FHIR resource, a Bundle or null")

    if problems or hook is None or hook_instance is None or patient_id is None:
        raise InvalidRequest("CDS-400-03", "invalid CDS Hooks request", tuple(problems))
    return HookRequest(
        hook=hook,
        hook_instance=hook_instance,
        patient_id=patient_id,
        user_id=user_id,
        encounter_id=encounter_id,
        fhir_server=fhir_server.rstrip("/") if fhir_server else None,
        fhir_authorization=authorization,
        prefetch=prefetch,
    )


def _parse_authorization(value: Any, problems: list[str]) -> FhirAuthorization | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append("'fhirAuthorization' must be an object")
        return None
    local: list[str] = []
    token = _string(value, "access_token", local, required=True)
    token_type = _string(value, "token_type", local, required=True)
    if token_type is not None and token_type.lower() != "bearer":
        local.append("'fhirAuthorization.token_type' must be 'Bearer'")
    if token is not None and not token.isprintable():
        local.append("'fhirAuthorization.access_token' contains control characters")
    expires_in = value.get("expires_in")
    if expires_in is not None and (not isinstance(expires_in, int) or isinstance(expires_in, bool)):
        local.append("'fhirAuthorization.expires_in' must be an integer")
    scope = value.get("scope") if isinstance(value.get("scope"), str) else None
    subject = value.get("subject") if isinstance(value.get("subject"), str) else None
    patient = value.get("patient") if isinstance(value.get("patient"), str) else None
    problems.extend(p.replace("'access_token'", "'fhirAuthorization.access_token'") for p in local)
    if local or token is None or token_type is None:
        return None
    return FhirAuthorization(token, token_type, scope, subject, patient)


@dataclass(frozen=True, slots=True)
class FeedbackItem:
    """One validated feedback item (CDS Hooks 2.0 §Feedback)."""

    card: str
    outcome: str
    outcome_timestamp: str
    accepted_suggestions: tuple[str, ...]
    override_reason: dict[str, Any] | None
    document: dict[str, Any]


MAX_FEEDBACK_ITEMS = 100
MAX_ID_LENGTH = 128
MAX_COMMENT_LENGTH = 4000
MAX_CODING_LENGTH = 512


def parse_feedback(body: Any) -> tuple[FeedbackItem, ...]:
    """Validate a feedback body: ``{"feedback": [...]}`` or a bare single item (HAPI's shape).

    Sizes are bounded (items per call, id and comment lengths): feedback is stored for good, so a
    client must not be able to fill the database with one call.
    """
    if isinstance(body, dict) and "feedback" in body:
        items = body["feedback"]
        if not isinstance(items, list) or not items:
            raise InvalidRequest("CDS-400-04", "'feedback' must be a non-empty array")
        if len(items) > MAX_FEEDBACK_ITEMS:
            raise InvalidRequest(
                "CDS-400-04",
                f"'feedback' holds {len(items)} items; send at most {MAX_FEEDBACK_ITEMS} per call",
            )
    elif isinstance(body, dict):
        items = [body]
    else:
        raise InvalidRequest("CDS-400-02", "the request body must be a JSON object")
    problems: list[str] = []
    parsed: list[FeedbackItem] = []
    for index, item in enumerate(items):
        before = len(problems)
        result = _parse_feedback_item(item, f"feedback[{index}]", problems)
        if result is not None and len(problems) == before:
            parsed.append(result)
    if problems:
        raise InvalidRequest("CDS-400-05", "invalid feedback", tuple(problems))
    return tuple(parsed)


def _parse_feedback_item(item: Any, where: str, problems: list[str]) -> FeedbackItem | None:
    if not isinstance(item, dict):
        problems.append(f"{where} must be an object")
        return None
    card = item.get("card")
    if not isinstance(card, str) or not card or len(card) > MAX_ID_LENGTH:
        problems.append(f"{where}.card must be the card's uuid")
    outcome = item.get("outcome")
    if outcome not in ("accepted", "overridden"):
        problems.append(f"{where}.outcome must be 'accepted' or 'overridden'")
    timestamp = item.get("outcomeTimestamp")
    if not isinstance(timestamp, str) or not _valid_timestamp(timestamp):
        problems.append(f"{where}.outcomeTimestamp must be an RFC 3339 date-time")
    accepted: list[str] = []
    suggestions = item.get("acceptedSuggestions")
    if suggestions is not None:
        if (
            not isinstance(suggestions, list)
            or len(suggestions) > MAX_FEEDBACK_ITEMS
            or not all(
                isinstance(s, dict) and isinstance(s.get("id"), str) and 0 < len(s["id"]) <= MAX_ID_LENGTH
                for s in suggestions
            )
        ):
            problems.append(f"{where}.acceptedSuggestions must be an array of {{'id': uuid}}")
        else:
            accepted = [s["id"] for s in suggestions]
    if outcome == "accepted" and not accepted:
        problems.append(f"{where}.acceptedSuggestions is required when outcome is 'accepted'")
    reason = item.get("overrideReason")
    if reason is not None:
        if not isinstance(reason, dict):
            problems.append(f"{where}.overrideReason must be an object")
        else:
            coding = reason.get("reason")
            comment = reason.get("userComment")
            if coding is None and comment is None:
                problems.append(f"{where}.overrideReason needs 'reason' or 'userComment'")
            if coding is not None and not (
                isinstance(coding, dict)
                and isinstance(coding.get("code"), str)
                and isinstance(coding.get("system"), str)
                and len(coding["code"]) + len(coding["system"]) <= MAX_CODING_LENGTH
            ):
                problems.append(f"{where}.overrideReason.reason must be a Coding with system and code")
            if comment is not None and not (isinstance(comment, str) and len(comment) <= MAX_COMMENT_LENGTH):
                limit = MAX_COMMENT_LENGTH
                problems.append(
                    f"{where}.overrideReason.userComment must be a string of at most {limit} characters"
                )
    if not (isinstance(card, str) and isinstance(outcome, str) and isinstance(timestamp, str)):
        return None
    return FeedbackItem(
        card=card,
        outcome=outcome,
        outcome_timestamp=timestamp,
        accepted_suggestions=tuple(accepted),
        override_reason=reason if isinstance(reason, dict) else None,
        document=item,
    )


def _valid_timestamp(value: str) -> bool:
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True

"""Errors the service answers with, each rendered as a FHIR OperationOutcome.

The hierarchy::

    CdsError                      (base; never raised itself)
    ├── InvalidRequest            400  malformed JSON, missing or wrong-typed fields
    ├── Unauthorized              401  failed client authentication (no detail is ever returned)
    ├── NotFound                  404  unknown service id or path
    ├── MethodNotAllowed          405  wrong HTTP method
    ├── PayloadTooLarge           413  body over the configured limit
    ├── UnsupportedMediaType      415  body is not JSON
    ├── PrefetchUnavailable       412  required data neither prefetched nor fetchable
    └── ServiceUnavailable        503  not ready (knowledge or storage unavailable)

Every message starts with a stable code (``CDS-<status>-<nn>``) so integrators and tests can rely on
it. Messages never contain patient data, tokens or stack traces.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CdsError(Exception):
    """Base of all errors the HTTP layer turns into an OperationOutcome response.

    Attributes:
        status: HTTP status code.
        issue_code: FHIR ``IssueType`` code (http://hl7.org/fhir/ValueSet/issue-type).
        code: Stable message code, e.g. ``CDS-400-01``.
        message: Human-readable diagnostics, free of patient data.
        details: Further diagnostics (one issue each), e.g. one per invalid field.
    """

    status: ClassVar[int] = 500
    issue_code: ClassVar[str] = "exception"

    def __init__(self, code: str, message: str, details: tuple[str, ...] = ()) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.details = details

    def to_operation_outcome(self) -> dict[str, Any]:
        """Render the error as a FHIR R4 OperationOutcome resource."""
        return operation_outcome(self.issue_code, f"{self.code}: {self.message}", extra=self.details)


class InvalidRequest(CdsError):
    """The request body or parameters are malformed (400)."""

    status = 400
    issue_code = "invalid"


class Unauthorized(CdsError):
    """Client authentication failed (401); the response never says why."""

    status = 401
    issue_code = "login"

    def __init__(self, reason: str = "authentication failed") -> None:
        super().__init__("CDS-401-01", "authentication required")
        self.reason = reason


class NotFound(CdsError):
    """No such service or path (404)."""

    status = 404
    issue_code = "not-found"


class MethodNotAllowed(CdsError):
    """The path exists but not for this HTTP method (405)."""

    status = 405
    issue_code = "not-supported"


class PayloadTooLarge(CdsError):
    """The body exceeds the configured size limit (413)."""

    status = 413
    issue_code = "too-costly"


class UnsupportedMediaType(CdsError):
    """The body is not declared as JSON (415)."""

    status = 415
    issue_code = "not-supported"


class PrefetchUnavailable(CdsError):
    """Required data was neither prefetched nor fetchable from the FHIR server (412)."""

    status = 412
    issue_code = "incomplete"


class ServiceUnavailable(CdsError):
    """The service is not ready to answer (503)."""

    status = 503
    issue_code = "transient"


def operation_outcome(
    issue_code: str, diagnostics: str, *, severity: str = "error", extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Build an OperationOutcome with one issue, plus one issue per extra diagnostic."""
    issues = [{"severity": severity, "code": issue_code, "diagnostics": diagnostics}]
    issues.extend({"severity": severity, "code": issue_code, "diagnostics": d} for d in extra)
    return {"resourceType": "OperationOutcome", "issue": issues}

"""Errors of the explanation app, each shown to the clinician as a plain error page.

Every error has a status, a stable code (``SMART-<status>-<nn>``, also in the logs), a short title and
a message that says what to do next. Messages never contain tokens, stack traces or patient data;
text that came from elsewhere (an OAuth ``error`` code) is shown escaped by the template.
"""

from __future__ import annotations

from typing import ClassVar


class SmartError(Exception):
    """Base of the app's errors (never raised itself).

    Attributes:
        code: Stable code, e.g. ``SMART-400-01``.
        title: Short page title.
        message: What happened and what to do, in one or two sentences.
    """

    status: ClassVar[int] = 400

    def __init__(self, code: str, title: str, message: str) -> None:
        super().__init__(f"{code}: {title}")
        self.code = code
        self.title = title
        self.message = message


class BadLaunch(SmartError):
    """The launch or callback request is malformed or does not match a launch we started (400)."""

    status = 400


class NotAuthorised(SmartError):
    """The EHR did not authorise the app, or the access token is missing or expired (401)."""

    status = 401


class Forbidden(SmartError):
    """The issuer is not on the allowlist, or the session belongs to another browser (403)."""

    status = 403


class NotAvailable(SmartError):
    """The app is not configured on this server, or the page no longer exists (404)."""

    status = 404


class Conflict(SmartError):
    """The FHIR data does not match the patient the EHR authorised (409)."""

    status = 409


class Upstream(SmartError):
    """The EHR's authorization or FHIR server could not be used (502)."""

    status = 502

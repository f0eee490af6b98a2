"""How the app and the demo answer a failure: an HTML error page for people, an OperationOutcome for machines.

A browser opens ``/smart/…`` and most of ``/demo/…``, so every failure there, including an unknown
address or a wrong method, ends on the app's error page with its 4xx status and a ``SMART-`` code.
The demo's FHIR server and token endpoint (``/demo/fhir/…``, ``/demo/auth/token``) are called by
programs (the app itself, or any SMART client), so they answer a FHIR OperationOutcome instead. The
CDS Hooks API keeps its own OperationOutcome handlers; nothing here touches other paths. No answer
and no log line carries a stack trace, a token or patient data: logs get the code and the status.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from cds_service.api import json_response, state
from cds_service.errors import CdsError, operation_outcome
from cds_service.logs import get_logger
from cds_service.smart.errors import SmartError
from cds_service.smart.headers import security_headers

APP_PREFIXES = ("/smart", "/demo")
MACHINE_PREFIXES = ("/demo/fhir", "/demo/auth/token")
_ISSUE_CODES = {401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported", 413: "too-costly"}


def _under(path: str, prefixes: tuple[str, ...]) -> bool:
    return any(path == p or path.startswith(p + "/") for p in prefixes)


def is_app_path(path: str) -> bool:
    """Whether ``path`` belongs to the app or the demo (``/smart``, ``/demo`` and below).

    >>> [is_app_path(p) for p in ("/smart/launch", "/demo", "/smartx", "/cds-services")]
    [True, True, False, False]
    """
    return _under(path, APP_PREFIXES)


def is_machine_path(path: str) -> bool:
    """Whether ``path`` is one of the demo's machine endpoints (FHIR server, token endpoint).

    >>> [is_machine_path(p) for p in ("/demo/fhir/Patient/x", "/demo/auth/token", "/demo/")]
    [True, True, False]
    """
    return _under(path, MACHINE_PREFIXES)


def error_page(status: int, code: str, title: str, message: str) -> Response:
    """The app's HTML error page."""
    body = render_template(
        "smart/error.html",
        status=status,
        code=code,
        title=title,
        message=message,
        request_id=g.get("request_id", ""),
        demo=state().settings.smart_demo,
    )
    return Response(body, status=status, content_type="text/html; charset=utf-8")


def outcome_response(status: int, issue_code: str, diagnostics: str) -> Response:
    """A FHIR OperationOutcome answer, for the demo's machine endpoints."""
    return json_response(
        operation_outcome(issue_code, diagnostics), status, content_type="application/fhir+json"
    )


def _refused(code: str, status: int) -> None:
    get_logger().info(
        "smart request refused", extra={"request_id": g.get("request_id"), "code": code, "status": status}
    )


def smart_error(error: SmartError) -> Response:
    """A refusal the app explains (a :class:`SmartError`)."""
    _refused(error.code, error.status)
    return error_page(error.status, error.code, error.title, error.message)


def cds_error(error: CdsError) -> Response:
    """A refusal from the shared request parsing (a :class:`CdsError`)."""
    _refused(error.code, error.status)
    if is_machine_path(request.path):
        return json_response(error.to_operation_outcome(), error.status, content_type="application/fhir+json")
    return error_page(error.status, error.code, "The request could not be processed", error.message)


def http_error(error: HTTPException) -> Response:
    """An HTTP-level refusal: unknown address, wrong method, body too large, and the like."""
    status = error.code or 400
    code = f"SMART-{status}-00"
    _refused(code, status)
    if is_machine_path(request.path):
        response = outcome_response(status, _ISSUE_CODES.get(status, "processing"), f"{code}: {error.name}")
    elif status == 404:
        response = error_page(
            status,
            code,
            "No such page",
            "This address is not a page of the explanation app. Please open the app again from the EHR.",
        )
    elif status == 405:
        response = error_page(
            status,
            code,
            "This page cannot be used this way",
            "This address does not accept this kind of request. Please open the app again from the EHR.",
        )
    else:
        response = error_page(status, code, error.name, "Please open the app again from the EHR.")
    allowed = getattr(error, "valid_methods", None)
    if status == 405 and allowed:
        response.headers["Allow"] = ", ".join(sorted(allowed))
    return response


def unexpected(error: Exception) -> Response:
    """A failure nobody foresaw: logged by type only, answered with a 500 that names the request id."""
    get_logger().error(
        "internal error",
        extra={"request_id": g.get("request_id"), "code": "SMART-500-01", "reason": type(error).__name__},
    )
    if is_machine_path(request.path):
        return outcome_response(
            500, "exception", "SMART-500-01: internal error; the request id identifies it in the logs"
        )
    return error_page(
        500,
        "SMART-500-01",
        "Something went wrong",
        "The explanation could not be shown. The request id below identifies the problem in the logs.",
    )


def register(bp: Blueprint) -> None:
    """Answer every failure inside ``bp``'s routes with the page (or the OperationOutcome)."""
    bp.register_error_handler(SmartError, smart_error)
    bp.register_error_handler(CdsError, cds_error)
    bp.register_error_handler(HTTPException, http_error)
    bp.register_error_handler(Exception, unexpected)


def routing_error() -> Response | None:
    """Before dispatch: answer an unknown address or a wrong method under ``/smart`` or ``/demo``.

    Such requests match no route, so no blueprint's handlers apply and the application's (the CDS
    Hooks API's) would answer. Registered with ``before_request``, this answers them as
    :func:`http_error` does inside the app's routes, and leaves every other path to the
    application's handlers. Redirects (a missing trailing slash) are left alone.
    """
    error = request.routing_exception
    if not isinstance(error, NotFound | MethodNotAllowed) or not is_app_path(request.path):
        return None
    return security_headers(http_error(error))

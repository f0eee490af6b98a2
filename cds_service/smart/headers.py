"""Response headers for every page of the app and the demo: strict CSP, no referrer."""

from __future__ import annotations

from flask import Response, request

from cds_service.api import state


def security_headers(response: Response) -> Response:
    """A strict Content-Security-Policy (no scripts at all) and no referrer for the app's pages.

    ``frame-ancestors`` lists who may embed the app (``CDS_SMART_FRAME_ANCESTORS``); only the demo's
    stand-in EHR screen may itself contain a frame.
    """
    settings = state().settings
    frame_src = "'self'" if request.endpoint == "smart_demo.ehr_frame" else "'none'"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
        f"frame-src {frame_src}; frame-ancestors {' '.join(settings.smart_frame_ancestors)}"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response

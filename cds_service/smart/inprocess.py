"""A ``requests`` transport that answers from this WSGI application, for the demo only.

In demo mode the SMART issuer and FHIR server live in the same process under ``/demo``. Calling
them over the network from inside a request would tie up a second gunicorn worker per call (and
deadlock a single one), so the app's HTTP session mounts this adapter on the demo prefix: discovery
and the token exchange run exactly the same client code (:mod:`cds_service.smart.oauth`), and the
FHIR reads go through the same prefetch templates and decision path with :class:`InProcessFetcher`
in place of the production fetcher; only the transport differs.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import EnvironBuilder, run_wsgi_app

from cds_service.prefetch import FetchError


class WsgiAdapter(BaseAdapter):
    """Send requests to a WSGI callable instead of the network."""

    def __init__(self, wsgi_app: Any) -> None:
        super().__init__()
        self._app = wsgi_app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Run the request through the application and wrap its answer as a ``Response``."""
        url = request.url or ""
        parts = urlsplit(url)
        body = request.body.encode("utf-8") if isinstance(request.body, str) else request.body
        builder = EnvironBuilder(
            path=parts.path,
            query_string=parts.query,
            method=request.method or "GET",
            headers=list(request.headers.items()),
            data=body if isinstance(body, bytes) else None,
            base_url=f"{parts.scheme}://{parts.netloc}",
        )
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        app_iter, status, headers = run_wsgi_app(self._app, environ, buffered=True)
        try:
            content = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        response = requests.Response()
        code, _, reason = status.partition(" ")
        response.status_code = int(code)
        response.reason = reason
        response.headers = CaseInsensitiveDict(dict(headers.items()))
        response.raw = io.BytesIO(content)
        response.url = url
        response.request = request
        response.encoding = "utf-8"
        return response

    def close(self) -> None:
        """Nothing to release."""


class InProcessFetcher:
    """A :class:`~cds_service.prefetch.Fetcher` for the demo FHIR server, through :class:`WsgiAdapter`.

    The demo server answers every search in one page, so there are no ``next`` links to follow;
    anything but a 200 JSON FHIR resource is a :class:`~cds_service.prefetch.FetchError`, as with
    the production fetcher.
    """

    def __init__(self, session: requests.Session) -> None:
        self._session = session

    def __call__(self, url: str, token: str | None, deadline: float) -> dict[str, Any]:
        """Read ``url`` from the demo server."""
        headers = {"Accept": "application/fhir+json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self._session.get(url, headers=headers, allow_redirects=False)
        if response.status_code != 200:
            raise FetchError(f"the FHIR server answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise FetchError("the FHIR server answered with something that is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
            raise FetchError("the FHIR server answered with something that is not a FHIR resource")
        return document

"""Reading the EHR's FHIR server over HTTP with ``requests``, within strict bounds.

Bounded connect and read timeouts, a total deadline per hook call, a response-size cap, no
redirects, and ``next`` links followed only on the same origin and up to a page limit. The bearer
token is sent but never logged, stored or included in an error message.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import requests

from cds_service.prefetch import FetchError

FHIR_JSON = "application/fhir+json"


class HttpFetcher:
    """A :class:`~cds_service.prefetch.Fetcher` backed by a shared ``requests.Session``."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_response_bytes: int,
        max_pages: int,
        session: requests.Session | None = None,
    ) -> None:
        self._session = session or requests.Session()
        self._session.trust_env = False
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_bytes = max_response_bytes
        self._max_pages = max_pages

    def __call__(self, url: str, token: str | None, deadline: float) -> dict[str, Any]:
        """Read ``url``; for a searchset, merge all ``next`` pages into one Bundle."""
        document = self._get(url, token, deadline)
        if document.get("resourceType") != "Bundle":
            return document
        entries = list(document.get("entry") or [])
        origin = urlsplit(url)[:2]
        pages = 1
        next_url = _next_link(document)
        while next_url is not None:
            if urlsplit(next_url)[:2] != origin:
                raise FetchError("a 'next' link points to another server")
            if pages >= self._max_pages:
                raise FetchError(f"more than {self._max_pages} result pages")
            page = self._get(next_url, token, deadline)
            if page.get("resourceType") != "Bundle":
                raise FetchError("a 'next' page is not a Bundle")
            entries.extend(page.get("entry") or [])
            pages += 1
            next_url = _next_link(page)
        merged = {k: v for k, v in document.items() if k not in {"entry", "link"}}
        if entries:
            merged["entry"] = entries
        return merged

    def _get(self, url: str, token: str | None, deadline: float) -> dict[str, Any]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("the time budget for FHIR reads is exhausted")
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = (min(self._connect_timeout, remaining), min(self._read_timeout, remaining))
        try:
            with self._session.get(
                url, headers=headers, timeout=timeout, allow_redirects=False, stream=True
            ) as response:
                if response.status_code != 200:
                    raise FetchError(f"the FHIR server answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_content(chunk_size=65536):
                    body.extend(chunk)
                    if len(body) > self._max_bytes:
                        raise FetchError("the FHIR response is larger than allowed")
                    if time.monotonic() > deadline:
                        raise FetchError("the time budget for FHIR reads is exhausted")
        except requests.Timeout:
            raise FetchError("the FHIR server did not answer in time") from None
        except requests.RequestException as exc:
            raise FetchError(f"the FHIR server could not be reached ({type(exc).__name__})") from None
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError("the FHIR server answered with something that is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
            raise FetchError("the FHIR server answered with something that is not a FHIR resource")
        return document


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            url: str = link["url"]
            return url
    return None

"""Reading the EHR's FHIR server over HTTP with ``requests``, safely and within strict bounds.

A hook request names the FHIR server to read (``fhirServer``) and hands over a bearer token, so a
caller could try to turn the service against internal hosts (SSRF). :class:`FhirServerPolicy` and
:class:`HttpFetcher` refuse that:

* only ``fhirServer`` URLs under an allowlisted base URL (``CDS_FHIR_SERVER_ALLOWLIST``, plus the
  calling client's own ``fhir_servers``) are read; https only, except loopback when explicitly
  allowed (``CDS_FHIR_ALLOW_LOOPBACK``, tests and demos);
* the host name is resolved once per connection, with a timeout; every address must be public (or
  in ``CDS_FHIR_ALLOWED_NETWORKS``; loopback only when allowed; link-local never), and the socket is
  opened to exactly the address that was checked, so DNS rebinding cannot redirect it; TLS still
  verifies the certificate against the host name;
* no redirects; ``next`` links only on the same origin, up to a page limit and an entry limit;
* bounded connect and read timeouts, a response-size cap, and a hard deadline per hook call enforced
  by a watchdog that shuts the socket down, so a server that drips bytes cannot hold a worker;
* the bearer token is sent but never logged, stored or included in an error message.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from cds_service.prefetch import FetchError

if TYPE_CHECKING:
    from urllib3._base_connection import BaseHTTPConnection

FHIR_JSON = "application/fhir+json"
_LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_RESOLVER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fhir-dns")
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressNotAllowed(Exception):
    """A FHIR host resolved to an address the policy refuses; no connection was made."""


def _origin_and_path(url: str) -> tuple[str, str, int, str] | None:
    """``(scheme, host, port, path)`` of an absolute http(s) URL, normalised; ``None`` if invalid."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname or parts.username is not None:
        return None
    return parts.scheme, parts.hostname.lower(), port, parts.path.rstrip("/")


@dataclass(frozen=True, slots=True)
class FhirServerPolicy:
    """Which FHIR servers may be read, and which addresses they may resolve to.

    Attributes:
        allowlist: Base URLs allowed for every caller (a URL is allowed if it is one of them or
            lies below one: same scheme, host and port, and a path equal or under it).
        allow_loopback: Loopback hosts on any port, over http too (tests and demos).
        networks: Non-public networks FHIR hosts may resolve to.
    """

    allowlist: tuple[str, ...] = ()
    allow_loopback: bool = False
    networks: tuple[IpNetwork, ...] = ()

    @classmethod
    def create(
        cls, allowlist: Iterable[str], *, allow_loopback: bool, networks: Iterable[str] = ()
    ) -> FhirServerPolicy:
        """A policy from settings-style strings."""
        return cls(
            allowlist=tuple(allowlist),
            allow_loopback=allow_loopback,
            networks=tuple(ipaddress.ip_network(n, strict=False) for n in networks),
        )

    def allows_base(self, fhir_server: str, extra: Sequence[str] = ()) -> bool:
        """True when a hook call's ``fhirServer`` may be read (no query or fragment on a base URL)."""
        parts = urlsplit(fhir_server)
        return not parts.query and not parts.fragment and self.allows(fhir_server, extra)

    def allows(self, url: str, extra: Sequence[str] = ()) -> bool:
        """True when ``url`` may be read: allowlisted (or under ``extra``) and with a safe scheme."""
        target = _origin_and_path(url)
        if target is None or urlsplit(url).fragment:
            return False
        scheme, host, _, path = target
        if self.allow_loopback and host in _LOOPBACK_HOSTS:
            return True
        for entry in (*self.allowlist, *extra):
            allowed = _origin_and_path(entry)
            if allowed is None or allowed[:3] != target[:3]:
                continue
            if scheme == "http" and host not in _LOOPBACK_HOSTS:
                continue
            if path == allowed[3] or path.startswith(allowed[3] + "/"):
                return True
        return False

    def address_allowed(self, address: IpAddress) -> bool:
        """True when a connection to ``address`` is acceptable."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_link_local or address.is_multicast or address.is_unspecified:
            return False
        if address.is_loopback:
            return self.allow_loopback or any(
                n.version == address.version and address in n for n in self.networks
            )
        if any(address in n for n in self.networks if n.version == address.version):
            return True
        return address.is_global

    def resolve(self, host: str, port: int, timeout: float | None) -> list[tuple[Any, ...]]:
        """Resolve ``host`` (with a timeout) and return its socket addresses, all of them allowed."""
        future = _RESOLVER.submit(socket.getaddrinfo, host, port, 0, socket.SOCK_STREAM)
        try:
            infos = future.result(timeout=timeout if timeout is not None else 5.0)
        except FutureTimeout:
            raise TimeoutError("name resolution timed out") from None
        if not infos:
            raise socket.gaierror("no address")
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if not self.address_allowed(address):
                raise AddressNotAllowed("the FHIR server's address is not allowed")
        return list(infos)


class _Watchdog:
    """Shuts down the sockets of one fetch when its deadline passes (blocking reads then return)."""

    _local = threading.local()

    def __init__(self, deadline: float) -> None:
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._armed = True
        self.fired = False
        self._timer = threading.Timer(max(0.0, deadline - time.monotonic()), self._fire)
        self._timer.daemon = True

    @classmethod
    def current(cls) -> _Watchdog | None:
        """The watchdog of the fetch running on this thread."""
        watchdog: _Watchdog | None = getattr(cls._local, "watchdog", None)
        return watchdog

    def __enter__(self) -> _Watchdog:
        self._local.watchdog = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disarm()
        self._local.watchdog = None

    def watch(self, sock: socket.socket | None) -> None:
        """Shut ``sock`` down if the deadline passes while it is in use."""
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)

    def disarm(self) -> None:
        """Stop watching (before the connection goes back to the pool)."""
        with self._lock:
            self._armed = False
        self._timer.cancel()

    def _fire(self) -> None:
        with self._lock:
            if not self._armed:
                return
            self.fired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _guarded_pools(policy: FhirServerPolicy) -> dict[str, type[HTTPConnectionPool]]:
    """Connection pool classes whose connections resolve, check and pin the peer address."""

    def new_conn(self: HTTPConnection) -> socket.socket:
        last: Exception | None = None
        for family, kind, proto, _, address in policy.resolve(self._dns_host, self.port, self.timeout):
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self.timeout)
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.connect(address)
                watchdog = _Watchdog.current()
                if watchdog is not None:
                    watchdog.watch(sock)
                return sock
            except TimeoutError as exc:
                sock.close()
                last = ConnectTimeoutError(self, f"connection to the FHIR server timed out ({exc})")
            except OSError as exc:
                sock.close()
                last = NewConnectionError(
                    self, f"failed to connect to the FHIR server ({type(exc).__name__})"
                )
        raise last or NewConnectionError(self, "no address to connect to")

    http_connection = type("GuardedHTTPConnection", (HTTPConnection,), {"_new_conn": new_conn})
    https_connection = type("GuardedHTTPSConnection", (HTTPSConnection,), {"_new_conn": new_conn})

    def get_conn(self: HTTPConnectionPool, timeout: float | None = None) -> BaseHTTPConnection:
        connection = base_get_conn(self, timeout)
        watchdog = _Watchdog.current()
        if watchdog is not None:
            watchdog.watch(getattr(connection, "sock", None))
        return connection

    base_get_conn = HTTPConnectionPool._get_conn
    http_pool = type(
        "GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": http_connection, "_get_conn": get_conn}
    )
    https_pool = type(
        "GuardedHTTPSPool", (HTTPSConnectionPool,), {"ConnectionCls": https_connection, "_get_conn": get_conn}
    )
    return {"http": http_pool, "https": https_pool}


class _GuardedAdapter(HTTPAdapter):
    """A requests adapter using the guarded pools; no retries."""

    def __init__(self, policy: FhirServerPolicy) -> None:
        self._pools = _guarded_pools(policy)
        super().__init__(max_retries=0, pool_connections=8, pool_maxsize=8)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


class HttpFetcher:
    """A :class:`~cds_service.prefetch.Fetcher` that only reads what :class:`FhirServerPolicy` allows."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_response_bytes: int,
        max_pages: int,
        max_entries: int = 20000,
        policy: FhirServerPolicy | None = None,
        extra_allowed: Sequence[str] = (),
    ) -> None:
        self.policy = policy or FhirServerPolicy()
        self._extra = tuple(extra_allowed)
        self._session = requests.Session()
        self._session.trust_env = False
        adapter = _GuardedAdapter(self.policy)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_bytes = max_response_bytes
        self._max_pages = max_pages
        self._max_entries = max_entries

    def __call__(self, url: str, token: str | None, deadline: float) -> dict[str, Any]:
        """Read ``url``; for a searchset, merge all ``next`` pages into one Bundle."""
        document = self._get(url, token, deadline)
        if document.get("resourceType") != "Bundle":
            return document
        entries = list(_entries(document))
        origin = _origin_and_path(url)
        pages = 1
        next_url = _next_link(document)
        while next_url is not None:
            following = _origin_and_path(next_url)
            if following is None or origin is None or following[:3] != origin[:3]:
                raise FetchError("a 'next' link points to another server")
            if pages >= self._max_pages:
                raise FetchError(f"more than {self._max_pages} result pages")
            if len(entries) > self._max_entries:
                break
            page = self._get(next_url, token, deadline)
            if page.get("resourceType") != "Bundle":
                raise FetchError("a 'next' page is not a Bundle")
            entries.extend(_entries(page))
            pages += 1
            next_url = _next_link(page)
        if len(entries) > self._max_entries:
            raise FetchError(f"more than {self._max_entries} results")
        merged = {k: v for k, v in document.items() if k not in {"entry", "link"}}
        if entries:
            merged["entry"] = entries
        return merged

    def _get(self, url: str, token: str | None, deadline: float) -> dict[str, Any]:
        if not self.policy.allows(url, self._extra):
            raise FetchError("the FHIR server is not on this service's allowlist")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchError("the time budget for FHIR reads is exhausted")
        headers = {"Accept": FHIR_JSON}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        timeout = (min(self._connect_timeout, remaining), min(self._read_timeout, remaining))
        body = bytearray()
        watchdog = _Watchdog(deadline)
        try:
            with watchdog:
                response = self._session.get(
                    url, headers=headers, timeout=timeout, allow_redirects=False, stream=True
                )
                try:
                    if response.status_code != 200:
                        raise FetchError(f"the FHIR server answered HTTP {response.status_code}")
                    declared = response.headers.get("Content-Length", "")
                    if declared.isdigit() and int(declared) > self._max_bytes:
                        raise FetchError("the FHIR response is larger than allowed")
                    for chunk in response.iter_content(chunk_size=65536):
                        body.extend(chunk)
                        if len(body) > self._max_bytes:
                            raise FetchError("the FHIR response is larger than allowed")
                    watchdog.disarm()
                finally:
                    response.close()
        except AddressNotAllowed:
            raise FetchError("the FHIR server's address is not allowed") from None
        except requests.Timeout:
            raise FetchError("the FHIR server did not answer in time") from None
        except requests.RequestException as exc:
            if watchdog.fired:
                raise FetchError("the time budget for FHIR reads is exhausted") from None
            raise FetchError(f"the FHIR server could not be reached ({type(exc).__name__})") from None
        if watchdog.fired:
            raise FetchError("the time budget for FHIR reads is exhausted")
        try:
            document = json.loads(body)
        except (ValueError, RecursionError):
            raise FetchError("the FHIR server answered with something that is not JSON") from None
        if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
            raise FetchError("the FHIR server answered with something that is not a FHIR resource")
        return document


def _entries(bundle: dict[str, Any]) -> list[Any]:
    entries = bundle.get("entry")
    return entries if isinstance(entries, list) else []


def _next_link(bundle: dict[str, Any]) -> str | None:
    links = bundle.get("link")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            url: str = link["url"]
            return url
    return None

"""Safe FHIR fetching: disallowed hosts, schemes, redirects and private addresses are never contacted."""

from __future__ import annotations

import copy
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.app import create_app
from cds_service.config import load_settings
from cds_service.fhir_client import FhirServerPolicy, HttpFetcher
from cds_service.prefetch import FetchError
from tests.conftest import PUBLIC_BASE
from tests.foundation.test_http import SERVICE, example_request, post_json
from tests.support import assert_operation_outcome, running_mock_fhir

ALLOWED = "https://fhir.allowed.example/r4"


def request_without_prefetch(fhir_server: str) -> dict[str, Any]:
    """The example request with no prefetch, naming ``fhir_server`` and a token for it."""
    request = copy.deepcopy(example_request())
    request["prefetch"] = {}
    request["fhirServer"] = fhir_server
    request["fhirAuthorization"] = {
        "access_token": "secret-token-ssrf",
        "token_type": "Bearer",
        "expires_in": 300,
    }
    return request


def strict_client(tmp_path: Path, **changes: Any) -> FlaskClient:
    """An app with auth off (not under test here) and only ALLOWED on the FHIR allowlist."""
    settings = load_settings(
        {},
        database_url=f"sqlite:///{tmp_path / 'ssrf.sqlite3'}",
        public_base_url=PUBLIC_BASE,
        auth=False,
        fhir_server_allowlist=(ALLOWED,),
        fhir_total_budget=3.0,
        **changes,
    )
    return create_app(settings).test_client()


@pytest.fixture(name="network")
def _network(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Fake DNS for *.example names and a record of every outgoing connection attempt."""
    record: dict[str, Any] = {"resolved": [], "connected": [], "answers": {}}
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        record["resolved"].append(host)
        answers = record["answers"].get(host)
        if answers is None:
            return real_getaddrinfo(host, port, *args, **kwargs)
        address = answers.pop(0) if len(answers) > 1 else answers[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    def connect(self: socket.socket, address: Any) -> Any:
        record["connected"].append(address)
        if not str(address[0]).startswith("127.") and address[0] != "::1":
            raise AssertionError(f"a test tried to connect to {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return record


def test_fhir_server_off_the_allowlist_is_never_contacted(tmp_path: Path) -> None:
    """A loopback FHIR server not on the allowlist gets no request; the call is a 412 saying why."""
    with running_mock_fhir() as fhir:
        response = post_json(strict_client(tmp_path), SERVICE, request_without_prefetch(fhir.base_url))
        assert fhir.requests == []
    body = assert_operation_outcome(response, 412, "CDS-412-02")
    assert "allowlist" in body["issue"][0]["diagnostics"]
    assert "secret-token-ssrf" not in json.dumps(body)


@pytest.mark.parametrize(
    "fhir_server",
    [
        "http://fhir.allowed.example/r4",
        "https://fhir.allowed.example/r4x",
        "https://fhir.allowed.example:8443/r4",
        "https://evil.example/r4",
        "https://fhir.allowed.example.evil.example/r4",
        "https://user@fhir.allowed.example/r4",
        "https://fhir.allowed.example/r4?_format=json",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/fhir",
    ],
)
def test_disallowed_hosts_and_schemes_are_not_even_resolved(
    tmp_path: Path, network: dict[str, Any], fhir_server: str
) -> None:
    """Wrong scheme, host, port, path, credentials or a metadata address: no DNS look-up, no connection."""
    response = post_json(strict_client(tmp_path), SERVICE, request_without_prefetch(fhir_server))
    assert_operation_outcome(response, 412, "CDS-412-02")
    assert network["connected"] == [] and not [h for h in network["resolved"] if "example" in h or ":" in h]


@pytest.mark.parametrize(
    "address",
    [
        "10.0.0.7",
        "172.16.5.4",
        "192.168.1.10",
        "127.0.0.1",
        "169.254.169.254",
        "100.64.0.1",
        "::1",
        "fd00::1",
        "::ffff:10.0.0.1",
        "0.0.0.0",  # noqa: S104 - an address to refuse, not one to bind
    ],
)
def test_allowlisted_name_resolving_to_a_private_address_is_refused(
    tmp_path: Path, network: dict[str, Any], address: str
) -> None:
    """An allowlisted host whose DNS answer is private, loopback or link-local is not connected to."""
    network["answers"]["fhir.allowed.example"] = [address]
    response = post_json(strict_client(tmp_path), SERVICE, request_without_prefetch(ALLOWED))
    body = assert_operation_outcome(response, 412, "CDS-412-01")
    assert "address is not allowed" in json.dumps(body)
    assert network["resolved"] and network["connected"] == []


def test_explicitly_allowed_network_is_used(network: dict[str, Any]) -> None:
    """A hospital network listed in CDS_FHIR_ALLOWED_NETWORKS passes the address check."""
    policy = FhirServerPolicy.create([ALLOWED], allow_loopback=False, networks=["10.20.0.0/16"])
    network["answers"]["fhir.allowed.example"] = ["10.20.1.2"]
    assert policy.resolve("fhir.allowed.example", 443, 1.0)[0][4][0] == "10.20.1.2"
    network["answers"]["fhir.allowed.example"] = ["10.21.1.2"]
    with pytest.raises(Exception, match="not allowed"):
        policy.resolve("fhir.allowed.example", 443, 1.0)


def test_connection_goes_to_the_address_that_was_checked(network: dict[str, Any]) -> None:
    """DNS rebinding: the name is resolved once, checked, and the socket opens to that very address."""
    with running_mock_fhir() as fhir:
        port = int(fhir.base_url.split(":")[2].split("/")[0])
        fhir.json("Patient/1", {"resourceType": "Patient", "id": "1"})
        network["answers"]["rebind.example"] = ["127.0.0.1", "10.0.0.9", "10.0.0.9"]
        fetcher = HttpFetcher(
            connect_timeout=1,
            read_timeout=1,
            max_response_bytes=10**6,
            max_pages=2,
            policy=FhirServerPolicy(allow_loopback=True),
        )
        response = fetcher._session.get(f"http://rebind.example:{port}/fhir/Patient/1", timeout=2)
        assert response.status_code == 200
    assert network["resolved"].count("rebind.example") == 1
    assert network["connected"] == [("127.0.0.1", port)]


def test_redirects_are_not_followed(tmp_path: Path) -> None:
    """A FHIR server answering 302 to another server: the other server is never contacted."""
    with running_mock_fhir() as fhir, running_mock_fhir() as elsewhere:
        fhir.routes["Patient/crlm-example-1"] = lambda: (
            302,
            b"",
            {"Location": elsewhere.base_url + "/Patient/x"},
        )
        settings = load_settings(
            {},
            database_url=f"sqlite:///{tmp_path / 'r.sqlite3'}",
            public_base_url=PUBLIC_BASE,
            auth=False,
            fhir_allow_loopback=True,
        )
        response = post_json(
            create_app(settings).test_client(), SERVICE, request_without_prefetch(fhir.base_url)
        )
        assert elsewhere.requests == []
    body = assert_operation_outcome(response, 412, "CDS-412-01")
    assert "HTTP 302" in json.dumps(body)


def test_next_link_to_another_origin_is_not_followed() -> None:
    """A searchset whose next link points elsewhere fails the read; the other server gets nothing."""
    with running_mock_fhir() as fhir, running_mock_fhir() as elsewhere:
        fhir.json(
            "Condition",
            {
                "resourceType": "Bundle",
                "type": "searchset",
                "link": [{"relation": "next", "url": elsewhere.base_url + "/Condition?page=2"}],
            },
        )
        fetcher = HttpFetcher(
            connect_timeout=1,
            read_timeout=1,
            max_response_bytes=10**6,
            max_pages=5,
            policy=FhirServerPolicy(allow_loopback=True),
        )
        with pytest.raises(FetchError, match="another server"):
            fetcher(fhir.base_url + "/Condition", None, time.monotonic() + 5)
        assert elsewhere.requests == []


def test_result_count_and_pages_are_bounded() -> None:
    """More pages or entries than allowed fail the read instead of growing without limit."""
    with running_mock_fhir() as fhir:
        page = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [{"resource": {"resourceType": "Condition", "id": str(i)}} for i in range(50)],
            "link": [{"relation": "next", "url": fhir.base_url + "/Condition?page=n"}],
        }
        fhir.json("Condition", page)
        fhir.json("Condition?page=n", page)
        policy = FhirServerPolicy(allow_loopback=True)
        by_pages = HttpFetcher(
            connect_timeout=1, read_timeout=1, max_response_bytes=10**6, max_pages=3, policy=policy
        )
        with pytest.raises(FetchError, match="result pages"):
            by_pages(fhir.base_url + "/Condition", None, time.monotonic() + 5)
        by_entries = HttpFetcher(
            connect_timeout=1,
            read_timeout=1,
            max_response_bytes=10**6,
            max_pages=100,
            max_entries=120,
            policy=policy,
        )
        with pytest.raises(FetchError, match="more than 120 results"):
            by_entries(fhir.base_url + "/Condition", None, time.monotonic() + 5)


@pytest.mark.parametrize(
    ("url", "extra", "allowed"),
    [
        ("https://fhir.allowed.example/r4", (), True),
        ("https://FHIR.allowed.example:443/r4/tenant-1", (), True),
        ("https://fhir.allowed.example/r4x", (), False),
        ("https://customer.example/api/FHIR/R4", ("https://customer.example/api/FHIR/R4",), True),
        ("https://customer.example/api/FHIR/R4", (), False),
        ("http://127.0.0.1:9999/fhir", (), False),
    ],
)
def test_policy_allowlist_matching(url: str, extra: tuple[str, ...], allowed: bool) -> None:
    """Same scheme, host and port, and a path equal to or below an entry (service-wide or the client's)."""
    assert FhirServerPolicy.create([ALLOWED], allow_loopback=False).allows_base(url, extra) is allowed

"""A failing FHIR server (timeout, drip, 500, garbage, too big, unreachable): 412 or degraded cards."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from cds_service.app import create_app
from cds_service.config import load_settings
from tests.conftest import FIXED_TODAY, PUBLIC_BASE
from tests.foundation.test_http import SERVICE, example_request, post_json
from tests.support import running_mock_fhir, slow

BUDGET = 1.5
MARGIN = 1.0


@contextmanager
def dripping_server() -> Iterator[str]:
    """A raw server that sends a 200 header, then one byte every 0.2 s for as long as it is read."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(connection,), daemon=True).start()

    def drip(connection: socket.socket) -> None:
        with connection:
            try:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/fhir+json\r\n\r\n{")
                for _ in range(100):
                    if stop.is_set():
                        return
                    time.sleep(0.2)
                    connection.sendall(b" ")
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/fhir"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def closed_port() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/fhir"


Handler = Callable[[], tuple[int, Any, dict[str, str]]]
FAULTS: dict[str, Handler] = {
    "times out": slow(5.0),
    "answers 500": lambda: (500, b"Internal Server Error", {}),
    "answers garbage": lambda: (200, b"\x00\xff<html>not json", {"Content-Type": "application/fhir+json"}),
    "answers a non-FHIR JSON": lambda: (200, b"[1, 2, 3]", {}),
    "answers too much": lambda: (200, b"[" + b"0," * 600_000 + b"0]", {}),
}


def app_client(tmp_path: Path) -> Any:
    """An app with a short FHIR time budget and loopback FHIR allowed."""
    settings = load_settings(
        {},
        database_url=f"sqlite:///{tmp_path / 'faults.sqlite3'}",
        public_base_url=PUBLIC_BASE,
        auth=False,
        fhir_allow_loopback=True,
        fhir_connect_timeout=0.5,
        fhir_read_timeout=1.0,
        fhir_total_budget=BUDGET,
        fhir_max_response_bytes=1024 * 1024,
    )
    return create_app(settings, today=lambda: FIXED_TODAY).test_client()


def timed_post(client: Any, request: dict[str, Any]) -> tuple[Any, float]:
    """POST and measure the time it took."""
    started = time.monotonic()
    response = post_json(client, SERVICE, request)
    return response, time.monotonic() - started


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_required_data_from_a_failing_server_is_412_in_time(tmp_path: Path, fault: str) -> None:
    """Required keys that the FHIR server fails to give: 412 within the time budget."""
    request = copy.deepcopy(example_request())
    request["prefetch"] = {}
    with running_mock_fhir() as fhir:
        for path in (
            "Patient/crlm-example-1",
            "Condition",
            "Observation",
            "MedicationRequest",
            "MedicationAdministration",
            "MedicationStatement",
            "Procedure",
        ):
            fhir.routes[path] = FAULTS[fault]
        request["fhirServer"] = fhir.base_url
        response, elapsed = timed_post(app_client(tmp_path), request)
    assert response.status_code == 412, response.get_data(as_text=True)[:300]
    assert response.get_json()["resourceType"] == "OperationOutcome"
    assert elapsed < BUDGET + MARGIN


@pytest.mark.parametrize("where", ["dripping", "unreachable"])
def test_dripping_or_unreachable_server_is_412_in_time(tmp_path: Path, where: str) -> None:
    """A server that trickles bytes forever, or a closed port, cannot hold the request past the budget."""
    request = copy.deepcopy(example_request())
    request["prefetch"] = {}
    if where == "unreachable":
        request["fhirServer"] = closed_port()
        response, elapsed = timed_post(app_client(tmp_path), request)
    else:
        with dripping_server() as url:
            request["fhirServer"] = url
            response, elapsed = timed_post(app_client(tmp_path), request)
    assert response.status_code == 412
    assert elapsed < BUDGET + MARGIN


@pytest.mark.parametrize("fault", ["times out", "answers 500", "answers garbage"])
def test_optional_data_from_a_failing_server_degrades_the_cards(tmp_path: Path, fault: str) -> None:
    """Required data prefetched, optional data failing: 200 with cards naming the data limitation."""
    request = copy.deepcopy(example_request())
    del request["prefetch"]["observations"]
    with running_mock_fhir() as fhir:
        fhir.routes["Observation"] = FAULTS[fault]
        request["fhirServer"] = fhir.base_url
        response, elapsed = timed_post(app_client(tmp_path), request)
    assert response.status_code == 200
    assert elapsed < BUDGET + MARGIN
    details = json.dumps(response.get_json())
    assert "Prefetch 'observations'" in details

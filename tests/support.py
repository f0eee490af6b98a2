"""Shared test helpers: conformance checks, a loopback mock FHIR server and data locations."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SYNTHEA_DIR = SHARED_DATA / "synthea-crc"
EXAMPLES = REPO / "examples"
SCHEMA = json.loads((REPO / "tests" / "schemas" / "cds-hooks-2.0.schema.json").read_text("utf-8"))


def validate(instance: Any, definition: str) -> None:
    """Validate ``instance`` against one definition of the CDS Hooks 2.0 schema."""
    schema = {"$ref": f"#/$defs/{definition}", **{k: v for k, v in SCHEMA.items() if k != "title"}}
    jsonschema.validate(instance, schema, format_checker=jsonschema.FormatChecker())


def find_empty_values(value: Any, path: str = "$") -> list[str]:
    """Paths of null or empty values (CDS Hooks forbids them for optional attributes)."""
    found: list[str] = []
    if value is None or value == "" or value == [] or value == {}:
        return [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(find_empty_values(item, f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_empty_values(item, f"{path}[{index}]"))
    return found


def assert_conformant_response(body: Any) -> None:
    """A CDS Hooks 2.0 service response with conformant cards (schema plus the extra rules)."""
    validate(body, "response")
    for card in body["cards"]:
        assert find_empty_values(card) == [], "cards must not carry null or empty optional fields"
        assert "uuid" in card
        assert card["source"].get("url") and card["source"].get("topic")
        assert "<" not in card.get("detail", ""), "detail must carry no raw HTML"
        for suggestion in card.get("suggestions", []):
            assert "uuid" in suggestion


def assert_operation_outcome(response: Any, status: int, code_prefix: str | None = None) -> dict[str, Any]:
    """The response has ``status`` and an OperationOutcome body; return the body."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    body = response.get_json(force=True)
    validate(body, "operationOutcome")
    if code_prefix is not None:
        assert body["issue"][0]["diagnostics"].startswith(code_prefix), body
    return body


@dataclass
class MockFhirServer:
    """A real HTTP server on loopback that answers FHIR reads from a route table.

    Attributes:
        routes: ``"Condition?patient=p1"``-style path-and-query -> handler returning
            ``(status, body bytes or JSON-able, headers)``; matched first exactly, then by path.
        requests: Every request received: (path with query, Authorization header).
    """

    routes: dict[str, Callable[[], tuple[int, Any, dict[str, str]]]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    base_url: str = ""

    def json(self, path: str, document: Any, status: int = 200) -> None:
        """Serve ``document`` as FHIR JSON at ``path``."""
        self.routes[path] = lambda: (status, document, {"Content-Type": "application/fhir+json"})

    def wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        target = unquote(request.full_path.removeprefix("/fhir/").rstrip("?"))
        self.requests.append((target, request.headers.get("Authorization")))
        handler = self.routes.get(target) or self.routes.get(request.path.removeprefix("/fhir/"))
        if handler is None:
            response = Response(json.dumps({"resourceType": "OperationOutcome", "issue": []}), status=404)
        else:
            status, body, headers = handler()
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            response = Response(data, status=status, headers=headers)
        return response(environ, start_response)


@contextmanager
def running_mock_fhir() -> Iterator[MockFhirServer]:
    """Start a :class:`MockFhirServer` on a free loopback port for the duration of the block."""
    mock = MockFhirServer()
    server = make_server("127.0.0.1", 0, mock.wsgi, threaded=True)
    mock.base_url = f"http://127.0.0.1:{server.server_port}/fhir"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield mock
    finally:
        server.shutdown()
        thread.join(timeout=5)


def slow(
    seconds: float, status: int = 200, body: Any = None
) -> Callable[[], tuple[int, Any, dict[str, str]]]:
    """A route handler that answers after ``seconds``."""

    def handler() -> tuple[int, Any, dict[str, str]]:
        time.sleep(seconds)
        return status, body if body is not None else {"resourceType": "Bundle", "type": "searchset"}, {}

    return handler


def load_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(path.read_text("utf-8"))


def require_tool(name: str, reason: str) -> str:
    """The path of the executable ``name`` (a name on PATH or a path); skip the test when it is missing.

    With ``CRLM_TEST_REQUIRE_ALL=1`` (CI) a missing tool fails the test instead, so a CI machine
    without it cannot pass by skipping.
    """
    found = shutil.which(name)
    if found is None:
        if os.environ.get("CRLM_TEST_REQUIRE_ALL") == "1":
            pytest.fail(f"{name} is required here (CRLM_TEST_REQUIRE_ALL=1): {reason}")
        pytest.skip(f"{name} is not installed: {reason}")
    return found

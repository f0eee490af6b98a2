"""Hostile input: malformed, oversized, deeply nested and type-confused requests never give a 5xx.

Two generators, both derandomized (fixed examples, same every run) and bounded so the whole file runs
in about a minute: schemathesis drives every operation of cds_service/openapi.yaml (served by the app at
/openapi.yaml), positive and negative cases; hypothesis mutates the example request and feedback
(subtrees replaced by values of other types, huge strings and numbers) and sends raw byte soup. Every
error must be a well-formed OperationOutcome, and the service must still be healthy afterwards.
"""

from __future__ import annotations

import copy
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service.app import create_app
from cds_service.config import load_settings
from tests.conftest import FIXED_TODAY, PUBLIC_BASE
from tests.foundation.test_http import SERVICE, example_request
from tests.support import validate

FUZZ = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
APP = create_app(
    load_settings(
        {},
        database_url=f"sqlite:///{Path(tempfile.mkdtemp(prefix='crlm-fuzz-')) / 'fuzz.sqlite3'}",
        public_base_url=PUBLIC_BASE,
        auth=False,
        max_body_bytes=256 * 1024,
    ),
    today=lambda: FIXED_TODAY,
)
SCHEMA = schemathesis.openapi.from_wsgi("/openapi.yaml", APP)
CLIENT = APP.test_client()
SENT = {"schemathesis": 0, "mutations": 0, "bytes": 0}


def assert_well_formed(status: int, content_type: str, body: bytes) -> None:
    """No 5xx; every 4xx body is a FHIR OperationOutcome with a stable code."""
    assert status < 500, body[:300]
    if status >= 400:
        assert content_type.startswith("application/fhir+json"), content_type
        outcome = json.loads(body)
        validate(outcome, "operationOutcome")
        assert outcome["issue"][0]["diagnostics"].startswith("CDS-")


@SCHEMA.parametrize()
@FUZZ
def test_schemathesis_finds_no_server_error(case: Any) -> None:
    """Every operation of the published OpenAPI description, with generated valid and invalid input."""
    SENT["schemathesis"] += 1
    response = case.call()
    headers = {k.lower(): v for k, v in response.headers.items()}
    content_type = headers.get("content-type", [""])
    assert_well_formed(
        response.status_code,
        content_type[0] if isinstance(content_type, list) else content_type,
        response.content,
    )


JSON_LEAVES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.just("x" * 10_000),
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_paths(item, (*prefix, index)))
    return found


BASE_REQUEST = example_request()
REQUEST_PATHS = [p for p in _paths(BASE_REQUEST) if p]
FEEDBACK = {
    "feedback": [
        {
            "card": "c",
            "outcome": "overridden",
            "overrideReason": {"reason": {"system": "s", "code": "c"}, "userComment": "u"},
            "outcomeTimestamp": "2026-12-01T10:00:00Z",
        }
    ]
}
FEEDBACK_PATHS = [p for p in _paths(FEEDBACK) if p]


def mutate(document: Any, path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    """A copy of ``document`` with the node at ``path`` replaced (or deleted)."""
    mutated = copy.deepcopy(document)
    parent = mutated
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return mutated


@given(
    target=st.sampled_from(["service", "feedback"]),
    picks=st.lists(st.tuples(st.integers(0, 10_000), JSON_VALUES, st.booleans()), min_size=1, max_size=3),
)
@settings(FUZZ, max_examples=1000)
def test_type_confused_requests_and_bundles(target: str, picks: list[tuple[int, Any, bool]]) -> None:
    """Valid requests (and their prefetch Bundles) with subtrees swapped for other types or removed."""
    document, paths, url = (
        (BASE_REQUEST, REQUEST_PATHS, SERVICE)
        if target == "service"
        else (FEEDBACK, FEEDBACK_PATHS, SERVICE + "/feedback")
    )
    for index, value, delete in picks:
        live = [p for p in _paths(document) if p]
        if not live:
            break
        document = mutate(document, live[index % len(live)], value, delete)
    SENT["mutations"] += 1
    response = CLIENT.post(url, data=json.dumps(document), content_type="application/json")
    assert_well_formed(response.status_code, response.content_type, response.get_data())
    assert paths


@given(
    body=st.one_of(
        st.binary(max_size=2000),
        st.text(max_size=2000).map(str.encode),
        st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
        st.just(b'{"hook": "patient-view", "x": "' + b"y" * 300_000 + b'"}'),
    ),
    content_type=st.sampled_from(["application/json", "application/fhir+json", "text/plain", ""]),
    url=st.sampled_from([SERVICE, SERVICE + "/feedback", "/cds-services/unknown", "/cds-services"]),
)
@settings(FUZZ, max_examples=600)
def test_raw_bytes_nesting_and_oversized_bodies(body: bytes, content_type: str, url: str) -> None:
    """Byte soup, invalid UTF-8, deep nesting and bodies over the size limit: 4xx OperationOutcomes."""
    SENT["bytes"] += 1
    response = CLIENT.post(url, data=body, content_type=content_type)
    assert_well_formed(response.status_code, response.content_type, response.get_data())


@pytest.mark.parametrize("depth", [63, 64, 65, 500, 50_000])
def test_json_depth_limit(depth: int) -> None:
    """Nesting up to CDS_MAX_JSON_DEPTH is parsed; deeper is 400 CDS-400-06."""
    request = copy.deepcopy(BASE_REQUEST)
    nested = json.dumps(request).encode()
    body = nested[:-1] + b', "extension": {"x": ' + b"[" * (depth - 2) + b"]" * (depth - 2) + b"}}"
    response = CLIENT.post(SERVICE, data=body, content_type="application/json")
    if depth <= 64:
        assert response.status_code == 200
    else:
        assert response.status_code == 400
        assert response.get_json(force=True)["issue"][0]["diagnostics"].startswith("CDS-400-06")


def test_service_is_healthy_after_the_fuzzing() -> None:
    """After everything above, the service answers health, readiness and a real request normally."""
    assert CLIENT.get("/healthz").status_code == 200
    assert CLIENT.get("/readyz").status_code == 200
    response = CLIENT.post(SERVICE, data=json.dumps(example_request()), content_type="application/json")
    assert response.status_code == 200 and response.get_json()["cards"]
    print(f"fuzzing volume: {SENT}")

"""Feedback: both body shapes, validation, storage and traceability to the rule of each card."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cds_service.app import STATE_KEY
from tests.foundation.test_http import SERVICE, example_request, post_json
from tests.support import assert_operation_outcome, validate

FEEDBACK = f"{SERVICE}/feedback"


def stored(app: Flask) -> list[dict[str, Any]]:
    """Feedback rows as the store returns them."""
    rows: list[dict[str, Any]] = app.extensions[STATE_KEY].store.feedback()
    return rows


def issue_cards(client: FlaskClient) -> list[dict[str, Any]]:
    """Call the service with the example and return its cards."""
    cards: list[dict[str, Any]] = post_json(client, SERVICE, example_request()).get_json()["cards"]
    assert cards
    return cards


def test_wrapped_feedback_is_stored_and_traced_to_the_rule(app: Flask, client: FlaskClient) -> None:
    """{"feedback": [...]} is answered 200 and each item is stored with the rule of its card."""
    card = issue_cards(client)[0]
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    validate(item, "feedbackItem")
    response = post_json(client, FEEDBACK, {"feedback": [item]})
    assert response.status_code == 200
    rows = stored(app)
    assert len(rows) == 1
    assert rows[0]["card"] == card["uuid"]
    assert rows[0]["ruleId"] and rows[0]["topic"] == card["source"]["topic"]["code"]


def test_bare_single_item_is_accepted(app: Flask, client: FlaskClient) -> None:
    """A bare feedback object (HAPI's shape) is stored like a one-item array."""
    card = issue_cards(client)[0]
    item: dict[str, Any] = {
        "card": card["uuid"],
        "outcome": "overridden",
        "overrideReason": {"reason": card["overrideReasons"][0], "userComment": "MDT chose otherwise"},
        "outcomeTimestamp": "2026-12-01T10:00:00.52Z",
    }
    assert post_json(client, FEEDBACK, item).status_code == 200
    rows = stored(app)
    assert rows[0]["overrideReason"]["code"] == card["overrideReasons"][0]["code"]


def test_accepted_suggestions_are_stored(app: Flask, client: FlaskClient) -> None:
    """An accepted outcome with its suggestion ids is stored with them."""
    card = next((c for c in issue_cards(client) if c.get("suggestions")), None)
    if card is None:
        pytest.fail("the example patient should get at least one card with a suggestion")
    item = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-12-01T10:00:00+01:00",
    }
    assert post_json(client, FEEDBACK, {"feedback": [item]}).status_code == 200
    assert stored(app)[0]["acceptedSuggestions"] == [card["suggestions"][0]["uuid"]]


def test_repeated_feedback_is_kept_once_and_batches_are_atomic(app: Flask, client: FlaskClient) -> None:
    """The same item twice is stored once; a batch with one invalid item stores nothing."""
    card = issue_cards(client)[0]
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    post_json(client, FEEDBACK, {"feedback": [item, item]})
    post_json(client, FEEDBACK, {"feedback": [item]})
    assert len(stored(app)) == 1
    bad = {"card": card["uuid"], "outcome": "ignored", "outcomeTimestamp": "2026-12-01T11:00:00Z"}
    other = {**item, "outcomeTimestamp": "2026-12-01T12:00:00Z"}
    assert_operation_outcome(post_json(client, FEEDBACK, {"feedback": [other, bad]}), 400, "CDS-400-05")
    assert len(stored(app)) == 1


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}, "card"),
        ({"card": "c", "outcome": "maybe", "outcomeTimestamp": "2026-12-01T10:00:00Z"}, "outcome"),
        (
            {"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:00:00Z"},
            "acceptedSuggestions",
        ),
        ({"card": "c", "outcome": "overridden", "outcomeTimestamp": "yesterday"}, "outcomeTimestamp"),
        (
            {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-13-45T10:00:00Z"},
            "outcomeTimestamp",
        ),
        ({"card": "c", "outcome": "overridden"}, "outcomeTimestamp"),
        (
            {
                "card": "c",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
                "overrideReason": {},
            },
            "overrideReason",
        ),
        (
            {
                "card": "c",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
                "overrideReason": {"reason": {"code": 1}},
            },
            "Coding",
        ),
        (
            {
                "card": "c",
                "outcome": "accepted",
                "acceptedSuggestions": ["x"],
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
            },
            "acceptedSuggestions",
        ),
    ],
)
def test_invalid_feedback_is_rejected(
    app: Flask, client: FlaskClient, item: dict[str, Any], fragment: str
) -> None:
    """Invalid feedback items get 400 naming the problem, and nothing is stored."""
    body = assert_operation_outcome(post_json(client, FEEDBACK, {"feedback": [item]}), 400, "CDS-400-05")
    assert fragment in json.dumps(body)
    assert stored(app) == []


@pytest.mark.parametrize("body", [{"feedback": []}, {"feedback": {}}, [1], "text"])
def test_malformed_feedback_bodies_are_400(client: FlaskClient, body: Any) -> None:
    """An empty or non-array feedback list or a non-object body gives 400."""
    assert_operation_outcome(post_json(client, FEEDBACK, body), 400)


def test_feedback_for_unknown_service_is_404(client: FlaskClient) -> None:
    """Feedback to an unknown service id gives 404."""
    item = {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    assert_operation_outcome(post_json(client, "/cds-services/nope/feedback", {"feedback": [item]}), 404)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (
            {
                "feedback": [
                    {"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
                ]
                * 101
            },
            "at most 100 per call",
        ),
        ({"card": "c" * 129, "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}, "card"),
        (
            {
                "card": "c",
                "outcome": "overridden",
                "outcomeTimestamp": "2026-12-01T10:00:00Z",
                "overrideReason": {"userComment": "x" * 4001},
            },
            "at most 4000 characters",
        ),
    ],
)
def test_oversized_feedback_is_refused(app: Flask, client: FlaskClient, body: Any, fragment: str) -> None:
    """Feedback is bounded: too many items, an over-long card id or comment get 400 and store nothing."""
    response = assert_operation_outcome(post_json(client, FEEDBACK, body), 400)
    assert fragment in json.dumps(response)
    assert stored(app) == []


def test_feedback_on_the_unreadable_record_card_traces_to_its_rule(app: Flask, client: FlaskClient) -> None:
    """The card a patient out of scope can get (a relevant record unreadable) is recorded like any other."""
    from cds_service.cli import request_from_bundle
    from cds_service.services import load_registry
    from tests.support import REPO, load_json

    bundle_path = REPO / "tests" / "golden" / "cases" / "invalid-primary-condition" / "bundle.json"
    service = load_registry(REPO / "fhir_profiles").get("crlm-patient-view")
    request = request_from_bundle(load_json(bundle_path), service, bundle_path.read_bytes())
    cards = post_json(client, SERVICE, request).get_json()["cards"]
    assert [c["source"]["topic"]["code"] for c in cards] == ["data-unreadable-record"]
    item = {"card": cards[0]["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    assert post_json(client, FEEDBACK, item).status_code == 200
    assert stored(app)[0]["ruleId"] == "data-unreadable-record"

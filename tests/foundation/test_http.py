"""HTTP tests through Flask's test client: discovery, hook calls, prefetch policy, errors, CORS."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service.config import Settings
from tests.support import (
    EXAMPLES,
    REPO,
    assert_conformant_response,
    assert_operation_outcome,
    load_json,
    running_mock_fhir,
    validate,
)

SERVICE = "/cds-services/crlm-patient-view"


def example_request() -> dict[str, Any]:
    """The shipped example request (a synchronous CRLM patient with full prefetch)."""
    document: dict[str, Any] = load_json(EXAMPLES / "patient-view-crlm.json")
    return document


def post_json(client: FlaskClient, path: str, body: Any, **kwargs: Any) -> Any:
    """POST ``body`` as JSON."""
    return client.post(path, data=json.dumps(body), content_type="application/json", **kwargs)


class TestDiscovery:
    """GET /cds-services."""

    def test_discovery_serves_the_published_definitions(self, client: FlaskClient) -> None:
        """Discovery returns fhir_profiles/cds-services.json as published, and it is spec-conformant."""
        response = client.get("/cds-services")
        assert response.status_code == 200
        body = response.get_json()
        validate(body, "discovery")
        assert body == load_json(REPO / "fhir_profiles" / "cds-services.json")

    def test_discovery_offers_patient_view_with_prefetch(self, client: FlaskClient) -> None:
        """The patient-view service asks for patient, conditions, observations, medications and procedures."""
        service = client.get("/cds-services").get_json()["services"][0]
        assert service["hook"] == "patient-view"
        templates = service["prefetch"]
        assert templates["patient"] == "Patient/{{context.patientId}}"
        for resource_type in ("Condition", "Observation", "MedicationRequest", "Procedure"):
            assert any(
                t.startswith(f"{resource_type}?patient={{{{context.patientId}}}}") for t in templates.values()
            )


class TestServiceCall:
    """POST /cds-services/{id} with each prefetch case."""

    def test_example_request_returns_conformant_cards(self, client: FlaskClient) -> None:
        """The shipped example returns at least one conformant card for a CRLM patient."""
        response = post_json(client, SERVICE, example_request())
        assert response.status_code == 200
        body = response.get_json()
        assert_conformant_response(body)
        assert body["cards"], "a CRLM patient gets cards"

    def test_unknown_fields_and_extension_are_tolerated(self, client: FlaskClient) -> None:
        """Unknown top-level fields and an 'extension' object do not cause a 400."""
        request = example_request()
        request["extension"] = {"com.example.trace": {"id": 1}}
        request["somethingNew"] = True
        assert post_json(client, SERVICE, request).status_code == 200

    def test_null_prefetch_means_no_data(self, client: FlaskClient) -> None:
        """Optional keys sent as null are 'no data': the call succeeds and no data note is shown."""
        request = example_request()
        for key in ("observations", "medicationRequests", "procedures"):
            request["prefetch"][key] = None
        body = post_json(client, SERVICE, request).get_json()
        assert_conformant_response(body)
        assert all("Prefetch 'observations'" not in c.get("detail", "") for c in body["cards"])

    def test_null_required_prefetch_means_no_patient_data(self, client: FlaskClient) -> None:
        """Conditions sent as null (no conditions) is valid and yields no CRLM cards."""
        request = example_request()
        request["prefetch"]["conditions"] = None
        response = post_json(client, SERVICE, request)
        assert response.status_code == 200
        assert response.get_json() == {"cards": []}

    def test_operation_outcome_in_optional_prefetch_degrades_with_a_note(self, client: FlaskClient) -> None:
        """An OperationOutcome for an optional key without fhirServer is shown as a data limitation."""
        request = example_request()
        request["prefetch"]["observations"] = {"resourceType": "OperationOutcome", "issue": []}
        body = post_json(client, SERVICE, request).get_json()
        assert_conformant_response(body)
        assert any("Prefetch 'observations'" in c["detail"] for c in body["cards"])

    def test_operation_outcome_in_required_prefetch_without_server_is_412(self, client: FlaskClient) -> None:
        """An OperationOutcome for the conditions with no FHIR server to fall back on gives 412."""
        request = example_request()
        request["prefetch"]["conditions"] = {"resourceType": "OperationOutcome", "issue": []}
        response = post_json(client, SERVICE, request)
        body = assert_operation_outcome(response, 412, "CDS-412-01")
        assert "conditions" in body["issue"][0]["diagnostics"]

    def test_absent_prefetch_is_fetched_from_the_fhir_server(self, client: FlaskClient) -> None:
        """Keys the EHR did not prefetch are read from fhirServer with the bearer token."""
        full = example_request()
        request = copy.deepcopy(full)
        request["prefetch"] = {"patient": full["prefetch"]["patient"]}
        request["fhirAuthorization"] = {
            "access_token": "opaque-token-123",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "patient/*.read",
            "subject": "crlm-cds",
        }
        with running_mock_fhir() as fhir:
            request["fhirServer"] = fhir.base_url
            pid = full["context"]["patientId"]
            for key, template in load_json(REPO / "fhir_profiles" / "cds-services.json")["services"][0][
                "prefetch"
            ].items():
                if key != "patient":
                    fhir.json(template.replace("{{context.patientId}}", pid), full["prefetch"][key])
            response = post_json(client, SERVICE, request)
            fetched_paths = [path for path, _ in fhir.requests]
            tokens = {auth for _, auth in fhir.requests}
        assert response.status_code == 200
        assert response.get_json() == post_json(client, SERVICE, full).get_json()
        assert any(p.startswith("Condition?") for p in fetched_paths)
        assert not any(p.startswith("Patient/") for p in fetched_paths), (
            "prefetched keys are not fetched again"
        )
        assert tokens == {"Bearer opaque-token-123"}

    def test_absent_required_prefetch_without_fhir_server_is_412(self, client: FlaskClient) -> None:
        """No prefetch and no fhirServer: 412 with an OperationOutcome naming the missing keys."""
        request = example_request()
        del request["prefetch"]
        body = assert_operation_outcome(post_json(client, SERVICE, request), 412, "CDS-412-01")
        assert (
            "conditions" in body["issue"][0]["diagnostics"] and "patient" in body["issue"][0]["diagnostics"]
        )

    def test_absent_prefetch_with_unreachable_fhir_server_is_412(self, client: FlaskClient) -> None:
        """A FHIR server that answers 500 for the required keys gives 412, not a 500."""
        request = example_request()
        request["prefetch"] = {}
        with running_mock_fhir() as fhir:
            fhir.routes["Patient/crlm-example-1"] = lambda: (500, b"oops", {})
            request["fhirServer"] = fhir.base_url
            response = post_json(client, SERVICE, request)
        body = assert_operation_outcome(response, 412, "CDS-412-01")
        assert "HTTP 500" in json.dumps(body)

    def test_patient_without_crlm_gets_no_cards(self, client: FlaskClient) -> None:
        """A patient with only the colorectal primary (no liver metastases) gets {"cards": []}."""
        request = example_request()
        entries = request["prefetch"]["conditions"]["entry"]
        request["prefetch"]["conditions"]["entry"] = [
            e for e in entries if not e["resource"]["id"].startswith("liver")
        ]
        response = post_json(client, SERVICE, request)
        assert response.status_code == 200
        assert response.get_json() == {"cards": []}

    def test_card_uuids_are_stable_per_hook_instance(self, client: FlaskClient) -> None:
        """The same hook instance gives the same card uuids; another instance gives others."""
        first = post_json(client, SERVICE, example_request()).get_json()
        again = post_json(client, SERVICE, example_request()).get_json()
        other_request = example_request()
        other_request["hookInstance"] = "8a7a3c2e-0d8e-4bb4-9a38-3b1f6b0f3c11"
        other = post_json(client, SERVICE, other_request).get_json()
        uuids = [c["uuid"] for c in first["cards"]]
        assert uuids == [c["uuid"] for c in again["cards"]]
        assert not set(uuids) & {c["uuid"] for c in other["cards"]}


class TestErrors:
    """Every error class gets its 4xx and an OperationOutcome body."""

    def test_malformed_json_is_400(self, client: FlaskClient) -> None:
        """A body that is not JSON gives 400 CDS-400-01."""
        response = client.post(SERVICE, data=b'{"hook": ', content_type="application/json")
        assert_operation_outcome(response, 400, "CDS-400-01")

    def test_empty_body_is_400(self, client: FlaskClient) -> None:
        """An empty body gives 400."""
        assert_operation_outcome(client.post(SERVICE, data=b"", content_type="application/json"), 400)

    def test_wrong_content_type_is_415(self, client: FlaskClient) -> None:
        """A body sent as text/plain gives 415."""
        response = client.post(SERVICE, data=json.dumps(example_request()), content_type="text/plain")
        assert_operation_outcome(response, 415, "CDS-415-01")

    @pytest.mark.parametrize(
        ("mutate", "fragment"),
        [
            (lambda r: r.pop("hook"), "'hook' is required"),
            (lambda r: r.pop("hookInstance"), "'hookInstance' is required"),
            (lambda r: r.pop("context"), "'context' is required"),
            (lambda r: r["context"].pop("patientId"), "'patientId' is required"),
            (lambda r: r.update(hook="order-sign"), "'hook' must be 'patient-view'"),
            (lambda r: r.update(hookInstance=42), "'hookInstance' must be a non-empty string"),
            (lambda r: r["context"].update(patientId=["x"]), "'patientId' must be a non-empty string"),
            (lambda r: r["context"].update(patientId="../../etc"), "must be a FHIR id"),
            (lambda r: r.update(context="patient"), "'context' is required and must be an object"),
            (lambda r: r.update(prefetch=[1]), "'prefetch' must be an object"),
            (lambda r: r["prefetch"].update(patient="Patient/1"), "must be a FHIR resource"),
            (lambda r: r.update(fhirServer="ftp://x"), "'fhirServer' must be an absolute http(s) URL"),
            (lambda r: r.update(fhirAuthorization={"token_type": "Bearer"}), "access_token"),
            (
                lambda r: r.update(fhirAuthorization={"access_token": "t", "token_type": "MAC"}),
                "must be 'Bearer'",
            ),
        ],
    )
    def test_invalid_fields_are_400_with_the_problem_named(
        self, client: FlaskClient, mutate: Any, fragment: str
    ) -> None:
        """Missing or wrong-typed fields give 400 CDS-400-03 with a diagnostic naming the field."""
        request = example_request()
        mutate(request)
        body = assert_operation_outcome(post_json(client, SERVICE, request), 400, "CDS-400-03")
        assert fragment in json.dumps(body)

    def test_body_that_is_not_an_object_is_400(self, client: FlaskClient) -> None:
        """A JSON array body gives 400 CDS-400-02."""
        assert_operation_outcome(post_json(client, SERVICE, [1, 2]), 400, "CDS-400-02")

    def test_unknown_service_is_404(self, client: FlaskClient) -> None:
        """An unknown service id gives 404 CDS-404-01."""
        assert_operation_outcome(
            post_json(client, "/cds-services/nope", example_request()), 404, "CDS-404-01"
        )

    def test_unknown_path_is_404(self, client: FlaskClient) -> None:
        """An unknown path gives 404 with an OperationOutcome."""
        assert_operation_outcome(client.get("/nothing-here"), 404, "CDS-404-02")

    def test_wrong_method_is_405_with_allow(self, client: FlaskClient) -> None:
        """GET on a service gives 405 naming the allowed method."""
        response = client.get(SERVICE)
        assert_operation_outcome(response, 405, "CDS-405-01")
        assert "POST" in response.headers["Allow"]

    def test_oversized_body_is_413(self, settings: Settings) -> None:
        """A body over the configured limit gives 413 before it is parsed."""
        import dataclasses

        from cds_service.app import create_app

        app = create_app(dataclasses.replace(settings, max_body_bytes=2048))
        body = example_request()
        body["padding"] = "x" * 4096
        response = post_json(app.test_client(), SERVICE, body)
        assert_operation_outcome(response, 413, "CDS-413-01")

    def test_deeply_nested_json_is_400(self, client: FlaskClient) -> None:
        """Pathologically nested JSON gives 400, not a crash."""
        body = b'{"hook":' + b"[" * 200_000 + b"]" * 200_000 + b"}"
        assert_operation_outcome(client.post(SERVICE, data=body, content_type="application/json"), 400)


class TestCors:
    """Browser sandboxes must pass CORS."""

    def test_preflight_allows_authorization_and_content_type(self, client: FlaskClient) -> None:
        """An OPTIONS pre-flight from a browser origin is answered 204 with the needed headers."""
        response = client.options(
            SERVICE,
            headers={
                "Origin": "https://sandbox.cds-hooks.org",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert response.status_code == 204
        assert response.headers["Access-Control-Allow-Origin"] in {"*", "https://sandbox.cds-hooks.org"}
        allowed = response.headers["Access-Control-Allow-Headers"].lower()
        assert "authorization" in allowed and "content-type" in allowed
        assert "POST" in response.headers["Access-Control-Allow-Methods"]

    def test_configured_origins_are_the_only_ones_allowed(self, settings: Settings) -> None:
        """With an origin allowlist, other origins get no CORS headers and listed ones get their own."""
        import dataclasses

        from cds_service.app import create_app

        app = create_app(dataclasses.replace(settings, cors_origins=("https://ehr.example.org",)))
        client = app.test_client()
        allowed = client.get("/cds-services", headers={"Origin": "https://ehr.example.org"})
        denied = client.get("/cds-services", headers={"Origin": "https://evil.example.com"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://ehr.example.org"
        assert "Access-Control-Allow-Origin" not in denied.headers


class TestHealth:
    """Liveness and readiness."""

    def test_healthz(self, client: FlaskClient) -> None:
        """/healthz answers 200 while the process is up."""
        assert client.get("/healthz").get_json() == {"status": "ok"}

    def test_readyz_reports_knowledge_version(self, client: FlaskClient) -> None:
        """/readyz answers 200 with the knowledge version when storage is reachable."""
        body = client.get("/readyz").get_json()
        assert body["status"] == "ready" and body["knowledgeVersion"]

    def test_readyz_is_503_when_storage_is_gone(self, settings: Settings, tmp_path: Any) -> None:
        """/readyz answers 503 with an OperationOutcome when the database cannot be used."""
        from cds_service.app import create_app
        from cds_service.storage import SqliteStore

        store = SqliteStore(tmp_path / "ready.sqlite3")
        app = create_app(settings, store=store)
        assert_operation_outcome(app.test_client().get("/readyz"), 503, "CDS-503-01")


class TestClientChosenValues:
    """Values a client chooses are bounded before they reach logs, the audit trail or error messages."""

    def test_over_long_hook_instance_is_refused(self, client: FlaskClient) -> None:
        """A hookInstance that is not a short id gives 400, so it cannot carry text into the logs."""
        request = example_request()
        request["hookInstance"] = "JohnSmith-MRN-12345-" + "A" * 300
        body = assert_operation_outcome(post_json(client, SERVICE, request), 400, "CDS-400-03")
        assert "JohnSmith" not in json.dumps(body)

    def test_other_prefetch_keys_are_ignored_unread(self, client: FlaskClient) -> None:
        """Prefetch under keys the service did not ask for is dropped, never echoed or validated."""
        request = example_request()
        request["prefetch"]["K" * 10_000] = 5
        response = post_json(client, SERVICE, request)
        assert response.status_code == 200
        assert response.get_json() == post_json(client, SERVICE, example_request()).get_json()


class TestPrefetchShapes:
    """Prefetch of the wrong type, or only a first page, is never read as if it were the data asked for."""

    @pytest.mark.parametrize(
        ("key", "value"),
        [
            ("patient", {"resourceType": "Banana", "id": "p1"}),
            ("conditions", {"resourceType": "Observation"}),
        ],
    )
    def test_wrong_resource_type_in_a_required_key_is_412(
        self, client: FlaskClient, key: str, value: dict[str, Any]
    ) -> None:
        """A resource of the wrong type under a required key counts as missing: 412 without a FHIR server."""
        request = example_request()
        request["prefetch"][key] = value
        body = assert_operation_outcome(post_json(client, SERVICE, request), 412, "CDS-412-01")
        assert "was expected" in json.dumps(body)

    def test_first_page_only_is_completed_from_the_fhir_server(self, client: FlaskClient) -> None:
        """A paginated prefetch is completed by reading its next pages from fhirServer."""
        full = example_request()
        entries = full["prefetch"]["observations"]["entry"]
        request = copy.deepcopy(full)
        with running_mock_fhir() as fhir:
            request["fhirServer"] = fhir.base_url
            request["prefetch"]["observations"] = {
                "resourceType": "Bundle",
                "type": "searchset",
                "total": len(entries),
                "link": [{"relation": "next", "url": f"{fhir.base_url}/Observation?page=2"}],
                "entry": entries[:3],
            }
            fhir.json(
                "Observation?page=2", {"resourceType": "Bundle", "type": "searchset", "entry": entries[3:]}
            )
            response = post_json(client, SERVICE, request)
            assert [path for path, _ in fhir.requests] == ["Observation?page=2"]
        assert response.get_json() == post_json(client, SERVICE, full).get_json()

    def test_first_page_only_without_fhir_server_is_named_on_the_cards(self, client: FlaskClient) -> None:
        """Without a FHIR server to read the rest, the cards say the observations are incomplete."""
        request = example_request()
        observations = request["prefetch"]["observations"]
        observations["link"] = [
            {"relation": "next", "url": "https://ehr.example.org/fhir/Observation?page=2"}
        ]
        body = post_json(client, SERVICE, request).get_json()
        assert_conformant_response(body)
        assert any("one page" in card["detail"] for card in body["cards"])


def test_referenced_medications_are_read_from_the_fhir_server(client: FlaskClient) -> None:
    """An order naming its drug only through medicationReference gets that Medication read from fhirServer."""
    request = example_request()
    order = {
        "resourceType": "MedicationRequest",
        "id": "order-ox",
        "status": "completed",
        "intent": "order",
        "medicationReference": {"reference": "Medication/ox1"},
        "subject": {"reference": "Patient/crlm-example-1"},
        "authoredOn": "2026-10-20",
    }
    request["prefetch"]["medicationRequests"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": order}],
    }
    medication = {
        "resourceType": "Medication",
        "id": "ox1",
        "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1736776"}]},
    }
    without_server = post_json(client, SERVICE, request).get_json()
    with running_mock_fhir() as fhir:
        fhir.json("Medication/ox1", medication)
        request["fhirServer"] = fhir.base_url
        with_server = post_json(client, SERVICE, request).get_json()
        assert [path for path, _ in fhir.requests] == ["Medication/ox1"]
    assert "MedicationRequest/order-ox" in json.dumps(with_server)
    assert "oxaliplatin" in json.dumps(with_server).lower()
    assert with_server != without_server

"""Golden-file tests: full CDS Hooks responses for clinical scenarios, through HTTP.

Each folder under ``cases/`` holds one scenario: ``bundle.json`` (the patient's FHIR record, under
version control) and ``expected.json`` (the complete response). The bundle is turned into the hook
request an EHR would send (``cds-service evaluate`` does the same), posted to the service, and the
response compared with the expected one. ``pytest --update-golden`` rewrites the expected files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cds_service.cli import request_from_bundle
from cds_service.services import load_registry
from tests.foundation.test_http import SERVICE, post_json
from tests.support import REPO, assert_conformant_response, load_json

CASES = sorted(p for p in (Path(__file__).parent / "cases").iterdir() if (p / "bundle.json").is_file())


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_full_response_matches_golden(case: Path, client: FlaskClient, update_golden: bool) -> None:
    """The scenario's complete CDS response equals its golden file and conforms to CDS Hooks 2.0."""
    service = load_registry(REPO / "fhir_profiles").get("crlm-patient-view")
    bundle_path = case / "bundle.json"
    request = request_from_bundle(load_json(bundle_path), service, bundle_path.read_bytes())
    response = post_json(client, SERVICE, request)
    assert response.status_code == 200
    body = response.get_json()
    assert_conformant_response(body)
    expected_path = case / "expected.json"
    if update_golden:
        expected_path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", "utf-8")
    assert expected_path.is_file(), f"no golden file for {case.name}; run pytest --update-golden"
    assert body == load_json(expected_path)


def test_there_are_at_least_fifteen_scenarios() -> None:
    """The golden suite covers at least 15 distinct clinical scenarios."""
    assert len(CASES) >= 15, [c.name for c in CASES]

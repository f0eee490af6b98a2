"""No patient data or token in any log line: a distinctive patient through every path of a real server."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.foundation.test_http import example_request
from tests.load.server import running_service
from tests.support import running_mock_fhir

MARKERS = {
    "name": "Quixotilda",
    "family": "Marrowfieldson",
    "identifier": "MRN-XQ-99173",
    "note": "FREETEXT-NOTE-7731",
    "token": "TOKEN-SECRET-55821",
    "comment": "COMMENT-PRIVATE-4412",
    "patient id": "pt-quixotilda-4471",
}


def marked_request() -> dict[str, Any]:
    """The example request, its patient renamed and tagged with the markers everywhere free text goes."""
    text = json.dumps(example_request()).replace("crlm-example-1", MARKERS["patient id"])
    request: dict[str, Any] = json.loads(text)
    patient = request["prefetch"]["patient"]
    patient["name"] = [{"given": [MARKERS["name"]], "family": MARKERS["family"], "text": MARKERS["name"]}]
    patient["identifier"] = [{"system": "urn:mrn", "value": MARKERS["identifier"]}]
    for entry in request["prefetch"]["conditions"]["entry"]:
        entry["resource"]["note"] = [{"text": MARKERS["note"]}]
    request["fhirAuthorization"] = {
        "access_token": MARKERS["token"],
        "token_type": "Bearer",
        "expires_in": 300,
    }
    request["fhirServer"] = "https://fhir.not-allowlisted.example/r4"
    return request


def post(url: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """POST JSON and return (status, decoded body)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": "application/json", **(headers or {})}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_no_patient_data_or_token_in_any_log(tmp_path: Path) -> None:
    """Hook calls (prefetched and fetched), feedback, errors and the CLI: the markers appear in no log."""
    log = tmp_path / "server.log"
    env = {
        "CDS_AUTH": "off",
        "CDS_LOG_LEVEL": "DEBUG",
        "CDS_FHIR_ALLOW_LOOPBACK": "true",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/logs.sqlite3",
    }
    with running_mock_fhir() as fhir, running_service(env, log) as running:
        service = f"{running.base}/cds-services/crlm-patient-view"
        full = marked_request()
        status, body = post(service, full, {"X-Request-Id": "req-1"})
        assert status == 200 and body["cards"]
        fetched = copy.deepcopy(full)
        fetched["fhirServer"] = fhir.base_url
        for key in ("conditions", "observations", "procedures"):
            del fetched["prefetch"][key]
        fhir.routes["Condition"] = lambda: (200, full["prefetch"]["conditions"], {})
        fhir.routes["Observation"] = lambda: (200, full["prefetch"]["observations"], {})
        fhir.routes["Procedure"] = lambda: (500, MARKERS["note"].encode(), {})
        assert post(service, fetched)[0] == 200
        assert any(auth == f"Bearer {MARKERS['token']}" for _, auth in fhir.requests)
        card = body["cards"][0]
        item = {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": {"userComment": f"{MARKERS['comment']} {MARKERS['name']}"},
            "outcomeTimestamp": "2026-12-01T10:00:00Z",
        }
        assert post(service + "/feedback", {"feedback": [item]})[0] == 200
        bad = copy.deepcopy(full)
        bad["context"]["patientId"] = f"../{MARKERS['name']}"
        assert post(service, bad)[0] == 400
        assert post(service, b'{"hook": "' + MARKERS["name"].encode() + b'", broken')[0] == 400
        missing = copy.deepcopy(full)
        missing["prefetch"] = {}
        assert post(service, missing)[0] == 412
        assert post(service + "/feedback", {"feedback": [{"card": MARKERS["comment"]}]})[0] == 400
    request_file = tmp_path / "request.json"
    request_file.write_text(json.dumps(full))
    cli = subprocess.run(
        [str(Path(sys.executable).parent / "cds-service"), "evaluate", str(request_file)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert cli.returncode == 0
    logs = log.read_text("utf-8") + cli.stderr
    assert '"message":"request"' in logs and "crlm-patient-view" in logs
    leaked = {what: marker for what, marker in MARKERS.items() if marker in logs}
    assert leaked == {}, f"patient data in the logs: {leaked}"
    for line in log.read_text("utf-8").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            assert {"time", "level", "message"} <= set(entry)

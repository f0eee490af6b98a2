"""A record holding tens of thousands of results is mapped whole, each unreadable one noted once.

Data notes used to be deduplicated by scanning a list, which made a record of 25,000 unit-less CEA
results take longer than gunicorn's worker timeout. No timing is asserted here (speed lives in the
benchmark); the test proves the size is handled and every note kept.
"""

from __future__ import annotations

import json
from typing import Any

from cds_service.fhir_mapping import map_patient
from tests.support import EXAMPLES


def test_twenty_thousand_unconvertible_results_each_get_one_note() -> None:
    """20,000 CEA results without a unit are each skipped with their own note; the rest maps as usual."""
    request: dict[str, Any] = json.loads((EXAMPLES / "patient-view-crlm.json").read_text("utf-8"))
    observations = request["prefetch"]["observations"]
    extra = [
        {
            "resource": {
                "resourceType": "Observation",
                "id": f"cea-unitless-{i}",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "2039-6"}]},
                "subject": {"reference": "Patient/crlm-example-1"},
                "effectiveDateTime": "2026-10-01",
                "valueQuantity": {"value": 1},
            }
        }
        for i in range(20_000)
    ]
    documents = dict(request["prefetch"])
    documents["observations"] = {**observations, "entry": [*observations["entry"], *extra]}
    doubled = [*documents.values(), documents["observations"]]
    facts = map_patient(doubled, patient_id="crlm-example-1")
    assert facts.liver_metastases is not None
    assert facts.cea_ng_ml is not None and facts.cea_ng_ml.value == 8.5
    unitless = [
        n for n in facts.data_notes if any(s.startswith("Observation/cea-unitless-") for s in n.sources)
    ]
    assert len(unitless) == 20_000, "one note per unreadable result, the repeated document adding none"

"""Builders for small FHIR test records and a one-call mapper for the mapping tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cds_service import fhir_codes as fc
from cds_service.core.facts import DataNote, PatientFacts
from cds_service.fhir_mapping import map_patient
from tests.mapping.profile_sources import cc, component, quantity

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SYNTHEA = SHARED_DATA / "synthea-crc"
WHITNEY = SYNTHEA / "Whitney_Ortiz_b9bbc884-486e-4159-9bf3-c666ecb90df7.json"
MICAH = SYNTHEA / "Micah_Schinner_d4d72610-ec40-42ed-b34f-09e286181ee9.json"

PID = "p1"
Json = dict[str, Any]

__all__ = ["cc", "component", "quantity"]


def load(path: Path) -> Json:
    """A JSON file."""
    data: Json = json.loads(path.read_text(encoding="utf-8"))
    return data


def patient(pid: str = PID, birth: str = "1960-05-01") -> Json:
    """A Patient."""
    return {"resourceType": "Patient", "id": pid, "birthDate": birth}


def condition(cid: str, code: Json, onset: str = "2024-01-10", pid: str = PID, **extra: Any) -> Json:
    """A Condition (no verificationStatus unless given: read as confirmed)."""
    return {
        "resourceType": "Condition",
        "id": cid,
        "code": code,
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": onset,
        **extra,
    }


def observation(
    oid: str, code: Json, when: str = "2024-02-01", status: str = "final", pid: str = PID, **extra: Any
) -> Json:
    """An Observation."""
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "code": code,
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        **extra,
    }


def procedure(pid_: str, code: Json, when: str = "2024-03-01", pid: str = PID, **extra: Any) -> Json:
    """A completed Procedure."""
    return {
        "resourceType": "Procedure",
        "id": pid_,
        "status": "completed",
        "code": code,
        "subject": {"reference": f"Patient/{pid}"},
        "performedDateTime": when,
        **extra,
    }


def loinc(code: str) -> Json:
    """A LOINC CodeableConcept."""
    return cc(fc.LOINC, code)


def snomed(code: str) -> Json:
    """A SNOMED CT CodeableConcept."""
    return cc(fc.SNOMED, code)


def icd10(code: str) -> Json:
    """An ICD-10-CM CodeableConcept."""
    return cc(fc.ICD10CM, code)


def local(code: str) -> Json:
    """A crlm-data-item CodeableConcept."""
    return cc(fc.DATA_ITEM, code)


def primary(cid: str = "crc", code: Json | None = None, **extra: Any) -> Json:
    """A colorectal primary (sigmoid, ICD-10-CM) unless another code is given."""
    return condition(cid, code or icd10("C18.7"), **extra)


def liver(cid: str = "lm", code: Json | None = None, **extra: Any) -> Json:
    """Liver metastases (SNOMED 94381002) unless another code is given."""
    return condition(cid, code or snomed("94381002"), onset="2024-01-12", **extra)


def gene_variant(oid: str, gene: Json, present: bool = True, *components: Json, **extra: Any) -> Json:
    """A Genomics Reporting variant observation."""
    value = cc(fc.LOINC, "LA9633-4") if present else cc(fc.LOINC, "LA9634-2")
    return observation(
        oid,
        loinc("69548-6"),
        valueCodeableConcept=value,
        component=[component(loinc("48018-6"), valueCodeableConcept=gene), *components],
        **extra,
    )


def protein_change(text: str) -> Json:
    """An amino-acid change component."""
    return component(loinc("48005-3"), valueCodeableConcept=cc("http://varnomen.hgvs.org", text))


def bundle(*resources: Json, kind: str = "collection", base: str | None = None) -> Json:
    """A Bundle; ``base`` gives absolute fullUrls."""
    entries: list[Json] = []
    for resource in resources:
        entry: Json = {"resource": resource}
        if base and resource.get("id"):
            entry["fullUrl"] = f"{base}/{resource['resourceType']}/{resource['id']}"
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def run(*resources: Json, patient_id: str | None = PID, **kwargs: Any) -> PatientFacts:
    """Map a collection Bundle of the patient plus ``resources``."""
    return map_patient([bundle(patient(), *resources)], patient_id=patient_id, **kwargs)


def notes(facts: PatientFacts, kind: str) -> list[DataNote]:
    """The data notes of one kind."""
    return [n for n in facts.data_notes if n.kind == kind]


def crashed(facts: PatientFacts) -> bool:
    """Whether the mapper fell back to 'could not be read completely' (a bug, never expected)."""
    return any("could not be read completely" in n.message for n in facts.data_notes)

"""The CDS Hooks requests the benchmark sends, built from the shipped example and a Synthea record.

* ``typical``: a filtered prefetch as an EHR that honours the service's prefetch templates sends it:
  the shipped CRLM example (``examples/patient-view-crlm.json``) enriched with the patient's other
  Conditions, MedicationRequests and Procedures and with Observations restricted to the codes of the
  ``observations`` template (tens of resources).
* ``unfiltered``: a whole Synthea record (525 resources) as an EHR that over-sends: every resource
  type a template names goes under its key as :func:`cds_service.cli.request_from_bundle` puts it
  (all 317 Observations, not only the template's codes), and the types no template names
  (Encounter, Claim, ExplanationOfBenefit, DiagnosticReport, Immunization, CarePlan, Organization,
  Practitioner) travel in the ``conditions`` searchset as ``search.mode: include`` entries, as a
  server answering with ``_include``/``_revinclude`` would send them. As a FHIR server returns a
  stored record, fullUrls are ``https://ehr.example.org/fhir/Type/id`` and Synthea's ``urn:uuid:``
  references become ``Type/id``.
* ``scale-N``: the same unfiltered shape with exactly N resources: a spread sample of the record
  below 525, and above it copies of the record's resources with new ids and fullUrls whose references
  point at the copies of the same round (the Patient stays one).
"""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service.cli import request_from_bundle
from cds_service.services import ServiceDefinition

Json = dict[str, Any]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "patient-view-crlm.json"
PROFILE_EXAMPLES = ROOT / "fhir_profiles" / "examples"
DEFAULT_SYNTHEA = ROOT.parent / "shared" / "data" / "synthea-crc"
SYNTHEA_PATIENT = "Whitney_Ortiz_"
COPY_NAMESPACE = uuid.UUID("a3c1b1e4-5d0e-4c55-8f7e-2b9d6f0e7c11")
EHR_BASE = "https://ehr.example.org/fhir"
HOOK_INSTANCE = "00000000-0000-4000-8000-000000000000"
"""Placeholder hookInstance in every body; the client puts a fresh uuid of the same length in each request."""


@dataclass(frozen=True, slots=True)
class Payload:
    """One request body and what it holds.

    Attributes:
        name: Short name used in the tables.
        description: What the prefetch holds.
        resources: Number of FHIR resources in the prefetch (Bundles not counted).
        body: The serialised CDS Hooks request (compact JSON, UTF-8).
    """

    name: str
    description: str
    resources: int
    body: bytes


def synthea_record(directory: Path) -> Path:
    """The Whitney Ortiz Synthea bundle (525 resources) in ``directory``."""
    found = sorted(directory.glob(f"{SYNTHEA_PATIENT}*.json"))
    if not found:
        raise FileNotFoundError(
            f"no {SYNTHEA_PATIENT}*.json in {directory}; pass --synthea DIR (the shared synthea-crc data)"
        )
    return found[0]


def _entries(bundle: Json) -> list[tuple[str | None, Json]]:
    return [(e.get("fullUrl"), e["resource"]) for e in bundle.get("entry", []) if "resource" in e]


def _body(request: Json) -> bytes:
    request = {"hookInstance": HOOK_INSTANCE, **{k: v for k, v in request.items() if k != "hookInstance"}}
    return json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode()


def count_resources(prefetch: Json) -> int:
    """Resources in a prefetch object (entries of Bundles, bare resources; Bundles themselves not)."""
    total = 0
    for value in prefetch.values():
        if isinstance(value, dict) and value.get("resourceType") == "Bundle":
            total += len(value.get("entry", []))
        elif value is not None:
            total += 1
    return total


# --------------------------------------------------------------------------------------------------
# (a) typical filtered prefetch
# --------------------------------------------------------------------------------------------------


def _template_codes(service: ServiceDefinition) -> set[str]:
    """Code values of the ``observations`` template's ``code=`` parameter (a token with a ``system|``
    prefix is reduced to its code, as a FHIR server matching it would)."""
    query = service.prefetch["observations"].split("?", 1)[1]
    codes = next(p for p in query.split("&") if p.startswith("code="))[len("code=") :]
    return {token.rsplit("|", 1)[-1] for token in codes.split(",")}


def _repoint(resource: Json, patient: str, new_id: str) -> Json:
    """A copy of ``resource`` with a new id, about ``patient``."""
    copied = copy.deepcopy(resource)
    copied["id"] = new_id
    for key in ("subject", "patient"):
        if key in copied:
            copied[key] = {"reference": patient}
    return copied


def _searchset(resources: list[Json], base: str) -> Json:
    entries = [
        {"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": "match"}}
        for r in resources
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries), "entry": entries}


def _cea(patient: str, index: int, when: str, value: float) -> Json:
    return {
        "resourceType": "Observation",
        "id": f"cea-{index}",
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                        "code": "laboratory",
                    }
                ]
            }
        ],
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": "2039-6",
                    "display": "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma",
                }
            ]
        },
        "subject": {"reference": patient},
        "effectiveDateTime": when,
        "valueQuantity": {
            "value": value,
            "unit": "ng/mL",
            "system": "http://unitsofmeasure.org",
            "code": "ng/mL",
        },
    }


def typical(service: ServiceDefinition, synthea: Path) -> Payload:
    """(a) The CRLM example enriched to a realistic filtered prefetch (tens of resources)."""
    request: Json = json.loads(EXAMPLE.read_text("utf-8"))
    prefetch: Json = request["prefetch"]
    patient = f"Patient/{request['context']['patientId']}"
    base = "http://ehr.example.org/fhir"
    record = [r for _, r in _entries(json.loads(synthea.read_text("utf-8")))]

    def of_type(resource_type: str) -> list[Json]:
        return [r for r in record if r["resourceType"] == resource_type]

    def display(resource: Json) -> str:
        concept = resource.get("code") or resource.get("medicationCodeableConcept") or {}
        return " ".join(str(c.get("display", "")) for c in concept.get("coding", [])).lower()

    conditions = [
        _repoint(r, patient, f"comorbidity-{i}")
        for i, r in enumerate(of_type("Condition"))
        if "malignant" not in display(r)
    ]
    procedures = [
        _repoint(r, patient, f"procedure-{i}")
        for i, r in enumerate(of_type("Procedure"))
        if "resection" not in display(r) and "portal vein" not in display(r)
    ]
    medications = [
        _repoint(r, patient, f"medication-{i}") for i, r in enumerate(of_type("MedicationRequest"))
    ]
    wanted = _template_codes(service)
    results: list[Json] = []
    for name in ("Bundle-crlm-single-gene-results.json", "Bundle-crlm-local-data-items.json"):
        bundle = json.loads((PROFILE_EXAMPLES / name).read_text("utf-8"))
        for _, resource in _entries(bundle):
            codes = {c.get("code") for c in resource.get("code", {}).get("coding", [])}
            if (
                resource["resourceType"] == "Observation"
                and codes & wanted
                and "margin" not in resource["id"]
            ):
                results.append(_repoint(resource, patient, f"result-{resource['id']}"))
    series = [("2025-06-02", 12.4), ("2025-08-04", 18.9), ("2025-10-06", 25.1), ("2025-12-01", 31.7)]
    series += [("2026-02-02", 38.0), ("2026-04-06", 44.6)]
    results += [_cea(patient, i, when, value) for i, (when, value) in enumerate(series)]

    prefetch["conditions"]["entry"] += _searchset(conditions, base)["entry"]
    prefetch["conditions"]["total"] = len(prefetch["conditions"]["entry"])
    prefetch["observations"]["entry"] += _searchset(results, base)["entry"]
    prefetch["observations"]["total"] = len(prefetch["observations"]["entry"])
    prefetch["medicationRequests"] = _searchset(medications, base)
    prefetch["procedures"] = _searchset(procedures, base)
    resources = count_resources(prefetch)
    return Payload(
        "typical",
        "(a) filtered: CRLM example + comorbidities, results of the template's codes, meds, procedures",
        resources,
        _body(request),
    )


# --------------------------------------------------------------------------------------------------
# (b) unfiltered Synthea record and (c) the scale series
# --------------------------------------------------------------------------------------------------


def _template_types(service: ServiceDefinition) -> set[str]:
    types = {t.split("?", 1)[0].split("/", 1)[0] for t in service.prefetch.values()}
    return types | ({"Medication"} if any(t.startswith("Medication") for t in types) else set())


def as_served(entries: list[tuple[str | None, Json]], base: str = EHR_BASE) -> list[tuple[str | None, Json]]:
    """The record as a FHIR server returns it once stored: fullUrls ``<base>/Type/id`` and the
    transaction's ``urn:uuid:`` references rewritten to ``Type/id`` (Synthea writes urn:uuid ones).
    """
    mapping = {u: f"{r['resourceType']}/{r['id']}" for u, r in entries if u and u.startswith("urn:uuid:")}
    return [(f"{base}/{r['resourceType']}/{r['id']}", _rewrite(r, mapping)) for _, r in entries]


def unfiltered_request(entries: list[tuple[str | None, Json]], service: ServiceDefinition) -> Json:
    """The request an over-sending EHR makes of a whole record (see the module docstring)."""
    entries = as_served(entries)
    bundle: Json = {"resourceType": "Bundle", "type": "collection", "entry": []}
    bundle["entry"] = [{"fullUrl": u, "resource": r} if u else {"resource": r} for u, r in entries]
    request = request_from_bundle(bundle, service, b"bench")
    named = _template_types(service)
    extra = [
        {**({"fullUrl": u} if u else {}), "resource": r, "search": {"mode": "include"}}
        for u, r in entries
        if r.get("resourceType") not in named
    ]
    conditions = request["prefetch"]["conditions"]
    conditions["entry"] = conditions.get("entry", []) + extra
    return request


def unfiltered(service: ServiceDefinition, synthea: Path) -> Payload:
    """(b) The whole Synthea record, unfiltered."""
    entries = _entries(json.loads(synthea.read_text("utf-8")))
    request = unfiltered_request(entries, service)
    resources = count_resources(request["prefetch"])
    if resources != len(entries):
        raise AssertionError(f"the unfiltered prefetch holds {resources} of {len(entries)} resources")
    return Payload(
        "unfiltered",
        f"(b) unfiltered: the whole Synthea record, {resources} resources",
        resources,
        _body(request),
    )


def _rewrite(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with every ``reference`` found in ``mapping`` replaced (a deep copy)."""
    if isinstance(value, dict):
        return {
            k: (mapping.get(v, v) if k == "reference" and isinstance(v, str) else _rewrite(v, mapping))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_rewrite(v, mapping) for v in value]
    return value


def replicate(entries: list[tuple[str | None, Json]], total: int) -> list[tuple[str | None, Json]]:
    """Exactly ``total`` resources from a record: one Patient plus a spread sample or copies of the rest.

    Copy round ``r`` gives each non-Patient resource the id ``uuid5(id:r)``, the fullUrl
    ``urn:uuid:<that id>`` and rewrites references to the record's resources (by fullUrl or
    ``Type/id``) to their round-``r`` copies, so each round is a consistent copy of the record.
    """
    patients = [(u, r) for u, r in entries if r["resourceType"] == "Patient"]
    others = [(u, r) for u, r in entries if r["resourceType"] != "Patient"]
    wanted = total - len(patients)
    if wanted <= len(others):
        return patients + [others[i * len(others) // wanted] for i in range(wanted)]
    chosen = list(patients) + list(others)
    round_number = 0
    while len(chosen) < total:
        round_number += 1
        ids = {r["id"]: str(uuid.uuid5(COPY_NAMESPACE, f"{r['id']}:{round_number}")) for _, r in others}
        mapping: dict[str, str] = {}
        for full_url, resource in others:
            new_id = ids[resource["id"]]
            mapping[f"{resource['resourceType']}/{resource['id']}"] = f"{resource['resourceType']}/{new_id}"
            if full_url:
                mapping[full_url] = f"urn:uuid:{new_id}"
        for full_url, resource in others[: total - len(chosen)]:
            copied = _rewrite(resource, mapping)
            copied["id"] = ids[resource["id"]]
            chosen.append((f"urn:uuid:{copied['id']}" if full_url else None, copied))
    return chosen


def scale(service: ServiceDefinition, synthea: Path, total: int) -> Payload:
    """(c) The unfiltered shape with exactly ``total`` resources."""
    entries = replicate(_entries(json.loads(synthea.read_text("utf-8"))), total)
    request = unfiltered_request(entries, service)
    resources = count_resources(request["prefetch"])
    if resources != total:
        raise AssertionError(f"scale payload holds {resources} resources, not {total}")
    return Payload(f"scale-{total}", f"(c) unfiltered, {total} resources", resources, _body(request))

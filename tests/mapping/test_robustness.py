"""Status handling, conflicts, other patients, invalid resources and malformed prefetch are handled."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cds_service import fhir_codes as fc
from cds_service import fhir_mapping
from cds_service.core.facts import BrafStatus, MmrStatus, MutationStatus, PrimarySite
from cds_service.fhir_mapping import map_patient
from tests.mapping.support import (
    Json,
    bundle,
    cc,
    condition,
    crashed,
    liver,
    loinc,
    notes,
    observation,
    patient,
    primary,
    procedure,
    run,
    snomed,
)

VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


@pytest.mark.parametrize("status", ["entered-in-error", "refuted"])
def test_rejected_conditions_are_ignored(status: str) -> None:
    """Entered-in-error and refuted Conditions are not used, and a note names them."""
    facts = run(
        primary("crc", verificationStatus=cc(VERIFICATION, status)),
        liver("lm", verificationStatus=cc(VERIFICATION, status)),
    )
    assert facts.primary is None
    assert facts.liver_metastases is None
    ignored = {s for n in notes(facts, "ignored") for s in n.sources}
    assert ignored == {"Condition/crc", "Condition/lm"}


@pytest.mark.parametrize("status", ["provisional", "differential", "unconfirmed"])
def test_unconfirmed_liver_metastases_are_not_confirmed(status: str) -> None:
    """Suspected liver metastases are not treated as confirmed; a note says so."""
    facts = run(primary(), liver("lm", verificationStatus=cc(VERIFICATION, status)))
    assert facts.liver_metastases is None
    assert [n.sources for n in notes(facts, "ignored")] == [("Condition/lm",)]


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
def test_rejected_observations_are_ignored(status: str) -> None:
    """Entered-in-error and cancelled Observations are not used."""
    kras = observation("k", loinc("85509-8"), status=status, valueString="G12D detected")
    facts = run(primary(), kras)
    assert facts.molecular.kras is None
    assert [n.sources for n in notes(facts, "ignored")] == [("Observation/k",)]


def test_registered_observation_has_no_result_yet() -> None:
    """A registered (not yet resulted) Observation is not a result."""
    facts = run(
        observation("c", loinc("2039-6"), status="registered", valueQuantity={"value": 3, "unit": "ng/mL"})
    )
    assert facts.cea_ng_ml is None


def test_preliminary_result_is_used_only_alone_and_flagged() -> None:
    """A preliminary result is used when nothing else exists, flagged on the fact and in a note."""
    facts = run(primary(), observation("k", loinc("85509-8"), status="preliminary", valueString="G12D"))
    assert facts.molecular.kras is not None
    assert facts.molecular.kras.value is MutationStatus.MUTANT
    assert facts.molecular.kras.note is not None
    assert "preliminary" in facts.molecular.kras.note
    assert [n.sources for n in notes(facts, "preliminary")] == [("Observation/k",)]


def test_final_result_wins_over_newer_preliminary() -> None:
    """A final result is preferred to a newer preliminary one."""
    final = observation(
        "f", loinc("2039-6"), when="2024-01-01", valueQuantity={"value": 3.0, "unit": "ng/mL"}
    )
    preliminary = observation(
        "p",
        loinc("2039-6"),
        when="2024-02-01",
        status="preliminary",
        valueQuantity={"value": 9.0, "unit": "ng/mL"},
    )
    facts = run(final, preliminary)
    assert facts.cea_ng_ml is not None
    assert (facts.cea_ng_ml.value, facts.cea_ng_ml.sources, facts.cea_ng_ml.note) == (
        3.0,
        ("Observation/f",),
        None,
    )
    assert notes(facts, "preliminary") == []


@pytest.mark.parametrize(
    ("resource", "label"),
    [
        pytest.param(
            procedure("r", snomed("359571009"), status="not-done"), "not-done", id="procedure-not-done"
        ),
        pytest.param(
            procedure("r", snomed("359571009"), status="entered-in-error"),
            "entered-in-error",
            id="procedure-error",
        ),
    ],
)
def test_procedures_that_did_not_happen_are_not_resections(resource: Json, label: str) -> None:
    """Only completed procedures count as a resection."""
    facts = run(primary(), resource)
    assert facts.primary is not None
    assert facts.primary.resected is None, label


@pytest.mark.parametrize(
    ("status", "intent"),
    [
        ("cancelled", "order"),
        ("entered-in-error", "order"),
        ("draft", "order"),
        ("active", "plan"),
        ("active", "proposal"),
    ],
)
def test_orders_that_are_not_exposures(status: str, intent: str) -> None:
    """Cancelled, erroneous or draft orders and plans/proposals are not exposures."""
    order = {
        "resourceType": "MedicationRequest",
        "id": "m",
        "status": status,
        "intent": intent,
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": cc(fc.RXNORM, "32592"),
        "authoredOn": "2024-01-01",
    }
    assert run(order).therapies == ()


def test_conflicting_ras_results_use_the_latest_and_name_both() -> None:
    """Two KRAS results that disagree: the most recent is used and a conflict note names both."""
    old = observation("k1", loinc("85509-8"), when="2023-05-01", valueString="G12D detected")
    new = observation(
        "k2", loinc("85509-8"), when="2024-05-01", valueCodeableConcept=cc(fc.LOINC, "LA11883-8")
    )
    facts = run(primary(), old, new)
    assert facts.molecular.kras is not None
    assert (facts.molecular.kras.value, facts.molecular.kras.sources) == (
        MutationStatus.WILD_TYPE,
        ("Observation/k2",),
    )
    conflicts = notes(facts, "conflict")
    assert len(conflicts) == 1
    assert set(conflicts[0].sources) == {"Observation/k1", "Observation/k2"}
    assert "KRAS" in conflicts[0].message


def test_conflict_between_msi_and_mmr_immunostains() -> None:
    """MSI-H and a proficient MMR panel disagree: a conflict note names both sources."""
    msi = observation(
        "msi", loinc("81695-9"), when="2024-01-01", valueCodeableConcept=cc(fc.LOINC, "LA26203-2")
    )
    panel = observation(
        "ihc",
        cc(None, None, text="MMR IHC"),
        when="2024-02-01",
        component=[
            {"code": loinc("81693-4"), "valueString": "intact"},
            {"code": loinc("81694-2"), "valueString": "intact"},
        ],
    )
    facts = run(primary(), msi, panel)
    assert facts.molecular.mmr is not None
    assert facts.molecular.mmr.value is MmrStatus.PROFICIENT
    assert {s for n in notes(facts, "conflict") for s in n.sources} == {"Observation/msi", "Observation/ihc"}


def test_agreeing_results_are_not_a_conflict() -> None:
    """Two BRAF V600E results agree: no conflict note."""
    facts = run(
        primary(),
        observation("b1", loinc("53844-7"), when="2023-01-01", valueString="V600E detected"),
        observation(
            "b2", loinc("85299-6"), when="2024-01-01", valueCodeableConcept=cc(fc.SNOMED, "10828004")
        ),
    )
    assert facts.molecular.braf is not None
    assert facts.molecular.braf.value is BrafStatus.V600E
    assert notes(facts, "conflict") == []


def test_changing_measurements_are_not_conflicts_but_same_day_disagreement_is() -> None:
    """CEA over time is a series (latest used); two different ECOG values on one day are a conflict."""
    facts = run(
        observation("c1", loinc("2039-6"), when="2024-01-01", valueQuantity={"value": 30, "unit": "ng/mL"}),
        observation("c2", loinc("2039-6"), when="2024-03-01", valueQuantity={"value": 4, "unit": "ng/mL"}),
        observation("e1", loinc("89247-1"), when="2024-03-01", valueInteger=1),
        observation("e2", loinc("89247-1"), when="2024-03-01", valueInteger=3),
    )
    assert facts.cea_ng_ml is not None
    assert facts.cea_ng_ml.value == 4
    assert [set(n.sources) for n in notes(facts, "conflict")] == [{"Observation/e1", "Observation/e2"}]


def test_conflicting_primary_sites_are_noted() -> None:
    """Two colorectal Conditions with different sub-sites give a conflict note."""
    facts = run(
        primary("a", cc(fc.ICD10CM, "C18.2")), primary("b", cc(fc.ICD10CM, "C20"), onset="2024-02-01")
    )
    assert facts.primary is not None
    assert facts.primary.condition.sources == ("Condition/a", "Condition/b")
    assert facts.primary.site is not None
    assert facts.primary.site.value is PrimarySite.ASCENDING_COLON
    assert {s for n in notes(facts, "conflict") for s in n.sources} == {"Condition/a", "Condition/b"}


def test_resources_of_other_patients_are_ignored() -> None:
    """With a patient id, another patient's Patient and clinical resources are ignored with a note."""
    other = [
        patient("p2"),
        liver("lm2", pid="p2"),
        observation("k2", loinc("85509-8"), pid="p2", valueString="G12D"),
    ]
    document = bundle(patient(), primary(), *other)
    facts = map_patient([document], patient_id="p1")
    assert facts.patient == "Patient/p1"
    assert facts.liver_metastases is None
    assert facts.molecular.kras is None
    ignored = notes(facts, "ignored")
    assert len(ignored) == 1
    assert set(ignored[0].sources) == {"Patient/p2", "Condition/lm2", "Observation/k2"}
    assert "p2" not in ignored[0].message


def test_without_patient_id_the_single_patient_anchors() -> None:
    """Without a patient id the one Patient in the data decides; other subjects are ignored."""
    document = bundle(patient(), primary(), liver("lm2", pid="p2"))
    facts = map_patient([document], patient_id=None)
    assert facts.patient == "Patient/p1"
    assert facts.primary is not None
    assert facts.liver_metastases is None


@pytest.mark.parametrize(
    "reference",
    [
        pytest.param("urn:uuid:5c6e0a5e-0d3a-4c4f-9d4c-000000000001", id="urn-uuid-fullurl"),
        pytest.param("https://ehr.example.org/fhir/Patient/p1", id="absolute-url"),
        pytest.param("Patient/p1/_history/3", id="versioned"),
    ],
)
def test_subject_reference_forms(reference: str) -> None:
    """A subject given as the Patient's fullUrl, an absolute URL or a versioned reference is the patient."""
    crc = primary()
    crc["subject"] = {"reference": reference}
    document = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:5c6e0a5e-0d3a-4c4f-9d4c-000000000001", "resource": patient()},
            {"fullUrl": "urn:uuid:5c6e0a5e-0d3a-4c4f-9d4c-000000000002", "resource": crc},
        ],
    }
    facts = map_patient([document], patient_id="p1")
    assert facts.primary is not None
    assert notes(facts, "ignored") == []


def test_invalid_resource_is_skipped_with_a_note() -> None:
    """One invalid relevant resource is skipped with an invalid-resource note; the rest is mapped."""
    broken = liver("lm", onsetDateTime="2024-13-45")
    extra = observation("k", loinc("85509-8"), valueString="G12D", unknownElement=True)
    facts = run(primary(), broken, extra)
    assert facts.primary is not None
    assert facts.liver_metastases is None
    assert facts.molecular.kras is None
    assert {n.sources for n in notes(facts, "invalid-resource")} == {("Condition/lm",), ("Observation/k",)}
    assert all("2024-13-45" not in n.message for n in facts.data_notes)


def test_invalid_referenced_medication_skips_the_exposure() -> None:
    """An order whose bundled Medication is invalid gives no exposure and an invalid-resource note."""
    medication = {
        "resourceType": "Medication",
        "id": "med",
        "code": cc(fc.RXNORM, "32592"),
        "madeUp": 1,
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "m",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationReference": {"reference": "Medication/med"},
    }
    facts = run(medication, order)
    assert facts.therapies == ()
    assert [n.sources for n in notes(facts, "invalid-resource")] == [("Medication/med",)]


def test_unrelated_resources_are_never_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    """An invalid vital sign or claim is not relevant: never validated, no note."""
    calls: list[str] = []
    real = fhir_mapping._validate

    def counting(resource: Json) -> str | None:
        calls.append(str(resource.get("resourceType")))
        return real(resource)

    monkeypatch.setattr(fhir_mapping, "_validate", counting)
    vital = observation("bp", loinc("85354-9"), effectiveDateTime="not a date")
    claim = {"resourceType": "Claim", "id": "c", "nonsense": True}
    facts = run(primary(), vital, claim)
    assert calls == ["Condition", "Patient"]
    assert facts.data_notes == ()


MALFORMED: list[Any] = [
    None,
    {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found"}]},
    "not json",
    '{"resourceType": "Patient", "id": "p1"}',
    42,
    ["a", "list"],
    {"no": "resourceType"},
    {"resourceType": "Bundle", "entry": "not a list"},
    {
        "resourceType": "Bundle",
        "entry": [1, {"resource": 5}, {"request": {"method": "DELETE"}}, {"resource": {"x": 1}}],
    },
    {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Condition", "code": 7, "subject": []}}],
    },
    {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Observation", "code": {"coding": {"a": 1}}}}],
    },
    {"resourceType": "Condition", "id": "x", "code": {"coding": [{"system": 5, "code": ["C18.7"]}]}},
    {
        "resourceType": "Observation",
        "status": "final",
        "code": loinc("2039-6"),
        "valueQuantity": {"value": "NaN"},
    },
]


@pytest.mark.parametrize("document", MALFORMED)
def test_malformed_documents_never_raise(document: Any) -> None:
    """Garbage in a prefetch value becomes a note (or nothing), never an exception."""
    facts = map_patient([document, bundle(patient(), primary())], patient_id="p1")
    assert not crashed(facts)
    assert facts.primary is not None


def test_dstu2_resources_become_invalid_resource_notes() -> None:
    """DSTU2 shapes (the sandbox's default server) are skipped as invalid R4, never mis-read or raised."""
    dstu2 = {
        "resourceType": "Condition",
        "id": "old",
        "patient": {"reference": "Patient/p1"},
        "code": cc(fc.ICD10CM, "C18.7"),
        "verificationStatus": "confirmed",
        "clinicalStatus": "active",
    }
    facts = run(dstu2)
    assert facts.primary is None
    assert [n.sources for n in notes(facts, "invalid-resource")] == [("Condition/old",)]


def test_non_iterable_documents_never_raise() -> None:
    """Even a documents argument that cannot be iterated gives facts with a note."""
    facts = map_patient(5, patient_id="p1")  # type: ignore[arg-type]
    assert facts.primary is None
    assert len(facts.data_notes) == 1


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8))
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
FIELDS = [
    "code",
    "subject",
    "status",
    "valueQuantity",
    "component",
    "bodySite",
    "effectiveDateTime",
    "focus",
    "medicationReference",
    "medicationCodeableConcept",
    "verificationStatus",
    "contained",
    "extension",
]


@settings(max_examples=150, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from(
        ["Condition", "Observation", "Procedure", "MedicationRequest", "MedicationStatement"]
    ),
    replacements=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUE, max_size=4),
)
def test_corrupted_relevant_resources_never_raise(kind: str, replacements: dict[str, Any]) -> None:
    """A relevant resource with arbitrary JSON in its fields never makes the mapping fail."""
    templates: dict[str, Json] = {
        "Condition": liver("x"),
        "Observation": observation("x", loinc("85509-8"), valueString="G12D"),
        "Procedure": procedure("x", snomed("71273005")),
        "MedicationRequest": {
            "resourceType": "MedicationRequest",
            "id": "x",
            "status": "active",
            "intent": "order",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": cc(fc.RXNORM, "32592"),
        },
        "MedicationStatement": {
            "resourceType": "MedicationStatement",
            "id": "x",
            "status": "completed",
            "subject": {"reference": "Patient/p1"},
            "medicationCodeableConcept": cc(fc.RXNORM, "32592"),
        },
    }
    resource = {**templates[kind], **replacements}
    facts = map_patient([bundle(patient(), primary(), resource)], patient_id="p1")
    assert not crashed(facts)
    assert facts.primary is not None


def test_prefetch_shapes_searchset_bare_resources_and_null() -> None:
    """Searchset bundles (with included and outcome entries), bare resources and null all map together."""
    searchset = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "fullUrl": "https://ehr.example.org/fhir/Condition/crc",
                "resource": primary(),
                "search": {"mode": "match"},
            },
            {"resource": {"resourceType": "OperationOutcome", "issue": []}, "search": {"mode": "outcome"}},
        ],
    }
    observations = {"resourceType": "Bundle", "type": "searchset", "total": 0}
    documents = [patient(), searchset, observations, None, liver(), patient()]
    facts = map_patient(documents, patient_id="p1")
    assert facts.primary is not None
    assert facts.liver_metastases is not None
    assert facts.birth_date == date(1960, 5, 1)
    assert facts.data_notes == ()


def test_synthea_stage_iv_code_needs_the_compatibility_rule() -> None:
    """94260004 is a data note without the Synthea rule, and a stage IV colon primary with it."""
    synthea = primary("crc", snomed("94260004"))
    plain = run(synthea)
    assert plain.primary is None
    assert [n.sources for n in notes(plain, "unrecognised-code")] == [("Condition/crc",)]
    compat = run(synthea, synthea_compat=True)
    assert compat.primary is not None
    assert compat.primary.stage_group is not None
    assert compat.primary.stage_group.value == "IV"
    assert compat.primary.site is None
    assert compat.primary.condition.note is not None
    assert "Synthea" in compat.primary.condition.note


def test_liver_metastases_of_another_primary_are_not_attributed() -> None:
    """Liver metastases linked to a breast primary are not colorectal liver metastases."""
    breast = condition("breast", cc(fc.ICD10CM, "C50.911"))
    related = {
        "url": "http://hl7.org/fhir/StructureDefinition/condition-related",
        "valueReference": {"reference": "Condition/breast"},
    }
    facts = run(primary(), breast, liver("lm", extension=[related]))
    assert facts.liver_metastases is None
    assert {s for n in notes(facts, "ignored") for s in n.sources} == {"Condition/lm", "Condition/breast"}
    assert [f.sources for f in facts.other_primary_cancers] == [("Condition/breast",)]


def test_observations_about_another_cancer_are_not_used() -> None:
    """A HER2 result focused on a breast primary is not the colorectal tumour's HER2."""
    breast = condition("breast", cc(fc.ICD10CM, "C50.911"))
    her2 = observation("h", loinc("18474-7"), valueString="3+", focus=[{"reference": "Condition/breast"}])
    facts = run(primary(), breast, her2)
    assert facts.molecular.her2 is None
    assert [n.sources for n in notes(facts, "ignored")] == [("Observation/h",)]

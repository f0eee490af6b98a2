"""Records the mapping recognises but cannot read, and medication records of unknown drug, become
typed facts (``PatientFacts.unreadable`` and ``.unidentified_medications``), so the decision core can
tell "not recorded" from "not readable" without parsing data-note text."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service import fhir_codes as fc
from cds_service.core.facts import Agent, RecordKind
from tests.mapping.support import Json, cc, condition, crashed, icd10, liver, notes, primary, run, snomed

BAD_DATE = "2026-13-01"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
ONDANSETRON = cc(fc.RXNORM, "26225", "ondansetron")


@pytest.mark.parametrize(
    ("resource", "kind"),
    [
        pytest.param(primary(onsetDateTime=BAD_DATE), RecordKind.COLORECTAL_PRIMARY, id="primary"),
        pytest.param(liver(onsetDateTime=BAD_DATE), RecordKind.LIVER_METASTASES, id="liver-metastases"),
        pytest.param(
            condition("x", snomed("94391008"), onset=BAD_DATE), RecordKind.EXTRAHEPATIC_METASTASIS, id="lung"
        ),
        pytest.param(
            condition("x", icd10("C50.911"), onset=BAD_DATE), RecordKind.OTHER_PRIMARY_CANCER, id="breast"
        ),
        pytest.param(
            condition("x", snomed("81060008"), onset=BAD_DATE),
            RecordKind.PRIMARY_COMPLICATION,
            id="obstruction",
        ),
        pytest.param(
            condition("x", snomed("19943007"), onset=BAD_DATE), RecordKind.CIRRHOSIS, id="cirrhosis"
        ),
    ],
)
def test_invalid_relevant_condition_is_an_unreadable_fact(resource: Json, kind: RecordKind) -> None:
    """A Condition recognised by its code but not valid FHIR is skipped with a note and kept as an
    unreadable fact naming its kind, its reference and the problem found."""
    facts = run(resource)
    ref = f"Condition/{resource['id']}"
    assert not crashed(facts)
    assert [(f.value, f.sources, f.effective) for f in facts.unreadable] == [(kind, (ref,), None)]
    note = facts.unreadable[0].note
    assert note is not None and note.startswith("not valid FHIR R4") and "onsetDateTime" in note
    assert [n.sources for n in notes(facts, "invalid-resource")] == [(ref,)]
    assert BAD_DATE not in note


@pytest.mark.parametrize(
    "resources",
    [
        pytest.param([primary(), liver()], id="valid"),
        pytest.param(
            [primary(onsetDateTime=BAD_DATE, verificationStatus=cc(VERIFICATION, "entered-in-error"))],
            id="entered-in-error",
        ),
        pytest.param(
            [primary(onsetDateTime=BAD_DATE, verificationStatus=cc(VERIFICATION, "unconfirmed"))],
            id="unconfirmed",
        ),
        pytest.param([condition("x", snomed("38341003"), onset=BAD_DATE)], id="irrelevant-hypertension"),
        pytest.param(
            [primary(onsetDateTime=BAD_DATE, subject={"reference": "Patient/other"})], id="other-patient"
        ),
    ],
)
def test_no_unreadable_fact_for_records_that_would_not_count(resources: list[Json]) -> None:
    """Valid records, records that would be ignored even if valid, irrelevant ones and other patients'
    records give no unreadable fact."""
    assert run(*resources).unreadable == ()


def test_unreadable_primary_next_to_a_valid_liver_condition() -> None:
    """The reviewer's case: an invalid primary leaves no primary, the liver metastases, and the fact."""
    facts = run(primary(onsetDateTime=BAD_DATE), liver())
    assert facts.primary is None
    assert facts.liver_metastases is not None
    assert [f.value for f in facts.unreadable] == [RecordKind.COLORECTAL_PRIMARY]


def _order(rid: str = "m", **extra: Any) -> Json:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2026-05-01",
        **extra,
    }


def _administration(rid: str = "a", **extra: Any) -> Json:
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2026-05-02T09:00:00Z",
        **extra,
    }


MISSING = {"medicationReference": {"reference": "Medication/x"}}
INVALID_MEDICATION = {"resourceType": "Medication", "id": "x", "code": cc(fc.RXNORM, "32592"), "madeUp": 1}


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [_order(**MISSING)], [("Medication/x", "MedicationRequest/m", date(2026, 5, 1))], id="order"
        ),
        pytest.param(
            [_administration(**MISSING)],
            [("Medication/x", "MedicationAdministration/a", date(2026, 5, 2))],
            id="administration",
        ),
        pytest.param(
            [_order(medicationReference={"reference": "#gone"})],
            [("#gone", "MedicationRequest/m", date(2026, 5, 1))],
            id="contained-missing",
        ),
        pytest.param(
            [
                _order(
                    **MISSING,
                    dispenseRequest={"validityPeriod": {"start": "2026-05-01", "end": "2026-08-01"}},
                )
            ],
            [("Medication/x", "MedicationRequest/m", date(2026, 8, 1))],
            id="period-dated-by-its-end",
        ),
        pytest.param(
            [INVALID_MEDICATION, _order(**MISSING)],
            [("Medication/x", "MedicationRequest/m", date(2026, 5, 1))],
            id="medication-not-valid",
        ),
        pytest.param(
            [_order(**MISSING, authoredOn=BAD_DATE)],
            [("Medication/x", "MedicationRequest/m", None)],
            id="record-not-valid",
        ),
        pytest.param(
            [_order(medicationReference={"reference": "Medication/x", "display": "oxaliplatin"})],
            [],
            id="display-names-it",
        ),
        pytest.param(
            [_order(medicationReference={"reference": "Medication/x", "display": "ondansetron"})],
            [],
            id="display-non-cancer",
        ),
        pytest.param([_order(**MISSING, status="cancelled")], [], id="cancelled"),
        pytest.param([_order(**MISSING, intent="proposal")], [], id="proposal"),
        pytest.param([_order(medicationCodeableConcept=ONDANSETRON)], [], id="coded-non-cancer"),
    ],
)
def test_medication_records_of_unknown_drug(resources: list[Json], expected: list[tuple[Any, ...]]) -> None:
    """A medication record whose Medication was not supplied (or is not valid FHIR) is kept with the
    reference as recorded, its own reference and the last date it covers; a record whose drug is
    named, or that is not an exposure, is not."""
    facts = run(*resources)
    assert not crashed(facts)
    assert [(f.value, *f.sources, f.effective) for f in facts.unidentified_medications] == expected
    assert all(f.note for f in facts.unidentified_medications)


def test_what_to_fix_is_noted_for_each_unknown_drug() -> None:
    """The note says whether to record the drug or correct an invalid Medication or record."""
    missing = run(_order(**MISSING)).unidentified_medications[0].note or ""
    invalid = run(INVALID_MEDICATION, _order(**MISSING)).unidentified_medications[0].note or ""
    broken = run(_order(**MISSING, authoredOn=BAD_DATE)).unidentified_medications[0].note or ""
    assert "not supplied" in missing and "record which drug" in missing
    assert "Medication it references is not valid FHIR R4" in invalid
    assert "the record is not valid FHIR R4" in broken


def test_unresolved_records_keep_their_data_note() -> None:
    """The existing data note about Medications that were not supplied is still given."""
    facts = run(_order(**MISSING))
    assert [n.sources for n in notes(facts, "unrecognised-code")] == [("MedicationRequest/m",)]


def test_invalid_record_naming_an_agent_is_unreadable_systemic_therapy() -> None:
    """An invalid order coded as oxaliplatin is not an exposure but an unreadable systemic-therapy
    record, undated (nothing of it is read); an invalid non-cancer order is never validated."""
    oxaliplatin = _order("ox", medicationCodeableConcept=cc(fc.RXNORM, "32592"), authoredOn=BAD_DATE)
    other = _order("on", medicationCodeableConcept=ONDANSETRON, authoredOn=BAD_DATE)
    facts = run(oxaliplatin, other)
    assert facts.therapies == ()
    assert [(f.value, f.sources, f.effective) for f in facts.unreadable] == [
        (RecordKind.SYSTEMIC_THERAPY, ("MedicationRequest/ox",), None)
    ]
    assert [n.sources for n in notes(facts, "invalid-resource")] == [("MedicationRequest/ox",)]


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        pytest.param(
            [
                _order("r", medicationCodeableConcept=cc(fc.RXNORM, "32592")),
                _administration(**MISSING, request={"reference": "MedicationRequest/r"}),
            ],
            [],
            id="administration-of-a-named-order",
        ),
        pytest.param(
            [
                _order("r", **MISSING),
                _administration(
                    medicationCodeableConcept=cc(fc.RXNORM, "32592"),
                    request={"reference": "MedicationRequest/r"},
                ),
            ],
            [],
            id="order-given-as-a-named-administration",
        ),
        pytest.param(
            [
                _order("r", **MISSING),
                _administration(**MISSING, request={"reference": "MedicationRequest/r"}),
            ],
            ["MedicationRequest/r", "MedicationAdministration/a"],
            id="both-unknown",
        ),
    ],
)
def test_unknown_drug_linked_to_a_named_record_is_not_kept(
    resources: list[Json], expected: list[str]
) -> None:
    """A record of unknown drug that refers to, or is referred to by, a record naming its drug is
    identified by that record; two linked records of unknown drug are both kept."""
    facts = run(*resources)
    assert [f.sources[0] for f in facts.unidentified_medications] == expected
    named = {t.agent for t in facts.therapies}
    assert named <= {Agent.OXALIPLATIN}

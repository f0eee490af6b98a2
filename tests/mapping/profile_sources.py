"""What ``fhir_profiles/`` must contain, built from the mapping's code tables; also a regenerator.

The ValueSets, the ``crlm-data-item`` CodeSystem and the README table come from
:mod:`cds_service.fhir_codes`; the StructureDefinitions from its data items; the example bundles are
built here. ``tests/mapping/test_profiles.py`` compares the files on disk with these, so a change to a
code table that is not regenerated fails the tests. Regenerate with::

    .venv/bin/python -m tests.mapping.profile_sources
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cds_service import fhir_codes as fc

REPO = Path(__file__).resolve().parents[2]
PROFILES = REPO / "fhir_profiles"
EXAMPLES = PROFILES / "examples"
README = PROFILES / "README.md"

Json = dict[str, Any]

MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition"
BASE = "https://ehr.example.org/fhir"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def dump(resource: Json) -> str:
    """The file text of a resource: 2-space JSON, UTF-8, final newline."""
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------------------------------
# StructureDefinitions
# --------------------------------------------------------------------------------------------------


def _element(path: str, **rules: Any) -> Json:
    """A differential element."""
    return {"id": path, "path": path, **rules}


def _value_elements(item: fc.DataItem) -> list[Json]:
    """Differential elements constraining ``value[x]`` for a data item."""
    assert item.value is not None
    elements = [
        _element(
            "Observation.value[x]",
            short=item.display,
            min=1,
            type=[{"code": item.value}],
            mustSupport=True,
        )
    ]
    answer_sets = {
        fc.HEPATECTOMY_COMPLEXITY: fc.HEPATECTOMY_COMPLEXITY_ANSWER,
        fc.MDT_RESECTABILITY: fc.MDT_RESECTABILITY_ANSWER,
        fc.RESECTION_MARGIN: fc.RESECTION_MARGIN_ANSWER,
    }
    if item.code in answer_sets:
        elements[0]["binding"] = {"strength": "required", "valueSet": answer_sets[item.code].url}
    if item.value == "Quantity":
        elements.append(_element("Observation.value[x].system", min=1, fixedUri=UCUM))
        elements.append(
            _element(
                "Observation.value[x].code",
                min=1,
                short=f"UCUM unit ({item.unit}{', mm accepted' if item.unit == 'cm' else ''})",
            )
        )
    return elements


def observation_profile(item: fc.DataItem) -> Json:
    """The Observation profile (differential only) for one local data item."""
    elements = [
        _element(
            "Observation",
            short=item.display,
            definition=item.definition,
        ),
        _element(
            "Observation.status",
            mustSupport=True,
            short="final | amended | corrected (preliminary: used only when nothing else exists, flagged)",
        ),
        _element(
            "Observation.code",
            patternCodeableConcept={"coding": [{"system": fc.DATA_ITEM, "code": item.code}]},
            mustSupport=True,
        ),
        _element(
            "Observation.subject",
            min=1,
            type=[
                {"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Patient"]}
            ],
            mustSupport=True,
        ),
        _element("Observation.effective[x]", min=1, mustSupport=True, short="When the assessment was made"),
        _element(
            "Observation.focus",
            short="The mCODE cancer condition (or Tumor) the item is about",
            type=[
                {
                    "code": "Reference",
                    "targetProfile": [
                        f"{MCODE}/mcode-secondary-cancer-condition",
                        f"{MCODE}/mcode-primary-cancer-condition",
                        f"{MCODE}/mcode-tumor",
                    ],
                }
            ],
        ),
    ]
    if item.code == fc.RESECTION_MARGIN:
        elements.append(
            _element(
                "Observation.partOf",
                short="The liver resection Procedure the margin belongs to",
                type=[
                    {
                        "code": "Reference",
                        "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Procedure"],
                    }
                ],
                mustSupport=True,
            )
        )
    elements.extend(_value_elements(item))
    profile_id = f"crlm-{item.code}"
    return {
        "resourceType": "StructureDefinition",
        "id": profile_id,
        "url": f"{fc.CANONICAL_BASE}/StructureDefinition/{profile_id}",
        "version": fc.PACKAGE_VERSION,
        "name": "Crlm" + "".join(part.capitalize() for part in item.code.split("-")),
        "title": f"CRLM {item.display}",
        "status": "active",
        "experimental": False,
        "publisher": "CRLM CDS project",
        "description": (
            f"{item.definition} Code {fc.DATA_ITEM}#{item.code}; read by the CRLM CDS service as described "
            "in fhir_profiles/README.md. Use focus to point at the mCODE SecondaryCancerCondition (liver "
            "metastases) or PrimaryCancerCondition it is about."
        ),
        "fhirVersion": "4.0.1",
        "kind": "resource",
        "abstract": False,
        "type": "Observation",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Observation",
        "derivation": "constraint",
        "differential": {"element": elements},
    }


def meaning_extension() -> Json:
    """The extension carried by ValueSet concepts: what the mapping reads the code as."""
    return {
        "resourceType": "StructureDefinition",
        "id": "crlm-mapped-meaning",
        "url": fc.MEANING_EXTENSION,
        "version": fc.PACKAGE_VERSION,
        "name": "CrlmMappedMeaning",
        "title": "CRLM mapped meaning",
        "status": "active",
        "experimental": False,
        "publisher": "CRLM CDS project",
        "description": (
            "On a concept of a CRLM input ValueSet: the value the CRLM CDS service reads the code as (a "
            "primary site, an extrahepatic site, an agent, an answer ...)."
        ),
        "fhirVersion": "4.0.1",
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": "ValueSet.compose.include.concept"}],
        "type": "Extension",
        "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
        "derivation": "constraint",
        "differential": {
            "element": [
                _element("Extension", short="What the mapping reads the code as", max="1"),
                _element("Extension.extension", max="0"),
                _element("Extension.url", fixedUri=fc.MEANING_EXTENSION),
                _element("Extension.value[x]", min=1, type=[{"code": "code"}]),
            ]
        },
    }


def structure_definitions() -> dict[str, Json]:
    """File name -> StructureDefinition."""
    result = {
        f"StructureDefinition-crlm-{item.code}.json": observation_profile(item)
        for item in fc.DATA_ITEMS
        if item.kind == "observation"
    }
    result["StructureDefinition-crlm-mapped-meaning.json"] = meaning_extension()
    return result


# --------------------------------------------------------------------------------------------------
# Example bundles
# --------------------------------------------------------------------------------------------------


def cc(system: str | None, code: str | None, display: str | None = None, text: str | None = None) -> Json:
    """A CodeableConcept with at most one coding."""
    concept: Json = {}
    if code is not None:
        coding: Json = {"system": system, "code": code}
        if display:
            coding["display"] = display
        concept["coding"] = [coding]
    if text:
        concept["text"] = text
    return concept


def subject(patient: str) -> Json:
    """Reference to the example patient."""
    return {"reference": f"Patient/{patient}"}


def patient(pid: str, birth: str) -> Json:
    """An example Patient."""
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": [f"{MCODE}/mcode-cancer-patient"]},
        "gender": "female",
        "birthDate": birth,
    }


def condition(cid: str, pid: str, code: Json, onset: str, **extra: Any) -> Json:
    """A confirmed, active Condition."""
    return {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": cc(CLINICAL, "active"),
        "verificationStatus": cc(VERIFICATION, "confirmed"),
        "code": code,
        "subject": subject(pid),
        "onsetDateTime": onset,
        **extra,
    }


def observation(oid: str, pid: str, code: Json, when: str, **value: Any) -> Json:
    """A final Observation."""
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": code,
        "subject": subject(pid),
        "effectiveDateTime": when,
        **value,
    }


def quantity(value: float, unit: str) -> Json:
    """A UCUM Quantity."""
    return {"value": value, "unit": unit, "system": UCUM, "code": unit}


def component(code: Json, **value: Any) -> Json:
    """An Observation.component."""
    return {"code": code, **value}


def variant(
    oid: str, pid: str, when: str, gene: Json, present: bool, *components: Json, **extra: Any
) -> Json:
    """A Genomics Reporting variant observation."""
    answer = cc(fc.LOINC, "LA9633-4", "Present") if present else cc(fc.LOINC, "LA9634-2", "Absent")
    return observation(
        oid,
        pid,
        cc(fc.LOINC, "69548-6", "Genetic variant assessment"),
        when,
        meta={"profile": [f"{MCODE}/mcode-genomic-variant"]},
        category=[cc(OBS_CATEGORY, "laboratory")],
        valueCodeableConcept=answer,
        component=[
            component(cc(fc.LOINC, "48018-6", "Gene studied [ID]"), valueCodeableConcept=gene),
            *components,
        ],
        **extra,
    )


def bundle(resources: list[Json], kind: str = "collection") -> Json:
    """A Bundle of ``resources`` with absolute fullUrls (or urn:uuid ones for resources without id)."""
    entries = []
    for resource in resources:
        rid = resource.get("id")
        full_url = f"{BASE}/{resource['resourceType']}/{rid}" if rid else f"urn:uuid:{resource.pop('_uuid')}"
        entry: Json = {"fullUrl": full_url, "resource": resource}
        if kind == "transaction":
            entry["request"] = {"method": "POST", "url": resource["resourceType"]}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


def example_icd10() -> Json:
    """ICD-10-CM coded conditions, LOINC TNM, CEA in ng/mL, ECOG as a LOINC answer, RxNorm orders."""
    p = "crlm-icd10"
    tnm = [
        ("tnm-t", "21905-5", "Primary tumor.clinical [Class] Cancer", cc(fc.AJCC, "cT3", "cT3")),
        ("tnm-n", "21906-3", "Regional lymph nodes.clinical [Class] Cancer", cc(None, None, text="cN1b")),
        ("tnm-m", "21907-1", "Distant metastases.clinical [Class] Cancer", cc(fc.AJCC, "cM1b", "cM1b")),
        ("tnm-stage", "21908-9", "Stage group.clinical Cancer", cc(fc.AJCC, "4B", "IVB")),
    ]
    return bundle(
        [
            patient(p, "1958-04-12"),
            condition(
                "primary",
                p,
                cc(fc.ICD10CM, "C18.7", "Malignant neoplasm of sigmoid colon"),
                "2025-01-20",
                category=[
                    cc("http://terminology.hl7.org/CodeSystem/condition-category", "problem-list-item")
                ],
            ),
            condition(
                "liver-mets",
                p,
                cc(fc.ICD10CM, "C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
                "2025-01-22",
            ),
            condition(
                "lung-mets",
                p,
                cc(fc.ICD10CM, "C78.01", "Secondary malignant neoplasm of right lung"),
                "2025-01-22",
            ),
            condition(
                "obstruction",
                p,
                cc(
                    fc.ICD10CM,
                    "K56.699",
                    "Other intestinal obstruction unspecified as to partial versus complete",
                ),
                "2025-01-15",
            ),
            condition(
                "cirrhosis", p, cc(fc.ICD10CM, "K74.60", "Unspecified cirrhosis of liver"), "2019-06-01"
            ),
            *[
                observation(oid, p, cc(fc.LOINC, code, display), "2025-01-25", valueCodeableConcept=value)
                for oid, code, display, value in tnm
            ],
            observation(
                "cea",
                p,
                cc(fc.LOINC, "2039-6", "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma"),
                "2025-01-21",
                category=[cc(OBS_CATEGORY, "laboratory")],
                valueQuantity=quantity(48.2, "ng/mL"),
            ),
            observation(
                "ecog",
                p,
                cc(fc.LOINC, "89247-1", "ECOG Performance Status score"),
                "2025-01-25",
                valueCodeableConcept=cc(fc.LOINC, "LA9624-3", "Ambulatory and capable of all selfcare"),
            ),
            {
                "resourceType": "MedicationRequest",
                "id": "folfox-oxaliplatin",
                "status": "completed",
                "intent": "order",
                "medicationCodeableConcept": cc(fc.RXNORM, "1736776", "10 ML oxaliplatin 5 MG/ML Injection"),
                "subject": subject(p),
                "authoredOn": "2025-02-03",
            },
            {
                "resourceType": "MedicationRequest",
                "id": "bevacizumab",
                "status": "completed",
                "intent": "order",
                "medicationCodeableConcept": cc(fc.RXNORM, "253337", "Bevacizumab"),
                "subject": subject(p),
                "authoredOn": "2025-02-03",
                "dispenseRequest": {"validityPeriod": {"start": "2025-02-03", "end": "2025-05-12"}},
            },
        ]
    )


def example_mcode() -> Json:
    """mCODE STU4 shapes: generic codes with body sites, SNOMED TNM, variants, tumour size, statuses."""
    p = "crlm-mcode"
    primary = condition(
        "primary",
        p,
        cc(fc.SNOMED, "363346000", "Malignant neoplastic disease"),
        "2024-09-02",
        meta={"profile": [f"{MCODE}/mcode-primary-cancer-condition"]},
        bodySite=[cc(fc.SNOMED, "9040008", "Ascending colon structure")],
    )
    liver = condition(
        "liver-mets",
        p,
        cc(fc.SNOMED, "128462008", "Secondary malignant neoplastic disease"),
        "2024-09-05",
        meta={"profile": [f"{MCODE}/mcode-secondary-cancer-condition"]},
        extension=[
            {
                "url": "http://hl7.org/fhir/StructureDefinition/condition-related",
                "valueReference": {"reference": "Condition/primary"},
            }
        ],
        bodySite=[cc(fc.SNOMED, "10200004", "Liver structure")],
    )
    tumor = {
        "resourceType": "BodyStructure",
        "id": "liver-lesion-1",
        "meta": {"profile": [f"{MCODE}/mcode-tumor"]},
        "identifier": [{"system": f"{BASE}/lesions", "value": "L1"}],
        "location": cc(fc.SNOMED, "10200004", "Liver structure"),
        "patient": subject(p),
    }
    size = observation(
        "tumor-size-1",
        p,
        cc(fc.LOINC, "21889-1", "Size Tumor"),
        "2025-01-10",
        meta={"profile": [f"{MCODE}/mcode-tumor-size"]},
        focus=[{"reference": "BodyStructure/liver-lesion-1"}],
        method=cc(fc.SNOMED, "113091000", "Magnetic resonance imaging"),
        component=[
            component(
                cc(fc.LOINC, "33728-7", "Size.maximum dimension in Tumor"), valueQuantity=quantity(42, "mm")
            )
        ],
    )
    significance = cc(fc.LOINC, "53037-8", "Genetic variation clinical significance [Imp]")
    return bundle(
        [
            patient(p, "1961-11-30"),
            primary,
            liver,
            tumor,
            size,
            observation(
                "tnm-t",
                p,
                cc(fc.SNOMED, "399504009", "cT category"),
                "2024-09-10",
                valueCodeableConcept=cc(fc.AJCC, "cT4a", "cT4a"),
                method=cc(fc.SNOMED, "897275008", "AJCC Cancer Staging Manual 8th edition"),
                focus=[{"reference": "Condition/primary"}],
            ),
            observation(
                "tnm-m",
                p,
                cc(fc.SNOMED, "399387003", "cM category"),
                "2024-09-10",
                valueCodeableConcept=cc(None, None, text="cM1a"),
                focus=[{"reference": "Condition/primary"}],
            ),
            observation(
                "tnm-stage",
                p,
                cc(fc.SNOMED, "399537006", "Clinical TNM stage grouping"),
                "2024-09-10",
                valueCodeableConcept=cc(fc.AJCC, "4A", "IVA"),
                focus=[{"reference": "Condition/primary"}],
            ),
            variant(
                "kras",
                p,
                "2024-09-20",
                cc(fc.HGNC, "HGNC:6407", "KRAS"),
                True,
                component(
                    cc(fc.LOINC, "48005-3", "Amino acid change (pHGVS)"),
                    valueCodeableConcept=cc("http://varnomen.hgvs.org", "NP_004976.2:p.Gly12Asp"),
                ),
                focus=[{"reference": "Condition/primary"}],
            ),
            variant(
                "nras",
                p,
                "2024-09-20",
                cc("http://www.genenames.org/geneId", "HGNC:7989", "NRAS"),
                False,
            ),
            variant(
                "braf",
                p,
                "2024-09-20",
                cc(None, None, text="BRAF"),
                False,
                component(
                    cc(fc.LOINC, "48005-3", "Amino acid change (pHGVS)"),
                    valueCodeableConcept=cc("http://varnomen.hgvs.org", "NP_004324.2:p.Val600Glu"),
                ),
            ),
            variant(
                "tp53-benign",
                p,
                "2024-09-20",
                cc(fc.HGNC, "HGNC:11998", "TP53"),
                True,
                component(
                    cc(fc.LOINC, "48005-3", "Amino acid change (pHGVS)"),
                    valueCodeableConcept=cc("http://varnomen.hgvs.org", "NP_000537.3:p.Pro72Arg"),
                ),
                component(significance, valueCodeableConcept=cc(fc.LOINC, "LA6675-8", "Benign")),
            ),
            observation(
                "msi",
                p,
                cc(
                    fc.LOINC,
                    "81695-9",
                    "Microsatellite instability [Interpretation] in Cancer specimen Qualitative",
                ),
                "2024-09-20",
                valueCodeableConcept=cc(fc.LOINC, "LA14122-8", "Stable"),
            ),
            observation(
                "ecog",
                p,
                cc(fc.LOINC, "89247-1", "ECOG Performance Status score"),
                "2025-01-12",
                meta={"profile": [f"{MCODE}/mcode-ecog-performance-status"]},
                valueInteger=1,
                interpretation=[cc(fc.LOINC, "LA9623-5", "Restricted in physically strenuous activity")],
            ),
            observation(
                "status-liver",
                p,
                cc(fc.LOINC, "97509-4", "Cancer disease progression"),
                "2025-01-12",
                meta={"profile": [f"{MCODE}/mcode-cancer-disease-status"]},
                focus=[{"reference": "Condition/liver-mets"}],
                valueCodeableConcept=cc(fc.SNOMED, "268910001", "Patient's condition improved"),
            ),
            observation(
                "status-primary",
                p,
                cc(fc.LOINC, "97509-4", "Cancer disease progression"),
                "2025-01-12",
                meta={"profile": [f"{MCODE}/mcode-cancer-disease-status"]},
                focus=[{"reference": "Condition/primary"}],
                valueCodeableConcept=cc(fc.SNOMED, "359746009", "Patient's condition stable"),
            ),
            {
                "resourceType": "Procedure",
                "id": "hemicolectomy",
                "meta": {"profile": [f"{MCODE}/mcode-cancer-related-surgical-procedure"]},
                "status": "completed",
                "code": cc(fc.SNOMED, "359571009", "Right hemicolectomy"),
                "subject": subject(p),
                "performedDateTime": "2024-09-25",
                "reasonReference": [{"reference": "Condition/primary"}],
            },
            {
                "resourceType": "Procedure",
                "id": "hepatectomy",
                "meta": {"profile": [f"{MCODE}/mcode-cancer-related-surgical-procedure"]},
                "status": "completed",
                "code": cc(fc.SNOMED, "71273005", "Partial hepatectomy"),
                "subject": subject(p),
                "performedDateTime": "2025-02-20",
                "reasonReference": [{"reference": "Condition/liver-mets"}],
                "outcome": cc(fc.DATA_ITEM, "margin-r1", "R1"),
            },
            {
                "resourceType": "MedicationAdministration",
                "id": "oxaliplatin-c1",
                "meta": {"profile": [f"{MCODE}/mcode-cancer-related-medication-administration"]},
                "status": "completed",
                "medicationCodeableConcept": {
                    "coding": [
                        {"system": fc.ATC, "code": "L01XA03", "display": "oxaliplatin"},
                        {
                            "system": fc.RXNORM,
                            "code": "1736776",
                            "display": "10 ML oxaliplatin 5 MG/ML Injection",
                        },
                    ]
                },
                "subject": subject(p),
                "effectiveDateTime": "2024-10-14",
            },
            {
                "resourceType": "Medication",
                "id": "de-gramont",
                "code": cc(None, None, text="Modified de Gramont"),
                "ingredient": [
                    {"itemCodeableConcept": cc(fc.RXNORM, "4492", "Fluorouracil")},
                    {"itemCodeableConcept": cc(fc.RXNORM, "1803932", "Leucovorin 100 MG Injection")},
                ],
            },
            {
                "resourceType": "MedicationRequest",
                "id": "de-gramont-c1",
                "status": "completed",
                "intent": "order",
                "medicationReference": {"reference": "Medication/de-gramont"},
                "subject": subject(p),
                "authoredOn": "2024-10-14",
            },
        ]
    )


def example_single_results() -> Json:
    """Single LOINC gene results, an MMR immunostain panel, HER2 IHC, CEA in pmol/L, Karnofsky."""
    p = "crlm-single"
    mmr_values = [
        ("81691-8", "DNA mismatch repair protein Mlh1 [Presence] in Cancer specimen by Immune stain", False),
        ("81692-6", "DNA mismatch repair protein Msh2 [Presence] in Cancer specimen by Immune stain", True),
        ("81693-4", "DNA mismatch repair protein Msh6 [Presence] in Cancer specimen by Immune stain", True),
        ("81694-2", "Mismatch repair endonuclease PMS2 [Presence] in Cancer specimen by Immune stain", False),
    ]
    return bundle(
        [
            patient(p, "1970-02-17"),
            condition("primary", p, cc(fc.SNOMED, "363351006", "Malignant tumor of rectum"), "2024-05-06"),
            condition(
                "liver-mets",
                p,
                cc(fc.SNOMED, "94381002", "Secondary malignant neoplasm of liver"),
                "2024-05-08",
            ),
            observation(
                "kras",
                p,
                cc(
                    fc.LOINC,
                    "85509-8",
                    "KRAS gene mutations found [Identifier] in Colorectal cancer specimen",
                ),
                "2024-05-20",
                valueCodeableConcept=cc(fc.LOINC, "LA11883-8", "Not detected"),
            ),
            observation(
                "ras-panel",
                p,
                cc(fc.LOINC, "81420-2", "KRAS and NRAS gene mutations found [Identifier] in Blood or Tissue"),
                "2024-05-20",
                valueString="No mutations detected in KRAS exons 2-4 or NRAS exons 2-4",
            ),
            observation(
                "braf",
                p,
                cc(fc.LOINC, "53844-7", "BRAF gene targeted mutation analysis in Blood or Tissue"),
                "2024-05-20",
                valueString="BRAF V600E detected",
            ),
            observation(
                "tp53",
                p,
                cc(fc.LOINC, "21739-8", "TP53 gene mutations found [Identifier] in Blood or Tissue"),
                "2024-05-20",
                valueString="TP53 c.524G>A (p.R175H)",
            ),
            observation(
                "her2",
                p,
                cc(fc.LOINC, "18474-7", "HER2 Ag [Presence] in Tissue by Immune stain"),
                "2024-05-20",
                valueString="1+",
            ),
            observation(
                "mmr-panel",
                p,
                cc(None, None, text="Mismatch repair protein immunohistochemistry"),
                "2024-05-18",
                component=[
                    component(
                        cc(fc.LOINC, code, display),
                        valueCodeableConcept=(
                            cc(fc.LOINC, "LA9633-4", "Present")
                            if kept
                            else cc(fc.LOINC, "LA9634-2", "Absent")
                        ),
                    )
                    for code, display, kept in mmr_values
                ],
            ),
            observation(
                "cea",
                p,
                cc(fc.LOINC, "19167-6", "Carcinoembryonic Ag [Moles/volume] in Serum or Plasma"),
                "2024-05-07",
                valueQuantity=quantity(55.5, "pmol/L"),
            ),
            observation(
                "karnofsky",
                p,
                cc(fc.LOINC, "89243-0", "Karnofsky Performance Status score"),
                "2024-05-10",
                meta={"profile": [f"{MCODE}/mcode-karnofsky-performance-status"]},
                valueInteger=80,
            ),
        ]
    )


def example_medication_statements() -> Json:
    """STU1-style MedicationStatements in a transaction Bundle (urn:uuid, no ids): text and contained."""
    p_uuid = "0b3f5f0e-7a5c-4d43-9a57-53d6c0d1c001"
    patient_ref = {"reference": f"urn:uuid:{p_uuid}"}
    return bundle(
        [
            {"resourceType": "Patient", "_uuid": p_uuid, "gender": "male", "birthDate": "1955-08-09"},
            {
                "resourceType": "Condition",
                "_uuid": "0b3f5f0e-7a5c-4d43-9a57-53d6c0d1c002",
                "verificationStatus": cc(VERIFICATION, "confirmed"),
                "code": cc(fc.SNOMED, "363406005", "Malignant tumor of colon"),
                "bodySite": [cc(fc.ICDO3, "C18.2", "Ascending colon")],
                "subject": patient_ref,
                "onsetDateTime": "2023-03-01",
            },
            {
                "resourceType": "MedicationStatement",
                "_uuid": "0b3f5f0e-7a5c-4d43-9a57-53d6c0d1c003",
                "meta": {"profile": [f"{MCODE}/mcode-cancer-related-medication-statement"]},
                "status": "completed",
                "medicationCodeableConcept": cc(None, None, text="FOLFOX (adjuvant), 12 cycles"),
                "subject": patient_ref,
                "effectivePeriod": {"start": "2023-04-03", "end": "2023-09-18"},
            },
            {
                "resourceType": "MedicationStatement",
                "_uuid": "0b3f5f0e-7a5c-4d43-9a57-53d6c0d1c004",
                "status": "completed",
                "contained": [
                    {"resourceType": "Medication", "id": "med", "code": cc(fc.ATC, "L01BC06", "capecitabine")}
                ],
                "medicationReference": {"reference": "#med"},
                "subject": patient_ref,
                "effectivePeriod": {"start": "2024-01-08", "end": "2024-03-25"},
            },
        ],
        kind="transaction",
    )


def example_local_items() -> Json:
    """The local crlm-data-item observations and the portal vein embolisation procedure."""
    p = "crlm-local"

    def item(code: str, when: str, **value: Any) -> Json:
        return observation(
            code,
            p,
            cc(fc.DATA_ITEM, code, next(i.display for i in fc.DATA_ITEMS if i.code == code)),
            when,
            meta={"profile": [f"{fc.CANONICAL_BASE}/StructureDefinition/crlm-{code}"]},
            focus=[{"reference": "Condition/liver-mets"}],
            **value,
        )

    return bundle(
        [
            patient(p, "1966-07-01"),
            condition("primary", p, cc(fc.ICD10CM, "C20", "Malignant neoplasm of rectum"), "2024-11-04"),
            condition(
                "liver-mets",
                p,
                cc(fc.ICD10CM, "C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
                "2024-11-06",
            ),
            item(fc.LESION_COUNT, "2024-11-20", valueInteger=4),
            item(fc.BILOBAR, "2024-11-20", valueBoolean=True),
            item(fc.FUTURE_LIVER_REMNANT, "2024-12-02", valueQuantity=quantity(28, "%")),
            item(
                fc.HEPATECTOMY_COMPLEXITY,
                "2024-12-02",
                valueCodeableConcept=cc(
                    fc.DATA_ITEM, "complexity-grade-ii", "Hepatectomy complexity grade II"
                ),
            ),
            item(
                fc.MDT_RESECTABILITY,
                "2024-12-03",
                valueCodeableConcept=cc(fc.DATA_ITEM, "potentially-resectable", "Potentially resectable"),
            ),
            item(fc.PRIMARY_ASYMPTOMATIC, "2024-11-04", valueBoolean=True),
            item(fc.NO_EXTRAHEPATIC_DISEASE, "2024-11-20", valueCodeableConcept=cc(fc.V2_YES_NO, "Y", "Yes")),
            item(fc.ANAL_VERGE_DISTANCE, "2024-11-10", valueQuantity=quantity(120, "mm")),
            item(fc.DECLINES_CHEMOTHERAPY_FIRST, "2024-12-03", valueBoolean=False),
            {
                "resourceType": "Procedure",
                "id": "pve",
                "status": "completed",
                "code": cc(fc.DATA_ITEM, "portal-vein-embolisation", "Portal vein embolisation"),
                "subject": subject(p),
                "performedDateTime": "2024-12-16",
            },
            {
                "resourceType": "Procedure",
                "id": "hepatectomy",
                "status": "completed",
                "code": cc(fc.SNOMED, "307010009", "Extended right hemihepatectomy"),
                "subject": subject(p),
                "performedDateTime": "2025-01-27",
            },
            observation(
                fc.RESECTION_MARGIN,
                p,
                cc(fc.DATA_ITEM, fc.RESECTION_MARGIN, "Liver resection margin"),
                "2025-02-03",
                meta={"profile": [f"{fc.CANONICAL_BASE}/StructureDefinition/crlm-{fc.RESECTION_MARGIN}"]},
                partOf=[{"reference": "Procedure/hepatectomy"}],
                valueCodeableConcept=cc(fc.DATA_ITEM, "margin-r0", "R0"),
            ),
        ]
    )


def examples() -> dict[str, Json]:
    """File name -> example Bundle."""
    return {
        "Bundle-crlm-icd10.json": example_icd10(),
        "Bundle-crlm-mcode-snomed.json": example_mcode(),
        "Bundle-crlm-single-gene-results.json": example_single_results(),
        "Bundle-crlm-medication-statement.json": example_medication_statements(),
        "Bundle-crlm-local-data-items.json": example_local_items(),
    }


# --------------------------------------------------------------------------------------------------
# Everything
# --------------------------------------------------------------------------------------------------


def generated_files() -> dict[Path, str]:
    """Every generated file of ``fhir_profiles/`` (README excluded) -> its text."""
    files: dict[Path, str] = {}
    for table in fc.TABLES:
        files[PROFILES / f"ValueSet-{table.id}.json"] = dump(fc.value_set_resource(table))
    files[PROFILES / "CodeSystem-crlm-data-item.json"] = dump(fc.data_item_code_system())
    for name, definition in structure_definitions().items():
        files[PROFILES / name] = dump(definition)
    for name, example in examples().items():
        files[EXAMPLES / name] = dump(example)
    return files


def readme_with_table(text: str) -> str:
    """The README text with the generated table section replaced."""
    start = text.index(fc.README_BEGIN) + len(fc.README_BEGIN)
    end = text.index(fc.README_END)
    return f"{text[:start]}\n{fc.readme_table()}\n{text[end:]}"


SERVICES = PROFILES / "cds-services.json"


def services_with_prefetch(text: str) -> str:
    """``cds-services.json`` text with the ``observations`` prefetch template replaced (nothing else)."""
    lines = text.splitlines(keepends=True)
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith('"observations": "Observation?'):
            indent = line[: len(line) - len(stripped)]
            comma = "," if stripped.rstrip().endswith(",") else ""
            template = json.dumps(fc.observation_prefetch_template())
            lines[index] = f'{indent}"observations": {template}{comma}\n'
    return "".join(lines)


def main() -> None:
    """Rewrite the generated files, the README table and the Observation prefetch template."""
    EXAMPLES.mkdir(parents=True, exist_ok=True)
    for path, text in generated_files().items():
        path.write_text(text, encoding="utf-8")
    README.write_text(readme_with_table(README.read_text(encoding="utf-8")), encoding="utf-8")
    SERVICES.write_text(services_with_prefetch(SERVICES.read_text(encoding="utf-8")), encoding="utf-8")


if __name__ == "__main__":
    main()

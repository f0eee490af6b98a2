"""The same fact is found however it is coded, and its provenance names the resource it came from."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from cds_service import fhir_codes as fc
from cds_service.core.facts import (
    Agent,
    BrafStatus,
    DiseaseStatus,
    ExtrahepaticSite,
    Fact,
    HepatectomyComplexity,
    Her2Status,
    Margin,
    MmrStatus,
    MutationStatus,
    PatientFacts,
    PrimarySite,
    Resectability,
    Symptom,
)
from tests.mapping.support import (
    Json,
    cc,
    component,
    condition,
    crashed,
    gene_variant,
    icd10,
    liver,
    local,
    loinc,
    observation,
    primary,
    procedure,
    protein_change,
    quantity,
    run,
    snomed,
)

Getter = Callable[[PatientFacts], Fact[Any] | None]

MCODE_PRIMARY = {
    "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-primary-cancer-condition"]
}
MCODE_SECONDARY = {
    "profile": ["http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-secondary-cancer-condition"]
}
LIVER_SITE = [snomed("10200004")]


def _site(facts: PatientFacts) -> Fact[Any] | None:
    return facts.primary.site if facts.primary else None


def _check(facts: PatientFacts, getter: Getter, value: object, source: str) -> Fact[Any]:
    """The fact exists, has ``value`` and names ``source``; nothing crashed."""
    assert not crashed(facts), facts.data_notes
    fact = getter(facts)
    assert fact is not None, facts.data_notes
    assert fact.value == value
    assert source in fact.sources
    return fact


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(icd10("C18.7"), id="icd10cm"),
        pytest.param(icd10("C187"), id="icd10cm-without-dot"),
        pytest.param(cc("http://hl7.org/fhir/sid/icd-10", "C18.7"), id="who-icd10"),
        pytest.param(snomed("363410008"), id="snomed-site-specific"),
        pytest.param(snomed("94006002"), id="snomed-primary-sigmoid"),
        pytest.param(cc("urn:oid:2.16.840.1.113883.6.96", "301756000"), id="snomed-oid"),
    ],
)
def test_primary_site_from_the_code(code: Json) -> None:
    """A site-specific colorectal code gives the sigmoid site, sourced to that Condition."""
    facts = run(primary("crc", code))
    _check(facts, _site, PrimarySite.SIGMOID_COLON, "Condition/crc")


@pytest.mark.parametrize(
    ("code", "body_site", "meta"),
    [
        pytest.param(snomed("363346000"), snomed("60184004"), None, id="generic-snomed+snomed-site"),
        pytest.param(snomed("363406005"), snomed("60184004"), None, id="colon-nos+snomed-site"),
        pytest.param(snomed("372087000"), cc(fc.ICDO3, "C18.7"), None, id="generic+icd-o-3-site"),
        pytest.param(
            cc(None, None, text="Adenocarcinoma"), snomed("60184004"), MCODE_PRIMARY, id="mcode-text+site"
        ),
        pytest.param(icd10("C18.9"), cc(fc.ICDO3, "C187"), None, id="icd10-nos+icd-o-3-no-dot"),
    ],
)
def test_primary_site_from_the_body_site(code: Json, body_site: Json, meta: Json | None) -> None:
    """A generic or unspecified code with a colorectal body site gives that site."""
    extra: Json = {"bodySite": [body_site]}
    if meta:
        extra["meta"] = meta
    facts = run(primary("crc", code, **extra))
    _check(facts, _site, PrimarySite.SIGMOID_COLON, "Condition/crc")


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({"onsetDateTime": "2023-04-05T10:00:00+02:00"}, date(2023, 4, 5), id="onset-datetime"),
        pytest.param(
            {"onsetDateTime": None, "onsetPeriod": {"start": "2023-04"}}, date(2023, 4, 1), id="period"
        ),
        pytest.param({"onsetDateTime": None, "recordedDate": "2023-04-07"}, date(2023, 4, 7), id="recorded"),
    ],
)
def test_diagnosis_date(extra: Json, expected: date) -> None:
    """The diagnosis date is the onset (dateTime or period), else the recorded date."""
    resource = primary("crc")
    resource.update(extra)
    resource = {k: v for k, v in resource.items() if v is not None}
    facts = run(resource)
    _check(facts, lambda f: f.primary.diagnosed if f.primary else None, expected, "Condition/crc")


@pytest.mark.parametrize(
    "resource",
    [
        pytest.param(liver("lm"), id="snomed-94381002"),
        pytest.param(liver("lm", icd10("C78.7")), id="icd10cm-C78.7"),
        pytest.param(liver("lm", snomed("1691000119104")), id="snomed-from-adenocarcinoma"),
        pytest.param(liver("lm", snomed("128462008"), bodySite=LIVER_SITE), id="generic+liver-site"),
        pytest.param(
            liver("lm", icd10("C79.9"), bodySite=[cc(fc.ICDO3, "C22.0")]), id="icd10-generic+icd-o-3"
        ),
        pytest.param(
            liver("lm", cc(None, None, text="Metastases"), bodySite=LIVER_SITE, meta=MCODE_SECONDARY),
            id="mcode-secondary-profile",
        ),
    ],
)
def test_liver_metastases(resource: Json) -> None:
    """Liver metastases are found from site codes, generic codes with a liver site, or the mCODE profile."""
    facts = run(primary(), resource)
    assert not crashed(facts)
    assert facts.liver_metastases is not None, facts.data_notes
    assert "Condition/lm" in facts.liver_metastases.condition.sources
    assert facts.liver_metastases.detected is not None
    assert facts.liver_metastases.detected.value == date(2024, 1, 12)


@pytest.mark.parametrize(
    ("resource", "site"),
    [
        pytest.param(condition("x", snomed("94391008")), ExtrahepaticSite.LUNG, id="snomed-lung"),
        pytest.param(condition("x", icd10("C78.01")), ExtrahepaticSite.LUNG, id="icd10-right-lung"),
        pytest.param(
            condition("x", snomed("128462008"), bodySite=[snomed("39607008")]),
            ExtrahepaticSite.LUNG,
            id="generic+lung",
        ),
        pytest.param(condition("x", snomed("94627008")), ExtrahepaticSite.PERITONEUM, id="snomed-peritoneum"),
        pytest.param(condition("x", icd10("C78.6")), ExtrahepaticSite.PERITONEUM, id="icd10-peritoneum"),
        pytest.param(condition("x", icd10("C79.51")), ExtrahepaticSite.BONE, id="icd10-bone"),
        pytest.param(
            condition("x", snomed("94519005")),
            ExtrahepaticSite.CELIAC_OR_PARA_AORTIC_NODES,
            id="retroperitoneal-nodes",
        ),
        pytest.param(
            condition("x", snomed("128462008"), bodySite=[snomed("245288002")], meta=MCODE_SECONDARY),
            ExtrahepaticSite.HILAR_NODES,
            id="mcode-hilar-nodes",
        ),
        pytest.param(condition("x", snomed("94225005")), ExtrahepaticSite.BRAIN, id="brain"),
        pytest.param(condition("x", icd10("C79.61")), ExtrahepaticSite.OVARY, id="ovary"),
        pytest.param(condition("x", snomed("94161006")), ExtrahepaticSite.ADRENAL, id="adrenal"),
    ],
)
def test_extrahepatic_sites(resource: Json, site: ExtrahepaticSite) -> None:
    """Extrahepatic metastases are read with their site from specific or generic codes."""
    facts = run(primary(), resource)
    assert [f.value for f in facts.extrahepatic] == [site]
    assert facts.extrahepatic[0].sources == ("Condition/x",)


def test_regional_looking_nodes_are_a_note_not_extrahepatic_disease() -> None:
    """Intra-abdominal node metastases may be regional: a data note, not an extrahepatic site."""
    facts = run(primary(), condition("x", icd10("C77.2")))
    assert facts.extrahepatic == ()
    assert any("Condition/x" in n.sources for n in facts.data_notes)


@pytest.mark.parametrize(
    ("code", "symptom"),
    [
        pytest.param(snomed("81060008"), Symptom.OBSTRUCTION, id="snomed-obstruction"),
        pytest.param(icd10("K56.699"), Symptom.OBSTRUCTION, id="icd10-obstruction"),
        pytest.param(snomed("6072007"), Symptom.BLEEDING, id="synthea-bleeding-from-anus"),
        pytest.param(icd10("K62.5"), Symptom.BLEEDING, id="icd10-rectal-bleeding"),
        pytest.param(snomed("56905009"), Symptom.PERFORATION, id="snomed-perforation"),
        pytest.param(icd10("K63.1"), Symptom.PERFORATION, id="icd10-perforation"),
    ],
)
def test_symptoms_of_the_primary(code: Json, symptom: Symptom) -> None:
    """Complications recorded around the diagnosis are symptoms of the primary."""
    facts = run(primary(), condition("s", code, onset="2024-01-02"))
    _check(facts, lambda f: f.primary.symptoms if f.primary else None, frozenset({symptom}), "Condition/s")


def test_old_or_resolved_complications_are_not_symptoms() -> None:
    """A bleed years before diagnosis, or a resolved obstruction, is not a symptom of the primary."""
    resolved = condition(
        "s2",
        snomed("81060008"),
        clinicalStatus=cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved"),
    )
    facts = run(primary(), condition("s1", snomed("74474003"), onset="2015-01-01"), resolved)
    assert facts.primary is not None
    assert facts.primary.symptoms is None


def test_explicit_asymptomatic_primary() -> None:
    """The local 'primary asymptomatic' item gives an empty symptom set (absence recorded explicitly)."""
    facts = run(primary(), observation("a", local(fc.PRIMARY_ASYMPTOMATIC), valueBoolean=True))
    _check(facts, lambda f: f.primary.symptoms if f.primary else None, frozenset(), "Observation/a")


STAGE = "stage"


@pytest.mark.parametrize(
    ("resource", "field", "value", "note"),
    [
        pytest.param(
            observation("o", loinc("21905-5"), valueCodeableConcept=cc(fc.AJCC, "cT3")),
            "t_category",
            "T3",
            None,
            id="loinc-ajcc-code",
        ),
        pytest.param(
            observation("o", snomed("399504009"), valueCodeableConcept=cc(None, None, text="T3")),
            "t_category",
            "T3",
            None,
            id="snomed-text",
        ),
        pytest.param(
            observation("o", loinc("21899-0"), valueString="pT3"),
            "t_category",
            "T3",
            "pathological",
            id="pathological",
        ),
        pytest.param(
            observation("o", loinc("21905-5"), valueCodeableConcept=cc(fc.AJCC, "3")),
            "t_category",
            "T3",
            None,
            id="bare-digit",
        ),
        pytest.param(
            observation("o", snomed("384625004"), valueCodeableConcept=cc(None, None, text="ypT3")),
            "t_category",
            "T3",
            "after neoadjuvant therapy (y)",
            id="post-therapy",
        ),
        pytest.param(
            observation("o", loinc("21900-6"), valueString="pN2a"),
            "n_category",
            "N2a",
            "pathological",
            id="pN",
        ),
        pytest.param(
            observation("o", loinc("21907-1"), valueCodeableConcept=cc(fc.AJCC, "cM1a")),
            "m_category",
            "M1a",
            None,
            id="cM",
        ),
        pytest.param(
            observation("o", loinc("21908-9"), valueCodeableConcept=cc(fc.AJCC, "3B", "IIIB")),
            "stage_group",
            "IIIB",
            None,
            id="loinc-stage",
        ),
        pytest.param(
            observation("o", snomed("399537006"), valueCodeableConcept=cc(None, None, text="Stage IIIB")),
            "stage_group",
            "IIIB",
            None,
            id="snomed-stage-text",
        ),
        pytest.param(
            observation(
                "o",
                snomed("399588009"),
                valueCodeableConcept=cc(
                    fc.SNOMED, "1", "American Joint Committee on Cancer stage IIIB (qualifier value)"
                ),
            ),
            "stage_group",
            "IIIB",
            "pathological",
            id="snomed-qualifier-display",
        ),
    ],
)
def test_tnm_and_stage_group(resource: Json, field: str, value: str, note: str | None) -> None:
    """T, N, M and stage group are read from LOINC or SNOMED observations, coded or as text."""
    facts = run(primary(), resource)
    fact = _check(facts, lambda f: getattr(f.primary, field) if f.primary else None, value, "Observation/o")
    assert fact.note == note


def test_stage_group_from_the_condition_summary() -> None:
    """Condition.stage.summary gives the stage group, sourced to the Condition."""
    facts = run(primary("crc", stage=[{"summary": cc(fc.AJCC, "4", "IV")}]))
    _check(facts, lambda f: f.primary.stage_group if f.primary else None, "IV", "Condition/crc")


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(snomed("359571009"), id="snomed-right-hemicolectomy"),
        pytest.param(snomed("43075005"), id="synthea-partial-resection"),
        pytest.param(cc(fc.CPT, "44140"), id="cpt-partial-colectomy"),
        pytest.param(snomed("314592008"), id="low-anterior-resection"),
    ],
)
def test_primary_resection(code: Json) -> None:
    """A completed colorectal resection after diagnosis gives the resection date."""
    facts = run(primary(), procedure("r", code, when="2024-02-15"))
    _check(facts, lambda f: f.primary.resected if f.primary else None, date(2024, 2, 15), "Procedure/r")


def test_stoma_and_old_resection_are_not_primary_resections() -> None:
    """A diverting colostomy is not a resection; a colectomy years before diagnosis is not this primary's."""
    facts = run(
        primary(),
        procedure("stoma", snomed("387607004"), when="2024-02-01"),
        procedure("old", snomed("23968004"), when="2001-02-01"),
    )
    assert facts.primary is not None
    assert facts.primary.resected is None


def _kras(f: PatientFacts) -> Fact[Any] | None:
    return f.molecular.kras


def _nras(f: PatientFacts) -> Fact[Any] | None:
    return f.molecular.nras


def _braf(f: PatientFacts) -> Fact[Any] | None:
    return f.molecular.braf


def _tp53(f: PatientFacts) -> Fact[Any] | None:
    return f.molecular.tp53


def _her2(f: PatientFacts) -> Fact[Any] | None:
    return f.molecular.her2


def _mmr(f: PatientFacts) -> Fact[Any] | None:
    return f.molecular.mmr


GENOMIC = "http://varnomen.hgvs.org"


@pytest.mark.parametrize(
    ("resource", "getter", "value"),
    [
        pytest.param(
            gene_variant("o", cc(fc.HGNC, "HGNC:6407"), True, protein_change("p.Gly12Asp")),
            _kras,
            MutationStatus.MUTANT,
            id="variant-hgnc-id",
        ),
        pytest.param(
            gene_variant("o", cc("http://www.genenames.org/geneId", "6407")),
            _kras,
            MutationStatus.MUTANT,
            id="variant-geneId-bare-number",
        ),
        pytest.param(
            gene_variant("o", cc(None, None, text="KRAS")),
            _kras,
            MutationStatus.MUTANT,
            id="variant-symbol-only",
        ),
        pytest.param(
            gene_variant("o", cc(fc.HGNC, "HGNC:6407"), False),
            _kras,
            MutationStatus.WILD_TYPE,
            id="variant-absent",
        ),
        pytest.param(
            observation("o", loinc("85509-8"), valueCodeableConcept=cc(fc.LOINC, "LA6576-8")),
            _kras,
            MutationStatus.MUTANT,
            id="loinc-coded-positive",
        ),
        pytest.param(
            observation("o", loinc("85509-8"), valueCodeableConcept=cc(fc.LOINC, "LA11883-8")),
            _kras,
            MutationStatus.WILD_TYPE,
            id="loinc-coded-not-detected",
        ),
        pytest.param(
            observation("o", loinc("21702-6"), valueString="G12D"),
            _kras,
            MutationStatus.MUTANT,
            id="loinc-text-variant",
        ),
        pytest.param(
            observation("o", loinc("82535-6"), valueCodeableConcept=cc(None, None, text="Wild type")),
            _kras,
            MutationStatus.WILD_TYPE,
            id="loinc-text-wild-type",
        ),
        pytest.param(
            observation("o", loinc("75974-6"), valueString="Mutation detected in codon 12"),
            _kras,
            MutationStatus.MUTANT,
            id="targeted-text",
        ),
        pytest.param(
            observation("o", loinc("81420-2"), valueString="KRAS p.G12D detected"),
            _kras,
            MutationStatus.MUTANT,
            id="kras-nras-panel-kras",
        ),
        pytest.param(
            observation("o", loinc("81420-2"), valueString="NRAS Q61K"),
            _nras,
            MutationStatus.MUTANT,
            id="kras-nras-panel-nras",
        ),
        pytest.param(
            observation("o", loinc("81420-2"), valueCodeableConcept=cc(fc.SNOMED, "260385009")),
            _nras,
            MutationStatus.WILD_TYPE,
            id="kras-nras-panel-negative",
        ),
        pytest.param(
            gene_variant("o", cc(fc.HGNC, "HGNC:7989", "NRAS")),
            _nras,
            MutationStatus.MUTANT,
            id="nras-variant",
        ),
        pytest.param(
            gene_variant("o", cc(fc.HGNC, "HGNC:1097"), True, protein_change("NP_004324.2:p.Val600Glu")),
            _braf,
            BrafStatus.V600E,
            id="braf-variant-3-letter",
        ),
        pytest.param(
            gene_variant(
                "o",
                cc(fc.HGNC, "HGNC:1097"),
                True,
                component(loinc("48004-6"), valueCodeableConcept=cc(GENOMIC, "NM_004333.6:c.1799T>A")),
            ),
            _braf,
            BrafStatus.V600E,
            id="braf-variant-dna-change",
        ),
        pytest.param(
            gene_variant("o", cc(None, None, text="BRAF"), True, protein_change("p.V600E")),
            _braf,
            BrafStatus.V600E,
            id="braf-variant-symbol",
        ),
        pytest.param(
            gene_variant("o", cc(fc.HGNC, "HGNC:1097"), True, protein_change("p.Gly469Ala")),
            _braf,
            BrafStatus.OTHER_MUTATION,
            id="braf-non-v600e",
        ),
        pytest.param(
            observation("o", loinc("53844-7"), valueString="BRAF V600E positive"),
            _braf,
            BrafStatus.V600E,
            id="braf-loinc-text",
        ),
        pytest.param(
            observation("o", loinc("53844-7"), valueCodeableConcept=cc(fc.LOINC, "LA11883-8")),
            _braf,
            BrafStatus.WILD_TYPE,
            id="braf-loinc-negative",
        ),
        pytest.param(
            observation("o", loinc("85299-6"), valueCodeableConcept=cc(fc.SNOMED, "10828004")),
            _braf,
            BrafStatus.V600E,
            id="braf-v600e-ihc",
        ),
        pytest.param(
            gene_variant("o", cc(fc.HGNC, "HGNC:11998")), _tp53, MutationStatus.MUTANT, id="tp53-variant"
        ),
        pytest.param(
            observation("o", loinc("21739-8"), valueString="c.524G>A"),
            _tp53,
            MutationStatus.MUTANT,
            id="tp53-loinc-text",
        ),
        pytest.param(
            observation("o", loinc("18474-7"), valueString="3+"),
            _her2,
            Her2Status.POSITIVE,
            id="her2-ihc-3plus",
        ),
        pytest.param(
            observation("o", loinc("18474-7"), valueInteger=0), _her2, Her2Status.NEGATIVE, id="her2-ihc-0"
        ),
        pytest.param(
            observation("o", loinc("49683-6"), valueQuantity={"value": 2.6}),
            _her2,
            Her2Status.POSITIVE,
            id="her2-fish-ratio",
        ),
        pytest.param(
            observation("o", loinc("31150-6"), valueString="Not amplified"),
            _her2,
            Her2Status.NEGATIVE,
            id="her2-fish-text",
        ),
        pytest.param(
            gene_variant(
                "o",
                cc(fc.HGNC, "HGNC:3430"),
                True,
                interpretation=[cc(fc.SNOMED, "12645001", "Gene amplification")],
            ),
            _her2,
            Her2Status.POSITIVE,
            id="erbb2-amplification-variant",
        ),
        pytest.param(
            observation("o", loinc("81695-9"), valueCodeableConcept=cc(fc.LOINC, "LA26203-2")),
            _mmr,
            MmrStatus.DEFICIENT,
            id="msi-h-coded",
        ),
        pytest.param(
            observation("o", loinc("81695-9"), valueCodeableConcept=cc(None, None, text="MSI-H")),
            _mmr,
            MmrStatus.DEFICIENT,
            id="msi-h-text",
        ),
        pytest.param(
            observation("o", loinc("43368-0"), valueCodeableConcept=cc(fc.LOINC, "LA26202-4")),
            _mmr,
            MmrStatus.PROFICIENT,
            id="msi-l-is-proficient",
        ),
        pytest.param(
            observation("o", loinc("81695-9"), valueString="MSS"), _mmr, MmrStatus.PROFICIENT, id="mss-text"
        ),
        pytest.param(
            observation("o", loinc("62862-8"), valueCodeableConcept=cc(fc.SNOMED, "10828004")),
            _mmr,
            MmrStatus.DEFICIENT,
            id="msi-ihc-positive",
        ),
        pytest.param(
            observation("o", loinc("81694-2"), valueString="Loss of nuclear expression"),
            _mmr,
            MmrStatus.DEFICIENT,
            id="single-ihc-loss",
        ),
        pytest.param(
            observation(
                "o",
                cc(None, None, text="MMR IHC"),
                component=[
                    component(loinc("81691-8"), valueCodeableConcept=cc(fc.LOINC, "LA9634-2")),
                    component(loinc("81694-2"), valueCodeableConcept=cc(fc.LOINC, "LA9634-2")),
                    component(loinc("81692-6"), valueCodeableConcept=cc(fc.LOINC, "LA9633-4")),
                    component(loinc("81693-4"), valueCodeableConcept=cc(fc.LOINC, "LA9633-4")),
                ],
            ),
            _mmr,
            MmrStatus.DEFICIENT,
            id="ihc-panel-components",
        ),
        pytest.param(
            observation(
                "o",
                cc(None, None, text="MMR IHC"),
                component=[
                    component(loinc("81693-4"), valueString="intact"),
                    component(loinc("81694-2"), valueString="Retained"),
                ],
            ),
            _mmr,
            MmrStatus.PROFICIENT,
            id="ihc-two-antibody-intact",
        ),
    ],
)
def test_molecular_results(resource: Json, getter: Getter, value: object) -> None:
    """Molecular results are read from variants (HGNC id or symbol), single gene results and IHC panels."""
    facts = run(primary(), resource)
    _check(facts, getter, value, "Observation/o")


def test_braf_variant_without_a_named_change_is_not_guessed() -> None:
    """A present BRAF variant without its change is neither V600E nor non-V600E; a data note says so."""
    facts = run(primary(), gene_variant("o", cc(fc.HGNC, "HGNC:1097")))
    assert facts.molecular.braf is None
    assert any("Observation/o" in n.sources for n in facts.data_notes)


def test_benign_variant_is_not_a_mutation() -> None:
    """A variant classified benign is not read as a mutation of its gene."""
    benign = component(loinc("53037-8"), valueCodeableConcept=cc(fc.LOINC, "LA6675-8"))
    facts = run(primary(), gene_variant("o", cc(fc.HGNC, "HGNC:11998"), True, benign))
    assert facts.molecular.tp53 is None


def test_gene_symbol_wins_over_a_mismatched_hgnc_id() -> None:
    """mCODE's example codes NRAS as HGNC:6342 (KIT): the symbol is used and a note says why."""
    facts = run(primary(), gene_variant("o", cc(fc.HGNC, "HGNC:6342", "NRAS"), False))
    _check(facts, _nras, MutationStatus.WILD_TYPE, "Observation/o")
    assert any("HGNC:6342" in n.message for n in facts.data_notes)


def test_her2_equivocal_is_not_read() -> None:
    """HER2 IHC 2+ is equivocal: no HER2 status, and a data note."""
    facts = run(primary(), observation("o", loinc("18474-7"), valueString="2+"))
    assert facts.molecular.her2 is None
    assert any("equivocal" in n.message for n in facts.data_notes)


@pytest.mark.parametrize(
    ("value", "expected", "note"),
    [
        pytest.param(quantity(5.2, "ng/mL"), 5.2, None, id="ng-per-ml"),
        pytest.param(quantity(5.2, "ug/L"), 5.2, None, id="ug-per-l"),
        pytest.param({"value": 5.2, "unit": "µg/L"}, 5.2, None, id="micro-sign-unit-text"),
        pytest.param(quantity(5200, "pg/mL"), 5.2, "converted from 5200 pg/mL", id="pg-per-ml"),
        pytest.param(
            quantity(50, "pmol/L"), 9.0, "converted from 50 pmol/L (molar mass 180 kDa)", id="pmol-per-l"
        ),
    ],
)
def test_cea_units(value: Json, expected: float, note: str | None) -> None:
    """CEA is converted to ng/mL from mass and molar units, and the conversion is noted."""
    facts = run(observation("o", loinc("2039-6"), valueQuantity=value))
    fact = _check(facts, lambda f: f.cea_ng_ml, expected, "Observation/o")
    assert fact.note == note


def test_cea_in_arbitrary_units_is_not_used() -> None:
    """A CEA in kU/L cannot be converted: no value, and a data note."""
    facts = run(observation("o", loinc("19166-8"), valueQuantity=quantity(5, "kU/L")))
    assert facts.cea_ng_ml is None
    assert any("kU/L" in n.message for n in facts.data_notes)


@pytest.mark.parametrize(
    ("resource", "expected", "note"),
    [
        pytest.param(observation("o", loinc("89247-1"), valueInteger=2), 2, None, id="integer"),
        pytest.param(observation("o", loinc("89247-1"), valueQuantity={"value": 2}), 2, None, id="quantity"),
        pytest.param(
            observation("o", loinc("89247-1"), valueCodeableConcept=cc(fc.LOINC, "LA9624-3")),
            2,
            None,
            id="loinc-answer",
        ),
        pytest.param(
            observation("o", loinc("89247-1"), interpretation=[cc(fc.LOINC, "LA9624-3")]),
            2,
            None,
            id="interpretation-only",
        ),
        pytest.param(
            observation("o", loinc("89243-0"), valueInteger=60),
            2,
            "converted from Karnofsky 60",
            id="karnofsky",
        ),
    ],
)
def test_ecog(resource: Json, expected: int, note: str | None) -> None:
    """ECOG is read as integer or LOINC answer; Karnofsky is converted and says so."""
    fact = _check(run(resource), lambda f: f.ecog, expected, "Observation/o")
    assert fact.note == note


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(snomed("19943007"), id="snomed"),
        pytest.param(icd10("K74.60"), id="icd10"),
        pytest.param(snomed("420054005"), id="alcoholic"),
    ],
)
def test_cirrhosis(code: Json) -> None:
    """Cirrhosis is read from SNOMED or ICD-10-CM codes."""
    _check(run(condition("c", code)), lambda f: f.cirrhosis, True, "Condition/c")


@pytest.mark.parametrize(
    ("resource", "getter", "value"),
    [
        pytest.param(
            observation(
                "o",
                loinc("97509-4"),
                focus=[{"reference": "Condition/lm"}],
                valueCodeableConcept=snomed("271299001"),
            ),
            lambda f: f.liver_metastases.disease_status if f.liver_metastases else None,
            DiseaseStatus.PROGRESSION,
            id="focus-liver-progression",
        ),
        pytest.param(
            observation("o", loinc("97509-4"), valueCodeableConcept=snomed("268910001")),
            lambda f: f.liver_metastases.disease_status if f.liver_metastases else None,
            DiseaseStatus.RESPONSE,
            id="no-focus-response",
        ),
        pytest.param(
            observation(
                "o",
                loinc("97509-4"),
                focus=[{"reference": "Condition/crc"}],
                valueCodeableConcept=snomed("260415000"),
            ),
            lambda f: f.primary.complete_response if f.primary else None,
            True,
            id="focus-primary-not-detected",
        ),
    ],
)
def test_disease_status(resource: Json, getter: Getter, value: object) -> None:
    """mCODE disease status is the liver disease's status, or the primary's complete response by focus."""
    facts = run(primary("crc"), liver("lm"), resource)
    _check(facts, getter, value, "Observation/o")


def _lm(field: str) -> Getter:
    return lambda f: getattr(f.liver_metastases, field) if f.liver_metastases else None


@pytest.mark.parametrize(
    ("resource", "getter", "value"),
    [
        pytest.param(
            observation("o", local(fc.LESION_COUNT), valueInteger=3),
            _lm("lesion_count"),
            3,
            id="count-integer",
        ),
        pytest.param(
            observation("o", local(fc.LESION_COUNT), valueQuantity={"value": 3}),
            _lm("lesion_count"),
            3,
            id="count-quantity",
        ),
        pytest.param(
            observation("o", local(fc.LESION_COUNT), valueString="3"), _lm("lesion_count"), 3, id="count-text"
        ),
        pytest.param(
            observation("o", local(fc.BILOBAR), valueBoolean=True), _lm("bilobar"), True, id="bilobar-boolean"
        ),
        pytest.param(
            observation("o", local(fc.BILOBAR), valueCodeableConcept=cc(fc.V2_YES_NO, "Y")),
            _lm("bilobar"),
            True,
            id="bilobar-v2",
        ),
        pytest.param(
            observation("o", local(fc.BILOBAR), valueCodeableConcept=snomed("373067005")),
            _lm("bilobar"),
            False,
            id="bilobar-snomed-no",
        ),
        pytest.param(
            observation("o", local(fc.FUTURE_LIVER_REMNANT), valueQuantity=quantity(30, "%")),
            _lm("future_liver_remnant_pct"),
            30.0,
            id="flr-percent",
        ),
        pytest.param(
            observation("o", local(fc.FUTURE_LIVER_REMNANT), valueQuantity=quantity(0.3, "1")),
            _lm("future_liver_remnant_pct"),
            30.0,
            id="flr-fraction",
        ),
        pytest.param(
            observation(
                "o", local(fc.HEPATECTOMY_COMPLEXITY), valueCodeableConcept=local("complexity-grade-iii")
            ),
            _lm("planned_complexity"),
            HepatectomyComplexity.GRADE_III,
            id="complexity-coded",
        ),
        pytest.param(
            observation("o", local(fc.HEPATECTOMY_COMPLEXITY), valueString="Grade 3"),
            _lm("planned_complexity"),
            HepatectomyComplexity.GRADE_III,
            id="complexity-text",
        ),
        pytest.param(
            observation("o", local(fc.MDT_RESECTABILITY), valueCodeableConcept=local("resectable")),
            _lm("mdt_resectability"),
            Resectability.RESECTABLE,
            id="mdt-coded",
        ),
        pytest.param(
            observation("o", local(fc.MDT_RESECTABILITY), valueString="Potentially resectable"),
            _lm("mdt_resectability"),
            Resectability.POTENTIALLY_RESECTABLE,
            id="mdt-text",
        ),
        pytest.param(
            observation(
                "o",
                loinc("21889-1"),
                bodySite=snomed("10200004"),
                component=[component(loinc("33728-7"), valueQuantity=quantity(35, "mm"))],
            ),
            _lm("largest_diameter_cm"),
            3.5,
            id="tumor-size-mm-bodysite",
        ),
        pytest.param(
            observation(
                "o",
                loinc("21889-1"),
                focus=[{"reference": "Condition/lm"}],
                component=[component(loinc("33728-7"), valueQuantity=quantity(3.5, "cm"))],
            ),
            _lm("largest_diameter_cm"),
            3.5,
            id="tumor-size-focus-condition",
        ),
        pytest.param(
            observation(
                "o",
                loinc("33728-7"),
                focus=[{"reference": "#t"}],
                contained=[
                    {
                        "resourceType": "BodyStructure",
                        "id": "t",
                        "location": snomed("10200004"),
                        "patient": {"reference": "Patient/p1"},
                    }
                ],
                valueQuantity=quantity(35, "mm"),
            ),
            _lm("largest_diameter_cm"),
            3.5,
            id="size-single-observation-contained-tumor",
        ),
        pytest.param(
            observation("o", local(fc.ANAL_VERGE_DISTANCE), valueQuantity=quantity(80, "mm")),
            lambda f: f.primary.anal_verge_distance_cm if f.primary else None,
            8.0,
            id="anal-verge-mm",
        ),
        pytest.param(
            observation("o", local(fc.DECLINES_CHEMOTHERAPY_FIRST), valueBoolean=True),
            lambda f: f.declines_chemotherapy_first,
            True,
            id="declines-chemotherapy",
        ),
        pytest.param(
            observation("o", local(fc.NO_EXTRAHEPATIC_DISEASE), valueBoolean=True),
            lambda f: f.extrahepatic_absent,
            True,
            id="no-extrahepatic-disease",
        ),
        pytest.param(
            observation("o", loinc("21907-1"), valueCodeableConcept=cc(fc.AJCC, "cM1a")),
            lambda f: f.extrahepatic_absent,
            True,
            id="m1a-liver-only",
        ),
    ],
)
def test_liver_and_local_data_items(resource: Json, getter: Getter, value: object) -> None:
    """Lesion count, bilobar spread, FLR, complexity, MDT view, size and the other local items are read."""
    facts = run(primary("crc"), liver("lm"), resource)
    _check(facts, getter, value, "Observation/o")


@pytest.mark.parametrize(
    ("msh6", "pms2", "expected"),
    [
        pytest.param(
            "No loss of nuclear expression",
            "No loss of nuclear expression",
            MmrStatus.PROFICIENT,
            id="no-loss",
        ),
        pytest.param("Expressed", "Not expressed", MmrStatus.DEFICIENT, id="not-expressed"),
        pytest.param("Positive", "Negative", MmrStatus.DEFICIENT, id="negative-staining"),
    ],
)
def test_mmr_immunostain_wording(msh6: str, pms2: str, expected: MmrStatus) -> None:
    """Immunostain text is read carefully: 'no loss' is retained, 'not expressed' and 'negative' are lost."""
    panel = observation(
        "o",
        cc(None, None, text="MMR IHC"),
        component=[
            component(loinc("81693-4"), valueString=msh6),
            component(loinc("81694-2"), valueString=pms2),
        ],
    )
    _check(run(primary(), panel), _mmr, expected, "Observation/o")


def test_tumour_size_without_a_liver_site_is_not_a_liver_lesion() -> None:
    """A tumour size that is not shown to be in the liver (e.g. the primary) is not the liver diameter."""
    size = observation(
        "o", loinc("21889-1"), component=[component(loinc("33728-7"), valueQuantity=quantity(5, "cm"))]
    )
    of_primary = observation(
        "p",
        loinc("21889-1"),
        focus=[{"reference": "Condition/crc"}],
        component=[component(loinc("33728-7"), valueQuantity=quantity(4, "cm"))],
    )
    facts = run(primary("crc"), liver(), size, of_primary)
    assert facts.liver_metastases is not None
    assert facts.liver_metastases.largest_diameter_cm is None
    assert [n.sources for n in facts.data_notes] == [("Observation/o",)]


def _request(rid: str, **medication: Any) -> Json:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "completed",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "authoredOn": "2024-03-04",
        **medication,
    }


def _administration(rid: str, **medication: Any) -> Json:
    return {
        "resourceType": "MedicationAdministration",
        "id": rid,
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-03-04T09:00:00Z",
        **medication,
    }


def _statement(rid: str, **medication: Any) -> Json:
    return {
        "resourceType": "MedicationStatement",
        "id": rid,
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-03-04",
        **medication,
    }


OXALIPLATIN_MEDICATION = {"resourceType": "Medication", "id": "med", "code": cc(fc.RXNORM, "1736776")}


@pytest.mark.parametrize(
    ("resources", "expected_sources"),
    [
        pytest.param(
            [_request("m", medicationCodeableConcept=cc(fc.RXNORM, "32592"))],
            ("MedicationRequest/m",),
            id="rxnorm-ingredient",
        ),
        pytest.param(
            [_request("m", medicationCodeableConcept=cc(fc.RXNORM, "1736776"))],
            ("MedicationRequest/m",),
            id="rxnorm-product-synthea",
        ),
        pytest.param(
            [_request("m", medicationCodeableConcept=cc(fc.RXNORM, "575971"))],
            ("MedicationRequest/m",),
            id="rxnorm-brand-product",
        ),
        pytest.param(
            [_administration("m", medicationCodeableConcept=cc(fc.ATC, "L01XA03"))],
            ("MedicationAdministration/m",),
            id="atc-administration",
        ),
        pytest.param(
            [_statement("m", medicationCodeableConcept=cc(None, None, text="Oxaliplatin 85 mg/m2 IV"))],
            ("MedicationStatement/m",),
            id="text-statement",
        ),
        pytest.param(
            [_request("m", medicationCodeableConcept=cc(fc.RXNORM, "99999999", "Eloxatin 100 MG"))],
            ("MedicationRequest/m",),
            id="unknown-code-brand-display",
        ),
        pytest.param(
            [OXALIPLATIN_MEDICATION, _request("m", medicationReference={"reference": "Medication/med"})],
            ("MedicationRequest/m", "Medication/med"),
            id="bundled-medication",
        ),
        pytest.param(
            [
                _request(
                    "m",
                    contained=[{"resourceType": "Medication", "id": "c", "code": cc(fc.ATC, "L01XA03")}],
                    medicationReference={"reference": "#c"},
                )
            ],
            ("MedicationRequest/m",),
            id="contained-medication",
        ),
        pytest.param(
            [
                {
                    "resourceType": "Medication",
                    "id": "mix",
                    "code": cc(None, None, text="Mixture"),
                    "ingredient": [{"itemCodeableConcept": cc(fc.RXNORM, "32592")}],
                },
                _request("m", medicationReference={"reference": "Medication/mix"}),
            ],
            ("MedicationRequest/m", "Medication/mix"),
            id="medication-ingredient",
        ),
        pytest.param(
            [_statement("m", medicationCodeableConcept=cc(None, None, text="mFOLFOX6"))],
            ("MedicationStatement/m",),
            id="regimen-name",
        ),
        pytest.param(
            [
                _request(
                    "m", medicationReference={"reference": "Medication/missing", "display": "oxaliplatin"}
                )
            ],
            ("MedicationRequest/m",),
            id="unresolved-reference-display",
        ),
    ],
)
def test_oxaliplatin_exposure(resources: list[Json], expected_sources: tuple[str, ...]) -> None:
    """Oxaliplatin is found from RxNorm ingredient/product, ATC, text, and referenced Medications."""
    facts = run(*resources)
    assert not crashed(facts)
    oxaliplatin = [t for t in facts.therapies if t.agent is Agent.OXALIPLATIN]
    assert len(oxaliplatin) == 1, (facts.therapies, facts.data_notes)
    assert oxaliplatin[0].sources == expected_sources
    assert oxaliplatin[0].start == date(2024, 3, 4)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Fluorouracil 50 MG/ML Topical Cream", id="topical-5fu"),
        pytest.param("Trifluridine 1% ophthalmic solution", id="trifluridine-eye-drops"),
        pytest.param("Paracetamol 500 mg", id="unrelated"),
    ],
)
def test_non_systemic_medications_are_not_exposures(text: str) -> None:
    """Topical fluorouracil, trifluridine eye drops and unrelated drugs are not anticancer exposures."""
    facts = run(_statement("m", medicationCodeableConcept=cc(None, None, text=text)))
    assert facts.therapies == ()


def test_regimen_gives_each_agent_and_dates_from_periods() -> None:
    """A FOLFIRI statement with a period gives irinotecan, fluorouracil and leucovorin with start and end."""
    statement = _statement("m", medicationCodeableConcept=cc(None, None, text="FOLFIRI + bevacizumab"))
    del statement["effectiveDateTime"]
    statement["effectivePeriod"] = {"start": "2024-01-02", "end": "2024-04-30"}
    facts = run(statement)
    assert {t.agent for t in facts.therapies} == {
        Agent.IRINOTECAN,
        Agent.FLUOROURACIL,
        Agent.LEUCOVORIN,
        Agent.BEVACIZUMAB,
    }
    assert {(t.start, t.end) for t in facts.therapies} == {(date(2024, 1, 2), date(2024, 4, 30))}


def test_order_given_as_administration_is_counted_once() -> None:
    """An order that an administration refers to is not counted again."""
    order = _request("r", medicationCodeableConcept=cc(fc.RXNORM, "1736776"))
    given = _administration(
        "a", medicationCodeableConcept=cc(fc.RXNORM, "1736776"), request={"reference": "MedicationRequest/r"}
    )
    facts = run(order, given)
    assert [t.sources for t in facts.therapies] == [("MedicationAdministration/a",)]


def test_unsupplied_medication_reference_is_noted() -> None:
    """An order pointing at a Medication that was not supplied gives no agent and a data note."""
    facts = run(_request("m", medicationReference={"reference": "Medication/absent"}))
    assert facts.therapies == ()
    assert any("MedicationRequest/m" in n.sources for n in facts.data_notes)


@pytest.mark.parametrize(
    ("resources", "kind", "margin"),
    [
        pytest.param(
            [procedure("h", snomed("71273005"))], "resection", None, id="snomed-partial-hepatectomy"
        ),
        pytest.param([procedure("h", cc(fc.CPT, "47120"))], "resection", None, id="cpt-hepatectomy"),
        pytest.param([procedure("h", snomed("448781006"))], "ablation", None, id="snomed-rfa"),
        pytest.param([procedure("h", cc(fc.CPT, "47382"))], "ablation", None, id="cpt-percutaneous-rfa"),
        pytest.param(
            [procedure("h", local("portal-vein-embolisation"))],
            "portal-vein-embolisation",
            None,
            id="local-pve",
        ),
        pytest.param(
            [procedure("h", snomed("71273005"), outcome=local("margin-r1"))],
            "resection",
            Margin.R1,
            id="margin-outcome-code",
        ),
        pytest.param(
            [procedure("h", snomed("71273005"), outcome=cc(None, None, text="R0 resection"))],
            "resection",
            Margin.R0,
            id="margin-outcome-text",
        ),
        pytest.param(
            [
                procedure("h", snomed("71273005")),
                observation(
                    "mg",
                    local(fc.RESECTION_MARGIN),
                    when="2024-03-09",
                    partOf=[{"reference": "Procedure/h"}],
                    valueCodeableConcept=local("margin-r0"),
                ),
            ],
            "resection",
            Margin.R0,
            id="margin-observation-part-of",
        ),
        pytest.param(
            [
                procedure("h", snomed("71273005")),
                observation("mg", local(fc.RESECTION_MARGIN), when="2024-03-09", valueString="R1"),
            ],
            "resection",
            Margin.R1,
            id="margin-observation-by-date",
        ),
    ],
)
def test_liver_procedures(resources: list[Json], kind: str, margin: Margin | None) -> None:
    """Prior liver resections, ablations and PVE are read, with the margin where recorded."""
    facts = run(*resources)
    assert [(p.kind, p.performed, p.sources) for p in facts.liver_procedures] == [
        (kind, date(2024, 3, 1), ("Procedure/h",))
    ]
    recorded = facts.liver_procedures[0].margin
    assert (recorded.value if recorded else None) == margin


@pytest.mark.parametrize(
    ("resource", "note"),
    [
        pytest.param(condition("o", icd10("C50.911")), None, id="icd10-breast"),
        pytest.param(
            condition("o", snomed("254837009"), meta=MCODE_PRIMARY, bodySite=[snomed("76752008")]),
            None,
            id="mcode-breast",
        ),
        pytest.param(
            condition("o", cc(fc.SNOMED, "399068003", text="Malignant tumor of prostate")),
            "recognised from the condition text",
            id="text",
        ),
    ],
)
def test_other_primary_cancers(resource: Json, note: str | None) -> None:
    """Other confirmed primary cancers are kept, so the core cannot attribute liver metastases silently."""
    facts = run(primary(), liver(), resource)
    assert len(facts.other_primary_cancers) == 1
    assert facts.other_primary_cancers[0].sources == ("Condition/o",)
    assert facts.other_primary_cancers[0].note == note


@pytest.mark.parametrize(
    "text",
    ["Carcinoma in situ of prostate", "Polyp of colon", "History of malignant neoplasm of breast"],
)
def test_not_other_primary_cancers(text: str) -> None:
    """In-situ disease, polyps and history-of codes are not other primary cancers."""
    facts = run(primary(), condition("o", cc(None, None, text=text)))
    assert facts.other_primary_cancers == ()

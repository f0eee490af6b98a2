"""Every rule of the rule base, with a patient built to hit it and one built to just miss it, plus
the content each kind of card must carry (citations, provenance, disagreements, newer evidence,
missing data, actions, assumptions)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from cds_service.core import DecisionPolicy, TimingDefinition, decide
from cds_service.core.facts import (
    Agent,
    BrafStatus,
    DiseaseStatus,
    ExtrahepaticSite,
    HepatectomyComplexity,
    Margin,
    MmrStatus,
    PatientFacts,
    PrimarySite,
    RecordKind,
    Resectability,
    Symptom,
)
from cds_service.core.recommendations import ActionKind, Decision, Indicator, Recommendation

from .builders import (
    KNOWLEDGE,
    MUT,
    TODAY,
    WT,
    conflict,
    crlm,
    cycles_of,
    exposure,
    folfox,
    liver_resection,
    rectal,
    ref,
    unknown_drug,
    unread,
    unresectable_left_wild_type,
)

POT = Resectability.POTENTIALLY_RESECTABLE
UNRES = Resectability.UNRESECTABLE
RES = Resectability.RESECTABLE
ADJUVANT_OXALIPLATIN = exposure(Agent.OXALIPLATIN, date(2025, 11, 1), date(2026, 3, 1))
OLD_OXALIPLATIN = exposure(Agent.OXALIPLATIN, date(2024, 11, 1), date(2025, 3, 1))
CETUXIMAB = exposure(Agent.CETUXIMAB, date(2026, 10, 1))
RESECTED = (liver_resection(date(2026, 11, 1)),)
ENCORAFENIB = exposure(Agent.ENCORAFENIB, date(2026, 10, 1))
ADAM = DecisionPolicy(timing_definition=TimingDefinition.ADAM_2015)
UNREAD_PRIMARY = unread(RecordKind.COLORECTAL_PRIMARY, "crc")
UNREAD_LIVER = unread(RecordKind.LIVER_METASTASES, "lm")
#: An order of unknown drug six months before the metastases (detected 2026-09-01).
UNKNOWN_DRUG = unknown_drug(date(2026, 3, 1))
POSTOPERATIVE_OXALIPLATIN = exposure(Agent.OXALIPLATIN, date(2026, 1, 1), date(2026, 3, 12))
#: Resected 2025-12-01 (first Condition 2025-08-03), a new liver-metastasis Condition on 2026-09-01.
RECURRED: dict[str, Any] = {
    "diagnosed": date(2025, 8, 1),
    "detected": date(2025, 8, 3),
    "primary_resected": date(2025, 8, 20),
    "liver_procedures": (liver_resection(date(2025, 12, 1)),),
    "onsets": (date(2025, 8, 3), date(2026, 9, 1)),
    "mdt": None,
}
RECURRED_FACTS: dict[str, Any] = RECURRED
FOLFOX_SEP = folfox(date(2026, 9, 10), 4)
#: Unresectable, FOLFOX January to June 2026, progression on 2026-10-15 during a break.
AFTER_BREAK: dict[str, Any] = {
    "diagnosed": date(2025, 12, 1),
    "detected": date(2025, 12, 3),
    "mdt": UNRES,
    "mdt_date": date(2025, 12, 20),
    "status": DiseaseStatus.PROGRESSION,
    "status_date": date(2026, 10, 15),
    "therapies": folfox(date(2026, 1, 1), 12),
}


def run(facts: PatientFacts, policy: DecisionPolicy | None = None) -> Decision:
    """Decide for ``facts`` as of the fixed test date."""
    return decide(facts, KNOWLEDGE, today=TODAY, policy=policy)


def fired(facts: PatientFacts, policy: DecisionPolicy | None = None) -> dict[str, Recommendation]:
    """Recommendations by rule id."""
    return {r.rule_id: r for r in run(facts, policy).recommendations}


@dataclass(frozen=True)
class Case:
    """A rule with a patient that hits it and one that just misses it."""

    rule: str
    hit: PatientFacts
    miss: PatientFacts
    policy: DecisionPolicy | None = None

    def __str__(self) -> str:
        return self.rule


def case(rule: str, hit: dict[str, Any], miss: dict[str, Any], policy: DecisionPolicy | None = None) -> Case:
    """A case from keyword overrides of the baseline patient."""
    return Case(rule, crlm(**hit), crlm(**miss), policy)


CASES: list[Case] = [
    case(
        "conflict-anti-egfr-not-indicated",
        {"therapies": (CETUXIMAB,)},
        {"therapies": (CETUXIMAB,), "mdt": POT},
    ),
    case(
        "conflict-anti-egfr-not-indicated",
        {"therapies": (CETUXIMAB,), "mdt_date": date(2026, 9, 20)},
        {
            "therapies": (CETUXIMAB,),
            "mdt_earlier": ((POT, date(2026, 9, 20)),),
            "mdt_date": date(2026, 11, 1),
        },
    ),
    case(
        "conflict-anti-egfr-not-indicated",
        {
            "therapies": (CETUXIMAB,),
            "mdt_earlier": ((RES, date(2026, 9, 15)),),
            "mdt_date": date(2026, 11, 20),
        },
        {
            "therapies": (CETUXIMAB,),
            "mdt_earlier": ((POT, date(2026, 9, 15)),),
            "mdt_date": date(2026, 11, 20),
        },
    ),
    case(
        "conflict-anti-egfr-not-indicated",
        {"therapies": (CETUXIMAB,), "mdt_date": date(2026, 11, 20)},
        {
            "therapies": (CETUXIMAB,),
            "mdt_earlier": ((UNRES, date(2026, 10, 1)),),
            "mdt_date": date(2026, 11, 20),
        },
    ),
    case(
        "conflict-anti-egfr-not-indicated",
        {"therapies": (CETUXIMAB,), "mdt": None, "measured": date(2026, 9, 10)},
        {"therapies": (CETUXIMAB,), "mdt": None, "measured": date(2026, 9, 10), "flr": None},
    ),
    case(
        "conflict-anti-egfr-not-indicated",
        {"therapies": (CETUXIMAB,), "mdt": None, "measured": date(2026, 9, 10)},
        {"therapies": (CETUXIMAB,), "mdt": None, "measured": date(2026, 10, 20), "flr": None},
    ),
    Case(
        "conflict-anti-egfr-not-indicated",
        unresectable_left_wild_type(braf=None, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(therapies=(CETUXIMAB,)),
    ),
    Case(
        "conflict-anti-egfr-not-indicated",
        unresectable_left_wild_type(site=None, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(site=PrimarySite.DESCENDING_COLON, therapies=(CETUXIMAB,)),
    ),
    Case(
        "conflict-anti-egfr-not-indicated",
        unresectable_left_wild_type(site=PrimarySite.COLON_UNSPECIFIED, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(site=PrimarySite.RECTUM, therapies=(CETUXIMAB,)),
    ),
    Case(
        "anti-egfr-breakwater",
        unresectable_left_wild_type(braf=BrafStatus.V600E, therapies=(CETUXIMAB, ENCORAFENIB)),
        unresectable_left_wild_type(braf=BrafStatus.V600E, therapies=(CETUXIMAB,)),
    ),
    Case(
        "anti-egfr-breakwater",
        unresectable_left_wild_type(
            site=PrimarySite.ASCENDING_COLON, braf=BrafStatus.V600E, therapies=(CETUXIMAB, ENCORAFENIB)
        ),
        unresectable_left_wild_type(
            site=PrimarySite.ASCENDING_COLON,
            braf=BrafStatus.V600E,
            kras=None,
            therapies=(CETUXIMAB, ENCORAFENIB),
        ),
    ),
    Case(
        "conflict-anti-egfr-not-indicated",
        unresectable_left_wild_type(site=PrimarySite.ASCENDING_COLON, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(site=PrimarySite.SIGMOID_COLON, therapies=(CETUXIMAB,)),
    ),
    Case(
        "conflict-anti-egfr-not-indicated",
        unresectable_left_wild_type(site=PrimarySite.TRANSVERSE_COLON, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(site=PrimarySite.SPLENIC_FLEXURE, therapies=(CETUXIMAB,)),
    ),
    Case(
        "conflict-anti-egfr-not-indicated",
        unresectable_left_wild_type(nras=None, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(nras=None, ras_unspecified=WT, therapies=(CETUXIMAB,)),
    ),
    case(
        "conflict-anti-egfr-ras-braf-mutant",
        {"kras": None, "nras": None, "ras_unspecified": MUT, "therapies": (CETUXIMAB,), "mdt": POT},
        {"kras": None, "nras": None, "ras_unspecified": WT, "therapies": (CETUXIMAB,), "mdt": POT},
    ),
    case(
        "conflict-anti-egfr-ras-braf-mutant",
        {"kras": MUT, "therapies": (CETUXIMAB,)},
        {"kras": WT, "therapies": (CETUXIMAB,)},
    ),
    case(
        "conflict-anti-egfr-ras-braf-mutant",
        {"braf": BrafStatus.V600E, "therapies": (CETUXIMAB,)},
        {"braf": BrafStatus.V600E, "therapies": (CETUXIMAB, exposure(Agent.ENCORAFENIB, date(2026, 10, 1)))},
    ),
    case(
        "conflict-folfox-after-oxaliplatin-failure",
        {"therapies": (ADJUVANT_OXALIPLATIN, *folfox(date(2026, 9, 15), 2))},
        {"therapies": (ADJUVANT_OXALIPLATIN,)},
    ),
    case(
        "conflict-folfox-after-oxaliplatin-failure",
        {**RECURRED, "therapies": (POSTOPERATIVE_OXALIPLATIN, *folfox(date(2026, 10, 1), 2))},
        {**RECURRED, "therapies": (POSTOPERATIVE_OXALIPLATIN, *folfox(date(2026, 8, 1), 2))},
    ),
    case(
        "conflict-folfox-after-oxaliplatin-failure",
        {"therapies": (ADJUVANT_OXALIPLATIN, *folfox(date(2026, 9, 15), 2))},
        {
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 10, 20),
            "therapies": (*folfox(date(2026, 9, 10), 4), *folfox(date(2026, 11, 1), 2)),
        },
    ),
    case(
        "conflict-progression-planned-resection",
        {"status": DiseaseStatus.PROGRESSION, "therapies": folfox(date(2026, 9, 10), 4)},
        {"status": DiseaseStatus.PROGRESSION, "therapies": folfox(date(2026, 9, 10), 4), "mdt": UNRES},
    ),
    case(
        "conflict-progression-planned-resection",
        {
            "mdt_date": date(2026, 9, 5),
            "lesions": 6,
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 11, 20),
            "therapies": folfox(date(2026, 9, 10), 4),
        },
        {
            "mdt": POT,
            "lesions": 6,
            "mdt_date": date(2026, 9, 5),
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 11, 20),
            "therapies": folfox(date(2026, 9, 10), 4),
        },
    ),
    case("applicability-other-primary", {"other_primaries": ("http://snomed.info/sct|254837009",)}, {}),
    case("applicability-appendix", {"site": PrimarySite.APPENDIX}, {"site": PrimarySite.CECUM}),
    case("resectability-ask-mdt", {"mdt": None, "flr": None}, {"mdt": None}),
    case("resectability-ask-mdt", {"mdt": None, "lesions": 5}, {"mdt": None, "lesions": 4}),
    case("resectability-ask-mdt", {"mdt": None, "bilobar": True}, {"mdt": None, "bilobar": False}),
    case("resectability-ask-mdt", {"mdt": None, "flr": 15.0}, {"mdt": None, "flr": 20.0}),
    case(
        "resectability-ask-mdt",
        {"mdt": None, "measured": date(2026, 9, 5), "therapies": folfox(date(2026, 9, 10), 3)},
        {"mdt": None, "measured": date(2026, 9, 12), "therapies": folfox(date(2026, 9, 10), 1)},
    ),
    case(
        "resectability-ask-mdt",
        {
            "mdt_date": date(2026, 9, 5),
            "measured": date(2026, 9, 1),
            "status": DiseaseStatus.RESPONSE,
            "status_date": date(2026, 11, 1),
            "lesions": 6,
        },
        {
            "mdt_date": date(2026, 11, 5),
            "measured": date(2026, 9, 1),
            "status": DiseaseStatus.RESPONSE,
            "status_date": date(2026, 11, 1),
            "lesions": 6,
        },
    ),
    case(
        "warning-restaging-overdue",
        {
            "diagnosed": date(2026, 6, 1),
            "detected": date(2026, 6, 1),
            "therapies": folfox(date(2026, 6, 5), 12),
        },
        {
            "diagnosed": date(2026, 6, 1),
            "detected": date(2026, 6, 1),
            "therapies": folfox(date(2026, 6, 5), 12),
            "status": DiseaseStatus.STABLE,
            "status_date": date(2026, 11, 1),
        },
    ),
    case("resectability-resectable", {}, {"mdt": POT}),
    case("resectability-potentially-resectable", {"mdt": POT}, {}),
    case("resectability-unresectable", {"mdt": UNRES}, {"mdt": POT}),
    case(
        "recurrence-after-liver-resection",
        {"diagnosed": date(2025, 6, 1), "liver_procedures": (liver_resection(date(2026, 1, 10)),)},
        {"liver_procedures": RESECTED},
    ),
    case("recurrence-after-liver-resection", RECURRED, {**RECURRED, "onsets": (date(2025, 8, 3),)}),
    case(
        "recurrence-after-liver-resection",
        {**RECURRED, "onsets": (), "measured": date(2026, 9, 5)},
        {**RECURRED, "onsets": (), "measured": date(2025, 11, 20)},
    ),
    case(
        "recurrence-after-liver-resection",
        {**RECURRED, "onsets": (), "measured": date(2026, 9, 5)},
        {
            **RECURRED,
            "onsets": (),
            "measured": date(2026, 9, 5),
            "liver_procedures": (
                liver_resection(date(2025, 12, 1)),
                liver_resection(date(2026, 1, 10), kind="portal-vein-embolisation"),
            ),
        },
    ),
    case(
        "recurrence-after-liver-resection",
        {**RECURRED, "onsets": (), "status": DiseaseStatus.PROGRESSION, "status_date": date(2026, 9, 1)},
        {
            **RECURRED,
            "onsets": (),
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 9, 1),
            "liver_procedures": (liver_resection(date(2025, 12, 1)), liver_resection(date(2026, 10, 1))),
        },
    ),
    case("seq-colon-primary-first", {"symptoms": frozenset({Symptom.BLEEDING})}, {"symptoms": frozenset()}),
    case(
        "seq-colon-primary-first",
        {"symptoms": frozenset({Symptom.BLEEDING}), "detected": date(2026, 10, 16)},
        {
            "symptoms": frozenset({Symptom.BLEEDING}),
            "detected": date(2026, 10, 16),
            "primary_resected": date(2026, 9, 20),
        },
    ),
    case(
        "seq-colon-simultaneous",
        {"largest_cm": 2.5, "complexity": HepatectomyComplexity.GRADE_I},
        {"largest_cm": 2.5, "complexity": HepatectomyComplexity.GRADE_III},
    ),
    case("seq-colon-liver-first", {"ecog": 2}, {"ecog": 1}),
    case(
        "seq-colon-liver-first",
        {"ecog": 2, "diagnosed": date(2025, 9, 1), "detected": date(2026, 10, 6)},
        {
            "ecog": 2,
            "diagnosed": date(2025, 9, 1),
            "detected": date(2026, 10, 6),
            "liver_procedures": RESECTED,
        },
    ),
    case(
        "seq-colon-liver-first",
        {"complexity": HepatectomyComplexity.GRADE_III},
        {"complexity": HepatectomyComplexity.GRADE_II},
    ),
    case(
        "seq-colon-undetermined",
        {"largest_cm": 2.5, "complexity": None},
        {"largest_cm": 2.5, "complexity": HepatectomyComplexity.GRADE_II},
    ),
    case(
        "seq-colon-undetermined",
        {"largest_cm": 2.5, "complexity": None, "detected": date(2026, 10, 2)},
        {
            "largest_cm": 2.5,
            "complexity": None,
            "detected": date(2026, 10, 2),
            "primary_resected": date(2026, 9, 20),
        },
    ),
    case("seq-colon-undetermined", {"largest_cm": 3.2, "complexity": None}, {"largest_cm": 3.2, "ecog": 2}),
    case(
        "seq-colon-conversion-first", {"mdt": POT}, {"mdt": POT, "symptoms": frozenset({Symptom.OBSTRUCTION})}
    ),
    Case(
        "seq-rectal-classic",
        rectal(anal_verge_cm=12.0, symptoms=frozenset({Symptom.OBSTRUCTION})),
        rectal(anal_verge_cm=7.0, symptoms=frozenset({Symptom.OBSTRUCTION})),
    ),
    Case("seq-rectal-classic", rectal(declines_chemo=True), rectal(declines_chemo=False)),
    Case("seq-rectal-reverse", rectal(), rectal(declines_chemo=True)),
    Case(
        "seq-rectal-reverse",
        rectal(diagnosed=date(2025, 9, 1), detected=date(2026, 10, 6)),
        rectal(diagnosed=date(2025, 9, 1), detected=date(2026, 10, 6), primary_resected=date(2025, 10, 1)),
    ),
    case(
        "seq-rectal-reverse",
        {"site": PrimarySite.RECTOSIGMOID, "anal_verge_cm": 18.0},
        {"site": PrimarySite.RECTOSIGMOID, "anal_verge_cm": 21.0},
    ),
    Case(
        "seq-rectal-reverse",
        rectal(symptoms=frozenset({Symptom.BLEEDING})),
        crlm(symptoms=frozenset({Symptom.BLEEDING})),
    ),
    case(
        "seq-unresectable-primary-in-place",
        {"mdt": UNRES},
        {"mdt": UNRES, "primary_resected": date(2026, 9, 20)},
    ),
    case(
        "seq-unresectable-primary-in-place",
        {"mdt": UNRES, "detected": date(2026, 10, 16)},
        {"mdt": UNRES, "detected": date(2026, 10, 16), "liver_procedures": RESECTED},
    ),
    case(
        "seq-complete-reverse",
        {"liver_procedures": RESECTED},
        {"liver_procedures": RESECTED, "primary_resected": date(2026, 11, 20)},
    ),
    case(
        "seq-complete-reverse",
        {"liver_procedures": RESECTED, "detected": date(2026, 10, 16)},
        {"liver_procedures": RESECTED, "detected": date(2026, 10, 16), "primary_resected": date(2026, 10, 1)},
    ),
    Case(
        "rectal-obstruction-diversion",
        rectal(symptoms=frozenset({Symptom.PERFORATION})),
        rectal(symptoms=frozenset({Symptom.BLEEDING})),
    ),
    Case(
        "rectal-obstruction-diversion",
        rectal(symptoms=frozenset({Symptom.OBSTRUCTION}), anal_verge_cm=10.0),
        rectal(symptoms=frozenset({Symptom.OBSTRUCTION}), anal_verge_cm=10.5),
    ),
    Case(
        "rectal-obstruction-upper-rectum",
        rectal(symptoms=frozenset({Symptom.OBSTRUCTION}), anal_verge_cm=12.0, mdt=None, flr=None),
        rectal(symptoms=frozenset({Symptom.OBSTRUCTION}), anal_verge_cm=12.0),
    ),
    case("regimen-poor-performance-status", {"ecog": 3}, {"ecog": 2}),
    case(
        "regimen-progression-second-line",
        {"status": DiseaseStatus.PROGRESSION, "therapies": folfox(date(2026, 9, 10), 4)},
        {"status": DiseaseStatus.STABLE, "therapies": folfox(date(2026, 9, 10), 4)},
    ),
    case("regimen-dmmr-resectable", {"mmr": MmrStatus.DEFICIENT}, {"mmr": MmrStatus.DEFICIENT, "mdt": POT}),
    case("regimen-dmmr-first-line", {"mmr": MmrStatus.DEFICIENT, "mdt": POT}, {"mmr": MmrStatus.DEFICIENT}),
    case(
        "regimen-dmmr-first-line",
        {"mmr": MmrStatus.DEFICIENT, "mdt": None, "flr": None},
        {"mdt": None, "flr": None},
    ),
    case(
        "regimen-folfiri-after-oxaliplatin-failure",
        {"therapies": (ADJUVANT_OXALIPLATIN,)},
        {"therapies": (OLD_OXALIPLATIN,)},
    ),
    case(
        "regimen-folfiri-after-oxaliplatin-failure",
        {"therapies": (ADJUVANT_OXALIPLATIN,)},
        {"therapies": (ADJUVANT_OXALIPLATIN,), "liver_procedures": RESECTED},
    ),
    case(
        "regimen-oxaliplatin-history-unclear",
        {"therapies": (exposure(Agent.OXALIPLATIN, None),)},
        {"therapies": (OLD_OXALIPLATIN,)},
    ),
    case(
        "regimen-oxaliplatin-history-unclear",
        {"therapies": (exposure(Agent.OXALIPLATIN, None),)},
        {"therapies": (exposure(Agent.OXALIPLATIN, None),), "unidentified": (UNKNOWN_DRUG,)},
    ),
    case(
        "regimen-oxaliplatin-drug-unidentified",
        {"unidentified": (unknown_drug(date(2025, 9, 1)),)},
        {"unidentified": (unknown_drug(date(2025, 8, 31)),)},
    ),
    case("regimen-oxaliplatin-drug-unidentified", {"unidentified": (unknown_drug(None),)}, {}),
    case(
        "regimen-oxaliplatin-drug-unidentified",
        {"unreadable": (unread(RecordKind.SYSTEMIC_THERAPY),)},
        {"unreadable": (unread(RecordKind.CIRRHOSIS),)},
    ),
    case(
        "regimen-oxaliplatin-drug-unidentified",
        {"unidentified": (UNKNOWN_DRUG,)},
        {"unidentified": (UNKNOWN_DRUG,), "therapies": (ADJUVANT_OXALIPLATIN,)},
    ),
    case(
        "regimen-oxaliplatin-drug-unidentified",
        {"unidentified": (UNKNOWN_DRUG,)},
        {"unidentified": (UNKNOWN_DRUG,), "mmr": MmrStatus.DEFICIENT},
    ),
    case(
        "regimen-oxaliplatin-drug-unidentified",
        {
            "unidentified": (unknown_drug(date(2026, 10, 1)),),
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 11, 20),
        },
        {"unidentified": (unknown_drug(date(2026, 10, 1)),)},
    ),
    case(
        "regimen-upfront-surgery-single-small",
        {"lesions": 1, "largest_cm": 1.5},
        {"lesions": 1, "largest_cm": 2.0},
    ),
    case("regimen-perioperative-folfox", {"lesions": 4}, {"lesions": 5}),
    case("regimen-perioperative-folfox", {}, {"therapies": folfox(date(2026, 9, 10), 2)}),
    case("regimen-preoperative-under-way", {"therapies": folfox(date(2026, 9, 10), 4)}, {}),
    case(
        "regimen-preoperative-under-way",
        {"therapies": folfox(date(2026, 9, 10), 4), "mdt_date": date(2026, 9, 5)},
        {
            "therapies": folfox(date(2026, 9, 10), 4),
            "mdt_earlier": ((POT, date(2026, 9, 5)),),
            "mdt_date": date(2026, 11, 20),
        },
    ),
    case(
        "regimen-preoperative-under-way",
        {"therapies": folfox(date(2026, 9, 10), 4), "mdt_date": date(2026, 11, 20)},
        {
            "therapies": folfox(date(2026, 9, 10), 4),
            "mdt_earlier": ((UNRES, date(2026, 9, 5)),),
            "mdt_date": date(2026, 11, 20),
        },
    ),
    case(
        "regimen-converted-operate-now",
        {
            "therapies": folfox(date(2026, 9, 10), 4),
            "mdt_earlier": ((POT, date(2026, 9, 5)),),
            "mdt_date": date(2026, 11, 20),
        },
        {"therapies": folfox(date(2026, 9, 10), 4), "mdt_date": date(2026, 11, 20)},
    ),
    case(
        "regimen-converted-operate-now",
        {
            "therapies": folfox(date(2026, 9, 10), 4),
            "mdt_earlier": ((UNRES, date(2026, 9, 10)),),
            "mdt_date": date(2026, 11, 20),
        },
        {
            "therapies": folfox(date(2026, 9, 10), 4),
            "mdt_earlier": ((UNRES, date(2026, 9, 11)),),
            "mdt_date": date(2026, 11, 20),
        },
    ),
    case(
        "regimen-converted-operate-now",
        {
            "therapies": folfox(date(2026, 9, 10), 4),
            "mdt_earlier": ((POT, date(2026, 9, 5)),),
            "mdt_date": date(2026, 11, 20),
        },
        {
            "therapies": folfox(date(2026, 9, 10), 4),
            "mdt_earlier": ((POT, date(2026, 8, 1)), (RES, date(2026, 9, 5))),
            "mdt_date": date(2026, 11, 20),
        },
    ),
    case(
        "regimen-perioperative-folfox",
        {"extrahepatic_absent": None},
        {"extrahepatic": (ExtrahepaticSite.LUNG,)},
    ),
    case("regimen-resectable-outside-folfox-criteria", {"lesions": 5}, {"lesions": 4}),
    case("regimen-resectable-outside-folfox-ehd", {"extrahepatic": (ExtrahepaticSite.LUNG,)}, {}),
    case("regimen-resectable-needs-lesion-count", {"lesions": None}, {}),
    Case(
        "regimen-conversion-left-wild-type",
        unresectable_left_wild_type(),
        unresectable_left_wild_type(nras=None),
    ),
    Case(
        "regimen-conversion-left-wild-type",
        unresectable_left_wild_type(site=PrimarySite.SPLENIC_FLEXURE),
        unresectable_left_wild_type(site=PrimarySite.TRANSVERSE_COLON),
    ),
    Case(
        "regimen-conversion-left-wild-type",
        unresectable_left_wild_type(ecog=2),
        unresectable_left_wild_type(ecog=3),
    ),
    Case(
        "regimen-conversion-left-wild-type",
        unresectable_left_wild_type(mdt=UNRES, extrahepatic=(ExtrahepaticSite.LUNG, ExtrahepaticSite.BONE)),
        unresectable_left_wild_type(mdt=None, extrahepatic=(ExtrahepaticSite.LUNG, ExtrahepaticSite.BONE)),
    ),
    Case(
        "regimen-left-wild-type-awaits-mdt",
        unresectable_left_wild_type(mdt=None, extrahepatic=(ExtrahepaticSite.LUNG, ExtrahepaticSite.BONE)),
        unresectable_left_wild_type(mdt=UNRES, extrahepatic=(ExtrahepaticSite.LUNG, ExtrahepaticSite.BONE)),
    ),
    Case(
        "regimen-conversion-right-wild-type",
        unresectable_left_wild_type(site=PrimarySite.HEPATIC_FLEXURE),
        unresectable_left_wild_type(site=PrimarySite.TRANSVERSE_COLON),
    ),
    Case(
        "regimen-conversion-sidedness-uncertain",
        unresectable_left_wild_type(site=PrimarySite.TRANSVERSE_COLON),
        unresectable_left_wild_type(site=PrimarySite.SPLENIC_FLEXURE),
    ),
    Case(
        "regimen-conversion-sidedness-uncertain",
        unresectable_left_wild_type(site=None),
        unresectable_left_wild_type(),
    ),
    Case("regimen-conversion-mutant", unresectable_left_wild_type(kras=MUT), unresectable_left_wild_type()),
    Case(
        "regimen-conversion-mutant",
        unresectable_left_wild_type(braf=BrafStatus.V600E),
        unresectable_left_wild_type(braf=None),
    ),
    Case(
        "regimen-conversion-biomarkers-pending",
        unresectable_left_wild_type(braf=None),
        unresectable_left_wild_type(),
    ),
    case(
        "regimen-complete-perioperative",
        {"liver_procedures": RESECTED, "therapies": (ADJUVANT_OXALIPLATIN,)},
        {"liver_procedures": RESECTED, "therapies": (exposure(Agent.OXALIPLATIN, None),)},
    ),
    case(
        "regimen-complete-perioperative",
        {"liver_procedures": RESECTED},
        {"liver_procedures": RESECTED, "mmr": MmrStatus.DEFICIENT},
    ),
    case(
        "regimen-complete-perioperative",
        {
            "liver_procedures": RESECTED,
            "detected": date(2026, 3, 3),
            "therapies": folfox(date(2026, 4, 1), 11),
        },
        {
            "liver_procedures": RESECTED,
            "detected": date(2026, 3, 3),
            "therapies": folfox(date(2026, 4, 1), 12),
        },
    ),
    case(
        "regimen-perioperative-course-complete",
        {
            "liver_procedures": RESECTED,
            "detected": date(2026, 3, 3),
            "therapies": folfox(date(2026, 4, 1), 12),
        },
        {
            "liver_procedures": RESECTED,
            "detected": date(2026, 3, 3),
            "therapies": folfox(date(2026, 4, 1), 11),
        },
    ),
    case(
        "regimen-perioperative-course-complete",
        {
            "liver_procedures": RESECTED,
            "detected": date(2026, 3, 3),
            "therapies": cycles_of(Agent.OXALIPLATIN, date(2026, 4, 1), 8, every_days=21),
        },
        {
            "liver_procedures": RESECTED,
            "detected": date(2026, 3, 3),
            "therapies": cycles_of(Agent.OXALIPLATIN, date(2026, 4, 1), 7, every_days=21),
        },
    ),
    case(
        "regimen-dmmr-after-liver-treatment",
        {"liver_procedures": RESECTED, "mmr": MmrStatus.DEFICIENT},
        {"liver_procedures": RESECTED},
    ),
    Case(
        "warning-anti-egfr-contraindicated",
        unresectable_left_wild_type(site=PrimarySite.ASCENDING_COLON),
        unresectable_left_wild_type(),
    ),
    Case(
        "warning-anti-egfr-contraindicated",
        unresectable_left_wild_type(braf=BrafStatus.OTHER_MUTATION, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(therapies=(CETUXIMAB,)),
    ),
    Case(
        "warning-anti-egfr-contraindicated",
        unresectable_left_wild_type(mmr=MmrStatus.DEFICIENT, therapies=(CETUXIMAB,)),
        unresectable_left_wild_type(
            mmr=MmrStatus.DEFICIENT, braf=BrafStatus.V600E, therapies=(CETUXIMAB, ENCORAFENIB)
        ),
    ),
    case(
        "warning-oxaliplatin-failure",
        {"therapies": (ADJUVANT_OXALIPLATIN,), "liver_procedures": RESECTED},
        {"therapies": (ADJUVANT_OXALIPLATIN,)},
    ),
    case("warning-oxaliplatin-failure", {**RECURRED, "therapies": (POSTOPERATIVE_OXALIPLATIN,)}, RECURRED),
    case(
        "warning-oxaliplatin-failure",
        {**RECURRED, "therapies": (POSTOPERATIVE_OXALIPLATIN,)},
        {**RECURRED, "onsets": (date(2027, 3, 20),), "therapies": (POSTOPERATIVE_OXALIPLATIN,)},
    ),
    case(
        "warning-oxaliplatin-failure",
        {
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 10, 20),
            "therapies": (*folfox(date(2026, 9, 10), 4), *folfox(date(2026, 11, 1), 2)),
        },
        {
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 10, 20),
            "therapies": (*folfox(date(2026, 6, 1), 4), *folfox(date(2026, 11, 1), 2)),
        },
    ),
    case(
        "oxaliplatin-progression-after-break", AFTER_BREAK, {**AFTER_BREAK, "status_date": date(2026, 8, 1)}
    ),
    case(
        "oxaliplatin-progression-after-break",
        AFTER_BREAK,
        {**AFTER_BREAK, "therapies": (*folfox(date(2025, 6, 1), 6), *folfox(date(2026, 11, 1), 2))},
    ),
    case(
        "warning-progression-on-chemotherapy",
        {
            "mdt": UNRES,
            "ecog": 3,
            "status": DiseaseStatus.PROGRESSION,
            "therapies": folfox(date(2026, 9, 10), 4),
        },
        {
            "mdt": UNRES,
            "ecog": 2,
            "status": DiseaseStatus.PROGRESSION,
            "therapies": folfox(date(2026, 9, 10), 4),
        },
    ),
    case(
        "warning-progression-on-chemotherapy",
        {
            "mdt": UNRES,
            "ecog": 3,
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 11, 20),
            "therapies": folfox(date(2026, 8, 1), 6),
        },
        {
            "mdt": UNRES,
            "ecog": 3,
            "status": DiseaseStatus.PROGRESSION,
            "status_date": date(2026, 11, 20),
            "therapies": folfox(date(2023, 8, 1), 6),
        },
    ),
    case(
        "warning-complete-response-achieved",
        {"status": DiseaseStatus.COMPLETE_RESPONSE},
        {"status": DiseaseStatus.COMPLETE_RESPONSE, "liver_procedures": RESECTED},
    ),
    case(
        "warning-complete-radiological-response",
        {"status": DiseaseStatus.RESPONSE},
        {"status": DiseaseStatus.COMPLETE_RESPONSE},
    ),
    case(
        "warning-complete-radiological-response",
        {"status": DiseaseStatus.RESPONSE},
        {"status": DiseaseStatus.RESPONSE, "mdt": UNRES},
    ),
    case("warning-prehepatectomy-cycles", {"cycles": 9}, {"cycles": 8}),
    case("warning-prehepatectomy-cycles", {"cycles": 9, "mdt": POT}, {"cycles": 9, "mdt": UNRES}),
    case(
        "warning-prehepatectomy-cycles",
        {
            "diagnosed": date(2026, 6, 1),
            "detected": date(2026, 6, 1),
            "therapies": folfox(date(2026, 6, 5), 9),
        },
        {
            "diagnosed": date(2026, 6, 1),
            "detected": date(2026, 6, 1),
            "therapies": folfox(date(2026, 6, 5), 8),
        },
    ),
    case(
        "regimen-complete-perioperative",
        {"liver_procedures": RESECTED},
        {
            "diagnosed": date(2025, 6, 1),
            "detected": date(2025, 6, 1),
            "liver_procedures": (liver_resection(date(2025, 9, 1)),),
        },
    ),
    case(
        "warning-r1-margin",
        {"liver_procedures": (liver_resection(date(2026, 11, 1), Margin.R1),)},
        {
            "diagnosed": date(2025, 6, 1),
            "detected": date(2025, 6, 1),
            "liver_procedures": (liver_resection(date(2025, 9, 1), Margin.R1),),
        },
    ),
    case(
        "warning-r1-margin",
        {"liver_procedures": (liver_resection(date(2026, 11, 1), Margin.R1),)},
        {"liver_procedures": (liver_resection(date(2026, 11, 1), Margin.R0),)},
    ),
    case("warning-ras-tp53-comutation", {"kras": MUT, "tp53": MUT}, {"kras": MUT, "tp53": WT}),
    case(
        "warning-ras-tp53-comutation",
        {"kras": MUT, "tp53": MUT, "detected": date(2026, 10, 16)},
        {"kras": MUT, "tp53": MUT, "detected": date(2026, 10, 16), "primary_resected": date(2026, 10, 1)},
    ),
    case("warning-large-metastasis", {"largest_cm": 5.5}, {"largest_cm": 5.0}),
    case(
        "ehd-single-site",
        {"extrahepatic": (ExtrahepaticSite.LUNG,)},
        {"extrahepatic": (ExtrahepaticSite.LUNG, ExtrahepaticSite.BONE)},
    ),
    case(
        "ehd-single-site",
        {"extrahepatic": (ExtrahepaticSite.HILAR_NODES, ExtrahepaticSite.DISTANT_NODES)},
        {"extrahepatic": (ExtrahepaticSite.CELIAC_OR_PARA_AORTIC_NODES,)},
    ),
    case(
        "ehd-multiple-sites",
        {"extrahepatic": (ExtrahepaticSite.LUNG, ExtrahepaticSite.BONE)},
        {"extrahepatic": (ExtrahepaticSite.LUNG,)},
    ),
    case(
        "ehd-peritoneal-eligible",
        {"extrahepatic": (ExtrahepaticSite.PERITONEUM,), "lesions": 3},
        {"extrahepatic": (ExtrahepaticSite.PERITONEUM,), "lesions": 4},
    ),
    case(
        "ehd-peritoneal-not-eligible",
        {"extrahepatic": (ExtrahepaticSite.PERITONEUM,), "lesions": 2, "ecog": 2},
        {"extrahepatic": (ExtrahepaticSite.PERITONEUM,), "lesions": 2, "ecog": 1},
    ),
    case(
        "ehd-peritoneal-undetermined",
        {"extrahepatic": (ExtrahepaticSite.PERITONEUM,), "lesions": None},
        {"extrahepatic": (ExtrahepaticSite.PERITONEUM,), "lesions": 3},
    ),
    case(
        "ehd-celiac-para-aortic-nodes",
        {"extrahepatic": (ExtrahepaticSite.CELIAC_OR_PARA_AORTIC_NODES,)},
        {"extrahepatic": (ExtrahepaticSite.HILAR_NODES,)},
    ),
    case("liver-flr-insufficient-pve", {"flr": 19.5, "mdt": POT}, {"flr": 20.0, "mdt": POT}),
    case(
        "liver-flr-insufficient-pve",
        {"flr": 39.0, "cirrhosis": True, "mdt": POT},
        {"flr": 40.0, "cirrhosis": True, "mdt": POT},
    ),
    case(
        "liver-flr-insufficient-pve",
        {"flr": 35.0, "cycles": 7, "mdt": POT},
        {"flr": 35.0, "cycles": 6, "mdt": POT},
    ),
    case(
        "liver-flr-insufficient-pve",
        {"flr": 40.0, "cycles": 7, "mdt": POT},
        {"flr": 40.5, "cycles": 7, "mdt": POT},
    ),
    case("liver-flr-insufficient-pve", {"flr": 15.0, "mdt": None}, {"flr": 15.0, "mdt": UNRES}),
    case("liver-flr-insufficient-pve", {"flr": 19.5, "mdt": POT}, {"flr": 19.5}),
    case(
        "liver-two-stage-hepatectomy",
        {"flr": 15.0, "bilobar": True, "mdt": POT},
        {"flr": 15.0, "bilobar": False, "mdt": POT},
    ),
    case(
        "liver-two-stage-hepatectomy",
        {"flr": 15.0, "bilobar": True, "mdt": POT},
        {"flr": 15.0, "bilobar": True},
    ),
    case("liver-flr-confirm-before-operation", {"flr": 35.0, "cycles": 7}, {"flr": 35.0, "cycles": 6}),
    case("liver-flr-confirm-before-operation", {"flr": 19.5}, {"flr": 19.5, "mdt": POT}),
    case("liver-flr-confirm-before-operation", {"flr": 40.0, "cycles": 7}, {"flr": 40.5, "cycles": 7}),
    case("liver-flr-adequate", {}, {"flr": 15.0}),
    case("liver-flr-adequate", {"flr": 20.0}, {"flr": 19.9}),
    case("liver-flr-unknown", {"flr": None}, {}),
    case(
        "liver-ablation-small-lesions", {"largest_cm": 2.9, "lesions": 3}, {"largest_cm": 3.0, "lesions": 3}
    ),
    case(
        "liver-ablation-small-lesions",
        {"largest_cm": 2.9, "lesions": 3, "status": DiseaseStatus.RESPONSE},
        {"largest_cm": 2.9, "lesions": 3, "status": DiseaseStatus.COMPLETE_RESPONSE},
    ),
    Case("rectal-pelvic-radiotherapy", rectal(t="T3", n="N0"), rectal(t="T2", n="N0")),
    Case(
        "rectal-pelvic-radiotherapy",
        rectal(t="T2", n="N1a"),
        rectal(t="T2", n="N1a", pelvic_rt=date(2026, 10, 1)),
    ),
    Case("rectal-radiotherapy-stage-unknown", rectal(t=None, n="N0"), rectal(t="T2", n="N0")),
    Case(
        "rectal-watch-and-wait", rectal(primary_complete_response=True), crlm(primary_complete_response=True)
    ),
    case("timing-synchronous", {}, {"detected": date(2026, 12, 1)}),
    case(
        "timing-metachronous-early",
        {
            "diagnosed": date(2025, 12, 1),
            "primary_resected": date(2025, 12, 20),
            "detected": date(2026, 4, 1),
        },
        {
            "diagnosed": date(2025, 12, 1),
            "primary_resected": date(2025, 12, 20),
            "detected": date(2026, 12, 2),
        },
    ),
    case(
        "timing-metachronous-late",
        {"diagnosed": date(2024, 1, 1), "primary_resected": date(2024, 2, 1), "detected": date(2026, 9, 1)},
        {"diagnosed": date(2025, 1, 1), "primary_resected": date(2025, 2, 1), "detected": date(2025, 12, 1)},
    ),
    case(
        "timing-metachronous-unclassified",
        {"detected": date(2026, 10, 11)},
        {"detected": date(2026, 9, 3)},
        ADAM,
    ),
    case("timing-undetermined", {"diagnosed": None}, {}),
    case("prognosis-fong-score", {}, {"cea": None}),
    case("prognosis-fong-incomplete", {"cea": None}, {}),
    case("missing-data", {"kras": None}, {}),
    case("missing-data", {"data_notes": (conflict("Two KRAS results disagree", ref("kras")),)}, {}),
    case(
        "data-unreadable-record",
        {"has_primary": False, "unreadable": (UNREAD_PRIMARY,)},
        {"has_primary": False, "unreadable": (UNREAD_LIVER,)},
    ),
    case("data-unreadable-record", {"has_liver": False, "unreadable": (UNREAD_LIVER,)}, {"has_liver": False}),
    case(
        "data-unreadable-record",
        {"has_primary": False, "has_liver": False, "unreadable": (UNREAD_PRIMARY, UNREAD_LIVER)},
        {"has_primary": False, "has_liver": False, "unreadable": (UNREAD_PRIMARY,)},
    ),
    case(
        "data-unreadable-record",
        {"has_primary": False, "unreadable": (UNREAD_PRIMARY,)},
        {"unreadable": (UNREAD_PRIMARY,)},
    ),
    case(
        "data-unreadable-record",
        {"has_liver": False, "unreadable": (UNREAD_LIVER,)},
        {
            "has_liver": False,
            "unreadable": (
                unread(RecordKind.EXTRAHEPATIC_METASTASIS),
                unread(RecordKind.OTHER_PRIMARY_CANCER),
                unread(RecordKind.SYSTEMIC_THERAPY),
            ),
        },
    ),
]


@pytest.mark.parametrize("item", CASES, ids=str)
def test_rule_fires_for_its_patient(item: Case) -> None:
    """The rule fires for the patient built to hit it."""
    assert item.rule in fired(item.hit, item.policy)


@pytest.mark.parametrize("item", CASES, ids=str)
def test_rule_does_not_fire_for_the_near_miss(item: Case) -> None:
    """The rule stays silent for the patient built to just miss it."""
    assert item.rule not in fired(item.miss, item.policy)


def test_every_rule_has_a_case() -> None:
    """The table covers every rule of the rule base."""
    assert {r.id for r in KNOWLEDGE.rules} == {c.rule for c in CASES}


@pytest.mark.parametrize(
    "facts",
    [
        crlm(has_primary=False),
        crlm(has_liver=False),
        crlm(has_primary=False, has_liver=False),
        crlm(has_primary=False, other_primaries=("http://snomed.info/sct|254837009",)),
    ],
    ids=["no-colorectal-primary", "no-liver-metastases", "neither", "breast-cancer-liver-metastases"],
)
def test_no_crlm_card_without_both_conditions(facts: PatientFacts) -> None:
    """Patients without both a colorectal primary and liver metastases get no recommendation."""
    decision = run(facts)
    assert not decision.applicable
    assert decision.recommendations == ()
    assert "no confirmed" in decision.reason.lower()


@pytest.mark.parametrize(
    ("facts", "references"),
    [
        (crlm(has_primary=False, unreadable=(UNREAD_PRIMARY,)), ["Condition/crc"]),
        (crlm(has_liver=False, unreadable=(UNREAD_LIVER,)), ["Condition/lm"]),
        (
            crlm(has_primary=False, has_liver=False, unreadable=(UNREAD_PRIMARY, UNREAD_LIVER)),
            ["Condition/crc", "Condition/lm"],
        ),
    ],
    ids=["primary-unreadable", "liver-unreadable", "both-unreadable"],
)
def test_unreadable_record_gives_one_data_problem_card_that_recommends_nothing(
    facts: PatientFacts, references: list[str]
) -> None:
    """Out of scope only because a record could not be read: one warning card that says the patient
    could not be assessed, names the records with their problem, and recommends nothing."""
    decision = run(facts)
    assert not decision.applicable
    assert "could not be read" in decision.reason
    (rec,) = decision.recommendations
    assert (rec.rule_id, rec.topic, rec.indicator) == (
        "data-unreadable-record",
        "data-unreadable-record",
        Indicator.WARNING,
    )
    assert "could not assess this patient" in rec.summary
    assert "makes no recommendation" in rec.statement and "valid FHIR R4" in rec.statement
    assert not (rec.regimens or rec.pathway or rec.actions or rec.alternatives or rec.newer_evidence)
    unread_rows = [f for f in rec.facts_used if f.label == "Record not read"]
    assert [s for f in unread_rows for s in f.sources] == references
    assert all(f.note and "not valid FHIR R4" in f.note for f in unread_rows)
    assert [m.code for m in rec.missing] == ["readable-records"]
    assert [c.source_id for c in rec.citations] == ["service-data-contract"]
    assert not any(r in rec.statement for r in references)


def test_data_problem_card_says_which_condition_was_read() -> None:
    """The card says which scope condition was read and which record could not be."""
    (rec,) = run(crlm(has_primary=False, unreadable=(UNREAD_PRIMARY,))).recommendations
    assert "a record of a colorectal primary could not be read" in rec.statement
    assert "confirmed liver metastases were read" in rec.statement
    liver = next(f for f in rec.facts_used if f.label == "Liver metastases")
    assert (liver.value, liver.sources) == ("confirmed", (ref("liver-mets", "Condition"),))


@pytest.mark.parametrize(
    ("unidentified", "withheld"),
    [
        ((UNKNOWN_DRUG,), True),
        ((unknown_drug(date(2025, 9, 1)),), True),
        ((unknown_drug(None),), True),
        ((unknown_drug(date(2025, 8, 31)),), False),
        ((unknown_drug(date(2026, 10, 1)),), False),
        ((), False),
    ],
    ids=[
        "six-months-before",
        "twelve-months-before",
        "undated",
        "just-over-twelve",
        "after-detection",
        "none",
    ],
)
def test_unknown_drug_in_the_window_withholds_folfox(unidentified: tuple[Any, ...], withheld: bool) -> None:
    """An order of unknown drug that would be oxaliplatin failure if it were oxaliplatin keeps FOLFOX
    off the cards; one outside the window does not."""
    recs = fired(crlm(unidentified=unidentified))
    folfox_regimens = {code for r in recs.values() for code in r.regimens} & {"folfox"}
    assert bool(folfox_regimens) is not withheld
    assert ("regimen-oxaliplatin-drug-unidentified" in recs) is withheld


def test_unknown_drug_card_lists_each_order_and_what_to_record() -> None:
    """The card lists every order of unknown drug with its date and asks for its drug, not for
    oxaliplatin dates (none is recorded); it never assumes no prior oxaliplatin."""
    orders = (UNKNOWN_DRUG, unknown_drug(None, "undated-order"))
    rec = fired(crlm(unidentified=orders))["regimen-oxaliplatin-drug-unidentified"]
    rows = [f for f in rec.facts_used if f.label == "Medication record, drug unknown"]
    assert [(f.sources, f.effective) for f in rows] == [
        ((ref("order-2026-03-01", "MedicationRequest"),), date(2026, 3, 1)),
        ((ref("undated-order", "MedicationRequest"),), None),
    ]
    assert "Record the drug of each medication record listed below" in rec.statement
    assert "2 medication records (2026-03-01, undated)" in rec.statement
    assert [m.code for m in rec.missing] == ["medication-drugs"]
    assert "no prior oxaliplatin is recorded" not in " ".join(
        r.statement for r in run(crlm(unidentified=orders)).recommendations
    )
    assert not {c for r in run(crlm(unidentified=orders)).recommendations for c in r.regimens} & {
        "folfox",
        "triplet+bevacizumab",
        "doublet+anti-egfr",
    }


def test_unknown_drug_card_also_asks_for_undated_oxaliplatin() -> None:
    """With undated oxaliplatin recorded as well, the one card asks for both the drugs and the dates."""
    facts = crlm(unidentified=(UNKNOWN_DRUG,), therapies=(exposure(Agent.OXALIPLATIN, None),))
    recs = fired(facts)
    assert "regimen-oxaliplatin-history-unclear" not in recs
    rec = recs["regimen-oxaliplatin-drug-unidentified"]
    assert "record them too" in rec.statement
    assert {m.code for m in rec.missing} >= {"medication-drugs", "oxaliplatin-dates"}


def test_many_unknown_drug_orders_are_counted_after_five() -> None:
    """Seven orders of unknown drug: five are listed one by one and the rest counted."""
    orders = tuple(unknown_drug(date(2026, 3, 1 + i)) for i in range(7))
    rec = fired(crlm(unidentified=orders))["regimen-oxaliplatin-drug-unidentified"]
    rows = [f for f in rec.facts_used if f.label.startswith("Medication record")]
    assert len(rows) == 6
    assert rows[-1].value == "2 more"


def test_applicable_decision_states_its_scope() -> None:
    """An applicable decision says why it applies and carries the knowledge version."""
    decision = run(crlm())
    assert decision.applicable
    assert "sigmoid-colon" in decision.reason
    assert decision.knowledge_version == KNOWLEDGE.version


def test_recommendations_are_ordered_with_critical_first() -> None:
    """Critical safety conflicts sort first and the rest follow by priority."""
    recs = run(crlm(kras=MUT, therapies=(CETUXIMAB,))).recommendations
    assert recs[0].indicator is Indicator.CRITICAL
    assert [r.priority for r in recs] == sorted(r.priority for r in recs)


def test_facts_used_carry_fhir_references() -> None:
    """Facts used point back to the FHIR resources they came from."""
    rec = fired(crlm())["regimen-perioperative-folfox"]
    sources = {s for f in rec.facts_used for s in f.sources}
    assert {ref("lesion-count"), ref("mdt-resectability"), ref("mmr")} <= sources
    assert any(f.label.startswith("Threshold:") and f.value == "4 lesions" for f in rec.facts_used)


def test_perioperative_folfox_pathway_and_actions() -> None:
    """The main regimen card carries the 3+3 pathway, an MDT referral and a draft care plan."""
    rec = fired(crlm())["regimen-perioperative-folfox"]
    assert (rec.pathway[0].label, rec.pathway[0].duration) == ("FOLFOX (about 6 cycles)", "3 months")
    assert rec.pathway[-1].duration == "3 months"
    assert {a.kind for a in rec.actions} == {ActionKind.MDT_REFERRAL, ActionKind.DRAFT_CAREPLAN}
    assert rec.regimens == ("folfox",)
    assert any(n.citation.source_id == "nccn-2026" and not n.adopted for n in rec.newer_evidence)


@pytest.mark.parametrize(
    ("facts", "assumption"),
    [
        (crlm(symptoms=None), "no symptoms of the primary are recorded"),
        (crlm(mmr=None), "MMR/MSI is not recorded"),
        (crlm(extrahepatic_absent=None), "no extrahepatic disease is recorded"),
        (crlm(), "no prior oxaliplatin is recorded"),
    ],
)
def test_assumptions_are_stated(facts: PatientFacts, assumption: str) -> None:
    """Where a card relies on something not recorded, it says so explicitly."""
    statements = " ".join(r.statement for r in run(facts).recommendations)
    assert assumption in statements


def test_rectal_symptoms_show_the_001_002_disagreement() -> None:
    """A symptomatic rectal primary shows both views on symptoms and that 002 is followed."""
    rec = fired(rectal(symptoms=frozenset({Symptom.BLEEDING})))["seq-rectal-reverse"]
    (disagreement,) = rec.disagreements
    assert {v.citation.source_id for v in disagreement.views} == {"seed-001", "seed-002"}
    assert disagreement.followed.startswith("002 for rectal primaries")
    assert not fired(rectal())["seq-rectal-reverse"].disagreements


def test_combined_approach_only_offered_with_minor_hepatectomy() -> None:
    """The rectal reverse card offers the combined approach only for a grade I-II hepatectomy."""
    minor = fired(rectal(complexity=HepatectomyComplexity.GRADE_I))["seq-rectal-reverse"]
    major = fired(rectal(complexity=HepatectomyComplexity.GRADE_III))["seq-rectal-reverse"]
    assert any("Combined" in a for a in minor.alternatives)
    assert not any("Combined" in a for a in major.alternatives)


def test_cirrhosis_follows_the_safer_flr_and_shows_both() -> None:
    """In cirrhosis the 40% threshold is used, 003's 30% is shown, and the update is adopted."""
    rec = fired(crlm(cirrhosis=True, flr=35.0, mdt=POT))["liver-flr-insufficient-pve"]
    assert "short of the at least 40% required" in rec.statement
    cirrhosis = next(d for d in rec.disagreements if "cirrhosis" in d.question)
    assert {v.position.split()[0] for v in cirrhosis.views} >= {"30%", "40%"}
    assert any(n.adopted and n.citation.source_id == "kawaguchi-2019" for n in rec.newer_evidence)


def test_braf_v600e_shows_breakwater_as_newer_evidence_not_default() -> None:
    """BRAF V600E keeps the seeds' triplet-bevacizumab default and marks BREAKWATER as newer."""
    rec = fired(unresectable_left_wild_type(braf=BrafStatus.V600E))["regimen-conversion-mutant"]
    assert rec.regimens == ("triplet+bevacizumab",)
    note = next(n for n in rec.newer_evidence if n.citation.source_id == "breakwater")
    assert note.citation.newer and not note.adopted


def test_braf_non_v600e_follows_the_seeds_with_nccn_note() -> None:
    """A non-V600E BRAF mutation gets no anti-EGFR (seeds) and shows NCCN's view as newer evidence."""
    recs = fired(unresectable_left_wild_type(braf=BrafStatus.OTHER_MUTATION))
    rec = recs["regimen-conversion-mutant"]
    assert any(n.citation.source_id == "nccn-2026" and not n.adopted for n in rec.newer_evidence)
    assert "warning-anti-egfr-contraindicated" in recs


def test_dmmr_unresectable_adopts_verified_guideline() -> None:
    """First-line immunotherapy for not-resectable dMMR follows a verified guideline, marked adopted."""
    rec = fired(crlm(mmr=MmrStatus.DEFICIENT, mdt=POT))["regimen-dmmr-first-line"]
    assert any(n.adopted and n.citation.status == "V" for n in rec.newer_evidence)


def test_kras_known_nras_unknown_is_not_wild_type() -> None:
    """KRAS wild-type with NRAS untested is not extended-RAS wild-type: no anti-EGFR, test NRAS."""
    recs = fired(unresectable_left_wild_type(nras=None))
    assert "regimen-conversion-left-wild-type" not in recs
    pending = recs["regimen-conversion-biomarkers-pending"]
    assert "ras-status" in {m.code for m in pending.missing}
    assert "extended RAS status not established" in recs["warning-anti-egfr-contraindicated"].statement


def test_ras_conflict_makes_ras_unknown_for_anti_egfr() -> None:
    """A conflict note about RAS blocks the anti-EGFR regimen and is listed to resolve."""
    note = conflict("Two KRAS results disagree", ref("kras"), "Observation/kras-2")
    recs = fired(unresectable_left_wild_type(data_notes=(note,)))
    assert "regimen-conversion-left-wild-type" not in recs
    missing = {m.code for m in recs["missing-data"].missing}
    assert {"ras-status", "ras-conflict"} <= missing
    assert any(f.label == "Conflicting results" for f in recs["missing-data"].facts_used)


def test_missing_data_card_orders_tests_with_loinc_codes() -> None:
    """The missing-data card lists what is missing and orders RAS, BRAF and MSI tests."""
    rec = fired(crlm(kras=None, nras=None, braf=None, mmr=None, cea=None))["missing-data"]
    (order,) = [a for a in rec.actions if a.kind is ActionKind.ORDER_TESTS]
    assert {t.code for t in order.tests} == {"81420-2", "53844-7", "81695-9", "2039-6"}
    assert all(t.system == "http://loinc.org" for t in order.tests)


def test_timing_card_shows_the_definition_used() -> None:
    """The timing card names the definition in use and all three definitions' results."""
    facts = crlm(detected=date(2026, 10, 11))
    default = fired(facts)["timing-metachronous-early"]
    assert "E-AHPBA 2023" in default.summary
    (definitions,) = default.disagreements
    assert len(definitions.views) == 3
    assert "metachronous" in definitions.views[0].position
    assert definitions.views[2].position.endswith("synchronous")
    assert "timing-metachronous-unclassified" in fired(facts, ADAM)


def test_newer_evidence_can_be_switched_off() -> None:
    """The policy can hide newer-evidence notes."""
    recs = run(crlm(), DecisionPolicy(show_newer_evidence=False)).recommendations
    assert all(not r.newer_evidence for r in recs)


def test_progression_while_planned_is_critical() -> None:
    """Progression on chemotherapy with a planned resection is a critical conflict."""
    rec = fired(crlm(status=DiseaseStatus.PROGRESSION, therapies=folfox(date(2026, 9, 10), 4)))[
        "conflict-progression-planned-resection"
    ]
    assert rec.indicator is Indicator.CRITICAL


def test_derived_facts_for_explanation() -> None:
    """The decision lists the derived facts the reasoning used."""
    labels = {f.label for f in run(crlm()).derived}
    assert {
        "Timing",
        "Sidedness",
        "Extended RAS status",
        "Performance status class",
        "Oxaliplatin failure",
        "Pre-hepatectomy cycles",
        "Resectability",
        "Fong clinical risk score",
    } <= labels


def test_provisional_resectability_marks_the_cards_resting_on_it() -> None:
    """Cards that rest on a resectability read from the criteria say "Provisional" in their summary."""
    recs = fired(crlm(mdt=None))
    assert recs["regimen-perioperative-folfox"].summary.startswith("Provisional: ")
    assert "provisional" in recs["resectability-resectable"].summary
    assert not fired(crlm())["regimen-perioperative-folfox"].summary.startswith("Provisional")


def test_mmr_pending_regimen_offers_the_test() -> None:
    """A pMMR regimen suggested while MMR/MSI is unknown is marked and offers the MSI test."""
    rec = fired(unresectable_left_wild_type(mmr=None))["regimen-conversion-left-wild-type"]
    assert rec.summary.startswith("MMR pending: ")
    (order,) = [a for a in rec.actions if a.kind is ActionKind.ORDER_TESTS]
    assert [t.code for t in order.tests] == ["81695-9"]
    assert "mmr-status" in {m.code for m in rec.missing}


def test_one_message_is_not_shown_twice() -> None:
    """The FOLFIRI card carries the oxaliplatin-failure warning and the second-line card the
    progression warning, so those warnings are not shown beside them."""
    failure = fired(crlm(therapies=(ADJUVANT_OXALIPLATIN,)))
    assert failure["regimen-folfiri-after-oxaliplatin-failure"].indicator is Indicator.WARNING
    assert "warning-oxaliplatin-failure" not in failure
    progression = fired(
        crlm(mdt=UNRES, status=DiseaseStatus.PROGRESSION, therapies=folfox(date(2026, 9, 10), 4))
    )
    assert "regimen-progression-second-line" in progression
    assert "warning-progression-on-chemotherapy" not in progression


def test_unresectable_pathway_is_not_curative() -> None:
    """For unresectable disease the regimen pathway does not plan a liver resection."""
    rec = fired(unresectable_left_wild_type(mdt=UNRES))["regimen-conversion-left-wild-type"]
    labels = [p.label for p in rec.pathway]
    assert not any("Liver resection" in label for label in labels)
    assert any("only if the disease becomes resectable" in label for label in labels)
    assert "Liver resection as soon as resectable" in [
        p.label for p in fired(unresectable_left_wild_type())["regimen-conversion-left-wild-type"].pathway
    ]


def test_newer_evidence_states_its_stance() -> None:
    """Newer evidence that supports the default is labelled as such, not as "not the default"."""
    rec = fired(crlm())["regimen-perioperative-folfox"]
    stances = {n.citation.source_id: n.stance_label for n in rec.newer_evidence}
    assert stances["new-epoc"] == "supports the default"
    assert stances["nccn-2026"] == "differs, not followed"


def test_triplet_card_notes_the_trial_age_limit() -> None:
    """Above TRIBE's age limit the triplet card says the evidence stops at 75."""
    old = unresectable_left_wild_type(site=PrimarySite.ASCENDING_COLON, birth_date=date(1945, 3, 1))
    rec = fired(old)["regimen-conversion-right-wild-type"]
    assert any(n.citation.source_id == "tribe" for n in rec.newer_evidence)
    young = fired(unresectable_left_wild_type(site=PrimarySite.ASCENDING_COLON))
    assert not any(
        n.citation.source_id == "tribe" for n in young["regimen-conversion-right-wild-type"].newer_evidence
    )


def test_course_of_administrations_is_referenced_briefly() -> None:
    """A fact drawn from many administrations lists the first two and the last and says how many."""
    rec = fired(crlm(therapies=folfox(date(2026, 9, 10), 6)))["regimen-preoperative-under-way"]
    course = next(f for f in rec.facts_used if f.label == "Systemic therapy for the liver metastases")
    assert len(course.sources) == 3
    assert course.note is not None and "12 records" in course.note


# --- Second clinical review (rule base 2.2.0) ---------------------------------------------------

ECOG3_RESECTABLE = crlm(ecog=3)
OBSTRUCTED_RECTAL = rectal(symptoms=frozenset({Symptom.OBSTRUCTION}), anal_verge_cm=10.0)


@pytest.mark.parametrize(
    ("facts", "rule", "text", "present"),
    [
        (
            crlm(mdt_earlier=((POT, date(2026, 9, 5)),), mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP),
            "regimen-converted-operate-now",
            "potentially-resectable (2026-09-05) before systemic therapy",
            True,
        ),
        (
            crlm(mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP),
            "regimen-preoperative-under-way",
            "not as a conversion",
            True,
        ),
        (
            crlm(therapies=FOLFOX_SEP, mdt_date=date(2026, 9, 5)),
            "regimen-preoperative-under-way",
            "not as a conversion",
            False,
        ),
        (
            crlm(
                mdt_earlier=((POT, date(2026, 9, 5)),),
                mdt_date=date(2026, 11, 20),
                therapies=FOLFOX_SEP,
                flr=35.0,
                cycles=7,
            ),
            "regimen-converted-operate-now",
            "confirm it before the operation",
            True,
        ),
        ({**RECURRED_FACTS}, "recurrence-after-liver-resection", "Condition with onset 2026-09-01", True),
        ({**RECURRED_FACTS}, "recurrence-after-liver-resection", "FOLFIRI rather than FOLFOX", False),
        (
            crlm(**{**RECURRED, "therapies": (POSTOPERATIVE_OXALIPLATIN,)}),
            "recurrence-after-liver-resection",
            "FOLFIRI rather than FOLFOX",
            True,
        ),
        (
            crlm(symptoms=frozenset({Symptom.BLEEDING}), detected=date(2026, 10, 16)),
            "seq-colon-primary-first",
            "Timing: early metachronous",
            True,
        ),
        (crlm(symptoms=frozenset({Symptom.BLEEDING})), "seq-colon-primary-first", "Timing:", False),
        (ECOG3_RESECTABLE, "seq-colon-liver-first", "fit for surgery is the MDT's call", True),
        (crlm(ecog=2), "seq-colon-liver-first", "fit for surgery is the MDT's call", False),
        (
            unresectable_left_wild_type(braf=BrafStatus.V600E, therapies=(CETUXIMAB, ENCORAFENIB)),
            "anti-egfr-breakwater",
            "BREAKWATER's own setting",
            False,
        ),
        (
            unresectable_left_wild_type(mdt=UNRES, braf=BrafStatus.V600E, therapies=(CETUXIMAB, ENCORAFENIB)),
            "anti-egfr-breakwater",
            "BREAKWATER's own setting",
            True,
        ),
        (
            unresectable_left_wild_type(braf=BrafStatus.V600E, therapies=(CETUXIMAB, ENCORAFENIB)),
            "anti-egfr-breakwater",
            "no conversion data",
            True,
        ),
        (
            unresectable_left_wild_type(braf=BrafStatus.V600E, therapies=(CETUXIMAB, ENCORAFENIB)),
            "regimen-conversion-mutant",
            "BREAKWATER regimen",
            True,
        ),
        (
            crlm(extrahepatic=(ExtrahepaticSite.PERITONEUM,), lesions=3),
            "ehd-peritoneal-eligible",
            "well resectable and comorbidity low is for the MDT to confirm",
            True,
        ),
        (
            crlm(
                status=DiseaseStatus.PROGRESSION,
                status_date=date(2026, 11, 20),
                therapies=(exposure(Agent.PEMBROLIZUMAB, date(2026, 10, 1)),),
                mmr=MmrStatus.DEFICIENT,
            ),
            "conflict-progression-planned-resection",
            "progressed during systemic therapy (pembrolizumab)",
            True,
        ),
        (
            unresectable_left_wild_type(mmr=MmrStatus.DEFICIENT, therapies=FOLFOX_SEP),
            "regimen-dmmr-first-line",
            "already under way (since 2026-09-10: fluorouracil, oxaliplatin)",
            True,
        ),
        (
            unresectable_left_wild_type(braf=None),
            "regimen-conversion-biomarkers-pending",
            "Order BRAF testing.",
            True,
        ),
        (
            unresectable_left_wild_type(nras=None),
            "regimen-conversion-biomarkers-pending",
            "Order extended RAS (KRAS and NRAS) testing.",
            True,
        ),
        (
            crlm(lesions=1, largest_cm=1.5, therapies=(ADJUVANT_OXALIPLATIN,)),
            "regimen-folfiri-after-oxaliplatin-failure",
            "Upfront resection of the single metastasis under 2 cm, then FOLFIRI",
            True,
        ),
        (
            crlm(lesions=2, largest_cm=1.5, therapies=(ADJUVANT_OXALIPLATIN,)),
            "regimen-folfiri-after-oxaliplatin-failure",
            "Upfront resection of the single metastasis",
            False,
        ),
        (
            crlm(liver_procedures=RESECTED, therapies=cycles_of(Agent.BEVACIZUMAB, date(2026, 9, 10), 2)),
            "regimen-complete-perioperative",
            "does not name the biologic",
            True,
        ),
        (
            crlm(status=DiseaseStatus.COMPLETE_RESPONSE),
            "warning-complete-response-achieved",
            "Benoist",
            False,
        ),
        (crlm(cea=None), "prognosis-fong-incomplete", "only for lymph-node metastasis of the primary", True),
    ],
)
def test_card_content_after_the_second_review(facts: Any, rule: str, text: str, present: bool) -> None:
    """The cards the second review changed say what it asked for, and only where it applies."""
    patient = crlm(**facts) if isinstance(facts, dict) else facts
    rec = fired(patient)[rule]
    shown = " ".join([rec.statement, *rec.alternatives])
    assert (text in shown) is present, shown


def test_no_draft_care_plan_at_ecog_3_or_more() -> None:
    """At ECOG 3 or more no card offers to draft a care plan; below it the surgical pathways do."""
    poor = fired(ECOG3_RESECTABLE)
    assert all(a.kind is not ActionKind.DRAFT_CAREPLAN for r in poor.values() for a in r.actions)
    limited = fired(crlm(ecog=2))["seq-colon-liver-first"]
    assert any(a.kind is ActionKind.DRAFT_CAREPLAN for a in limited.actions)


@pytest.mark.parametrize(
    ("facts", "first_step"),
    [
        (
            OBSTRUCTED_RECTAL,
            "Diversion at the primary institution and referral to a multidisciplinary centre (002)",
        ),
        (rectal(), "Systemic chemotherapy per the regimen card"),
    ],
)
def test_obstructed_rectal_pathway_starts_with_diversion(facts: PatientFacts, first_step: str) -> None:
    """The reverse-approach pathway of an obstructed or perforated rectal primary starts with diversion."""
    assert fired(facts)["seq-rectal-reverse"].pathway[0].label == first_step


def test_benoist_is_no_longer_cited() -> None:
    """No card or newer-evidence note cites Benoist 2006, which the evidence file lists without a finding."""
    assert "benoist-2006" not in KNOWLEDGE.sources
    assert all("Benoist" not in n.text for n in KNOWLEDGE.newer.values())


@pytest.mark.parametrize(
    ("facts", "critical"),
    [
        (
            crlm(
                therapies=(CETUXIMAB,), mdt_earlier=((RES, date(2026, 9, 15)),), mdt_date=date(2026, 11, 20)
            ),
            True,
        ),
        (crlm(therapies=(CETUXIMAB,), mdt_date=date(2026, 11, 20), measured=date(2026, 9, 10)), True),
        (crlm(therapies=(CETUXIMAB,), mdt=None, measured=date(2026, 9, 10)), True),
        (
            crlm(
                therapies=(CETUXIMAB,), mdt_earlier=((POT, date(2026, 9, 15)),), mdt_date=date(2026, 11, 20)
            ),
            False,
        ),
    ],
)
def test_reviewers_antibody_patients(facts: PatientFacts, critical: bool) -> None:
    """The review's p1b, p1, p1c are critical anti-EGFR conflicts; a documented conversion is not."""
    recs = fired(facts)
    assert ("conflict-anti-egfr-not-indicated" in recs) is critical
    if not critical:
        assert "regimen-converted-operate-now" in recs
        assert recs["regimen-converted-operate-now"].disagreements

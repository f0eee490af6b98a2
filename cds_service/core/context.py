"""The derived patient context: what the rules reason over, computed once from the facts.

The facts say what was recorded; the context says what follows from it, with the clinical
definitions of the sources applied: timing (three definitions), sidedness, extended RAS status,
performance-status class, oxaliplatin failure, pre-hepatectomy cycles, the required future liver
remnant, extrahepatic extent, resectability (MDT first, criteria second, otherwise unknown) and the
Fong score. Unknown stays unknown: every derived value that cannot be computed is ``None`` or an
``UNKNOWN`` member, never a default. Thresholds come from the rule base, not from literals here.
"""

from __future__ import annotations

import calendar
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from cds_service.core.facts import (
    Agent,
    BrafStatus,
    DataNote,
    DiseaseStatus,
    ExtrahepaticSite,
    Fact,
    LiverProcedure,
    MmrStatus,
    MutationStatus,
    PatientFacts,
    PrimarySite,
    RecordKind,
    Resectability,
    TherapyExposure,
)
from cds_service.core.policy import TIMING_LABELS, DecisionPolicy, TimingDefinition

T = TypeVar("T")

#: Thresholds the code reads, with the type each must have in ``rules.toml`` (``int`` means an
#: integer; ``float`` accepts any number). ``load_knowledge`` checks presence and type.
THRESHOLD_TYPES: dict[str, type] = {
    "perioperative_folfox_max_lesions": int,
    "perioperative_months_before": int,
    "perioperative_months_after": int,
    "perioperative_total_months": int,
    "upfront_surgery_max_diameter_cm": float,
    "oxaliplatin_failure_months": int,
    "progression_on_chemotherapy_window_days": int,
    "reassess_interval_months": int,
    "good_ps_max_ecog": int,
    "surgery_max_ecog": int,
    "flr_normal_min_pct": float,
    "flr_cirrhosis_min_pct": float,
    "flr_cirrhosis_min_pct_newer": float,
    "flr_heavy_chemo_min_pct": float,
    "flr_heavy_chemo_min_pct_newer": float,
    "heavy_chemo_cycles_over": int,
    "ablation_max_diameter_cm": float,
    "ablation_best_diameter_cm": float,
    "prehepatectomy_cycles_over": int,
    "large_metastasis_cm": float,
    "peritoneal_max_liver_lesions": int,
    "simultaneous_max_diameter_cm": float,
    "upper_rectum_min_cm": float,
    "rectal_rt_min_t": int,
    "metachronous_early_months": int,
    "maki_synchronous_max_days": int,
    "presentation_window_days": int,
    "cycle_grouping_days": int,
    "cycle_length_days_estimate": int,
    "fong_cea_ng_ml": float,
    "fong_largest_cm": float,
    "fong_dfi_months": int,
    "fong_high_risk_min": int,
    "criteria_resectable_max_lesions": int,
    "rectal_max_anal_verge_cm": float,
    "triplet_trial_max_age": int,
    "perioperative_total_weeks": int,
}

CYTOTOXIC_AGENTS = frozenset({Agent.OXALIPLATIN, Agent.IRINOTECAN, Agent.FLUOROURACIL, Agent.CAPECITABINE})
ANTI_EGFR_AGENTS = frozenset({Agent.CETUXIMAB, Agent.PANITUMUMAB})
LIVER_TREATMENTS = frozenset({"resection", "ablation"})

RIGHT_SITES = frozenset(
    {PrimarySite.CECUM, PrimarySite.APPENDIX, PrimarySite.ASCENDING_COLON, PrimarySite.HEPATIC_FLEXURE}
)
LEFT_SITES = frozenset(
    {
        PrimarySite.SPLENIC_FLEXURE,
        PrimarySite.DESCENDING_COLON,
        PrimarySite.SIGMOID_COLON,
        PrimarySite.RECTOSIGMOID,
        PrimarySite.RECTUM,
    }
)
NODE_SITES = frozenset(
    {
        ExtrahepaticSite.HILAR_NODES,
        ExtrahepaticSite.CELIAC_OR_PARA_AORTIC_NODES,
        ExtrahepaticSite.DISTANT_NODES,
    }
)

_GENE_PATTERNS: dict[str, re.Pattern[str]] = {
    "kras": re.compile(r"\b(K?RAS)\b", re.IGNORECASE),
    "nras": re.compile(r"\b(N?RAS)\b", re.IGNORECASE),
    "braf": re.compile(r"\bBRAF\b", re.IGNORECASE),
    "mmr": re.compile(r"\b(MMR|MSI|MSI-H|MSS|dMMR|pMMR|mismatch)\b", re.IGNORECASE),
    "tp53": re.compile(r"\bTP53\b", re.IGNORECASE),
}


class TimingCategory(StrEnum):
    """Timing of the liver metastases relative to the primary."""

    SYNCHRONOUS = "synchronous"
    EARLY_METACHRONOUS = "early metachronous"
    LATE_METACHRONOUS = "late metachronous"
    METACHRONOUS = "metachronous (early/late not determinable)"


class Sidedness(StrEnum):
    """Side of the primary: left = splenic flexure to rectum; right = caecum to hepatic flexure."""

    LEFT = "left-sided"
    RIGHT = "right-sided"
    INDETERMINATE = "indeterminate (transverse colon)"
    UNKNOWN = "unknown (sub-site not recorded)"


class GeneStatus(StrEnum):
    """A derived gene status; ``UNKNOWN`` covers not tested, partly tested and conflicting."""

    MUTANT = "mutant"
    WILD_TYPE = "wild-type"
    UNKNOWN = "unknown"


class BrafClass(StrEnum):
    """Derived BRAF status."""

    V600E = "BRAF V600E mutant"
    OTHER = "BRAF non-V600E mutant"
    WILD_TYPE = "BRAF wild-type"
    UNKNOWN = "BRAF unknown"


class MmrClass(StrEnum):
    """Derived MMR/MSI status."""

    DEFICIENT = "dMMR/MSI-H"
    PROFICIENT = "pMMR/MSS"
    UNKNOWN = "unknown"


class PsClass(StrEnum):
    """Performance-status class from ECOG (cut-offs are thresholds in the rule base)."""

    GOOD = "good"
    LIMITED = "limited"
    POOR = "poor"
    UNKNOWN = "unknown"


class EhdStatus(StrEnum):
    """Extrahepatic disease: present, explicitly absent, or simply not recorded."""

    PRESENT = "present"
    ABSENT = "absent (recorded)"
    NOT_RECORDED = "not recorded"


class ResectabilityBasis(StrEnum):
    """Where the resectability came from."""

    MDT = "MDT assessment"
    CRITERIA = "provisional, from the criteria of the sources"
    NONE = "undetermined"


class AntiEgfrSetting(StrEnum):
    """In which setting a recorded anti-EGFR antibody was started (New EPOC harm applies only to
    disease that was resectable when it started; 001 continues it after conversion)."""

    NOT_RECORDED = "no anti-EGFR antibody recorded"
    CONVERSION = "started while the MDT assessed the disease as not resectable"
    CONVERTED = (
        "started while the MDT assessed the disease as not resectable, which it later assessed as "
        "resectable (conversion)"
    )
    NOT_RESECTABLE_AFTER_START = (
        "the MDT assessed the disease as not resectable, with no assessment dated before the antibody started"
    )
    INITIALLY_RESECTABLE = "started in disease already assessed as resectable"
    CRITERIA_RESECTABLE = (
        "started in disease resectable on the criteria (provisional, no MDT assessment before it)"
    )
    RESECTABLE_NO_BASELINE = (
        "given in disease now assessed as resectable, with no assessment before the antibody started "
        "documenting that it was not resectable (no documented conversion)"
    )
    UNKNOWN = "setting not recorded (no MDT assessment describing it)"


@dataclass(frozen=True, slots=True)
class TimingResult:
    """Timing under one definition."""

    definition: TimingDefinition
    category: TimingCategory | None
    detail: str


@dataclass(frozen=True, slots=True)
class OxaliplatinResult:
    """Oxaliplatin failure within the window (001: failed adjuvant oxaliplatin within 12 months).

    ``by_progression`` is True when failure rests on progression during oxaliplatin or within the
    on-chemotherapy window after it, rather than on liver metastases (or their recurrence)
    appearing after it: the service's extension of 001's rule. ``after_break`` is True when
    progression came within the failure window after oxaliplatin but outside the on-chemotherapy
    window (a treatment break): not counted as failure, the MDT weighs the prior oxaliplatin.
    ``unidentified`` names the medication records whose drug is unknown (or that could not be read)
    and that would make failure possible if they were oxaliplatin: with any, failure is unknown
    unless established otherwise. ``dates_unknown`` is True when the recorded oxaliplatin alone
    cannot exclude failure (undated, or no detection date)."""

    failure: bool | None
    detail: str
    rechallenged: bool
    sources: tuple[str, ...]
    by_progression: bool = False
    after_break: bool = False
    unidentified: tuple[str, ...] = ()
    dates_unknown: bool = False


@dataclass(frozen=True, slots=True)
class CyclesResult:
    """Chemotherapy cycles given for the liver metastases before hepatectomy (or so far)."""

    count: int | None
    detail: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FlrRequirement:
    """The future liver remnant required for this patient, with its basis; ``exclusive`` when the
    binding source asks for more than the value (003: over 40% after heavy chemotherapy) rather
    than at least it."""

    required_pct: float
    basis: str
    assumptions: tuple[str, ...]
    exclusive: bool = False

    def met_by(self, pct: float) -> bool:
        """The remnant ``pct`` meets the requirement."""
        return pct > self.required_pct if self.exclusive else pct >= self.required_pct

    @property
    def text(self) -> str:
        """The requirement in words, e.g. "at least 20%" or "more than 40%"."""
        return f"{'more than' if self.exclusive else 'at least'} {self.required_pct:g}%"


@dataclass(frozen=True, slots=True)
class RecurrenceResult:
    """Liver disease after the last liver resection or ablation: the first evidence of it (the
    onset of the current episode) and what it rests on."""

    recurred: bool
    onset: date | None = None
    basis: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CourseResult:
    """Perioperative chemotherapy given for the liver metastases so far (before and after their
    resection or ablation): cycles counted and the weeks they cover."""

    cycles: int
    weeks: float
    detail: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResectabilityResult:
    """Resectability with its basis, reasons and the data missing to decide it."""

    value: Resectability | None
    basis: ResectabilityBasis
    reasons: tuple[str, ...]
    missing: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class FongResult:
    """Fong clinical risk score: one point per criterion (node-positive primary, DFI < 12
    months, more than one tumour, largest > 5 cm, CEA > 200 ng/mL)."""

    points: tuple[tuple[str, bool | None], ...]

    @property
    def missing(self) -> tuple[str, ...]:
        """Criteria whose input is unknown."""
        return tuple(name for name, value in self.points if value is None)

    @property
    def score(self) -> int | None:
        """The score 0-5 when all five inputs are known."""
        if self.missing:
            return None
        return sum(1 for _, value in self.points if value)


@dataclass(frozen=True, slots=True)
class PatientContext:
    """Everything the predicates read: the facts plus what follows from them.

    Attributes:
        facts: The patient's facts.
        today: Evaluation date (a parameter, never the clock).
        policy: The site policy.
        thresholds: Threshold values from the rule base by name.
        applicable: Confirmed colorectal primary and confirmed liver metastases.
        timing: Timing under the policy's definition.
        timing_all: Timing under every definition, for display.
        sidedness: Side of the primary.
        rectal: The primary is rectal.
        upper_rectal: Distal edge above the upper-rectum threshold (``None`` when not recorded).
        ras: Extended RAS status (KRAS and NRAS).
        ras_detail: How the RAS status was derived.
        braf: BRAF status.
        mmr: MMR status.
        tp53: TP53 status.
        conflicts: Genes with conflicting results in the data notes (treated as unknown).
        ps: Performance-status class.
        oxaliplatin: Oxaliplatin failure.
        cycles: Pre-hepatectomy cycles.
        heavy_chemotherapy: More cycles than the heavy-chemotherapy threshold.
        flr: The required future liver remnant.
        ehd: Extrahepatic disease status.
        ehd_sites: Distinct extrahepatic sites (nodal stations count as one site).
        liver_treated: A liver resection or ablation is recorded.
        recurrence: Liver disease recurred after a liver resection or ablation.
        resectability: Resectability with its basis.
        fong: Fong score inputs.
        mdt_plan: The latest MDT resectability, even when later restaging makes it out of date
            (``None`` when none is recorded or it predates a liver treatment): what was planned.
        liver_systemic_start: First systemic therapy given for the liver metastases (on or after
            detection, before their first resection), or ``None``.
        converted: The MDT assessed the disease as not resectable on or before the start of systemic
            therapy for it, and as resectable after it began (documented conversion).
        mdt_baseline: The latest MDT assessment on or before the start of systemic therapy for the
            liver metastases (after any earlier liver treatment), or ``None``.
        measurements_outdated: Why the recorded lesion count and size are out of date, or ``None``.
        last_restaging: Latest restaging of the liver disease (disease status, lesion measurement
            or MDT assessment), or ``None``.
        restaging_overdue: On systemic therapy for the liver metastases with no restaging within the
            reassessment interval (001: every 2 months).
        anti_egfr_setting: Setting in which a recorded anti-EGFR antibody was started.
        age: Age in whole years on ``today``, or ``None``.
        recurrence_info: The onset of the recurrent episode and what it rests on.
        antibody_start: First recorded dose of an anti-EGFR antibody, or ``None``.
        antibody_baseline: The latest MDT assessment on or before ``antibody_start``, or ``None``.
        course: Perioperative chemotherapy given so far (cycles and weeks), for the course after
            liver treatment.
    """

    facts: PatientFacts
    today: date
    policy: DecisionPolicy
    thresholds: Mapping[str, float]
    applicable: bool
    timing: TimingResult
    timing_all: tuple[TimingResult, ...]
    sidedness: Sidedness
    rectal: bool
    upper_rectal: bool | None
    ras: GeneStatus
    ras_detail: str
    braf: BrafClass
    mmr: MmrClass
    tp53: GeneStatus
    conflicts: frozenset[str]
    ps: PsClass
    oxaliplatin: OxaliplatinResult
    cycles: CyclesResult
    heavy_chemotherapy: bool | None
    flr: FlrRequirement
    ehd: EhdStatus
    ehd_sites: frozenset[str]
    liver_treated: bool
    recurrence: bool
    resectability: ResectabilityResult
    fong: FongResult
    mdt_plan: Resectability | None = None
    liver_systemic_start: date | None = None
    converted: bool = False
    measurements_outdated: str | None = None
    last_restaging: date | None = None
    restaging_overdue: bool = False
    anti_egfr_setting: AntiEgfrSetting = AntiEgfrSetting.NOT_RECORDED
    age: int | None = None
    mdt_baseline: Fact[Resectability] | None = None
    recurrence_info: RecurrenceResult = RecurrenceResult(False)
    antibody_start: date | None = None
    antibody_baseline: Fact[Resectability] | None = None
    course: CourseResult | None = None

    def threshold(self, name: str) -> float:
        """A threshold value from the rule base."""
        return self.thresholds[name]

    def int_threshold(self, name: str) -> int:
        """An integer threshold value from the rule base."""
        return int(self.thresholds[name])


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's end.

    >>> add_months(date(2025, 1, 31), 1)
    datetime.date(2025, 2, 28)
    """
    years, month_index = divmod(day.month - 1 + months, 12)
    year = day.year + years
    month = month_index + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _value(fact: Fact[T] | None) -> T | None:
    return None if fact is None else fact.value


def compute_timing(
    facts: PatientFacts,
    definition: TimingDefinition,
    thresholds: Mapping[str, float],
    presentation_window_days: int,
) -> TimingResult:
    """Synchronous or metachronous (early/late) under one definition, from the recorded dates."""
    primary, liver = facts.primary, facts.liver_metastases
    diagnosed = primary.diagnosed.value if primary and primary.diagnosed else None
    resected = primary.resected.value if primary and primary.resected else None
    detected = liver.detected.value if liver and liver.detected else None
    early_months = int(thresholds["metachronous_early_months"])
    if diagnosed is None or detected is None:
        missing = [
            name
            for name, value in (("primary diagnosis", diagnosed), ("liver metastases detection", detected))
            if value is None
        ]
        return TimingResult(definition, None, "date of " + " and ".join(missing) + " not recorded")
    gap = (detected - diagnosed).days
    gap_text = (
        f"liver metastases detected {detected.isoformat()}, primary diagnosed {diagnosed.isoformat()}"
        f" ({gap:+d} days)"
    )
    within_early = detected <= add_months(diagnosed, early_months)
    if definition is TimingDefinition.ADAM_2015:
        if gap <= presentation_window_days:
            note = (
                f"; counted as at diagnosis (staging within {presentation_window_days} days of it)"
                if gap > 0
                else ""
            )
            return TimingResult(definition, TimingCategory.SYNCHRONOUS, gap_text + note)
        if resected is None:
            return TimingResult(
                definition,
                TimingCategory.METACHRONOUS,
                gap_text + "; no primary resection recorded to measure early/late from",
            )
        early = detected <= add_months(resected, early_months)
        category = TimingCategory.EARLY_METACHRONOUS if early else TimingCategory.LATE_METACHRONOUS
        return TimingResult(definition, category, gap_text + f"; primary resected {resected.isoformat()}")
    if definition is TimingDefinition.E_AHPBA_2023:
        if gap <= presentation_window_days:
            note = (
                f"; counted as at presentation (within {presentation_window_days} days of diagnosis)"
                if gap > 0
                else ""
            )
            return TimingResult(definition, TimingCategory.SYNCHRONOUS, gap_text + note)
        category = TimingCategory.EARLY_METACHRONOUS if within_early else TimingCategory.LATE_METACHRONOUS
        return TimingResult(definition, category, gap_text)
    max_days = int(thresholds["maki_synchronous_max_days"])
    before_resection = resected is None or detected < resected
    if gap <= max_days and before_resection:
        note = "" if resected is not None else "; no primary resection recorded"
        return TimingResult(definition, TimingCategory.SYNCHRONOUS, gap_text + note)
    category = TimingCategory.EARLY_METACHRONOUS if within_early else TimingCategory.LATE_METACHRONOUS
    reason = "; detected on or after primary resection" if not before_resection else ""
    return TimingResult(definition, category, gap_text + reason)


def compute_sidedness(facts: PatientFacts) -> Sidedness:
    """Left (splenic flexure to rectum), right (caecum to hepatic flexure), transverse =
    indeterminate, anything else unknown (clinical-evidence.md §2.2)."""
    site = facts.primary.site.value if facts.primary and facts.primary.site else None
    if site in LEFT_SITES:
        return Sidedness.LEFT
    if site in RIGHT_SITES:
        return Sidedness.RIGHT
    if site is PrimarySite.TRANSVERSE_COLON:
        return Sidedness.INDETERMINATE
    return Sidedness.UNKNOWN


def _note_concerns(note: DataNote, gene: str, fact: Fact[Any] | None) -> bool:
    """A conflict note concerns the genes its message names; a note naming none concerns the
    gene whose result shares a source with it (a conflict about a combined KRAS+NRAS test's KRAS
    reading does not make its NRAS reading conflicting)."""
    if note.kind != "conflict":
        return False
    named = {name for name, pattern in _GENE_PATTERNS.items() if pattern.search(note.message)}
    if named:
        return gene in named
    return fact is not None and bool(set(note.sources) & set(fact.sources))


def compute_conflicts(facts: PatientFacts) -> frozenset[str]:
    """Genes (kras, nras, braf, mmr, tp53) with a conflict note: their results count as unknown."""
    molecular = facts.molecular
    gene_facts: dict[str, Fact[Any] | None] = {
        "kras": molecular.kras,
        "nras": molecular.nras,
        "braf": molecular.braf,
        "mmr": molecular.mmr,
        "tp53": molecular.tp53,
    }
    return frozenset(
        gene
        for gene, fact in gene_facts.items()
        if any(_note_concerns(note, gene, fact) for note in facts.data_notes)
    )


def compute_ras(facts: PatientFacts, conflicts: frozenset[str]) -> tuple[GeneStatus, str]:
    """Extended RAS: mutant if KRAS or NRAS is mutant (also when a RAS result does not name the
    gene); wild-type only if both are wild-type (a wild-type combined KRAS+NRAS test counts for
    both). A RAS result without a gene that contradicts wild-type KRAS and NRAS is a conflict."""
    molecular = facts.molecular
    kras = None if "kras" in conflicts else _value(molecular.kras)
    nras = None if "nras" in conflicts else _value(molecular.nras)
    unspecified = _value(molecular.ras_unspecified)

    def describe(gene: str, value: object | None) -> str:
        if gene.lower() in conflicts:
            return f"{gene} conflicting results"
        return f"{gene} {value}" if value is not None else f"{gene} not recorded"

    detail = describe("KRAS", kras) + ", " + describe("NRAS", nras)
    if unspecified is not None:
        detail += f", RAS (gene not named) {unspecified}"
    if MutationStatus.MUTANT in (kras, nras):
        return GeneStatus.MUTANT, detail
    if unspecified is MutationStatus.MUTANT:
        if kras is MutationStatus.WILD_TYPE and nras is MutationStatus.WILD_TYPE:
            return GeneStatus.UNKNOWN, detail + ": conflicting with wild-type KRAS and NRAS"
        return GeneStatus.MUTANT, detail
    if conflicts & {"kras", "nras"}:
        return GeneStatus.UNKNOWN, detail
    combined_wild = unspecified is MutationStatus.WILD_TYPE
    kras_wild = kras is MutationStatus.WILD_TYPE or (kras is None and combined_wild)
    nras_wild = nras is MutationStatus.WILD_TYPE or (nras is None and combined_wild)
    if kras_wild and nras_wild:
        return GeneStatus.WILD_TYPE, detail
    return GeneStatus.UNKNOWN, detail


def compute_braf(facts: PatientFacts, conflicts: frozenset[str]) -> BrafClass:
    """BRAF class; conflicting results count as unknown."""
    value = None if "braf" in conflicts else _value(facts.molecular.braf)
    if value is BrafStatus.V600E:
        return BrafClass.V600E
    if value is BrafStatus.OTHER_MUTATION:
        return BrafClass.OTHER
    if value is BrafStatus.WILD_TYPE:
        return BrafClass.WILD_TYPE
    return BrafClass.UNKNOWN


def compute_mmr(facts: PatientFacts, conflicts: frozenset[str]) -> MmrClass:
    """MMR class; conflicting results count as unknown."""
    value = None if "mmr" in conflicts else _value(facts.molecular.mmr)
    if value is MmrStatus.DEFICIENT:
        return MmrClass.DEFICIENT
    if value is MmrStatus.PROFICIENT:
        return MmrClass.PROFICIENT
    return MmrClass.UNKNOWN


def compute_tp53(facts: PatientFacts, conflicts: frozenset[str]) -> GeneStatus:
    """TP53 status; conflicting results count as unknown."""
    value = None if "tp53" in conflicts else _value(facts.molecular.tp53)
    if value is MutationStatus.MUTANT:
        return GeneStatus.MUTANT
    if value is MutationStatus.WILD_TYPE:
        return GeneStatus.WILD_TYPE
    return GeneStatus.UNKNOWN


def compute_ps(facts: PatientFacts, thresholds: Mapping[str, float]) -> PsClass:
    """ECOG up to the good-PS threshold is good, up to the surgery threshold limited, else poor."""
    if facts.ecog is None:
        return PsClass.UNKNOWN
    ecog = facts.ecog.value
    if ecog <= thresholds["good_ps_max_ecog"]:
        return PsClass.GOOD
    if ecog <= thresholds["surgery_max_ecog"]:
        return PsClass.LIMITED
    return PsClass.POOR


def _exposures(facts: PatientFacts, agents: frozenset[Agent]) -> tuple[TherapyExposure, ...]:
    return tuple(t for t in facts.therapies if t.agent in agents)


def _sources_of(exposures: tuple[TherapyExposure, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(s for t in exposures for s in t.sources))


def possible_oxaliplatin(facts: PatientFacts) -> tuple[Fact[Any], ...]:
    """Records that may be oxaliplatin without saying so: medication records whose drug is unknown,
    and systemic-therapy records that could not be read (undated: nothing of them was read)."""
    unread = (f for f in facts.unreadable if f.value is RecordKind.SYSTEMIC_THERAPY)
    return (*facts.unidentified_medications, *unread)


def compute_oxaliplatin(
    facts: PatientFacts, thresholds: Mapping[str, float], recurrence_onset: date | None = None
) -> OxaliplatinResult:
    """Oxaliplatin failure: the liver metastases, or their recurrence after liver treatment, appeared
    within the window after the last oxaliplatin before them (001: failed adjuvant oxaliplatin within
    12 months; chemotherapy after a liver resection is adjuvant too), or progression was recorded
    during oxaliplatin or within the on-chemotherapy window after it (the service's extension).
    Progression later within the window, after a break, is not counted as failure (``after_break``).
    Unknown when oxaliplatin is recorded without usable dates, or when a record whose drug is
    unknown (:func:`possible_oxaliplatin`) would make failure possible were it oxaliplatin (each is
    tried alone, dated by the last day it covers). A rechallenge is oxaliplatin given again on or
    after the onset of the current episode (or after the progression)."""
    exposures = _exposures(facts, frozenset({Agent.OXALIPLATIN}))
    recorded = _oxaliplatin_failure(facts, exposures, thresholds, recurrence_onset)
    if recorded.failure is True:
        return recorded
    relevant = [
        record
        for record in possible_oxaliplatin(facts)
        if _oxaliplatin_failure(
            facts,
            (TherapyExposure(Agent.OXALIPLATIN, record.effective, None, record.sources),),
            thresholds,
            recurrence_onset,
        ).failure
        is not False
    ]
    if not relevant:
        return recorded
    months = int(thresholds["oxaliplatin_failure_months"])
    dates = ", ".join(r.effective.isoformat() if r.effective else "undated" for r in relevant[:3])
    more = f" and {len(relevant) - 3} more" if len(relevant) > 3 else ""
    count = f"{len(relevant)} medication record{'s' if len(relevant) > 1 else ''}"
    detail = (
        f"{recorded.detail}; the drug of {count} ({dates}{more}) is not identified or could not be read, "
        f"and if {'any was' if len(relevant) > 1 else 'it was'} oxaliplatin, failure within {months} "
        "months cannot be excluded"
    )
    references = tuple(dict.fromkeys(s for r in relevant for s in r.sources))
    return OxaliplatinResult(
        None,
        detail,
        False,
        tuple(dict.fromkeys(recorded.sources + references)),
        unidentified=references,
        dates_unknown=recorded.failure is None,
    )


def _oxaliplatin_failure(
    facts: PatientFacts,
    exposures: tuple[TherapyExposure, ...],
    thresholds: Mapping[str, float],
    recurrence_onset: date | None,
) -> OxaliplatinResult:
    """Oxaliplatin failure judged from these oxaliplatin exposures (see :func:`compute_oxaliplatin`)."""
    sources = _sources_of(exposures)
    months = int(thresholds["oxaliplatin_failure_months"])
    if not exposures:
        return OxaliplatinResult(False, "no oxaliplatin recorded", False, ())
    liver = facts.liver_metastases
    detected = liver.detected.value if liver and liver.detected else None
    status = liver.disease_status if liver else None
    dated = [(t, last) for t in exposures if (last := t.last_date) is not None]
    undated = len(dated) < len(exposures)
    current = recurrence_onset or detected
    episodes = [
        (label, onset)
        for label, onset in (
            ("liver recurrence recorded", recurrence_onset),
            ("liver metastases detected", detected),
        )
        if onset is not None
    ]
    for label, onset in episodes:
        before = [last for _, last in dated if last < onset]
        if before and onset <= add_months(max(before), months):
            rechallenged = current is not None and any(
                t.start is not None and t.start >= current for t in exposures
            )
            return OxaliplatinResult(
                True,
                f"{label} {onset.isoformat()}, within {months} months of the last oxaliplatin before "
                f"{'it' if label.startswith('liver recurrence') else 'them'} ({max(before).isoformat()})",
                rechallenged,
                sources,
            )
    if status is not None and status.value is DiseaseStatus.PROGRESSION:
        progressed = status.effective
        window = timedelta(days=thresholds["progression_on_chemotherapy_window_days"])
        for exposure, last in dated:
            start = exposure.start or last
            if progressed is None or start <= progressed <= last + window:
                when = f" on {progressed.isoformat()}" if progressed else ""
                rechallenged = progressed is not None and any(
                    t.start is not None and t.start > progressed for t in exposures
                )
                return OxaliplatinResult(
                    True,
                    f"progression recorded{when} during oxaliplatin or within {window.days} days of its "
                    f"last dose ({last.isoformat()})",
                    rechallenged,
                    sources + status.sources,
                    by_progression=True,
                )
        earlier = [
            last
            for _, last in dated
            if progressed is not None and last < progressed <= add_months(last, months)
        ]
        if earlier and progressed is not None and not undated and detected is not None:
            return OxaliplatinResult(
                False,
                f"progression recorded on {progressed.isoformat()}, {(progressed - max(earlier)).days} days "
                f"after the last oxaliplatin ({max(earlier).isoformat()}): after a break, beyond the "
                f"{window.days}-day on-chemotherapy window, so not counted as failure; prior oxaliplatin "
                "for the MDT to weigh",
                any(t.start is not None and t.start > progressed for t in exposures),
                sources + status.sources,
                after_break=True,
            )
    if detected is None or undated:
        missing = "dates of oxaliplatin are" if undated else "date the liver metastases were detected is"
        return OxaliplatinResult(
            None, f"oxaliplatin recorded, but the {missing} not", False, sources, dates_unknown=True
        )
    last_given = max(last for _, last in dated)
    if recurrence_onset is not None and last_given < recurrence_onset:
        detail = (
            f"last oxaliplatin {last_given.isoformat()}, over {months} months before the liver recurrence "
            f"({recurrence_onset.isoformat()})"
        )
    elif last_given >= detected:
        window_days = int(thresholds["progression_on_chemotherapy_window_days"])
        detail = (
            f"oxaliplatin given for the liver metastases (last {last_given.isoformat()}); no progression "
            f"recorded during it or within {window_days} days of its last dose"
        )
    else:
        detail = (
            f"last oxaliplatin {last_given.isoformat()}, over {months} months before the liver metastases"
        )
    return OxaliplatinResult(False, detail, False, sources)


def _cycle_starts(
    exposures: tuple[TherapyExposure, ...], stop: date, thresholds: Mapping[str, float]
) -> tuple[list[date], bool]:
    """The first day of each cycle the exposures make up, and whether any was estimated from a
    recorded period. Administrations within the grouping window are one cycle; a period is cut
    into cycles of the estimate length."""
    grouping = int(thresholds["cycle_grouping_days"])
    length = int(thresholds["cycle_length_days_estimate"])
    days: set[date] = set()
    estimated = False
    for exposure in exposures:
        start = exposure.start
        if start is None:
            continue
        end = min(exposure.end or start, stop - timedelta(days=1))
        span = (end - start).days
        if span < grouping:
            days.add(start)
            continue
        estimated = True
        for k in range(math.ceil((span + 1) / length)):
            days.add(start + timedelta(days=k * length))
    cycles: list[date] = []
    for day in sorted(days):
        if not cycles or (day - cycles[-1]).days >= grouping:
            cycles.append(day)
    return cycles, estimated


def compute_cycles(facts: PatientFacts, today: date, thresholds: Mapping[str, float]) -> CyclesResult:
    """Cycles of cytotoxic chemotherapy since detection of the liver metastases and before the
    first liver resection (or to date). Administrations within the grouping window are one cycle;
    recorded periods are counted at the estimate cycle length, and the detail says so."""
    if facts.pre_hepatectomy_cycles is not None:
        fact = facts.pre_hepatectomy_cycles
        return CyclesResult(fact.value, f"{fact.value} cycles recorded", fact.sources)
    liver = facts.liver_metastases
    detected = liver.detected.value if liver and liver.detected else None
    if detected is None:
        if not _exposures(facts, CYTOTOXIC_AGENTS):
            return CyclesResult(0, "no chemotherapy recorded", ())
        return CyclesResult(None, "date the liver metastases were detected not recorded", ())
    resections = sorted(
        p.performed
        for p in facts.liver_procedures
        if p.kind == "resection" and p.performed is not None and p.performed >= detected
    )
    stop = resections[0] if resections else today + timedelta(days=1)
    exposures = tuple(
        t for t in _exposures(facts, CYTOTOXIC_AGENTS) if t.start is not None and detected <= t.start < stop
    )
    if not exposures:
        return CyclesResult(0, "no chemotherapy recorded since the liver metastases were detected", ())
    starts, estimated = _cycle_starts(exposures, stop, thresholds)
    count = len(starts)
    detail = f"{count} cycles counted from administrations"
    if estimated:
        length = int(thresholds["cycle_length_days_estimate"])
        detail = f"about {count} cycles, estimated from recorded periods at {length}-day cycles"
    return CyclesResult(count, detail, _sources_of(exposures))


def compute_course(facts: PatientFacts, today: date, thresholds: Mapping[str, float]) -> CourseResult | None:
    """Perioperative chemotherapy given so far for the liver metastases that were last treated:
    cytotoxic cycles from their detection (or, after several liver treatments, from the day after
    the one before the last) to ``today``, and the weeks they cover (cycles times the usual interval
    between them, so a break for surgery does not count). ``None`` without a liver treatment or a
    detection date."""
    liver = facts.liver_metastases
    detected = liver.detected.value if liver and liver.detected else None
    treated = liver_treatment_dates(facts)
    if detected is None or not treated:
        return None
    since = detected if len(treated) < 2 else max(detected, treated[-2] + timedelta(days=1))
    stop = today + timedelta(days=1)
    exposures = tuple(
        t for t in _exposures(facts, CYTOTOXIC_AGENTS) if t.start is not None and since <= t.start < stop
    )
    starts, estimated = _cycle_starts(exposures, stop, thresholds)
    if not starts:
        return CourseResult(0, 0.0, f"no chemotherapy recorded since {since.isoformat()}", ())
    gaps = sorted((b - a).days for a, b in itertools.pairwise(starts))
    interval = gaps[len(gaps) // 2] if gaps else int(thresholds["cycle_length_days_estimate"])
    weeks = round(len(starts) * interval / 7, 1)
    before = sum(1 for d in starts if d < treated[-1])
    after = len(starts) - before
    detail = (
        f"{len(starts)} cycles since {since.isoformat()} ({before} before and {after} after the liver "
        f"treatment of {treated[-1].isoformat()}), every {interval} days: about {weeks:g} weeks"
    )
    if estimated:
        detail += " (some cycles estimated from recorded periods)"
    return CourseResult(len(starts), weeks, detail, _sources_of(exposures))


def compute_flr(facts: PatientFacts, heavy: bool | None, thresholds: Mapping[str, float]) -> FlrRequirement:
    """The minimum future liver remnant: at least 20% of a normal liver, 30% cirrhotic (003) raised to
    40% by newer evidence, over 40% after heavy chemotherapy (003, Azoulay); the safer (higher) value
    wins, and "over" when the heavy-chemotherapy value binds."""
    normal = thresholds["flr_normal_min_pct"]
    required = normal
    basis = [f"{normal:g}% for a normal liver (003)"]
    assumptions: list[str] = []
    cirrhosis = _value(facts.cirrhosis)
    if cirrhosis is True:
        seed, newer = thresholds["flr_cirrhosis_min_pct"], thresholds["flr_cirrhosis_min_pct_newer"]
        required = max(required, seed, newer)
        basis.append(f"cirrhosis: {seed:g}% in 003, {newer:g}% in newer reviews; the safer value is used")
    elif cirrhosis is None:
        assumptions.append("no cirrhosis recorded: a normal liver is assumed")
    exclusive = False
    if heavy is True:
        heavy_pct = thresholds["flr_heavy_chemo_min_pct"]
        cycles = int(thresholds["heavy_chemo_cycles_over"])
        exclusive = heavy_pct >= required
        required = max(required, heavy_pct)
        basis.append(
            f"more than {cycles} preoperative cycles (the service's reading of 003's 'high-volume' "
            f"chemotherapy): over {heavy_pct:g}% (003, Azoulay)"
        )
    elif heavy is None:
        assumptions.append("number of preoperative cycles unknown: no heavy chemotherapy assumed")
    return FlrRequirement(required, "; ".join(basis), tuple(assumptions), exclusive)


def compute_ehd(facts: PatientFacts) -> tuple[EhdStatus, frozenset[str]]:
    """Extrahepatic status and distinct sites; nodal stations count together as one site."""
    sites = frozenset(
        "lymph nodes" if fact.value in NODE_SITES else str(fact.value) for fact in facts.extrahepatic
    )
    if sites:
        return EhdStatus.PRESENT, sites
    if facts.extrahepatic_absent is not None and facts.extrahepatic_absent.value is True:
        return EhdStatus.ABSENT, sites
    return EhdStatus.NOT_RECORDED, sites


def _liver_treatments(facts: PatientFacts) -> tuple[LiverProcedure, ...]:
    return tuple(p for p in facts.liver_procedures if p.kind in LIVER_TREATMENTS)


def compute_recurrence(facts: PatientFacts) -> RecurrenceResult:
    """Liver disease after the last liver resection or ablation, from the first evidence dated after
    it: liver metastases first detected after it, a liver-metastasis Condition with an onset after it
    (a recurrence recorded as a new Condition), progression recorded after it, or lesion measurements
    dated after it showing at least one lesion. Measurements are not read as recurrence while a
    portal vein embolisation after the last treatment shows a staged hepatectomy under way, and the
    basis then says to confirm they show new disease (not the resected specimen)."""
    liver = facts.liver_metastases
    treated = liver_treatment_dates(facts)
    if liver is None or not treated:
        return RecurrenceResult(False)
    last = treated[-1]
    after = f"after the liver treatment of {last.isoformat()}"
    evidence: list[tuple[date, str, tuple[str, ...]]] = []
    if liver.detected is not None and liver.detected.value > last:
        evidence.append(
            (
                liver.detected.value,
                f"liver metastases first detected {liver.detected.value.isoformat()}, {after}",
                liver.detected.sources,
            )
        )
    for onset in liver.onsets:
        if onset.value > last:
            evidence.append(
                (
                    onset.value,
                    f"a liver-metastasis Condition with onset {onset.value.isoformat()}, {after}",
                    onset.sources,
                )
            )
    status = liver.disease_status
    if (
        status is not None
        and status.value is DiseaseStatus.PROGRESSION
        and status.effective is not None
        and status.effective > last
    ):
        evidence.append(
            (
                status.effective,
                f"progression recorded {status.effective.isoformat()}, {after}",
                status.sources,
            )
        )
    staged = any(
        p.kind == "portal-vein-embolisation" and p.performed is not None and p.performed > last
        for p in facts.liver_procedures
    )
    measured = _effective(liver.lesion_count, liver.largest_diameter_cm)
    count = liver.lesion_count.value if liver.lesion_count else None
    lesions = (count is not None and count > 0) or (count is None and liver.largest_diameter_cm is not None)
    if measured is not None and measured > last and lesions and not staged:
        what = f"{count} lesion(s)" if count is not None else "a lesion measured"
        evidence.append(
            (
                measured,
                f"lesion measurements dated {measured.isoformat()} ({what}), {after}: confirm they show new "
                "disease (not the resected specimen or lesions left for a second stage)",
                tuple(s for f in (liver.lesion_count, liver.largest_diameter_cm) if f for s in f.sources),
            )
        )
    if not evidence:
        return RecurrenceResult(False)
    first = min(evidence, key=lambda item: item[0])
    sources = tuple(dict.fromkeys(s for item in evidence for s in item[2]))
    return RecurrenceResult(True, first[0], first[1], sources)


def _number_in(text: str | None, letter: str) -> int | None:
    if text is None:
        return None
    match = re.search(rf"{letter}(IS|\d)", text.upper())
    if match is None:
        return None
    return 0 if match.group(1) == "IS" else int(match.group(1))


def t_number(facts: PatientFacts) -> int | None:
    """T category as a number (Tis = 0), or ``None`` when not recorded or TX."""
    primary = facts.primary
    return _number_in(primary.t_category.value if primary and primary.t_category else None, "T")


def n_number(facts: PatientFacts) -> int | None:
    """N category as a number, or ``None`` when not recorded or NX."""
    primary = facts.primary
    return _number_in(primary.n_category.value if primary and primary.n_category else None, "N")


def compute_fong(facts: PatientFacts, thresholds: Mapping[str, float]) -> FongResult:
    """The five preoperative criteria of the Fong clinical risk score (Fong 1999)."""
    primary, liver = facts.primary, facts.liver_metastases
    nodes = n_number(facts)
    node_positive = None if nodes is None else nodes > 0
    dfi: bool | None = None
    detected = liver.detected.value if liver and liver.detected else None
    if primary is not None and detected is not None:
        resected = primary.resected.value if primary.resected else None
        diagnosed = primary.diagnosed.value if primary.diagnosed else None
        reference = resected if resected is not None and resected <= detected else diagnosed
        if reference is not None:
            months = int(thresholds["fong_dfi_months"])
            dfi = detected < add_months(reference, months)
    count = liver.lesion_count.value if liver and liver.lesion_count else None
    largest = liver.largest_diameter_cm.value if liver and liver.largest_diameter_cm else None
    cea = facts.cea_ng_ml.value if facts.cea_ng_ml else None
    return FongResult(
        (
            ("node-positive primary", node_positive),
            ("disease-free interval under 12 months", dfi),
            ("more than one liver tumour", None if count is None else count > 1),
            (
                "largest liver tumour over 5 cm",
                None if largest is None else largest > thresholds["fong_largest_cm"],
            ),
            ("CEA over 200 ng/mL", None if cea is None else cea > thresholds["fong_cea_ng_ml"]),
        )
    )


def _effective(*facts: Fact[Any] | None) -> date | None:
    dates = [f.effective for f in facts if f is not None and f.effective is not None]
    return max(dates) if dates else None


def liver_treatment_dates(facts: PatientFacts) -> tuple[date, ...]:
    """Dates of the recorded liver resections and ablations, oldest first."""
    return tuple(sorted(p.performed for p in _liver_treatments(facts) if p.performed is not None))


def compute_liver_systemic_start(facts: PatientFacts) -> date | None:
    """First systemic therapy given for the liver metastases: on or after their detection and
    before the first liver resection or ablation after it."""
    liver = facts.liver_metastases
    detected = liver.detected.value if liver and liver.detected else None
    if detected is None:
        return None
    treated = [d for d in liver_treatment_dates(facts) if d >= detected]
    stop = treated[0] if treated else None
    starts = [
        t.start
        for t in facts.therapies
        if t.start is not None and t.start >= detected and (stop is None or t.start < stop)
    ]
    return min(starts) if starts else None


def compute_measurements_outdated(
    facts: PatientFacts, systemic_start: date | None, recurrence: bool = False
) -> str | None:
    """Why the recorded lesion count and size no longer describe the disease: measured before the
    latest disease status, before systemic therapy given for the liver metastases since, or (in a
    recurrence) before the last liver treatment."""
    liver = facts.liver_metastases
    if liver is None:
        return None
    measured = _effective(liver.lesion_count, liver.largest_diameter_cm)
    if measured is None:
        return None
    treatments = liver_treatment_dates(facts)
    if recurrence and treatments and measured <= treatments[-1]:
        return f"measured {measured.isoformat()}, before the liver treatment of {treatments[-1].isoformat()}"
    status = liver.disease_status
    if status is not None and status.effective is not None and status.effective > measured:
        return (
            f"measured {measured.isoformat()}, before the latest disease status "
            f"({status.value.value}, {status.effective.isoformat()})"
        )
    treated = [d for d in liver_treatment_dates(facts) if d > measured]
    stop = treated[0] if treated else None
    later = sorted(
        t.start
        for t in facts.therapies
        if t.start is not None and t.start > measured and (stop is None or t.start < stop)
    )
    if systemic_start is not None and later:
        return (
            f"measured {measured.isoformat()}, before systemic therapy given since "
            f"(from {later[0].isoformat()})"
        )
    return None


def mdt_out_of_date(facts: PatientFacts) -> tuple[str | None, bool]:
    """Why the recorded MDT assessment is out of date (``None`` when current), and whether it
    predates a liver treatment (then it no longer even describes the plan)."""
    liver = facts.liver_metastases
    mdt = liver.mdt_resectability if liver else None
    if liver is None or mdt is None or mdt.effective is None:
        return None, False
    assessed = mdt.effective
    treated = [d for d in liver_treatment_dates(facts) if d > assessed]
    if treated:
        return (
            f"the recorded MDT assessment ({mdt.value.value}, {assessed.isoformat()}) predates the liver "
            f"treatment of {treated[-1].isoformat()}",
            True,
        )
    status = liver.disease_status
    if status is not None and status.effective is not None and status.effective > assessed:
        return (
            f"the recorded MDT assessment ({mdt.value.value}, {assessed.isoformat()}) predates the latest "
            f"disease status ({status.value.value}, {status.effective.isoformat()}): the MDT reassesses",
            False,
        )
    measured = _effective(liver.lesion_count, liver.largest_diameter_cm)
    if measured is not None and measured > assessed:
        return (
            f"the recorded MDT assessment ({mdt.value.value}, {assessed.isoformat()}) predates the lesion "
            f"measurements of {measured.isoformat()}: the MDT reassesses",
            False,
        )
    return None, False


def compute_resectability(
    facts: PatientFacts,
    flr: FlrRequirement,
    ps: PsClass,
    ehd: EhdStatus,
    ehd_sites: frozenset[str],
    thresholds: Mapping[str, float],
    measurements_outdated: str | None = None,
    *,
    use_mdt: bool = True,
    recurrence: bool = False,
) -> ResectabilityResult:
    """Resectability from a current MDT assessment (unless ``use_mdt`` is off), else from the
    criteria of the sources when the data decide it, else ``None`` with the reasons and the data
    that would be needed. In a recurrence, a remnant or lobar distribution recorded before the last
    liver treatment no longer describes the liver and is not used.

    The criteria decide only clear cases: unresectable with extrahepatic disease at several sites
    or peritoneal metastases beyond 003's limit; resectable only for clearly limited disease (at
    most the rule base's lesion limit, one lobe, adequate remnant, no extrahepatic disease, fit
    for surgery). Anything else (a low remnant, many or bilobar lesions, one extrahepatic site,
    out-of-date measurements) is left to the MDT.
    """
    liver = facts.liver_metastases
    if liver is None:
        return ResectabilityResult(None, ResectabilityBasis.NONE, (), (), ())
    mdt = liver.mdt_resectability if use_mdt else None
    stale_note: tuple[str, ...] = ()
    if mdt is not None:
        stale, _ = mdt_out_of_date(facts)
        if stale is None:
            return ResectabilityResult(mdt.value, ResectabilityBasis.MDT, (), (), mdt.sources)
        stale_note = (stale,)
    count = liver.lesion_count.value if liver.lesion_count else None
    largest = liver.largest_diameter_cm.value if liver.largest_diameter_cm else None
    treated = liver_treatment_dates(facts)
    superseded: list[str] = []

    def current(fact: Fact[T] | None, what: str) -> T | None:
        if fact is None:
            return None
        if recurrence and treated and fact.effective is not None and fact.effective <= treated[-1]:
            superseded.append(
                f"{what} recorded {fact.effective.isoformat()}, before the liver treatment of "
                f"{treated[-1].isoformat()}: not used"
            )
            return None
        return fact.value

    bilobar = current(liver.bilobar, "lobar distribution")
    flr_value = current(liver.future_liver_remnant_pct, "future liver remnant")
    stale_note = (*stale_note, *superseded)
    sources = tuple(
        s
        for fact in (
            liver.lesion_count,
            liver.largest_diameter_cm,
            liver.bilobar,
            liver.future_liver_remnant_pct,
            facts.ecog,
        )
        if fact is not None
        for s in fact.sources
    ) + tuple(s for fact in facts.extrahepatic for s in fact.sources)
    site_values = {fact.value for fact in facts.extrahepatic}
    if len(ehd_sites) >= 2:
        return ResectabilityResult(
            Resectability.UNRESECTABLE,
            ResectabilityBasis.CRITERIA,
            (*stale_note, f"extrahepatic disease at {len(ehd_sites)} sites (003: no benefit from resection)"),
            (),
            sources,
        )
    peritoneal_limit = thresholds["peritoneal_max_liver_lesions"]
    if ExtrahepaticSite.PERITONEUM in site_values and count is not None and count > peritoneal_limit:
        return ResectabilityResult(
            Resectability.UNRESECTABLE,
            ResectabilityBasis.CRITERIA,
            (
                *stale_note,
                f"peritoneal metastases with {count} liver lesions (003: at most {peritoneal_limit:g})",
            ),
            (),
            sources,
        )
    reasons: list[str] = list(stale_note)
    missing: list[str] = []
    if ps is PsClass.POOR:
        reasons.append("ECOG above the surgical threshold: fitness for surgery is an MDT judgement")
        return ResectabilityResult(
            None, ResectabilityBasis.NONE, tuple(reasons), ("MDT assessment",), sources
        )
    open_questions: list[str] = []
    if measurements_outdated is not None:
        open_questions.append(f"lesion count and size {measurements_outdated}")
        missing.append("current lesion count and size (re-measure at restaging)")
    if flr_value is not None and not flr.met_by(flr_value):
        open_questions.append(
            f"future liver remnant {flr_value:g}%, short of the {flr.text} required: portal vein "
            "embolisation or a two-stage hepatectomy may make it resectable (003), an MDT judgement"
        )
    max_lesions = int(thresholds["criteria_resectable_max_lesions"])
    if count is not None and count > max_lesions and measurements_outdated is None:
        open_questions.append(
            f"{count} lesions: more than the {max_lesions} the criteria call clearly resectable"
        )
    if bilobar is True:
        open_questions.append(
            "bilobar metastases: the resection strategy (possibly two-stage, 003) is an MDT judgement"
        )
    if len(ehd_sites) == 1:
        site = next(iter(ehd_sites))
        open_questions.append(
            f"extrahepatic disease at one site ({site}): curative intent remains possible if it can be "
            "treated too (003), an MDT judgement"
        )
    if ExtrahepaticSite.CELIAC_OR_PARA_AORTIC_NODES in site_values:
        open_questions.append("celiac or para-aortic nodes: the MDT must weigh the poor outlook (003)")
    if ExtrahepaticSite.PERITONEUM in site_values and ps is not PsClass.GOOD:
        open_questions.append("peritoneal metastases need good performance status for liver resection (003)")
    if count is None:
        missing.append("number of liver lesions")
    if largest is None:
        missing.append("largest lesion diameter")
    if bilobar is None:
        missing.append("lobar distribution (one lobe or both)")
    if flr_value is None:
        missing.append("future liver remnant")
    if ps is PsClass.UNKNOWN:
        missing.append("ECOG performance status")
    if ehd is EhdStatus.NOT_RECORDED:
        missing.append("staging of extrahepatic disease")
    if open_questions:
        missing.append("MDT assessment")
    if open_questions or missing:
        return ResectabilityResult(
            None,
            ResectabilityBasis.NONE,
            (*reasons, *open_questions),
            tuple(dict.fromkeys(missing)),
            sources,
        )
    reasons.append(
        f"{count} lesion(s) in one lobe, largest {largest:g} cm, future liver remnant {flr_value:g}% "
        f"(required {flr.text}), no extrahepatic disease, ECOG within the surgical threshold"
    )
    return ResectabilityResult(
        Resectability.RESECTABLE, ResectabilityBasis.CRITERIA, tuple(reasons), (), sources
    )


def compute_restaging(
    facts: PatientFacts,
    systemic_start: date | None,
    resectable: bool,
    today: date,
    thresholds: Mapping[str, float],
) -> tuple[date | None, bool]:
    """The latest restaging of the liver disease and whether one is overdue: on systemic therapy
    for the liver metastases (a dose within the on-chemotherapy window) with no restaging within
    the reassessment interval (001: every 2 months; 3 months of preoperative chemotherapy before
    restaging when resectable)."""
    liver = facts.liver_metastases
    if liver is None:
        return None, False
    last = _effective(
        liver.disease_status, liver.lesion_count, liver.largest_diameter_cm, liver.mdt_resectability
    )
    if systemic_start is None:
        return last, False
    window = timedelta(days=thresholds["progression_on_chemotherapy_window_days"])
    on_therapy = any(
        (d := t.last_date) is not None and d <= today and today - d <= window for t in facts.therapies
    )
    if not on_therapy:
        return last, False
    months = int(
        thresholds["perioperative_months_before"] if resectable else thresholds["reassess_interval_months"]
    )
    reference = max(last, systemic_start) if last is not None else systemic_start
    return last, today > add_months(reference, months)


def mdt_assessments(facts: PatientFacts) -> tuple[Fact[Resectability], ...]:
    """Every recorded MDT assessment, oldest first; the latest alone when no history is recorded."""
    liver = facts.liver_metastases
    if liver is None:
        return ()
    if liver.mdt_history:
        return liver.mdt_history
    return (liver.mdt_resectability,) if liver.mdt_resectability is not None else ()


def mdt_before(facts: PatientFacts, start: date | None) -> Fact[Resectability] | None:
    """The latest dated MDT assessment on or before ``start`` and after any liver treatment that
    precedes it (an assessment before a liver treatment describes disease since treated)."""
    if start is None:
        return None
    earlier_treatments = [d for d in liver_treatment_dates(facts) if d <= start]
    floor = earlier_treatments[-1] if earlier_treatments else None
    found: Fact[Resectability] | None = None
    for assessment in mdt_assessments(facts):
        when = assessment.effective
        if when is None or when > start or (floor is not None and when <= floor):
            continue
        if found is None or found.effective is None or when >= found.effective:
            found = assessment
    return found


def antibody_start(facts: PatientFacts) -> date | None:
    """First dated dose of a recorded anti-EGFR antibody."""
    starts = [t.start for t in _exposures(facts, ANTI_EGFR_AGENTS) if t.start is not None]
    return min(starts) if starts else None


def compute_anti_egfr_setting(
    facts: PatientFacts,
    resectability: ResectabilityResult,
    baseline: Fact[Resectability] | None,
    criteria_before_start: Resectability | None,
) -> AntiEgfrSetting:
    """The setting a recorded anti-EGFR antibody was started in.

    The MDT assessment on or before its first dose (``baseline``) decides: resectable is the
    New EPOC population; not resectable is 001's conversion strategy, converted when a later
    assessment says resectable. Without one, the criteria applied to the measurements taken before
    the first dose decide when they call the disease resectable; otherwise an MDT assessment after
    the start (or, without any, the criteria now) calling the disease resectable means an antibody
    in resectable disease with no documented conversion, and one calling it not resectable puts the
    antibody in 001's setting. Anything else is not recorded.
    """
    if not _exposures(facts, ANTI_EGFR_AGENTS):
        return AntiEgfrSetting.NOT_RECORDED
    first = antibody_start(facts)
    liver = facts.liver_metastases
    latest = liver.mdt_resectability if liver else None
    if baseline is not None:
        if baseline.value is Resectability.RESECTABLE:
            return AntiEgfrSetting.INITIALLY_RESECTABLE
        later = (
            latest is not None
            and latest.effective is not None
            and first is not None
            and latest.effective > first
        )
        if later and latest is not None and latest.value is Resectability.RESECTABLE:
            return AntiEgfrSetting.CONVERTED
        return AntiEgfrSetting.CONVERSION
    if criteria_before_start is Resectability.RESECTABLE:
        return AntiEgfrSetting.CRITERIA_RESECTABLE
    treated_before = [d for d in liver_treatment_dates(facts) if first is not None and d <= first]
    if latest is not None and not (
        treated_before and latest.effective is not None and latest.effective <= treated_before[-1]
    ):
        if latest.value is Resectability.RESECTABLE:
            return AntiEgfrSetting.RESECTABLE_NO_BASELINE
        return AntiEgfrSetting.NOT_RESECTABLE_AFTER_START
    if resectability.value is Resectability.RESECTABLE:
        return AntiEgfrSetting.RESECTABLE_NO_BASELINE
    return AntiEgfrSetting.UNKNOWN


def criteria_before(
    facts: PatientFacts,
    start: date | None,
    ps: PsClass,
    ehd: EhdStatus,
    ehd_sites: frozenset[str],
    thresholds: Mapping[str, float],
) -> Resectability | None:
    """Resectability on the criteria alone, applied to lesion measurements dated on or before
    ``start`` (with no liver treatment in between) and before any chemotherapy counted as heavy;
    ``None`` when there are no such measurements or the criteria do not decide."""
    liver = facts.liver_metastases
    measured = None if liver is None else _effective(liver.lesion_count, liver.largest_diameter_cm)
    if start is None or measured is None or measured > start:
        return None
    if any(measured < d <= start for d in liver_treatment_dates(facts)):
        return None
    flr = compute_flr(facts, False, thresholds)
    return compute_resectability(facts, flr, ps, ehd, ehd_sites, thresholds, use_mdt=False).value


def compute_age(facts: PatientFacts, today: date) -> int | None:
    """Age in whole years on ``today``."""
    born = facts.birth_date
    if born is None:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def build_context(
    facts: PatientFacts, thresholds: Mapping[str, float], *, today: date, policy: DecisionPolicy
) -> PatientContext:
    """Derive the context the predicates read; pure and total over any facts."""
    window = (
        policy.presentation_window_days
        if policy.presentation_window_days is not None
        else int(thresholds["presentation_window_days"])
    )
    timing_all = tuple(compute_timing(facts, d, thresholds, window) for d in TimingDefinition)
    timing = next(t for t in timing_all if t.definition is policy.timing_definition)
    conflicts = compute_conflicts(facts)
    ras, ras_detail = compute_ras(facts, conflicts)
    ps = compute_ps(facts, thresholds)
    cycles = compute_cycles(facts, today, thresholds)
    heavy = None if cycles.count is None else cycles.count > thresholds["heavy_chemo_cycles_over"]
    flr = compute_flr(facts, heavy, thresholds)
    ehd, ehd_sites = compute_ehd(facts)
    primary = facts.primary
    site = primary.site.value if primary and primary.site else None
    distance = primary.anal_verge_distance_cm.value if primary and primary.anal_verge_distance_cm else None
    rectal = site is PrimarySite.RECTUM or (
        site is PrimarySite.RECTOSIGMOID
        and distance is not None
        and distance <= thresholds["rectal_max_anal_verge_cm"]
    )
    upper = None if distance is None else distance > thresholds["upper_rectum_min_cm"]
    recurrence = compute_recurrence(facts)
    systemic_start = compute_liver_systemic_start(facts)
    outdated = compute_measurements_outdated(facts, systemic_start, recurrence.recurred)
    resectability = compute_resectability(
        facts, flr, ps, ehd, ehd_sites, thresholds, outdated, recurrence=recurrence.recurred
    )
    liver = facts.liver_metastases
    mdt = liver.mdt_resectability if liver else None
    _, predates_treatment = mdt_out_of_date(facts)
    mdt_plan = None if mdt is None or predates_treatment else mdt.value
    baseline = mdt_before(facts, systemic_start)
    converted = (
        resectability.basis is ResectabilityBasis.MDT
        and resectability.value is Resectability.RESECTABLE
        and mdt is not None
        and mdt.effective is not None
        and systemic_start is not None
        and systemic_start < mdt.effective
        and baseline is not None
        and baseline.value is not Resectability.RESECTABLE
    )
    first_antibody = antibody_start(facts)
    antibody_baseline = mdt_before(facts, first_antibody)
    last_restaging, overdue = compute_restaging(
        facts,
        systemic_start,
        resectability.value is Resectability.RESECTABLE,
        today,
        thresholds,
    )
    return PatientContext(
        facts=facts,
        today=today,
        policy=policy,
        thresholds=thresholds,
        applicable=facts.primary is not None and facts.liver_metastases is not None,
        timing=timing,
        timing_all=timing_all,
        sidedness=compute_sidedness(facts),
        rectal=rectal,
        upper_rectal=upper,
        ras=ras,
        ras_detail=ras_detail,
        braf=compute_braf(facts, conflicts),
        mmr=compute_mmr(facts, conflicts),
        tp53=compute_tp53(facts, conflicts),
        conflicts=conflicts,
        ps=ps,
        oxaliplatin=compute_oxaliplatin(facts, thresholds, recurrence.onset),
        cycles=cycles,
        heavy_chemotherapy=heavy,
        flr=flr,
        ehd=ehd,
        ehd_sites=ehd_sites,
        liver_treated=bool(_liver_treatments(facts)),
        recurrence=recurrence.recurred,
        resectability=resectability,
        fong=compute_fong(facts, thresholds),
        mdt_plan=mdt_plan,
        liver_systemic_start=systemic_start,
        converted=converted,
        measurements_outdated=outdated,
        last_restaging=last_restaging,
        restaging_overdue=overdue,
        anti_egfr_setting=compute_anti_egfr_setting(
            facts,
            resectability,
            antibody_baseline,
            criteria_before(facts, first_antibody, ps, ehd, ehd_sites, thresholds),
        ),
        age=compute_age(facts, today),
        mdt_baseline=baseline,
        recurrence_info=recurrence,
        antibody_start=first_antibody,
        antibody_baseline=antibody_baseline,
        course=compute_course(facts, today, thresholds),
    )


def timing_label(definition: TimingDefinition) -> str:
    """Human label of a timing definition."""
    return TIMING_LABELS[definition]

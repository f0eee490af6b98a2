"""Builders of :class:`PatientFacts` for tests: one flat keyword call per clinical picture.

``crlm()`` with no arguments is a fully documented baseline: a synchronous, MDT-resectable sigmoid
cancer with two liver metastases, pMMR, RAS/BRAF wild-type, ECOG 0, liver-only disease and an
asymptomatic primary. Each keyword changes one fact; passing ``None`` makes it unknown (not
recorded), exactly as the FHIR mapping would. Every fact carries a FHIR reference derived from its
name (e.g. ``Observation/ecog``) so provenance can be asserted. Reused by the golden-file tests.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from cds_service.core import load_knowledge
from cds_service.core.facts import (
    Agent,
    BrafStatus,
    DataNote,
    DiseaseStatus,
    ExtrahepaticSite,
    Fact,
    HepatectomyComplexity,
    LiverMetastases,
    LiverProcedure,
    Margin,
    MmrStatus,
    Molecular,
    MutationStatus,
    PatientFacts,
    PrimarySite,
    PrimaryTumour,
    RecordKind,
    Resectability,
    Symptom,
    TherapyExposure,
)
from cds_service.core.knowledge import Knowledge

T = TypeVar("T")

TODAY = date(2026, 12, 1)
DIAGNOSED = date(2026, 9, 1)
KNOWLEDGE: Knowledge = load_knowledge()

PRIMARY_CODE = "http://snomed.info/sct|363406005"
LIVER_CODE = "http://snomed.info/sct|94381002"
WT = MutationStatus.WILD_TYPE
MUT = MutationStatus.MUTANT

_UNSET: Any = object()


def ref(name: str, resource: str = "Observation") -> str:
    """The FHIR reference builders give the fact called ``name``."""
    return f"{resource}/{name}"


def fact(
    value: T | None, name: str, resource: str = "Observation", effective: date | None = None
) -> Fact[T] | None:
    """Wrap ``value`` in a Fact referencing ``resource/name``, or ``None`` when unknown."""
    if value is None:
        return None
    return Fact(value, (ref(name, resource),), effective)


def exposure(
    agent: Agent, start: date | None, end: date | None = None, name: str | None = None
) -> TherapyExposure:
    """One recorded administration (or period, with ``end``) of an agent."""
    label = name or f"{agent.value}-{start.isoformat() if start else 'undated'}"
    return TherapyExposure(agent, start, end, (ref(label, "MedicationAdministration"),), str(agent.value))


def cycles_of(agent: Agent, first: date, count: int, every_days: int = 14) -> tuple[TherapyExposure, ...]:
    """``count`` administrations of ``agent`` every ``every_days`` days from ``first``."""
    return tuple(exposure(agent, date.fromordinal(first.toordinal() + i * every_days)) for i in range(count))


def folfox(first: date, count: int) -> tuple[TherapyExposure, ...]:
    """``count`` two-weekly cycles of FOLFOX (oxaliplatin and fluorouracil administrations)."""
    return cycles_of(Agent.OXALIPLATIN, first, count) + cycles_of(Agent.FLUOROURACIL, first, count)


def liver_resection(
    performed: date | None, margin: Margin | None = None, kind: str = "resection"
) -> LiverProcedure:
    """A liver resection (or ablation / portal-vein-embolisation with ``kind``)."""
    margin_fact = fact(margin, "margin") if margin is not None else None
    return LiverProcedure(kind, performed, (ref(f"{kind}-1", "Procedure"),), margin_fact)


def unread(kind: RecordKind, name: str | None = None) -> Fact[RecordKind]:
    """A record the mapping recognised as ``kind`` but could not read (not valid FHIR)."""
    resource = "MedicationRequest" if kind is RecordKind.SYSTEMIC_THERAPY else "Condition"
    return Fact(
        kind, (ref(name or f"unread-{kind.value}", resource),), note="not valid FHIR R4: 1 problem(s)"
    )


def unknown_drug(on: date | None, name: str | None = None) -> Fact[str]:
    """A medication order (dated ``on``) whose drug is unknown: its Medication was not supplied."""
    label = name or f"order-{on.isoformat() if on else 'undated'}"
    return Fact(
        f"Medication/{label}",
        (ref(label, "MedicationRequest"),),
        on,
        "the Medication it references was not supplied and could not be read: record which drug this is",
    )


def conflict(message: str, *sources: str) -> DataNote:
    """A conflict note from the mapping."""
    return DataNote("conflict", message, tuple(sources))


def crlm(
    *,
    site: PrimarySite | None = PrimarySite.SIGMOID_COLON,
    diagnosed: date | None = DIAGNOSED,
    detected: date | None = DIAGNOSED,
    primary_resected: date | None = None,
    t: str | None = "T3",
    n: str | None = "N1",
    anal_verge_cm: float | None = None,
    symptoms: frozenset[Symptom] | None = frozenset(),
    primary_complete_response: bool | None = None,
    pelvic_rt: date | None = None,
    lesions: int | None = 2,
    largest_cm: float | None = 3.5,
    measured: date | None = None,
    bilobar: bool | None = False,
    flr: float | None = 45.0,
    complexity: HepatectomyComplexity | None = HepatectomyComplexity.GRADE_II,
    mdt: Resectability | None = Resectability.RESECTABLE,
    mdt_date: date | None = None,
    mdt_earlier: tuple[tuple[Resectability, date | None], ...] = (),
    status: DiseaseStatus | None = None,
    status_date: date | None = None,
    kras: MutationStatus | None = WT,
    nras: MutationStatus | None = WT,
    ras_unspecified: MutationStatus | None = None,
    braf: BrafStatus | None = BrafStatus.WILD_TYPE,
    mmr: MmrStatus | None = MmrStatus.PROFICIENT,
    tp53: MutationStatus | None = None,
    cea: float | None = 12.0,
    ecog: int | None = 0,
    cirrhosis: bool | None = False,
    extrahepatic: tuple[ExtrahepaticSite, ...] = (),
    extrahepatic_absent: bool | None = _UNSET,
    declines_chemo: bool | None = None,
    therapies: tuple[TherapyExposure, ...] = (),
    liver_procedures: tuple[LiverProcedure, ...] = (),
    onsets: tuple[date, ...] | None = None,
    data_notes: tuple[DataNote, ...] = (),
    other_primaries: tuple[str, ...] = (),
    cycles: int | None = None,
    has_primary: bool = True,
    has_liver: bool = True,
    birth_date: date | None = date(1960, 5, 17),
    unreadable: tuple[Fact[RecordKind], ...] = (),
    unidentified: tuple[Fact[str], ...] = (),
) -> PatientFacts:
    """A patient with colorectal liver metastases; see the module docstring for the baseline
    (``measured`` dates the lesion count and size, ``mdt_date`` the MDT assessment). As the mapping
    does, every MDT assessment (``mdt_earlier`` plus ``mdt``) is kept in ``mdt_history`` and the
    latest-dated one is the current ``mdt_resectability``; ``onsets`` are the onsets of active
    liver-metastasis Conditions (by default the detection date alone); ``unreadable`` are records the
    mapping could not read and ``unidentified`` medication records of unknown drug."""
    assessments = [
        Fact(value, (ref(f"mdt-resectability-earlier-{i}"),), when)
        for i, (value, when) in enumerate(mdt_earlier)
    ]
    if mdt is not None:
        assessments.append(Fact(mdt, (ref("mdt-resectability"),), mdt_date))
    history = tuple(sorted(assessments, key=lambda a: a.effective or date.min))
    latest = max(assessments, key=lambda a: a.effective or date.min) if assessments else None
    if onsets is None:
        onsets = (detected,) if detected is not None else ()
    if extrahepatic_absent is _UNSET:
        extrahepatic_absent = None if extrahepatic else True
    primary = PrimaryTumour(
        condition=Fact(PRIMARY_CODE, (ref("primary", "Condition"),), diagnosed),
        site=fact(site, "primary", "Condition"),
        diagnosed=fact(diagnosed, "primary", "Condition"),
        t_category=fact(t, "t-category"),
        n_category=fact(n, "n-category"),
        anal_verge_distance_cm=fact(anal_verge_cm, "anal-verge"),
        resected=fact(primary_resected, "colectomy", "Procedure"),
        symptoms=fact(symptoms, "symptoms"),
        complete_response=fact(primary_complete_response, "primary-response"),
        pelvic_radiotherapy=fact(pelvic_rt, "pelvic-rt", "Procedure"),
    )
    liver = LiverMetastases(
        condition=Fact(LIVER_CODE, (ref("liver-mets", "Condition"),), detected),
        detected=fact(detected, "liver-mets", "Condition"),
        lesion_count=fact(lesions, "lesion-count", effective=measured),
        largest_diameter_cm=fact(largest_cm, "largest-diameter", effective=measured),
        bilobar=fact(bilobar, "bilobar"),
        future_liver_remnant_pct=fact(flr, "flr"),
        planned_complexity=fact(complexity, "complexity"),
        mdt_resectability=latest,
        disease_status=fact(status, "disease-status", effective=status_date),
        mdt_history=history,
        onsets=tuple(Fact(d, (ref(f"liver-mets-{i}", "Condition"),), d) for i, d in enumerate(onsets)),
    )
    return PatientFacts(
        patient="Patient/p1",
        birth_date=birth_date,
        primary=primary if has_primary else None,
        liver_metastases=liver if has_liver else None,
        other_primary_cancers=tuple(
            Fact(code, (ref(f"other-{i}", "Condition"),)) for i, code in enumerate(other_primaries)
        ),
        extrahepatic=tuple(Fact(s, (ref(f"ehd-{s.value}", "Condition"),)) for s in extrahepatic),
        extrahepatic_absent=fact(extrahepatic_absent, "m-category"),
        molecular=Molecular(
            kras=fact(kras, "kras"),
            nras=fact(nras, "nras"),
            ras_unspecified=fact(ras_unspecified, "ras"),
            braf=fact(braf, "braf"),
            tp53=fact(tp53, "tp53"),
            mmr=fact(mmr, "mmr"),
        ),
        cea_ng_ml=fact(cea, "cea"),
        ecog=fact(ecog, "ecog"),
        cirrhosis=fact(cirrhosis, "cirrhosis", "Condition"),
        declines_chemotherapy_first=fact(declines_chemo, "declines-chemo"),
        therapies=therapies,
        liver_procedures=liver_procedures,
        data_notes=data_notes,
        pre_hepatectomy_cycles=fact(cycles, "cycles"),
        unreadable=unreadable,
        unidentified_medications=unidentified,
    )


def unresectable_left_wild_type(**overrides: Any) -> PatientFacts:
    """An MDT-unresectable, RAS/BRAF wild-type, left-sided patient (the anti-EGFR candidate)."""
    values: dict[str, Any] = {"mdt": Resectability.POTENTIALLY_RESECTABLE, "lesions": 9, "bilobar": True}
    values.update(overrides)
    return crlm(**values)


def rectal(**overrides: Any) -> PatientFacts:
    """A synchronous mid-rectal cancer (7 cm from the anal verge), otherwise the baseline."""
    values: dict[str, Any] = {"site": PrimarySite.RECTUM, "anal_verge_cm": 7.0}
    values.update(overrides)
    return crlm(**values)

"""Hypothesis strategies for random but well-typed patient facts and policies.

Every field may be unknown (or unreadable: records the mapping could not read, medication records of
unknown drug), and boundary values of the rule thresholds (2, 3, 5 cm; 20, 30, 40%;
4 lesions; 8 cycles; 12 months) are over-represented so the properties probe the edges.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from hypothesis import strategies as st

from cds_service.core import DecisionPolicy, TimingDefinition
from cds_service.core.facts import (
    Agent,
    BrafStatus,
    DataNote,
    DiseaseStatus,
    ExtrahepaticSite,
    HepatectomyComplexity,
    Margin,
    MmrStatus,
    MutationStatus,
    PatientFacts,
    PrimarySite,
    RecordKind,
    Resectability,
    Symptom,
    TherapyExposure,
)

from .builders import crlm, exposure, liver_resection, unknown_drug, unread

DATES = st.dates(min_value=date(2023, 1, 1), max_value=date(2027, 3, 1))


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The strategy's values, or ``None`` (unknown)."""
    return st.one_of(st.none(), strategy)


def _enum(enum_type: Any) -> st.SearchStrategy[Any]:
    return maybe(st.sampled_from(list(enum_type)))


SIZES = st.one_of(
    st.sampled_from([1.9, 2.0, 2.5, 3.0, 3.1, 5.0, 5.1]), st.floats(0.3, 15.0).map(lambda x: round(x, 1))
)
FLR = st.one_of(
    st.sampled_from([19.9, 20.0, 29.9, 30.0, 39.9, 40.0]), st.floats(5.0, 90.0).map(lambda x: round(x, 1))
)


@st.composite
def therapies(draw: st.DrawFn) -> tuple[TherapyExposure, ...]:
    """A few recorded exposures, dated or not, some with periods."""
    items: list[TherapyExposure] = []
    for _ in range(draw(st.integers(0, 6))):
        agent = draw(st.sampled_from(list(Agent)))
        start = draw(maybe(DATES))
        end = None
        if start is not None and draw(st.booleans()):
            end = start + timedelta(days=draw(st.integers(0, 200)))
        items.append(exposure(agent, start, end, name=f"med-{len(items)}"))
    return tuple(items)


NOTE_MESSAGES = [
    "Two KRAS results disagree",
    "Conflicting RAS results",
    "NRAS results disagree",
    "BRAF V600E and wild-type both reported",
    "MSI-H and MSS both reported",
    "Two ECOG scores disagree",
    "TP53 results disagree",
]


@st.composite
def data_notes(draw: st.DrawFn) -> tuple[DataNote, ...]:
    """Data-quality notes, mostly conflicts about molecular results."""
    kinds = st.sampled_from(["conflict", "preliminary", "invalid-resource"])
    return tuple(
        DataNote(draw(kinds), draw(st.sampled_from(NOTE_MESSAGES)), ())
        for _ in range(draw(st.integers(0, 2)))
    )


@st.composite
def patient_facts(draw: st.DrawFn) -> PatientFacts:
    """A random patient: any combination of known and unknown facts, in or out of scope."""
    diagnosed = draw(maybe(DATES))
    kwargs: dict[str, Any] = {
        "site": draw(_enum(PrimarySite)),
        "diagnosed": diagnosed,
        "detected": draw(maybe(DATES)),
        "primary_resected": draw(maybe(DATES)),
        "t": draw(st.sampled_from(["T1", "T2", "T3", "T4a", "Tis", "TX", None])),
        "n": draw(st.sampled_from(["N0", "N1", "N1a", "N2b", "NX", None])),
        "anal_verge_cm": draw(maybe(st.sampled_from([3.0, 7.5, 10.0, 10.5, 14.0]))),
        "symptoms": draw(maybe(st.frozensets(st.sampled_from(list(Symptom))))),
        "primary_complete_response": draw(maybe(st.booleans())),
        "pelvic_rt": draw(maybe(DATES)),
        "lesions": draw(maybe(st.integers(1, 15))),
        "largest_cm": draw(maybe(SIZES)),
        "bilobar": draw(maybe(st.booleans())),
        "flr": draw(maybe(FLR)),
        "complexity": draw(_enum(HepatectomyComplexity)),
        "mdt": draw(_enum(Resectability)),
        "mdt_date": draw(maybe(DATES)),
        "mdt_earlier": tuple(
            (draw(st.sampled_from(list(Resectability))), draw(maybe(DATES)))
            for _ in range(draw(st.integers(0, 2)))
        ),
        "onsets": draw(maybe(st.lists(DATES, max_size=2).map(lambda ds: tuple(sorted(ds))))),
        "status": draw(_enum(DiseaseStatus)),
        "status_date": draw(maybe(DATES)),
        "kras": draw(_enum(MutationStatus)),
        "nras": draw(_enum(MutationStatus)),
        "ras_unspecified": draw(_enum(MutationStatus)),
        "measured": draw(maybe(DATES)),
        "braf": draw(_enum(BrafStatus)),
        "mmr": draw(_enum(MmrStatus)),
        "tp53": draw(_enum(MutationStatus)),
        "cea": draw(maybe(st.sampled_from([2.0, 150.0, 200.0, 201.0, 900.0]))),
        "ecog": draw(maybe(st.integers(0, 4))),
        "cirrhosis": draw(maybe(st.booleans())),
        "extrahepatic": tuple(
            draw(st.lists(st.sampled_from(list(ExtrahepaticSite)), max_size=3, unique=True))
        ),
        "extrahepatic_absent": draw(maybe(st.booleans())),
        "declines_chemo": draw(maybe(st.booleans())),
        "therapies": draw(therapies()),
        "liver_procedures": tuple(
            liver_resection(
                draw(maybe(DATES)),
                draw(_enum(Margin)),
                draw(st.sampled_from(["resection", "ablation", "portal-vein-embolisation"])),
            )
            for _ in range(draw(st.integers(0, 2)))
        ),
        "data_notes": draw(data_notes()),
        "other_primaries": tuple(draw(st.lists(st.just("http://snomed.info/sct|254837009"), max_size=1))),
        "cycles": draw(maybe(st.integers(0, 14))),
        "has_primary": draw(st.sampled_from([True, True, True, False])),
        "has_liver": draw(st.sampled_from([True, True, True, False])),
        "birth_date": draw(maybe(st.sampled_from([date(1945, 3, 1), date(1950, 12, 1), date(1960, 5, 17)]))),
        "unreadable": tuple(
            unread(kind, f"unread-{i}")
            for i, kind in enumerate(draw(st.lists(st.sampled_from(list(RecordKind)), max_size=2)))
        ),
        "unidentified": tuple(
            unknown_drug(draw(maybe(DATES)), f"unknown-{i}") for i in range(draw(st.integers(0, 2)))
        ),
    }
    return crlm(**kwargs)


policies = st.builds(
    DecisionPolicy,
    timing_definition=st.sampled_from(list(TimingDefinition)),
    presentation_window_days=maybe(st.integers(0, 90)),
    show_newer_evidence=st.booleans(),
)

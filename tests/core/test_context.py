"""The derived patient context: timing definitions, sidedness, RAS, oxaliplatin failure, cycles,
future liver remnant, resectability and the Fong score, each from facts built to hit and miss."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from cds_service.core.context import (
    AntiEgfrSetting,
    BrafClass,
    GeneStatus,
    PatientContext,
    ResectabilityBasis,
    Sidedness,
    TimingCategory,
    add_months,
    build_context,
)
from cds_service.core.facts import (
    Agent,
    DiseaseStatus,
    ExtrahepaticSite,
    Fact,
    MmrStatus,
    PatientFacts,
    PrimarySite,
    RecordKind,
    Resectability,
)
from cds_service.core.policy import DecisionPolicy, TimingDefinition

from .builders import (
    DIAGNOSED,
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
    ref,
    unknown_drug,
    unread,
)

SYNC = TimingCategory.SYNCHRONOUS
EARLY = TimingCategory.EARLY_METACHRONOUS
LATE = TimingCategory.LATE_METACHRONOUS
UNCLASSIFIED = TimingCategory.METACHRONOUS


def context(facts: PatientFacts, policy: DecisionPolicy | None = None) -> PatientContext:
    """The context for ``facts`` with the packaged thresholds."""
    return build_context(facts, KNOWLEDGE.threshold_values(), today=TODAY, policy=policy or DecisionPolicy())


def days(n: int) -> date:
    """``n`` days after the baseline diagnosis date."""
    return DIAGNOSED + timedelta(days=n)


@pytest.mark.parametrize(
    ("detected", "resected", "expected"),
    [
        (0, None, {"e-ahpba-2023": SYNC, "adam-2015": SYNC, "maki-2023": SYNC}),
        (-20, None, {"e-ahpba-2023": SYNC, "adam-2015": SYNC, "maki-2023": SYNC}),
        (10, None, {"e-ahpba-2023": SYNC, "adam-2015": SYNC, "maki-2023": SYNC}),
        (30, None, {"e-ahpba-2023": SYNC, "adam-2015": SYNC, "maki-2023": SYNC}),
        (31, None, {"e-ahpba-2023": EARLY, "adam-2015": UNCLASSIFIED, "maki-2023": SYNC}),
        (60, 90, {"e-ahpba-2023": EARLY, "adam-2015": EARLY, "maki-2023": SYNC}),
        (200, 30, {"e-ahpba-2023": EARLY, "adam-2015": EARLY, "maki-2023": EARLY}),
        (30, 30, {"e-ahpba-2023": SYNC, "adam-2015": SYNC, "maki-2023": EARLY}),
        (45, 30, {"e-ahpba-2023": EARLY, "adam-2015": EARLY, "maki-2023": EARLY}),
        (365, None, {"e-ahpba-2023": EARLY, "adam-2015": UNCLASSIFIED, "maki-2023": SYNC}),
        (366, None, {"e-ahpba-2023": LATE, "adam-2015": UNCLASSIFIED, "maki-2023": LATE}),
        (500, 30, {"e-ahpba-2023": LATE, "adam-2015": LATE, "maki-2023": LATE}),
    ],
)
def test_timing_under_each_definition(
    detected: int, resected: int | None, expected: dict[str, TimingCategory]
) -> None:
    """Each definition classifies the same dates as the sources define it."""
    facts = crlm(detected=days(detected), primary_resected=days(resected) if resected is not None else None)
    for definition in TimingDefinition:
        ctx = context(facts, DecisionPolicy(timing_definition=definition))
        assert ctx.timing.definition is definition
        assert ctx.timing.category is expected[definition.value], definition


@pytest.mark.parametrize(("diagnosed", "detected"), [(None, DIAGNOSED), (DIAGNOSED, None), (None, None)])
def test_timing_unknown_without_dates(diagnosed: date | None, detected: date | None) -> None:
    """Timing stays unknown when either date is missing, and the detail says which."""
    ctx = context(crlm(diagnosed=diagnosed, detected=detected))
    assert ctx.timing.category is None
    assert "not recorded" in ctx.timing.detail


@pytest.mark.parametrize(("window", "expected"), [(0, EARLY), (10, SYNC), (None, SYNC)])
def test_presentation_window_is_a_policy(window: int | None, expected: TimingCategory) -> None:
    """The staging window for "at presentation" comes from the policy, else the rule base."""
    ctx = context(crlm(detected=days(10)), DecisionPolicy(presentation_window_days=window))
    assert ctx.timing.category is expected


@pytest.mark.parametrize(("window", "expected"), [(0, UNCLASSIFIED), (2, SYNC), (None, SYNC)])
def test_adam_definition_counts_the_staging_window_as_at_diagnosis(
    window: int | None, expected: TimingCategory
) -> None:
    """Metastases found at the staging work-up days after diagnosis are synchronous under Adam 2015 too."""
    policy = DecisionPolicy(timing_definition=TimingDefinition.ADAM_2015, presentation_window_days=window)
    ctx = context(crlm(detected=days(2)), policy)
    assert ctx.timing.category is expected


@pytest.mark.parametrize(
    ("site", "expected"),
    [
        (PrimarySite.CECUM, Sidedness.RIGHT),
        (PrimarySite.APPENDIX, Sidedness.RIGHT),
        (PrimarySite.ASCENDING_COLON, Sidedness.RIGHT),
        (PrimarySite.HEPATIC_FLEXURE, Sidedness.RIGHT),
        (PrimarySite.TRANSVERSE_COLON, Sidedness.INDETERMINATE),
        (PrimarySite.SPLENIC_FLEXURE, Sidedness.LEFT),
        (PrimarySite.DESCENDING_COLON, Sidedness.LEFT),
        (PrimarySite.SIGMOID_COLON, Sidedness.LEFT),
        (PrimarySite.RECTOSIGMOID, Sidedness.LEFT),
        (PrimarySite.RECTUM, Sidedness.LEFT),
        (PrimarySite.COLON_OVERLAPPING, Sidedness.UNKNOWN),
        (PrimarySite.COLON_UNSPECIFIED, Sidedness.UNKNOWN),
        (None, Sidedness.UNKNOWN),
    ],
)
def test_sidedness(site: PrimarySite | None, expected: Sidedness) -> None:
    """Left = splenic flexure to rectum, right = caecum to hepatic flexure, transverse uncertain."""
    assert context(crlm(site=site)).sidedness is expected


@pytest.mark.parametrize(
    ("kras", "nras", "notes", "expected"),
    [
        (WT, WT, (), GeneStatus.WILD_TYPE),
        (MUT, None, (), GeneStatus.MUTANT),
        (None, MUT, (), GeneStatus.MUTANT),
        (WT, None, (), GeneStatus.UNKNOWN),
        (None, WT, (), GeneStatus.UNKNOWN),
        (None, None, (), GeneStatus.UNKNOWN),
        (WT, WT, (conflict("Two KRAS results disagree", ref("kras")),), GeneStatus.UNKNOWN),
        (WT, WT, (conflict("Conflicting RAS results"),), GeneStatus.UNKNOWN),
        (WT, WT, (conflict("Two ECOG scores disagree", ref("ecog")),), GeneStatus.WILD_TYPE),
    ],
)
def test_extended_ras(kras: object, nras: object, notes: tuple[object, ...], expected: GeneStatus) -> None:
    """Extended RAS is wild-type only when KRAS and NRAS both are, without conflicting results."""
    ctx = context(crlm(kras=kras, nras=nras, data_notes=notes))  # type: ignore[arg-type]
    assert ctx.ras is expected


@pytest.mark.parametrize(
    ("site", "anal_verge_cm", "rectal"),
    [
        (PrimarySite.RECTUM, None, True),
        (PrimarySite.RECTOSIGMOID, 18.0, True),
        (PrimarySite.RECTOSIGMOID, 20.0, True),
        (PrimarySite.RECTOSIGMOID, 20.5, False),
        (PrimarySite.RECTOSIGMOID, None, False),
        (PrimarySite.SIGMOID_COLON, 18.0, False),
    ],
)
def test_rectal_follows_002s_definition(site: PrimarySite, anal_verge_cm: float | None, rectal: bool) -> None:
    """A rectosigmoid tumour within 002's 20 cm of the anal verge follows the rectal rules."""
    assert context(crlm(site=site, anal_verge_cm=anal_verge_cm)).rectal is rectal


@pytest.mark.parametrize(("born", "age"), [(date(1950, 12, 2), 75), (date(1950, 12, 1), 76), (None, None)])
def test_age_on_the_evaluation_date(born: date | None, age: int | None) -> None:
    """Age counts whole years up to the evaluation date and stays unknown without a birth date."""
    assert context(crlm(birth_date=born)).age == age


@pytest.mark.parametrize(
    ("kras", "nras", "unspecified", "expected"),
    [
        (None, None, MUT, GeneStatus.MUTANT),
        (WT, None, MUT, GeneStatus.MUTANT),
        (None, None, WT, GeneStatus.WILD_TYPE),
        (WT, None, WT, GeneStatus.WILD_TYPE),
        (MUT, None, WT, GeneStatus.MUTANT),
        (WT, WT, MUT, GeneStatus.UNKNOWN),
        (None, None, None, GeneStatus.UNKNOWN),
    ],
)
def test_ras_result_without_a_gene(
    kras: object, nras: object, unspecified: object, expected: GeneStatus
) -> None:
    """A RAS result naming no gene: mutant means RAS-mutant; a wild-type combined test covers both
    genes; mutant against wild-type KRAS and NRAS is a conflict."""
    ctx = context(crlm(kras=kras, nras=nras, ras_unspecified=unspecified))  # type: ignore[arg-type]
    assert ctx.ras is expected


def test_braf_and_mmr_conflicts_make_them_unknown() -> None:
    """Conflict notes about BRAF or MSI turn those results into unknowns."""
    notes = (conflict("BRAF results disagree"), conflict("MSI-H and MSS both reported"))
    ctx = context(crlm(data_notes=notes))
    assert ctx.braf is BrafClass.UNKNOWN
    assert ctx.mmr.name == "UNKNOWN"
    assert context(crlm(mmr=MmrStatus.DEFICIENT)).mmr.name == "DEFICIENT"


@pytest.mark.parametrize(
    ("therapies", "status", "expected", "rechallenged"),
    [
        ((), None, False, False),
        ((exposure(Agent.OXALIPLATIN, date(2025, 11, 1), date(2026, 3, 1)),), None, True, False),
        ((exposure(Agent.OXALIPLATIN, date(2024, 11, 1), date(2025, 3, 1)),), None, False, False),
        ((exposure(Agent.OXALIPLATIN, None),), None, None, False),
        (folfox(date(2026, 9, 15), 4), None, False, False),
        (folfox(date(2026, 9, 15), 4), DiseaseStatus.PROGRESSION, True, False),
        (
            (exposure(Agent.OXALIPLATIN, date(2025, 11, 1), date(2026, 3, 1)), *folfox(date(2026, 9, 15), 2)),
            None,
            True,
            True,
        ),
    ],
)
def test_oxaliplatin_failure(
    therapies: tuple[object, ...], status: DiseaseStatus | None, expected: bool | None, rechallenged: bool
) -> None:
    """Failure: metastases within 12 months of oxaliplatin, or progression on it; unknown without dates."""
    facts = crlm(therapies=therapies, status=status, status_date=date(2026, 11, 20) if status else None)  # type: ignore[arg-type]
    result = context(facts).oxaliplatin
    assert result.failure is expected
    assert result.rechallenged is rechallenged


def test_oxaliplatin_failure_names_the_last_dose_before_the_metastases() -> None:
    """The failure window runs from the last oxaliplatin dose before detection, not the first."""
    doses = (
        exposure(Agent.OXALIPLATIN, date(2025, 8, 15)),
        exposure(Agent.OXALIPLATIN, date(2026, 1, 2)),
        exposure(Agent.OXALIPLATIN, date(2026, 11, 1)),
    )
    result = context(
        crlm(diagnosed=date(2025, 6, 1), detected=date(2026, 8, 15), therapies=doses)
    ).oxaliplatin
    assert result.failure is True
    assert "(2026-01-02)" in result.detail
    assert not result.by_progression


def test_oxaliplatin_failure_by_progression_is_marked() -> None:
    """Failure read from progression on oxaliplatin is marked as the service's extension of 001."""
    facts = crlm(
        therapies=folfox(date(2026, 9, 15), 4),
        status=DiseaseStatus.PROGRESSION,
        status_date=date(2026, 11, 20),
    )
    assert context(facts).oxaliplatin.by_progression


@pytest.mark.parametrize(
    ("progressed", "failure", "after_break"),
    [
        (date(2026, 10, 20), True, False),
        (date(2026, 12, 1), True, False),
        (date(2026, 12, 2), False, True),
        (date(2027, 10, 20), False, False),
    ],
)
def test_progression_counts_as_oxaliplatin_failure_only_within_the_window(
    progressed: date, failure: bool, after_break: bool
) -> None:
    """Progression during oxaliplatin or within 62 days of its last dose (2026-09-30) is failure; later
    within 12 months it is a break, not failure; later still it is neither."""
    facts = crlm(
        detected=date(2026, 9, 1),
        therapies=cycles_of(Agent.OXALIPLATIN, date(2026, 9, 2), 3),
        status=DiseaseStatus.PROGRESSION,
        status_date=progressed,
    )
    result = context(facts).oxaliplatin
    assert result.failure is failure
    assert result.after_break is after_break
    assert result.by_progression is failure


def test_progression_after_a_break_notes_the_reintroduction() -> None:
    """Oxaliplatin given again after a progression that came after a break is marked, not a failure."""
    facts = crlm(
        detected=date(2025, 12, 3),
        therapies=(*folfox(date(2026, 1, 1), 12), *folfox(date(2026, 11, 1), 2)),
        status=DiseaseStatus.PROGRESSION,
        status_date=date(2026, 10, 15),
    )
    result = context(facts).oxaliplatin
    assert (result.failure, result.after_break, result.rechallenged) == (False, True, True)
    assert "after a break" in result.detail


@pytest.mark.parametrize(
    ("onsets", "failure"),
    [
        ((date(2025, 8, 3), date(2026, 9, 1)), True),
        ((date(2025, 8, 3), date(2027, 3, 13)), False),
        ((date(2025, 8, 3),), False),
    ],
)
def test_oxaliplatin_window_runs_to_the_recurrence(onsets: tuple[date, ...], failure: bool) -> None:
    """After a liver resection, a recurrence within 12 months of the postoperative oxaliplatin (last
    dose 2026-03-12) is failure of adjuvant oxaliplatin; the first detection alone is not."""
    facts = crlm(
        diagnosed=date(2025, 8, 1),
        detected=date(2025, 8, 3),
        onsets=onsets,
        liver_procedures=(liver_resection(date(2025, 12, 1)),),
        therapies=(exposure(Agent.OXALIPLATIN, date(2026, 1, 1), date(2026, 3, 12)),),
    )
    result = context(facts).oxaliplatin
    assert result.failure is failure
    assert ("liver recurrence recorded" in result.detail) is failure


def test_oxaliplatin_unknown_without_detection_date() -> None:
    """Dated oxaliplatin cannot be judged when the detection date of the metastases is missing."""
    facts = crlm(detected=None, therapies=(exposure(Agent.OXALIPLATIN, date(2026, 1, 1)),))
    assert context(facts).oxaliplatin.failure is None


OLD_OXALIPLATIN = exposure(Agent.OXALIPLATIN, date(2024, 11, 1), date(2025, 3, 1))
UNDATED_OXALIPLATIN = exposure(Agent.OXALIPLATIN, None)


@pytest.mark.parametrize(
    ("kwargs", "failure", "unidentified", "dates_unknown"),
    [
        ({"unidentified": (unknown_drug(date(2026, 3, 1)),)}, None, ("order-2026-03-01",), False),
        ({"unidentified": (unknown_drug(date(2025, 9, 1)),)}, None, ("order-2025-09-01",), False),
        ({"unidentified": (unknown_drug(date(2025, 8, 31)),)}, False, (), False),
        ({"unidentified": (unknown_drug(None),)}, None, ("order-undated",), False),
        ({"unidentified": (unknown_drug(date(2026, 10, 1)),)}, False, (), False),
        (
            {
                "unidentified": (unknown_drug(date(2026, 10, 1)),),
                "status": DiseaseStatus.PROGRESSION,
                "status_date": date(2026, 11, 20),
            },
            None,
            ("order-2026-10-01",),
            False,
        ),
        (
            {"unidentified": (unknown_drug(date(2026, 3, 1)),), "therapies": (OLD_OXALIPLATIN,)},
            None,
            ("order-2026-03-01",),
            False,
        ),
        (
            {"unidentified": (unknown_drug(date(2026, 3, 1)),), "therapies": (UNDATED_OXALIPLATIN,)},
            None,
            ("order-2026-03-01",),
            True,
        ),
        (
            {
                "unidentified": (unknown_drug(date(2026, 3, 1)),),
                "therapies": (exposure(Agent.OXALIPLATIN, date(2025, 11, 1), date(2026, 3, 1)),),
            },
            True,
            (),
            False,
        ),
        (
            {"unidentified": (unknown_drug(date(2026, 3, 1)),), "detected": None},
            None,
            ("order-2026-03-01",),
            False,
        ),
        ({"unreadable": (unread(RecordKind.SYSTEMIC_THERAPY, "bad"),)}, None, ("bad",), False),
        ({"unreadable": (unread(RecordKind.COLORECTAL_PRIMARY, "bad"),)}, False, (), False),
        ({"therapies": (UNDATED_OXALIPLATIN,)}, None, (), True),
    ],
    ids=[
        "six-months-before",
        "twelve-months-before",
        "just-over-twelve-months",
        "undated",
        "after-detection",
        "after-detection-then-progression",
        "old-oxaliplatin-and-unknown-drug",
        "undated-oxaliplatin-and-unknown-drug",
        "failure-established",
        "no-detection-date",
        "unreadable-systemic-therapy",
        "unreadable-condition",
        "undated-oxaliplatin-only",
    ],
)
def test_records_of_unknown_drug_leave_oxaliplatin_failure_open(
    kwargs: dict[str, object],
    failure: bool | None,
    unidentified: tuple[str, ...],
    dates_unknown: bool,
) -> None:
    """A record of unknown drug that would be oxaliplatin failure were it oxaliplatin (before the
    metastases within 12 months, undated, or before a progression within 62 days) makes failure
    unknown and is named; one outside the window, or an established failure, changes nothing."""
    result = context(crlm(**kwargs)).oxaliplatin  # type: ignore[arg-type]
    assert result.failure is failure
    assert tuple(s.split("/", 1)[1] for s in result.unidentified) == unidentified
    assert result.dates_unknown is dates_unknown
    assert ("not identified or could not be read" in result.detail) is bool(unidentified)


@pytest.mark.parametrize(
    ("facts", "count", "estimated"),
    [
        (crlm(), 0, False),
        (crlm(cycles=11), 11, False),
        (crlm(therapies=folfox(date(2026, 9, 10), 6)), 6, False),
        (crlm(therapies=cycles_of(Agent.FLUOROURACIL, date(2026, 9, 10), 4, every_days=3)), 2, False),
        (
            crlm(
                therapies=folfox(date(2026, 9, 10), 6),
                liver_procedures=(liver_resection(date(2026, 10, 20)),),
            ),
            3,
            False,
        ),
        (crlm(therapies=(exposure(Agent.CAPECITABINE, date(2026, 9, 10), date(2026, 11, 30)),)), 6, True),
        (crlm(therapies=folfox(date(2026, 11, 20), 4)), 1, False),
        (crlm(therapies=folfox(date(2026, 3, 1), 4)), 0, False),
    ],
)
def test_pre_hepatectomy_cycles(facts: PatientFacts, count: int, estimated: bool) -> None:
    """Cycles since detection and before the first resection; periods are estimated and say so."""
    result = context(facts).cycles
    assert result.count == count
    assert ("estimated" in result.detail) is estimated


def test_cycles_unknown_without_detection_date() -> None:
    """Without a detection date the cycles before hepatectomy cannot be counted."""
    assert context(crlm(detected=None, therapies=folfox(date(2026, 9, 10), 3))).cycles.count is None


@pytest.mark.parametrize(
    ("facts", "required", "assumes"),
    [
        (crlm(), 20, False),
        (crlm(cirrhosis=True), 40, False),
        (crlm(cycles=7), 40, False),
        (crlm(cycles=6), 20, False),
        (crlm(cirrhosis=None), 20, True),
    ],
)
def test_required_future_liver_remnant(facts: PatientFacts, required: float, assumes: bool) -> None:
    """20% normal, 40% with cirrhosis (safer than 003's 30%) or after heavy chemotherapy."""
    flr = context(facts).flr
    assert flr.required_pct == required
    assert bool(flr.assumptions) is assumes


@pytest.mark.parametrize(
    ("facts", "pct", "met", "text"),
    [
        (crlm(), 20.0, True, "at least 20%"),
        (crlm(), 19.9, False, "at least 20%"),
        (crlm(cirrhosis=True), 40.0, True, "at least 40%"),
        (crlm(cycles=7), 40.0, False, "more than 40%"),
        (crlm(cycles=7), 40.1, True, "more than 40%"),
        (crlm(cycles=7, cirrhosis=True), 40.0, False, "more than 40%"),
    ],
)
def test_remnant_after_heavy_chemotherapy_must_exceed_40(
    facts: PatientFacts, pct: float, met: bool, text: str
) -> None:
    """003 asks for at least 20% of a normal liver but over 40% after high-volume chemotherapy."""
    flr = context(facts).flr
    assert flr.met_by(pct) is met
    assert flr.text == text


@pytest.mark.parametrize(
    ("facts", "value", "basis"),
    [
        (crlm(), Resectability.RESECTABLE, ResectabilityBasis.MDT),
        (crlm(mdt=Resectability.UNRESECTABLE, flr=60), Resectability.UNRESECTABLE, ResectabilityBasis.MDT),
        (crlm(mdt=None), Resectability.RESECTABLE, ResectabilityBasis.CRITERIA),
        (crlm(mdt=None, lesions=4), Resectability.RESECTABLE, ResectabilityBasis.CRITERIA),
        (crlm(mdt=None, lesions=5), None, ResectabilityBasis.NONE),
        (crlm(mdt=None, bilobar=True), None, ResectabilityBasis.NONE),
        (crlm(mdt=None, bilobar=None), None, ResectabilityBasis.NONE),
        (crlm(mdt=None, flr=15), None, ResectabilityBasis.NONE),
        (crlm(mdt=None, cirrhosis=True, flr=35), None, ResectabilityBasis.NONE),
        (crlm(mdt=None, extrahepatic=(ExtrahepaticSite.LUNG,)), None, ResectabilityBasis.NONE),
        (
            crlm(mdt=None, measured=date(2026, 9, 5), therapies=folfox(date(2026, 9, 10), 4)),
            None,
            ResectabilityBasis.NONE,
        ),
        (
            crlm(mdt_date=date(2026, 10, 1), measured=date(2026, 9, 5)),
            Resectability.RESECTABLE,
            ResectabilityBasis.MDT,
        ),
        (
            crlm(
                mdt=Resectability.POTENTIALLY_RESECTABLE,
                mdt_date=date(2026, 10, 1),
                status=DiseaseStatus.RESPONSE,
                status_date=date(2026, 11, 1),
            ),
            Resectability.RESECTABLE,
            ResectabilityBasis.CRITERIA,
        ),
        (
            crlm(
                mdt=Resectability.POTENTIALLY_RESECTABLE,
                mdt_date=date(2026, 10, 1),
                measured=date(2026, 9, 5),
                status=DiseaseStatus.RESPONSE,
                status_date=date(2026, 11, 1),
            ),
            None,
            ResectabilityBasis.NONE,
        ),
        (
            crlm(mdt=None, extrahepatic=(ExtrahepaticSite.LUNG, ExtrahepaticSite.BONE)),
            Resectability.UNRESECTABLE,
            ResectabilityBasis.CRITERIA,
        ),
        (
            crlm(mdt=None, lesions=5, extrahepatic=(ExtrahepaticSite.PERITONEUM,)),
            Resectability.UNRESECTABLE,
            ResectabilityBasis.CRITERIA,
        ),
        (crlm(mdt=None, ecog=3), None, ResectabilityBasis.NONE),
        (crlm(mdt=None, flr=None), None, ResectabilityBasis.NONE),
        (crlm(mdt=None, extrahepatic_absent=None), None, ResectabilityBasis.NONE),
        (
            crlm(mdt=None, extrahepatic=(ExtrahepaticSite.CELIAC_OR_PARA_AORTIC_NODES,)),
            None,
            ResectabilityBasis.NONE,
        ),
        (
            crlm(
                mdt_date=date(2026, 9, 20), liver_procedures=(liver_resection(date(2026, 10, 1)),), flr=None
            ),
            None,
            ResectabilityBasis.NONE,
        ),
    ],
)
def test_resectability(facts: PatientFacts, value: Resectability | None, basis: ResectabilityBasis) -> None:
    """MDT assessment first, else the criteria when the data decide, else undetermined."""
    result = context(facts).resectability
    assert result.value is value
    assert result.basis is basis


def test_low_remnant_alone_leaves_resectability_to_the_mdt() -> None:
    """A remnant below the requirement is a question for the MDT (PVE, two-stage), not conversion."""
    result = context(crlm(mdt=None, flr=15)).resectability
    assert result.value is None
    assert any("portal vein embolisation" in r for r in result.reasons)
    assert "MDT assessment" in result.missing


def test_out_of_date_mdt_assessment_keeps_the_plan_but_not_the_verdict() -> None:
    """An MDT verdict older than the latest disease status is no longer current, but it still says
    what was planned; one older than a liver treatment says neither."""
    later_status = context(
        crlm(
            mdt_date=date(2026, 9, 5),
            measured=date(2026, 9, 1),
            status=DiseaseStatus.PROGRESSION,
            status_date=date(2026, 11, 10),
        )
    )
    assert later_status.resectability.value is None
    assert "predates the latest disease status" in later_status.resectability.reasons[0]
    assert later_status.mdt_plan is Resectability.RESECTABLE
    treated = context(crlm(mdt_date=date(2026, 9, 5), liver_procedures=(liver_resection(date(2026, 10, 1)),)))
    assert treated.mdt_plan is None


@pytest.mark.parametrize(
    ("facts", "outdated"),
    [
        (crlm(measured=date(2026, 9, 5)), None),
        (crlm(measured=date(2026, 9, 5), therapies=folfox(date(2026, 9, 10), 2)), "before systemic therapy"),
        (
            crlm(measured=date(2026, 9, 5), status=DiseaseStatus.STABLE, status_date=date(2026, 10, 1)),
            "before the latest disease status",
        ),
        (crlm(therapies=folfox(date(2026, 9, 10), 2)), None),
    ],
)
def test_outdated_measurements(facts: PatientFacts, outdated: str | None) -> None:
    """Lesion measurements older than the latest restaging or the chemotherapy since are flagged."""
    result = context(facts).measurements_outdated
    if outdated is None:
        assert result is None
    else:
        assert result is not None and outdated in result


POT = Resectability.POTENTIALLY_RESECTABLE
UNRES = Resectability.UNRESECTABLE
RES = Resectability.RESECTABLE
FOLFOX_SEP = folfox(date(2026, 9, 10), 4)


@pytest.mark.parametrize(
    ("facts", "converted"),
    [
        (
            crlm(mdt_earlier=((POT, date(2026, 9, 5)),), mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP),
            True,
        ),
        (
            crlm(mdt_earlier=((UNRES, date(2026, 9, 5)),), mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP),
            True,
        ),
        (
            crlm(mdt_earlier=((POT, date(2026, 9, 10)),), mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP),
            True,
        ),
        (
            crlm(mdt_earlier=((POT, date(2026, 9, 11)),), mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP),
            False,
        ),
        (
            crlm(mdt_earlier=((RES, date(2026, 9, 5)),), mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP),
            False,
        ),
        (
            crlm(
                mdt_earlier=((POT, date(2026, 8, 1)), (RES, date(2026, 9, 5))),
                mdt_date=date(2026, 11, 20),
                therapies=FOLFOX_SEP,
            ),
            False,
        ),
        (crlm(mdt_date=date(2026, 11, 20), therapies=FOLFOX_SEP), False),
        (crlm(mdt_date=date(2026, 9, 5), therapies=FOLFOX_SEP), False),
        (crlm(therapies=FOLFOX_SEP), False),
        (crlm(mdt_earlier=((POT, date(2026, 9, 5)),), mdt_date=date(2026, 11, 20)), False),
        (
            crlm(
                mdt=POT,
                mdt_earlier=((UNRES, date(2026, 9, 5)),),
                mdt_date=date(2026, 11, 20),
                therapies=FOLFOX_SEP,
            ),
            False,
        ),
    ],
)
def test_converted_needs_a_not_resectable_assessment_before_the_start(
    facts: PatientFacts, converted: bool
) -> None:
    """Conversion is documented only by an MDT 'potentially resectable' or 'unresectable' on or before
    the start of systemic therapy and a later 'resectable'; a 'resectable' after the start alone, or
    after an earlier 'resectable', is preoperative chemotherapy."""
    assert context(facts).converted is converted


CETUX_OCT = exposure(Agent.CETUXIMAB, date(2026, 10, 1))
BEFORE = date(2026, 9, 10)


@pytest.mark.parametrize(
    ("facts", "setting"),
    [
        (crlm(), AntiEgfrSetting.NOT_RECORDED),
        (crlm(therapies=(CETUX_OCT,)), AntiEgfrSetting.RESECTABLE_NO_BASELINE),
        (crlm(mdt_date=date(2026, 9, 20), therapies=(CETUX_OCT,)), AntiEgfrSetting.INITIALLY_RESECTABLE),
        (crlm(mdt_date=date(2026, 10, 1), therapies=(CETUX_OCT,)), AntiEgfrSetting.INITIALLY_RESECTABLE),
        (
            crlm(
                mdt_earlier=((RES, date(2026, 9, 15)),), mdt_date=date(2026, 11, 20), therapies=(CETUX_OCT,)
            ),
            AntiEgfrSetting.INITIALLY_RESECTABLE,
        ),
        (
            crlm(mdt_earlier=((POT, date(2026, 9, 20)),), mdt_date=date(2026, 11, 1), therapies=(CETUX_OCT,)),
            AntiEgfrSetting.CONVERTED,
        ),
        (crlm(mdt=POT, mdt_date=date(2026, 9, 20), therapies=(CETUX_OCT,)), AntiEgfrSetting.CONVERSION),
        (
            crlm(mdt=POT, mdt_date=date(2026, 11, 1), therapies=(CETUX_OCT,)),
            AntiEgfrSetting.NOT_RESECTABLE_AFTER_START,
        ),
        (crlm(mdt_date=date(2026, 11, 1), therapies=(CETUX_OCT,)), AntiEgfrSetting.RESECTABLE_NO_BASELINE),
        (
            crlm(mdt_date=date(2026, 11, 1), measured=BEFORE, therapies=(CETUX_OCT,)),
            AntiEgfrSetting.CRITERIA_RESECTABLE,
        ),
        (
            crlm(mdt=POT, mdt_date=date(2026, 11, 1), measured=BEFORE, therapies=(CETUX_OCT,)),
            AntiEgfrSetting.CRITERIA_RESECTABLE,
        ),
        (
            crlm(mdt=POT, mdt_date=date(2026, 11, 1), measured=BEFORE, lesions=6, therapies=(CETUX_OCT,)),
            AntiEgfrSetting.NOT_RESECTABLE_AFTER_START,
        ),
        (crlm(mdt=None, measured=BEFORE, therapies=(CETUX_OCT,)), AntiEgfrSetting.CRITERIA_RESECTABLE),
        (crlm(mdt=None, therapies=(CETUX_OCT,)), AntiEgfrSetting.RESECTABLE_NO_BASELINE),
        (crlm(mdt=None, measured=BEFORE, flr=None, therapies=(CETUX_OCT,)), AntiEgfrSetting.UNKNOWN),
        (
            crlm(mdt=None, measured=date(2026, 10, 20), flr=None, therapies=(CETUX_OCT,)),
            AntiEgfrSetting.UNKNOWN,
        ),
        (
            crlm(
                mdt_date=date(2026, 9, 10),
                liver_procedures=(liver_resection(date(2026, 9, 20)),),
                therapies=(CETUX_OCT,),
            ),
            AntiEgfrSetting.RESECTABLE_NO_BASELINE,
        ),
        (
            crlm(
                mdt=POT,
                mdt_date=date(2026, 9, 10),
                liver_procedures=(liver_resection(date(2026, 9, 20)),),
                flr=None,
                therapies=(CETUX_OCT,),
            ),
            AntiEgfrSetting.UNKNOWN,
        ),
    ],
)
def test_anti_egfr_setting(facts: PatientFacts, setting: AntiEgfrSetting) -> None:
    """The MDT assessment on or before the first dose decides the setting; without one the criteria on
    the measurements before it, then the assessment since (resectable: no documented conversion)."""
    assert context(facts).anti_egfr_setting is setting


@pytest.mark.parametrize(
    ("facts", "overdue"),
    [
        (
            crlm(
                diagnosed=date(2026, 6, 1), detected=date(2026, 6, 1), therapies=folfox(date(2026, 6, 5), 12)
            ),
            True,
        ),
        (
            crlm(
                diagnosed=date(2026, 6, 1),
                detected=date(2026, 6, 1),
                therapies=folfox(date(2026, 6, 5), 12),
                status=DiseaseStatus.STABLE,
                status_date=date(2026, 11, 1),
            ),
            False,
        ),
        (
            crlm(
                diagnosed=date(2026, 6, 1), detected=date(2026, 6, 1), therapies=folfox(date(2026, 6, 5), 6)
            ),
            False,
        ),
        (crlm(therapies=folfox(date(2026, 9, 10), 6)), False),
    ],
)
def test_restaging_overdue(facts: PatientFacts, overdue: bool) -> None:
    """Overdue when still on chemotherapy for the liver metastases with no restaging in the interval."""
    assert context(facts).restaging_overdue is overdue


def test_undetermined_resectability_lists_what_is_missing() -> None:
    """When resectability is undetermined the context says which data would decide it."""
    result = context(crlm(mdt=None, flr=None, ecog=None)).resectability
    assert "future liver remnant" in result.missing
    assert "ECOG performance status" in result.missing


@pytest.mark.parametrize(
    ("facts", "score", "missing"),
    [
        (crlm(), 3, ()),
        (crlm(n="N0", lesions=1, cea=250, largest_cm=6), 3, ()),
        (crlm(n="N0", lesions=1, detected=date(2028, 1, 1)), 0, ()),
        (crlm(cea=None), None, ("CEA over 200 ng/mL",)),
        (crlm(n=None, lesions=None), None, ("node-positive primary", "more than one liver tumour")),
    ],
)
def test_fong_score(facts: PatientFacts, score: int | None, missing: tuple[str, ...]) -> None:
    """The Fong score needs all five inputs; otherwise the missing ones are listed."""
    fong = context(facts).fong
    assert fong.score == score
    assert fong.missing == missing


@pytest.mark.parametrize(
    ("facts", "recurrence", "treated"),
    [
        (crlm(), False, False),
        (crlm(liver_procedures=(liver_resection(date(2026, 10, 1)),)), False, True),
        (crlm(diagnosed=date(2025, 1, 1), liver_procedures=(liver_resection(date(2026, 1, 1)),)), True, True),
        (
            crlm(
                liver_procedures=(liver_resection(date(2026, 10, 1)),),
                status=DiseaseStatus.PROGRESSION,
                status_date=date(2026, 11, 20),
            ),
            True,
            True,
        ),
    ],
)
def test_recurrence_after_liver_treatment(facts: PatientFacts, recurrence: bool, treated: bool) -> None:
    """Recurrence means liver disease detected or progressing after a resection or ablation."""
    ctx = context(facts)
    assert ctx.recurrence is recurrence
    assert ctx.liver_treated is treated


RESECTED_DEC = liver_resection(date(2025, 12, 1))
FIRST_EPISODE = {"diagnosed": date(2025, 8, 1), "detected": date(2025, 8, 3), "mdt": None}


@pytest.mark.parametrize(
    ("overrides", "onset", "basis"),
    [
        (
            {"onsets": (date(2025, 8, 3), date(2026, 9, 1))},
            date(2026, 9, 1),
            "Condition with onset 2026-09-01",
        ),
        ({"onsets": (date(2026, 9, 1),)}, date(2026, 9, 1), "Condition with onset"),
        ({"onsets": (date(2025, 8, 3),)}, None, None),
        ({"onsets": (), "measured": date(2026, 9, 5)}, date(2026, 9, 5), "confirm they show new disease"),
        ({"onsets": (), "measured": date(2026, 9, 5), "lesions": 0, "largest_cm": None}, None, None),
        ({"onsets": (), "measured": date(2025, 11, 20)}, None, None),
        (
            {"onsets": (), "status": DiseaseStatus.PROGRESSION, "status_date": date(2026, 9, 1)},
            date(2026, 9, 1),
            "progression recorded",
        ),
        (
            {
                "onsets": (date(2026, 9, 1),),
                "status": DiseaseStatus.PROGRESSION,
                "status_date": date(2026, 10, 1),
            },
            date(2026, 9, 1),
            "Condition",
        ),
    ],
)
def test_recurrence_from_a_new_condition_measurements_or_progression(
    overrides: dict[str, object], onset: date | None, basis: str | None
) -> None:
    """A liver-metastasis Condition, lesion measurements or progression dated after the last liver
    treatment is recurrence; its first evidence is the onset of the current episode."""
    facts = crlm(**{**FIRST_EPISODE, "liver_procedures": (RESECTED_DEC,), **overrides})  # type: ignore[arg-type]
    info = context(facts).recurrence_info
    assert info.recurred is (onset is not None)
    assert info.onset == onset
    if basis is not None:
        assert info.basis is not None and basis in info.basis


def test_measurements_between_stages_are_not_recurrence() -> None:
    """Lesions measured after a first-stage resection followed by portal vein embolisation are the
    ones left for the second stage, not a recurrence."""
    procedures = (RESECTED_DEC, liver_resection(date(2025, 12, 20), kind="portal-vein-embolisation"))
    facts = crlm(
        **{**FIRST_EPISODE, "onsets": (), "measured": date(2026, 1, 5), "liver_procedures": procedures}
    )  # type: ignore[arg-type]
    assert not context(facts).recurrence


def test_recurrence_is_judged_after_the_last_liver_treatment() -> None:
    """Liver disease that recurred and was treated again is no longer a current recurrence."""
    procedures = (RESECTED_DEC, liver_resection(date(2026, 10, 1)))
    facts = crlm(
        **{**FIRST_EPISODE, "onsets": (date(2025, 8, 3), date(2026, 9, 1)), "liver_procedures": procedures}
    )  # type: ignore[arg-type]
    assert not context(facts).recurrence


def test_recurrence_does_not_use_the_remnant_measured_before_the_liver_treatment() -> None:
    """In a recurrence, a remnant and lobar distribution recorded before the last liver treatment are
    not used by the criteria."""
    facts = crlm(
        **{**FIRST_EPISODE, "onsets": (date(2026, 9, 1),), "measured": date(2026, 9, 5)},  # type: ignore[arg-type]
        liver_procedures=(RESECTED_DEC,),
    )
    stale = facts.liver_metastases
    assert stale is not None and stale.future_liver_remnant_pct is not None
    old_flr = Fact(45.0, (ref("flr"),), date(2025, 11, 1))
    liver = replace(stale, future_liver_remnant_pct=old_flr)
    result = context(replace(facts, liver_metastases=liver)).resectability
    assert result.value is None
    assert "future liver remnant" in result.missing
    assert any("before the liver treatment of 2025-12-01" in r for r in result.reasons)


@pytest.mark.parametrize(
    ("therapies", "cycles", "weeks"),
    [
        (folfox(date(2026, 4, 1), 12), 12, 24.0),
        (folfox(date(2026, 4, 1), 11), 11, 22.0),
        (cycles_of(Agent.OXALIPLATIN, date(2026, 4, 1), 8, every_days=21), 8, 24.0),
        ((*folfox(date(2026, 4, 1), 6), *folfox(date(2026, 11, 10), 2)), 8, 16.0),
        ((), 0, 0.0),
    ],
)
def test_perioperative_course_counts_cycles_before_and_after_the_operation(
    therapies: tuple[object, ...], cycles: int, weeks: float
) -> None:
    """The course given around the liver treatment is its cycles times their usual interval, so the
    break for surgery does not count; 12 two-weekly or 8 three-weekly cycles make 24 weeks."""
    facts = crlm(
        detected=date(2026, 3, 3),
        liver_procedures=(liver_resection(date(2026, 11, 1)),),
        therapies=therapies,  # type: ignore[arg-type]
    )
    course = context(facts).course
    assert course is not None
    assert (course.cycles, course.weeks) == (cycles, weeks)


def test_kras_conflict_does_not_make_the_combined_tests_nras_conflicting() -> None:
    """A conflict note naming KRAS concerns KRAS only, even when it shares a source with NRAS."""
    note = conflict(
        "Conflicting KRAS results: mutant (most recent, used) vs wild-type.", ref("kras"), ref("nras")
    )
    ctx = context(crlm(data_notes=(note,)))
    assert ctx.conflicts == frozenset({"kras"})
    assert "NRAS wild-type" in ctx.ras_detail
    unnamed = conflict("Conflicting results.", ref("nras"))
    assert context(crlm(data_notes=(unnamed,))).conflicts == frozenset({"nras"})


def test_add_months_clamps_to_month_end() -> None:
    """Adding months keeps the day where the month allows it."""
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 3, 15), 12) == date(2026, 3, 15)

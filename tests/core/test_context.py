"""The derived patient context: timing definitions, sidedness, RAS, oxaliplatin failure, cycles,
future liver remnant, resectability and the Fong score, each from facts built to hit and miss."""

from __future__ import annotations

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
    MmrStatus,
    PatientFacts,
    PrimarySite,
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


def test_oxaliplatin_unknown_without_detection_date() -> None:
    """Dated oxaliplatin cannot be judged when the detection date of the metastases is missing."""
    facts = crlm(detected=None, therapies=(exposure(Agent.OXALIPLATIN, date(2026, 1, 1)),))
    assert context(facts).oxaliplatin.failure is None


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


@pytest.mark.parametrize(
    ("facts", "converted"),
    [
        (crlm(mdt_date=date(2026, 11, 20), therapies=folfox(date(2026, 9, 10), 4)), True),
        (crlm(mdt_date=date(2026, 9, 5), therapies=folfox(date(2026, 9, 10), 4)), False),
        (crlm(therapies=folfox(date(2026, 9, 10), 4)), False),
        (crlm(mdt_date=date(2026, 11, 20)), False),
    ],
)
def test_converted_means_resectable_after_systemic_therapy_began(
    facts: PatientFacts, converted: bool
) -> None:
    """Conversion is an MDT 'resectable' dated after systemic therapy for the liver metastases began."""
    assert context(facts).converted is converted


CETUX_OCT = exposure(Agent.CETUXIMAB, date(2026, 10, 1))


@pytest.mark.parametrize(
    ("facts", "setting"),
    [
        (crlm(), AntiEgfrSetting.NOT_RECORDED),
        (crlm(therapies=(CETUX_OCT,)), AntiEgfrSetting.INITIALLY_RESECTABLE),
        (crlm(mdt_date=date(2026, 9, 20), therapies=(CETUX_OCT,)), AntiEgfrSetting.INITIALLY_RESECTABLE),
        (crlm(mdt_date=date(2026, 11, 1), therapies=(CETUX_OCT,)), AntiEgfrSetting.CONVERTED),
        (
            crlm(mdt=Resectability.POTENTIALLY_RESECTABLE, therapies=(CETUX_OCT,)),
            AntiEgfrSetting.CONVERSION,
        ),
        (crlm(mdt=None, therapies=(CETUX_OCT,)), AntiEgfrSetting.CRITERIA_RESECTABLE),
        (crlm(mdt=None, flr=None, therapies=(CETUX_OCT,)), AntiEgfrSetting.UNKNOWN),
        (
            crlm(
                mdt_date=date(2026, 9, 10),
                liver_procedures=(liver_resection(date(2026, 9, 20)),),
                therapies=(CETUX_OCT,),
            ),
            AntiEgfrSetting.UNKNOWN,
        ),
    ],
)
def test_anti_egfr_setting(facts: PatientFacts, setting: AntiEgfrSetting) -> None:
    """A recorded antibody started before an MDT 'resectable' is conversion; after it, or with no
    date to tell, it was started in resectable disease."""
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


def test_add_months_clamps_to_month_end() -> None:
    """Adding months keeps the day where the month allows it."""
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 3, 15), 12) == date(2026, 3, 15)

"""The predicate vocabulary: small, named, documented conditions over the patient context.

Rules in ``rules.toml`` name these in ``when`` / ``unless`` lists (all must hold / none may hold).
Each predicate is total and conservative: a predicate about a known value is ``False`` when the
value is unknown, and the matching ``*_unknown`` predicate is ``True`` instead, so no rule fires on
a silent default. ``load_knowledge`` rejects any name not registered here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from cds_service.core.context import (
    ANTI_EGFR_AGENTS,
    LIVER_TREATMENTS,
    AntiEgfrSetting,
    BrafClass,
    EhdStatus,
    GeneStatus,
    MmrClass,
    PatientContext,
    PsClass,
    ResectabilityBasis,
    Sidedness,
    TimingCategory,
    add_months,
    n_number,
    t_number,
)
from cds_service.core.facts import (
    Agent,
    DiseaseStatus,
    ExtrahepaticSite,
    Fact,
    HepatectomyComplexity,
    Margin,
    PrimarySite,
    RecordKind,
    Resectability,
    Symptom,
)

Predicate = Callable[[PatientContext], bool]

#: Every predicate by name; the table of contents of the rule vocabulary.
PREDICATES: dict[str, Predicate] = {}

#: Predicates that read the resectability value: a card whose rule names one of them rests on it,
#: and is marked provisional when the value comes from the criteria rather than the MDT.
RESECTABILITY_PREDICATES = frozenset(
    {
        "resectable",
        "potentially_resectable",
        "unresectable",
        "curative_path",
        "not_resectable",
        "liver_surgery_considered",
        "liver_surgery_possible",
    }
)


def predicate(function: Predicate) -> Predicate:
    """Register ``function`` under its own name (it must have a docstring)."""
    if not function.__doc__:
        raise ValueError(f"predicate {function.__name__} needs a docstring")
    PREDICATES[function.__name__] = function
    return function


@dataclass(frozen=True, slots=True)
class AntiEgfrReason:
    """One reason against an anti-EGFR antibody.

    Attributes:
        text: The reason in full, for the card.
        short: A few words, for the card's summary.
        critical: With an antibody already recorded, a safety conflict (RAS not wild-type or not
            established, BRAF not established, a right-sided, transverse or unknown primary site
            outside the BREAKWATER combination, disease resectable when it started or resectable
            now without a documented conversion, BRAF V600E without encorafenib).
    """

    text: str
    short: str
    critical: bool


def breakwater_recorded(ctx: PatientContext) -> bool:
    """Encorafenib is recorded with an anti-EGFR antibody for a BRAF V600E tumour: the BREAKWATER
    combination, whose use does not depend on sidedness."""
    agents = _agents(ctx)
    return ctx.braf is BrafClass.V600E and Agent.ENCORAFENIB in agents and bool(agents & ANTI_EGFR_AGENTS)


def _dated(fact: Fact[Resectability] | None) -> str:
    if fact is None or fact.effective is None:
        return "date not recorded"
    return fact.effective.isoformat()


def _setting_reasons(ctx: PatientContext, recorded: bool) -> list[AntiEgfrReason]:
    """Reasons from the setting the antibody was started in (recorded) or would be given in."""
    setting = ctx.anti_egfr_setting
    start = ctx.antibody_start.isoformat() if ctx.antibody_start else "date not recorded"
    liver = ctx.facts.liver_metastases
    latest = None if liver is None else liver.mdt_resectability
    latest_resectable = latest is not None and latest.value is Resectability.RESECTABLE
    if setting is AntiEgfrSetting.INITIALLY_RESECTABLE:
        baseline = ctx.antibody_baseline
        when = baseline.effective.isoformat() if baseline and baseline.effective else "date not recorded"
        return [
            AntiEgfrReason(
                f"the MDT had assessed the disease as resectable ({when}) before the antibody started "
                f"({start})",
                "resectable disease",
                True,
            )
        ]
    if setting is AntiEgfrSetting.CRITERIA_RESECTABLE:
        also = f", and the MDT assesses it as resectable now ({_dated(latest)})" if latest_resectable else ""
        return [
            AntiEgfrReason(
                f"the lesion measurements taken before the antibody started ({start}) meet the criteria "
                "of the sources for resectable disease (provisional; no MDT assessment before the start)"
                f"{also}",
                "resectable disease",
                True,
            )
        ]
    if setting is AntiEgfrSetting.RESECTABLE_NO_BASELINE:
        now = (
            f"the MDT assesses the disease as resectable ({_dated(latest)})"
            if latest_resectable
            else "the disease is resectable on the criteria of the sources (provisional)"
        )
        return [
            AntiEgfrReason(
                f"{now}, and no MDT assessment before the antibody started ({start}) records it as not "
                "resectable: no documented conversion",
                "no documented conversion",
                True,
            )
        ]
    if setting is AntiEgfrSetting.UNKNOWN:
        return [
            AntiEgfrReason(
                "no MDT assessment records whether the disease was resectable when the antibody started",
                "setting not recorded",
                False,
            )
        ]
    if recorded or setting is not AntiEgfrSetting.NOT_RECORDED:
        return []
    result = ctx.resectability
    if result.value is Resectability.RESECTABLE:
        return [
            AntiEgfrReason(
                "resectable disease: no anti-EGFR before or after resection", "resectable disease", True
            )
        ]
    if result.value is not None and result.basis is not ResectabilityBasis.MDT:
        return [
            AntiEgfrReason(
                "resectability is only a provisional reading of the criteria: an anti-EGFR antibody "
                "only once the MDT confirms the disease is not resectable",
                "MDT assessment pending",
                False,
            )
        ]
    if result.value is None:
        return [
            AntiEgfrReason(
                "resectability not assessed: anti-EGFR belongs to the conversion setting",
                "resectability not assessed",
                False,
            )
        ]
    return []


def anti_egfr_reasons(ctx: PatientContext) -> tuple[AntiEgfrReason, ...]:
    """Why an anti-EGFR antibody is not indicated; empty when it is (001: pMMR, RAS and BRAF
    wild-type, left-sided, in its conversion strategy for disease the MDT found not resectable;
    New EPOC: never in resectable disease; after a documented conversion on it, 001 continues the
    same chemotherapy). With an antibody recorded, RAS or BRAF not established and an unknown or
    right-sided (or transverse) primary are safety conflicts, except that the BREAKWATER combination
    (encorafenib for BRAF V600E) does not depend on sidedness."""
    reasons: list[AntiEgfrReason] = []
    recorded = bool(_agents(ctx) & ANTI_EGFR_AGENTS)
    breakwater = breakwater_recorded(ctx)
    if ctx.ras is GeneStatus.MUTANT:
        reasons.append(AntiEgfrReason(f"RAS mutant ({ctx.ras_detail})", "RAS mutant", True))
    elif ctx.ras is GeneStatus.UNKNOWN:
        reasons.append(
            AntiEgfrReason(
                f"extended RAS status not established ({ctx.ras_detail})", "RAS not established", True
            )
        )
    if breakwater:
        reasons.append(
            AntiEgfrReason(
                "BRAF V600E with encorafenib recorded: the BREAKWATER combination (newer evidence), not "
                "001's anti-EGFR regimen for RAS/BRAF wild-type tumours",
                "BRAF V600E (BREAKWATER)",
                False,
            )
        )
    elif ctx.braf is BrafClass.V600E:
        reasons.append(
            AntiEgfrReason(
                "BRAF V600E: an anti-EGFR antibody only as part of encorafenib plus cetuximab "
                "(BREAKWATER, newer evidence; first-line metastatic disease, no perioperative or "
                "conversion data)",
                "BRAF V600E",
                True,
            )
        )
    elif ctx.braf is BrafClass.OTHER:
        reasons.append(
            AntiEgfrReason(
                "BRAF non-V600E mutant (the seeds group it with RAS/BRAF-mutant tumours)",
                "BRAF mutant",
                False,
            )
        )
    elif ctx.braf is BrafClass.UNKNOWN:
        reasons.append(AntiEgfrReason("BRAF status not established", "BRAF not established", True))
    if not breakwater:
        if ctx.sidedness is Sidedness.RIGHT:
            reasons.append(AntiEgfrReason("right-sided primary", "right-sided primary", True))
        elif ctx.sidedness is Sidedness.INDETERMINATE:
            reasons.append(
                AntiEgfrReason(
                    "transverse colon primary: sidedness uncertain, treated as right-sided",
                    "transverse colon",
                    True,
                )
            )
        elif ctx.sidedness is Sidedness.UNKNOWN:
            reasons.append(
                AntiEgfrReason(
                    "primary sub-site not recorded: sidedness unknown (001: left-sided tumours only)",
                    "sidedness unknown",
                    True,
                )
            )
    if ctx.mmr is MmrClass.DEFICIENT:
        reasons.append(
            AntiEgfrReason("dMMR/MSI-H: immunotherapy is the systemic choice (001)", "dMMR/MSI-H", False)
        )
    reasons.extend(_setting_reasons(ctx, recorded))
    return tuple(reasons)


# --- Applicability and timing -------------------------------------------------------------


@predicate
def applicable(ctx: PatientContext) -> bool:
    """A confirmed colorectal primary and confirmed liver metastases are recorded."""
    return ctx.applicable


@predicate
def scope_blocked_by_unreadable_record(ctx: PatientContext) -> bool:
    """Out of scope only for want of records that could not be read: every missing condition (the
    colorectal primary, the liver metastases) has a record recognised as it by its code but skipped
    as not valid FHIR. Patients who simply lack one are not concerned."""
    facts = ctx.facts
    kinds = {fact.value for fact in facts.unreadable}
    missing = []
    if facts.primary is None:
        missing.append(RecordKind.COLORECTAL_PRIMARY)
    if facts.liver_metastases is None:
        missing.append(RecordKind.LIVER_METASTASES)
    return bool(missing) and all(kind in kinds for kind in missing)


@predicate
def other_primary_recorded(ctx: PatientContext) -> bool:
    """Another confirmed primary cancer is recorded besides the colorectal one."""
    return bool(ctx.facts.other_primary_cancers)


@predicate
def timing_synchronous(ctx: PatientContext) -> bool:
    """Synchronous under the policy's definition."""
    return ctx.timing.category is TimingCategory.SYNCHRONOUS


@predicate
def timing_metachronous_early(ctx: PatientContext) -> bool:
    """Early metachronous under the policy's definition."""
    return ctx.timing.category is TimingCategory.EARLY_METACHRONOUS


@predicate
def timing_metachronous_late(ctx: PatientContext) -> bool:
    """Late metachronous under the policy's definition."""
    return ctx.timing.category is TimingCategory.LATE_METACHRONOUS


@predicate
def timing_metachronous_unclassified(ctx: PatientContext) -> bool:
    """Metachronous, but early/late cannot be told from the recorded dates."""
    return ctx.timing.category is TimingCategory.METACHRONOUS


@predicate
def timing_unknown(ctx: PatientContext) -> bool:
    """Timing cannot be computed: a diagnosis or detection date is missing."""
    return ctx.timing.category is None


# --- Primary tumour -------------------------------------------------------------------------


@predicate
def primary_in_place(ctx: PatientContext) -> bool:
    """No resection of the primary is recorded (assumed in place; cards say so)."""
    return ctx.facts.primary is not None and ctx.facts.primary.resected is None


@predicate
def rectal(ctx: PatientContext) -> bool:
    """The primary is in the rectum (or at the rectosigmoid junction with its distal end within
    002's 20 cm of the anal verge)."""
    return ctx.rectal


@predicate
def colon(ctx: PatientContext) -> bool:
    """The primary is not rectal (colon, rectosigmoid, or sub-site not given)."""
    return not ctx.rectal


@predicate
def primary_in_rectum(ctx: PatientContext) -> bool:
    """The primary is recorded in the rectum itself (not the rectosigmoid junction)."""
    primary = ctx.facts.primary
    return primary is not None and primary.site is not None and primary.site.value is PrimarySite.RECTUM


@predicate
def upper_rectal(ctx: PatientContext) -> bool:
    """Rectal primary whose distal edge is above the upper-rectum threshold from the anal verge."""
    return ctx.rectal and ctx.upper_rectal is True


@predicate
def rectal_height_unknown(ctx: PatientContext) -> bool:
    """Rectal primary without a recorded distance from the anal verge."""
    return ctx.rectal and ctx.upper_rectal is None


def _symptoms(ctx: PatientContext) -> frozenset[Symptom] | None:
    primary = ctx.facts.primary
    return None if primary is None or primary.symptoms is None else primary.symptoms.value


@predicate
def symptomatic(ctx: PatientContext) -> bool:
    """Bleeding, obstruction or perforation of the primary is recorded."""
    return bool(_symptoms(ctx))


@predicate
def symptoms_not_recorded(ctx: PatientContext) -> bool:
    """Nothing is recorded about symptoms of the primary (neither symptoms nor their absence)."""
    return _symptoms(ctx) is None


@predicate
def asymptomatic_or_not_recorded(ctx: PatientContext) -> bool:
    """No symptom of the primary is recorded (explicitly asymptomatic, or nothing recorded)."""
    return not _symptoms(ctx)


@predicate
def obstruction_or_perforation(ctx: PatientContext) -> bool:
    """Obstruction or perforation of the primary is recorded."""
    symptoms = _symptoms(ctx) or frozenset()
    return bool(symptoms & {Symptom.OBSTRUCTION, Symptom.PERFORATION})


@predicate
def declines_chemotherapy_first(ctx: PatientContext) -> bool:
    """The patient does not accept chemotherapy before resection of the primary."""
    fact = ctx.facts.declines_chemotherapy_first
    return fact is not None and fact.value is True


@predicate
def rectal_classic_indicated(ctx: PatientContext) -> bool:
    """002's conditions for primary-first in rectal cancer: an upper rectal tumour with obstruction
    or perforation, or chemotherapy first not accepted."""
    return ctx.rectal and (
        (upper_rectal(ctx) and obstruction_or_perforation(ctx)) or declines_chemotherapy_first(ctx)
    )


@predicate
def rectal_rt_indicated(ctx: PatientContext) -> bool:
    """Rectal primary with a stage that indicates pelvic radiotherapy (T at or above the threshold,
    or node-positive)."""
    t, n = t_number(ctx.facts), n_number(ctx.facts)
    return ctx.rectal and (
        (t is not None and t >= ctx.int_threshold("rectal_rt_min_t")) or (n is not None and n > 0)
    )


@predicate
def rectal_stage_unknown(ctx: PatientContext) -> bool:
    """Rectal primary whose T or N category is missing and the known part does not indicate RT."""
    t, n = t_number(ctx.facts), n_number(ctx.facts)
    return ctx.rectal and not rectal_rt_indicated(ctx) and (t is None or n is None)


@predicate
def pelvic_rt_recorded(ctx: PatientContext) -> bool:
    """Pelvic (chemo)radiotherapy is recorded."""
    primary = ctx.facts.primary
    return primary is not None and primary.pelvic_radiotherapy is not None


@predicate
def primary_complete_response(ctx: PatientContext) -> bool:
    """A clinical complete response of the primary is recorded."""
    primary = ctx.facts.primary
    return primary is not None and primary.complete_response is not None and primary.complete_response.value


# --- Resectability and liver treatment --------------------------------------------------------


@predicate
def resectable(ctx: PatientContext) -> bool:
    """Resectable (MDT, or the criteria of the sources)."""
    return ctx.resectability.value is Resectability.RESECTABLE


@predicate
def potentially_resectable(ctx: PatientContext) -> bool:
    """Potentially resectable after conversion treatment."""
    return ctx.resectability.value is Resectability.POTENTIALLY_RESECTABLE


@predicate
def unresectable(ctx: PatientContext) -> bool:
    """Unresectable, no curative path at present."""
    return ctx.resectability.value is Resectability.UNRESECTABLE


@predicate
def resectability_unknown(ctx: PatientContext) -> bool:
    """Neither an MDT assessment nor the criteria decide resectability."""
    return ctx.resectability.value is None


@predicate
def curative_path(ctx: PatientContext) -> bool:
    """Resectable or potentially resectable: a curative-intent path exists."""
    return resectable(ctx) or potentially_resectable(ctx)


@predicate
def not_resectable(ctx: PatientContext) -> bool:
    """Potentially resectable or unresectable: systemic therapy comes first."""
    return potentially_resectable(ctx) or unresectable(ctx)


@predicate
def resectability_from_criteria(ctx: PatientContext) -> bool:
    """Resectability was read from the criteria of the sources, not from an MDT assessment."""
    return ctx.resectability.value is not None and ctx.resectability.basis is ResectabilityBasis.CRITERIA


@predicate
def mdt_not_recorded(ctx: PatientContext) -> bool:
    """No current MDT resectability assessment is recorded."""
    return ctx.resectability.basis is not ResectabilityBasis.MDT


@predicate
def liver_untreated(ctx: PatientContext) -> bool:
    """No liver resection or ablation is recorded."""
    return not ctx.liver_treated


@predicate
def post_liver_treatment(ctx: PatientContext) -> bool:
    """A liver resection or ablation is recorded and no recurrence after it."""
    return ctx.liver_treated and not ctx.recurrence


@predicate
def recurrence_after_liver_treatment(ctx: PatientContext) -> bool:
    """Liver metastases detected or progressing after a liver resection or ablation."""
    return ctx.recurrence


@predicate
def liver_surgery_considered(ctx: PatientContext) -> bool:
    """Curative path with liver disease to treat (untreated, or recurrent)."""
    return curative_path(ctx) and (liver_untreated(ctx) or ctx.recurrence)


@predicate
def liver_surgery_possible(ctx: PatientContext) -> bool:
    """Liver disease to treat (untreated, or recurrent) and surgery not ruled out: resectable,
    potentially resectable, or resectability not yet decided."""
    return (curative_path(ctx) or resectability_unknown(ctx)) and (liver_untreated(ctx) or ctx.recurrence)


@predicate
def planned_for_resection(ctx: PatientContext) -> bool:
    """The liver metastases are not yet treated and resection is the plan: resectable now, or the
    latest MDT assessment said resectable (even if restaging since has made it out of date)."""
    return liver_untreated(ctx) and (resectable(ctx) or ctx.mdt_plan is Resectability.RESECTABLE)


@predicate
def mdt_assessment_out_of_date(ctx: PatientContext) -> bool:
    """An MDT assessment is recorded but later restaging or treatment has made it out of date."""
    liver = ctx.facts.liver_metastases
    return (
        liver is not None
        and liver.mdt_resectability is not None
        and ctx.resectability.basis is not (ResectabilityBasis.MDT)
    )


@predicate
def systemic_given_for_liver(ctx: PatientContext) -> bool:
    """Systemic therapy was given for the liver metastases (on or after detection, before their
    first resection or ablation)."""
    return ctx.liver_systemic_start is not None


@predicate
def systemic_timing_unknown(ctx: PatientContext) -> bool:
    """Systemic therapy is recorded but the detection date is missing, so whether it was given for
    the liver metastases cannot be told."""
    liver = ctx.facts.liver_metastases
    detected = None if liver is None else liver.detected
    return detected is None and bool(ctx.facts.therapies)


@predicate
def converted_to_resectable(ctx: PatientContext) -> bool:
    """The MDT assessed the disease as resectable after systemic therapy for it began (conversion,
    or restaging during preoperative chemotherapy), and the liver is not yet treated."""
    return ctx.converted and liver_untreated(ctx)


@predicate
def preoperative_months_reached(ctx: PatientContext) -> bool:
    """The preoperative period of 001's perioperative course (3 months) has passed since systemic
    therapy for the liver metastases began."""
    start = ctx.liver_systemic_start
    months = ctx.int_threshold("perioperative_months_before")
    return start is not None and add_months(start, months) <= ctx.today


@predicate
def measurements_outdated(ctx: PatientContext) -> bool:
    """The recorded lesion count and size predate the latest disease status or systemic therapy
    given since."""
    return ctx.measurements_outdated is not None


@predicate
def restaging_overdue(ctx: PatientContext) -> bool:
    """On systemic therapy for the liver metastases with no restaging within the reassessment
    interval."""
    return ctx.restaging_overdue


@predicate
def recent_liver_treatment(ctx: PatientContext) -> bool:
    """The last dated liver resection or ablation lies within the total perioperative period
    before today, so postoperative chemotherapy is still current."""
    dates = [p.performed for p in ctx.facts.liver_procedures if p.kind in LIVER_TREATMENTS and p.performed]
    if not dates:
        return False
    return ctx.today <= add_months(max(dates), ctx.int_threshold("perioperative_total_months"))


@predicate
def primary_in_place_liver_untreated(ctx: PatientContext) -> bool:
    """Primary in place and liver not yet treated: the sequencing question, whatever the timing
    label (metastases found weeks after the diagnosis raise the same question)."""
    return primary_in_place(ctx) and liver_untreated(ctx)


@predicate
def timing_not_synchronous(ctx: PatientContext) -> bool:
    """Timing is known and not synchronous under the policy's definition."""
    return ctx.timing.category is not None and ctx.timing.category is not TimingCategory.SYNCHRONOUS


@predicate
def mdt_says_resectable(ctx: PatientContext) -> bool:
    """A current MDT assessment calls the disease resectable."""
    return ctx.resectability.basis is ResectabilityBasis.MDT and resectable(ctx)


@predicate
def conversion_not_documented(ctx: PatientContext) -> bool:
    """The MDT calls the disease resectable after systemic therapy for it began, but no MDT
    assessment on or before the start records it as not resectable: read as preoperative
    chemotherapy for resectable disease, not as a conversion."""
    return (
        mdt_says_resectable(ctx)
        and ctx.liver_systemic_start is not None
        and liver_untreated(ctx)
        and not ctx.converted
        and ctx.mdt_baseline is None
    )


@predicate
def r1_margin(ctx: PatientContext) -> bool:
    """A liver resection with a microscopically positive (R1) margin is recorded."""
    return any(
        p.kind == "resection" and p.margin is not None and p.margin.value is Margin.R1
        for p in ctx.facts.liver_procedures
    )


# --- Liver disease extent ---------------------------------------------------------------------


def _count(ctx: PatientContext) -> int | None:
    liver = ctx.facts.liver_metastases
    return None if liver is None or liver.lesion_count is None else liver.lesion_count.value


def _largest(ctx: PatientContext) -> float | None:
    liver = ctx.facts.liver_metastases
    return None if liver is None or liver.largest_diameter_cm is None else liver.largest_diameter_cm.value


@predicate
def lesion_count_unknown(ctx: PatientContext) -> bool:
    """The number of liver lesions is not recorded."""
    return _count(ctx) is None


@predicate
def lesions_within_folfox_limit(ctx: PatientContext) -> bool:
    """At most the perioperative-FOLFOX number of liver metastases (001: up to 4)."""
    count = _count(ctx)
    return count is not None and count <= ctx.int_threshold("perioperative_folfox_max_lesions")


@predicate
def lesions_over_folfox_limit(ctx: PatientContext) -> bool:
    """More liver metastases than perioperative FOLFOX covers (001: more than 4)."""
    count = _count(ctx)
    return count is not None and count > ctx.int_threshold("perioperative_folfox_max_lesions")


@predicate
def single_small_lesion(ctx: PatientContext) -> bool:
    """A single liver metastasis under the upfront-surgery size (001: under 2 cm)."""
    largest = _largest(ctx)
    return (
        _count(ctx) == 1
        and largest is not None
        and largest < ctx.threshold("upfront_surgery_max_diameter_cm")
    )


@predicate
def largest_over_5cm(ctx: PatientContext) -> bool:
    """Largest liver metastasis over the prognostic size threshold (002: over 5 cm)."""
    largest = _largest(ctx)
    return largest is not None and largest > ctx.threshold("large_metastasis_cm")


@predicate
def largest_within_ablation_size(ctx: PatientContext) -> bool:
    """All liver lesions are small enough for ablation (largest under the ablation threshold)."""
    largest = _largest(ctx)
    return largest is not None and largest < ctx.threshold("ablation_max_diameter_cm")


@predicate
def bilobar(ctx: PatientContext) -> bool:
    """Liver metastases in both lobes."""
    liver = ctx.facts.liver_metastases
    return liver is not None and liver.bilobar is not None and liver.bilobar.value is True


def _flr(ctx: PatientContext) -> float | None:
    liver = ctx.facts.liver_metastases
    return (
        None
        if liver is None or liver.future_liver_remnant_pct is None
        else liver.future_liver_remnant_pct.value
    )


@predicate
def flr_unknown(ctx: PatientContext) -> bool:
    """The planned future liver remnant is not recorded."""
    return _flr(ctx) is None


@predicate
def flr_adequate(ctx: PatientContext) -> bool:
    """Planned future liver remnant meets the requirement (at least, or over, the percentage)."""
    flr = _flr(ctx)
    return flr is not None and ctx.flr.met_by(flr)


@predicate
def flr_insufficient(ctx: PatientContext) -> bool:
    """Planned future liver remnant short of the requirement."""
    flr = _flr(ctx)
    return flr is not None and not ctx.flr.met_by(flr)


@predicate
def heavy_chemotherapy(ctx: PatientContext) -> bool:
    """More pre-hepatectomy cycles than the heavy-chemotherapy threshold (003: more than six)."""
    return ctx.heavy_chemotherapy is True


@predicate
def cirrhosis_recorded(ctx: PatientContext) -> bool:
    """Cirrhosis or chronic liver disease is recorded."""
    return ctx.facts.cirrhosis is not None and ctx.facts.cirrhosis.value is True


@predicate
def cirrhosis_unknown(ctx: PatientContext) -> bool:
    """Nothing is recorded about cirrhosis or chronic liver disease."""
    return ctx.facts.cirrhosis is None


def _complexity(ctx: PatientContext) -> HepatectomyComplexity | None:
    liver = ctx.facts.liver_metastases
    return None if liver is None or liver.planned_complexity is None else liver.planned_complexity.value


@predicate
def planned_grade_iii(ctx: PatientContext) -> bool:
    """The planned hepatectomy is grade III (major) in the Kawaguchi classification."""
    return _complexity(ctx) is HepatectomyComplexity.GRADE_III


@predicate
def planned_minor_hepatectomy(ctx: PatientContext) -> bool:
    """The planned hepatectomy is grade I or II."""
    return _complexity(ctx) in (HepatectomyComplexity.GRADE_I, HepatectomyComplexity.GRADE_II)


@predicate
def planned_complexity_unknown(ctx: PatientContext) -> bool:
    """The planned hepatectomy complexity is not recorded."""
    return _complexity(ctx) is None


@predicate
def simultaneous_feasible(ctx: PatientContext) -> bool:
    """001's conditions for simultaneous resection: small accessible metastases (minor
    hepatectomy, largest within the service's reading of "small") and good performance status."""
    largest = _largest(ctx)
    return (
        planned_minor_hepatectomy(ctx)
        and largest is not None
        and largest <= ctx.threshold("simultaneous_max_diameter_cm")
        and ctx.ps is PsClass.GOOD
    )


@predicate
def simultaneous_not_feasible(ctx: PatientContext) -> bool:
    """Simultaneous resection excluded on 001's own grounds: performance status not good, or a
    major (grade III) hepatectomy. Size alone does not exclude it: "small" is the service's
    reading, so a larger lesion leaves the question open."""
    return ctx.ps in (PsClass.LIMITED, PsClass.POOR) or planned_grade_iii(ctx)


@predicate
def largest_over_simultaneous_size(ctx: PatientContext) -> bool:
    """The largest lesion is above the service's reading of 001's "small" metastases."""
    largest = _largest(ctx)
    return largest is not None and largest > ctx.threshold("simultaneous_max_diameter_cm")


@predicate
def simultaneous_feasibility_unknown(ctx: PatientContext) -> bool:
    """The data neither allow nor exclude simultaneous resection."""
    return not simultaneous_feasible(ctx) and not simultaneous_not_feasible(ctx)


# --- Extrahepatic disease ---------------------------------------------------------------------


def _sites(ctx: PatientContext) -> frozenset[ExtrahepaticSite]:
    return frozenset(f.value for f in ctx.facts.extrahepatic)


@predicate
def ehd_present(ctx: PatientContext) -> bool:
    """Extrahepatic metastases are recorded."""
    return ctx.ehd is EhdStatus.PRESENT


@predicate
def ehd_not_present(ctx: PatientContext) -> bool:
    """No extrahepatic metastasis is recorded (explicitly absent, or nothing recorded)."""
    return ctx.ehd is not EhdStatus.PRESENT


@predicate
def ehd_not_recorded(ctx: PatientContext) -> bool:
    """Neither extrahepatic metastases nor their absence are recorded."""
    return ctx.ehd is EhdStatus.NOT_RECORDED


@predicate
def ehd_single_site(ctx: PatientContext) -> bool:
    """Extrahepatic disease at exactly one site (nodal stations count as one)."""
    return len(ctx.ehd_sites) == 1


@predicate
def ehd_multiple_sites(ctx: PatientContext) -> bool:
    """Extrahepatic disease at more than one site."""
    return len(ctx.ehd_sites) > 1


@predicate
def peritoneal(ctx: PatientContext) -> bool:
    """Peritoneal metastases are recorded."""
    return ExtrahepaticSite.PERITONEUM in _sites(ctx)


@predicate
def peritoneal_liver_limit_met(ctx: PatientContext) -> bool:
    """003's condition for liver resection with peritoneal metastases: at most 3 liver lesions
    and good performance status."""
    count = _count(ctx)
    return (
        count is not None
        and count <= ctx.int_threshold("peritoneal_max_liver_lesions")
        and ctx.ps is PsClass.GOOD
    )


@predicate
def peritoneal_liver_limit_exceeded(ctx: PatientContext) -> bool:
    """More liver lesions than 003 allows with peritoneal metastases, or performance status
    known not to be good."""
    count = _count(ctx)
    return (count is not None and count > ctx.int_threshold("peritoneal_max_liver_lesions")) or ctx.ps in (
        PsClass.LIMITED,
        PsClass.POOR,
    )


@predicate
def peritoneal_limit_unknown(ctx: PatientContext) -> bool:
    """Lesion count or performance status is missing to apply 003's peritoneal condition."""
    return not peritoneal_liver_limit_met(ctx) and not peritoneal_liver_limit_exceeded(ctx)


@predicate
def celiac_or_para_aortic_nodes(ctx: PatientContext) -> bool:
    """Celiac or para-aortic lymph-node metastases are recorded."""
    return ExtrahepaticSite.CELIAC_OR_PARA_AORTIC_NODES in _sites(ctx)


# --- Performance status -----------------------------------------------------------------------


@predicate
def ps_good(ctx: PatientContext) -> bool:
    """ECOG at or below the good-performance threshold."""
    return ctx.ps is PsClass.GOOD


@predicate
def ps_not_good(ctx: PatientContext) -> bool:
    """ECOG recorded and above the good-performance threshold."""
    return ctx.ps in (PsClass.LIMITED, PsClass.POOR)


@predicate
def ps_poor(ctx: PatientContext) -> bool:
    """ECOG above the surgical threshold (3 or more): no intensive regimen is suggested."""
    return ctx.ps is PsClass.POOR


@predicate
def ps_limited(ctx: PatientContext) -> bool:
    """ECOG between the good-performance and the surgical thresholds (ECOG 2)."""
    return ctx.ps is PsClass.LIMITED


@predicate
def age_over_triplet_trials(ctx: PatientContext) -> bool:
    """Older than the oldest patients in the triplet-chemotherapy trials (TRIBE: 18-75 years)."""
    return ctx.age is not None and ctx.age > ctx.threshold("triplet_trial_max_age")


@predicate
def ps_unknown(ctx: PatientContext) -> bool:
    """No ECOG performance status is recorded."""
    return ctx.ps is PsClass.UNKNOWN


# --- Molecular ------------------------------------------------------------------------------


@predicate
def dmmr(ctx: PatientContext) -> bool:
    """dMMR / MSI-H."""
    return ctx.mmr is MmrClass.DEFICIENT


@predicate
def mmr_unknown(ctx: PatientContext) -> bool:
    """MMR/MSI status not recorded or conflicting."""
    return ctx.mmr is MmrClass.UNKNOWN


@predicate
def ras_wild_type(ctx: PatientContext) -> bool:
    """Extended RAS wild-type: KRAS and NRAS both wild-type, without conflicting results."""
    return ctx.ras is GeneStatus.WILD_TYPE


@predicate
def ras_mutant(ctx: PatientContext) -> bool:
    """KRAS or NRAS mutant."""
    return ctx.ras is GeneStatus.MUTANT


@predicate
def ras_unknown(ctx: PatientContext) -> bool:
    """Extended RAS not established (not tested, one gene missing, or conflicting)."""
    return ctx.ras is GeneStatus.UNKNOWN


@predicate
def ras_conflict(ctx: PatientContext) -> bool:
    """Conflicting KRAS or NRAS results are noted."""
    return bool(ctx.conflicts & {"kras", "nras"})


@predicate
def any_conflict(ctx: PatientContext) -> bool:
    """Conflicting molecular results are noted (RAS, BRAF, MMR/MSI or TP53)."""
    return bool(ctx.conflicts)


@predicate
def braf_conflict(ctx: PatientContext) -> bool:
    """Conflicting BRAF results are noted."""
    return "braf" in ctx.conflicts


@predicate
def mmr_conflict(ctx: PatientContext) -> bool:
    """Conflicting MMR/MSI results are noted."""
    return "mmr" in ctx.conflicts


@predicate
def braf_wild_type(ctx: PatientContext) -> bool:
    """BRAF wild-type."""
    return ctx.braf is BrafClass.WILD_TYPE


@predicate
def braf_mutant(ctx: PatientContext) -> bool:
    """BRAF mutant (V600E or other)."""
    return ctx.braf in (BrafClass.V600E, BrafClass.OTHER)


@predicate
def braf_v600e(ctx: PatientContext) -> bool:
    """BRAF V600E."""
    return ctx.braf is BrafClass.V600E


@predicate
def braf_non_v600e(ctx: PatientContext) -> bool:
    """BRAF mutant other than V600E."""
    return ctx.braf is BrafClass.OTHER


@predicate
def braf_unknown(ctx: PatientContext) -> bool:
    """BRAF not recorded or conflicting."""
    return ctx.braf is BrafClass.UNKNOWN


@predicate
def ras_or_braf_mutant(ctx: PatientContext) -> bool:
    """RAS or BRAF mutant."""
    return ras_mutant(ctx) or braf_mutant(ctx)


@predicate
def ras_braf_wild_type(ctx: PatientContext) -> bool:
    """RAS and BRAF both wild-type."""
    return ras_wild_type(ctx) and braf_wild_type(ctx)


@predicate
def ras_braf_incomplete(ctx: PatientContext) -> bool:
    """Neither gene is known mutant, and at least one is unknown."""
    return not ras_or_braf_mutant(ctx) and (ras_unknown(ctx) or braf_unknown(ctx))


@predicate
def tp53_unknown(ctx: PatientContext) -> bool:
    """TP53 not recorded or conflicting."""
    return ctx.tp53 is GeneStatus.UNKNOWN


@predicate
def tp53_unknown_ras_mutant(ctx: PatientContext) -> bool:
    """RAS mutant with TP53 unknown: the co-mutation that predicts reverse-approach failure is
    undetermined."""
    return ras_mutant(ctx) and tp53_unknown(ctx)


@predicate
def ras_tp53_comutation(ctx: PatientContext) -> bool:
    """RAS and TP53 both mutant (002: lower completion of the reverse approach)."""
    return ras_mutant(ctx) and ctx.tp53 is GeneStatus.MUTANT


@predicate
def sidedness_left(ctx: PatientContext) -> bool:
    """Left-sided primary (splenic flexure to rectum)."""
    return ctx.sidedness is Sidedness.LEFT


@predicate
def sidedness_right(ctx: PatientContext) -> bool:
    """Right-sided primary (caecum to hepatic flexure)."""
    return ctx.sidedness is Sidedness.RIGHT


@predicate
def sidedness_indeterminate(ctx: PatientContext) -> bool:
    """Transverse colon primary: sidedness uncertain."""
    return ctx.sidedness is Sidedness.INDETERMINATE


@predicate
def sidedness_uncertain(ctx: PatientContext) -> bool:
    """Sidedness indeterminate (transverse) or unknown (sub-site not recorded)."""
    return ctx.sidedness in (Sidedness.INDETERMINATE, Sidedness.UNKNOWN)


@predicate
def sidedness_unknown(ctx: PatientContext) -> bool:
    """The primary's sub-site is not recorded."""
    return ctx.sidedness is Sidedness.UNKNOWN


# --- Anti-EGFR ------------------------------------------------------------------------------


def _agents(ctx: PatientContext) -> frozenset[Agent]:
    return frozenset(t.agent for t in ctx.facts.therapies)


@predicate
def anti_egfr_eligible(ctx: PatientContext) -> bool:
    """No reason against an anti-EGFR antibody: RAS and BRAF wild-type, left-sided, not dMMR, in
    the conversion or non-curative setting confirmed by the MDT."""
    return not anti_egfr_reasons(ctx)


@predicate
def anti_egfr_contraindicated(ctx: PatientContext) -> bool:
    """At least one reason against an anti-EGFR antibody."""
    return bool(anti_egfr_reasons(ctx))


@predicate
def anti_egfr_awaits_mdt(ctx: PatientContext) -> bool:
    """pMMR (or unknown), RAS/BRAF wild-type, left-sided, not resectable on a provisional reading
    of the criteria: the only thing between the tumour and 001's anti-EGFR regimen is the MDT's
    confirmation, which the service waits for."""
    reasons = anti_egfr_reasons(ctx)
    return bool(reasons) and all(r.short == "MDT assessment pending" for r in reasons)


@predicate
def anti_egfr_recorded(ctx: PatientContext) -> bool:
    """Cetuximab or panitumumab is recorded."""
    return bool(_agents(ctx) & ANTI_EGFR_AGENTS)


@predicate
def anti_egfr_breakwater_recorded(ctx: PatientContext) -> bool:
    """Encorafenib with an anti-EGFR antibody is recorded for a BRAF V600E tumour (BREAKWATER)."""
    return breakwater_recorded(ctx)


@predicate
def anti_egfr_harmful_recorded(ctx: PatientContext) -> bool:
    """An anti-EGFR antibody is recorded for a RAS-mutant tumour, or for a BRAF V600E tumour
    without encorafenib (the BREAKWATER combination)."""
    harmful = ras_mutant(ctx) or (braf_v600e(ctx) and Agent.ENCORAFENIB not in _agents(ctx))
    return anti_egfr_recorded(ctx) and harmful


@predicate
def anti_egfr_critical_recorded(ctx: PatientContext) -> bool:
    """An anti-EGFR antibody is recorded with a reason that makes it a safety conflict: RAS or BRAF
    not established, a right-sided, transverse or unknown primary site (outside BREAKWATER), or
    disease resectable when it started, or resectable now without a documented conversion."""
    return anti_egfr_recorded(ctx) and any(r.critical for r in anti_egfr_reasons(ctx))


@predicate
def anti_egfr_other_reasons(ctx: PatientContext) -> bool:
    """A recorded or considered anti-EGFR antibody also meets reasons that are not safety
    conflicts (BRAF unknown, sidedness unknown, dMMR, setting not recorded ...)."""
    return any(not r.critical for r in anti_egfr_reasons(ctx))


@predicate
def bevacizumab_recorded(ctx: PatientContext) -> bool:
    """Bevacizumab is recorded."""
    return Agent.BEVACIZUMAB in _agents(ctx)


@predicate
def anti_egfr_in_resectable(ctx: PatientContext) -> bool:
    """A recorded anti-EGFR antibody was started in disease already assessed (or, without an MDT
    assessment before it, read from the criteria) as resectable, or is given in disease resectable
    now without a documented conversion."""
    return ctx.anti_egfr_setting in (
        AntiEgfrSetting.INITIALLY_RESECTABLE,
        AntiEgfrSetting.CRITERIA_RESECTABLE,
        AntiEgfrSetting.RESECTABLE_NO_BASELINE,
    )


@predicate
def anti_egfr_setting_undocumented(ctx: PatientContext) -> bool:
    """A recorded anti-EGFR antibody is in resectable disease and no MDT assessment before its first
    dose records the disease as resectable or not: read from the criteria, or from a later assessment."""
    return ctx.anti_egfr_setting in (
        AntiEgfrSetting.CRITERIA_RESECTABLE,
        AntiEgfrSetting.RESECTABLE_NO_BASELINE,
    )


@predicate
def anti_egfr_converted(ctx: PatientContext) -> bool:
    """An anti-EGFR antibody was started while the MDT assessed the disease as not resectable, and
    a later assessment calls it resectable: the disease was converted on it (001 continues the same
    chemotherapy; New EPOC differs)."""
    return ctx.anti_egfr_setting is AntiEgfrSetting.CONVERTED


@predicate
def anti_egfr_decision_relevant(ctx: PatientContext) -> bool:
    """Anti-EGFR is recorded, or a biologic is being chosen (disease not resectable)."""
    return anti_egfr_recorded(ctx) or not_resectable(ctx)


# --- Systemic therapy course ------------------------------------------------------------------


@predicate
def oxaliplatin_failure(ctx: PatientContext) -> bool:
    """Liver metastases or progression within the failure window after oxaliplatin (001)."""
    return ctx.oxaliplatin.failure is True


@predicate
def no_oxaliplatin_failure(ctx: PatientContext) -> bool:
    """Oxaliplatin failure is excluded by the recorded data."""
    return ctx.oxaliplatin.failure is False


@predicate
def oxaliplatin_failure_unknown(ctx: PatientContext) -> bool:
    """Oxaliplatin failure can be neither established nor excluded: oxaliplatin is recorded without
    usable dates, or records whose drug is unknown may be oxaliplatin within the window."""
    return ctx.oxaliplatin.failure is None


@predicate
def oxaliplatin_dates_unknown(ctx: PatientContext) -> bool:
    """Oxaliplatin is recorded but its dates (or the detection date) cannot exclude failure."""
    return ctx.oxaliplatin.failure is None and ctx.oxaliplatin.dates_unknown


@predicate
def oxaliplatin_drugs_unidentified(ctx: PatientContext) -> bool:
    """Medication records whose drug is unknown (or could not be read) may be oxaliplatin within the
    failure window, so failure cannot be excluded."""
    return ctx.oxaliplatin.failure is None and bool(ctx.oxaliplatin.unidentified)


@predicate
def oxaliplatin_not_excluded(ctx: PatientContext) -> bool:
    """Oxaliplatin failure is established or cannot be excluded."""
    return ctx.oxaliplatin.failure is not False


@predicate
def no_oxaliplatin_recorded(ctx: PatientContext) -> bool:
    """No oxaliplatin exposure is recorded at all."""
    return Agent.OXALIPLATIN not in _agents(ctx)


@predicate
def oxaliplatin_failure_by_progression(ctx: PatientContext) -> bool:
    """Oxaliplatin failure rests on progression during oxaliplatin or within the on-chemotherapy
    window after it (the service's extension of 001's "failed adjuvant oxaliplatin")."""
    return ctx.oxaliplatin.failure is True and ctx.oxaliplatin.by_progression


@predicate
def oxaliplatin_after_failure(ctx: PatientContext) -> bool:
    """Oxaliplatin is recorded again after an established oxaliplatin failure."""
    return ctx.oxaliplatin.failure is True and ctx.oxaliplatin.rechallenged


@predicate
def oxaliplatin_after_adjuvant_failure(ctx: PatientContext) -> bool:
    """Oxaliplatin is recorded again after 001's own failure: liver metastases (or their recurrence)
    within the window after adjuvant oxaliplatin, not the service's progression extension."""
    return oxaliplatin_after_failure(ctx) and not ctx.oxaliplatin.by_progression


@predicate
def oxaliplatin_progression_after_break(ctx: PatientContext) -> bool:
    """Progression came within the failure window after oxaliplatin but after a break beyond the
    on-chemotherapy window: not counted as failure; prior oxaliplatin for the MDT to weigh."""
    return ctx.oxaliplatin.after_break


@predicate
def oxaliplatin_reintroduced(ctx: PatientContext) -> bool:
    """Oxaliplatin is recorded again after a progression that came after a break from it."""
    return ctx.oxaliplatin.after_break and ctx.oxaliplatin.rechallenged


@predicate
def progression(ctx: PatientContext) -> bool:
    """Progression of the liver disease is the latest recorded disease status."""
    liver = ctx.facts.liver_metastases
    status = None if liver is None else liver.disease_status
    return status is not None and status.value is DiseaseStatus.PROGRESSION


@predicate
def progression_on_chemotherapy(ctx: PatientContext) -> bool:
    """Progression recorded during systemic therapy, or at the restaging that follows its last dose.

    "During" ends one reassessment window after the last recorded dose (001 restages every 2 months);
    progression years after chemotherapy ended is recurrence, not progression on chemotherapy. When
    a date is missing the card errs towards the warning.
    """
    liver = ctx.facts.liver_metastases
    status = None if liver is None else liver.disease_status
    if status is None or status.value is not DiseaseStatus.PROGRESSION:
        return False
    window = timedelta(days=ctx.threshold("progression_on_chemotherapy_window_days"))
    for therapy in ctx.facts.therapies:
        last = therapy.last_date
        if status.effective is None or therapy.start is None or last is None:
            return True
        if therapy.start <= status.effective <= last + window:
            return True
    return False


def _status(ctx: PatientContext) -> DiseaseStatus | None:
    liver = ctx.facts.liver_metastases
    return None if liver is None or liver.disease_status is None else liver.disease_status.value


@predicate
def radiological_response_before_surgery(ctx: PatientContext) -> bool:
    """Liver not yet treated, responding, and surgery not ruled out: the window in which lesions
    may disappear (001)."""
    return (
        liver_untreated(ctx)
        and _status(ctx) is DiseaseStatus.RESPONSE
        and (curative_path(ctx) or resectability_unknown(ctx))
    )


@predicate
def complete_response_achieved(ctx: PatientContext) -> bool:
    """The liver metastases, not yet resected or ablated, are recorded as no longer detected."""
    return liver_untreated(ctx) and _status(ctx) is DiseaseStatus.COMPLETE_RESPONSE


@predicate
def perioperative_course_complete(ctx: PatientContext) -> bool:
    """The chemotherapy given for the treated liver metastases, before and after their treatment,
    reaches 001's total (read as weeks of cycles, the service's reading)."""
    course = ctx.course
    return course is not None and course.weeks >= ctx.threshold("perioperative_total_weeks")


@predicate
def cycles_over_limit(ctx: PatientContext) -> bool:
    """More pre-hepatectomy cycles than the prognostic threshold (002: more than 8)."""
    count = ctx.cycles.count
    return count is not None and count > ctx.int_threshold("prehepatectomy_cycles_over")


# --- Prognosis and data -----------------------------------------------------------------------


@predicate
def fong_complete(ctx: PatientContext) -> bool:
    """All five Fong score inputs are known."""
    return ctx.fong.score is not None


@predicate
def fong_incomplete(ctx: PatientContext) -> bool:
    """At least one Fong score input is missing."""
    return ctx.fong.score is None


@predicate
def cea_unknown(ctx: PatientContext) -> bool:
    """No CEA value is recorded."""
    return ctx.facts.cea_ng_ml is None


@predicate
def n_category_unknown(ctx: PatientContext) -> bool:
    """The N category of the primary is not recorded."""
    return n_number(ctx.facts) is None


@predicate
def t_category_unknown(ctx: PatientContext) -> bool:
    """The T category of the primary is not recorded."""
    return t_number(ctx.facts) is None


@predicate
def orderable_tests_missing(ctx: PatientContext) -> bool:
    """A test the missing-data card can order is missing or conflicting (RAS, BRAF, MMR/MSI, CEA)."""
    return (
        ras_unknown(ctx) or braf_unknown(ctx) or mmr_unknown(ctx) or cea_unknown(ctx) or bool(ctx.conflicts)
    )


@predicate
def appendix_primary(ctx: PatientContext) -> bool:
    """The primary is recorded in the appendix."""
    primary = ctx.facts.primary
    return primary is not None and primary.site is not None and primary.site.value is PrimarySite.APPENDIX


@predicate
def rectosigmoid_height_unknown(ctx: PatientContext) -> bool:
    """Rectosigmoid primary without a distance from the anal verge: the colon rules are applied."""
    primary = ctx.facts.primary
    return (
        primary is not None
        and primary.site is not None
        and primary.site.value is PrimarySite.RECTOSIGMOID
        and primary.anal_verge_distance_cm is None
    )


@predicate
def primary_site_unknown(ctx: PatientContext) -> bool:
    """The sub-site of the primary is not recorded (sidedness unknown)."""
    return ctx.sidedness is Sidedness.UNKNOWN


@predicate
def largest_unknown(ctx: PatientContext) -> bool:
    """The largest lesion diameter is not recorded."""
    return _largest(ctx) is None


@predicate
def bilobar_unknown(ctx: PatientContext) -> bool:
    """Lobar distribution of the lesions is not recorded."""
    liver = ctx.facts.liver_metastases
    return liver is None or liver.bilobar is None

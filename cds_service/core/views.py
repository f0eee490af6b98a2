"""How the context is shown: facts used (with their FHIR sources), text placeholders and the
derived facts listed for ``--explain``.

Rules name fact views in ``facts = [...]`` and use placeholders such as ``{flr_required_pct}`` in
their text; both registries are checked by ``load_knowledge``. Nothing here decides anything: it
only turns context values into display text, with "not recorded" for unknowns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from enum import Enum
from typing import Any

from cds_service.core.context import (
    ANTI_EGFR_AGENTS,
    BrafClass,
    GeneStatus,
    PatientContext,
    PsClass,
    ResectabilityBasis,
    TimingCategory,
    mdt_assessments,
    possible_oxaliplatin,
    timing_label,
)
from cds_service.core.facts import Agent, Fact, HepatectomyComplexity, RecordKind, Symptom
from cds_service.core.policy import TIMING_SHORT_LABELS, TimingDefinition
from cds_service.core.predicates import anti_egfr_reasons, primary_in_place
from cds_service.core.recommendations import FactUsed

NOT_RECORDED = "not recorded"
#: What a record that could not be read would have been, in words.
RECORD_KINDS: dict[RecordKind, str] = {
    RecordKind.COLORECTAL_PRIMARY: "colorectal primary",
    RecordKind.LIVER_METASTASES: "liver metastases",
    RecordKind.EXTRAHEPATIC_METASTASIS: "extrahepatic metastasis",
    RecordKind.OTHER_PRIMARY_CANCER: "other primary cancer",
    RecordKind.PRIMARY_COMPLICATION: "complication of the primary",
    RecordKind.CIRRHOSIS: "cirrhosis",
    RecordKind.SYSTEMIC_THERAPY: "systemic therapy",
}
#: Most records of unknown drug listed one by one on a card; the rest are counted.
MAX_RECORD_ROWS = 5

FactView = Callable[[PatientContext], tuple[FactUsed, ...]]
Placeholder = Callable[[PatientContext], str]

#: Fact views by name, as rules list them in ``facts``.
FACT_VIEWS: dict[str, FactView] = {}
#: Placeholder values by name, as rules use them in ``{name}`` fields.
PLACEHOLDERS: dict[str, Placeholder] = {}


def fact_view(function: FactView) -> FactView:
    """Register a fact view under its name without the ``view_`` prefix."""
    FACT_VIEWS[function.__name__.removeprefix("view_")] = function
    return function


def placeholder(function: Placeholder) -> Placeholder:
    """Register a placeholder under its name without the ``text_`` prefix."""
    PLACEHOLDERS[function.__name__.removeprefix("text_")] = function
    return function


def display(value: Any) -> str:
    """Display text for a fact value.

    >>> display(2.50)
    '2.5'
    """
    if value is None:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, frozenset):
        return ", ".join(sorted(display(v) for v in value)) or "none"
    return str(value)


def _join_notes(*notes: str | None) -> str | None:
    kept = [n for n in notes if n]
    return "; ".join(kept) if kept else None


def used(
    label: str,
    fact: Fact[Any] | None,
    *,
    text: str | None = None,
    note: str | None = None,
    missing_note: str | None = None,
) -> FactUsed:
    """A fact used, with its sources, or "not recorded" (with ``missing_note``) when unknown."""
    if fact is None:
        return FactUsed(label, NOT_RECORDED, note=missing_note)
    return FactUsed(
        label,
        text if text is not None else display(fact.value),
        fact.sources,
        fact.effective,
        _join_notes(fact.note, note),
    )


def derived(label: str, value: str, sources: tuple[str, ...] = (), note: str | None = None) -> FactUsed:
    """A derived fact; ``sources`` are the resources it was derived from."""
    return FactUsed(label, value, tuple(dict.fromkeys(sources)), None, _join_notes("derived", note))


def _srcs(*facts: Fact[Any] | None) -> tuple[str, ...]:
    return tuple(s for f in facts if f is not None for s in f.sources)


#: Most references listed for one fact; longer lists (a course of administrations) keep the first
#: and the last ones and say how many there are.
MAX_REFERENCES = 3


def few(sources: tuple[str, ...], note: str | None = None) -> tuple[tuple[str, ...], str | None]:
    """At most :data:`MAX_REFERENCES` references, with a note saying how many were left out.

    >>> few(("a", "b", "c", "d", "e"))
    (('a', 'b', 'e'), '5 records; the first two and the last are referenced')
    """
    unique = tuple(dict.fromkeys(sources))
    if len(unique) <= MAX_REFERENCES:
        return unique, note
    kept = (*unique[: MAX_REFERENCES - 1], unique[-1])
    count = f"{len(unique)} records; the first two and the last are referenced"
    return kept, _join_notes(note, count)


# --- Fact views -----------------------------------------------------------------------------


@fact_view
def view_primary(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """The colorectal primary and its site."""
    primary = ctx.facts.primary
    if primary is None:
        return ()
    site = primary.site
    return (
        used("Colorectal primary", primary.condition, text="confirmed", note=primary.condition.value),
        used("Primary site", site, note=str(ctx.sidedness.value), missing_note="sidedness unknown"),
    )


@fact_view
def view_liver_metastases(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """The liver metastases condition."""
    liver = ctx.facts.liver_metastases
    if liver is None:
        return ()
    return (used("Liver metastases", liver.condition, text="confirmed", note=liver.condition.value),)


@fact_view
def view_scope(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """The two conditions that decide scope: read and confirmed, or not found."""
    primary, liver = ctx.facts.primary, ctx.facts.liver_metastases
    return (
        used(
            "Colorectal primary",
            primary.condition if primary else None,
            text="confirmed",
            missing_note="no readable confirmed record",
        ),
        used(
            "Liver metastases",
            liver.condition if liver else None,
            text="confirmed",
            missing_note="no readable confirmed record",
        ),
    )


@fact_view
def view_unreadable_records(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Records recognised by their code but not read because they are not valid FHIR R4."""
    return tuple(
        FactUsed("Record not read", RECORD_KINDS[fact.value], fact.sources, None, fact.note)
        for fact in ctx.facts.unreadable
    )


@fact_view
def view_unidentified_medications(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """The medication records of unknown drug that keep oxaliplatin failure open, one per row."""
    named = set(ctx.oxaliplatin.unidentified)
    records = [r for r in possible_oxaliplatin(ctx.facts) if set(r.sources) & named]
    rows = [
        FactUsed(
            "Medication record, drug unknown",
            f"{RECORD_KINDS[r.value]} record not read" if isinstance(r.value, RecordKind) else str(r.value),
            r.sources,
            r.effective,
            r.note,
        )
        for r in records[:MAX_RECORD_ROWS]
    ]
    if len(records) > MAX_RECORD_ROWS:
        rest = records[MAX_RECORD_ROWS:]
        sources, note = few(tuple(s for r in rest for s in r.sources))
        rows.append(FactUsed("Medication records, drug unknown", f"{len(rest)} more", sources, None, note))
    return tuple(rows)


@fact_view
def view_sidedness(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Sidedness derived from the primary site."""
    primary = ctx.facts.primary
    site = None if primary is None else primary.site
    return (derived("Sidedness", str(ctx.sidedness.value), _srcs(site)),)


@fact_view
def view_timing(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Timing under the policy's definition, with the dates it came from."""
    primary, liver = ctx.facts.primary, ctx.facts.liver_metastases
    sources = _srcs(
        primary.diagnosed if primary else None,
        primary.resected if primary else None,
        liver.detected if liver else None,
    )
    return (
        derived(
            "Timing",
            text_timing_label(ctx),
            sources,
            f"{timing_label(ctx.timing.definition)}: {ctx.timing.detail}",
        ),
    )


@fact_view
def view_dates(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Diagnosis of the primary, detection of the liver metastases and primary resection."""
    primary, liver = ctx.facts.primary, ctx.facts.liver_metastases
    return (
        used("Primary diagnosed", primary.diagnosed if primary else None),
        used("Liver metastases detected", liver.detected if liver else None),
        used(
            "Primary resection",
            primary.resected if primary else None,
            missing_note="none recorded: the primary is assumed to be in place",
        ),
    )


@fact_view
def view_primary_resection(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Whether a resection of the primary is recorded."""
    primary = ctx.facts.primary
    return (
        used(
            "Primary resection",
            primary.resected if primary else None,
            missing_note="none recorded: the primary is assumed to be in place",
        ),
    )


@fact_view
def view_symptoms(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Symptoms of the primary."""
    primary = ctx.facts.primary
    fact = primary.symptoms if primary else None
    text = None
    if fact is not None and not fact.value:
        text = "none (recorded as asymptomatic)"
    return (
        used(
            "Symptoms of the primary",
            fact,
            text=text,
            missing_note="nothing recorded: assumed asymptomatic, to be confirmed",
        ),
    )


@fact_view
def view_rectal_level(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Distance of the rectal tumour from the anal verge."""
    primary = ctx.facts.primary
    fact = primary.anal_verge_distance_cm if primary else None
    note = None
    if ctx.upper_rectal is not None:
        note = "upper rectum" if ctx.upper_rectal else "mid or low rectum"
    return (used("Distance from the anal verge (cm)", fact, note=note),)


@fact_view
def view_stage(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """T and N categories of the primary."""
    primary = ctx.facts.primary
    return (
        used("T category", primary.t_category if primary else None),
        used("N category", primary.n_category if primary else None),
    )


@fact_view
def view_primary_response(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Clinical complete response of the primary."""
    primary = ctx.facts.primary
    return (
        used("Clinical complete response of the primary", primary.complete_response if primary else None),
    )


@fact_view
def view_pelvic_radiotherapy(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Pelvic radiotherapy already given."""
    primary = ctx.facts.primary
    return (
        used(
            "Pelvic radiotherapy",
            primary.pelvic_radiotherapy if primary else None,
            missing_note="none recorded",
        ),
    )


@fact_view
def view_declines_chemotherapy(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Whether the patient declines chemotherapy before resection of the primary."""
    return (used("Declines chemotherapy before primary resection", ctx.facts.declines_chemotherapy_first),)


@fact_view
def view_ras(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Extended RAS status (KRAS and NRAS)."""
    molecular = ctx.facts.molecular
    note = ctx.ras_detail
    if ctx.conflicts & {"kras", "nras"}:
        note += "; conflicting results are treated as unknown"
    sources = _srcs(molecular.kras, molecular.nras, molecular.ras_unspecified)
    return (derived("Extended RAS status", str(ctx.ras.value), sources, note),)


@fact_view
def view_braf(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """BRAF status."""
    note = "conflicting results are treated as unknown" if "braf" in ctx.conflicts else None
    return (derived("BRAF status", str(ctx.braf.value), _srcs(ctx.facts.molecular.braf), note),)


@fact_view
def view_mmr(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """MMR/MSI status."""
    note = "conflicting results are treated as unknown" if "mmr" in ctx.conflicts else None
    return (derived("MMR/MSI status", str(ctx.mmr.value), _srcs(ctx.facts.molecular.mmr), note),)


@fact_view
def view_tp53(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """TP53 status."""
    return (derived("TP53 status", str(ctx.tp53.value), _srcs(ctx.facts.molecular.tp53)),)


@fact_view
def view_ecog(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """ECOG performance status and its class."""
    return (used("ECOG performance status", ctx.facts.ecog, note=f"{ctx.ps.value} performance status"),)


@fact_view
def view_cea(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Latest CEA."""
    return (used("CEA (ng/mL)", ctx.facts.cea_ng_ml),)


@fact_view
def view_lesions(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Number and largest diameter of the liver lesions."""
    liver = ctx.facts.liver_metastases
    return (
        used("Number of liver lesions", liver.lesion_count if liver else None),
        used("Largest lesion diameter (cm)", liver.largest_diameter_cm if liver else None),
    )


@fact_view
def view_bilobar(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Lobar distribution."""
    liver = ctx.facts.liver_metastases
    return (used("Bilobar distribution", liver.bilobar if liver else None),)


@fact_view
def view_flr(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Planned future liver remnant and the required minimum."""
    liver = ctx.facts.liver_metastases
    return (
        used("Future liver remnant (%)", liver.future_liver_remnant_pct if liver else None),
        derived(
            "Required future liver remnant",
            ctx.flr.text,
            _srcs(ctx.facts.cirrhosis),
            "; ".join((ctx.flr.basis, *ctx.flr.assumptions)),
        ),
    )


@fact_view
def view_cirrhosis(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Cirrhosis or chronic liver disease."""
    return (used("Cirrhosis", ctx.facts.cirrhosis, missing_note="nothing recorded: normal liver assumed"),)


@fact_view
def view_complexity(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Planned hepatectomy complexity."""
    liver = ctx.facts.liver_metastases
    return (used("Planned hepatectomy complexity", liver.planned_complexity if liver else None),)


@fact_view
def view_resectability(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Resectability and where it came from."""
    result = ctx.resectability
    value = display(result.value) if result.value is not None else "undetermined"
    note = "; ".join((str(result.basis.value), *result.reasons))
    if result.basis is ResectabilityBasis.MDT:
        return (FactUsed("Resectability", value, result.sources, None, note),)
    return (derived("Resectability", value, result.sources, note),)


@fact_view
def view_disease_status(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Latest disease status under treatment."""
    liver = ctx.facts.liver_metastases
    return (used("Disease status", liver.disease_status if liver else None),)


@fact_view
def view_extrahepatic(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Extrahepatic sites, or their recorded absence."""
    if ctx.facts.extrahepatic:
        return tuple(used("Extrahepatic metastasis", fact) for fact in ctx.facts.extrahepatic)
    return (
        used(
            "Extrahepatic disease",
            ctx.facts.extrahepatic_absent,
            text="none (recorded)",
            missing_note="nothing recorded: liver-only disease assumed, to be confirmed by staging",
        ),
    )


@fact_view
def view_oxaliplatin(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Oxaliplatin exposure and failure."""
    result = ctx.oxaliplatin
    value = {True: "failure within the window", False: "no failure", None: "undetermined"}[result.failure]
    sources, note = few(result.sources, result.detail)
    return (derived("Oxaliplatin failure", value, sources, note),)


@fact_view
def view_anti_egfr(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Recorded anti-EGFR antibodies, one line per agent (first dose and its setting)."""
    exposures = [t for t in ctx.facts.therapies if t.agent in ANTI_EGFR_AGENTS]
    lines: list[FactUsed] = []
    for agent in sorted({t.agent for t in exposures}):
        given = [t for t in exposures if t.agent is agent]
        starts = sorted(t.start for t in given if t.start is not None)
        sources, note = few(tuple(s for t in given for s in t.sources), str(ctx.anti_egfr_setting.value))
        display_name = next((t.display for t in given if t.display), str(agent.value))
        lines.append(
            FactUsed(
                "Anti-EGFR antibody recorded", display_name, sources, starts[0] if starts else None, note
            )
        )
    return tuple(lines)


@fact_view
def view_cycles(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Pre-hepatectomy chemotherapy cycles."""
    count = ctx.cycles.count
    sources, note = few(ctx.cycles.sources, ctx.cycles.detail)
    return (derived("Pre-hepatectomy cycles", display(count), sources, note),)


@fact_view
def view_systemic_course(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Systemic therapy for the liver metastases: when it began and how many cycles so far."""
    start = ctx.liver_systemic_start
    value = "none recorded" if start is None else f"since {start.isoformat()}"
    sources, note = few(ctx.cycles.sources, ctx.cycles.detail)
    return (derived("Systemic therapy for the liver metastases", value, sources, note),)


@fact_view
def view_mdt(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """The recorded MDT resectability assessments: the earlier ones (the one before systemic therapy
    marked), then the latest, whether or not it is current."""
    liver = ctx.facts.liver_metastases
    fact = liver.mdt_resectability if liver else None
    stale = (
        "out of date" if fact is not None and ctx.resectability.basis is not ResectabilityBasis.MDT else None
    )
    baseline_note = "before systemic therapy for the liver metastases"
    earlier = tuple(
        used(
            "Earlier MDT resectability assessment",
            assessment,
            note=baseline_note if assessment == ctx.mdt_baseline else None,
        )
        for assessment in mdt_assessments(ctx.facts)
        if assessment != fact
    )
    return (*earlier, used("MDT resectability assessment", fact, note=stale, missing_note="none recorded"))


@fact_view
def view_liver_procedures(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Prior liver resections, ablations and portal vein embolisations."""
    return tuple(
        FactUsed(
            "Liver procedure",
            p.kind + (f", margin {p.margin.value}" if p.margin else ""),
            p.sources + (p.margin.sources if p.margin else ()),
            p.performed,
        )
        for p in ctx.facts.liver_procedures
    )


@fact_view
def view_other_primaries(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Other primary cancers recorded."""
    return tuple(used("Other primary cancer", fact) for fact in ctx.facts.other_primary_cancers)


@fact_view
def view_fong(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Fong clinical risk score and its inputs."""
    return (derived("Fong clinical risk score", text_fong_score(ctx), (), text_fong_points(ctx)),)


@fact_view
def view_data_conflicts(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """Conflicting results noted by the mapping."""
    return tuple(
        FactUsed("Conflicting results", note.message, note.sources)
        for note in ctx.facts.data_notes
        if note.kind == "conflict"
    )


# --- Placeholders ---------------------------------------------------------------------------


def _category_text(category: TimingCategory | None) -> str:
    return "undetermined" if category is None else str(category.value)


@placeholder
def text_timing_label(ctx: PatientContext) -> str:
    """Timing under the policy's definition."""
    return _category_text(ctx.timing.category)


@placeholder
def text_timing_definition(ctx: PatientContext) -> str:
    """Label of the definition in use."""
    return timing_label(ctx.timing.definition)


@placeholder
def text_timing_definition_short(ctx: PatientContext) -> str:
    """Short name of the definition in use."""
    return TIMING_SHORT_LABELS[ctx.timing.definition]


@placeholder
def text_timing_detail(ctx: PatientContext) -> str:
    """The dates behind the timing."""
    return ctx.timing.detail


def _timing_under(ctx: PatientContext, definition: TimingDefinition) -> str:
    result = next(t for t in ctx.timing_all if t.definition is definition)
    return _category_text(result.category)


@placeholder
def text_timing_adam(ctx: PatientContext) -> str:
    """Timing under Adam 2015."""
    return _timing_under(ctx, TimingDefinition.ADAM_2015)


@placeholder
def text_timing_eahpba(ctx: PatientContext) -> str:
    """Timing under E-AHPBA 2023."""
    return _timing_under(ctx, TimingDefinition.E_AHPBA_2023)


@placeholder
def text_timing_maki(ctx: PatientContext) -> str:
    """Timing under Maki 2023."""
    return _timing_under(ctx, TimingDefinition.MAKI_2023)


@placeholder
def text_sidedness(ctx: PatientContext) -> str:
    """Sidedness."""
    return str(ctx.sidedness.value)


@placeholder
def text_ras_detail(ctx: PatientContext) -> str:
    """How the RAS status was derived."""
    return ctx.ras_detail


@placeholder
def text_braf(ctx: PatientContext) -> str:
    """BRAF status."""
    return str(ctx.braf.value)


@placeholder
def text_ecog(ctx: PatientContext) -> str:
    """ECOG value."""
    return display(ctx.facts.ecog.value if ctx.facts.ecog else None)


@placeholder
def text_lesion_count(ctx: PatientContext) -> str:
    """Number of liver lesions."""
    liver = ctx.facts.liver_metastases
    return display(liver.lesion_count.value if liver and liver.lesion_count else None)


@placeholder
def text_largest_cm(ctx: PatientContext) -> str:
    """Largest lesion diameter."""
    liver = ctx.facts.liver_metastases
    return display(liver.largest_diameter_cm.value if liver and liver.largest_diameter_cm else None)


@placeholder
def text_flr_pct(ctx: PatientContext) -> str:
    """Planned future liver remnant."""
    liver = ctx.facts.liver_metastases
    return display(liver.future_liver_remnant_pct.value if liver and liver.future_liver_remnant_pct else None)


@placeholder
def text_flr_required_pct(ctx: PatientContext) -> str:
    """Required future liver remnant."""
    return f"{ctx.flr.required_pct:g}"


@placeholder
def text_flr_required(ctx: PatientContext) -> str:
    """The required future liver remnant in words ("at least 20%", "more than 40%")."""
    return ctx.flr.text


@placeholder
def text_flr_required_sign(ctx: PatientContext) -> str:
    """The required future liver remnant with its comparison sign ("≥20%", ">40%")."""
    return f"{'>' if ctx.flr.exclusive else '≥'}{ctx.flr.required_pct:g}%"


@placeholder
def text_flr_basis(ctx: PatientContext) -> str:
    """Basis of the required future liver remnant, with its assumptions."""
    return "; ".join((ctx.flr.basis, *ctx.flr.assumptions))


@placeholder
def text_cycles(ctx: PatientContext) -> str:
    """Pre-hepatectomy cycles."""
    return display(ctx.cycles.count)


@placeholder
def text_cycles_detail(ctx: PatientContext) -> str:
    """How the cycles were counted."""
    return ctx.cycles.detail


@placeholder
def text_oxaliplatin_detail(ctx: PatientContext) -> str:
    """The oxaliplatin dates behind the failure status."""
    return ctx.oxaliplatin.detail


@placeholder
def text_scope_status(ctx: PatientContext) -> str:
    """Which of the two scope conditions was read, and which was recognised only in records that
    could not be read (no references here: the facts used list them)."""
    facts = ctx.facts
    unreadable = {fact.value for fact in facts.unreadable}
    parts: list[str] = []
    for present, kind, name, read in (
        (facts.primary is not None, RecordKind.COLORECTAL_PRIMARY, "a colorectal primary", "was"),
        (facts.liver_metastases is not None, RecordKind.LIVER_METASTASES, "liver metastases", "were"),
    ):
        if present:
            parts.append(f"confirmed {name.removeprefix('a ')} {read} read")
        elif kind in unreadable:
            parts.append(f"a record of {name} could not be read because it is not valid FHIR R4")
        else:
            parts.append(f"no record of {name} was found")
    return "; ".join(parts)


@placeholder
def text_fong_score(ctx: PatientContext) -> str:
    """Fong score with its group, or what is missing."""
    score = ctx.fong.score
    if score is None:
        return "incomplete (" + ", ".join(ctx.fong.missing) + " unknown)"
    group = "high risk" if score >= ctx.int_threshold("fong_high_risk_min") else "low risk"
    return f"{score} of 5 ({group})"


@placeholder
def text_fong_points(ctx: PatientContext) -> str:
    """Each Fong criterion with its value."""
    return "; ".join(
        f"{name}: {'unknown' if value is None else ('yes' if value else 'no')}"
        for name, value in ctx.fong.points
    )


@placeholder
def text_fong_missing(ctx: PatientContext) -> str:
    """Missing Fong criteria."""
    return ", ".join(ctx.fong.missing) or "none"


@placeholder
def text_fong_missing_count(ctx: PatientContext) -> str:
    """How many Fong criteria are missing."""
    return str(len(ctx.fong.missing))


@placeholder
def text_disease_status(ctx: PatientContext) -> str:
    """Latest disease status under treatment."""
    liver = ctx.facts.liver_metastases
    return display(liver.disease_status.value if liver and liver.disease_status else None)


@placeholder
def text_anti_egfr_reasons(ctx: PatientContext) -> str:
    """Why anti-EGFR is not indicated."""
    return "; ".join(r.text for r in anti_egfr_reasons(ctx)) or "none"


@placeholder
def text_anti_egfr_reasons_short(ctx: PatientContext) -> str:
    """The first two reasons against anti-EGFR in a few words, for a summary."""
    shorts = [r.short for r in anti_egfr_reasons(ctx)]
    more = f" (+{len(shorts) - 2})" if len(shorts) > 2 else ""
    return ", ".join(shorts[:2]) + more if shorts else "none"


@placeholder
def text_anti_egfr_critical_reasons(ctx: PatientContext) -> str:
    """The reasons that make a recorded anti-EGFR antibody a safety conflict."""
    return "; ".join(r.text for r in anti_egfr_reasons(ctx) if r.critical) or "none"


@placeholder
def text_anti_egfr_critical_short(ctx: PatientContext) -> str:
    """The first two safety-conflict reasons in a few words, for a summary."""
    shorts = [r.short for r in anti_egfr_reasons(ctx) if r.critical]
    more = f" (+{len(shorts) - 2})" if len(shorts) > 2 else ""
    return ", ".join(shorts[:2]) + more if shorts else "none"


@placeholder
def text_anti_egfr_other_reasons(ctx: PatientContext) -> str:
    """The reasons against anti-EGFR that are not safety conflicts."""
    return "; ".join(r.text for r in anti_egfr_reasons(ctx) if not r.critical) or "none"


@placeholder
def text_anti_egfr_setting(ctx: PatientContext) -> str:
    """When the recorded anti-EGFR antibody started, relative to the MDT assessment."""
    return str(ctx.anti_egfr_setting.value)


@placeholder
def text_mutations(ctx: PatientContext) -> str:
    """Only the mutant genes, for a regimen card about RAS/BRAF-mutant tumours."""
    found: list[str] = []
    if ctx.ras is GeneStatus.MUTANT:
        found.append(f"RAS mutant ({ctx.ras_detail})")
    if ctx.braf in (BrafClass.V600E, BrafClass.OTHER):
        found.append(str(ctx.braf.value))
    return "; ".join(found) or "none"


@placeholder
def text_anti_egfr_agents(ctx: PatientContext) -> str:
    """Recorded anti-EGFR agents."""
    agents = sorted({str(t.agent.value) for t in ctx.facts.therapies if t.agent in ANTI_EGFR_AGENTS})
    return ", ".join(agents) or "none"


@placeholder
def text_anti_egfr_harm(ctx: PatientContext) -> str:
    """The biomarker that makes a recorded anti-EGFR harmful."""
    if ctx.ras is GeneStatus.MUTANT:
        return f"a RAS mutation ({ctx.ras_detail})"
    return "BRAF V600E without encorafenib"


@placeholder
def text_resectability(ctx: PatientContext) -> str:
    """Resectability value."""
    value = ctx.resectability.value
    return "undetermined" if value is None else str(value.value)


@placeholder
def text_resectability_basis(ctx: PatientContext) -> str:
    """Where resectability came from."""
    return str(ctx.resectability.basis.value)


@placeholder
def text_resectability_reasons(ctx: PatientContext) -> str:
    """The reasons behind the resectability."""
    return "; ".join(ctx.resectability.reasons) or "none recorded"


@placeholder
def text_resectability_missing(ctx: PatientContext) -> str:
    """Data missing to apply the criteria."""
    return ", ".join(ctx.resectability.missing) or "MDT assessment"


@placeholder
def text_resectability_open(ctx: PatientContext) -> str:
    """Why the criteria do not decide resectability: reasons, then the data missing."""
    result = ctx.resectability
    parts = list(result.reasons)
    data = [m for m in result.missing if m != "MDT assessment"]
    if data:
        parts.append("not recorded: " + ", ".join(data))
    return "; ".join(parts) or "no MDT assessment and no criteria applicable"


@placeholder
def text_mdt_assessment(ctx: PatientContext) -> str:
    """The recorded MDT assessment with its date."""
    liver = ctx.facts.liver_metastases
    fact = liver.mdt_resectability if liver else None
    if fact is None:
        return NOT_RECORDED
    when = f", {fact.effective.isoformat()}" if fact.effective else ""
    return f"{fact.value.value}{when}"


@placeholder
def text_mdt_date(ctx: PatientContext) -> str:
    """Date of the latest MDT assessment."""
    liver = ctx.facts.liver_metastases
    fact = liver.mdt_resectability if liver else None
    return fact.effective.isoformat() if fact is not None and fact.effective else "date not recorded"


@placeholder
def text_mdt_baseline(ctx: PatientContext) -> str:
    """The MDT assessment on or before the start of systemic therapy, with its date."""
    fact = ctx.mdt_baseline
    if fact is None:
        return "none recorded"
    when = f" ({fact.effective.isoformat()})" if fact.effective else ""
    return f"{fact.value.value}{when}"


@placeholder
def text_recurrence_basis(ctx: PatientContext) -> str:
    """What the recurrence after liver treatment rests on."""
    return ctx.recurrence_info.basis or "none recorded"


@placeholder
def text_course_detail(ctx: PatientContext) -> str:
    """The perioperative chemotherapy given so far."""
    course = ctx.course
    return course.detail if course is not None else "not computable"


@placeholder
def text_antibody_start(ctx: PatientContext) -> str:
    """First recorded dose of the anti-EGFR antibody."""
    return display(ctx.antibody_start)


def _agent_names(agents: set[Agent]) -> str:
    return ", ".join(sorted(str(a.value) for a in agents)) or "none recorded"


@placeholder
def text_systemic_agents(ctx: PatientContext) -> str:
    """Agents given for the liver metastases since systemic therapy for them began."""
    start = ctx.liver_systemic_start
    if start is None:
        return "none recorded"
    return _agent_names({t.agent for t in ctx.facts.therapies if t.start is not None and t.start >= start})


@placeholder
def text_progression_agents(ctx: PatientContext) -> str:
    """Agents given at the recorded progression (a dose on or before it, within the on-chemotherapy
    window)."""
    liver = ctx.facts.liver_metastases
    status = None if liver is None else liver.disease_status
    when = None if status is None else status.effective
    if when is None:
        return "date of the progression not recorded"
    window = ctx.threshold("progression_on_chemotherapy_window_days")
    agents = {
        t.agent
        for t in ctx.facts.therapies
        if t.start is not None
        and (last := t.last_date) is not None
        and t.start <= when
        and (when - last).days <= window
    }
    return _agent_names(agents)


@placeholder
def text_tests_to_order(ctx: PatientContext) -> str:
    """Which of extended RAS and BRAF testing is still needed."""
    needed = [
        name
        for name, missing in (
            ("extended RAS (KRAS and NRAS)", ctx.ras is GeneStatus.UNKNOWN),
            ("BRAF", ctx.braf is BrafClass.UNKNOWN),
        )
        if missing
    ]
    return " and ".join(needed) + " testing" if needed else "no further testing"


@placeholder
def text_measurements_outdated(ctx: PatientContext) -> str:
    """Why the lesion measurements are out of date."""
    return ctx.measurements_outdated or "current"


@placeholder
def text_systemic_start(ctx: PatientContext) -> str:
    """First systemic therapy for the liver metastases."""
    return display(ctx.liver_systemic_start)


@placeholder
def text_last_restaging(ctx: PatientContext) -> str:
    """Latest restaging of the liver disease."""
    return display(ctx.last_restaging) if ctx.last_restaging else "none recorded"


@placeholder
def text_simultaneous_grounds(ctx: PatientContext) -> str:
    """Which of 001's grounds excludes simultaneous resection."""
    grounds: list[str] = []
    if ctx.facts.ecog is not None and ctx.ps in (PsClass.LIMITED, PsClass.POOR):
        grounds.append(f"performance status not good (ECOG {ctx.facts.ecog.value})")
    liver = ctx.facts.liver_metastases
    complexity = liver.planned_complexity if liver else None
    if complexity is not None and complexity.value is HepatectomyComplexity.GRADE_III:
        grounds.append("a major (grade III) hepatectomy is planned")
    return " and ".join(grounds) or "none recorded"


@placeholder
def text_simultaneous_open(ctx: PatientContext) -> str:
    """What keeps the simultaneous-or-liver-first question open."""
    liver = ctx.facts.liver_metastases
    parts: list[str] = []
    if ctx.facts.ecog is None:
        parts.append("performance status (ECOG) not recorded")
    complexity = liver.planned_complexity if liver else None
    if complexity is None:
        parts.append("planned hepatectomy complexity not recorded")
    largest = liver.largest_diameter_cm if liver else None
    if largest is None:
        parts.append("largest lesion diameter not recorded")
    elif largest.value > ctx.threshold("simultaneous_max_diameter_cm"):
        limit = display(ctx.threshold("simultaneous_max_diameter_cm"))
        parts.append(
            f"the largest lesion ({display(largest.value)} cm) is above the service's reading of 'small' "
            f"({limit} cm), but 001 excludes simultaneous resection only for poor performance status or "
            "major surgery"
        )
    return "; ".join(parts) or "none"


@placeholder
def text_age(ctx: PatientContext) -> str:
    """Age in years."""
    return display(ctx.age)


@placeholder
def text_first_liver_treatment(ctx: PatientContext) -> str:
    """Date of the first liver resection or ablation."""
    dates = sorted(
        p.performed
        for p in ctx.facts.liver_procedures
        if p.kind in ("resection", "ablation") and p.performed is not None
    )
    return display(dates[0]) if dates else NOT_RECORDED


@placeholder
def text_detected(ctx: PatientContext) -> str:
    """Date the liver metastases were first detected."""
    liver = ctx.facts.liver_metastases
    return display(liver.detected.value if liver and liver.detected else None)


@placeholder
def text_ehd_sites(ctx: PatientContext) -> str:
    """Extrahepatic sites."""
    return ", ".join(sorted(ctx.ehd_sites)) or "none"


@placeholder
def text_symptoms(ctx: PatientContext) -> str:
    """Symptoms of the primary."""
    primary = ctx.facts.primary
    if primary is None or primary.symptoms is None:
        return NOT_RECORDED
    symptoms: frozenset[Symptom] = primary.symptoms.value
    return display(symptoms) if symptoms else "none"


@placeholder
def text_other_primaries(ctx: PatientContext) -> str:
    """Other primary cancers."""
    return ", ".join(f.value for f in ctx.facts.other_primary_cancers) or "none"


@placeholder
def text_anal_verge_cm(ctx: PatientContext) -> str:
    """Distance from the anal verge."""
    primary = ctx.facts.primary
    return display(
        primary.anal_verge_distance_cm.value if primary and primary.anal_verge_distance_cm else None
    )


@placeholder
def text_stage(ctx: PatientContext) -> str:
    """T and N categories."""
    primary = ctx.facts.primary
    t = primary.t_category.value if primary and primary.t_category else "T not recorded"
    n = primary.n_category.value if primary and primary.n_category else "N not recorded"
    return f"{t} {n}"


# --- Derived facts for the explanation ----------------------------------------------------------


def derived_facts(ctx: PatientContext) -> tuple[FactUsed, ...]:
    """The derived facts the reasoning used, for ``--explain`` (policy timing first)."""
    others = tuple(
        derived(
            f"Timing under {timing_label(t.definition)}",
            _category_text(t.category),
            (),
            t.detail,
        )
        for t in ctx.timing_all
        if t.definition is not ctx.timing.definition
    )
    reasons = [r.text for r in anti_egfr_reasons(ctx)]
    agents = {t.agent for t in ctx.facts.therapies}
    return (
        *view_timing(ctx),
        *others,
        *view_sidedness(ctx),
        derived("Rectal primary", display(ctx.rectal), (), "upper rectum" if ctx.upper_rectal else None),
        derived(
            "Primary in place",
            display(primary_in_place(ctx)),
            (),
            "no primary resection recorded" if primary_in_place(ctx) else None,
        ),
        *view_ras(ctx),
        *view_braf(ctx),
        *view_mmr(ctx),
        *view_tp53(ctx),
        derived("Performance status class", str(ctx.ps.value), _srcs(ctx.facts.ecog)),
        *view_oxaliplatin(ctx),
        *view_cycles(ctx),
        derived("Heavy preoperative chemotherapy", display(ctx.heavy_chemotherapy)),
        view_flr(ctx)[1],
        derived("Extrahepatic disease", str(ctx.ehd.value), (), text_ehd_sites(ctx)),
        *view_resectability(ctx),
        derived("Liver resection or ablation recorded", display(ctx.liver_treated)),
        derived(
            "Recurrence after liver treatment",
            display(ctx.recurrence),
            ctx.recurrence_info.sources,
            ctx.recurrence_info.basis,
        ),
        derived("MDT assessment before systemic therapy", text_mdt_baseline(ctx)),
        derived("Conversion documented", display(ctx.converted)),
        derived(
            "Anti-EGFR eligibility",
            "eligible" if not reasons else "not indicated",
            (),
            "; ".join(reasons) or None,
        ),
        derived("Encorafenib recorded", display(Agent.ENCORAFENIB in agents)),
        derived("Anti-EGFR setting", str(ctx.anti_egfr_setting.value)),
        *view_systemic_course(ctx),
        derived("Lesion measurements", ctx.measurements_outdated or "current"),
        derived("Perioperative course so far", text_course_detail(ctx)),
        derived("Restaging overdue", display(ctx.restaging_overdue), (), text_last_restaging(ctx)),
        *view_fong(ctx),
    )

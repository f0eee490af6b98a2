"""The explanation page's content, built from one evaluation; the template only lays it out.

:func:`build_page` turns what :meth:`DecisionPath.evaluate` produced (facts, decision) and the FHIR
Patient into plain view objects: the patient banner, the facts table with each fact's source and
date, each recommendation with its pathway, alternatives, warnings, missing data and citations, and
the knowledge version. It adds no clinical content: every sentence about the patient comes from the
decision core or the EHR, and all of it is escaped by Jinja when rendered.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.cards import citation_url
from cds_service.core.facts import DataNote, PatientFacts
from cds_service.core.recommendations import (
    Citation,
    Decision,
    FactUsed,
    Indicator,
    MissingItem,
    PathwayPhase,
    PhaseKind,
    Recommendation,
)
from cds_service.explain import iter_fact_rows
from cds_service.smart.errors import Conflict

INDICATOR_LABELS = {
    Indicator.INFO: ("Information", "i"),
    Indicator.WARNING: ("Warning", "!"),
    Indicator.CRITICAL: ("Critical", "!!"),
}
PHASE_LABELS = {
    PhaseKind.SYSTEMIC: "Systemic therapy",
    PhaseKind.ASSESSMENT: "Assessment",
    PhaseKind.SURGERY: "Surgery",
    PhaseKind.ABLATION: "Ablation",
    PhaseKind.RADIOTHERAPY: "Radiotherapy",
    PhaseKind.PROCEDURE: "Procedure",
    PhaseKind.DECISION: "Decision point",
}
FACT_LABELS = {
    "birth_date": "Date of birth",
    "primary.condition": "Colorectal primary (condition code)",
    "primary.site": "Primary tumour site",
    "primary.diagnosed": "Primary diagnosed",
    "primary.t_category": "T category",
    "primary.n_category": "N category",
    "primary.m_category": "M category",
    "primary.stage_group": "Stage group",
    "primary.anal_verge_distance_cm": "Distance from the anal verge (cm)",
    "primary.resected": "Primary resected",
    "primary.symptoms": "Symptoms of the primary",
    "primary.complete_response": "Clinical complete response of the primary",
    "primary.pelvic_radiotherapy": "Pelvic (chemo)radiotherapy",
    "liver_metastases.condition": "Liver metastases (condition code)",
    "liver_metastases.detected": "Liver metastases detected",
    "liver_metastases.lesion_count": "Number of liver lesions",
    "liver_metastases.largest_diameter_cm": "Largest liver lesion (cm)",
    "liver_metastases.bilobar": "Lesions in both lobes",
    "liver_metastases.future_liver_remnant_pct": "Future liver remnant (%)",
    "liver_metastases.planned_complexity": "Planned hepatectomy complexity",
    "liver_metastases.mdt_resectability": "Resectability (MDT)",
    "liver_metastases.disease_status": "Disease status under treatment",
    "liver_metastases.mdt_history": "MDT resectability assessment (history)",
    "liver_metastases.onsets": "Liver metastases recorded (each episode)",
    "molecular.ras_unspecified": "RAS (gene not named)",
    "other_primary_cancers": "Other primary cancer",
    "extrahepatic": "Extrahepatic metastasis",
    "extrahepatic_absent": "No extrahepatic disease recorded",
    "molecular.kras": "KRAS",
    "molecular.nras": "NRAS",
    "molecular.braf": "BRAF",
    "molecular.tp53": "TP53",
    "molecular.her2": "HER2",
    "molecular.mmr": "MMR / MSI",
    "cea_ng_ml": "CEA (ng/mL)",
    "ecog": "ECOG performance status",
    "cirrhosis": "Cirrhosis or chronic liver disease",
    "declines_chemotherapy_first": "Declines chemotherapy before primary resection",
    "therapies": "Systemic therapy given",
    "liver_procedures": "Liver procedure",
    "pre_hepatectomy_cycles": "Chemotherapy cycles before hepatectomy",
    "unreadable": "Record not read (not valid FHIR R4)",
    "unidentified_medications": "Medication record, drug unknown",
}
_HIDDEN_FACTS = ("patient", "data_notes")
_INDEX = re.compile(r"\[\d+\]")
_RULE_ANCHOR = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class PatientBanner:
    """Who the page is about, from the FHIR Patient resource."""

    name: str
    birth_date: str | None
    gender: str | None
    identifier: str | None
    reference: str


@dataclass(frozen=True, slots=True)
class FactView:
    """One row of a facts table."""

    label: str
    value: str
    note: str | None
    sources: tuple[str, ...]
    when: str | None


@dataclass(frozen=True, slots=True)
class CitationView:
    """A cited source with the address to open it."""

    label: str
    document: str
    section: str
    url: str
    newer: bool
    status: str | None


@dataclass(frozen=True, slots=True)
class PhaseView:
    """One step of a pathway timeline."""

    number: int
    kind: str
    label: str
    duration: str | None


@dataclass(frozen=True, slots=True)
class RecommendationView:
    """One recommendation (one card) as the page shows it."""

    anchor: str
    rule_id: str
    topic: str
    summary: str
    statement: str
    indicator: str
    indicator_label: str
    indicator_mark: str
    pathway: tuple[PhaseView, ...]
    alternatives: tuple[str, ...]
    facts_used: tuple[FactView, ...]
    missing: tuple[MissingItem, ...]
    citations: tuple[CitationView, ...]
    recommendation: Recommendation
    opened: bool


@dataclass(frozen=True, slots=True)
class MissingView:
    """A piece of missing data, once, with the recommendations it would change."""

    label: str
    why: str
    order: str | None
    needed_for: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PageModel:
    """Everything the explanation page shows."""

    banner: PatientBanner
    applicable: bool
    reason: str
    recommendations: tuple[RecommendationView, ...]
    warnings: tuple[RecommendationView, ...]
    notes: tuple[DataNote, ...]
    facts: tuple[FactView, ...]
    derived: tuple[FactView, ...]
    missing: tuple[MissingView, ...]
    sources: tuple[CitationView, ...]
    knowledge_version: str
    evaluated_on: str
    opened_rule: str | None


def rule_anchor(rule_id: str) -> str:
    """The fragment id of a recommendation's section, e.g. ``rule-crlm-detected``.

    >>> rule_anchor("seq/primary first")
    'rule-seq-primary-first'
    """
    return "rule-" + _RULE_ANCHOR.sub("-", rule_id)


def rule_from_app_context(app_context: str | None) -> str | None:
    """The rule to open first, from a link's ``appContext`` (``{"rule": "<rule id>"}``), if any.

    Anything else, including no ``appContext`` at all (Oracle Health drops it), means "none".

    >>> rule_from_app_context('{"rule": "crlm-detected"}'), rule_from_app_context("garbage")
    ('crlm-detected', None)
    """
    if not app_context or len(app_context) > 512:
        return None
    try:
        value = json.loads(app_context)
    except ValueError:
        return None
    rule = value.get("rule") if isinstance(value, dict) else None
    return rule if isinstance(rule, str) and 0 < len(rule) <= 128 and rule.isprintable() else None


def human_name(resource: dict[str, Any]) -> str:
    """The patient's display name: official, then usual, then any; text, else given and family."""
    names = [n for n in resource.get("name") or [] if isinstance(n, dict)]
    names.sort(key=lambda n: {"official": 0, "usual": 1}.get(str(n.get("use")), 2))
    for name in names:
        if isinstance(name.get("text"), str) and name["text"].strip():
            return str(name["text"]).strip()
        given = [g for g in name.get("given") or [] if isinstance(g, str)]
        family = name.get("family")
        text = " ".join([*given, family if isinstance(family, str) else ""]).strip()
        if text:
            return text
    return "Name not recorded"


def _identifier(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier") or []:
        if isinstance(identifier, dict) and isinstance(identifier.get("value"), str):
            codes = [c.get("code") for c in (identifier.get("type") or {}).get("coding") or []]
            if "MR" in codes:
                return str(identifier["value"])
    return None


def patient_banner(resource: Any, patient_id: str) -> PatientBanner:
    """The banner from the FHIR Patient, which must be the patient the token was issued for."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "Patient":
        raise Conflict(
            "SMART-409-01",
            "The patient's record could not be confirmed",
            "The EHR returned no Patient for the patient in context, so nothing is shown.",
        )
    if resource.get("id") != patient_id:
        raise Conflict(
            "SMART-409-02",
            "Patient mismatch",
            "The record the EHR returned is not the patient the EHR authorised. For safety nothing is "
            "shown. Please open the app again from the patient's chart.",
        )
    birth = resource.get("birthDate")
    gender = resource.get("gender")
    return PatientBanner(
        name=human_name(resource),
        birth_date=birth if isinstance(birth, str) else None,
        gender=gender if isinstance(gender, str) else None,
        identifier=_identifier(resource),
        reference=f"Patient/{patient_id}",
    )


def _fact_label(name: str) -> str:
    key = _INDEX.sub("", name)
    if key in FACT_LABELS:
        return FACT_LABELS[key]
    return key.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def _when(start: date | None, end: date | None = None) -> str | None:
    if start and end:
        return f"{start.isoformat()} to {end.isoformat()}"
    if start or end:
        return (start or end).isoformat()  # type: ignore[union-attr]
    return None


def _fact_rows(facts: PatientFacts) -> tuple[FactView, ...]:
    rows: list[FactView] = []
    for row in iter_fact_rows(facts):
        top = row.name.split(".", 1)[0].split("[", 1)[0]
        if top in _HIDDEN_FACTS:
            continue
        sources = tuple(dict.fromkeys(row.sources))
        if row.name == "birth_date" and facts.patient:
            sources = (facts.patient,)
        when = _when(row.effective, row.until)
        rows.append(FactView(_fact_label(row.name), row.value, row.note, sources, when))
    return tuple(rows)


def _used(fact: FactUsed) -> FactView:
    return FactView(
        fact.label, fact.value, fact.note, tuple(dict.fromkeys(fact.sources)), _when(fact.effective)
    )


def _citation(citation: Citation, base_url: str) -> CitationView:
    return CitationView(
        label=citation.label,
        document=citation.document,
        section=citation.section,
        url=citation_url(citation, base_url),
        newer=citation.newer,
        status=citation.status,
    )


def _phases(pathway: tuple[PathwayPhase, ...]) -> tuple[PhaseView, ...]:
    return tuple(
        PhaseView(number, PHASE_LABELS.get(phase.kind, str(phase.kind)), phase.label, phase.duration)
        for number, phase in enumerate(pathway, start=1)
    )


def _recommendation(rec: Recommendation, base_url: str, opened_rule: str | None) -> RecommendationView:
    label, mark = INDICATOR_LABELS.get(rec.indicator, (str(rec.indicator), "i"))
    return RecommendationView(
        anchor=rule_anchor(rec.rule_id),
        rule_id=rec.rule_id,
        topic=rec.topic,
        summary=rec.summary,
        statement=rec.statement,
        indicator=str(rec.indicator),
        indicator_label=label,
        indicator_mark=mark,
        pathway=_phases(rec.pathway),
        alternatives=rec.alternatives,
        facts_used=tuple(_used(f) for f in rec.facts_used),
        missing=rec.missing,
        citations=tuple(_citation(c, base_url) for c in rec.citations),
        recommendation=rec,
        opened=rec.rule_id == opened_rule,
    )


def _missing(recs: tuple[Recommendation, ...]) -> tuple[MissingView, ...]:
    order: list[str] = []
    first: dict[str, MissingItem] = {}
    needed: dict[str, list[str]] = {}
    for rec in recs:
        for item in rec.missing:
            if item.code not in first:
                order.append(item.code)
                first[item.code] = item
                needed[item.code] = []
            if rec.summary not in needed[item.code]:
                needed[item.code].append(rec.summary)
    views = []
    for code in order:
        item = first[code]
        test = item.orderable
        order_text = f"{test.display} (code {test.code}, {test.system})" if test else None
        views.append(MissingView(item.label, item.why, order_text, tuple(needed[code])))
    return tuple(views)


def _sources(recs: tuple[Recommendation, ...], base_url: str) -> tuple[CitationView, ...]:
    seen: dict[str, CitationView] = {}
    for rec in recs:
        for citation in rec.citations:
            seen.setdefault(citation.source_id, _citation(citation, base_url))
        for note in rec.newer_evidence:
            seen.setdefault(note.citation.source_id, _citation(note.citation, base_url))
        for disagreement in rec.disagreements:
            for view in disagreement.views:
                seen.setdefault(view.citation.source_id, _citation(view.citation, base_url))
    return tuple(seen.values())


def build_page(
    facts: PatientFacts,
    decision: Decision,
    banner: PatientBanner,
    *,
    today: date,
    base_url: str,
    opened_rule: str | None = None,
) -> PageModel:
    """The page for one evaluation; ``opened_rule`` (from ``appContext``) is marked, never required."""
    ordered = tuple(sorted(decision.recommendations, key=lambda r: (r.priority, r.rule_id)))
    views = tuple(_recommendation(r, base_url, opened_rule) for r in ordered)
    known = {v.rule_id for v in views}
    return PageModel(
        banner=banner,
        applicable=decision.applicable,
        reason=decision.reason,
        recommendations=views,
        warnings=tuple(v for v in views if v.recommendation.indicator is not Indicator.INFO),
        notes=facts.data_notes,
        facts=_fact_rows(facts),
        derived=tuple(_used(f) for f in decision.derived),
        missing=_missing(ordered),
        sources=_sources(ordered, base_url),
        knowledge_version=decision.knowledge_version,
        evaluated_on=today.isoformat(),
        opened_rule=opened_rule if opened_rule in known else None,
    )

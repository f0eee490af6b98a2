"""Safety invariants over random fact combinations (Hypothesis): no anti-EGFR suggestion for RAS- or
BRAF-mutant, RAS-unknown, right-sided/uncertain, resectable disease or disease whose resectability the
MDT has not assessed; a recorded anti-EGFR antibody is a critical card when RAS or BRAF is not
established, the primary is not known to be left-sided (outside BREAKWATER), or the dated MDT
assessments say the disease was resectable when it started (or is, with none before it); no FOLFOX
after oxaliplatin failure; the criteria never call extensive disease resectable; no intensive regimen
at ECOG 3 or more; provisional and MMR-pending cards say so; no clinical card without both conditions
(only the data-problem card, which recommends nothing, when a record that may be the missing one could
not be read); every card cited and coded; critical, then warning, then info; same input, same output.

The oracles here read the raw facts, not the core's derived context or its cards, so a bug in the
derivation cannot hide itself."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings

from cds_service.core import DecisionPolicy, decide
from cds_service.core.context import add_months
from cds_service.core.facts import (
    Agent,
    BrafStatus,
    HepatectomyComplexity,
    MmrStatus,
    MutationStatus,
    PatientFacts,
    PrimarySite,
    RecordKind,
    Resectability,
)
from cds_service.core.recommendations import ActionKind, Decision, Indicator

from .builders import KNOWLEDGE, TODAY, crlm, exposure
from .strategies import patient_facts, policies

PROPERTY_SETTINGS = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
LEFT = {
    PrimarySite.SPLENIC_FLEXURE,
    PrimarySite.DESCENDING_COLON,
    PrimarySite.SIGMOID_COLON,
    PrimarySite.RECTOSIGMOID,
    PrimarySite.RECTUM,
}
ANTI_EGFR = {Agent.CETUXIMAB, Agent.PANITUMUMAB}
RAS_NOTE = re.compile(r"\b[KN]?RAS\b", re.IGNORECASE)
MMR_NOTE = re.compile(r"\b(MMR|MSI|MSI-H|MSS|dMMR|pMMR|mismatch)\b", re.IGNORECASE)
INTENSIVE_REGIMENS = {
    "folfox",
    "folfiri",
    "triplet+bevacizumab",
    "doublet+anti-egfr",
    "second-line",
    "mdt-chosen-chemotherapy",
    "complete-perioperative-course",
    "immune-checkpoint-inhibitor",
}
PMMR_REGIMENS = INTENSIVE_REGIMENS - {"immune-checkpoint-inhibitor"}
RESECTABILITY_VALUES = {
    "resectable",
    "potentially_resectable",
    "unresectable",
    "curative_path",
    "not_resectable",
}
RANK = {Indicator.CRITICAL: 0, Indicator.WARNING: 1, Indicator.INFO: 2}
ANTI_EGFR_TEXT = re.compile(r"anti-egfr|cetuximab|panitumumab", re.IGNORECASE)
OXALIPLATIN_TEXT = re.compile(r"folfox|capox|folfirinox|oxaliplatin", re.IGNORECASE)
OXALIPLATIN_REGIMENS = {"folfox", "triplet+bevacizumab", "doublet+anti-egfr"}
RULES = {r.id: r for r in KNOWLEDGE.rules}


def suggestions(decision: Decision) -> list[str]:
    """What the recommendations suggest doing: regimen codes, pathway steps and alternatives."""
    texts: list[str] = []
    for rec in decision.recommendations:
        texts.extend(rec.regimens)
        texts.extend(p.label for p in rec.pathway)
        texts.extend(rec.alternatives)
    return texts


def ras_established_wild_type(facts: PatientFacts) -> bool:
    """Oracle from raw facts: KRAS and NRAS wild-type (separately, or by a combined test naming no
    gene), no RAS mutation of any kind and no conflict note about RAS."""
    molecular = facts.molecular
    values = [f.value for f in (molecular.kras, molecular.nras, molecular.ras_unspecified) if f is not None]
    if MutationStatus.MUTANT in values:
        return False
    if any(n.kind == "conflict" and RAS_NOTE.search(n.message) for n in facts.data_notes):
        return False
    combined = (
        molecular.ras_unspecified is not None and molecular.ras_unspecified.value is MutationStatus.WILD_TYPE
    )
    return (molecular.kras is not None or combined) and (molecular.nras is not None or combined)


def mdt_value(facts: PatientFacts) -> Resectability | None:
    """The recorded MDT resectability, whatever its date."""
    liver = facts.liver_metastases
    if liver is None or liver.mdt_resectability is None:
        return None
    return liver.mdt_resectability.value


def anti_egfr_may_be_suggested(facts: PatientFacts) -> bool:
    """Oracle from raw facts: extended RAS and BRAF wild-type, left-sided, not dMMR, no conflicting
    molecular results, and an MDT assessment recorded as potentially resectable or unresectable (never
    resectable disease, never on the criteria alone)."""
    molecular = facts.molecular
    primary = facts.primary
    braf_wild = molecular.braf is not None and molecular.braf.value is BrafStatus.WILD_TYPE
    left = primary is not None and primary.site is not None and primary.site.value in LEFT
    dmmr = molecular.mmr is not None and molecular.mmr.value is MmrStatus.DEFICIENT
    conflicts = any(n.kind == "conflict" and re.search(r"BRAF", n.message) for n in facts.data_notes)
    not_resectable = mdt_value(facts) in (Resectability.POTENTIALLY_RESECTABLE, Resectability.UNRESECTABLE)
    return (
        ras_established_wild_type(facts)
        and braf_wild
        and left
        and not dmmr
        and not conflicts
        and not_resectable
    )


def resectable_when_antibody_started(facts: PatientFacts, first: date | None) -> bool:
    """Oracle from raw facts: the latest MDT assessment dated on or before the first antibody dose
    says resectable; or, with none dated before it, the latest assessment of all says resectable (no
    documented conversion). Only without any liver procedure, so no assessment predates a
    treatment."""
    liver = facts.liver_metastases
    if liver is None or facts.liver_procedures:
        return False
    history = liver.mdt_history
    before = [a for a in history if first is not None and a.effective is not None and a.effective <= first]
    if before:
        latest_before = max(before, key=lambda a: a.effective or date.min)
        same_day = [a for a in before if a.effective == latest_before.effective]
        return all(a.value is Resectability.RESECTABLE for a in same_day)
    latest = liver.mdt_resectability
    return latest is not None and latest.value is Resectability.RESECTABLE


def anti_egfr_conflict_expected(facts: PatientFacts) -> bool:
    """Oracle from raw facts: an anti-EGFR antibody is recorded and RAS or BRAF is not established
    (BRAF V600E counts as established only with encorafenib, the BREAKWATER combination), the primary
    is right-sided, transverse or of unknown site (sidedness does not matter with encorafenib for
    BRAF V600E), or the disease was resectable when the antibody started, by every MDT assessment
    recorded with its date."""
    antibodies = [t for t in facts.therapies if t.agent in ANTI_EGFR]
    if not antibodies or facts.primary is None or facts.liver_metastases is None:
        return False
    braf = facts.molecular.braf
    braf_conflict = any(n.kind == "conflict" and re.search(r"BRAF", n.message) for n in facts.data_notes)
    encorafenib = any(t.agent is Agent.ENCORAFENIB for t in facts.therapies)
    breakwater = braf is not None and braf.value is BrafStatus.V600E and encorafenib and not braf_conflict
    braf_unknown = braf is None or braf_conflict
    site = facts.primary.site
    not_left = site is None or site.value not in LEFT
    starts = [t.start for t in antibodies if t.start is not None]
    first = min(starts) if starts else None
    return (
        not ras_established_wild_type(facts)
        or braf_unknown
        or (not_left and not breakwater)
        or resectable_when_antibody_started(facts, first)
    )


def oxaliplatin_failure_possible(facts: PatientFacts) -> bool:
    """Oracle from raw facts: oxaliplatin, or a medication record of unknown drug (its Medication
    missing, or a systemic-therapy record not read), is recorded and failure within 12 months cannot
    be excluded."""
    last_dates = [t.last_date for t in facts.therapies if t.agent is Agent.OXALIPLATIN]
    last_dates += [f.effective for f in facts.unidentified_medications]
    last_dates += [None for f in facts.unreadable if f.value is RecordKind.SYSTEMIC_THERAPY]
    if not last_dates:
        return False
    liver = facts.liver_metastases
    detected = liver.detected.value if liver is not None and liver.detected is not None else None
    if detected is None or any(last is None for last in last_dates):
        return True
    return any(last is not None and last < detected <= add_months(last, 12) for last in last_dates)


def scope_blocked_by_unreadable_record(facts: PatientFacts) -> bool:
    """Oracle from raw facts: a condition that decides scope is missing, and every missing one has a
    record of its kind that could not be read."""
    kinds = {f.value for f in facts.unreadable}
    missing = [
        kind
        for kind, fact in (
            (RecordKind.COLORECTAL_PRIMARY, facts.primary),
            (RecordKind.LIVER_METASTASES, facts.liver_metastases),
        )
        if fact is None
    ]
    return bool(missing) and set(missing) <= kinds


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_no_anti_egfr_suggestion_unless_eligible(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """Anti-EGFR is never suggested for RAS/BRAF mutant or unknown, right/uncertain or resectable
    disease, nor on the criteria without an MDT assessment."""
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    if not anti_egfr_may_be_suggested(facts):
        assert not [s for s in suggestions(decision) if ANTI_EGFR_TEXT.search(s)]
        assert not {code for r in decision.recommendations for code in r.regimens} & {"doublet+anti-egfr"}


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_recorded_anti_egfr_against_the_sources_is_critical(
    facts: PatientFacts, policy: DecisionPolicy
) -> None:
    """A recorded anti-EGFR antibody with RAS or BRAF not established, a primary not known to be
    left-sided (outside BREAKWATER), or started in disease the MDT had called resectable (or calls
    resectable with no assessment before it) is a critical safety card."""
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    if anti_egfr_conflict_expected(facts):
        critical = [r for r in decision.recommendations if r.indicator is Indicator.CRITICAL]
        assert any(RULES[r.rule_id].concern == "anti-egfr" for r in critical)


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_criteria_never_call_extensive_disease_resectable(
    facts: PatientFacts, policy: DecisionPolicy
) -> None:
    """Without an MDT assessment, disease is called resectable only when limited: at most 4 lesions in
    one lobe with a recorded remnant of at least 20%, no extrahepatic disease recorded and ECOG 0-2."""
    liver = facts.liver_metastases
    if liver is None or liver.mdt_resectability is not None:
        return
    count = liver.lesion_count.value if liver.lesion_count else None
    flr = liver.future_liver_remnant_pct.value if liver.future_liver_remnant_pct else None
    limited = (
        count is not None
        and count <= 4
        and liver.bilobar is not None
        and liver.bilobar.value is False
        and flr is not None
        and flr >= 20
        and not facts.extrahepatic
        and facts.ecog is not None
        and facts.ecog.value <= 2
    )
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    if not limited:
        assert all(r.topic != "resectability-resectable" for r in decision.recommendations)


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_no_intensive_regimen_at_poor_performance_status(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """With ECOG 3 or more recorded, no card suggests a systemic regimen."""
    if facts.ecog is None or facts.ecog.value < 3:
        return
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    assert not {code for r in decision.recommendations for code in r.regimens} & INTENSIVE_REGIMENS


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_provisional_and_pending_cards_say_so(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """Without any MDT assessment, a card resting on a resectability value says "Provisional"; with
    MMR/MSI unknown, a card suggesting a pMMR regimen says "MMR pending" and offers the MMR/MSI test."""
    liver = facts.liver_metastases
    no_mdt = liver is not None and liver.mdt_resectability is None
    mmr = facts.molecular.mmr
    mmr_unknown = mmr is None or any(
        n.kind == "conflict" and MMR_NOTE.search(n.message) for n in facts.data_notes
    )
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    for rec in decision.recommendations:
        rule = RULES[rec.rule_id]
        if no_mdt and set(rule.when) & RESECTABILITY_VALUES:
            assert "rovisional" in rec.summary, rec.rule_id
        if mmr_unknown and set(rec.regimens) & PMMR_REGIMENS:
            assert "MMR pending" in rec.summary, rec.rule_id
            orders = [t.code for a in rec.actions if a.kind is ActionKind.ORDER_TESTS for t in a.tests]
            assert "81695-9" in orders, rec.rule_id


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_no_folfox_after_oxaliplatin_failure(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """No oxaliplatin-containing regimen when failure within 12 months is established or possible."""
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    if oxaliplatin_failure_possible(facts):
        assert not {code for r in decision.recommendations for code in r.regimens} & OXALIPLATIN_REGIMENS
        assert not [s for s in suggestions(decision) if OXALIPLATIN_TEXT.search(s)]


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_no_card_without_both_conditions(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """Without a confirmed colorectal primary and confirmed liver metastases there is no clinical
    card: only the data-problem card, which recommends nothing, and only when a record that may be
    the missing condition could not be read; in scope it never appears."""
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    in_scope = facts.primary is not None and facts.liver_metastases is not None
    assert decision.applicable is in_scope
    recs = decision.recommendations
    if in_scope:
        assert not [r for r in recs if RULES[r.rule_id].out_of_scope]
        return
    assert [r.rule_id for r in recs] == (
        ["data-unreadable-record"] if scope_blocked_by_unreadable_record(facts) else []
    )
    for rec in recs:
        assert rec.indicator is not Indicator.CRITICAL
        assert not (rec.regimens or rec.pathway or rec.actions or rec.alternatives or rec.newer_evidence)


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_every_card_is_cited_coded_and_well_formed(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """Every recommendation has a citation, a published topic code, a short summary and its basis."""
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    for rec in decision.recommendations:
        assert rec.citations
        assert rec.topic in KNOWLEDGE.topics
        assert rec.rule_id in RULES
        assert len(rec.summary) < 140 and "\n" not in rec.summary
        assert "{" not in rec.statement and "{" not in rec.summary
        assert rec.facts_used
        assert all(
            n.citation.newer and (not n.adopted or n.citation.status == "V") for n in rec.newer_evidence
        )
        for action in rec.actions:
            assert action.kind is not ActionKind.DRAFT_CAREPLAN or rec.pathway
            assert action.kind is not ActionKind.ORDER_TESTS or action.tests
        assert (rec.indicator is Indicator.CRITICAL) == rec.rule_id.startswith("conflict-")


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_one_card_per_concern_in_priority_order(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """At most one recommendation answers each concern, and they come most important first:
    critical, then warning, then info, each by priority."""
    recs = decide(facts, KNOWLEDGE, today=TODAY, policy=policy).recommendations
    concerns = Counter(RULES[r.rule_id].concern for r in recs)
    assert all(count == 1 for count in concerns.values()), concerns
    keys = [(RANK[r.indicator], r.priority) for r in recs]
    assert keys == sorted(keys)
    assert [r.priority for r in recs] == sorted(r.priority for r in recs)


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_no_simultaneous_resection_with_grade_iii(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """A planned grade III hepatectomy never comes with a simultaneous/combined suggestion."""
    liver = facts.liver_metastases
    if liver is None or liver.planned_complexity is None:
        return
    if liver.planned_complexity.value is not HepatectomyComplexity.GRADE_III:
        return
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    assert all(r.topic != "sequencing-simultaneous" for r in decision.recommendations)
    assert not [s for s in suggestions(decision) if re.search(r"simultaneous|combined", s, re.IGNORECASE)]


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_same_input_same_output(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """Deciding twice on the same input gives the same decision."""
    first = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    second = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    assert first == second


CETUXIMAB_OCT = exposure(Agent.CETUXIMAB, date(2026, 10, 1))


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (crlm(therapies=(CETUXIMAB_OCT,), mdt_date=date(2026, 11, 20)), True),
        (
            crlm(
                therapies=(CETUXIMAB_OCT,),
                mdt_earlier=((Resectability.RESECTABLE, date(2026, 9, 15)),),
                mdt_date=date(2026, 11, 20),
            ),
            True,
        ),
        (
            crlm(
                therapies=(CETUXIMAB_OCT,),
                mdt_earlier=((Resectability.POTENTIALLY_RESECTABLE, date(2026, 9, 15)),),
                mdt_date=date(2026, 11, 20),
            ),
            False,
        ),
        (crlm(therapies=(CETUXIMAB_OCT,), mdt=Resectability.UNRESECTABLE, mdt_date=date(2026, 9, 15)), False),
        (crlm(therapies=(CETUXIMAB_OCT,), mdt=Resectability.UNRESECTABLE, braf=None), True),
        (crlm(therapies=(CETUXIMAB_OCT,), mdt=Resectability.UNRESECTABLE, site=None), True),
    ],
)
def test_oracle_reads_the_mdt_history(facts: PatientFacts, expected: bool) -> None:
    """The oracle sees the review's p1 (resectable only after the start) and p1b (resectable before
    it) as conflicts and a documented conversion as none, and the decision agrees."""
    assert anti_egfr_conflict_expected(facts) is expected
    critical = [
        r for r in decide(facts, KNOWLEDGE, today=TODAY).recommendations if r.indicator is Indicator.CRITICAL
    ]
    assert any(RULES[r.rule_id].concern == "anti-egfr" for r in critical) is expected

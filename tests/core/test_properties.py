"""Safety invariants over random fact combinations (Hypothesis): no anti-EGFR suggestion for RAS- or
BRAF-mutant, RAS-unknown, right-sided/uncertain or resectable disease; no FOLFOX after oxaliplatin
failure; no card without both conditions; every card cited and coded; same input, same output.

The oracles here read the raw facts, not the core's derived context, so a bug in the derivation
cannot hide itself."""

from __future__ import annotations

import re
from collections import Counter

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
)
from cds_service.core.recommendations import ActionKind, Decision, Indicator

from .builders import KNOWLEDGE, TODAY
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


def anti_egfr_may_be_suggested(facts: PatientFacts, decision: Decision) -> bool:
    """Oracle from raw facts: extended RAS and BRAF wild-type, left-sided, not dMMR, no conflicting
    molecular results, and not resectable disease."""
    molecular = facts.molecular
    primary = facts.primary
    wild = all(
        fact is not None and fact.value in (MutationStatus.WILD_TYPE, BrafStatus.WILD_TYPE)
        for fact in (molecular.kras, molecular.nras, molecular.braf)
    )
    left = primary is not None and primary.site is not None and primary.site.value in LEFT
    dmmr = molecular.mmr is not None and molecular.mmr.value is MmrStatus.DEFICIENT
    conflicts = any(n.kind == "conflict" and re.search(r"RAS|BRAF", n.message) for n in facts.data_notes)
    resectable = any(r.topic == "resectability-resectable" for r in decision.recommendations)
    return wild and left and not dmmr and not conflicts and not resectable


def oxaliplatin_failure_possible(facts: PatientFacts) -> bool:
    """Oracle from raw facts: oxaliplatin is recorded and failure within 12 months cannot be excluded."""
    exposures = [t for t in facts.therapies if t.agent is Agent.OXALIPLATIN]
    if not exposures:
        return False
    liver = facts.liver_metastases
    detected = liver.detected.value if liver is not None and liver.detected is not None else None
    if detected is None or any(t.last_date is None for t in exposures):
        return True
    return any(
        t.last_date is not None and t.last_date < detected <= add_months(t.last_date, 12) for t in exposures
    )


@PROPERTY_SETTINGS
@given(facts=patient_facts(), policy=policies)
def test_no_anti_egfr_suggestion_unless_eligible(facts: PatientFacts, policy: DecisionPolicy) -> None:
    """Anti-EGFR is never suggested for RAS/BRAF mutant or unknown, right/uncertain or resectable disease."""
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    if not anti_egfr_may_be_suggested(facts, decision):
        assert not [s for s in suggestions(decision) if ANTI_EGFR_TEXT.search(s)]


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
    """Without a confirmed colorectal primary and confirmed liver metastases there is no card."""
    decision = decide(facts, KNOWLEDGE, today=TODAY, policy=policy)
    in_scope = facts.primary is not None and facts.liver_metastases is not None
    assert decision.applicable is in_scope
    if not in_scope:
        assert decision.recommendations == ()


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
    """At most one recommendation answers each concern, and they come most important first."""
    recs = decide(facts, KNOWLEDGE, today=TODAY, policy=policy).recommendations
    concerns = Counter(RULES[r.rule_id].concern for r in recs)
    assert all(count == 1 for count in concerns.values()), concerns
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

"""Decision entry point: applies the rule base to one patient's facts.

:func:`decide` is pure and deterministic: the same facts, knowledge, date and policy always give
the same :class:`Decision`. It derives the patient context once, evaluates every rule's predicates,
and turns each rule that fires into one :class:`Recommendation` whose text, facts, citations,
alternatives, missing data, disagreements, newer evidence, pathway and actions all come from the
rule base. Patients without both a confirmed colorectal primary and confirmed liver metastases get
no recommendation at all: only the out-of-scope rules are evaluated for them, which report a data
problem (a record that may be the missing condition could not be read) and recommend nothing.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from datetime import date

from cds_service.core.context import PatientContext, ResectabilityBasis, build_context
from cds_service.core.facts import PatientFacts
from cds_service.core.knowledge import (
    BOTH_PREFIXES,
    MMR_PENDING_PREFIX,
    PROVISIONAL_PREFIX,
    Conditional,
    Knowledge,
    MissingSpec,
    Rule,
    depends_on_resectability,
)
from cds_service.core.policy import DecisionPolicy, TimingDefinition
from cds_service.core.predicates import PREDICATES
from cds_service.core.recommendations import (
    ActionKind,
    Decision,
    FactUsed,
    Indicator,
    MissingItem,
    NewerEvidence,
    OrderableTest,
    PathwayPhase,
    ProposedAction,
    Recommendation,
    SourceDisagreement,
    SourceView,
)
from cds_service.core.views import FACT_VIEWS, PLACEHOLDERS, derived_facts, display

__all__ = ["DecisionPolicy", "TimingDefinition", "decide"]

SUMMARY_LIMIT = 140
INDICATOR_RANK: dict[Indicator, int] = {Indicator.CRITICAL: 0, Indicator.WARNING: 1, Indicator.INFO: 2}
#: The catalogue item a card that assumes pMMR adds (and offers to order) while MMR/MSI is unknown.
MMR_MISSING_CODE = "mmr-status"
#: While this predicate holds (ECOG 3 or more) no card offers to draft a care plan: the sources'
#: pathways assume a patient fit for them, and fitness is the MDT's call (the cards say so).
CAREPLAN_WITHHELD_WHEN = "ps_poor"
ACTION_LABELS: dict[ActionKind, str] = {
    ActionKind.MDT_REFERRAL: "Refer to the multidisciplinary tumour board (MDT)",
    ActionKind.DRAFT_CAREPLAN: "Draft a care plan of this pathway",
    ActionKind.ORDER_TESTS: "Order the missing tests",
}


class _Evaluator:
    """Evaluates predicates and renders text for one patient, memoising predicate results."""

    def __init__(self, ctx: PatientContext, knowledge: Knowledge) -> None:
        self.ctx = ctx
        self.knowledge = knowledge
        self._cache: dict[str, bool] = {}

    def holds(self, name: str) -> bool:
        if name not in self._cache:
            self._cache[name] = PREDICATES[name](self.ctx)
        return self._cache[name]

    def applies(self, when: tuple[str, ...], unless: tuple[str, ...]) -> bool:
        return all(self.holds(n) for n in when) and not any(self.holds(n) for n in unless)

    def shown(self, items: tuple[Conditional, ...]) -> tuple[Conditional, ...]:
        return tuple(item for item in items if self.applies(item.when, item.unless))

    def render(self, text: str) -> str:
        values: dict[str, str] = {}
        for _, field, _, _ in string.Formatter().parse(text):
            if field is None or field in values:
                continue
            placeholder: Callable[[PatientContext], str] | None = PLACEHOLDERS.get(field)
            if placeholder is not None:
                values[field] = placeholder(self.ctx)
            else:
                values[field] = f"{self.knowledge.thresholds[field].value:g}"
        return text.format_map(values)

    def missing_items(self, codes: tuple[str, ...]) -> list[MissingSpec]:
        specs = (self.knowledge.missing[code] for code in codes)
        return [spec for spec in specs if self.holds(spec.unknown_when)]


def _short(summary: str) -> str:
    summary = " ".join(summary.split())
    if len(summary) < SUMMARY_LIMIT:
        return summary
    return summary[: SUMMARY_LIMIT - 2].rstrip() + "…"


def _facts_used(rule: Rule, ev: _Evaluator) -> tuple[FactUsed, ...]:
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    result: list[FactUsed] = []
    for name in rule.facts:
        for fact in FACT_VIEWS[name](ev.ctx):
            key = (fact.label, fact.value, fact.sources)
            if key not in seen:
                seen.add(key)
                result.append(fact)
    for name in rule.thresholds:
        threshold = ev.knowledge.thresholds[name]
        result.append(
            FactUsed(
                f"Threshold: {threshold.label}",
                f"{display(threshold.value)} {threshold.unit}",
                note=f"{threshold.citation.label}, {threshold.citation.section}",
            )
        )
    return tuple(result)


def _actions(
    kinds: tuple[ActionKind, ...], summary: str, missing: tuple[MissingItem, ...]
) -> tuple[ProposedAction, ...]:
    actions: list[ProposedAction] = []
    for kind in kinds:
        if kind is ActionKind.ORDER_TESTS:
            tests: dict[str, OrderableTest] = {}
            for item in missing:
                if item.orderable is not None:
                    tests.setdefault(item.orderable.code, item.orderable)
            if tests:
                reason = "Missing: " + "; ".join(m.label for m in missing if m.orderable is not None)
                actions.append(ProposedAction(kind, ACTION_LABELS[kind], tuple(tests.values()), reason))
            continue
        actions.append(ProposedAction(kind, ACTION_LABELS[kind], reason=summary))
    return tuple(actions)


def _provisional(rule: Rule, ctx: PatientContext) -> bool:
    """The card rests on a resectability read from the criteria, not from the MDT."""
    result = ctx.resectability
    return (
        result.value is not None
        and result.basis is ResectabilityBasis.CRITERIA
        and depends_on_resectability(rule)
    )


def _mmr_pending(rule: Rule, ev: _Evaluator) -> bool:
    """The card suggests a pMMR/MSS regimen while MMR/MSI is unknown."""
    return rule.assumes_pmmr and ev.holds("mmr_unknown")


def _prefix(provisional: bool, mmr_pending: bool) -> str:
    if provisional and mmr_pending:
        return BOTH_PREFIXES
    if provisional:
        return PROVISIONAL_PREFIX
    return MMR_PENDING_PREFIX if mmr_pending else ""


def _recommendation(rule: Rule, ev: _Evaluator, missing_specs: list[MissingSpec]) -> Recommendation:
    mmr_pending = _mmr_pending(rule, ev)
    if mmr_pending and all(spec.code != MMR_MISSING_CODE for spec in missing_specs):
        missing_specs = [*missing_specs, ev.knowledge.missing[MMR_MISSING_CODE]]
    prefix = _prefix(_provisional(rule, ev.ctx), mmr_pending)
    summary = _short(prefix + ev.render(rule.summary))
    notes = [ev.render(note.text) for note in ev.shown(rule.notes)]
    statement = " ".join([ev.render(rule.statement), *notes])
    missing = tuple(MissingItem(s.code, s.label, s.why, s.orderable) for s in missing_specs)
    disagreements = []
    for ref in ev.shown(rule.disagreements):
        item = ev.knowledge.disagreements[ref.text]
        disagreements.append(
            SourceDisagreement(
                item.question,
                tuple(SourceView(view.citation, ev.render(view.position)) for view in item.views),
                ev.render(item.followed),
            )
        )
    newer: list[NewerEvidence] = []
    if ev.ctx.policy.show_newer_evidence:
        for ref in ev.shown(rule.newer):
            note = ev.knowledge.newer[ref.text]
            newer.append(NewerEvidence(ev.render(note.text), note.citation, note.adopted, note.stance))
    pathway = tuple(
        PathwayPhase(
            phase.kind, ev.render(phase.label), ev.render(phase.duration) if phase.duration else None
        )
        for phase in rule.pathway
        if ev.applies(phase.when, phase.unless)
    )
    careplan = bool(pathway) and not ev.holds(CAREPLAN_WITHHELD_WHEN)
    kinds = tuple(k for k in rule.actions if k is not ActionKind.DRAFT_CAREPLAN or careplan)
    if mmr_pending and ActionKind.ORDER_TESTS not in kinds:
        kinds = (*kinds, ActionKind.ORDER_TESTS)
    return Recommendation(
        rule_id=rule.id,
        topic=rule.topic,
        summary=summary,
        indicator=rule.indicator,
        priority=rule.priority,
        statement=statement,
        facts_used=_facts_used(rule, ev),
        citations=rule.citations,
        alternatives=tuple(ev.render(alt.text) for alt in ev.shown(rule.alternatives)),
        missing=missing,
        disagreements=tuple(disagreements),
        newer_evidence=tuple(newer),
        pathway=pathway,
        actions=_actions(kinds, summary, missing),
        regimens=rule.regimens,
    )


def _not_applicable_reason(facts: PatientFacts, data_problem: bool) -> str:
    if facts.primary is None and facts.liver_metastases is None:
        reason = "No confirmed colorectal primary and no confirmed liver metastases are recorded."
    elif facts.primary is None:
        reason = "Liver metastases are recorded, but no confirmed colorectal primary."
    else:
        reason = "A confirmed colorectal primary is recorded, but no confirmed liver metastases."
    if data_problem:
        reason += " A record that may be the missing one could not be read, so scope is undecided."
    return reason


def _evaluate(rules: list[Rule], ev: _Evaluator) -> list[Recommendation]:
    """The recommendations of the rules that fire, most important first."""
    fired = [rule for rule in rules if ev.applies(rule.when, rule.unless)]
    suppressed = {other for rule in fired for other in rule.suppresses}
    fired = [rule for rule in fired if rule.id not in suppressed]
    gathered: dict[str, MissingSpec] = {}
    for rule in fired:
        if not rule.collect_missing:
            for spec in ev.missing_items(rule.missing):
                gathered.setdefault(spec.code, spec)
    recommendations: list[Recommendation] = []
    for rule in fired:
        specs = ev.missing_items(rule.missing)
        if rule.collect_missing:
            own = {spec.code for spec in specs}
            specs += [spec for code, spec in gathered.items() if code not in own]
            if not specs:
                continue
        recommendations.append(_recommendation(rule, ev, specs))
    recommendations.sort(key=lambda r: (INDICATOR_RANK[r.indicator], r.priority, r.rule_id))
    return recommendations


def decide(
    facts: PatientFacts,
    knowledge: Knowledge,
    *,
    today: date,
    policy: DecisionPolicy | None = None,
) -> Decision:
    """Return the recommendations for one patient; pure and deterministic.

    Args:
        facts: What is known about the patient (``None`` = unknown).
        knowledge: The validated rule base.
        today: The evaluation date (never read from the clock).
        policy: Site choices the sources leave open; the defaults when ``None``.
    """
    policy = policy or DecisionPolicy()
    in_scope = facts.primary is not None and facts.liver_metastases is not None
    rules = [rule for rule in knowledge.rules if rule.out_of_scope is not in_scope]
    ctx = build_context(facts, knowledge.threshold_values(), today=today, policy=policy)
    recommendations = _evaluate(rules, _Evaluator(ctx, knowledge))
    if facts.primary is None or facts.liver_metastases is None:
        return Decision(
            applicable=False,
            reason=_not_applicable_reason(facts, bool(recommendations)),
            recommendations=tuple(recommendations),
            derived=(),
            knowledge_version=knowledge.version,
        )
    site = facts.primary.site
    where = f" ({display(site.value)})" if site is not None else ""
    return Decision(
        applicable=True,
        reason=f"Confirmed colorectal primary{where} with confirmed liver metastases.",
        recommendations=tuple(recommendations),
        derived=derived_facts(ctx),
        knowledge_version=knowledge.version,
    )

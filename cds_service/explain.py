"""A human-readable account of one evaluation: facts found, derived facts and the reasoning.

Used by ``cds-service evaluate --explain``, and by the explanation app for its facts table
(:func:`iter_fact_rows`). It shows what the decision path produced and adds no reasoning of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import Any

from cds_service.core.facts import Fact, LiverProcedure, PatientFacts, TherapyExposure
from cds_service.core.recommendations import Decision, FactUsed
from cds_service.pipeline import Evaluation


def _value_text(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, frozenset):
        return ", ".join(sorted(_value_text(v) for v in value)) or "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _fact_text(fact: Fact[Any]) -> str:
    text = _value_text(fact.value)
    if fact.note:
        text += f" ({fact.note})"
    if fact.effective:
        text += f" [{fact.effective.isoformat()}]"
    if fact.sources:
        text += " <- " + ", ".join(fact.sources)
    return text


def _walk(obj: Any, prefix: str, leaves: tuple[type, ...]) -> Iterator[tuple[str, Any]]:
    """Yield ``(dotted name, leaf)`` for every known value below ``obj``, skipping unknowns."""
    if isinstance(obj, leaves):
        yield prefix, obj
        return
    if isinstance(obj, tuple):
        for index, item in enumerate(obj):
            yield from _walk(item, f"{prefix}[{index}]", leaves)
        return
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for field in dataclasses.fields(obj):
            value = getattr(obj, field.name)
            if value is None or value == ():
                continue
            yield from _walk(value, f"{prefix}.{field.name}" if prefix else field.name, leaves)
        return
    yield prefix, obj


def iter_facts(obj: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(dotted name, text)`` for every known fact in a facts object, skipping unknowns."""
    for name, leaf in _walk(obj, prefix, (Fact, TherapyExposure)):
        if isinstance(leaf, Fact):
            yield name, _fact_text(leaf)
        elif isinstance(leaf, TherapyExposure):
            dates = " to ".join(d.isoformat() for d in (leaf.start, leaf.end) if d) or "date unknown"
            yield name, f"{leaf.agent.value} {dates} <- " + ", ".join(leaf.sources)
        else:
            yield name, _value_text(leaf)


@dataclass(frozen=True, slots=True)
class FactRow:
    """One known fact as a table row, for the explanation app (same walk as :func:`iter_facts`).

    Attributes:
        name: Dotted name of the fact, e.g. ``primary.site`` or ``therapies[0]``.
        value: The value as text.
        note: The qualifier to show with it, if any.
        effective: The date it applies to (start date for a therapy), when known.
        until: The end date of a therapy period, when known.
        sources: FHIR references it came from.
    """

    name: str
    value: str
    note: str | None
    effective: date | None
    until: date | None
    sources: tuple[str, ...]


def iter_fact_rows(obj: Any, prefix: str = "") -> Iterator[FactRow]:
    """Yield a :class:`FactRow` for every known fact, therapy and liver procedure in ``obj``."""
    for name, leaf in _walk(obj, prefix, (Fact, TherapyExposure, LiverProcedure)):
        if isinstance(leaf, Fact):
            yield FactRow(name, _value_text(leaf.value), leaf.note, leaf.effective, None, leaf.sources)
        elif isinstance(leaf, TherapyExposure):
            value = leaf.agent.value + (f" ({leaf.display})" if leaf.display else "")
            yield FactRow(name, value, None, leaf.start, leaf.end, leaf.sources)
        elif isinstance(leaf, LiverProcedure):
            margin = f"margin {_value_text(leaf.margin.value)}" if leaf.margin else None
            yield FactRow(name, leaf.kind, margin, leaf.performed, None, leaf.sources)
        else:
            yield FactRow(name, _value_text(leaf), None, None, None, ())


def _used_line(fact: FactUsed) -> str:
    text = f"{fact.label}: {fact.value}"
    if fact.note:
        text += f" ({fact.note})"
    if fact.sources:
        text += " <- " + ", ".join(fact.sources)
    return text


def explain(evaluation: Evaluation, *, today: date) -> str:
    """The account as plain text."""
    facts: PatientFacts = evaluation.facts
    decision: Decision = evaluation.decision
    lines = [f"CRLM decision support, knowledge base {decision.knowledge_version}, evaluated for {today}", ""]
    lines.append("Facts found in the FHIR data:")
    found = [(n, t) for n, t in iter_facts(facts) if not n.startswith("data_notes")]
    lines.extend(f"  {name}: {text}" for name, text in found)
    if not found:
        lines.append("  none")
    if facts.data_notes:
        lines.append("")
        lines.append("Data notes:")
        lines.extend(f"  [{n.kind}] {n.message}" for n in facts.data_notes)
    lines.append("")
    lines.append(f"In scope: {'yes' if decision.applicable else 'no'}. {decision.reason}")
    if decision.derived:
        lines.append("")
        lines.append("Derived facts:")
        lines.extend(f"  {_used_line(f)}" for f in decision.derived)
    for index, rec in enumerate(decision.recommendations, start=1):
        lines.append("")
        lines.append(f"{index}. [{rec.indicator.value}] {rec.summary}")
        lines.append(f"   rule {rec.rule_id}, topic {rec.topic}")
        lines.append(f"   {rec.statement}")
        for phase_index, phase in enumerate(rec.pathway, start=1):
            duration = f" ({phase.duration})" if phase.duration else ""
            lines.append(f"   step {phase_index}: {phase.label}{duration}")
        for fact in rec.facts_used:
            lines.append(f"   because {_used_line(fact)}")
        for alternative in rec.alternatives:
            lines.append(f"   alternative: {alternative}")
        for disagreement in rec.disagreements:
            lines.append(f"   sources disagree on {disagreement.question}; followed: {disagreement.followed}")
        for note in rec.newer_evidence:
            lines.append(f"   newer evidence, {note.stance_label} ({note.citation.label}): {note.text}")
        for missing in rec.missing:
            lines.append(f"   missing: {missing.label} ({missing.why})")
        for citation in rec.citations:
            lines.append(f"   source: {citation.label}, {citation.document}, {citation.section}")
    lines.append("")
    lines.append(f"Cards returned: {len(evaluation.response['cards'])}")
    return "\n".join(lines) + "\n"

"""A human-readable account of one evaluation: facts found, derived facts and the reasoning.

Used by ``cds-service evaluate --explain``. It prints what the decision path produced and adds no
reasoning of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import date
from enum import Enum
from typing import Any

from cds_service.core.facts import Fact, PatientFacts, TherapyExposure
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


def iter_facts(obj: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield ``(dotted name, text)`` for every known fact in a facts object, skipping unknowns."""
    if isinstance(obj, Fact):
        yield prefix, _fact_text(obj)
        return
    if isinstance(obj, TherapyExposure):
        dates = " to ".join(d.isoformat() for d in (obj.start, obj.end) if d) or "date unknown"
        yield prefix, f"{obj.agent.value} {dates} <- " + ", ".join(obj.sources)
        return
    if isinstance(obj, tuple):
        for index, item in enumerate(obj):
            yield from iter_facts(item, f"{prefix}[{index}]")
        return
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for field in dataclasses.fields(obj):
            value = getattr(obj, field.name)
            if value is None or value == ():
                continue
            yield from iter_facts(value, f"{prefix}.{field.name}" if prefix else field.name)
        return
    yield prefix, _value_text(obj)


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
            lines.append(f"   newer evidence ({note.citation.label}): {note.text}")
        for missing in rec.missing:
            lines.append(f"   missing: {missing.label} ({missing.why})")
        for citation in rec.citations:
            lines.append(f"   source: {citation.label}, {citation.document}, {citation.section}")
    lines.append("")
    lines.append(f"Cards returned: {len(evaluation.response['cards'])}")
    return "\n".join(lines) + "\n"

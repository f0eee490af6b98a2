"""Decision entry point: applies the rule base to one patient's facts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cds_service.core.facts import PatientFacts
from cds_service.core.knowledge import Knowledge
from cds_service.core.recommendations import (
    Decision,
    FactUsed,
    Indicator,
    Recommendation,
)


@dataclass(frozen=True, slots=True)
class DecisionPolicy:
    """Site-configurable choices the sources leave open (defaults follow the rule base)."""


def decide(
    facts: PatientFacts,
    knowledge: Knowledge,
    *,
    today: date,
    policy: DecisionPolicy | None = None,
) -> Decision:
    """Return the recommendations for one patient; pure and deterministic."""
    del today, policy
    if facts.primary is None or facts.liver_metastases is None:
        return Decision(
            applicable=False,
            reason="No confirmed colorectal primary with confirmed liver metastases.",
            recommendations=(),
            derived=(),
            knowledge_version=knowledge.version,
        )
    used = (
        FactUsed("Colorectal primary", facts.primary.condition.value, facts.primary.condition.sources),
        FactUsed(
            "Liver metastases",
            facts.liver_metastases.condition.value,
            facts.liver_metastases.condition.sources,
        ),
    )
    detected = Recommendation(
        rule_id="crlm-detected",
        topic="crlm-detected",
        summary="Colorectal cancer with liver metastases detected; decision support pending.",
        indicator=Indicator.INFO,
        priority=0,
        statement="A colorectal primary and liver metastases are recorded.",
        facts_used=used,
        citations=(knowledge.sources["seed-001"],),
    )
    return Decision(
        applicable=True,
        reason="Confirmed colorectal primary with confirmed liver metastases.",
        recommendations=(detected,),
        derived=(),
        knowledge_version=knowledge.version,
    )

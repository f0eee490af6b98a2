"""The one decision path: hook request -> prefetch -> facts -> decision -> cards.

HTTP (``api.py``), the CLI (``cli.py``) and the explanation app all call :func:`evaluate`, so the same
input gives the same cards whichever way it arrives. The path is deterministic given ``today``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date
from typing import Any

from cds_service.cards import CardRenderer
from cds_service.core import DecisionPolicy, Knowledge, decide
from cds_service.core.facts import DataNote, PatientFacts
from cds_service.core.recommendations import Decision
from cds_service.fhir_mapping import map_patient
from cds_service.hooks import HookRequest
from cds_service.prefetch import Fetcher, ResolvedPrefetch, resolve_prefetch
from cds_service.services import ServiceDefinition


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Everything one evaluation produced, for the response, the audit record and ``--explain``.

    Attributes:
        response: The CDS Hooks response body (``{"cards": [...]}``).
        facts: The facts mapped from the data.
        decision: The decision core's answer.
        prefetch: How prefetch was resolved.
    """

    response: dict[str, Any]
    facts: PatientFacts
    decision: Decision
    prefetch: ResolvedPrefetch


@dataclass(frozen=True, slots=True)
class DecisionPath:
    """The start-up state the path needs: knowledge, policy, renderer, fetcher, budget and whether
    Synthea's stage codes are read (synthetic test data only)."""

    knowledge: Knowledge
    policy: DecisionPolicy
    renderer: CardRenderer
    fetcher: Fetcher | None
    fetch_budget_seconds: float
    synthea_compat: bool = False

    def evaluate(
        self, request: HookRequest, service: ServiceDefinition, *, today: date, base_url: str
    ) -> Evaluation:
        """Run the whole path for one validated hook request."""
        prefetch = resolve_prefetch(request, service, self.fetcher, budget_seconds=self.fetch_budget_seconds)
        facts = map_patient(
            prefetch.documents.values(), patient_id=request.patient_id, synthea_compat=self.synthea_compat
        )
        if prefetch.notes:
            unavailable = tuple(
                DataNote(kind="unavailable", message=f"Prefetch '{n.key}': {n.message}.")
                for n in prefetch.notes
            )
            facts = dataclasses.replace(facts, data_notes=unavailable + facts.data_notes)
        decision = decide(facts, self.knowledge, today=today, policy=self.policy)
        cards = self.renderer.render(
            decision,
            facts,
            hook_instance=request.hook_instance,
            patient_id=request.patient_id,
            base_url=base_url,
        )
        return Evaluation(response={"cards": cards}, facts=facts, decision=decision, prefetch=prefetch)

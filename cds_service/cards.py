"""The card renderer: a :class:`Decision` becomes CDS Hooks 2.0 cards.

This is the only module that writes user-visible card text around the recommendations; it adds no
clinical content of its own. Every card conforms to CDS Hooks 2.0: a ``uuid`` (deterministic, from
the hook instance and the rule id, so feedback can be traced to the rule), a summary under 140
characters, an indicator, a ``source`` with label, url and topic Coding, GitHub-flavoured Markdown
``detail`` with every value taken from the EHR escaped (no raw HTML), ``selectionBehavior``
whenever there are suggestions, override reasons with displays, and no empty optional field.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cds_service.core.facts import DataNote, PatientFacts
from cds_service.core.recommendations import (
    ActionKind,
    Citation,
    Decision,
    FactUsed,
    ProposedAction,
    Recommendation,
)

CARD_NAMESPACE = uuid.UUID("6f1d6a4e-3f59-5b1e-9d7c-2c3f0c1b8a41")
TOPIC_CODESYSTEM_FILE = "CodeSystem-crlm-card-topic.json"
OVERRIDE_CODESYSTEM_FILE = "CodeSystem-crlm-override-reason.json"
SOURCE_LABEL = "CRLM decision support"
SMART_LAUNCH_PATH = "/smart/launch"
SMART_LINK_LABEL = "Open the full explanation (facts, pathway, sources)"
SUMMARY_LIMIT = 139
MAX_NOTES_SHOWN = 6
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
DISCLAIMER = (
    "_Decision support for the multidisciplinary team (MDT): it shows what the cited sources "
    "recommend for the facts found, and does not replace the MDT's decision._"
)

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>])")


def escape_markdown(text: str) -> str:
    """Make text from the EHR safe inside GFM: no raw HTML, no accidental formatting.

    >>> escape_markdown("<b>KRAS</b> *G12D*")
    '&lt;b&gt;KRAS&lt;/b&gt; \\\\*G12D\\\\*'
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = " ".join(text.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _code_span(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def truncate_summary(summary: str) -> str:
    """Keep a summary within CDS Hooks' one-sentence, under-140-character rule."""
    summary = " ".join(summary.split())
    if len(summary) <= SUMMARY_LIMIT:
        return summary
    return summary[: SUMMARY_LIMIT - 1].rstrip() + "…"


def _load_codesystem(path: Path) -> tuple[str, dict[str, str]]:
    document = json.loads(path.read_text("utf-8"))
    displays: dict[str, str] = {}

    def walk(concepts: list[dict[str, Any]]) -> None:
        for concept in concepts:
            displays[concept["code"]] = concept.get("display", concept["code"])
            walk(concept.get("concept", []))

    walk(document.get("concept", []))
    return document["url"], displays


@dataclass(frozen=True, slots=True)
class CardRenderer:
    """Renders decisions; built once at start-up from the published CodeSystems.

    Attributes:
        topic_system: URL of the card-topic CodeSystem.
        topic_displays: Topic code -> display.
        override_system: URL of the override-reason CodeSystem.
        override_reasons: Override-reason code -> display, offered on every card.
        smart_app: Whether cards link the explanation app (a ``smart`` link); only when the app
            can be launched here (client id configured, or demo mode).
    """

    topic_system: str
    topic_displays: dict[str, str]
    override_system: str
    override_reasons: dict[str, str]
    smart_app: bool = False

    @classmethod
    def from_profiles(cls, profiles_dir: Path, *, smart_app: bool = False) -> CardRenderer:
        """Build the renderer from ``fhir_profiles/``."""
        topic_system, topics = _load_codesystem(profiles_dir / TOPIC_CODESYSTEM_FILE)
        override_system, overrides = _load_codesystem(profiles_dir / OVERRIDE_CODESYSTEM_FILE)
        return cls(topic_system, topics, override_system, overrides, smart_app)

    def render(
        self,
        decision: Decision,
        facts: PatientFacts,
        *,
        hook_instance: str,
        patient_id: str,
        base_url: str,
    ) -> list[dict[str, Any]]:
        """All cards for one decision, most important first; ``[]`` when nothing applies.

        A decision out of scope carries no recommendation except a data-problem card (a record
        that may decide scope could not be read), which is rendered like any other.
        """
        ordered = sorted(decision.recommendations, key=lambda r: (r.priority, r.rule_id))
        return [
            self._card(rec, decision, facts.data_notes, hook_instance, patient_id, base_url)
            for rec in ordered
        ]

    def _card(
        self,
        rec: Recommendation,
        decision: Decision,
        notes: tuple[DataNote, ...],
        hook_instance: str,
        patient_id: str,
        base_url: str,
    ) -> dict[str, Any]:
        card_uuid = card_uuid_for(hook_instance, rec.rule_id)
        primary = rec.citations[0]
        card: dict[str, Any] = {
            "uuid": card_uuid,
            "summary": truncate_summary(rec.summary),
            "indicator": rec.indicator.value,
            "detail": self._detail(rec, decision, notes),
            "source": {
                "label": SOURCE_LABEL,
                "url": citation_url(primary, base_url),
                "topic": {
                    "system": self.topic_system,
                    "code": rec.topic,
                    "display": self.topic_displays.get(rec.topic, rec.topic),
                },
            },
            "overrideReasons": [
                {"system": self.override_system, "code": code, "display": display}
                for code, display in self.override_reasons.items()
            ],
        }
        suggestions = [_suggestion(action, rec, patient_id, hook_instance) for action in rec.actions]
        if suggestions:
            card["suggestions"] = suggestions
            card["selectionBehavior"] = "any"
        links = _links(rec.citations, base_url)
        if self.smart_app:
            links.insert(0, smart_link(rec.rule_id, base_url))
        if links:
            card["links"] = links
        return card

    def _detail(self, rec: Recommendation, decision: Decision, notes: tuple[DataNote, ...]) -> str:
        parts: list[str] = [rec.statement.strip()]
        if rec.pathway:
            steps = [
                f"{i}. {p.label}" + (f" ({p.duration})" if p.duration else "")
                for i, p in enumerate(rec.pathway, start=1)
            ]
            parts.append("**Suggested pathway**\n\n" + "\n".join(steps))
        if rec.alternatives:
            parts.append(
                "**Alternatives the sources allow**\n\n" + "\n".join(f"- {a}" for a in rec.alternatives)
            )
        for disagreement in rec.disagreements:
            views = "\n".join(
                f"- {v.citation.label} ({v.citation.section}): {v.position}" for v in disagreement.views
            )
            parts.append(
                f"**Where the sources disagree: {disagreement.question}**\n\n{views}\n"
                f"- **Followed here:** {disagreement.followed}"
            )
        if rec.newer_evidence:
            lines = []
            for note in rec.newer_evidence:
                status = f", status {note.citation.status}" if note.citation.status else ""
                lines.append(
                    f"- ⚑ **Newer evidence** ({note.stance_label}): {note.text} "
                    f"({note.citation.label}, {note.citation.section}{status})"
                )
            parts.append("**Newer evidence**\n\n" + "\n".join(lines))
        if rec.missing:
            parts.append(
                "**Missing data that would change or confirm this**\n\n"
                + "\n".join(f"- {m.label}: {m.why}" for m in rec.missing)
            )
        parts.append(self._basis(rec, decision))
        if notes:
            shown = [f"- {escape_markdown(n.message)}" for n in notes[:MAX_NOTES_SHOWN]]
            if len(notes) > MAX_NOTES_SHOWN:
                shown.append(f"- and {len(notes) - MAX_NOTES_SHOWN} more data notes")
            parts.append("**Data limitations**\n\n" + "\n".join(shown))
        parts.append(DISCLAIMER)
        return "\n\n".join(parts)

    @staticmethod
    def _basis(rec: Recommendation, decision: Decision) -> str:
        facts = "\n".join(f"  - {_fact_line(f)}" for f in rec.facts_used) or "  - none"
        sources = "\n".join(
            f"  - {c.label}: {c.document}, {c.section}" + (" (newer evidence)" if c.newer else "")
            for c in rec.citations
        )
        return (
            "**Basis**\n\n"
            f"- Rule {_code_span(rec.rule_id)}, knowledge base version {decision.knowledge_version}\n"
            f"- Facts used:\n{facts}\n"
            f"- Sources:\n{sources}"
        )


def _fact_line(fact: FactUsed) -> str:
    text = f"{fact.label}: **{escape_markdown(fact.value)}**"
    if fact.note:
        text += f" ({escape_markdown(fact.note)})"
    origin: list[str] = []
    if fact.sources:
        origin.append("from " + ", ".join(_code_span(s) for s in fact.sources))
    if fact.effective:
        origin.append(fact.effective.isoformat())
    if origin:
        text += " — " + ", ".join(origin)
    return text


def card_uuid_for(hook_instance: str, rule_id: str) -> str:
    """The card uuid: stable for a hook instance and rule, so feedback traces back to the rule."""
    return str(uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}|{rule_id}"))


def citation_url(citation: Citation, base_url: str) -> str:
    """The absolute URL of a cited source: its own, or the service's page about it."""
    return citation.url or f"{base_url}/knowledge/sources/{citation.source_id}"


def smart_link(rule_id: str, base_url: str) -> dict[str, Any]:
    """The card's link to the explanation app (CDS Hooks link type ``smart``).

    ``url`` is the app's absolute launch URL (the EHR adds ``iss`` and ``launch``); ``appContext``
    names only the rule whose card was followed, never patient data, and the app works the same
    when an EHR drops it.

    >>> smart_link("crlm-detected", "https://cds.example.org")["appContext"]
    '{"rule":"crlm-detected"}'
    """
    return {
        "label": SMART_LINK_LABEL,
        "url": f"{base_url}{SMART_LAUNCH_PATH}",
        "type": "smart",
        "appContext": json.dumps({"rule": rule_id}, separators=(",", ":")),
    }


def _links(citations: tuple[Citation, ...], base_url: str) -> list[dict[str, Any]]:
    links: list[dict[str, Any]] = []
    seen: set[str] = set()
    for citation in citations:
        url = citation_url(citation, base_url)
        if url in seen:
            continue
        seen.add(url)
        label = citation.label + (" (newer evidence)" if citation.newer else "")
        links.append({"label": label, "url": url, "type": "absolute"})
    return links


def _suggestion(
    action: ProposedAction, rec: Recommendation, patient_id: str, hook_instance: str
) -> dict[str, Any]:
    subject = {"reference": f"Patient/{patient_id}"}
    reason = action.reason or rec.summary
    actions: list[dict[str, Any]]
    if action.kind is ActionKind.MDT_REFERRAL:
        actions = [
            {
                "type": "create",
                "description": "Draft a referral to the multidisciplinary tumour board",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "proposal",
                    "category": [
                        {"coding": [{"system": SNOMED, "code": "3457005", "display": "Patient referral"}]}
                    ],
                    "code": {"text": "Multidisciplinary tumour board review: colorectal liver metastases"},
                    "subject": subject,
                    "reasonCode": [{"text": reason}],
                    "note": [{"text": f"Proposed by CRLM decision support, rule {rec.rule_id}."}],
                },
            }
        ]
    elif action.kind is ActionKind.ORDER_TESTS:
        actions = [
            {
                "type": "create",
                "description": f"Draft an order for {test.display}",
                "resource": {
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "proposal",
                    "code": {"coding": [{"system": test.system, "code": test.code, "display": test.display}]},
                    "subject": subject,
                    "reasonCode": [{"text": reason}],
                },
            }
            for test in action.tests
        ]
    else:
        activities = [
            {
                "detail": {
                    "status": "not-started",
                    "description": phase.label + (f" ({phase.duration})" if phase.duration else ""),
                }
            }
            for phase in rec.pathway
        ]
        careplan: dict[str, Any] = {
            "resourceType": "CarePlan",
            "status": "draft",
            "intent": "proposal",
            "title": truncate_summary(rec.summary),
            "description": rec.statement,
            "subject": subject,
            "note": [
                {"text": f"Draft proposed by CRLM decision support, rule {rec.rule_id}; for MDT review."}
            ],
        }
        if activities:
            careplan["activity"] = activities
        actions = [
            {
                "type": "create",
                "description": "Draft a care plan of the suggested pathway",
                "resource": careplan,
            }
        ]
    return {
        "label": action.label,
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{hook_instance}|{rec.rule_id}|{action.kind.value}")),
        "actions": actions,
    }

"""Typed recommendations: what the decision core returns.

The card renderer turns these into CDS Hooks cards, the explanation app into a page and the CLI into
text; none of them adds clinical content. Every recommendation carries its basis: the rule that
produced it, the facts used (with their FHIR sources), the citations, the alternatives the sources
allow and what is missing. This module imports only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Indicator(StrEnum):
    """Urgency of a recommendation; ``CRITICAL`` is reserved for safety conflicts."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Citation:
    """Where a rule comes from.

    Attributes:
        source_id: Id of the source in the knowledge base, e.g. ``"seed-001"`` or
            ``"nccn-colon-2026"``.
        label: Short human label, e.g. "ESMO-based summary (seed 001)".
        document: The seed file name, or the bibliographic reference for newer sources.
        section: Section, table or statement inside the document.
        url: Absolute URL of the source, or ``None`` when the source has no public address (the
            renderer then links the service's own source page).
        newer: True for sources from ``clinical-evidence.md`` that are newer than the seeds.
        status: Evidence status marker for newer sources (``V`` verified, ``T`` transcription,
            ``M`` unverified background), else ``None``.
    """

    source_id: str
    label: str
    document: str
    section: str
    url: str | None = None
    newer: bool = False
    status: str | None = None


@dataclass(frozen=True, slots=True)
class FactUsed:
    """A fact a recommendation relied on, ready to display.

    Attributes:
        label: What the fact is, e.g. "RAS status".
        value: Its value as text, e.g. "KRAS mutant".
        sources: FHIR references it came from; empty for derived facts.
        effective: Date the value applies to, when known.
        note: Qualifier to show with it (e.g. "derived from KRAS and NRAS", "preliminary").
    """

    label: str
    value: str
    sources: tuple[str, ...] = ()
    effective: date | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OrderableTest:
    """A test the clinician can order from the card (becomes a draft ServiceRequest).

    Attributes:
        system: Code system URI (usually LOINC).
        code: The code.
        display: Its display text.
    """

    system: str
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class MissingItem:
    """A piece of data whose absence limits the recommendation.

    Attributes:
        code: Stable id of the data item, e.g. ``"ras-status"``.
        label: What to record, e.g. "RAS (KRAS and NRAS) mutation status".
        why: What it would change.
        orderable: The test to order, when it is a test.
    """

    code: str
    label: str
    why: str
    orderable: OrderableTest | None = None


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source's position on a question where sources disagree."""

    citation: Citation
    position: str


@dataclass(frozen=True, slots=True)
class SourceDisagreement:
    """A question on which the sources disagree, shown with both views.

    Attributes:
        question: What they disagree about.
        views: Each source's position.
        followed: Which view the service follows, and why.
    """

    question: str
    views: tuple[SourceView, ...]
    followed: str


@dataclass(frozen=True, slots=True)
class NewerEvidence:
    """A marked note where newer evidence changes or refines the recommendation.

    Attributes:
        text: What the newer evidence says for this patient.
        citation: Its source (``newer=True``).
        adopted: True only when the evidence file marks the update as verified guideline
            practice and the service follows it as its default.
        stance: How the note relates to the service's default: ``"supports"`` (agrees with it),
            ``"differs"`` (differs and is not followed) or ``"adopted"`` (changes it); ``None``
            when not stated (read it from ``adopted``).
    """

    text: str
    citation: Citation
    adopted: bool = False
    stance: str | None = None

    @property
    def stance_label(self) -> str:
        """Label for renderers: "supports the default", "differs, not followed" or "adopted as the
        default" (falls back on ``adopted`` when no stance is given)."""
        stance = self.stance or ("adopted" if self.adopted else "differs")
        return {
            "supports": "supports the default",
            "adopted": "adopted as the default",
        }.get(stance, "differs, not followed")


class PhaseKind(StrEnum):
    """Kinds of steps in a suggested pathway."""

    SYSTEMIC = "systemic"
    ASSESSMENT = "assessment"
    SURGERY = "surgery"
    ABLATION = "ablation"
    RADIOTHERAPY = "radiotherapy"
    PROCEDURE = "procedure"
    DECISION = "decision"


@dataclass(frozen=True, slots=True)
class PathwayPhase:
    """One step of the suggested pathway, in order.

    Attributes:
        kind: What kind of step it is.
        label: The step, e.g. "FOLFOX, 3 months (about 6 cycles)".
        duration: Its planned duration as text, when the sources give one.
    """

    kind: PhaseKind
    label: str
    duration: str | None = None


class ActionKind(StrEnum):
    """Actions a card may offer; the renderer turns them into FHIR resources."""

    MDT_REFERRAL = "mdt-referral"
    ORDER_TESTS = "order-tests"
    DRAFT_CAREPLAN = "draft-careplan"


@dataclass(frozen=True, slots=True)
class ProposedAction:
    """An action the clinician may accept from the card.

    Attributes:
        kind: Which action.
        label: Button text (short).
        tests: Tests to order, for ``ORDER_TESTS``.
        reason: Why the action is proposed (goes into the resource's note / reason).
    """

    kind: ActionKind
    label: str
    tests: tuple[OrderableTest, ...] = ()
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One concern, rendered as one card.

    Attributes:
        rule_id: Stable id of the rule that produced it (feedback traces back to it).
        topic: Code in the card-topic CodeSystem published in ``fhir_profiles/``.
        summary: One sentence, under 140 characters.
        indicator: Urgency.
        priority: Sort key; lower comes first.
        statement: The recommendation in full sentences (plain text, no markup).
        facts_used: Facts it relied on, with their sources.
        citations: Where it comes from (at least one).
        alternatives: Other options the sources allow.
        missing: Data that would change or firm up the recommendation.
        disagreements: Questions where sources disagree, with the view followed.
        newer_evidence: Marked notes from newer evidence.
        pathway: The suggested sequence of phases, when the recommendation is a pathway.
        actions: Actions the card may offer.
        regimens: Stable codes of the systemic regimen families the recommendation suggests
            (e.g. ``folfox``, ``doublet+anti-egfr``), for safety checks and draft care plans.
    """

    rule_id: str
    topic: str
    summary: str
    indicator: Indicator
    priority: int
    statement: str
    facts_used: tuple[FactUsed, ...]
    citations: tuple[Citation, ...]
    alternatives: tuple[str, ...] = ()
    missing: tuple[MissingItem, ...] = ()
    disagreements: tuple[SourceDisagreement, ...] = ()
    newer_evidence: tuple[NewerEvidence, ...] = ()
    pathway: tuple[PathwayPhase, ...] = ()
    actions: tuple[ProposedAction, ...] = ()
    regimens: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """The core's whole answer for one patient.

    Attributes:
        applicable: True when the patient has a confirmed colorectal primary and confirmed liver
            metastases; otherwise no CRLM recommendation is made, and ``recommendations`` holds
            only data-problem cards that recommend nothing (a record that may be the missing
            condition could not be read), usually none.
        reason: Why the patient is (not) in scope, in one sentence (for ``--explain`` and logs;
            free of identifiers).
        recommendations: One per concern, ordered by importance.
        derived: Derived facts the reasoning used (timing, sidedness, RAS status ...), for the
            explanation.
        knowledge_version: Version of the rule base that produced it.
    """

    applicable: bool
    reason: str
    recommendations: tuple[Recommendation, ...]
    derived: tuple[FactUsed, ...]
    knowledge_version: str

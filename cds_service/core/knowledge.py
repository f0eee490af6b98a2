"""The rule base: cited clinical knowledge loaded from ``rules.toml`` and validated at start-up.

``rules.toml`` is the one place a clinician reviews: the sources (seed documents and newer
evidence with its status), the thresholds with their source, the catalogue of missing data, the
newer-evidence notes, the disagreements between sources, and one record per rule. This module
turns it into typed, immutable objects and refuses to start on anything malformed: duplicate ids,
unknown predicates, fact views, placeholders, thresholds or sources, uncited rules, topic codes
missing from the published CodeSystem, ill-typed thresholds, over-long summaries. Errors are
:class:`KnowledgeError` exceptions (never ``assert``), each naming the offending entry.
"""

from __future__ import annotations

import json
import re
import string
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from cds_service.core.context import THRESHOLD_TYPES
from cds_service.core.predicates import PREDICATES, RESECTABILITY_PREDICATES
from cds_service.core.recommendations import ActionKind, Citation, Indicator, OrderableTest, PhaseKind
from cds_service.core.views import FACT_VIEWS, PLACEHOLDERS

TOPIC_SYSTEM = "https://crlm-cds.org/fhir/CodeSystem/crlm-card-topic"
TOPIC_CODESYSTEM_FILE = "CodeSystem-crlm-card-topic.json"
SUMMARY_LIMIT = 140
EVIDENCE_STATUSES = frozenset({"V", "T", "M", "?"})
NEWER_STANCES = frozenset({"supports", "differs", "adopted"})
#: Summary prefixes ``decide`` may add (see :func:`summary_prefix_room`).
PROVISIONAL_PREFIX = "Provisional: "
MMR_PENDING_PREFIX = "MMR pending: "
BOTH_PREFIXES = "Provisional, MMR pending: "
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_PLACEHOLDER_SAMPLE = "x" * 12


class KnowledgeError(Exception):
    """The rule base is malformed; the service must not start with it."""


@dataclass(frozen=True, slots=True)
class Conditional:
    """Rule content shown only when its predicates hold (all of ``when``, none of ``unless``).

    Attributes:
        text: The text, or the id of a catalogue entry (newer evidence, disagreement).
        when: Predicates that must all hold.
        unless: Predicates none of which may hold.
    """

    text: str
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Threshold:
    """A number a rule uses, with where it comes from.

    Attributes:
        name: Its name, as predicates and texts use it.
        value: The value.
        unit: Unit, for display.
        label: What it is.
        citation: Its source and section.
    """

    name: str
    value: float
    unit: str
    label: str
    citation: Citation


@dataclass(frozen=True, slots=True)
class MissingSpec:
    """A data item whose absence limits recommendations.

    Attributes:
        code: Stable id.
        label: What to record.
        why: What it would change.
        unknown_when: Predicate that holds when the item is missing.
        orderable: The test to order, when it is a test.
    """

    code: str
    label: str
    why: str
    unknown_when: str
    orderable: OrderableTest | None


@dataclass(frozen=True, slots=True)
class NewerSpec:
    """A marked note on newer evidence.

    Attributes:
        id: Stable id.
        text: What the newer evidence says.
        citation: Its source (``newer=True``) and section.
        adopted: The service follows it as its default (only for verified guideline practice).
        stance: How it relates to the service's default: ``supports`` (agrees with it),
            ``differs`` (differs from it and is not followed) or ``adopted`` (changes it).
    """

    id: str
    text: str
    citation: Citation
    adopted: bool
    stance: str


@dataclass(frozen=True, slots=True)
class ViewSpec:
    """One source's position in a disagreement."""

    citation: Citation
    position: str


@dataclass(frozen=True, slots=True)
class DisagreementSpec:
    """A question the sources answer differently, with the view followed."""

    id: str
    question: str
    views: tuple[ViewSpec, ...]
    followed: str


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """One step of a suggested pathway, shown only when its predicates hold (``when`` / ``unless``,
    as for conditional text), so one rule can give a curative and a non-curative pathway."""

    kind: PhaseKind
    label: str
    duration: str | None
    when: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rule:
    """One cited rule; it becomes one recommendation (one card) when it fires.

    Attributes:
        id: Stable id (feedback traces back to it).
        topic: Card-topic code from the published CodeSystem.
        concern: The question it answers; at most one rule per concern fires for a patient.
        title: Short name for reviewers.
        summary: Card summary (under 140 characters), may use placeholders.
        statement: The recommendation in full sentences, may use placeholders.
        indicator: Urgency; ``critical`` only for safety conflicts.
        priority: Sort key, lower first.
        when: Predicates that must all hold.
        unless: Predicates none of which may hold.
        citations: Sources with the section the rule comes from.
        facts: Fact views shown as the facts used.
        thresholds: Thresholds shown with the facts used.
        missing: Missing-data items that would change it.
        alternatives: Other options the sources allow (conditional).
        notes: Conditional sentences appended to the statement (assumptions, qualifiers).
        newer: Newer-evidence notes (conditional, by id).
        disagreements: Disagreements shown (conditional, by id).
        pathway: Suggested sequence of phases.
        actions: Actions offered.
        regimens: Regimen-family codes suggested.
        collect_missing: Gather the missing items of every rule that fired (the missing-data card).
        suppresses: Ids of rules whose card this one replaces when both fire (it carries their
            message), so one message is not shown twice.
        assumes_pmmr: The suggested regimen is the sources' regimen for pMMR/MSS tumours; when
            MMR/MSI is unknown the card is marked "MMR pending" and offers the test.
        out_of_scope: The rule is evaluated only for patients out of scope (no confirmed colorectal
            primary with confirmed liver metastases), and every other rule only for patients in
            scope. Such a rule reports a data problem and recommends nothing: the loader refuses it
            with regimens, a pathway, alternatives, actions, newer evidence, disagreements, the
            missing-data role or a critical indicator.
    """

    id: str
    topic: str
    concern: str
    title: str
    summary: str
    statement: str
    indicator: Indicator
    priority: int
    when: tuple[str, ...]
    unless: tuple[str, ...]
    citations: tuple[Citation, ...]
    facts: tuple[str, ...]
    thresholds: tuple[str, ...]
    missing: tuple[str, ...]
    alternatives: tuple[Conditional, ...]
    notes: tuple[Conditional, ...]
    newer: tuple[Conditional, ...]
    disagreements: tuple[Conditional, ...]
    pathway: tuple[PhaseSpec, ...]
    actions: tuple[ActionKind, ...]
    regimens: tuple[str, ...]
    collect_missing: bool
    suppresses: tuple[str, ...] = ()
    assumes_pmmr: bool = False
    out_of_scope: bool = False


@dataclass(frozen=True, slots=True)
class Knowledge:
    """The validated rule base.

    Attributes:
        version: Version of the rule base, shown on every card.
        sources: Citable sources by id (the section is the whole document's).
        rules: The rules, in file order.
        thresholds: Thresholds by name.
        missing: Missing-data catalogue by code.
        newer: Newer-evidence notes by id.
        disagreements: Disagreements by id.
        topics: Card-topic codes of the published CodeSystem, with their displays.
        applicability: Citations of the applicability rule (a colorectal primary and liver
            metastases, both confirmed).
    """

    version: str
    sources: dict[str, Citation]
    rules: tuple[Rule, ...]
    thresholds: Mapping[str, Threshold]
    missing: Mapping[str, MissingSpec]
    newer: Mapping[str, NewerSpec]
    disagreements: Mapping[str, DisagreementSpec]
    topics: Mapping[str, str]
    applicability: tuple[Citation, ...]

    def threshold_values(self) -> dict[str, float]:
        """Threshold values by name, as the context reads them."""
        return {name: t.value for name, t in self.thresholds.items()}


# --- Reading helpers ------------------------------------------------------------------------------


def _table(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise KnowledgeError(f"{where}: expected a table")
    return value


def _keys(entry: dict[str, Any], where: str, required: set[str], optional: set[str]) -> None:
    missing = required - entry.keys()
    if missing:
        raise KnowledgeError(f"{where}: missing {', '.join(sorted(missing))}")
    unknown = entry.keys() - required - optional
    if unknown:
        raise KnowledgeError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")


def _str(entry: dict[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    value = entry.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{where}: {key!r} must be a non-empty string")
    return value


def _str_list(entry: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise KnowledgeError(f"{where}: {key!r} must be a list of non-empty strings")
    return tuple(value)


def _placeholders(text: str) -> set[str]:
    try:
        return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}
    except ValueError as exc:
        raise KnowledgeError(f"malformed placeholder in {text!r}: {exc}") from exc


# --- Topic codes ----------------------------------------------------------------------------------


def default_profiles_dirs() -> tuple[Path, ...]:
    """Where ``fhir_profiles/`` is looked for: inside the installed package first (wheel), then
    next to the package in the repository."""
    package_dir = Path(__file__).resolve().parent.parent
    return (package_dir / "fhir_profiles", package_dir.parent / "fhir_profiles")


def parse_topic_codes(document: Any, where: str = "card-topic CodeSystem") -> dict[str, str]:
    """Validate a parsed card-topic CodeSystem; return code -> display."""
    if not isinstance(document, dict) or document.get("resourceType") != "CodeSystem":
        raise KnowledgeError(f"{where}: resourceType must be CodeSystem")
    expected = {"url": TOPIC_SYSTEM, "status": "active", "content": "complete"}
    for key, value in expected.items():
        if document.get(key) != value:
            raise KnowledgeError(f"{where}: {key} must be {value!r}")
    concepts = document.get("concept")
    if not isinstance(concepts, list) or not concepts:
        raise KnowledgeError(f"{where}: no concepts")
    codes: dict[str, str] = {}
    for index, raw in enumerate(concepts):
        spot = f"{where} concept #{index}"
        concept = _table(raw, spot)
        code = _str(concept, "code", spot)
        display = _str(concept, "display", spot)
        _str(concept, "definition", spot)
        if code in codes:
            raise KnowledgeError(f"{where}: duplicate code {code!r}")
        codes[code] = display
    count = document.get("count")
    if count is not None and count != len(codes):
        raise KnowledgeError(f"{where}: count {count} does not match {len(codes)} concepts")
    return codes


def load_topic_codes(path: Path) -> dict[str, str]:
    """Read and validate the card-topic CodeSystem file; return code -> display."""
    try:
        document = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise KnowledgeError(f"card-topic CodeSystem not readable at {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise KnowledgeError(f"card-topic CodeSystem is not valid JSON: {exc}") from exc
    return parse_topic_codes(document, f"CodeSystem {path.name}")


def _find_topics(profiles_dir: Path | None) -> dict[str, str]:
    candidates = (profiles_dir,) if profiles_dir is not None else default_profiles_dirs()
    for directory in candidates:
        path = Path(directory) / TOPIC_CODESYSTEM_FILE
        if path.is_file():
            return load_topic_codes(path)
    searched = ", ".join(str(Path(d) / TOPIC_CODESYSTEM_FILE) for d in candidates)
    raise KnowledgeError(f"card-topic CodeSystem not found (looked in {searched})")


# --- Sections of rules.toml -----------------------------------------------------------------------


def _sources(data: dict[str, Any]) -> dict[str, Citation]:
    sources: dict[str, Citation] = {}
    for source_id, raw in _table(data.get("sources", {}), "sources").items():
        where = f"source {source_id!r}"
        entry = _table(raw, where)
        _keys(entry, where, {"label", "document", "section"}, {"url", "newer", "status"})
        newer = entry.get("newer", False)
        if not isinstance(newer, bool):
            raise KnowledgeError(f"{where}: 'newer' must be true or false")
        status = entry.get("status")
        if newer and status not in EVIDENCE_STATUSES:
            raise KnowledgeError(f"{where}: a newer source needs a status in {sorted(EVIDENCE_STATUSES)}")
        if not newer and status is not None:
            raise KnowledgeError(f"{where}: only newer sources carry a status")
        url = entry.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith("https://")):
            raise KnowledgeError(f"{where}: 'url' must be an absolute https URL")
        sources[source_id] = Citation(
            source_id=source_id,
            label=_str(entry, "label", where),
            document=_str(entry, "document", where),
            section=_str(entry, "section", where),
            url=url,
            newer=newer,
            status=status,
        )
    if not sources:
        raise KnowledgeError("rules.toml: no sources defined")
    return sources


def _cite(sources: Mapping[str, Citation], raw: Any, where: str) -> Citation:
    entry = _table(raw, where)
    _keys(entry, where, {"source", "section"}, set())
    source_id = _str(entry, "source", where)
    if source_id not in sources:
        raise KnowledgeError(f"{where}: unknown source {source_id!r}")
    base = sources[source_id]
    return Citation(
        base.source_id,
        base.label,
        base.document,
        _str(entry, "section", where),
        base.url,
        base.newer,
        base.status,
    )


def _thresholds(data: dict[str, Any], sources: Mapping[str, Citation]) -> dict[str, Threshold]:
    thresholds: dict[str, Threshold] = {}
    for name, raw in _table(data.get("thresholds", {}), "thresholds").items():
        where = f"threshold {name!r}"
        entry = _table(raw, where)
        _keys(entry, where, {"value", "unit", "label", "source", "section"}, set())
        if name not in THRESHOLD_TYPES:
            raise KnowledgeError(f"{where}: not a threshold the rules use")
        value = entry["value"]
        wanted = THRESHOLD_TYPES[name]
        well_typed = isinstance(value, int) if wanted is int else isinstance(value, int | float)
        if isinstance(value, bool) or not well_typed:
            raise KnowledgeError(f"{where}: value must be {'an integer' if wanted is int else 'a number'}")
        if value < 0:
            raise KnowledgeError(f"{where}: value must not be negative")
        citation = _cite(sources, {"source": entry["source"], "section": entry["section"]}, where)
        thresholds[name] = Threshold(
            name, float(value), _str(entry, "unit", where), _str(entry, "label", where), citation
        )
    absent = set(THRESHOLD_TYPES) - thresholds.keys()
    if absent:
        raise KnowledgeError(f"thresholds missing: {', '.join(sorted(absent))}")
    return thresholds


def _predicate_names(names: tuple[str, ...], where: str) -> tuple[str, ...]:
    for name in names:
        if name not in PREDICATES:
            raise KnowledgeError(f"{where}: unknown predicate {name!r}")
    return names


def _missing(data: dict[str, Any]) -> dict[str, MissingSpec]:
    catalogue: dict[str, MissingSpec] = {}
    for code, raw in _table(data.get("missing", {}), "missing").items():
        where = f"missing item {code!r}"
        entry = _table(raw, where)
        _keys(entry, where, {"label", "why", "unknown_when"}, {"orderable"})
        unknown_when = _str(entry, "unknown_when", where)
        _predicate_names((unknown_when,), where)
        orderable = None
        if "orderable" in entry:
            spot = f"{where} orderable"
            test = _table(entry["orderable"], spot)
            _keys(test, spot, {"system", "code", "display"}, set())
            orderable = OrderableTest(
                _str(test, "system", spot), _str(test, "code", spot), _str(test, "display", spot)
            )
        catalogue[code] = MissingSpec(
            code, _str(entry, "label", where), _str(entry, "why", where), unknown_when, orderable
        )
    return catalogue


def _newer(data: dict[str, Any], sources: Mapping[str, Citation]) -> dict[str, NewerSpec]:
    notes: dict[str, NewerSpec] = {}
    for note_id, raw in _table(data.get("newer", {}), "newer").items():
        where = f"newer evidence {note_id!r}"
        entry = _table(raw, where)
        _keys(entry, where, {"source", "section", "text"}, {"adopted", "stance"})
        citation = _cite(sources, {"source": entry["source"], "section": entry["section"]}, where)
        if not citation.newer:
            raise KnowledgeError(f"{where}: source {citation.source_id!r} is not marked newer")
        adopted = entry.get("adopted", False)
        if not isinstance(adopted, bool):
            raise KnowledgeError(f"{where}: 'adopted' must be true or false")
        if adopted and citation.status != "V":
            raise KnowledgeError(f"{where}: only verified [V] evidence can be adopted as the default")
        stance = entry.get("stance", "adopted" if adopted else "differs")
        if stance not in NEWER_STANCES:
            raise KnowledgeError(f"{where}: 'stance' must be one of {', '.join(sorted(NEWER_STANCES))}")
        if (stance == "adopted") is not adopted:
            raise KnowledgeError(f"{where}: stance 'adopted' goes with adopted = true, and only with it")
        notes[note_id] = NewerSpec(note_id, _str(entry, "text", where), citation, adopted, stance)
    return notes


def _disagreements(data: dict[str, Any], sources: Mapping[str, Citation]) -> dict[str, DisagreementSpec]:
    result: dict[str, DisagreementSpec] = {}
    for item_id, raw in _table(data.get("disagreements", {}), "disagreements").items():
        where = f"disagreement {item_id!r}"
        entry = _table(raw, where)
        _keys(entry, where, {"question", "views", "followed"}, set())
        views_raw = entry["views"]
        if not isinstance(views_raw, list) or len(views_raw) < 2:
            raise KnowledgeError(f"{where}: needs at least two views")
        views: list[ViewSpec] = []
        for index, view in enumerate(views_raw):
            spot = f"{where} view #{index}"
            view = _table(view, spot)
            _keys(view, spot, {"source", "section", "position"}, set())
            citation = _cite(sources, {"source": view["source"], "section": view["section"]}, spot)
            views.append(ViewSpec(citation, _str(view, "position", spot)))
        result[item_id] = DisagreementSpec(
            item_id, _str(entry, "question", where), tuple(views), _str(entry, "followed", where)
        )
    return result


def _conditionals(entry: dict[str, Any], key: str, where: str, *, ref: bool) -> tuple[Conditional, ...]:
    raw = entry.get(key, [])
    if not isinstance(raw, list):
        raise KnowledgeError(f"{where}: {key!r} must be a list")
    field = "ref" if ref else "text"
    items: list[Conditional] = []
    for index, item in enumerate(raw):
        spot = f"{where} {key} #{index}"
        if isinstance(item, str) and item:
            items.append(Conditional(item))
            continue
        item = _table(item, spot)
        _keys(item, spot, {field}, {"when", "unless"})
        items.append(
            Conditional(
                _str(item, field, spot),
                _predicate_names(_str_list(item, "when", spot), spot),
                _predicate_names(_str_list(item, "unless", spot), spot),
            )
        )
    return tuple(items)


def _enum_value(enum_type: Any, value: Any, where: str) -> Any:
    try:
        return enum_type(value)
    except ValueError as exc:
        allowed = ", ".join(m.value for m in enum_type)
        raise KnowledgeError(f"{where}: {value!r} is not one of {allowed}") from exc


_RULE_REQUIRED = {
    "id",
    "topic",
    "concern",
    "title",
    "summary",
    "statement",
    "indicator",
    "priority",
    "when",
    "citations",
}
_RULE_OPTIONAL = {
    "unless",
    "facts",
    "thresholds",
    "missing",
    "alternatives",
    "notes",
    "newer",
    "disagreements",
    "pathway",
    "actions",
    "regimens",
    "collect_missing",
    "suppresses",
    "assumes_pmmr",
    "out_of_scope",
}


def _rule(
    raw: Any,
    index: int,
    sources: Mapping[str, Citation],
    catalogues: tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]],
    topics: Collection[str],
) -> Rule:
    thresholds, missing, newer, disagreements = catalogues
    where = f"rule #{index}"
    entry = _table(raw, where)
    rule_id = entry.get("id")
    if isinstance(rule_id, str):
        where = f"rule {rule_id!r}"
    _keys(entry, where, _RULE_REQUIRED, _RULE_OPTIONAL)
    rule_id = _str(entry, "id", where)
    if not _ID.match(rule_id):
        raise KnowledgeError(f"{where}: id must be lower-case letters, digits and hyphens")
    topic = _str(entry, "topic", where)
    if topic not in topics:
        raise KnowledgeError(f"{where}: topic {topic!r} is not in the published card-topic CodeSystem")
    priority = entry["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
        raise KnowledgeError(f"{where}: priority must be a non-negative integer")
    when = _predicate_names(_str_list(entry, "when", where), where)
    if not when:
        raise KnowledgeError(f"{where}: 'when' must name at least one predicate")
    citations_raw = entry["citations"]
    if not isinstance(citations_raw, list) or not citations_raw:
        raise KnowledgeError(f"{where}: every rule needs at least one citation")
    citations = tuple(_cite(sources, c, f"{where} citation #{i}") for i, c in enumerate(citations_raw))
    facts = _str_list(entry, "facts", where)
    for name in facts:
        if name not in FACT_VIEWS:
            raise KnowledgeError(f"{where}: unknown fact view {name!r}")
    for key, catalogue, label in (
        ("thresholds", thresholds, "threshold"),
        ("missing", missing, "missing item"),
    ):
        for name in _str_list(entry, key, where):
            if name not in catalogue:
                raise KnowledgeError(f"{where}: unknown {label} {name!r}")
    newer_refs = _conditionals(entry, "newer", where, ref=True)
    disagreement_refs = _conditionals(entry, "disagreements", where, ref=True)
    for refs, catalogue, label in (
        (newer_refs, newer, "newer-evidence note"),
        (disagreement_refs, disagreements, "disagreement"),
    ):
        for item in refs:
            if item.text not in catalogue:
                raise KnowledgeError(f"{where}: unknown {label} {item.text!r}")
    pathway_raw = entry.get("pathway", [])
    if not isinstance(pathway_raw, list):
        raise KnowledgeError(f"{where}: 'pathway' must be a list")
    pathway: list[PhaseSpec] = []
    for i, phase in enumerate(pathway_raw):
        spot = f"{where} pathway #{i}"
        phase = _table(phase, spot)
        _keys(phase, spot, {"kind", "label"}, {"duration", "when", "unless"})
        pathway.append(
            PhaseSpec(
                _enum_value(PhaseKind, phase["kind"], spot),
                _str(phase, "label", spot),
                _str(phase, "duration", spot, optional=True) or None,
                _predicate_names(_str_list(phase, "when", spot), spot),
                _predicate_names(_str_list(phase, "unless", spot), spot),
            )
        )
    actions = tuple(_enum_value(ActionKind, a, where) for a in _str_list(entry, "actions", where))
    if ActionKind.DRAFT_CAREPLAN in actions and not pathway:
        raise KnowledgeError(f"{where}: a draft care plan needs a pathway")
    collect = entry.get("collect_missing", False)
    if not isinstance(collect, bool):
        raise KnowledgeError(f"{where}: 'collect_missing' must be true or false")
    assumes_pmmr = entry.get("assumes_pmmr", False)
    if not isinstance(assumes_pmmr, bool):
        raise KnowledgeError(f"{where}: 'assumes_pmmr' must be true or false")
    out_of_scope = entry.get("out_of_scope", False)
    if not isinstance(out_of_scope, bool):
        raise KnowledgeError(f"{where}: 'out_of_scope' must be true or false")
    if out_of_scope:
        offending = [
            key
            for key in ("regimens", "pathway", "alternatives", "actions", "newer", "disagreements")
            if entry.get(key)
        ]
        offending += [key for key, on in (("collect_missing", collect), ("assumes_pmmr", assumes_pmmr)) if on]
        if entry["indicator"] == "critical":
            offending.append("a critical indicator")
        if offending:
            raise KnowledgeError(
                f"{where}: an out-of-scope rule recommends nothing; remove {', '.join(offending)}"
            )
    return Rule(
        id=rule_id,
        topic=topic,
        concern=_str(entry, "concern", where),
        title=_str(entry, "title", where),
        summary=_str(entry, "summary", where),
        statement=_str(entry, "statement", where),
        indicator=_enum_value(Indicator, entry["indicator"], where),
        priority=priority,
        when=when,
        unless=_predicate_names(_str_list(entry, "unless", where), where),
        citations=citations,
        facts=facts,
        thresholds=_str_list(entry, "thresholds", where),
        missing=_str_list(entry, "missing", where),
        alternatives=_conditionals(entry, "alternatives", where, ref=False),
        notes=_conditionals(entry, "notes", where, ref=False),
        newer=newer_refs,
        disagreements=disagreement_refs,
        pathway=tuple(pathway),
        actions=actions,
        regimens=_str_list(entry, "regimens", where),
        collect_missing=collect,
        suppresses=_str_list(entry, "suppresses", where),
        assumes_pmmr=assumes_pmmr,
        out_of_scope=out_of_scope,
    )


def _rule_texts(rule: Rule) -> list[tuple[str, str]]:
    texts = [("summary", rule.summary), ("statement", rule.statement)]
    texts += [("alternative", a.text) for a in rule.alternatives]
    texts += [("note", n.text) for n in rule.notes]
    texts += [("pathway", p.label) for p in rule.pathway]
    texts += [("pathway", p.duration) for p in rule.pathway if p.duration]
    return texts


def _check_texts(
    rule: Rule, names: set[str], newer: Mapping[str, NewerSpec], disagreements: Mapping[str, DisagreementSpec]
) -> None:
    where = f"rule {rule.id!r}"
    texts = _rule_texts(rule)
    texts += [("newer evidence", newer[n.text].text) for n in rule.newer]
    for ref in rule.disagreements:
        item = disagreements[ref.text]
        texts += [("disagreement", item.followed)] + [("disagreement", v.position) for v in item.views]
    for kind, text in texts:
        unknown = _placeholders(text) - names
        if unknown:
            raise KnowledgeError(f"{where}: unknown placeholder(s) {sorted(unknown)} in {kind}")
    sample = rule.summary.format_map(dict.fromkeys(_placeholders(rule.summary), _PLACEHOLDER_SAMPLE))
    if len(summary_prefix_room(rule)) + len(sample) >= SUMMARY_LIMIT or "\n" in rule.summary:
        raise KnowledgeError(
            f"{where}: summary must be one line under {SUMMARY_LIMIT} characters, with room for "
            f"{summary_prefix_room(rule)!r}"
        )


def depends_on_resectability(rule: Rule) -> bool:
    """The rule's firing depends on the resectability value, so a provisional value marks its
    summary (unless the summary already names the basis through ``{resectability_basis}``)."""
    if "{resectability_basis}" in rule.summary:
        return False
    return bool(set(rule.when + rule.unless) & RESECTABILITY_PREDICATES)


def summary_prefix_room(rule: Rule) -> str:
    """The longest prefix ``decide`` may put before the rule's summary."""
    provisional = depends_on_resectability(rule)
    if provisional and rule.assumes_pmmr:
        return BOTH_PREFIXES
    if provisional:
        return PROVISIONAL_PREFIX
    return MMR_PENDING_PREFIX if rule.assumes_pmmr else ""


def parse_knowledge(text: str, topics: Mapping[str, str]) -> Knowledge:
    """Parse and validate rule-base text against the given topic codes (code -> display)."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeError(f"rules.toml is not valid TOML: {exc}") from exc
    _keys(
        data,
        "rules.toml",
        {"version", "sources", "thresholds", "rules", "applicability"},
        {"missing", "newer", "disagreements"},
    )
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise KnowledgeError("rules.toml: 'version' must be a non-empty string")
    sources = _sources(data)
    thresholds = _thresholds(data, sources)
    missing = _missing(data)
    newer = _newer(data, sources)
    disagreements = _disagreements(data, sources)
    applicability = _table(data["applicability"], "applicability")
    _keys(applicability, "applicability", {"citations"}, set())
    applicability_raw = applicability["citations"]
    if not isinstance(applicability_raw, list) or not applicability_raw:
        raise KnowledgeError("applicability: needs at least one citation")
    applicability_citations = tuple(
        _cite(sources, c, f"applicability citation #{i}") for i, c in enumerate(applicability_raw)
    )
    rules_raw = data["rules"]
    if not isinstance(rules_raw, list) or not rules_raw:
        raise KnowledgeError("rules.toml: no rules defined")
    catalogues = (thresholds, missing, newer, disagreements)
    rules = tuple(_rule(raw, i, sources, catalogues, topics) for i, raw in enumerate(rules_raw))
    seen: set[str] = set()
    names = set(PLACEHOLDERS) | set(thresholds)
    for rule in rules:
        if rule.id in seen:
            raise KnowledgeError(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        _check_texts(rule, names, newer, disagreements)
    for rule in rules:
        for other in rule.suppresses:
            if other not in seen or other == rule.id:
                raise KnowledgeError(f"rule {rule.id!r}: suppresses unknown rule {other!r}")
    critical = [r.priority for r in rules if r.indicator is Indicator.CRITICAL]
    warning = [r.priority for r in rules if r.indicator is Indicator.WARNING]
    info = [r.priority for r in rules if r.indicator is Indicator.INFO]
    if critical and (warning or info) and max(critical) >= min(warning + info):
        raise KnowledgeError("critical rules must sort before every other rule (lower priority numbers)")
    if warning and info and max(warning) >= min(info):
        raise KnowledgeError("warning rules must sort before every info rule (lower priority numbers)")
    return Knowledge(
        version=version,
        sources=sources,
        rules=rules,
        thresholds=thresholds,
        missing=missing,
        newer=newer,
        disagreements=disagreements,
        topics=dict(topics),
        applicability=applicability_citations,
    )


def load_knowledge(
    profiles_dir: Path | None = None,
    *,
    text: str | None = None,
    topic_codes: Mapping[str, str] | Collection[str] | None = None,
) -> Knowledge:
    """Load and validate the rule base; raise :class:`KnowledgeError` if it is malformed.

    Args:
        profiles_dir: Directory holding ``CodeSystem-crlm-card-topic.json``; by default the
            installed package's ``fhir_profiles/`` or, failing that, the repository's.
        text: Rule-base text to use instead of the packaged ``rules.toml`` (tests).
        topic_codes: Valid topic codes (or code -> display) to use instead of reading the
            CodeSystem.
    """
    if topic_codes is None:
        topics = _find_topics(profiles_dir)
    elif isinstance(topic_codes, Mapping):
        topics = {str(k): str(v) for k, v in topic_codes.items()}
    else:
        topics = {code: code for code in topic_codes}
    if text is None:
        text = resources.files("cds_service.core").joinpath("rules.toml").read_text("utf-8")
    return parse_knowledge(text, topics)

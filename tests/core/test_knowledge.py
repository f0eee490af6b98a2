"""The rule base loads, is internally consistent with the published CodeSystem, and every kind of
malformation is rejected at start-up with a KnowledgeError that names the problem."""

from __future__ import annotations

import copy
import re
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from cds_service.core import KnowledgeError, load_knowledge
from cds_service.core.knowledge import (
    TOPIC_SYSTEM,
    default_profiles_dirs,
    load_topic_codes,
    parse_topic_codes,
)

from .builders import KNOWLEDGE

RULES_TEXT = resources.files("cds_service.core").joinpath("rules.toml").read_text("utf-8")
TOPICS = dict(KNOWLEDGE.topics)
REPO_PROFILES = Path(__file__).resolve().parents[2] / "fhir_profiles"

EXTRA_RULE = """
[[rules]]
id = "extra-rule"
topic = "missing-data"
concern = "extra"
title = "Extra"
summary = "Extra rule."
statement = "Extra statement."
indicator = "info"
priority = 99
when = ["applicable"]
citations = [{ source = "seed-001", section = "Somewhere" }]
"""


def load(text: str) -> object:
    """Load rule-base text against the published topic codes."""
    return load_knowledge(text=text, topic_codes=TOPICS)


def test_packaged_rule_base_loads() -> None:
    """The packaged rule base validates and exposes its version, sources and rules."""
    assert KNOWLEDGE.version
    assert {"seed-000", "seed-001", "seed-002", "seed-003", "seed-004"} <= set(KNOWLEDGE.sources)
    assert len(KNOWLEDGE.rules) == len({r.id for r in KNOWLEDGE.rules})


def test_topics_match_the_published_codesystem() -> None:
    """Every rule's topic is a published code and every published code is used by a rule."""
    published = load_topic_codes(REPO_PROFILES / "CodeSystem-crlm-card-topic.json")
    assert {r.topic for r in KNOWLEDGE.rules} == set(published)


def test_every_catalogue_entry_is_used() -> None:
    """Sources, missing items, newer notes and disagreements are all referenced somewhere."""
    rules = KNOWLEDGE.rules
    cited = {c.source_id for r in rules for c in r.citations}
    cited |= {t.citation.source_id for t in KNOWLEDGE.thresholds.values()}
    cited |= {n.citation.source_id for n in KNOWLEDGE.newer.values()}
    cited |= {v.citation.source_id for d in KNOWLEDGE.disagreements.values() for v in d.views}
    cited |= {c.source_id for c in KNOWLEDGE.applicability}
    assert cited == set(KNOWLEDGE.sources)
    assert {m for r in rules for m in r.missing} == set(KNOWLEDGE.missing)
    assert {n.text for r in rules for n in r.newer} == set(KNOWLEDGE.newer)
    assert {d.text for r in rules for d in r.disagreements} == set(KNOWLEDGE.disagreements)


def test_newer_sources_are_marked_with_status() -> None:
    """Sources beyond the seeds are marked newer with an evidence status; seeds and the service's own
    readings and data contract are not."""
    for source_id, citation in KNOWLEDGE.sources.items():
        own = source_id.startswith("seed-") or source_id in ("service-reading", "service-data-contract")
        assert citation.newer is (not own)
        assert (citation.status is not None) is citation.newer


def test_service_readings_say_what_they_read() -> None:
    """Every threshold that is the service's reading names the source term it reads, and is not
    attributed to a seed."""
    readings = [t for t in KNOWLEDGE.thresholds.values() if t.citation.source_id == "service-reading"]
    assert {"good_ps_max_ecog", "simultaneous_max_diameter_cm", "rectal_rt_min_t", "upper_rectum_min_cm"} <= {
        t.name for t in readings
    }
    for threshold in readings:
        section = threshold.citation.section
        assert section.startswith("the service's")
        quoted_term = re.search(r"'[^']+'", section.replace("service's", ""))
        assert quoted_term or "estimate" in section, threshold.name


def test_newer_notes_state_their_stance() -> None:
    """Every newer-evidence note says whether it supports, differs from or is adopted as the default."""
    stances = {note.stance for note in KNOWLEDGE.newer.values()}
    assert stances == {"supports", "differs", "adopted"}
    assert all((n.stance == "adopted") is n.adopted for n in KNOWLEDGE.newer.values())


def test_priorities_sort_by_indicator() -> None:
    """Critical rules sort before warnings, and warnings before information."""
    ranks = {"critical": 0, "warning": 1, "info": 2}
    ordered = sorted(KNOWLEDGE.rules, key=lambda r: r.priority)
    assert [ranks[r.indicator.value] for r in ordered] == sorted(ranks[r.indicator.value] for r in ordered)


def test_out_of_scope_rules_only_report_data_problems() -> None:
    """The only rule evaluated out of scope is the data-problem card, and it recommends nothing."""
    out = [r for r in KNOWLEDGE.rules if r.out_of_scope]
    assert [r.id for r in out] == ["data-unreadable-record"]
    assert not any(r.regimens or r.pathway or r.actions or r.alternatives for r in out)
    assert all("applicable" not in r.when for r in out)


def test_only_safety_conflicts_are_critical() -> None:
    """Critical is reserved for the safety-conflict rules."""
    critical = {r.id for r in KNOWLEDGE.rules if r.indicator.value == "critical"}
    assert critical == {r.id for r in KNOWLEDGE.rules if r.id.startswith("conflict-")}


def test_extra_valid_rule_is_accepted() -> None:
    """The template used by the malformation cases is itself valid."""
    knowledge = load(RULES_TEXT + EXTRA_RULE)
    assert "extra-rule" in {r.id for r in knowledge.rules}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('topic = "missing-data"', 'topic = "not-a-topic"', "not in the published card-topic CodeSystem"),
        (
            'citations = [{ source = "seed-001", section = "Somewhere" }]',
            "citations = []",
            "at least one citation",
        ),
        (
            'source = "seed-001", section = "Somewhere"',
            'source = "seed-999", section = "Somewhere"',
            "unknown source",
        ),
        ('when = ["applicable"]', 'when = ["no_such_predicate"]', "unknown predicate"),
        ('when = ["applicable"]', "when = []", "at least one predicate"),
        ('when = ["applicable"]', 'when = ["applicable"]\nfacts = ["nope"]', "unknown fact view"),
        ('when = ["applicable"]', 'when = ["applicable"]\nthresholds = ["nope"]', "unknown threshold"),
        ('when = ["applicable"]', 'when = ["applicable"]\nmissing = ["nope"]', "unknown missing item"),
        ('when = ["applicable"]', 'when = ["applicable"]\nnewer = ["nope"]', "unknown newer-evidence note"),
        ('when = ["applicable"]', 'when = ["applicable"]\ndisagreements = ["nope"]', "unknown disagreement"),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nalternatives = [{ text = "x", when = ["nope"] }]',
            "unknown predicate",
        ),
        ('statement = "Extra statement."', 'statement = "Extra {nope}."', "unknown placeholder"),
        ('statement = "Extra statement."', 'statement = "Extra {broken."', "malformed placeholder"),
        ('summary = "Extra rule."', 'summary = "' + "x" * 140 + '"', "summary must be one line"),
        ('indicator = "info"', 'indicator = "urgent"', "is not one of"),
        ("priority = 99", "priority = -1", "priority must be"),
        ("priority = 99", 'priority = "high"', "priority must be"),
        ('id = "extra-rule"', 'id = "Extra Rule"', "id must be"),
        ('id = "extra-rule"', 'id = "timing-synchronous"', "duplicate rule id"),
        ('title = "Extra"', 'title = "Extra"\ncolour = "red"', "unknown key"),
        ('title = "Extra"\n', "", "missing title"),
        ('indicator = "info"', 'indicator = "critical"', "critical rules must sort before"),
        ('when = ["applicable"]', 'when = ["applicable"]\nactions = ["draft-careplan"]', "needs a pathway"),
        ('when = ["applicable"]', 'when = ["applicable"]\nactions = ["phone-a-friend"]', "is not one of"),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\npathway = [{ kind = "magic", label = "x" }]',
            "is not one of",
        ),
        ('when = ["applicable"]', 'when = ["applicable"]\ncollect_missing = "yes"', "collect_missing"),
        ('when = ["applicable"]', 'when = ["applicable"]\nassumes_pmmr = "yes"', "assumes_pmmr"),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nsuppresses = ["no-such-rule"]',
            "suppresses unknown rule",
        ),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nsuppresses = ["extra-rule"]',
            "suppresses unknown rule",
        ),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\npathway = [{ kind = "systemic", label = "x", when = ["nope"] }]',
            "unknown predicate",
        ),
        ('indicator = "info"', 'indicator = "warning"', "warning rules must sort before every info rule"),
        ('when = ["applicable"]', 'when = ["applicable"]\nout_of_scope = "yes"', "out_of_scope"),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nout_of_scope = true\nregimens = ["folfox"]',
            "out-of-scope rule recommends nothing; remove regimens",
        ),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nout_of_scope = true\nactions = ["mdt-referral"]',
            "remove actions",
        ),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nout_of_scope = true\npathway = [{ kind = "surgery", label = "x" }]',
            "remove pathway",
        ),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nout_of_scope = true\nalternatives = ["FOLFOX"]',
            "remove alternatives",
        ),
        (
            'when = ["applicable"]',
            'when = ["applicable"]\nout_of_scope = true\nassumes_pmmr = true',
            "assumes_pmmr",
        ),
        (
            'summary = "Extra rule."',
            'summary = "' + "x" * 128 + '"\nassumes_pmmr = true',
            "with room for 'MMR pending: '",
        ),
    ],
)
def test_malformed_rule_is_rejected(old: str, new: str, message: str) -> None:
    """A rule with one defect stops the rule base from loading, with a message naming it."""
    extra = EXTRA_RULE.replace(old, new)
    assert extra != EXTRA_RULE
    with pytest.raises(KnowledgeError, match=message):
        load(RULES_TEXT + extra)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('version = "', 'version = "" #', "'version' must be"),
        ("[applicability]", "[applicability", "not valid TOML"),
        ('value = 4\nunit = "lesions"', 'value = 4.5\nunit = "lesions"', "must be an integer"),
        ('value = 20\nunit = "%"', 'value = true\nunit = "%"', "must be a number"),
        ('value = 20\nunit = "%"', 'value = -20\nunit = "%"', "must not be negative"),
        (
            "[thresholds.fong_high_risk_min]",
            "[thresholds.fong_high_risk_minimum]",
            "not a threshold the rules use",
        ),
        (
            "[newer.nccn-upfront-resection]\n",
            "[newer.nccn-upfront-resection]\nadopted = true\n",
            "only verified",
        ),
        (
            '[newer.epoc-no-os]\nsource = "epoc"',
            '[newer.epoc-no-os]\nsource = "seed-001"',
            "not marked newer",
        ),
        ('stance = "differs"', 'stance = "maybe"', "'stance' must be one of"),
        ('stance = "differs"', 'stance = "adopted"', "stance 'adopted' goes with adopted = true"),
        ('newer = true\nstatus = "T"', "newer = true", "needs a status"),
        (
            'url = "https://doi.org/10.3748/wjg.v30.i7.663"',
            'url = "doi.org/10.3748/wjg.v30.i7.663"',
            "absolute https URL",
        ),
        ('unknown_when = "ras_unknown"', 'unknown_when = "ras_unknownn"', "unknown predicate"),
        ("[applicability]", "[applicability]\nextra = 1", "unknown key"),
        ('version = "', 'colour = "red"\nversion = "', "unknown key"),
    ],
)
def test_malformed_rule_base_is_rejected(old: str, new: str, message: str) -> None:
    """Defects outside the rules (sources, thresholds, catalogues, syntax) are rejected too."""
    assert old in RULES_TEXT
    with pytest.raises(KnowledgeError, match=message):
        load(RULES_TEXT.replace(old, new, 1))


def test_disagreement_needs_two_views() -> None:
    """A disagreement with a single view is rejected."""
    text = (
        RULES_TEXT
        + '\n[disagreements.lonely]\nquestion = "q"\nfollowed = "f"\n'
        + ('views = [{ source = "seed-001", section = "s", position = "p" }]\n')
    )
    with pytest.raises(KnowledgeError, match="at least two views"):
        load(text)


def test_missing_threshold_is_rejected() -> None:
    """Every threshold the code reads must be defined in the rule base."""
    start = RULES_TEXT.index("[thresholds.fong_high_risk_min]")
    end = RULES_TEXT.index("# --- Missing-data catalogue")
    with pytest.raises(KnowledgeError, match="thresholds missing: fong_high_risk_min"):
        load(RULES_TEXT[:start] + RULES_TEXT[end:])


def test_topic_codes_passed_in_are_checked() -> None:
    """Topic codes passed as a plain collection are used for validation."""
    codes = set(TOPICS) - {"missing-data"}
    with pytest.raises(KnowledgeError, match="'missing-data' is not in the published"):
        load_knowledge(topic_codes=codes)


VALID_CODESYSTEM: dict[str, Any] = {
    "resourceType": "CodeSystem",
    "url": TOPIC_SYSTEM,
    "status": "active",
    "content": "complete",
    "count": 1,
    "concept": [{"code": "a", "display": "A", "definition": "The A topic."}],
}


def _variant(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID_CODESYSTEM)
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


def test_valid_codesystem_is_accepted() -> None:
    """The minimal valid CodeSystem gives its codes with displays."""
    assert parse_topic_codes(VALID_CODESYSTEM) == {"a": "A"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (_variant(("resourceType",), "ValueSet"), "resourceType must be CodeSystem"),
        (_variant(("url",), "http://example.org/cs"), "url must be"),
        (_variant(("status",), "draft"), "status must be"),
        (_variant(("content",), "fragment"), "content must be"),
        (_variant(("concept",), []), "no concepts"),
        (_variant(("concept", 0, "definition"), None), "'definition' must be"),
        (_variant(("concept", 0, "display"), ""), "'display' must be"),
        (_variant(("concept",), [VALID_CODESYSTEM["concept"][0]] * 2), "duplicate code"),
        (_variant(("count",), 3), "count 3 does not match"),
        ([], "resourceType must be CodeSystem"),
    ],
)
def test_malformed_codesystem_is_rejected(document: Any, message: str) -> None:
    """A card-topic CodeSystem that is not an active, complete, defined vocabulary is rejected."""
    with pytest.raises(KnowledgeError, match=message):
        parse_topic_codes(document)


def test_codesystem_file_must_exist(tmp_path: Path) -> None:
    """Start-up fails when the profiles directory has no card-topic CodeSystem."""
    with pytest.raises(KnowledgeError, match="not found"):
        load_knowledge(tmp_path)


def test_profiles_directory_is_used() -> None:
    """An explicit profiles directory is read for the topic codes."""
    assert load_knowledge(REPO_PROFILES).topics == KNOWLEDGE.topics


def test_installed_profiles_are_looked_up_first() -> None:
    """The wheel's ``cds_service/fhir_profiles`` comes before the repository's ``fhir_profiles``."""
    installed, repository = default_profiles_dirs()
    assert installed.parent.name == "cds_service"
    assert repository == REPO_PROFILES

"""The explanation page's content and template, from hand-built facts and decisions (no FHIR, no HTTP)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask import Flask, render_template

from cds_service.core.facts import DataNote, Fact, LiverMetastases, PatientFacts, PrimarySite, PrimaryTumour
from cds_service.core.recommendations import (
    Citation,
    Decision,
    FactUsed,
    Indicator,
    MissingItem,
    NewerEvidence,
    OrderableTest,
    PathwayPhase,
    PhaseKind,
    Recommendation,
)
from cds_service.smart.errors import Conflict
from cds_service.smart.page import (
    PageModel,
    build_page,
    patient_banner,
    rule_anchor,
    rule_from_app_context,
)

BASE = "https://cds.example.org"
SEED = Citation("seed-001", "ESMO-based summary (seed 001)", "001.txt", "Synchronous disease")
NEWER = Citation(
    "asco-2023",
    "ASCO 2023",
    "J Clin Oncol 2023",
    "Rec 3.1",
    url="https://doi.org/10.1/x",
    newer=True,
    status="V",
)
RAS_TEST = OrderableTest("http://loinc.org", "21702-5", "KRAS gene mutations found")

FACTS = PatientFacts(
    patient="Patient/p1",
    birth_date=date(1960, 1, 2),
    primary=PrimaryTumour(
        condition=Fact("http://snomed.info/sct|363410008", ("Condition/c1",), date(2026, 9, 1)),
        site=Fact(PrimarySite.SIGMOID_COLON, ("Condition/c1",), date(2026, 9, 1)),
    ),
    liver_metastases=LiverMetastases(
        condition=Fact("http://snomed.info/sct|94381002", ("Condition/c2",), date(2026, 9, 8)),
        lesion_count=Fact(3, ("Observation/o1",), date(2026, 9, 10), note="<i>from CT</i>"),
    ),
    data_notes=(DataNote("preliminary", "A preliminary CEA result was ignored.", ("Observation/o9",)),),
)

PATHWAY_REC = Recommendation(
    rule_id="seq-chemo-first",
    topic="sequencing",
    summary="Chemotherapy first, then liver surgery, then the primary.",
    indicator=Indicator.INFO,
    priority=10,
    statement="Start with systemic therapy & reassess.",
    facts_used=(FactUsed("Liver lesions", "3", ("Observation/o1", "Observation/o1"), date(2026, 9, 10)),),
    citations=(SEED, NEWER),
    alternatives=("Simultaneous resection", "Primary first"),
    missing=(MissingItem("ras", "RAS status", "decides anti-EGFR", RAS_TEST),),
    newer_evidence=(NewerEvidence("Consider a shorter course.", NEWER),),
    pathway=(
        PathwayPhase(PhaseKind.SYSTEMIC, "FOLFOX", "3 months (about 6 cycles)"),
        PathwayPhase(PhaseKind.ASSESSMENT, "Restaging CT", "every 2 months"),
        PathwayPhase(PhaseKind.SURGERY, "Hepatectomy"),
        PathwayPhase(PhaseKind.SURGERY, "Primary resection"),
        PathwayPhase(PhaseKind.SYSTEMIC, "Adjuvant chemotherapy", "3 months"),
    ),
)
WARNING_REC = Recommendation(
    rule_id="warn-margin",
    topic="warning",
    summary="R1 margin: continue chemotherapy.",
    indicator=Indicator.WARNING,
    priority=5,
    statement="A positive margin is recorded.",
    facts_used=(),
    citations=(SEED,),
    missing=(MissingItem("ras", "RAS status", "decides anti-EGFR", RAS_TEST),),
)
DECISION = Decision(
    True, "Confirmed CRLM.", (PATHWAY_REC, WARNING_REC), (FactUsed("Timing", "synchronous"),), "1.2.3"
)
PATIENT = {
    "resourceType": "Patient",
    "id": "p1",
    "name": [{"given": ["Eve"], "family": "<Tester>"}],
    "gender": "female",
}


def model(opened: str | None = None, decision: Decision = DECISION) -> PageModel:
    """The page model for the hand-built patient."""
    banner = patient_banner(PATIENT, "p1")
    return build_page(FACTS, decision, banner, today=date(2026, 12, 1), base_url=BASE, opened_rule=opened)


def render(app: Flask, page: PageModel) -> str:
    """The page's HTML as the app renders it."""
    with app.test_request_context("/smart/app/x"):
        html: str = render_template("smart/page.html", model=page, demo=False, demo_data=False)
    return html


def test_recommendations_follow_priority_and_warnings_are_collected() -> None:
    """Recommendations are ordered by priority; warnings list the non-info ones."""
    page = model()
    assert [r.rule_id for r in page.recommendations] == ["warn-margin", "seq-chemo-first"]
    assert [w.rule_id for w in page.warnings] == ["warn-margin"]


def test_missing_data_is_listed_once_with_what_needs_it() -> None:
    """The same missing item from two recommendations appears once, naming both and the test to order."""
    (item,) = model().missing
    assert item.label == "RAS status" and "21702-5" in (item.order or "")
    assert item.needed_for == (WARNING_REC.summary, PATHWAY_REC.summary)


def test_facts_table_has_sources_and_dates() -> None:
    """Each fact row carries its FHIR source and date; the patient row is left to the banner."""
    rows = {f.label: f for f in model().facts}
    assert rows["Primary tumour site"].value == "sigmoid-colon"
    assert (
        rows["Primary tumour site"].sources == ("Condition/c1",)
        and rows["Primary tumour site"].when == "2026-09-01"
    )
    assert rows["Date of birth"].sources == ("Patient/p1",)
    assert rows["Number of liver lesions"].note == "<i>from CT</i>"
    assert all(not f.label.startswith("Patient") for f in model().facts)


def test_sources_are_deduplicated_with_links() -> None:
    """Every cited source appears once, with its own URL or the service's source page."""
    urls = {s.label: s.url for s in model().sources}
    assert urls == {SEED.label: f"{BASE}/knowledge/sources/seed-001", NEWER.label: "https://doi.org/10.1/x"}


def test_page_shows_the_pathway_as_an_ordered_timeline(app: Flask) -> None:
    """The phases appear in order with their kind and duration, alternatives beside them."""
    html = render(app, model())
    timeline = html[html.index('class="timeline"') : html.index("</ol>", html.index('class="timeline"'))]
    labels = re.findall(r'<span class="phase-label">([^<]*)</span>', timeline)
    assert labels == ["FOLFOX", "Restaging CT", "Hepatectomy", "Primary resection", "Adjuvant chemotherapy"]
    assert "Step 1" in timeline and "Systemic therapy" in timeline and "Duration: every 2 months" in timeline
    assert "Alternatives the sources allow" in html and "Simultaneous resection" in html


@pytest.mark.parametrize(
    "text",
    [
        "Supports, does not replace, the multidisciplinary team's decision.",
        'Knowledge base version <span class="knowledge-version">1.2.3</span>',
        "A preliminary CEA result was ignored.",
        "Newer evidence, differs, not followed:",
        'href="https://doi.org/10.1/x"',
        "Warning</span>",
        "Derived facts the reasoning used",
    ],
)
def test_page_shows_each_part(app: Flask, text: str) -> None:
    """The page has the statement, version, notes, newer evidence, links, labelled badges, derived facts."""
    assert text in render(app, model())


def test_ehr_text_is_escaped_in_the_template(app: Flask) -> None:
    """Names and notes from the EHR are escaped; the statement's ampersand too."""
    html = render(app, model())
    assert "Eve &lt;Tester&gt;" in html and "&lt;i&gt;from CT&lt;/i&gt;" in html
    assert "systemic therapy &amp; reassess" in html
    assert "<Tester>" not in html and "<i>from CT" not in html


def test_opened_rule_is_marked_only_when_known(app: Flask) -> None:
    """The rule from appContext is marked; an unknown one is ignored."""
    assert "You opened this page from this card." in render(app, model("seq-chemo-first"))
    assert model("no-such-rule").opened_rule is None


def test_not_in_scope_page_has_no_recommendations(app: Flask) -> None:
    """A patient out of scope gets the reason and the facts, and no recommendation sections."""
    out = Decision(False, "No confirmed liver metastases.", (), (), "1.2.3")
    html = render(app, model(decision=out))
    assert "Not in scope" in html and "No confirmed liver metastases." in html
    assert 'class="recommendation' not in html


def test_out_of_scope_data_card_is_shown(app: Flask) -> None:
    """What the core returns out of scope (only the unreadable-record card) is shown, as on the cards."""
    unreadable = Recommendation(
        rule_id="data-unreadable-record",
        topic="data-unreadable-record",
        summary="A colorectal primary record could not be read: the patient could not be assessed.",
        indicator=Indicator.WARNING,
        priority=10,
        statement="Fix Condition/primary-1 (invalid onsetDateTime).",
        facts_used=(),
        citations=(SEED,),
    )
    out = Decision(False, "Out of scope: a relevant record could not be read.", (unreadable,), (), "1.2.3")
    html = render(app, model(decision=out))
    assert "Not in scope" in html
    assert "could not be assessed" in html and 'class="recommendation' in html


@pytest.mark.parametrize(
    ("app_context", "rule"),
    [
        ('{"rule":"seq-chemo-first"}', "seq-chemo-first"),
        ('{"rule": 3}', None),
        ("[]", None),
        ("not json", None),
        (None, None),
        ('{"rule":"' + "x" * 600 + '"}', None),
    ],
)
def test_rule_from_app_context(app_context: str | None, rule: str | None) -> None:
    """Only a small JSON object naming a rule opens it; anything else is ignored."""
    assert rule_from_app_context(app_context) == rule


def test_banner_refuses_another_patient() -> None:
    """A Patient resource that is not the token's patient is refused."""
    with pytest.raises(Conflict):
        patient_banner(PATIENT, "p2")
    with pytest.raises(Conflict):
        patient_banner(None, "p1")


def test_rule_anchor_is_a_safe_fragment() -> None:
    """Rule ids become fragment ids without characters that need escaping."""
    assert rule_anchor("a b/c<d>") == "rule-a-b-c-d-"


def test_every_fact_field_has_a_display_label() -> None:
    """Every field of the facts contract has a human label on the page (no "Mdt history" fallbacks)."""
    import dataclasses

    from cds_service.core.facts import LiverMetastases, Molecular, PatientFacts, PrimaryTumour
    from cds_service.smart.page import _HIDDEN_FACTS, FACT_LABELS

    prefixes = {PrimaryTumour: "primary.", LiverMetastases: "liver_metastases.", Molecular: "molecular."}
    for cls, prefix in prefixes.items():
        for field in dataclasses.fields(cls):
            assert prefix + field.name in FACT_LABELS, prefix + field.name
    for field in dataclasses.fields(PatientFacts):
        if (
            field.name in ("primary", "liver_metastases", "molecular", "birth_date")
            or field.name in _HIDDEN_FACTS
        ):
            continue
        assert field.name in FACT_LABELS, field.name

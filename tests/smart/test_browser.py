"""The explanation app in a real browser: headless Debian Chromium driven by Playwright.

The EHR is the stand-in (``standin.py``); the app runs on loopback. For each clinical scenario the
test calls the ``patient-view`` hook, follows the first card's ``smart`` link the way an EHR does
(``iss`` + ``launch``), and checks that the page shows the facts, the pathway and the citations the
decision path produced; axe-core (vendored, offline) must report no violation; a screenshot of each
page goes to ``tests/artifacts/smart/``. Skipped with a reason when Chromium or Playwright is missing,
unless ``CRLM_TEST_REQUIRE_ALL=1``.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from cds_service.app import STATE_KEY, create_app
from cds_service.cli import request_from_bundle
from cds_service.hooks import parse_hook_request
from cds_service.smart.page import PageModel, build_page, patient_banner
from tests.conftest import FIXED_TODAY
from tests.smart.conftest import LiveApp, Scenario, smart_settings
from tests.smart.standin import StandInEhr
from tests.support import REPO, require_tool

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "tests" / "artifacts" / "smart"
AXE_SOURCE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
CRLM_SCENARIOS = ["dmmr-rectal", "rectal-treated", "r1-margin", "lung-extrahepatic"]


@pytest.fixture(name="browser", scope="module")
def _browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A persistent Chromium context with a fresh profile directory (never a downloaded browser)."""
    require_tool(CHROMIUM, "the browser tests drive Debian's chromium package (apt-get install chromium)")
    require_tool(
        str(Path(sys.executable).with_name("playwright")), "the browser tests need Playwright's package"
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(name="page")
def _page(browser: Any) -> Iterator[Any]:
    """A new tab with no cookies; console errors (CSP violations included) are collected."""
    browser.clear_cookies()
    tab = browser.new_page()
    tab.errors = []
    tab.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: tab.errors.append(str(e)))
    yield tab
    tab.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Run axe-core on the page (WCAG 2.x A/AA and best practices) and return its violations."""
    page.evaluate(AXE_SOURCE.read_text("utf-8"))
    violations: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
            return result.violations.map(
                v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}));
        }""",
        AXE_TAGS,
    )
    return violations


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot for review, and its first 1800 pixels (the README's picture)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    width = page.viewport_size["width"]
    page.screenshot(
        path=str(ARTIFACTS / f"{name}-top.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": width, "height": 1800},
    )
    return path


def expected_page(live: LiveApp, scenario: Scenario, opened: str | None) -> PageModel:
    """What the page must show: the hook's own decision path run on the scenario's record."""
    state = live.app.extensions[STATE_KEY]
    service = state.registry.get("crlm-patient-view")
    body = request_from_bundle(scenario.bundle, service, json.dumps(scenario.bundle).encode())
    evaluation = state.path.evaluate(
        parse_hook_request(body, expected_hook=service.hook), service, today=FIXED_TODAY, base_url=live.base
    )
    banner = patient_banner(body["prefetch"]["patient"], scenario.patient_id)
    return build_page(
        evaluation.facts,
        evaluation.decision,
        banner,
        today=FIXED_TODAY,
        base_url=live.base,
        opened_rule=opened,
    )


def first_smart_link(live: LiveApp, scenario: Scenario) -> dict[str, Any]:
    """The smart link of the first card the hook returns for the scenario, over HTTP."""
    body = request_from_bundle(
        scenario.bundle, live.app.extensions[STATE_KEY].registry.get("crlm-patient-view"), b"x"
    )
    body["context"]["userId"] = "Practitioner/test"
    answer = requests.post(f"{live.base}/cds-services/crlm-patient-view", json=body, timeout=10)
    assert answer.status_code == 200
    cards = answer.json()["cards"]
    assert cards, "a CRLM patient gets cards"
    link: dict[str, Any] = next(link for link in cards[0]["links"] if link["type"] == "smart")
    return link


def assert_shows(page: Any, model: PageModel) -> None:
    """The page shows the banner, each fact with source and date, each pathway phase in order, each source."""
    assert page.locator("h1.patient-name").inner_text() == model.banner.name
    rows = page.locator("section.facts-found table").first.locator("tbody tr")
    assert rows.count() == len(model.facts)
    for index, fact in enumerate(model.facts):
        cells = rows.nth(index).locator("th, td").all_inner_texts()
        assert cells[0] == fact.label and cells[1].startswith(fact.value)
        assert all(source in cells[2] for source in fact.sources)
        assert cells[3] == (fact.when or "not recorded")
    for rec in model.recommendations:
        section = page.locator(f"section#{rec.anchor}")
        assert section.locator("h2").inner_text().endswith(rec.summary)
        phases = section.locator(".timeline .phase-label").all_inner_texts()
        assert phases == [phase.label for phase in rec.pathway]
        assert section.locator(".citations a").all_inner_texts() == [c.label for c in rec.citations]
    sources = page.locator("section.sources li a")
    assert sources.all_inner_texts() == [s.label for s in model.sources]
    assert [sources.nth(i).get_attribute("href") for i in range(sources.count())] == [
        s.url for s in model.sources
    ]
    assert page.locator(".knowledge-version").inner_text() == model.knowledge_version
    assert "does not replace" in page.locator("footer").inner_text()


@pytest.mark.parametrize("key", CRLM_SCENARIOS)
def test_card_link_opens_the_patients_explanation(
    page: Any, live_app: LiveApp, standin: StandInEhr, scenarios: dict[str, Scenario], key: str
) -> None:
    """Following a CRLM card's smart link in the stand-in EHR shows that patient's whole explanation."""
    scenario = scenarios[key]
    link = first_smart_link(live_app, scenario)
    assert link["url"] == f"{live_app.base}/smart/launch"
    response = page.goto(standin.launch_url(link["url"], scenario.patient_id, link["appContext"]))
    assert response.status == 200
    opened = json.loads(link["appContext"])["rule"]
    assert page.url.endswith(f"#rule-{opened}")
    model = expected_page(live_app, scenario, opened)
    assert model.recommendations and model.facts and model.sources
    assert_shows(page, model)
    assert page.locator(".opened-note").count() == 1
    assert page.locator(".demo-banner").count() == 0
    screenshot(page, key)
    assert axe_violations(page) == []
    assert page.errors == []


def test_scenarios_cover_pathways_and_warnings(live_app: LiveApp, scenarios: dict[str, Scenario]) -> None:
    """The browser scenarios are different patients with different recommendations, pathways and warnings.

    So the pathway, warning and citation checks of the scenario test are not vacuous.
    """
    models = [expected_page(live_app, scenarios[k], None) for k in CRLM_SCENARIOS]
    assert len({m.banner.reference for m in models}) == len(models) >= 3
    assert len({tuple(r.rule_id for r in m.recommendations) for m in models}) >= 3
    assert sum(1 for m in models if any(r.pathway for r in m.recommendations)) >= 2
    assert any(m.warnings for m in models) and all(m.sources for m in models)


def test_patient_out_of_scope(
    page: Any, live_app: LiveApp, standin: StandInEhr, scenarios: dict[str, Scenario]
) -> None:
    """A colorectal cancer without liver metastases: no card, and the app says why, with the facts found."""
    scenario = scenarios["not-in-scope"]
    response = page.goto(standin.launch_url(f"{live_app.base}/smart/launch", scenario.patient_id))
    assert response.status == 200
    assert "Not in scope" in page.locator("section.overview").inner_text()
    assert page.locator("section.recommendation").count() == 0
    assert_shows(page, expected_page(live_app, scenario, None))
    screenshot(page, "not-in-scope")
    assert axe_violations(page) == []


def test_launch_inside_an_iframe(
    page: Any, live_app: LiveApp, standin: StandInEhr, scenarios: dict[str, Scenario]
) -> None:
    """Embedded by the EHR in a cross-site iframe, the launch and the page work (SameSite=None cookie)."""
    scenario = scenarios["dmmr-rectal"]
    link = first_smart_link(live_app, scenario)
    page.goto(standin.frame_url(standin.launch_url(link["url"], scenario.patient_id, link["appContext"])))
    frame = page.frame_locator("iframe#app")
    frame.locator("h1.patient-name").wait_for(timeout=10000)
    assert frame.locator("h1.patient-name").inner_text() == scenario.name
    assert frame.locator("section.recommendation").count() >= 1
    screenshot(page, "in-iframe")


@pytest.mark.parametrize(
    ("case", "status", "title"),
    [
        ("state-mismatch", 400, "This sign-in does not match a launch from this browser"),
        ("wrong-issuer", 403, "This EHR is not allowed"),
        ("expired-token", 401, "The EHR no longer accepts this app's access"),
        ("missing-token", 401, "The EHR did not issue an access token"),
    ],
)
def test_failures_end_on_a_clear_error_page(
    page: Any, live_app: LiveApp, standin: StandInEhr, case: str, status: int, title: str
) -> None:
    """State mismatch, a wrong issuer, an expired or a missing token end on a 4xx page without a trace."""
    launch = standin.launch_url(f"{live_app.base}/smart/launch", "crlm-single")
    if case == "state-mismatch":
        standin.faults.add("wrong_state")
    elif case == "wrong-issuer":
        launch = f"{live_app.base}/smart/launch?iss=https://ehr.invalid/fhir&launch=abc"
    elif case == "missing-token":
        standin.faults.add("no_token")
    response = page.goto(launch)
    if case == "expired-token":
        assert response.status == 200
        standin.reject_all_tokens()
        response = page.reload()
    assert response.status == status
    assert page.locator("h1").inner_text() == title
    body = page.locator("body").inner_text()
    assert "Traceback" not in body and 'File "' not in body
    assert f"{status}" in page.locator(".error-meta").inner_text() and "SMART-" in body
    screenshot(page, f"error-{case}")
    assert axe_violations(page) == []


def test_page_prints_on_a4_without_cutting_content(
    page: Any, live_app: LiveApp, standin: StandInEhr, scenarios: dict[str, Scenario]
) -> None:
    """With the print stylesheet at A4 width nothing overflows sideways, and a PDF is produced."""
    scenario = scenarios["dmmr-rectal"]
    page.goto(standin.launch_url(f"{live_app.base}/smart/launch", scenario.patient_id))
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 700, "height": 1000})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.locator("nav").is_hidden()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.pdf(path=str(ARTIFACTS / "dmmr-rectal.pdf"), format="A4", print_background=True)
    assert (ARTIFACTS / "dmmr-rectal.pdf").stat().st_size > 10_000


@pytest.fixture(name="demo_app", scope="module")
def _demo_app(tmp_path_factory: pytest.TempPathFactory, standin: StandInEhr) -> Iterator[LiveApp]:
    """The application in demo mode, served on loopback."""
    from werkzeug.serving import make_server

    from tests.smart.conftest import _LateApp

    holder = _LateApp()
    server = make_server("127.0.0.1", 0, holder, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    database = tmp_path_factory.mktemp("smart-demo") / "cds.sqlite3"
    settings = smart_settings(
        database, base, standin, smart_client_id="", smart_demo=True, fhir_server_allowlist=()
    )
    app = create_app(settings, today=lambda: FIXED_TODAY)
    holder.target = app.wsgi_app
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveApp(base, app)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_demo_mode_shows_an_example_patient(page: Any, demo_app: LiveApp) -> None:
    """The demo EHR lists the example patients' cards; a smart link opens the page, marked DEMO."""
    page.goto(f"{demo_app.base}/demo/")
    assert "DEMO" in page.locator(".demo-banner").inner_text()
    assert page.locator("section.demo-patient").count() >= 3
    assert axe_violations(page) == []
    screenshot(page, "demo-launcher")
    page.locator("section.demo-patient ul.demo-cards a").first.click()
    page.locator("h1.patient-name").wait_for()
    assert "DEMO" in page.locator(".demo-banner").inner_text()
    assert "DEMO DATA" in page.locator(".patient-banner").inner_text()
    assert page.locator("section.recommendation").count() >= 1
    assert axe_violations(page) == []
    assert page.errors == []
    screenshot(page, "demo-page")

"""fhir_profiles/ is valid FHIR, equals the mapping's code tables, and its prefetch asks for exactly them."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from fhir.resources.R4B import get_fhir_model_class

from cds_service import fhir_codes as fc
from cds_service.core.facts import Agent, BrafStatus, Margin, MmrStatus, MutationStatus, PrimarySite
from cds_service.fhir_mapping import map_patient
from tests.mapping import profile_sources as sources

GENERATED = sources.generated_files()
ALL_RESOURCES = sorted(
    p for p in sources.PROFILES.rglob("*.json") if "resourceType" in json.loads(p.read_text("utf-8"))
)
LABEL_SYSTEMS = {label: system for system, label in fc.SYSTEM_LABELS.items()}


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", sorted(GENERATED), ids=lambda p: p.name)
def test_generated_files_are_up_to_date(path: Path) -> None:
    """Each ValueSet, the CodeSystem, profiles and examples equal what the code tables generate."""
    assert path.exists(), "run: .venv/bin/python -m tests.mapping.profile_sources"
    assert path.read_text(encoding="utf-8") == GENERATED[path], (
        "run: .venv/bin/python -m tests.mapping.profile_sources"
    )


def test_no_stale_generated_files() -> None:
    """Every ValueSet, data-item profile and example on disk is still generated (none left over)."""
    patterns = ("ValueSet-*.json", "StructureDefinition-crlm-*.json", "examples/*.json")
    on_disk = {p for pattern in patterns for p in sources.PROFILES.glob(pattern)}
    assert on_disk <= set(GENERATED)


@pytest.mark.parametrize("path", ALL_RESOURCES, ids=lambda p: str(p.relative_to(sources.PROFILES)))
def test_resources_parse_with_r4b(path: Path) -> None:
    """Every FHIR resource in fhir_profiles/ (all but the discovery document) is valid for R4B models."""
    document = _read(path)
    model = get_fhir_model_class(document["resourceType"])
    assert model.model_validate(document).id == document.get("id")


def test_value_sets_on_disk_equal_the_mapping_tables() -> None:
    """Reading the ValueSet files back gives exactly the codes and meanings the mapping uses."""
    for table in fc.TABLES:
        value_set = _read(sources.PROFILES / f"ValueSet-{table.id}.json")
        found: dict[tuple[str, str], str | None] = {}
        for include in value_set["compose"]["include"]:
            for concept in include["concept"]:
                meaning = next(
                    (
                        e["valueCode"]
                        for e in concept.get("extension", [])
                        if e["url"] == fc.MEANING_EXTENSION
                    ),
                    None,
                )
                found[(include["system"], concept["code"])] = meaning
        expected = {key: (str(m) if m is not None else None) for key, m in table.meanings().items()}
        assert found == expected, table.id
        assert value_set["url"] == f"{fc.CANONICAL_BASE}/ValueSet/{table.id}"


def test_local_code_system_holds_every_local_code() -> None:
    """Every crlm-data-item code a table reads is defined in the published CodeSystem."""
    code_system = _read(sources.PROFILES / "CodeSystem-crlm-data-item.json")
    defined = {c["code"] for c in code_system["concept"]}
    used = {code for table in fc.TABLES for system, code in table.codes() if system == fc.DATA_ITEM}
    assert used <= defined
    assert code_system["url"] == fc.DATA_ITEM
    assert code_system["count"] == len(defined)


def test_every_observation_data_item_has_a_profile() -> None:
    """Each local observation item has a StructureDefinition fixing its code."""
    for item in fc.DATA_ITEMS:
        if item.kind != "observation":
            continue
        profile = _read(sources.PROFILES / f"StructureDefinition-crlm-{item.code}.json")
        code = next(e for e in profile["differential"]["element"] if e["path"] == "Observation.code")
        assert code["patternCodeableConcept"]["coding"] == [{"system": fc.DATA_ITEM, "code": item.code}]


def _readme_rows() -> dict[str, set[tuple[str, str]]]:
    """ValueSet id -> (system, code) pairs listed in the README table, parsed from the Markdown."""
    text = sources.README.read_text(encoding="utf-8")
    rows: dict[str, set[tuple[str, str]]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[2].startswith("[crlm-"):
            continue
        value_set = re.match(r"\[([a-z0-9-]+)\]", cells[2])
        assert value_set is not None
        pairs: set[tuple[str, str]] = set()
        for group in re.split(r"<br>|; ", cells[3]):
            group = re.sub(r"^\*\*[^*]+\*\*: ", "", group)
            label, _, codes = group.partition(" `")
            system = LABEL_SYSTEMS[label.strip()]
            pairs |= {(system, code) for code in re.findall(r"`([^`]+)`", "`" + codes)}
        rows[value_set[1]] = pairs
    return rows


def test_readme_table_lists_exactly_the_codes_read() -> None:
    """The README table, parsed back, lists exactly the codes of every mapping table."""
    rows = _readme_rows()
    assert set(rows) == {t.id for t in fc.TABLES}
    for table in fc.TABLES:
        assert rows[table.id] == set(table.codes()), table.id


def test_readme_table_is_generated_from_the_tables() -> None:
    """The generated section of the README is current."""
    text = sources.README.read_text(encoding="utf-8")
    assert sources.readme_with_table(text) == text


@pytest.mark.parametrize("table", [t for t in fc.TABLES if t.example.endswith(".json")], ids=lambda t: t.id)
def test_readme_example_shows_the_representation(table: fc.CodeTable) -> None:
    """The example file named for a table contains at least one of its codes."""
    example = _read(sources.EXAMPLES / table.example)
    text = json.dumps(example)
    assert any(f'"{code}"' in text for _, code in table.codes()), table.example


def _prefetch() -> dict[str, str]:
    services = _read(sources.PROFILES / "cds-services.json")
    prefetch: dict[str, str] = services["services"][0]["prefetch"]
    return prefetch


def test_prefetch_observation_codes_equal_the_codes_read() -> None:
    """The observations template requests exactly the Observation code values the mapping reads."""
    template = _prefetch()["observations"]
    query = dict(parse_qsl(urlsplit(template).query))
    requested = query["code"].split(",")
    assert len(requested) == len(set(requested))
    assert set(requested) == {code for _, code in fc.observation_codes()}
    assert template == fc.observation_prefetch_template()


def test_prefetch_templates_fit_common_url_limits() -> None:
    """Every template, filled and percent-encoded, stays under 2,048 bytes (IIS's default query limit)."""
    for key, template in _prefetch().items():
        filled = template.replace("{{context.patientId}}", "a" * 64)
        assert len(quote(filled, safe="/?=&,")) < 2048, key


def test_prefetch_uses_only_safe_tokens_and_the_recommended_query_subset() -> None:
    """Templates use only {{context.patientId}}, reference/token parameters, _sort and _count."""
    allowed = {"patient", "code", "_sort", "_count"}
    for key, template in _prefetch().items():
        assert set(re.findall(r"{{([^}]*)}}", template)) == {"context.patientId"}, key
        query = urlsplit(template).query
        assert {name for name, _ in parse_qsl(query)} <= allowed, key


@pytest.mark.parametrize(
    "key",
    ["conditions", "procedures", "medicationRequests", "medicationAdministrations", "medicationStatements"],
)
def test_other_prefetch_templates_are_not_filtered_by_code(key: str) -> None:
    """Conditions, procedures and medication records are requested whole: nothing the mapping reads is cut."""
    assert "code=" not in _prefetch()[key]


def _map_example(name: str) -> Any:
    return map_patient([_read(sources.EXAMPLES / name)], patient_id=None)


def test_example_icd10() -> None:
    """The ICD-10-CM example gives a sigmoid primary, liver and lung metastases, stage IVB and orders."""
    facts = _map_example("Bundle-crlm-icd10.json")
    assert facts.primary.site.value is PrimarySite.SIGMOID_COLON
    assert facts.primary.stage_group.value == "IVB"
    assert facts.liver_metastases.condition.sources == ("Condition/liver-mets",)
    assert [e.value.value for e in facts.extrahepatic] == ["lung"]
    assert facts.cirrhosis.value is True
    assert facts.ecog.value == 2
    assert [t.agent for t in facts.therapies] == [Agent.BEVACIZUMAB, Agent.OXALIPLATIN]
    assert facts.data_notes == ()


def test_example_mcode() -> None:
    """The mCODE example gives site from body site, variants, tumour size, statuses, procedures, therapies."""
    facts = _map_example("Bundle-crlm-mcode-snomed.json")
    assert facts.primary.site.value is PrimarySite.ASCENDING_COLON
    assert facts.primary.resected.value == date(2024, 9, 25)
    assert facts.liver_metastases.largest_diameter_cm.value == 4.2
    assert facts.molecular.kras.value is MutationStatus.MUTANT
    assert facts.molecular.nras.value is MutationStatus.WILD_TYPE
    assert facts.molecular.braf.value is BrafStatus.WILD_TYPE
    assert facts.molecular.tp53 is None
    assert facts.molecular.mmr.value is MmrStatus.PROFICIENT
    assert facts.extrahepatic_absent.value is True
    assert facts.liver_procedures[0].margin.value is Margin.R1
    assert {t.agent for t in facts.therapies} == {Agent.OXALIPLATIN, Agent.FLUOROURACIL, Agent.LEUCOVORIN}
    assert facts.data_notes == ()


def test_example_single_gene_results() -> None:
    """The single-result example gives RAS wild-type, BRAF V600E, dMMR from the panel, CEA and Karnofsky."""
    facts = _map_example("Bundle-crlm-single-gene-results.json")
    molecular = facts.molecular
    assert (molecular.kras.value, molecular.nras.value) == (
        MutationStatus.WILD_TYPE,
        MutationStatus.WILD_TYPE,
    )
    assert molecular.braf.value is BrafStatus.V600E
    assert molecular.mmr.value is MmrStatus.DEFICIENT
    assert molecular.mmr.sources == ("Observation/mmr-panel",)
    assert facts.cea_ng_ml.value == pytest.approx(9.99)
    assert facts.ecog.note == "converted from Karnofsky 80"
    assert facts.data_notes == ()


def test_example_medication_statements() -> None:
    """The transaction example (no ids) cites fullUrls and reads regimen text and contained codes."""
    facts = _map_example("Bundle-crlm-medication-statement.json")
    assert facts.primary.site.value is PrimarySite.ASCENDING_COLON
    assert facts.primary.condition.sources == ("urn:uuid:0b3f5f0e-7a5c-4d43-9a57-53d6c0d1c002",)
    agents = [(t.agent, t.sources[0][-4:]) for t in facts.therapies]
    assert agents == [
        (Agent.FLUOROURACIL, "c003"),
        (Agent.LEUCOVORIN, "c003"),
        (Agent.OXALIPLATIN, "c003"),
        (Agent.CAPECITABINE, "c004"),
    ]
    assert facts.data_notes == ()


def test_example_local_data_items() -> None:
    """The local-items example fills every local fact, PVE and the R0 margin."""
    facts = _map_example("Bundle-crlm-local-data-items.json")
    liver = facts.liver_metastases
    assert (liver.lesion_count.value, liver.bilobar.value, liver.future_liver_remnant_pct.value) == (
        4,
        True,
        28.0,
    )
    assert liver.planned_complexity is not None
    assert liver.mdt_resectability is not None
    assert facts.primary.symptoms.value == frozenset()
    assert facts.primary.anal_verge_distance_cm.value == 12.0
    assert facts.extrahepatic_absent.value is True
    assert facts.declines_chemotherapy_first.value is False
    assert [p.kind for p in facts.liver_procedures] == ["portal-vein-embolisation", "resection"]
    assert facts.liver_procedures[1].margin.value is Margin.R0
    assert facts.data_notes == ()

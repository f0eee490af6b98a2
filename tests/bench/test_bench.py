"""The benchmark command works end to end (smoke configuration) and its payloads are what they claim.

Speed goals live in the benchmark itself (``python -m bench``), never in these tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import payloads
from cds_service.config import load_settings
from cds_service.services import load_registry

pytestmark = pytest.mark.shared_data

ROOT = Path(__file__).resolve().parents[2]


def _record() -> list[tuple[str | None, dict[str, object]]]:
    bundle = json.loads(payloads.synthea_record(payloads.DEFAULT_SYNTHEA).read_text("utf-8"))
    return [(e.get("fullUrl"), e["resource"]) for e in bundle["entry"]]


def test_smoke_run_answers_every_payload_and_writes_results(tmp_path: Path) -> None:
    """`python -m bench --smoke` serves every payload and load without errors, writes JSON and Markdown."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    result = json.loads((tmp_path / "latest.json").read_text("utf-8"))
    assert set(result["latency"]) == {"typical", "unfiltered", "scale-100", "scale-1000"}
    for name, latency in result["latency"].items():
        assert latency["service_ms"]["n"] > 0 and latency["floor_ms"]["n"] > 0, name
        assert latency["service_errors"] == latency["floor_errors"] == 0, name
    assert all(t["errors"] == 0 and t["requests"] > 0 for t in result["throughput"].values())
    assert result["payloads"]["unfiltered"]["resources"] == 525
    assert result["payloads"]["typical"]["cards"] > 0
    assert result["footprint"]["startup_seconds"]
    assert "| typical |" in (tmp_path / "latest.md").read_text("utf-8")


@pytest.mark.parametrize("total", [1, 100, 525, 1000, 2222])
def test_replicated_record_has_exact_size_unique_ids_and_consistent_references(total: int) -> None:
    """A scale payload holds exactly N resources with unique ids, one Patient, and references that resolve."""
    original = _record()
    known = {u for u, _ in original if u}
    entries = payloads.replicate(original, total)
    assert len(entries) == total
    assert len({(r["resourceType"], r["id"]) for _, r in entries}) == total
    assert sum(r["resourceType"] == "Patient" for _, r in entries) == 1
    urls = {u for u, _ in entries if u}
    if total > len(original):
        references = {v for _, r in entries for v in _references(r)}
        assert {ref for ref in references if ref in known or ref.startswith("urn:uuid:")} <= urls


def test_unfiltered_request_carries_every_resource_of_the_record() -> None:
    """The unfiltered request holds all 525 resources; types no template names travel as includes."""
    service = load_registry(load_settings({}).profiles_dir).get("crlm-patient-view")
    request = payloads.unfiltered_request(_record(), service)
    assert payloads.count_resources(request["prefetch"]) == 525
    includes = [
        e for e in request["prefetch"]["conditions"]["entry"] if e.get("search", {}).get("mode") == "include"
    ]
    assert {e["resource"]["resourceType"] for e in includes} >= {"Encounter", "Claim", "ExplanationOfBenefit"}


def _references(value: object) -> list[str]:
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k == "reference" and isinstance(v, str)]
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []

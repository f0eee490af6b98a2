"""What the mapping keeps over time: every MDT assessment with its date (the core judges conversion
from their order) and the onset of every active liver-metastasis Condition (a later one after a
liver resection is a recurrence), while ``mdt_resectability`` and ``detected`` stay the latest
assessment and the first detection."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from cds_service import fhir_codes as fc
from cds_service.core.facts import Resectability
from tests.mapping.support import cc, liver, local, observation, primary, run

RES = Resectability.RESECTABLE
POT = Resectability.POTENTIALLY_RESECTABLE
UNRES = Resectability.UNRESECTABLE
RESOLVED = cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "resolved")
ACTIVE = cc("http://terminology.hl7.org/CodeSystem/condition-clinical", "active")


def mdt(oid: str, verdict: str, when: str, status: str = "final") -> dict[str, Any]:
    """An MDT resectability observation."""
    return observation(oid, local(fc.MDT_RESECTABILITY), when, status, valueCodeableConcept=local(verdict))


@pytest.mark.parametrize(
    ("observations", "history", "latest"),
    [
        ((), (), None),
        ((mdt("m1", "resectable", "2026-09-15"),), ((RES, date(2026, 9, 15)),), RES),
        (
            (mdt("m2", "resectable", "2026-11-20"), mdt("m1", "potentially-resectable", "2026-09-15")),
            ((POT, date(2026, 9, 15)), (RES, date(2026, 11, 20))),
            RES,
        ),
        (
            (
                mdt("m1", "unresectable", "2026-08-01"),
                mdt("m2", "potentially-resectable", "2026-09-15"),
                mdt("m3", "resectable", "2026-11-20"),
            ),
            ((UNRES, date(2026, 8, 1)), (POT, date(2026, 9, 15)), (RES, date(2026, 11, 20))),
            RES,
        ),
        (
            (
                mdt("m1", "potentially-resectable", "2026-09-15"),
                mdt("m2", "resectable", "2026-11-20", "preliminary"),
            ),
            ((POT, date(2026, 9, 15)),),
            POT,
        ),
    ],
)
def test_every_mdt_assessment_is_kept_with_its_date(
    observations: tuple[dict[str, Any], ...],
    history: tuple[tuple[Resectability, date], ...],
    latest: Resectability | None,
) -> None:
    """All final MDT assessments are kept oldest first with their dates and sources; the latest is
    still the current one, and a preliminary one is used only when nothing final exists."""
    facts = run(primary(), liver(), *observations)
    metastases = facts.liver_metastases
    assert metastases is not None
    assert tuple((a.value, a.effective) for a in metastases.mdt_history) == history
    assert all(len(a.sources) == 1 for a in metastases.mdt_history)
    current = metastases.mdt_resectability
    assert (current.value if current else None) is latest
    if history:
        assert metastases.mdt_history[-1] == current


def test_a_preliminary_only_assessment_is_kept_and_flagged() -> None:
    """With only a preliminary MDT assessment it is kept in the history, marked preliminary."""
    facts = run(primary(), liver(), mdt("m1", "resectable", "2026-09-15", "preliminary"))
    metastases = facts.liver_metastases
    assert metastases is not None and len(metastases.mdt_history) == 1
    assert metastases.mdt_history[0].note == "preliminary result"


@pytest.mark.parametrize(
    ("conditions", "detected", "onsets"),
    [
        ((liver("lm"),), date(2024, 1, 12), (date(2024, 1, 12),)),
        (
            (liver("lm"), liver("lm2", onsetDateTime="2026-09-01")),
            date(2024, 1, 12),
            (date(2024, 1, 12), date(2026, 9, 1)),
        ),
        (
            (liver("lm", clinicalStatus=RESOLVED), liver("lm2", onsetDateTime="2026-09-01")),
            date(2024, 1, 12),
            (date(2026, 9, 1),),
        ),
        (
            (
                liver("lm", clinicalStatus=ACTIVE),
                liver("lm2", onsetDateTime="2026-09-01", clinicalStatus=RESOLVED),
            ),
            date(2024, 1, 12),
            (date(2024, 1, 12),),
        ),
    ],
)
def test_each_active_liver_condition_keeps_its_onset(
    conditions: tuple[dict[str, Any], ...], detected: date, onsets: tuple[date, ...]
) -> None:
    """``detected`` stays the earliest onset of all liver-metastasis Conditions; ``onsets`` lists each
    one not recorded as resolved, with its own source, so a new Condition is seen as a new episode."""
    facts = run(primary(), *conditions)
    metastases = facts.liver_metastases
    assert metastases is not None and metastases.detected is not None
    assert metastases.detected.value == detected
    assert tuple(o.value for o in metastases.onsets) == onsets
    assert all(len(o.sources) == 1 and o.effective == o.value for o in metastases.onsets)

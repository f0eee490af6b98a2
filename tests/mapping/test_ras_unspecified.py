"""A combined KRAS+NRAS result (LOINC 81420-2) that reports a mutation without naming the gene is kept
as a RAS result naming no gene, so the core can treat it as RAS-mutant instead of ordering the test
again."""

from __future__ import annotations

from typing import Any

import pytest

from cds_service import fhir_codes as fc
from cds_service.core.facts import MutationStatus
from tests.mapping.support import cc, loinc, observation, primary, run

PRESENT = cc(fc.LOINC, "LA9633-4", "Present")
ABSENT = cc(fc.LOINC, "LA9634-2", "Absent")


@pytest.mark.parametrize(
    ("value", "kras", "nras", "unspecified"),
    [
        pytest.param(
            {"valueCodeableConcept": PRESENT}, None, None, MutationStatus.MUTANT, id="positive-no-gene"
        ),
        pytest.param(
            {"valueString": "RAS mutation detected"}, None, None, MutationStatus.MUTANT, id="text-no-gene"
        ),
        pytest.param(
            {"valueString": "KRAS p.G12D detected"},
            MutationStatus.MUTANT,
            None,
            None,
            id="positive-kras-named",
        ),
        pytest.param(
            {"valueCodeableConcept": ABSENT},
            MutationStatus.WILD_TYPE,
            MutationStatus.WILD_TYPE,
            None,
            id="negative-both-wild-type",
        ),
    ],
)
def test_combined_ras_result(
    value: dict[str, Any],
    kras: MutationStatus | None,
    nras: MutationStatus | None,
    unspecified: MutationStatus | None,
) -> None:
    """A positive combined result naming no gene becomes ras_unspecified=mutant with its provenance;
    a named gene or a negative result is read per gene as before."""
    facts = run(primary(), observation("o", loinc("81420-2"), **value))
    molecular = facts.molecular
    assert (molecular.kras.value if molecular.kras else None) is kras
    assert (molecular.nras.value if molecular.nras else None) is nras
    found = molecular.ras_unspecified
    assert (found.value if found else None) is unspecified
    if found is not None:
        assert found.sources == ("Observation/o",)
        assert found.note is not None and "gene not named" in found.note
        assert not [n for n in facts.data_notes if "RAS" in n.message]

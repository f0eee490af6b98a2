"""Site-configurable choices the sources leave open, passed to :func:`decide` as a policy."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class TimingDefinition(StrEnum):
    """Definitions of synchronous liver metastases (clinical-evidence.md §2.1).

    * ``E_AHPBA_2023``: detected at presentation of the primary; early metachronous when detected
      within 12 months of diagnosis of the primary, late after (Siriwardena 2023). The default:
      the most recent, multisocietal definition, as clinical-evidence.md recommends.
    * ``ADAM_2015``: detected at or before diagnosis of the primary (the staging work-up within the
      presentation window counts as at diagnosis); early metachronous within 12 months after surgery
      of the primary, late after (Adam 2015 consensus).
    * ``MAKI_2023``: detected within 365 days of diagnosis of the primary and before its resection
      (the operational definition of seed 002).
    """

    E_AHPBA_2023 = "e-ahpba-2023"
    ADAM_2015 = "adam-2015"
    MAKI_2023 = "maki-2023"


TIMING_LABELS: dict[TimingDefinition, str] = {
    TimingDefinition.E_AHPBA_2023: "E-AHPBA 2023 (at presentation; early metachronous ≤12 months)",
    TimingDefinition.ADAM_2015: "Adam 2015 (at or before diagnosis of the primary)",
    TimingDefinition.MAKI_2023: "Maki 2023 (≤365 days from diagnosis and before primary resection)",
}


TIMING_SHORT_LABELS: dict[TimingDefinition, str] = {
    TimingDefinition.E_AHPBA_2023: "E-AHPBA 2023 definition",
    TimingDefinition.ADAM_2015: "Adam 2015 definition",
    TimingDefinition.MAKI_2023: "Maki 2023 definition",
}


@dataclass(frozen=True, slots=True)
class DecisionPolicy:
    """Site-configurable choices the sources leave open; defaults follow clinical-evidence.md.

    Attributes:
        timing_definition: Which definition of synchronous disease drives the rules (all three are
            computed and shown).
        presentation_window_days: Days after diagnosis of the primary during which detected liver
            metastases still count as found "at presentation" or "at diagnosis" (staging work-up) for
            the E-AHPBA and Adam definitions; ``None`` uses the rule base's threshold.
        show_newer_evidence: Attach the marked notes on newer evidence to the recommendations.
    """

    timing_definition: TimingDefinition = TimingDefinition.E_AHPBA_2023
    presentation_window_days: int | None = None
    show_newer_evidence: bool = True

"""Typed patient facts: what the decision core knows about one patient.

This module is the contract between the FHIR mapping (which builds these objects from EHR data) and
the decision core (which reads them). It imports only the standard library.

Conventions:

* Every clinical value is wrapped in a :class:`Fact`, which carries the FHIR references of the
  resources it came from (provenance, shown on cards) and the clinically relevant date.
* ``None`` always means *unknown / not recorded*. The core never turns ``None`` into a default
  value silently; it reports it as missing data or states the assumption on the card.
* Absence of a finding is only known when it was recorded explicitly (for example an ECOG score,
  a wild-type RAS result, an M1a stage, or an explicit "asymptomatic primary" observation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Fact(Generic[T]):
    """One clinical value with its provenance.

    Attributes:
        value: The value itself (a number, a date, an enum member, a bool ...).
        sources: Relative FHIR references of the resources it came from, e.g.
            ``("Observation/ras-1",)``; resources without an id are referenced by their
            Bundle ``fullUrl`` (e.g. ``urn:uuid:...``).
        effective: The date the value applies to (observation date, onset, procedure date),
            when known.
        note: A short qualifier the card must show with the value, e.g. "converted from
            Karnofsky 70" or "preliminary result", or ``None``.
    """

    value: T
    sources: tuple[str, ...] = ()
    effective: date | None = None
    note: str | None = None


class PrimarySite(StrEnum):
    """Anatomical site of the colorectal primary (sub-site granularity drives sidedness)."""

    CECUM = "cecum"
    APPENDIX = "appendix"
    ASCENDING_COLON = "ascending-colon"
    HEPATIC_FLEXURE = "hepatic-flexure"
    TRANSVERSE_COLON = "transverse-colon"
    SPLENIC_FLEXURE = "splenic-flexure"
    DESCENDING_COLON = "descending-colon"
    SIGMOID_COLON = "sigmoid-colon"
    RECTOSIGMOID = "rectosigmoid-junction"
    RECTUM = "rectum"
    COLON_OVERLAPPING = "colon-overlapping-sites"
    COLON_UNSPECIFIED = "colon-unspecified"


class Symptom(StrEnum):
    """Complications of the primary tumour that the sequencing rules depend on."""

    OBSTRUCTION = "obstruction"
    BLEEDING = "bleeding"
    PERFORATION = "perforation"


class ExtrahepaticSite(StrEnum):
    """Sites of metastatic disease outside the liver."""

    LUNG = "lung"
    PERITONEUM = "peritoneum"
    HILAR_NODES = "hilar-nodes"
    CELIAC_OR_PARA_AORTIC_NODES = "celiac-or-para-aortic-nodes"
    DISTANT_NODES = "distant-nodes"
    BONE = "bone"
    BRAIN = "brain"
    OVARY = "ovary"
    ADRENAL = "adrenal"
    OTHER = "other"


class MutationStatus(StrEnum):
    """Result of a gene test (KRAS, NRAS, TP53)."""

    MUTANT = "mutant"
    WILD_TYPE = "wild-type"


class BrafStatus(StrEnum):
    """BRAF result; V600E is distinguished because it changes regimen and prognosis."""

    V600E = "v600e"
    OTHER_MUTATION = "non-v600e-mutation"
    WILD_TYPE = "wild-type"


class MmrStatus(StrEnum):
    """Mismatch-repair / microsatellite status (MSI-L is reported as proficient)."""

    DEFICIENT = "dmmr-msi-h"
    PROFICIENT = "pmmr-mss"


class Her2Status(StrEnum):
    """HER2 (ERBB2) amplification / overexpression."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class Resectability(StrEnum):
    """Resectability groups of the liver disease (003: groups one to three / M1a-M1c)."""

    RESECTABLE = "resectable"
    POTENTIALLY_RESECTABLE = "potentially-resectable"
    UNRESECTABLE = "unresectable"


class DiseaseStatus(StrEnum):
    """Disease status under treatment (mCODE cancer disease status answers)."""

    COMPLETE_RESPONSE = "not-detected"
    RESPONSE = "improved"
    STABLE = "stable"
    PROGRESSION = "worsened"
    UNDETERMINED = "undetermined"


class Agent(StrEnum):
    """Systemic anticancer agents the rules distinguish."""

    OXALIPLATIN = "oxaliplatin"
    IRINOTECAN = "irinotecan"
    FLUOROURACIL = "fluorouracil"
    CAPECITABINE = "capecitabine"
    LEUCOVORIN = "leucovorin"
    BEVACIZUMAB = "bevacizumab"
    CETUXIMAB = "cetuximab"
    PANITUMUMAB = "panitumumab"
    PEMBROLIZUMAB = "pembrolizumab"
    NIVOLUMAB = "nivolumab"
    IPILIMUMAB = "ipilimumab"
    ENCORAFENIB = "encorafenib"
    TRIFLURIDINE_TIPIRACIL = "trifluridine-tipiracil"
    REGORAFENIB = "regorafenib"
    OTHER = "other"


class Margin(StrEnum):
    """Resection margin of a liver resection."""

    R0 = "R0"
    R1 = "R1"
    R2 = "R2"


class HepatectomyComplexity(StrEnum):
    """Planned hepatectomy complexity, three-level classification used by 002 (Kawaguchi)."""

    GRADE_I = "grade-I"
    GRADE_II = "grade-II"
    GRADE_III = "grade-III"


@dataclass(frozen=True, slots=True)
class PrimaryTumour:
    """The colorectal primary.

    Attributes:
        condition: The Condition the primary was read from (value: the code as ``system|code``).
        site: Anatomical site, or ``None`` when only "colorectal, site not given" is known.
        diagnosed: Date of diagnosis (onset, else recorded date).
        t_category: T category as recorded, e.g. ``"T3"`` (``c``/``p`` prefix removed).
        n_category: N category as recorded, e.g. ``"N1b"``.
        m_category: M category as recorded, e.g. ``"M1a"``.
        stage_group: Stage group as recorded, e.g. ``"IVA"``.
        anal_verge_distance_cm: For rectal primaries, distance of the distal edge from the anal
            verge (upper rectum is > 10 cm).
        resected: Date of primary resection when a colorectal resection is recorded.
        symptoms: Complications recorded for the primary. ``None`` when nothing about symptoms
            is recorded; an empty frozenset when the primary is explicitly recorded as
            asymptomatic.
        complete_response: Clinical complete response of the primary recorded (watch-and-wait).
        pelvic_radiotherapy: Date of pelvic (chemo)radiotherapy when recorded.
    """

    condition: Fact[str]
    site: Fact[PrimarySite] | None = None
    diagnosed: Fact[date] | None = None
    t_category: Fact[str] | None = None
    n_category: Fact[str] | None = None
    m_category: Fact[str] | None = None
    stage_group: Fact[str] | None = None
    anal_verge_distance_cm: Fact[float] | None = None
    resected: Fact[date] | None = None
    symptoms: Fact[frozenset[Symptom]] | None = None
    complete_response: Fact[bool] | None = None
    pelvic_radiotherapy: Fact[date] | None = None


@dataclass(frozen=True, slots=True)
class LiverMetastases:
    """The liver metastases.

    Attributes:
        condition: The Condition they were read from (value: the code as ``system|code``).
        detected: Date of detection (onset, else recorded date).
        lesion_count: Number of liver lesions.
        largest_diameter_cm: Largest lesion diameter in centimetres.
        bilobar: Lesions in both lobes.
        future_liver_remnant_pct: Planned (standardised) future liver remnant in percent.
        planned_complexity: Planned hepatectomy complexity grade.
        mdt_resectability: Resectability recorded by the multidisciplinary team (the latest).
        disease_status: Latest disease status under treatment.
        mdt_history: Every MDT resectability assessment with its date, oldest first (undated ones
            first); the latest is ``mdt_resectability``. Conversion is judged from their order.
        onsets: Onset of each liver-metastasis Condition not recorded as resolved, inactive or in
            remission, oldest first, each with its own source: one dated after a liver resection
            or ablation is a recurrence (``detected`` stays the earliest onset of all).
    """

    condition: Fact[str]
    detected: Fact[date] | None = None
    lesion_count: Fact[int] | None = None
    largest_diameter_cm: Fact[float] | None = None
    bilobar: Fact[bool] | None = None
    future_liver_remnant_pct: Fact[float] | None = None
    planned_complexity: Fact[HepatectomyComplexity] | None = None
    mdt_resectability: Fact[Resectability] | None = None
    disease_status: Fact[DiseaseStatus] | None = None
    mdt_history: tuple[Fact[Resectability], ...] = ()
    onsets: tuple[Fact[date], ...] = ()


@dataclass(frozen=True, slots=True)
class Molecular:
    """Tumour molecular results; each ``None`` means not tested or not recorded.

    Attributes:
        kras: KRAS result.
        nras: NRAS result.
        braf: BRAF result.
        tp53: TP53 result.
        her2: HER2 status.
        mmr: MMR / MSI status.
        ras_unspecified: A RAS result that does not name the gene: mutant means KRAS or NRAS is
            mutant; wild-type from a combined KRAS+NRAS test means both wild-type.
    """

    kras: Fact[MutationStatus] | None = None
    nras: Fact[MutationStatus] | None = None
    braf: Fact[BrafStatus] | None = None
    tp53: Fact[MutationStatus] | None = None
    her2: Fact[Her2Status] | None = None
    mmr: Fact[MmrStatus] | None = None
    ras_unspecified: Fact[MutationStatus] | None = None


@dataclass(frozen=True, slots=True)
class TherapyExposure:
    """One recorded administration / order / statement of a systemic agent.

    Attributes:
        agent: The agent.
        start: First date of exposure (administration date, authoredOn, effective start).
        end: Last date of exposure when a period is recorded, else ``None``.
        sources: FHIR references of the medication resources.
        display: The medication text as recorded, for the card.
    """

    agent: Agent
    start: date | None
    end: date | None = None
    sources: tuple[str, ...] = ()
    display: str | None = None

    @property
    def last_date(self) -> date | None:
        """The latest date this exposure is known to cover."""
        return self.end or self.start


@dataclass(frozen=True, slots=True)
class LiverProcedure:
    """A prior liver-directed procedure.

    Attributes:
        kind: ``"resection"``, ``"ablation"`` or ``"portal-vein-embolisation"``.
        performed: Date performed.
        sources: FHIR references.
        margin: Resection margin when recorded.
    """

    kind: str
    performed: date | None
    sources: tuple[str, ...] = ()
    margin: Fact[Margin] | None = None


class RecordKind(StrEnum):
    """What a record the mapping recognised by its code would have fed, had it been readable."""

    COLORECTAL_PRIMARY = "colorectal-primary"
    LIVER_METASTASES = "liver-metastases"
    EXTRAHEPATIC_METASTASIS = "extrahepatic-metastasis"
    OTHER_PRIMARY_CANCER = "other-primary-cancer"
    PRIMARY_COMPLICATION = "primary-complication"
    CIRRHOSIS = "cirrhosis"
    SYSTEMIC_THERAPY = "systemic-therapy"


@dataclass(frozen=True, slots=True)
class DataNote:
    """A data-quality note the card must show (skipped resource, conflict, preliminary result).

    Attributes:
        kind: ``"invalid-resource"``, ``"conflict"``, ``"preliminary"``, ``"ignored"`` or
            ``"unrecognised-code"``.
        message: Human-readable text, free of patient identifiers.
        sources: FHIR references concerned.
    """

    kind: str
    message: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PatientFacts:
    """Everything the decision core may use about one patient.

    Attributes:
        patient: Reference of the Patient (``Patient/<id>``), if known.
        birth_date: Date of birth, for age at decision.
        primary: The colorectal primary, if a confirmed one was found.
        liver_metastases: The liver metastases, if confirmed ones were found.
        other_primary_cancers: Codes (``system|code``) of other confirmed primary cancers,
            kept so the core can refuse to attribute liver metastases silently.
        extrahepatic: Extrahepatic metastatic sites recorded.
        extrahepatic_absent: Explicit evidence that there is no extrahepatic disease (e.g. an
            M1a stage or a "liver-only disease" observation); ``None`` when not recorded.
        molecular: Tumour molecular results.
        cea_ng_ml: Latest CEA in ng/mL.
        ecog: Latest ECOG performance status (0-5).
        cirrhosis: Cirrhosis / chronic liver disease recorded.
        declines_chemotherapy_first: The patient does not accept chemotherapy before resection
            of the primary (002: a reason for the classic approach).
        therapies: Systemic therapy exposures, oldest first.
        liver_procedures: Prior liver resections, ablations and portal vein embolisations.
        data_notes: Data-quality notes from the mapping.
        pre_hepatectomy_cycles: Number of chemotherapy cycles given for the liver metastases
            before hepatectomy (or so far, when none has been done), when the mapping can count
            them; when ``None`` the core estimates it from ``therapies`` and says so.
        unreadable: Records the mapping recognised by their code as relevant but skipped because
            they are not valid FHIR R4 (value: what each would have fed; sources: its reference;
            note: the problem found), so the core can tell "not recorded" from "not readable".
        unidentified_medications: Medication records (orders, administrations, statements) whose
            drug is unknown because the Medication they reference was not supplied or is not valid
            FHIR (value: the reference as recorded, e.g. ``"Medication/x"``; sources: the record;
            effective: the last date it covers, ``None`` when undated or the record is not valid
            either; note: what to fix). Any of them may be oxaliplatin.
    """

    patient: str | None = None
    birth_date: date | None = None
    primary: PrimaryTumour | None = None
    liver_metastases: LiverMetastases | None = None
    other_primary_cancers: tuple[Fact[str], ...] = ()
    extrahepatic: tuple[Fact[ExtrahepaticSite], ...] = ()
    extrahepatic_absent: Fact[bool] | None = None
    molecular: Molecular = field(default_factory=Molecular)
    cea_ng_ml: Fact[float] | None = None
    ecog: Fact[int] | None = None
    cirrhosis: Fact[bool] | None = None
    declines_chemotherapy_first: Fact[bool] | None = None
    therapies: tuple[TherapyExposure, ...] = ()
    liver_procedures: tuple[LiverProcedure, ...] = ()
    data_notes: tuple[DataNote, ...] = ()
    pre_hepatectomy_cycles: Fact[int] | None = None
    unreadable: tuple[Fact[RecordKind], ...] = ()
    unidentified_medications: tuple[Fact[str], ...] = ()

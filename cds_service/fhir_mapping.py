"""FHIR R4 prefetch documents -> the decision core's :class:`~cds_service.core.facts.PatientFacts`.

Entry points: :func:`map_patient` (one call per hook request) and :func:`warm_up` (once at start-up).

How it reads:

1. Every document (Bundle of any type, bare resource, ``None``) is flattened into entries; an
   OperationOutcome is skipped (the caller reports failed prefetch), anything else unexpected becomes
   a :class:`~cds_service.core.facts.DataNote` and is skipped. Nothing here raises on bad input.
2. Resources are filtered on the raw JSON, by type, patient and code (tables in
   :mod:`cds_service.fhir_codes`), before any model is built; only the resources that feed a fact are
   validated, one by one, with the ``fhir.resources`` R4B models. An invalid one is skipped with a
   data note ``invalid-resource``; the hundreds of vital signs in a real record are never validated.
3. Status: entered-in-error and refuted Conditions are ignored, unconfirmed ones are not treated as
   confirmed; entered-in-error and cancelled Observations are ignored; final, amended and corrected
   Observations win over preliminary ones, which are used only when nothing better exists and are
   flagged (``Fact.note`` and a ``preliminary`` data note).
4. When several valid results exist the most recent is used; results that should not change (RAS,
   BRAF, TP53, HER2, MMR, primary site) and disagree give a ``conflict`` data note naming the sources.

Every fact carries the relative references (``Observation/abc``), or the entry's ``fullUrl`` for a
resource without an id, of the resources it came from.

Clinical meaning (sidedness, resectability, what a fact implies) is the decision core's job; this module
only reads what is recorded.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final, Generic, TypeVar

from cds_service import fhir_codes as fc
from cds_service.core.facts import (
    Agent,
    BrafStatus,
    DataNote,
    DiseaseStatus,
    ExtrahepaticSite,
    Fact,
    HepatectomyComplexity,
    Her2Status,
    LiverMetastases,
    LiverProcedure,
    Margin,
    MmrStatus,
    Molecular,
    MutationStatus,
    PatientFacts,
    PrimarySite,
    PrimaryTumour,
    RecordKind,
    Resectability,
    Symptom,
    TherapyExposure,
)

__all__ = ["map_patient", "warm_up"]

Json = dict[str, Any]
CodeKey = tuple[str, str]
T = TypeVar("T")

_CLINICAL_TYPES: Final = frozenset(
    {
        "Condition",
        "Observation",
        "Procedure",
        "MedicationRequest",
        "MedicationAdministration",
        "MedicationStatement",
    }
)
_MAX_BUNDLE_DEPTH: Final = 3
_MAX_NOTE_SOURCES: Final = 10

_SYMPTOM_WINDOW: Final = timedelta(days=180)
_RESECTION_WINDOW: Final = timedelta(days=30)
_MARGIN_WINDOW: Final = timedelta(days=60)
_CEA_MOLAR_MASS_KDA: Final = 180.0

_PRELIMINARY_NOTE: Final = "preliminary result"
_FINAL_OBSERVATION: Final = frozenset({"final", "amended", "corrected"})
_PRELIMINARY_OBSERVATION: Final = frozenset({"preliminary", "unknown"})
_IGNORED_OBSERVATION: Final = frozenset({"entered-in-error", "cancelled"})

_RESOLVED_CLINICAL: Final = frozenset({"resolved", "inactive", "remission"})
_UNCONFIRMED: Final = frozenset({"unconfirmed", "provisional", "differential"})
_REJECTED: Final = frozenset({"refuted", "entered-in-error"})

_REQUEST_EXCLUDED_STATUS: Final = frozenset({"entered-in-error", "cancelled", "draft"})
_REQUEST_EXCLUDED_INTENT: Final = frozenset({"proposal", "plan", "directive", "option"})
_ADMINISTRATION_EXCLUDED: Final = frozenset({"entered-in-error", "not-done", "unknown"})
_STATEMENT_EXCLUDED: Final = frozenset({"entered-in-error", "not-taken", "intended", "unknown"})

_RELATED_PRIMARY_EXTENSIONS: Final = (
    "http://hl7.org/fhir/StructureDefinition/condition-related",
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-primary-cancer-condition",
)
_MCODE_PRIMARY_PROFILE: Final = "mcode-primary-cancer-condition"
_MCODE_SECONDARY_PROFILE: Final = "mcode-secondary-cancer-condition"
_MCODE_MEDICATION_PROFILE: Final = "mcode-cancer-related-medication"
#: Condition kinds whose unreadable records are reported as facts (``PatientFacts.unreadable``).
_UNREADABLE_KINDS: Final[Mapping[str, RecordKind]] = {
    "primary": RecordKind.COLORECTAL_PRIMARY,
    "liver": RecordKind.LIVER_METASTASES,
    "extrahepatic": RecordKind.EXTRAHEPATIC_METASTASIS,
    "other-cancer": RecordKind.OTHER_PRIMARY_CANCER,
    "symptom": RecordKind.PRIMARY_COMPLICATION,
    "cirrhosis": RecordKind.CIRRHOSIS,
}

_ABSOLUTE_REFERENCE: Final = re.compile(
    r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?$"
)
_DATE: Final = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")

# Text readings. Negative phrases are tried before positive ones ("not detected" contains "detected").
_NEGATIVE_TEXT: Final = re.compile(
    r"\b(?:not\s+detected|none\s+detected|no\s+(?:\w+\s+){0,2}(?:mutations?|variants?|alterations?)"
    r"(?:\s+(?:detected|found|identified))?|not\s+identified|not\s+present|not\s+amplified|"
    r"non-?amplified|negative|absent|wild[\s-]?type|wt|normal)\b",
    re.IGNORECASE,
)
_POSITIVE_TEXT: Final = re.compile(
    r"\b(?:detected|positive|present|mutated|mutations?|mutant|identified|amplified|amplification|"
    r"variant)\b",
    re.IGNORECASE,
)
_HGVS_TEXT: Final = re.compile(
    r"(?:\bp\.\(?[A-Z][a-z]{0,2}\d+|\bc\.\d+|\b[ACDEFGHIKLMNPQRSTVWY]\d{1,4}[ACDEFGHIKLMNPQRSTVWY*]\b|"
    r"\b(?:Gly|Val|Ala|Gln|Glu|Asp|Cys|Arg|Lys|Leu|Ser|Thr|Pro|Phe|Tyr|Trp|His|Ile|Met|Asn)\d+)"
)
_V600E_TEXT: Final = re.compile(r"V600E|Val600Glu|1799T>A", re.IGNORECASE)
_MMR_LOST_TEXT: Final = re.compile(
    r"\b(?:loss|lost|absent|deficient|negative|not\s+expressed)\b", re.IGNORECASE
)
_MMR_NOT_LOST_TEXT: Final = re.compile(r"\bno\s+loss\b|\bnot\s+lost\b", re.IGNORECASE)
_MMR_RETAINED_TEXT: Final = re.compile(
    r"\b(?:intact|retained|preserved|present|positive|normal|expressed)\b", re.IGNORECASE
)
_MSI_HIGH_TEXT: Final = re.compile(r"\bMSI[\s-]?H\b|\bhigh\b|\bunstable\b|\binstab", re.IGNORECASE)
_MSI_STABLE_TEXT: Final = re.compile(r"\bMSS\b|\bstable\b|\bMSI[\s-]?L\b|\blow\b", re.IGNORECASE)
_HER2_SCORE_TEXT: Final = re.compile(
    r"(?<![\d.])([0-3])\s*\+|\bscore\s*([0-3])\b|^\s*([0-3])\s*$", re.IGNORECASE
)
_YES_TEXT: Final = frozenset({"yes", "y", "true", "ja", "si", "oui"})
_NO_TEXT: Final = frozenset({"no", "n", "false", "nein", "non"})
_ROMAN: Final = {"1": "I", "2": "II", "3": "III", "4": "IV", "0": "0"}
_STAGE_GROUP_TEXT: Final = re.compile(
    r"^(?:stage\s*)?[cpy]{0,2}\s*(IV|III|II|I|0|[0-4])\s*([ABC]\d?)?$", re.IGNORECASE
)
_STAGE_GROUP_IN_TEXT: Final = re.compile(r"\bstage\s+(IV|III|II|I|0|[0-4])([ABC]\d?)?\b", re.IGNORECASE)
_TNM_TEXT: Final = {
    "T": re.compile(r"(?:^|[\s(])(y?[cpr]?|yc|yp)?T(is|X|[0-4])([a-d])?\b"),
    "N": re.compile(r"(?:^|[\s(])(y?[cpr]?|yc|yp)?N(X|[0-3])([a-c]|mi)?\b"),
    "M": re.compile(r"(?:^|[\s(])(y?[cpr]?|yc|yp)?M(X|[01])([a-d])?\b"),
}
_COMPLEXITY_TEXT: Final = {
    "I": HepatectomyComplexity.GRADE_I,
    "II": HepatectomyComplexity.GRADE_II,
    "III": HepatectomyComplexity.GRADE_III,
}
_MARGIN_TEXT: Final = re.compile(r"\bR\s*([012])\b", re.IGNORECASE)
_OTHER_CANCER_TEXT: Final = re.compile(
    r"malignan|carcinoma|cancer|sarcoma|lymphoma|leuka?emia|melanoma|myeloma|blastoma|mesothelioma",
    re.IGNORECASE,
)
_NOT_A_PRIMARY_TEXT: Final = re.compile(
    r"in situ|secondary|metasta|history of|benign|screening|suspected|risk|family|fear|basal cell|"
    r"polyp|uncertain behav",
    re.IGNORECASE,
)
_AGENT_PATTERNS: Final = tuple((re.compile(p, re.IGNORECASE), agents) for p, agents in fc.AGENT_NAME_PATTERNS)
_AGENT_EXCLUSIONS: Final = re.compile(fc.AGENT_NAME_EXCLUSIONS, re.IGNORECASE)

_LOOKUP: Final[Mapping[str, Mapping[CodeKey, str | None]]] = {t.id: t.meanings() for t in fc.TABLES}
_OBSERVATION_TABLES: Final[Mapping[CodeKey, tuple[tuple[str, str | None], ...]]] = {
    key: tuple((t.id, t.meanings()[key]) for t in fc.OBSERVATION_CODE_TABLES if key in t.codes())
    for key in fc.observation_codes()
}
_GENE_SYMBOLS: Final[Mapping[str, str]] = {
    **{str(m): str(m) for m in _LOOKUP[fc.GENE.id].values() if m},
    "HER2": "ERBB2",
    "HER-2": "ERBB2",
}
_MMR_PROTEINS: Final[Mapping[CodeKey, str]] = {k: str(v) for k, v in _LOOKUP[fc.MMR_IHC.id].items()}
_TUMOR_SIZE_COMPONENT: Final = (fc.LOINC, "33728-7")


# --------------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------------


def map_patient(
    documents: Iterable[object], *, patient_id: str | None, synthea_compat: bool = False
) -> PatientFacts:
    """Map prefetch documents to the facts of one patient; never raises on malformed input.

    Args:
        documents: Prefetch values as received: Bundles (searchset, collection, transaction, batch),
            bare resources, JSON text, or ``None`` for "no data". OperationOutcomes are skipped.
        patient_id: The hook's ``context.patientId``. Resources of any other patient are ignored
            with a data note. ``None`` anchors on the single Patient in the data (or, without one,
            on the most frequent subject).
        synthea_compat: Apply the Synthea-compatibility rule: read Synthea's colorectal condition
            codes as stage groups (I 93761005, II 109838007, III 363406005, IV 94260004) and 94260004
            ("secondary malignant neoplasm of colon" in SNOMED CT) as a stage IV colon primary. Off by
            default because for real data 94260004 means a metastasis to the colon.

    Returns:
        The patient's facts; ``data_notes`` lists everything skipped, ignored or in conflict.
    """
    mapper = _Mapper(patient_id=patient_id, synthea_compat=synthea_compat)
    try:
        return mapper.run(documents)
    except Exception as exc:  # a bug here must degrade to "no facts", never to a failed request
        note = DataNote(
            kind="invalid-resource",
            message=(
                f"The FHIR data could not be read completely ({type(exc).__name__}); facts may be missing."
            ),
        )
        return PatientFacts(
            patient=f"Patient/{patient_id}" if patient_id else None,
            data_notes=(*mapper.notes, note),
        )


def warm_up() -> None:
    """Import and exercise the R4B models once, so the first request does not pay the ~0.5 s cost.

    The Patient sample carries the elements real records have (extensions, identifier, name,
    telecom, address, ...): their element models load on first use, which cost the first request
    of each worker about 16 ms with a Synthea Patient.
    """
    patient = {
        "resourceType": "Patient",
        "id": "warm-up",
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">warm-up</div>'},
        "extension": [
            {
                "url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
                "extension": [
                    {
                        "url": "ombCategory",
                        "valueCoding": {"system": "urn:oid:2.16.840.1.113883.6.238", "code": "2106-3"},
                    },
                    {"url": "text", "valueString": "warm-up"},
                ],
            },
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthPlace",
                "valueAddress": {"city": "warm-up"},
            },
            {
                "url": "http://synthetichealth.github.io/synthea/disability-adjusted-life-years",
                "valueDecimal": 1.5,
            },
            {"url": "http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex", "valueCode": "F"},
        ],
        "identifier": [
            {
                "system": "http://hospital.example.org",
                "value": "1",
                "type": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]
                },
            }
        ],
        "name": [{"use": "official", "family": "Warm", "given": ["Up"], "prefix": ["Ms."]}],
        "telecom": [{"system": "phone", "value": "555-0100", "use": "home"}],
        "gender": "female",
        "birthDate": "1960-01-01",
        "address": [
            {
                "extension": [
                    {
                        "url": "http://hl7.org/fhir/StructureDefinition/geolocation",
                        "extension": [{"url": "latitude", "valueDecimal": 42.1}],
                    }
                ],
                "line": ["1 Main Street"],
                "city": "Boston",
                "postalCode": "02110",
                "country": "US",
            }
        ],
        "maritalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M"}]
        },
        "multipleBirthBoolean": False,
        "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "en-US"}]}}],
    }
    subject = {"reference": "Patient/warm-up"}
    code = {"coding": [{"system": fc.LOINC, "code": "2039-6"}], "text": "warm-up"}
    samples: list[Json] = [
        patient,
        {
            "resourceType": "Condition",
            "id": "c",
            "subject": subject,
            "code": code,
            "onsetDateTime": "2020-01-01",
        },
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": code,
            "subject": subject,
            "effectiveDateTime": "2020-01-01T10:00:00Z",
            "valueQuantity": {"value": 1.0, "unit": "ng/mL"},
            "component": [{"code": code, "valueCodeableConcept": code}],
        },
        {"resourceType": "Procedure", "id": "p", "status": "completed", "subject": subject, "code": code},
        {
            "resourceType": "MedicationRequest",
            "id": "mr",
            "status": "active",
            "intent": "order",
            "subject": subject,
            "medicationCodeableConcept": code,
        },
        {
            "resourceType": "MedicationAdministration",
            "id": "ma",
            "status": "completed",
            "subject": subject,
            "medicationCodeableConcept": code,
            "effectiveDateTime": "2020-01-01",
        },
        {
            "resourceType": "MedicationStatement",
            "id": "ms",
            "status": "completed",
            "subject": subject,
            "medicationCodeableConcept": code,
        },
        {"resourceType": "Medication", "id": "m", "code": code},
        {"resourceType": "BodyStructure", "id": "b", "patient": subject, "location": code},
    ]
    mapper = _Mapper(patient_id="warm-up", synthea_compat=False)
    for sample in samples:
        mapper.validate(_Entry(sample, None, 0))
    map_patient(
        [{"resourceType": "Bundle", "type": "collection", "entry": [{"resource": s} for s in samples]}],
        patient_id="warm-up",
    )


# --------------------------------------------------------------------------------------------------
# Small JSON helpers (raw dicts: anything may be missing or of the wrong type)
# --------------------------------------------------------------------------------------------------


def _dict(value: object) -> Json:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _list(value: object) -> list[Any]:
    """``value`` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def _str(value: object) -> str | None:
    """``value`` if it is a non-empty string."""
    return value if isinstance(value, str) and value.strip() else None


def _number(value: object) -> float | None:
    """A finite JSON number (booleans excluded)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _codings(concept: object) -> list[tuple[str | None, str, str | None]]:
    """``(canonical system, normalised code, display)`` of every coding of a CodeableConcept."""
    found: list[tuple[str | None, str, str | None]] = []
    for coding in _list(_dict(concept).get("coding")):
        coding = _dict(coding)
        code = _str(coding.get("code"))
        if code is None:
            continue
        system = fc.canonical_system(_str(coding.get("system")))
        found.append((system, fc.normalise_code(system, code), _str(coding.get("display"))))
    return found


def _lookup(concept: object, table: fc.CodeTable) -> tuple[CodeKey, str | None] | None:
    """The first coding of ``concept`` in ``table``: its key and meaning."""
    meanings = _LOOKUP[table.id]
    for system, code, _ in _codings(concept):
        if system is not None and (system, code) in meanings:
            return (system, code), meanings[(system, code)]
    return None


def _lookup_all(concepts: Iterable[object], table: fc.CodeTable) -> tuple[CodeKey, str | None] | None:
    """The first match of :func:`_lookup` over several CodeableConcepts."""
    for concept in concepts:
        found = _lookup(concept, table)
        if found is not None:
            return found
    return None


def _texts(concept: object) -> list[str]:
    """``text`` and coding displays of a CodeableConcept."""
    concept = _dict(concept)
    texts = [t for t in [_str(concept.get("text"))] if t]
    texts.extend(d for _, _, d in _codings(concept) if d)
    return texts


def _key_text(key: CodeKey) -> str:
    """``system|code``."""
    return f"{key[0]}|{key[1]}"


def _first_key(concept: object) -> str | None:
    """``system|code`` of the first coding, else ``text:<text>``."""
    for system, code, _ in _codings(concept):
        return f"{system}|{code}" if system else code
    text = _str(_dict(concept).get("text"))
    return f"text:{text}" if text else None


def _date(value: object) -> date | None:
    """The calendar date of a FHIR date/dateTime/instant (partial dates: first day)."""
    text = _str(value)
    if text is None:
        return None
    match = _DATE.match(text.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2] or 1), int(match[3] or 1))
    except ValueError:
        return None


def _period_start(value: object) -> date | None:
    """``Period.start`` (else ``end``)."""
    period = _dict(value)
    return _date(period.get("start")) or _date(period.get("end"))


def _observation_date(resource: Json) -> date | None:
    """When an Observation applies: effective[x], else issued."""
    return (
        _date(resource.get("effectiveDateTime"))
        or _period_start(resource.get("effectivePeriod"))
        or _date(resource.get("effectiveInstant"))
        or _date(resource.get("issued"))
    )


def _onset(resource: Json) -> date | None:
    """Onset of a Condition, else its recorded date."""
    return (
        _date(resource.get("onsetDateTime"))
        or _period_start(resource.get("onsetPeriod"))
        or _date(resource.get("recordedDate"))
    )


def _performed(resource: Json) -> date | None:
    """When a Procedure was performed."""
    return _date(resource.get("performedDateTime")) or _period_start(resource.get("performedPeriod"))


def _reference_key(reference: str) -> str:
    """A reference reduced to ``Type/id`` when it has that shape (absolute URLs, ``_history``)."""
    reference = reference.strip()
    if reference.startswith("urn:"):
        return reference
    match = _ABSOLUTE_REFERENCE.search(reference)
    return f"{match[1]}/{match[2]}" if match else reference


def _profiles(resource: Json) -> list[str]:
    """``meta.profile`` URLs."""
    return [p for p in _list(_dict(resource.get("meta")).get("profile")) if isinstance(p, str)]


def _has_profile(resource: Json, fragment: str) -> bool:
    """Whether a ``meta.profile`` contains ``fragment``."""
    return any(fragment in profile for profile in _profiles(resource))


def _status_codes(concept: object) -> set[str]:
    """Codes of a status CodeableConcept (clinicalStatus, verificationStatus)."""
    return {code for _, code, _ in _codings(concept)}


def _value_quantity(holder: Json) -> tuple[float, str | None, str | None] | None:
    """``(value, UCUM code or unit, comparator)`` of valueQuantity / valueInteger."""
    quantity = _dict(holder.get("valueQuantity"))
    value = _number(quantity.get("value"))
    if value is not None:
        unit = _str(quantity.get("code")) or _str(quantity.get("unit"))
        return value, unit, _str(quantity.get("comparator"))
    integer = _number(holder.get("valueInteger"))
    if integer is not None:
        return integer, None, None
    return None


def _value_texts(holder: Json) -> list[str]:
    """Text values of an Observation or component: valueString, CodeableConcept text and displays."""
    texts = [t for t in [_str(holder.get("valueString"))] if t]
    texts.extend(_texts(holder.get("valueCodeableConcept")))
    return texts


def _polarity(holder: Json) -> str | None:
    """``"positive"`` / ``"negative"`` from a coded answer, a boolean or text; else ``None``."""
    found = _lookup(holder.get("valueCodeableConcept"), fc.RESULT_ANSWER)
    if found is not None:
        return found[1]
    boolean = holder.get("valueBoolean")
    if isinstance(boolean, bool):
        return fc.POSITIVE if boolean else fc.NEGATIVE
    for text in _value_texts(holder):
        if _NEGATIVE_TEXT.search(text):
            return fc.NEGATIVE
        if _POSITIVE_TEXT.search(text) or _HGVS_TEXT.search(text):
            return fc.POSITIVE
    found = _lookup_all(_list(holder.get("interpretation")), fc.RESULT_ANSWER)
    return found[1] if found is not None else None


def _yes_no(holder: Json) -> bool | None:
    """A boolean data item: valueBoolean, a yes/no code, or yes/no text."""
    boolean = holder.get("valueBoolean")
    if isinstance(boolean, bool):
        return boolean
    found = _lookup(holder.get("valueCodeableConcept"), fc.YES_NO_ANSWER)
    if found is not None:
        return found[1] == fc.YES
    for text in _value_texts(holder):
        word = text.strip().lower()
        if word in _YES_TEXT:
            return True
        if word in _NO_TEXT:
            return False
    return None


def _length_cm(value: float, unit: str | None) -> float | None:
    """A length in centimetres from mm / cm / m; ``None`` for other or missing units."""
    factors = {"mm": 0.1, "cm": 1.0, "m": 100.0}
    factor = factors.get((unit or "").strip().lower())
    return None if factor is None else round(value * factor, 3)


# --------------------------------------------------------------------------------------------------
# Entries, candidates
# --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Entry:
    """One resource from the documents, with its Bundle ``fullUrl`` and position.

    ``type`` and ``ref`` are computed once: every entry's reference is read several times per call.
    """

    resource: Json
    full_url: str | None
    position: int
    container: str | None = None
    type: str = field(init=False)
    """``resourceType``."""
    ref: str = field(init=False)
    """Provenance reference: ``Type/id``, else the ``fullUrl``, else a positional label.

    A contained resource is named by its container's reference plus ``#id``.
    """

    def __post_init__(self) -> None:
        self.type = str(self.resource.get("resourceType"))
        rid = _str(self.resource.get("id"))
        if self.container is not None:
            self.ref = f"{self.container}#{rid or ''}"
        elif rid is not None:
            self.ref = f"{self.type}/{rid}"
        elif self.full_url is not None:
            self.ref = self.full_url
        else:
            self.ref = f"{self.type}#{self.position}"

    def aliases(self) -> set[str]:
        """Every reference string that points at this entry."""
        keys = {self.ref}
        if self.full_url is not None:
            keys.add(self.full_url)
            if not self.full_url.endswith(f"/{self.ref}"):  # else its Type/id is the ref itself
                keys.add(_reference_key(self.full_url))
        return keys


@dataclass(frozen=True, slots=True)
class _Candidate(Generic[T]):
    """One reading of a fact from one or more resources, before the best one is chosen."""

    value: T
    when: date | None
    sources: tuple[str, ...]
    preliminary: bool = False
    note: str | None = None
    rank: int = 0


@dataclass(slots=True)
class _ConditionInfo:
    """A classified Condition."""

    entry: _Entry
    kind: str
    key: str
    onset: date | None
    site: PrimarySite | None = None
    extrahepatic: str | None = None
    symptom: Symptom | None = None
    stage: str | None = None
    note: str | None = None
    resolved: bool = False
    """Clinical status resolved, inactive or in remission."""


@dataclass(slots=True)
class _ObservationInfo:
    """An Observation in scope, with its tables and status."""

    entry: _Entry
    when: date | None
    preliminary: bool
    tables: tuple[tuple[str, str | None], ...]
    components: list[tuple[CodeKey, Json]] = field(default_factory=list)

    @property
    def resource(self) -> Json:
        """The raw resource."""
        return self.entry.resource

    def candidate(self, value: T, *, note: str | None = None, rank: int = 0) -> _Candidate[T]:
        """A candidate from this observation alone."""
        return _Candidate(value, self.when, (self.entry.ref,), self.preliminary, note, rank)


# --------------------------------------------------------------------------------------------------
# The mapper
# --------------------------------------------------------------------------------------------------


class _Mapper:
    """State of one :func:`map_patient` call."""

    def __init__(self, *, patient_id: str | None, synthea_compat: bool) -> None:
        self.patient_id = _str(patient_id)
        self.synthea_compat = synthea_compat
        self.notes: dict[DataNote, None] = {}
        self.entries: list[_Entry] = []
        self.index: dict[str, _Entry] = {}
        self.patient: _Entry | None = None
        self.patient_keys: set[str] = set()
        self.other_patient_sources: list[str] = []
        self.unreadable_records: list[Fact[RecordKind]] = []
        self._valid: dict[int, bool] = {}
        self._problems: dict[int, str] = {}

    # -- notes and validation ---------------------------------------------------------------------

    def note(self, kind: str, message: str, sources: Iterable[str] = ()) -> None:
        """Record a data note (deduplicated in constant time: a record may hold thousands of results)."""
        self.notes.setdefault(DataNote(kind=kind, message=message, sources=tuple(dict.fromkeys(sources))))

    def validate(self, entry: _Entry) -> bool:
        """Validate one resource with its R4B model (cached); an invalid one gets a data note."""
        cached = self._valid.get(id(entry.resource))
        if cached is not None:
            return cached
        valid = _validate(entry.resource)
        if valid is not None:
            self.note(
                "invalid-resource",
                f"A {entry.type} was skipped because it is not valid FHIR R4 ({valid}).",
                (entry.ref,),
            )
            self._problems[id(entry.resource)] = valid
        self._valid[id(entry.resource)] = valid is None
        return valid is None

    def problem(self, entry: _Entry) -> str:
        """Why a resource :meth:`validate` rejected is not valid, as a note for its fact."""
        return f"not valid FHIR R4: {self._problems.get(id(entry.resource), 'invalid')}"

    # -- documents ---------------------------------------------------------------------------------

    def collect(self, documents: Iterable[object]) -> None:
        """Flatten the documents into entries and index them by reference."""
        try:
            items = list(documents)
        except Exception:
            self.note("invalid-resource", "The prefetch documents could not be iterated; no data was read.")
            return
        for item in items:
            self._add_document(item, depth=0)
        seen: set[str] = set()
        unique: list[_Entry] = []
        for entry in self.entries:
            if entry.ref in seen:
                continue
            seen.add(entry.ref)
            unique.append(entry)
        self.entries = unique
        for entry in self.entries:
            for key in entry.aliases():
                self.index.setdefault(key, entry)

    def _add_document(self, document: object, *, depth: int) -> None:
        """Add one prefetch value (a Bundle is opened, nested Bundles up to a small depth)."""
        if document is None:
            return
        if isinstance(document, str | bytes | bytearray):
            try:
                document = json.loads(document)
            except ValueError:
                self.note("invalid-resource", "A prefetch value is not JSON; it was skipped.")
                return
        if not isinstance(document, dict):
            self.note("invalid-resource", "A prefetch value is not a FHIR resource; it was skipped.")
            return
        resource_type = document.get("resourceType")
        if resource_type == "OperationOutcome":
            return
        if not isinstance(resource_type, str):
            self.note("invalid-resource", "A prefetch value has no resourceType; it was skipped.")
            return
        if resource_type != "Bundle":
            self.entries.append(_Entry(document, None, len(self.entries)))
            return
        if depth >= _MAX_BUNDLE_DEPTH:
            self.note("invalid-resource", "Bundles nested too deeply were skipped.")
            return
        raw_entries = document.get("entry", [])
        if not isinstance(raw_entries, list):
            self.note("invalid-resource", "A Bundle's entry is not a list; the Bundle was skipped.")
            return
        for raw in raw_entries:
            if not isinstance(raw, dict):
                self.note("invalid-resource", "A Bundle entry is not an object; it was skipped.")
                continue
            resource = raw.get("resource")
            if resource is None:
                continue
            if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
                self.note("invalid-resource", "A Bundle entry holds no FHIR resource; it was skipped.")
                continue
            if resource["resourceType"] == "Bundle":
                self._add_document(resource, depth=depth + 1)
            elif resource["resourceType"] != "OperationOutcome":
                self.entries.append(_Entry(resource, _str(raw.get("fullUrl")), len(self.entries)))

    def resolve(self, reference: object, container: _Entry | None = None) -> _Entry | None:
        """The entry a Reference (or reference string) points at: contained, bundled or by id."""
        text = _str(_dict(reference).get("reference")) if isinstance(reference, dict) else _str(reference)
        if text is None:
            return None
        if text.startswith("#"):
            if container is None:
                return None
            for contained in _list(container.resource.get("contained")):
                contained = _dict(contained)
                if contained.get("id") == text[1:]:
                    return _Entry(contained, None, container.position, container=container.ref)
            return None
        return self.index.get(text) or self.index.get(_reference_key(text))

    # -- patient -----------------------------------------------------------------------------------

    def anchor_patient(self) -> None:
        """Decide which patient the facts are about and which subject references mean that patient."""
        patients = [e for e in self.entries if e.type == "Patient"]
        if self.patient_id is not None:
            self.patient_keys = {f"Patient/{self.patient_id}"}
            for entry in patients:
                if _str(entry.resource.get("id")) == self.patient_id and self.patient is None:
                    self.patient = entry
                    self.patient_keys |= entry.aliases()
        elif patients:
            self.patient = patients[0]
            self.patient_keys = self.patient.aliases()
        else:
            subjects = Counter(
                _reference_key(ref)
                for e in self.entries
                if e.type in _CLINICAL_TYPES
                for ref in [_str(_dict(e.resource.get("subject")).get("reference"))]
                if ref
            )
            if subjects:
                self.patient_keys = {subjects.most_common(1)[0][0]}
        for entry in patients:
            if entry is not self.patient:
                self.other_patient_sources.append(entry.ref)

    def belongs(self, entry: _Entry) -> bool:
        """Whether a clinical resource is about the anchored patient (no subject: assumed so)."""
        reference = _str(_dict(entry.resource.get("subject")).get("reference")) or _str(
            _dict(entry.resource.get("patient")).get("reference")
        )
        if reference is None or not self.patient_keys:
            return True
        if reference in self.patient_keys or _reference_key(reference) in self.patient_keys:
            return True
        target = self.resolve(reference)
        if target is not None and target is self.patient:
            return True
        self.other_patient_sources.append(entry.ref)
        return False

    # -- the run -----------------------------------------------------------------------------------

    def run(self, documents: Iterable[object]) -> PatientFacts:
        """Map the documents."""
        self.collect(documents)
        self.anchor_patient()
        clinical = [e for e in self.entries if e.type in _CLINICAL_TYPES and self.belongs(e)]
        by_type: dict[str, list[_Entry]] = {}
        for entry in clinical:
            by_type.setdefault(entry.type, []).append(entry)

        conditions = self.classify_conditions(by_type.get("Condition", []))
        observations = self.select_observations(by_type.get("Observation", []))
        procedures = [e for e in by_type.get("Procedure", []) if _procedure_completed(e.resource)]

        primary_infos = [c for c in conditions if c.kind == "primary"]
        primary_refs = {c.entry.ref for c in primary_infos}
        liver_infos = [c for c in conditions if c.kind == "liver"]
        liver_refs = {c.entry.ref for c in liver_infos}
        other_cancer_refs = {c.entry.ref for c in conditions if c.kind == "other-cancer"}
        observations = self.drop_other_tumours(observations, other_cancer_refs)

        stage = self.read_stage(observations, primary_infos, other_cancer_refs | liver_refs)
        primary = self.build_primary(primary_infos, procedures, observations, conditions, stage)
        liver = self.build_liver(liver_infos, observations, primary_refs)
        extrahepatic = self.build_extrahepatic(conditions)
        extrahepatic_absent = self.build_extrahepatic_absent(observations, stage, liver, extrahepatic)
        liver_procedures = self.build_liver_procedures(procedures, observations)
        therapies, unidentified = self.build_therapies(
            by_type.get("MedicationRequest", []),
            by_type.get("MedicationAdministration", []),
            by_type.get("MedicationStatement", []),
        )
        if self.other_patient_sources:
            sources = list(dict.fromkeys(self.other_patient_sources))
            self.note(
                "ignored",
                f"{len(sources)} resource(s) of another patient were ignored.",
                sources[:_MAX_NOTE_SOURCES],
            )
        return PatientFacts(
            patient=self.patient_reference(),
            birth_date=self.birth_date(),
            primary=primary,
            liver_metastases=liver,
            other_primary_cancers=self.build_other_cancers(conditions),
            extrahepatic=extrahepatic,
            extrahepatic_absent=extrahepatic_absent,
            molecular=self.build_molecular(observations),
            cea_ng_ml=self.build_cea(observations),
            ecog=self.build_ecog(observations),
            cirrhosis=self.build_cirrhosis(conditions),
            declines_chemotherapy_first=self.choose(
                "declines chemotherapy first",
                self.boolean_items(observations, fc.DECLINES_CHEMOTHERAPY_FIRST),
                stable=False,
            ),
            therapies=therapies,
            liver_procedures=liver_procedures,
            data_notes=tuple(self.notes),
            unreadable=tuple(self.unreadable_records),
            unidentified_medications=unidentified,
        )

    def patient_reference(self) -> str | None:
        """``Patient/<id>`` of the anchored patient (or the entry's fullUrl)."""
        if self.patient_id is not None:
            return f"Patient/{self.patient_id}"
        if self.patient is not None:
            return self.patient.ref
        return next(iter(self.patient_keys), None)

    def birth_date(self) -> date | None:
        """The anchored Patient's birth date (if the Patient is valid)."""
        if self.patient is None or not self.validate(self.patient):
            return None
        return _date(self.patient.resource.get("birthDate"))

    # -- choosing ----------------------------------------------------------------------------------

    def choose(self, label: str, candidates: Sequence[_Candidate[T]], *, stable: bool) -> Fact[T] | None:
        """The most recent final candidate (preliminary only if nothing else), with conflict notes.

        ``stable`` facts (results that should not change over time) note any disagreement between
        final results; other facts only disagreements recorded for the same date.
        """
        if not candidates:
            return None
        finals = [c for c in candidates if not c.preliminary]
        pool = finals or list(candidates)
        best = max(pool, key=lambda c: (c.when or date.min, c.rank))
        if stable:
            disagreeing = [c for c in pool if c.value != best.value]
        else:
            disagreeing = [c for c in pool if c.value != best.value and c.when == best.when]
        if disagreeing:
            others = ", ".join(sorted({_display(c.value) for c in disagreeing}))
            self.note(
                "conflict",
                f"Conflicting {label} results: {_display(best.value)} (most recent, used) vs {others}.",
                (*best.sources, *(s for c in disagreeing for s in c.sources)),
            )
        note = _with_preliminary(best)
        if best.preliminary:
            self.note("preliminary", f"Only a preliminary {label} result is available.", best.sources)
        return Fact(best.value, best.sources, best.when, note)

    def history(self, candidates: Sequence[_Candidate[T]]) -> tuple[Fact[T], ...]:
        """Every candidate as a fact, oldest first (undated first), from the same pool
        :meth:`choose` picks the latest from: final results, or preliminary ones when there are
        no others (their note says so). Used where the order of readings matters (MDT
        assessments: conversion is judged from it)."""
        finals = [c for c in candidates if not c.preliminary]
        pool = sorted(finals or candidates, key=lambda c: (c.when or date.min, c.rank))
        return tuple(Fact(c.value, c.sources, c.when, _with_preliminary(c)) for c in pool)

    # -- conditions --------------------------------------------------------------------------------

    def classify_conditions(self, entries: Sequence[_Entry]) -> list[_ConditionInfo]:
        """Classify Conditions on the raw JSON; validate and status-check only the relevant ones."""
        infos: list[_ConditionInfo] = []
        for entry in entries:
            info = self.classify_condition(entry)
            if info is None:
                continue
            verification = _status_codes(entry.resource.get("verificationStatus"))
            if verification & _REJECTED:
                self.note(
                    "ignored",
                    f"A Condition recorded as {'/'.join(sorted(verification & _REJECTED))} was not used.",
                    (entry.ref,),
                )
                continue
            if verification & _UNCONFIRMED:
                self.note(
                    "ignored",
                    f"A Condition recorded as {'/'.join(sorted(verification & _UNCONFIRMED))} was not "
                    "treated as confirmed.",
                    (entry.ref,),
                )
                continue
            if not self.validate(entry):
                kind = _UNREADABLE_KINDS.get(info.kind)
                if kind is not None:
                    self.unreadable_records.append(Fact(kind, (entry.ref,), note=self.problem(entry)))
                continue
            clinical = _status_codes(entry.resource.get("clinicalStatus")) & _RESOLVED_CLINICAL
            info.resolved = bool(clinical)
            if clinical and info.note is None and info.kind in ("primary", "liver", "extrahepatic"):
                info.note = f"clinical status: {'/'.join(sorted(clinical))}"
            if clinical and info.kind == "symptom":
                continue
            infos.append(info)
        return infos

    def classify_condition(self, entry: _Entry) -> _ConditionInfo | None:
        """What a Condition is, from its codes, body site and profile (``None``: not relevant)."""
        resource = entry.resource
        code = resource.get("code")
        body_sites = _list(resource.get("bodySite"))
        onset = _onset(resource)

        def info(kind: str, key: CodeKey | None, **kwargs: Any) -> _ConditionInfo:
            return _ConditionInfo(
                entry, kind, _key_text(key) if key else (_first_key(code) or ""), onset, **kwargs
            )

        synthea = _lookup(code, fc.SYNTHEA_COLORECTAL_STAGE)
        if synthea is not None and synthea[0][1] == "94260004":
            if self.synthea_compat:
                return info(
                    "primary",
                    synthea[0],
                    site=None,
                    stage="IV",
                    note="Synthea convention: 94260004 read as stage IV colon primary",
                )
            self.note(
                "unrecognised-code",
                "SNOMED CT 94260004 (secondary malignant neoplasm of colon) is used by Synthea for a "
                "stage IV "
                "colon primary; it was not read as a primary (Synthea compatibility is off).",
                (entry.ref,),
            )
            return None
        primary = _lookup(code, fc.COLORECTAL_PRIMARY)
        body_site = _lookup_all(body_sites, fc.COLORECTAL_BODY_SITE)
        if primary is not None:
            site = _site(primary[1])
            site_from_body = _site(body_site[1]) if body_site else None
            note = None
            if site_from_body is not None and _more_specific(site_from_body, site):
                if site is not None and _specific(site) and site != site_from_body:
                    self.note(
                        "conflict",
                        f"A colorectal Condition's code implies {site} but its body site says "
                        f"{site_from_body}; the body site was used.",
                        (entry.ref,),
                    )
                site = site_from_body
            stage = None
            if self.synthea_compat and synthea is not None:
                stage = synthea[1]
                note = "Synthea convention: stage read from the condition code"
            return info("primary", primary[0], site=site, stage=stage, note=note)
        liver = _lookup(code, fc.LIVER_METASTASIS)
        if liver is not None:
            return info("liver", liver[0])
        extrahepatic = _lookup(code, fc.EXTRAHEPATIC_METASTASIS)
        if extrahepatic is not None:
            return info("extrahepatic", extrahepatic[0], extrahepatic=extrahepatic[1])
        generic_secondary = _lookup(code, fc.GENERIC_SECONDARY_NEOPLASM)
        if generic_secondary is not None or _has_profile(resource, _MCODE_SECONDARY_PROFILE):
            site_found = _lookup_all(body_sites, fc.METASTASIS_BODY_SITE)
            key = generic_secondary[0] if generic_secondary else None
            if site_found is None:
                self.note(
                    "unrecognised-code",
                    "A metastasis Condition has no recognised site (code or body site); it was not used.",
                    (entry.ref,),
                )
                return None
            if site_found[1] == fc.LIVER_MEANING:
                return info("liver", key)
            return info("extrahepatic", key, extrahepatic=site_found[1])
        generic_primary = _lookup(code, fc.GENERIC_MALIGNANT_NEOPLASM)
        if generic_primary is not None or _has_profile(resource, _MCODE_PRIMARY_PROFILE):
            if body_site is not None:
                return info(
                    "primary", generic_primary[0] if generic_primary else None, site=_site(body_site[1])
                )
            return info("other-cancer", generic_primary[0] if generic_primary else None)
        symptom = _lookup(code, fc.PRIMARY_COMPLICATION)
        if symptom is not None:
            return info("symptom", symptom[0], symptom=Symptom(str(symptom[1])))
        cirrhosis = _lookup(code, fc.CIRRHOSIS)
        if cirrhosis is not None:
            return info("cirrhosis", cirrhosis[0])
        is_cancer, note = _other_cancer(code)
        if is_cancer:
            return info("other-cancer", None, note=note)
        return None

    def build_primary(
        self,
        infos: Sequence[_ConditionInfo],
        procedures: Sequence[_Entry],
        observations: Sequence[_ObservationInfo],
        conditions: Sequence[_ConditionInfo],
        stage: Mapping[str, Fact[str]],
    ) -> PrimaryTumour | None:
        """The colorectal primary from all Conditions describing it."""
        if not infos:
            return None
        ordered = sorted(infos, key=lambda c: (c.onset or date.max, c.entry.position))
        sources = tuple(c.entry.ref for c in ordered)
        diagnosed = next((c.onset for c in ordered if c.onset is not None), None)
        representative = max(ordered, key=lambda c: (_site_rank(c.site), -ordered.index(c)))
        condition = Fact(representative.key, sources, diagnosed, representative.note)

        site_fact: Fact[PrimarySite] | None = None
        if representative.site is not None:
            site_sources = tuple(c.entry.ref for c in ordered if c.site == representative.site)
            site_fact = Fact(representative.site, site_sources, diagnosed)
            specific = {c.site for c in ordered if c.site is not None and _specific(c.site)}
            if len(specific) > 1:
                self.note(
                    "conflict",
                    f"Colorectal Conditions give different sites ({', '.join(sorted(specific))}); "
                    f"{representative.site} was used.",
                    sources,
                )
        primary_refs = set(sources)
        return PrimaryTumour(
            condition=condition,
            site=site_fact,
            diagnosed=Fact(diagnosed, sources, diagnosed) if diagnosed else None,
            t_category=stage.get("T"),
            n_category=stage.get("N"),
            m_category=stage.get("M"),
            stage_group=stage.get("stage"),
            anal_verge_distance_cm=self.choose(
                "anal-verge distance", self.anal_verge(observations), stable=False
            ),
            resected=self.primary_resection(procedures, primary_refs, diagnosed),
            symptoms=self.symptoms(conditions, observations, diagnosed),
            complete_response=self.choose(
                "primary response", self.primary_response(observations, primary_refs), stable=False
            ),
        )

    def primary_resection(
        self, procedures: Sequence[_Entry], primary_refs: set[str], diagnosed: date | None
    ) -> Fact[date] | None:
        """Earliest completed colorectal resection plausibly of this primary."""
        found: list[tuple[date | None, _Entry]] = []
        for entry in procedures:
            if _lookup(entry.resource.get("code"), fc.PRIMARY_RESECTION) is None:
                continue
            performed = _performed(entry.resource)
            reasons = [self.resolve(r) for r in _list(entry.resource.get("reasonReference"))]
            for_primary = any(r is not None and r.ref in primary_refs for r in reasons)
            plausible = diagnosed is None or performed is None or performed >= diagnosed - _RESECTION_WINDOW
            if (for_primary or plausible) and self.validate(entry):
                found.append((performed, entry))
        if not found:
            return None
        found.sort(key=lambda item: (item[0] or date.max, item[1].position))
        performed, entry = found[0]
        if performed is None:
            self.note(
                "ignored", "A primary resection has no date; the resection date is unknown.", (entry.ref,)
            )
            return None
        return Fact(performed, (entry.ref,), performed)

    def symptoms(
        self,
        conditions: Sequence[_ConditionInfo],
        observations: Sequence[_ObservationInfo],
        diagnosed: date | None,
    ) -> Fact[frozenset[Symptom]] | None:
        """Complications of the primary, or an explicit 'asymptomatic' record."""
        relevant = [
            c
            for c in conditions
            if c.kind == "symptom"
            and c.symptom is not None
            and (diagnosed is None or c.onset is None or c.onset >= diagnosed - _SYMPTOM_WINDOW)
        ]
        asymptomatic = self.choose(
            "asymptomatic primary",
            [c for c in self.boolean_items(observations, fc.PRIMARY_ASYMPTOMATIC) if c.value],
            stable=False,
        )
        if relevant:
            symptoms = frozenset(c.symptom for c in relevant if c.symptom is not None)
            sources = tuple(c.entry.ref for c in relevant)
            latest = max((c.onset for c in relevant if c.onset), default=None)
            if asymptomatic is not None:
                self.note(
                    "conflict",
                    "The primary is recorded as asymptomatic and with complications; "
                    "the complications were used.",
                    (*sources, *asymptomatic.sources),
                )
            return Fact(symptoms, sources, latest)
        for candidate in self.boolean_items(observations, fc.PRIMARY_ASYMPTOMATIC):
            if not candidate.value:
                self.note(
                    "unrecognised-code",
                    "The primary is recorded as symptomatic without a coded complication; symptoms unknown.",
                    candidate.sources,
                )
        if asymptomatic is None:
            return None
        return Fact(frozenset(), asymptomatic.sources, asymptomatic.effective, asymptomatic.note)

    def build_liver(
        self,
        infos: Sequence[_ConditionInfo],
        observations: Sequence[_ObservationInfo],
        primary_refs: set[str],
    ) -> LiverMetastases | None:
        """The liver metastases and the observations about them."""
        kept: list[_ConditionInfo] = []
        for info in infos:
            related = self.related_primary(info.entry)
            if related is not None and related.ref not in primary_refs and related.type == "Condition":
                self.note(
                    "ignored",
                    "Liver metastases linked to a non-colorectal primary were not attributed to "
                    "colorectal cancer.",
                    (info.entry.ref, related.ref),
                )
                continue
            kept.append(info)
        if not kept:
            return None
        ordered = sorted(kept, key=lambda c: (c.onset or date.max, c.entry.position))
        sources = tuple(c.entry.ref for c in ordered)
        detected = next((c.onset for c in ordered if c.onset is not None), None)
        first = ordered[0]
        liver_refs = set(sources)
        mdt_candidates = self.mdt_resectability(observations)
        onsets = tuple(
            Fact(c.onset, (c.entry.ref,), c.onset) for c in ordered if c.onset is not None and not c.resolved
        )
        return LiverMetastases(
            condition=Fact(first.key, sources, detected, first.note),
            detected=Fact(detected, sources, detected) if detected else None,
            lesion_count=self.choose("liver lesion count", self.lesion_count(observations), stable=False),
            largest_diameter_cm=self.largest_diameter(observations, liver_refs, primary_refs),
            bilobar=self.choose("bilobar spread", self.boolean_items(observations, fc.BILOBAR), stable=False),
            future_liver_remnant_pct=self.choose(
                "future liver remnant", self.future_liver_remnant(observations), stable=False
            ),
            planned_complexity=self.choose(
                "planned hepatectomy complexity", self.complexity(observations), stable=False
            ),
            mdt_resectability=self.choose("MDT resectability", mdt_candidates, stable=False),
            disease_status=self.choose(
                "disease status", self.disease_status(observations, primary_refs), stable=False
            ),
            mdt_history=self.history(mdt_candidates),
            onsets=onsets,
        )

    def related_primary(self, entry: _Entry) -> _Entry | None:
        """The primary a metastasis Condition is linked to by the condition-related extension."""
        for extension in _list(entry.resource.get("extension")):
            extension = _dict(extension)
            if extension.get("url") in _RELATED_PRIMARY_EXTENSIONS:
                return self.resolve(extension.get("valueReference"))
        return None

    def build_extrahepatic(self, conditions: Sequence[_ConditionInfo]) -> tuple[Fact[ExtrahepaticSite], ...]:
        """One fact per extrahepatic site."""
        by_site: dict[ExtrahepaticSite, list[_ConditionInfo]] = {}
        for info in conditions:
            if info.kind != "extrahepatic" or info.extrahepatic is None:
                continue
            if info.extrahepatic == fc.UNSPECIFIED_NODES:
                self.note(
                    "unrecognised-code",
                    "Lymph-node metastases without a distant site (possibly regional nodes) were not "
                    "counted as extrahepatic disease.",
                    (info.entry.ref,),
                )
                continue
            by_site.setdefault(ExtrahepaticSite(info.extrahepatic), []).append(info)
        facts: list[Fact[ExtrahepaticSite]] = []
        for site in ExtrahepaticSite:
            infos = by_site.get(site)
            if not infos:
                continue
            infos.sort(key=lambda c: (c.onset or date.max, c.entry.position))
            first = next((c.onset for c in infos if c.onset), None)
            facts.append(Fact(site, tuple(c.entry.ref for c in infos), first, infos[0].note))
        return tuple(facts)

    def build_extrahepatic_absent(
        self,
        observations: Sequence[_ObservationInfo],
        stage: Mapping[str, Fact[str]],
        liver: LiverMetastases | None,
        extrahepatic: Sequence[Fact[ExtrahepaticSite]],
    ) -> Fact[bool] | None:
        """Explicit 'no extrahepatic disease', or an M1a/M1b/M1c category when liver metastases exist."""
        candidates = list(self.boolean_items(observations, fc.NO_EXTRAHEPATIC_DISEASE))
        m_category = stage.get("M")
        if liver is not None and m_category is not None and m_category.value.startswith("M1"):
            detected = liver.detected.value if liver.detected else None
            if detected is None or m_category.effective is None or m_category.effective >= detected:
                if m_category.value == "M1a":
                    candidates.append(
                        _Candidate(
                            True, m_category.effective, m_category.sources, note="from M1a (one organ)"
                        )
                    )
                elif m_category.value in ("M1b", "M1c"):
                    candidates.append(
                        _Candidate(
                            False, m_category.effective, m_category.sources, note=f"from {m_category.value}"
                        )
                    )
        absent = self.choose("extrahepatic disease", candidates, stable=False)
        if absent is not None and absent.value and extrahepatic:
            self.note(
                "conflict",
                "No extrahepatic disease is recorded, but extrahepatic metastases are recorded too.",
                (*absent.sources, *(s for f in extrahepatic for s in f.sources)),
            )
        return absent

    def build_cirrhosis(self, conditions: Sequence[_ConditionInfo]) -> Fact[bool] | None:
        """Cirrhosis when any confirmed cirrhosis Condition exists (absence is never inferred)."""
        infos = [c for c in conditions if c.kind == "cirrhosis"]
        if not infos:
            return None
        first = min((c.onset for c in infos if c.onset), default=None)
        return Fact(True, tuple(c.entry.ref for c in infos), first)

    def build_other_cancers(self, conditions: Sequence[_ConditionInfo]) -> tuple[Fact[str], ...]:
        """Confirmed primary cancers other than the colorectal one, one fact per code."""
        by_key: dict[str, list[_ConditionInfo]] = {}
        for info in conditions:
            if info.kind == "other-cancer":
                by_key.setdefault(info.key, []).append(info)
        facts = []
        for key, infos in by_key.items():
            first = min((c.onset for c in infos if c.onset), default=None)
            facts.append(Fact(key, tuple(c.entry.ref for c in infos), first, infos[0].note))
        return tuple(facts)

    # -- observations ------------------------------------------------------------------------------

    def select_observations(self, entries: Sequence[_Entry]) -> list[_ObservationInfo]:
        """Observations with a code (or component) the mapping reads, status-checked and validated."""
        selected: list[_ObservationInfo] = []
        for entry in entries:
            resource = entry.resource
            tables: list[tuple[str, str | None]] = []
            for system, code, _ in _codings(resource.get("code")):
                if system is not None:
                    tables.extend(_OBSERVATION_TABLES.get((system, code), ()))
            components: list[tuple[CodeKey, Json]] = []
            for component in _list(resource.get("component")):
                component = _dict(component)
                for system, code, _ in _codings(component.get("code")):
                    if system is not None and (
                        (system, code) in _MMR_PROTEINS or (system, code) == _TUMOR_SIZE_COMPONENT
                    ):
                        components.append(((system, code), component))
            if not tables and not any(key in _MMR_PROTEINS for key, _ in components):
                continue
            status = _str(resource.get("status"))
            if status in _IGNORED_OBSERVATION:
                self.note("ignored", f"An Observation recorded as {status} was not used.", (entry.ref,))
                continue
            if status not in _FINAL_OBSERVATION and status not in _PRELIMINARY_OBSERVATION:
                continue
            if not self.validate(entry):
                continue
            selected.append(
                _ObservationInfo(
                    entry,
                    _observation_date(resource),
                    status in _PRELIMINARY_OBSERVATION,
                    tuple(dict.fromkeys(tables)),
                    components,
                )
            )
        return selected

    def drop_other_tumours(
        self, observations: Sequence[_ObservationInfo], other_cancer_refs: set[str]
    ) -> list[_ObservationInfo]:
        """Observations about another primary cancer (by focus) are not about the colorectal one."""
        kept: list[_ObservationInfo] = []
        for info in observations:
            if other_cancer_refs and self.focuses_on(info, other_cancer_refs):
                self.note(
                    "ignored",
                    "An observation about another primary cancer was not used for the colorectal cancer.",
                    (info.entry.ref,),
                )
                continue
            kept.append(info)
        return kept

    def with_table(
        self, observations: Sequence[_ObservationInfo], table: fc.CodeTable
    ) -> list[tuple[_ObservationInfo, str | None]]:
        """Observations coded from ``table``, with the code's meaning."""
        found: list[tuple[_ObservationInfo, str | None]] = []
        for info in observations:
            for table_id, meaning in info.tables:
                if table_id == table.id:
                    found.append((info, meaning))
                    break
        return found

    def data_items(self, observations: Sequence[_ObservationInfo], code: str) -> list[_ObservationInfo]:
        """Observations coded with one local data item."""
        return [
            info
            for info, meaning in self.with_table(observations, fc.DATA_ITEM_OBSERVATION)
            if meaning == code
        ]

    def boolean_items(self, observations: Sequence[_ObservationInfo], code: str) -> list[_Candidate[bool]]:
        """Candidates of a boolean local data item."""
        candidates: list[_Candidate[bool]] = []
        for info in self.data_items(observations, code):
            value = _yes_no(info.resource)
            if value is None:
                self.unreadable(info, code)
                continue
            candidates.append(info.candidate(value))
        return candidates

    def unreadable(self, info: _ObservationInfo, what: str) -> None:
        """Data note for an observation whose value could not be read."""
        self.note(
            "unrecognised-code",
            f"The value of a {what} observation could not be read; it was not used.",
            (info.entry.ref,),
        )

    def lesion_count(self, observations: Sequence[_ObservationInfo]) -> list[_Candidate[int]]:
        """Number of liver lesions."""
        candidates: list[_Candidate[int]] = []
        for info in self.data_items(observations, fc.LESION_COUNT):
            quantity = _value_quantity(info.resource)
            value = quantity[0] if quantity else _text_number(info.resource)
            if value is None or value < 0 or value != int(value):
                self.unreadable(info, "liver lesion count")
                continue
            candidates.append(info.candidate(int(value)))
        return candidates

    def future_liver_remnant(self, observations: Sequence[_ObservationInfo]) -> list[_Candidate[float]]:
        """Future liver remnant in percent (a fraction with unit '1' is converted)."""
        candidates: list[_Candidate[float]] = []
        for info in self.data_items(observations, fc.FUTURE_LIVER_REMNANT):
            quantity = _value_quantity(info.resource)
            if quantity is None:
                self.unreadable(info, "future liver remnant")
                continue
            value, unit, _ = quantity
            note = None
            if unit == "1" and value <= 1.0:
                value, note = round(value * 100.0, 3), f"converted from fraction {quantity[0]}"
            elif unit not in (None, "%"):
                self.unreadable(info, "future liver remnant")
                continue
            if not 0.0 <= value <= 100.0:
                self.unreadable(info, "future liver remnant")
                continue
            candidates.append(info.candidate(value, note=note))
        return candidates

    def anal_verge(self, observations: Sequence[_ObservationInfo]) -> list[_Candidate[float]]:
        """Distance from the anal verge in cm."""
        candidates: list[_Candidate[float]] = []
        for info in self.data_items(observations, fc.ANAL_VERGE_DISTANCE):
            quantity = _value_quantity(info.resource)
            cm = _length_cm(quantity[0], quantity[1]) if quantity else None
            if cm is None:
                self.unreadable(info, "anal-verge distance")
                continue
            candidates.append(info.candidate(cm))
        return candidates

    def complexity(self, observations: Sequence[_ObservationInfo]) -> list[_Candidate[HepatectomyComplexity]]:
        """Planned hepatectomy complexity grade."""
        candidates: list[_Candidate[HepatectomyComplexity]] = []
        for info in self.data_items(observations, fc.HEPATECTOMY_COMPLEXITY):
            found = _lookup(info.resource.get("valueCodeableConcept"), fc.HEPATECTOMY_COMPLEXITY_ANSWER)
            value = HepatectomyComplexity(str(found[1])) if found else None
            if value is None:
                for text in _value_texts(info.resource):
                    grade = re.sub(r"(?i)^\s*grade\s*", "", text).strip().upper()
                    value = _COMPLEXITY_TEXT.get(grade) or _COMPLEXITY_TEXT.get(_ROMAN.get(grade, ""))
                    if value:
                        break
            if value is None:
                self.unreadable(info, "hepatectomy complexity")
                continue
            candidates.append(info.candidate(value))
        return candidates

    def mdt_resectability(self, observations: Sequence[_ObservationInfo]) -> list[_Candidate[Resectability]]:
        """Resectability recorded by the MDT."""
        candidates: list[_Candidate[Resectability]] = []
        for info in self.data_items(observations, fc.MDT_RESECTABILITY):
            found = _lookup(info.resource.get("valueCodeableConcept"), fc.MDT_RESECTABILITY_ANSWER)
            value = Resectability(str(found[1])) if found else None
            if value is None:
                for text in _value_texts(info.resource):
                    words = re.sub(r"[\s_]+", "-", text.strip().lower())
                    value = next((r for r in Resectability if r.value == words), None)
                    if value:
                        break
            if value is None:
                self.unreadable(info, "MDT resectability")
                continue
            candidates.append(info.candidate(value))
        return candidates

    def largest_diameter(
        self, observations: Sequence[_ObservationInfo], liver_refs: set[str], primary_refs: set[str]
    ) -> Fact[float] | None:
        """Largest liver-lesion diameter (cm) among the measurements of the latest date."""
        candidates: list[_Candidate[float]] = []
        for info, _ in self.with_table(observations, fc.TUMOR_SIZE):
            resource = info.resource
            if not self.in_liver(info, liver_refs):
                if self.focuses_on(info, primary_refs):
                    continue
                self.note(
                    "ignored",
                    "A tumour size without a liver site (bodySite or focus) was not read as a liver lesion.",
                    (info.entry.ref,),
                )
                continue
            holders = [c for key, c in info.components if key == _TUMOR_SIZE_COMPONENT] or [resource]
            sizes = [
                cm
                for holder in holders
                for quantity in [_value_quantity(holder)]
                if quantity is not None
                for cm in [_length_cm(quantity[0], quantity[1])]
                if cm is not None
            ]
            if not sizes:
                self.unreadable(info, "tumour size")
                continue
            candidates.append(info.candidate(max(sizes)))
        if not candidates:
            return None
        finals = [c for c in candidates if not c.preliminary] or candidates
        latest = max((c.when or date.min) for c in finals)
        same_day = [c for c in finals if (c.when or date.min) == latest]
        largest = max(same_day, key=lambda c: c.value)
        merged = _Candidate(
            largest.value,
            largest.when,
            tuple(dict.fromkeys(s for c in same_day for s in c.sources)),
            largest.preliminary,
        )
        return self.choose("largest liver-lesion diameter", [merged], stable=False)

    def in_liver(self, info: _ObservationInfo, liver_refs: set[str]) -> bool:
        """Whether a tumour-size observation is about a liver lesion."""
        site = _lookup(info.resource.get("bodySite"), fc.METASTASIS_BODY_SITE)
        if site is not None and site[1] == fc.LIVER_MEANING:
            return True
        for focus in _list(info.resource.get("focus")):
            target = self.resolve(focus, info.entry)
            if target is None:
                continue
            if target.ref in liver_refs:
                return True
            if target.type == "BodyStructure" and self.validate(target):
                location = _lookup(target.resource.get("location"), fc.METASTASIS_BODY_SITE)
                if location is not None and location[1] == fc.LIVER_MEANING:
                    return True
                related = self.related_primary(target)
                if related is not None and related.ref in liver_refs:
                    return True
        return False

    def disease_status(
        self, observations: Sequence[_ObservationInfo], primary_refs: set[str]
    ) -> list[_Candidate[DiseaseStatus]]:
        """Cancer disease status not focused on the primary (the metastatic disease)."""
        candidates: list[_Candidate[DiseaseStatus]] = []
        for info, status in self.disease_statuses(observations):
            if not self.focuses_on(info, primary_refs):
                candidates.append(info.candidate(status))
        return candidates

    def primary_response(
        self, observations: Sequence[_ObservationInfo], primary_refs: set[str]
    ) -> list[_Candidate[bool]]:
        """Complete response of the primary from disease statuses focused on it."""
        candidates: list[_Candidate[bool]] = []
        for info, status in self.disease_statuses(observations):
            if self.focuses_on(info, primary_refs) and status is not DiseaseStatus.UNDETERMINED:
                note = None if status is DiseaseStatus.COMPLETE_RESPONSE else f"disease status: {status}"
                candidates.append(info.candidate(status is DiseaseStatus.COMPLETE_RESPONSE, note=note))
        return candidates

    def disease_statuses(
        self, observations: Sequence[_ObservationInfo]
    ) -> list[tuple[_ObservationInfo, DiseaseStatus]]:
        """Readable cancer disease status observations."""
        found: list[tuple[_ObservationInfo, DiseaseStatus]] = []
        for info, _ in self.with_table(observations, fc.DISEASE_STATUS):
            answer = _lookup(info.resource.get("valueCodeableConcept"), fc.DISEASE_STATUS_ANSWER)
            if answer is None:
                self.unreadable(info, "cancer disease status")
                continue
            found.append((info, DiseaseStatus(str(answer[1]))))
        return found

    def focuses_on(self, info: _ObservationInfo, refs: set[str]) -> bool:
        """Whether an observation's focus points at one of ``refs``."""
        for focus in _list(info.resource.get("focus")):
            target = self.resolve(focus, info.entry)
            if target is not None and target.ref in refs:
                return True
        return False

    def read_stage(
        self,
        observations: Sequence[_ObservationInfo],
        primary_infos: Sequence[_ConditionInfo],
        other_refs: set[str],
    ) -> dict[str, Fact[str]]:
        """T, N, M category and stage group (keys ``T``, ``N``, ``M``, ``stage``)."""
        candidates: dict[str, list[_Candidate[str]]] = {"T": [], "N": [], "M": [], "stage": []}
        if not primary_infos:
            return {}
        for info, meaning in self.with_table(observations, fc.TNM_OBSERVATION):
            if self.focuses_on(info, other_refs):
                continue
            category, _, kind = (meaning or "").partition(":")
            values = _stage_texts(info.resource)
            if category == "stage":
                group = next((g for g in map(_stage_group, values) if g), None)
                if group is None:
                    self.unreadable(info, "stage group")
                    continue
                candidates["stage"].append(
                    info.candidate(group, note=_kind_note(kind, ""), rank=_kind_rank(kind))
                )
                continue
            parsed = next((p for p in (_tnm(category, v) for v in values) if p), None)
            if parsed is None:
                self.unreadable(info, f"{category} category")
                continue
            value, prefix = parsed
            candidates[category].append(
                info.candidate(value, note=_kind_note(kind, prefix), rank=_kind_rank(kind))
            )
        for condition in primary_infos:
            for stage in _list(condition.entry.resource.get("stage")):
                summary = _dict(stage).get("summary")
                group = next(
                    (g for g in map(_stage_group, _stage_texts({"valueCodeableConcept": summary})) if g), None
                )
                if group is not None:
                    candidates["stage"].append(_Candidate(group, condition.onset, (condition.entry.ref,)))
            if condition.stage is not None:
                candidates["stage"].append(
                    _Candidate(
                        condition.stage, condition.onset, (condition.entry.ref,), note=condition.note, rank=-1
                    )
                )
        labels = {"T": "T category", "N": "N category", "M": "M category", "stage": "stage group"}
        chosen = {key: self.choose(labels[key], found, stable=False) for key, found in candidates.items()}
        return {key: fact for key, fact in chosen.items() if fact is not None}

    # -- molecular ---------------------------------------------------------------------------------

    def build_molecular(self, observations: Sequence[_ObservationInfo]) -> Molecular:
        """KRAS, NRAS, BRAF, TP53, HER2 and MMR/MSI."""
        genes: dict[str, list[_Candidate[Any]]] = {
            "KRAS": [],
            "NRAS": [],
            "BRAF": [],
            "TP53": [],
            "HER2": [],
            "MMR": [],
        }
        for info, _ in self.with_table(observations, fc.GENOMIC_VARIANT):
            self.read_variant(info, genes)
        for info, meaning in self.with_table(observations, fc.RAS_TEST):
            self.read_ras(info, meaning, genes)
        for info, meaning in self.with_table(observations, fc.BRAF_TEST):
            self.read_braf(info, meaning, genes)
        for info, _ in self.with_table(observations, fc.TP53_TEST):
            polarity = _polarity(info.resource)
            if polarity is None:
                self.unreadable(info, "TP53")
                continue
            genes["TP53"].append(info.candidate(_mutation(polarity), note=_variant_text(info.resource)))
        for info, meaning in self.with_table(observations, fc.HER2_TEST):
            self.read_her2(info, meaning, genes)
        for info, _ in self.with_table(observations, fc.MSI_TEST):
            self.read_msi(info, genes)
        genes["MMR"].extend(self.read_mmr_panels(observations))
        return Molecular(
            kras=self.choose("KRAS", genes["KRAS"], stable=True),
            nras=self.choose("NRAS", genes["NRAS"], stable=True),
            ras_unspecified=self.choose("RAS (gene not named)", genes.get("RAS", []), stable=True),
            braf=self.choose("BRAF", genes["BRAF"], stable=True),
            tp53=self.choose("TP53", genes["TP53"], stable=True),
            her2=self.choose("HER2", genes["HER2"], stable=True),
            mmr=self.choose("MMR/MSI", genes["MMR"], stable=True),
        )

    def variant_gene(self, info: _ObservationInfo) -> str | None:
        """Gene of a variant observation: HGNC id or symbol of the gene-studied component."""
        for component in _list(info.resource.get("component")):
            component = _dict(component)
            if _lookup(component.get("code"), fc.GENOMIC_COMPONENT) != (
                (fc.LOINC, "48018-6"),
                fc.GENE_STUDIED,
            ):
                continue
            value = component.get("valueCodeableConcept")
            by_id = _lookup(value, fc.GENE)
            gene_id = str(by_id[1]) if by_id else None
            symbol = next(
                (
                    _GENE_SYMBOLS[word]
                    for text in _texts(value)
                    for word in [text.strip().upper()]
                    if word in _GENE_SYMBOLS
                ),
                None,
            )
            if gene_id and symbol and gene_id != symbol:
                self.note(
                    "conflict",
                    f"A variant's gene is coded as {gene_id} by HGNC id but named {symbol}; "
                    "the result was not used.",
                    (info.entry.ref,),
                )
                return None
            if symbol and not gene_id:
                ids = [code for system, code, _ in _codings(value) if system == fc.HGNC]
                if ids:
                    self.note(
                        "unrecognised-code",
                        f"A variant's HGNC id ({', '.join(ids)}) does not match its gene symbol {symbol}; "
                        "the symbol was used.",
                        (info.entry.ref,),
                    )
            return gene_id or symbol
        return None

    def read_variant(self, info: _ObservationInfo, genes: dict[str, list[_Candidate[Any]]]) -> None:
        """A Genomics Reporting variant observation."""
        gene = self.variant_gene(info)
        if gene is None:
            return
        resource = info.resource
        value = resource.get("valueCodeableConcept")
        answer = _lookup(value, fc.RESULT_ANSWER)
        if value is not None and answer is None:
            self.unreadable(info, f"{gene} variant")
            return
        present = answer is None or answer[1] == fc.POSITIVE
        changes: dict[str, str] = {}
        benign = False
        for component in _list(resource.get("component")):
            component = _dict(component)
            found = _lookup(component.get("code"), fc.GENOMIC_COMPONENT)
            if found is None:
                continue
            meaning = str(found[1])
            if meaning == fc.CLINICAL_SIGNIFICANCE:
                benign = _lookup(component.get("valueCodeableConcept"), fc.VARIANT_SIGNIFICANCE) is not None
            elif meaning in (fc.PROTEIN_CHANGE, fc.DNA_CHANGE, fc.GENOMIC_CHANGE, fc.DNA_CHANGE_TYPE):
                text = _component_text(component)
                if text:
                    changes[meaning] = text
        if present and benign:
            return
        variant = (
            changes.get(fc.PROTEIN_CHANGE) or changes.get(fc.DNA_CHANGE) or changes.get(fc.GENOMIC_CHANGE)
        )
        all_text = " ".join([*changes.values(), *_texts(value), *_interpretation_texts(resource)])
        if gene in ("KRAS", "NRAS", "TP53"):
            if present:
                genes[gene].append(info.candidate(MutationStatus.MUTANT, note=variant))
            else:
                genes[gene].append(
                    info.candidate(
                        MutationStatus.WILD_TYPE, note=f"{variant} not detected" if variant else None
                    )
                )
        elif gene == "BRAF":
            is_v600e = bool(_V600E_TEXT.search(all_text))
            if present and is_v600e:
                genes["BRAF"].append(info.candidate(BrafStatus.V600E, note=variant))
            elif present and variant:
                genes["BRAF"].append(info.candidate(BrafStatus.OTHER_MUTATION, note=variant))
            elif present:
                self.note(
                    "unrecognised-code",
                    "A BRAF variant without a named change was not used.",
                    (info.entry.ref,),
                )
            elif is_v600e or not variant:
                genes["BRAF"].append(
                    info.candidate(BrafStatus.WILD_TYPE, note="V600E not detected" if is_v600e else None)
                )
        elif gene == "ERBB2" and present and re.search(r"amplif|copy number gain", all_text, re.IGNORECASE):
            genes["HER2"].append(info.candidate(Her2Status.POSITIVE, note="ERBB2 amplification"))

    def read_ras(
        self, info: _ObservationInfo, meaning: str | None, genes: dict[str, list[_Candidate[Any]]]
    ) -> None:
        """A KRAS (or KRAS+NRAS) gene-result observation."""
        polarity = _polarity(info.resource)
        if polarity is None:
            self.unreadable(info, "RAS")
            return
        variant = _variant_text(info.resource)
        if meaning != "KRAS+NRAS":
            genes["KRAS"].append(info.candidate(_mutation(polarity), note=variant))
            return
        if polarity == fc.NEGATIVE:
            genes["KRAS"].append(info.candidate(MutationStatus.WILD_TYPE))
            genes["NRAS"].append(info.candidate(MutationStatus.WILD_TYPE))
            return
        text = " ".join(_value_texts(info.resource)).upper()
        named = [gene for gene in ("KRAS", "NRAS") if gene in text]
        if not named:
            note = "gene not named: KRAS or NRAS mutant" + (f"; {variant}" if variant else "")
            genes.setdefault("RAS", []).append(info.candidate(MutationStatus.MUTANT, note=note))
        for gene in named:
            genes[gene].append(info.candidate(MutationStatus.MUTANT, note=variant))

    def read_braf(
        self, info: _ObservationInfo, meaning: str | None, genes: dict[str, list[_Candidate[Any]]]
    ) -> None:
        """A BRAF gene-result or V600E immunostain observation."""
        polarity = _polarity(info.resource)
        if polarity is None:
            self.unreadable(info, "BRAF")
            return
        text = " ".join(_value_texts(info.resource))
        if meaning == "BRAF-V600E-IHC":
            value = BrafStatus.V600E if polarity == fc.POSITIVE else BrafStatus.WILD_TYPE
            genes["BRAF"].append(info.candidate(value, note="V600E immunostain"))
        elif polarity == fc.NEGATIVE:
            note = "V600E not detected" if _V600E_TEXT.search(text) else None
            genes["BRAF"].append(info.candidate(BrafStatus.WILD_TYPE, note=note))
        elif _V600E_TEXT.search(text):
            genes["BRAF"].append(info.candidate(BrafStatus.V600E))
        elif _HGVS_TEXT.search(text):
            genes["BRAF"].append(info.candidate(BrafStatus.OTHER_MUTATION, note=_variant_text(info.resource)))
        else:
            self.note(
                "unrecognised-code",
                "A positive BRAF result without a named variant was not used.",
                (info.entry.ref,),
            )

    def read_her2(
        self, info: _ObservationInfo, meaning: str | None, genes: dict[str, list[_Candidate[Any]]]
    ) -> None:
        """A HER2 immunostain, ISH, ratio or interpretation observation."""
        resource = info.resource
        value: Her2Status | None = None
        note: str | None = None
        if meaning == fc.HER2_RATIO:
            ratio = _ratio(resource)
            if ratio is not None:
                value = Her2Status.POSITIVE if ratio >= 2.0 else Her2Status.NEGATIVE
                note = f"ERBB2/CEP17 ratio {ratio:g}"
        elif meaning == fc.HER2_IHC:
            score = _her2_score(resource)
            if score == 2:
                self.note(
                    "ignored",
                    "HER2 immunostain 2+ is equivocal; not read as positive or negative.",
                    (info.entry.ref,),
                )
                return
            if score is not None:
                value = Her2Status.POSITIVE if score == 3 else Her2Status.NEGATIVE
                note = f"IHC {score}+"
        if value is None and meaning != fc.HER2_RATIO:
            if any("equivocal" in t.lower() for t in _value_texts(resource)):
                self.note(
                    "ignored",
                    "An equivocal HER2 result was not read as positive or negative.",
                    (info.entry.ref,),
                )
                return
            polarity = _polarity(resource)
            if polarity is not None:
                value = Her2Status.POSITIVE if polarity == fc.POSITIVE else Her2Status.NEGATIVE
        if value is None:
            self.unreadable(info, "HER2")
            return
        genes["HER2"].append(info.candidate(value, note=note))

    def read_msi(self, info: _ObservationInfo, genes: dict[str, list[_Candidate[Any]]]) -> None:
        """An MSI observation."""
        resource = info.resource
        answer = _lookup(resource.get("valueCodeableConcept"), fc.MSI_ANSWER)
        status: MmrStatus | None = None
        if answer is not None:
            status = MmrStatus.DEFICIENT if answer[1] == fc.MSI_HIGH else MmrStatus.PROFICIENT
        if status is None:
            for text in _value_texts(resource):
                if _MSI_HIGH_TEXT.search(text):
                    status = MmrStatus.DEFICIENT
                elif _MSI_STABLE_TEXT.search(text):
                    status = MmrStatus.PROFICIENT
                if status is not None:
                    break
        if status is None:
            polarity = _polarity(resource)
            if polarity is not None:
                status = MmrStatus.DEFICIENT if polarity == fc.POSITIVE else MmrStatus.PROFICIENT
        if status is None:
            self.unreadable(info, "MSI")
            return
        genes["MMR"].append(info.candidate(status, note="MSI"))

    def read_mmr_panels(self, observations: Sequence[_ObservationInfo]) -> list[_Candidate[MmrStatus]]:
        """MMR immunostains grouped by date; the latest date's results form one panel."""
        results: list[tuple[str, bool, _ObservationInfo]] = []
        for info in observations:
            holders: list[tuple[str, Json]] = []
            for system, code, _ in _codings(info.resource.get("code")):
                protein = _MMR_PROTEINS.get((system or "", code))
                if protein:
                    holders.append((protein, info.resource))
            holders.extend((_MMR_PROTEINS[key], c) for key, c in info.components if key in _MMR_PROTEINS)
            for protein, holder in holders:
                is_lost = _mmr_lost(holder)
                if is_lost is None:
                    self.unreadable(info, f"{protein} immunostain")
                    continue
                results.append((protein, is_lost, info))
        if not results:
            return []
        finals = [r for r in results if not r[2].preliminary] or results
        latest = max((r[2].when or date.min) for r in finals)
        panel = [r for r in finals if (r[2].when or date.min) == latest]
        sources = tuple(dict.fromkeys(r[2].entry.ref for r in panel))
        when = panel[0][2].when
        preliminary = panel[0][2].preliminary
        lost = sorted({p for p, is_lost, _ in panel if is_lost})
        retained = {p for p, is_lost, _ in panel if not is_lost}
        if lost:
            return [
                _Candidate(
                    MmrStatus.DEFICIENT, when, sources, preliminary, f"loss of {', '.join(lost)} (IHC)"
                )
            ]
        if {"PMS2", "MSH6"} <= retained:
            return [
                _Candidate(
                    MmrStatus.PROFICIENT,
                    when,
                    sources,
                    preliminary,
                    f"{', '.join(sorted(retained))} retained (IHC)",
                )
            ]
        self.note(
            "ignored",
            f"An MMR immunostain panel with only {', '.join(sorted(retained))} retained is "
            "incomplete; not used.",
            sources,
        )
        return []

    # -- CEA and performance status ----------------------------------------------------------------

    def build_cea(self, observations: Sequence[_ObservationInfo]) -> Fact[float] | None:
        """Latest CEA in ng/mL."""
        candidates: list[_Candidate[float]] = []
        for info, _ in self.with_table(observations, fc.CEA):
            quantity = _value_quantity(info.resource)
            if quantity is None:
                self.unreadable(info, "CEA")
                continue
            value, unit, comparator = quantity
            converted = _cea_ng_ml(value, unit)
            if converted is None:
                self.note(
                    "unrecognised-code",
                    f"A CEA result in unit '{unit or 'none'}' cannot be converted to ng/mL; it was not used.",
                    (info.entry.ref,),
                )
                continue
            ng_ml, conversion = converted
            notes = [
                n
                for n in (f"reported as {comparator} {value:g} {unit}" if comparator else None, conversion)
                if n
            ]
            candidates.append(info.candidate(ng_ml, note="; ".join(notes) or None))
        return self.choose("CEA", candidates, stable=False)

    def build_ecog(self, observations: Sequence[_ObservationInfo]) -> Fact[int] | None:
        """Latest ECOG; a Karnofsky score is converted (noted) and loses ties against ECOG."""
        candidates: list[_Candidate[int]] = []
        for info, meaning in self.with_table(observations, fc.PERFORMANCE_STATUS):
            if meaning == fc.ECOG:
                grade = _ecog(info.resource)
                if grade is None:
                    self.unreadable(info, "ECOG")
                    continue
                candidates.append(info.candidate(grade, rank=1))
            else:
                quantity = _value_quantity(info.resource)
                score = quantity[0] if quantity else _text_number(info.resource)
                if score is None or not 0 <= score <= 100:
                    self.unreadable(info, "Karnofsky")
                    continue
                candidates.append(
                    info.candidate(_karnofsky_to_ecog(score), note=f"converted from Karnofsky {score:g}")
                )
        return self.choose("ECOG", candidates, stable=False)

    # -- procedures --------------------------------------------------------------------------------

    def build_liver_procedures(
        self, procedures: Sequence[_Entry], observations: Sequence[_ObservationInfo]
    ) -> tuple[LiverProcedure, ...]:
        """Prior liver resections, ablations and portal vein embolisations, oldest first."""
        found: list[tuple[str, date | None, _Entry]] = []
        for entry in procedures:
            kind = _lookup(entry.resource.get("code"), fc.LIVER_PROCEDURE)
            if kind is not None and self.validate(entry):
                found.append((str(kind[1]), _performed(entry.resource), entry))
        found.sort(key=lambda item: (item[1] or date.max, item[2].position))
        margins = self.margins(observations, [(when, e) for kind, when, e in found if kind == fc.RESECTION])
        return tuple(
            LiverProcedure(
                kind=kind,
                performed=when,
                sources=(entry.ref,),
                margin=margins.get(entry.ref) if kind == fc.RESECTION else None,
            )
            for kind, when, entry in found
        )

    def margins(
        self, observations: Sequence[_ObservationInfo], resections: Sequence[tuple[date | None, _Entry]]
    ) -> dict[str, Fact[Margin]]:
        """Resection margin per liver-resection reference (Procedure.outcome or a margin observation)."""
        candidates: dict[str, list[_Candidate[Margin]]] = {}
        for when, entry in resections:
            margin = _margin(entry.resource.get("outcome"), [])
            if margin is not None:
                candidates.setdefault(entry.ref, []).append(_Candidate(margin, when, (entry.ref,), rank=1))
        refs = {entry.ref: when for when, entry in resections}
        for info in self.data_items(observations, fc.RESECTION_MARGIN):
            margin = _margin(info.resource.get("valueCodeableConcept"), _value_texts(info.resource))
            if margin is None:
                self.unreadable(info, "resection margin")
                continue
            target = self.margin_target(info, refs)
            if target is None:
                self.note(
                    "ignored",
                    "A resection margin could not be linked to a recorded liver resection.",
                    (info.entry.ref,),
                )
                continue
            candidates.setdefault(target, []).append(info.candidate(margin))
        result: dict[str, Fact[Margin]] = {}
        for ref, found in candidates.items():
            fact = self.choose("resection margin", found, stable=True)
            if fact is not None:
                result[ref] = fact
        return result

    def margin_target(self, info: _ObservationInfo, resections: Mapping[str, date | None]) -> str | None:
        """The liver resection a margin observation belongs to: partOf/focus, else the latest before it."""
        for reference in [*_list(info.resource.get("partOf")), *_list(info.resource.get("focus"))]:
            target = self.resolve(reference, info.entry)
            if target is not None and target.ref in resections:
                return target.ref
        if info.when is None:
            return next(iter(resections), None) if len(resections) == 1 else None
        before = [
            (when, ref)
            for ref, when in resections.items()
            if when is not None and when <= info.when and info.when - when <= _MARGIN_WINDOW
        ]
        return max(before)[1] if before else None

    # -- medications -------------------------------------------------------------------------------

    def build_therapies(
        self,
        requests: Sequence[_Entry],
        administrations: Sequence[_Entry],
        statements: Sequence[_Entry],
    ) -> tuple[tuple[TherapyExposure, ...], tuple[Fact[str], ...]]:
        """Systemic therapy exposures, oldest first; orders also recorded as given are counted once.

        Second, the records whose drug is unknown (``PatientFacts.unidentified_medications``), oldest
        first, leaving out those linked to a record that names its drug: an order that an identified
        administration or statement refers to, or an administration or statement that refers to an
        identified record.
        """
        unresolved: list[str] = []
        unknown: list[tuple[Fact[str], set[str]]] = []
        identified: set[str] = set()
        given: list[TherapyExposure] = []
        covered: set[tuple[str, Agent]] = set()
        for entry in administrations:
            if _str(entry.resource.get("status")) in _ADMINISTRATION_EXCLUDED:
                continue
            linked = self.linked_refs(entry, [entry.resource.get("request")])
            dates = _administration_dates(entry.resource)
            exposures = self.exposures(entry, dates, unresolved, unknown, linked)
            if exposures:
                identified.add(entry.ref)
            given.extend(exposures)
            for target in linked:
                for exposure in exposures:
                    covered.add((target, exposure.agent))
        stated: list[TherapyExposure] = []
        for entry in statements:
            if _str(entry.resource.get("status")) in _STATEMENT_EXCLUDED:
                continue
            linked = self.linked_refs(
                entry, [*_list(entry.resource.get("basedOn")), *_list(entry.resource.get("derivedFrom"))]
            )
            exposures = self.exposures(entry, _statement_dates(entry.resource), unresolved, unknown, linked)
            if exposures:
                identified.add(entry.ref)
            stated.extend(exposures)
            for target in linked:
                for exposure in exposures:
                    covered.add((target, exposure.agent))
        ordered: list[TherapyExposure] = []
        for entry in requests:
            resource = entry.resource
            if _str(resource.get("status")) in _REQUEST_EXCLUDED_STATUS:
                continue
            if _str(resource.get("intent")) in _REQUEST_EXCLUDED_INTENT:
                continue
            exposures = self.exposures(entry, _request_dates(resource), unresolved, unknown, set())
            if exposures:
                identified.add(entry.ref)
            ordered.extend(e for e in exposures if (entry.ref, e.agent) not in covered)
        if unresolved:
            self.note(
                "unrecognised-code",
                f"{len(unresolved)} medication record(s) refer to a Medication that was not supplied; their "
                "agents are unknown.",
                unresolved[:_MAX_NOTE_SOURCES],
            )
        everything = [*given, *ordered, *stated]
        everything.sort(key=lambda e: (e.start is None, e.start or date.min, e.agent.value, e.sources))
        named = identified | {target for target, _ in covered}
        unidentified = [
            fact for fact, linked in unknown if not (linked & identified) and fact.sources[0] not in named
        ]
        unidentified.sort(key=lambda f: (f.effective is None, f.effective or date.min, f.sources))
        return tuple(everything), tuple(unidentified)

    def linked_refs(self, entry: _Entry, references: Iterable[object]) -> set[str]:
        """References of the bundled records a medication record points at (its order, plan ...)."""
        targets = (self.resolve(reference) for reference in references)
        return {target.ref for target in targets if target is not None and target is not entry}

    def exposures(
        self,
        entry: _Entry,
        dates: tuple[date | None, date | None],
        unresolved: list[str],
        unknown: list[tuple[Fact[str], set[str]]],
        linked: set[str],
    ) -> list[TherapyExposure]:
        """One exposure per agent a medication record names (after validating it).

        A record whose drug is held in a Medication that was not supplied, or that is not valid
        FHIR, goes to ``unknown`` (with the records it is ``linked`` to) instead; an invalid record
        that names a systemic agent is an unreadable systemic-therapy record.
        """
        resource = entry.resource
        concepts: list[object] = []
        names: list[str] = []
        sources = [entry.ref]
        concept = resource.get("medicationCodeableConcept")
        if concept is not None:
            concepts.append(concept)
        reference = resource.get("medicationReference")
        if isinstance(reference, dict):
            drug = _str(reference.get("reference")) or "Medication"
            medication = self.resolve(reference, entry)
            if medication is not None and medication.type == "Medication":
                if medication.container is None:
                    if not self.validate(medication):
                        why = f"the Medication it references is {self.problem(medication)}: correct it"
                        unknown.append((self.unidentified(entry, dates, drug, why), linked))
                        return []
                    sources.append(medication.ref)
                concepts.append(medication.resource.get("code"))
                for ingredient in _list(medication.resource.get("ingredient")):
                    ingredient = _dict(ingredient)
                    concepts.append(ingredient.get("itemCodeableConcept"))
                    item = self.resolve(ingredient.get("itemReference"), medication)
                    if item is not None and item.type == "Medication":
                        concepts.append(item.resource.get("code"))
            else:
                display = _str(reference.get("display"))
                if display:
                    names.append(display)
                elif _str(reference.get("reference")):
                    unresolved.append(entry.ref)
                    why = (
                        "the Medication it references was not supplied and could not be read: record "
                        "which drug this is"
                    )
                    unknown.append((self.unidentified(entry, dates, drug, why), linked))
                    return []
        agents = _agents(concepts, names, resource)
        if not agents:
            return []
        if not self.validate(entry):
            unread = Fact(RecordKind.SYSTEMIC_THERAPY, (entry.ref,), note=self.problem(entry))
            self.unreadable_records.append(unread)
            return []
        start, end = dates
        if start is not None and end is not None and end < start:
            end = None
        display = next((t for c in concepts for t in _texts(c)), None) or (names[0] if names else None)
        return [TherapyExposure(agent, start, end, tuple(sources), display) for agent in agents]

    def unidentified(
        self, entry: _Entry, dates: tuple[date | None, date | None], drug: str, why: str
    ) -> Fact[str]:
        """A medication record whose drug is unknown, dated by the last day it covers (undated
        when the record itself is not valid FHIR: nothing of it is read)."""
        if not self.validate(entry):
            return Fact(drug, (entry.ref,), None, f"{why}; the record is {self.problem(entry)}")
        start, end = dates
        last = end if end is not None and (start is None or end >= start) else start
        note = why if start is None or start == last else f"{why}; from {start.isoformat()}"
        return Fact(drug, (entry.ref,), last, note)


# --------------------------------------------------------------------------------------------------
# Pure helpers
# --------------------------------------------------------------------------------------------------


def _with_preliminary(candidate: _Candidate[Any]) -> str | None:
    """The candidate's note, saying so when it is only a preliminary result."""
    if not candidate.preliminary:
        return candidate.note
    return f"{candidate.note}; {_PRELIMINARY_NOTE}" if candidate.note else _PRELIMINARY_NOTE


def _validate(resource: Json) -> str | None:
    """``None`` if the resource is valid R4 (R4B models); else a short description of the problems."""
    from fhir.resources.R4B import get_fhir_model_class
    from pydantic import ValidationError

    resource_type = str(resource.get("resourceType"))
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError):
        return f"unknown resource type {resource_type}"
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        first = errors[0] if errors else {"loc": (), "type": "invalid"}
        where = ".".join(str(part) for part in first.get("loc", ())) or resource_type
        return f"{len(errors)} problem(s), first at {where}: {first.get('type', 'invalid')}"
    except Exception as exc:
        return f"{type(exc).__name__}"
    return None


def _display(value: object) -> str:
    """A value as text for notes."""
    if isinstance(value, frozenset):
        return ", ".join(sorted(str(v) for v in value)) or "none"
    return (
        str(value.value)
        if hasattr(value, "value") and not isinstance(value, bool | int | float | str)
        else str(value)
    )


def _site(meaning: str | None) -> PrimarySite | None:
    """A site meaning as :class:`PrimarySite`."""
    return PrimarySite(meaning) if meaning else None


def _specific(site: PrimarySite) -> bool:
    """Whether a site names a sub-site (not colon NOS / overlapping)."""
    return site not in (PrimarySite.COLON_UNSPECIFIED, PrimarySite.COLON_OVERLAPPING)


def _site_rank(site: PrimarySite | None) -> int:
    """How much a site says: specific 2, colon NOS / overlapping 1, unknown 0."""
    if site is None:
        return 0
    return 2 if _specific(site) else 1


def _more_specific(candidate: PrimarySite, current: PrimarySite | None) -> bool:
    """Whether ``candidate`` says at least as much as ``current`` and differs from it."""
    return candidate != current and _site_rank(candidate) >= _site_rank(current)


def _other_cancer(code: object) -> tuple[bool, str | None]:
    """Whether a Condition code reads as another primary cancer, and the note when read from text.

    ICD-10 C00-C96 outside C18-C20 (colorectal), C44 (skin other than melanoma) and C77-C80 / C7B
    (secondary or unspecified) count; otherwise a malignancy named in the text that is not in situ,
    secondary, metastatic, a history, benign or a polyp.
    """
    for system, value, _ in _codings(code):
        if system == fc.ICD10CM and re.match(r"^(?:C[0-6]\d|C7[0-6]|C7A|C8[1-9]|C9[0-6])", value):
            return not value.startswith(("C18", "C19", "C20", "C44")), None
    texts = " ".join(_texts(code))
    if texts and _OTHER_CANCER_TEXT.search(texts) and not _NOT_A_PRIMARY_TEXT.search(texts):
        return True, "recognised from the condition text"
    return False, None


def _procedure_completed(resource: Json) -> bool:
    """Only completed procedures count."""
    return _str(resource.get("status")) == "completed"


def _stage_texts(holder: Json) -> list[str]:
    """Candidate strings of a staging value: AJCC code, displays, text, valueString."""
    texts: list[str] = []
    concept = _dict(holder.get("valueCodeableConcept"))
    for system, code, display in _codings(concept):
        if system in (fc.AJCC, None) or not code.isdigit():
            texts.append(code)
        if display:
            texts.append(display)
    texts.extend(t for t in [_str(concept.get("text")), _str(holder.get("valueString"))] if t)
    return texts


def _stage_group(text: str) -> str | None:
    """A stage group such as ``IIIB`` from '3B', 'Stage IIIB', 'IV', or an AJCC qualifier display."""
    cleaned = text.strip()
    match = _STAGE_GROUP_TEXT.match(cleaned) or _STAGE_GROUP_IN_TEXT.search(cleaned)
    if match is None:
        return None
    group = match[1].upper()
    return _ROMAN.get(group, group) + (match[2] or "").upper()


def _tnm(category: str, text: str) -> tuple[str, str] | None:
    """``("T3", "p")`` from 'pT3', 'T3', '3' or an AJCC qualifier display; prefix removed."""
    cleaned = text.strip()
    if re.fullmatch(r"(?:is|X|[0-4])[a-d]?", cleaned, re.IGNORECASE) and category == "T":
        cleaned = f"T{cleaned}"
    elif re.fullmatch(r"(?:X|[0-3])(?:[a-c]|mi)?", cleaned) and category == "N":
        cleaned = f"N{cleaned}"
    elif re.fullmatch(r"(?:X|[01])[a-d]?", cleaned) and category == "M":
        cleaned = f"M{cleaned}"
    match = _TNM_TEXT[category].search(cleaned)
    if match is None:
        return None
    return f"{category}{match[2]}{match[3] or ''}", (match[1] or "")


def _kind_rank(kind: str) -> int:
    """Pathological staging wins a tie with clinical staging."""
    return {"pathological": 2, "clinical": 1}.get(kind, 0)


def _kind_note(kind: str, prefix: str) -> str | None:
    """Qualifier shown with a TNM value."""
    if prefix.startswith("y"):
        return "after neoadjuvant therapy (y)"
    if kind == "pathological" or prefix == "p":
        return "pathological"
    return None


def _mutation(polarity: str) -> MutationStatus:
    """Positive -> mutant, negative -> wild-type."""
    return MutationStatus.MUTANT if polarity == fc.POSITIVE else MutationStatus.WILD_TYPE


def _variant_text(holder: Json) -> str | None:
    """The variant named in a text value (e.g. 'G12D'), for the fact's note."""
    for text in _value_texts(holder):
        match = _HGVS_TEXT.search(text)
        if match:
            return text.strip()[:80]
    return None


def _component_text(component: Json) -> str | None:
    """A component's value as text (coding code/display, text, string)."""
    concept = _dict(component.get("valueCodeableConcept"))
    for _, code, display in _codings(concept):
        return display or code
    return _str(concept.get("text")) or _str(component.get("valueString"))


def _interpretation_texts(resource: Json) -> list[str]:
    """Interpretation displays and text."""
    return [t for concept in _list(resource.get("interpretation")) for t in _texts(concept)]


def _text_number(holder: Json) -> float | None:
    """A number written as the value text."""
    for text in _value_texts(holder):
        try:
            number = float(text.strip())
        except ValueError:
            continue
        if math.isfinite(number):
            return number
    return None


def _ratio(resource: Json) -> float | None:
    """A ratio from valueQuantity or valueRatio."""
    quantity = _value_quantity(resource)
    if quantity is not None:
        return quantity[0]
    ratio = _dict(resource.get("valueRatio"))
    numerator = _number(_dict(ratio.get("numerator")).get("value"))
    denominator = _number(_dict(ratio.get("denominator")).get("value"))
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def _her2_score(resource: Json) -> int | None:
    """HER2 immunostain score 0-3 from a number or text such as '3+'."""
    quantity = _value_quantity(resource)
    if quantity is not None and quantity[0] in (0, 1, 2, 3):
        return int(quantity[0])
    for text in _value_texts(resource):
        match = _HER2_SCORE_TEXT.search(text)
        if match:
            return int(next(g for g in match.groups() if g is not None))
    return None


def _mmr_lost(holder: Json) -> bool | None:
    """Whether an MMR protein is lost (``False``: retained), from a code, boolean or text."""
    found = _lookup(holder.get("valueCodeableConcept"), fc.RESULT_ANSWER)
    if found is not None:
        return found[1] == fc.NEGATIVE
    boolean = holder.get("valueBoolean")
    if isinstance(boolean, bool):
        return not boolean
    for text in _value_texts(holder):
        if _MMR_NOT_LOST_TEXT.search(text):
            return False
        if _MMR_LOST_TEXT.search(text):
            return True
        if _MMR_RETAINED_TEXT.search(text):
            return False
    return None


def _cea_ng_ml(value: float, unit: str | None) -> tuple[float, str | None] | None:
    """CEA converted to ng/mL with a note on the conversion, or ``None`` if the unit is unusable."""
    normal = (unit or "").strip().lower().replace("µ", "u").replace("μ", "u").replace("mcg", "ug")
    normal = normal.replace(" ", "")
    same = {"ng/ml", "ug/l"}
    factors = {"ng/l": 0.001, "pg/ml": 0.001, "mg/l": 1000.0, "ng/dl": 0.01, "ug/dl": 10.0}
    if normal in same:
        return value, None
    if normal in factors:
        return round(value * factors[normal], 4), f"converted from {value:g} {unit}"
    molar = {"pmol/l": 1e-3, "nmol/l": 1.0}
    if normal in molar:
        converted = round(value * molar[normal] * _CEA_MOLAR_MASS_KDA, 4)
        return converted, f"converted from {value:g} {unit} (molar mass {_CEA_MOLAR_MASS_KDA:g} kDa)"
    return None


def _ecog(resource: Json) -> int | None:
    """ECOG grade 0-5 from valueInteger/valueQuantity, a LOINC answer (value or interpretation) or text."""
    quantity = _value_quantity(resource)
    if quantity is not None:
        return int(quantity[0]) if quantity[0] in (0, 1, 2, 3, 4, 5) else None
    found = _lookup(resource.get("valueCodeableConcept"), fc.ECOG_ANSWER) or _lookup_all(
        _list(resource.get("interpretation")), fc.ECOG_ANSWER
    )
    if found is not None:
        return int(str(found[1]))
    number = _text_number(resource)
    if number is None:
        for _, code, _ in _codings(resource.get("valueCodeableConcept")):
            if code in {"0", "1", "2", "3", "4", "5"}:
                return int(code)
    return int(number) if number in (0, 1, 2, 3, 4, 5) else None


def _karnofsky_to_ecog(score: float) -> int:
    """Karnofsky -> ECOG: 90-100 -> 0, 70-80 -> 1, 50-60 -> 2, 30-40 -> 3, 10-20 -> 4, 0 -> 5."""
    if score >= 90:
        return 0
    if score >= 70:
        return 1
    if score >= 50:
        return 2
    if score >= 30:
        return 3
    if score >= 10:
        return 4
    return 5


def _margin(concept: object, texts: Sequence[str]) -> Margin | None:
    """R0/R1/R2 from a margin code or 'R0'-style text."""
    found = _lookup(concept, fc.RESECTION_MARGIN_ANSWER)
    if found is not None:
        return Margin(str(found[1]))
    for text in [*texts, *_texts(concept)]:
        match = _MARGIN_TEXT.search(text)
        if match:
            return Margin(f"R{match[1]}")
    return None


def _agents(concepts: Sequence[object], names: Sequence[str], resource: Json) -> list[Agent]:
    """Agents named by codes; else by name (generic, brand, regimen); else 'other' for L01/L02 or mCODE."""
    agents: list[Agent] = []
    atc_antineoplastic = False
    for concept in concepts:
        for system, code, _ in _codings(concept):
            meaning = _LOOKUP[fc.SYSTEMIC_AGENT.id].get((system or "", code))
            if meaning is not None:
                agents.append(Agent(meaning))
            elif system == fc.ATC and code.upper().startswith(("L01", "L02")):
                atc_antineoplastic = True
    if not agents:
        texts = [*names, *(t for c in concepts for t in _texts(c))]
        for text in texts:
            if _AGENT_EXCLUSIONS.search(text):
                return []
            for pattern, named in _AGENT_PATTERNS:
                if pattern.search(text):
                    agents.extend(named)
    if not agents and (atc_antineoplastic or _has_profile(resource, _MCODE_MEDICATION_PROFILE)):
        agents.append(Agent.OTHER)
    return list(dict.fromkeys(agents))


def _request_dates(resource: Json) -> tuple[date | None, date | None]:
    """MedicationRequest: authoredOn (else dosage bounds / validity start) to validity or bounds end."""
    bounds: Json = {}
    for dosage in _list(resource.get("dosageInstruction")):
        bounds = _dict(_dict(_dict(_dict(dosage).get("timing")).get("repeat")).get("boundsPeriod"))
        if bounds:
            break
    validity = _dict(_dict(resource.get("dispenseRequest")).get("validityPeriod"))
    start = _date(resource.get("authoredOn")) or _date(bounds.get("start")) or _date(validity.get("start"))
    end = _date(validity.get("end")) or _date(bounds.get("end"))
    return start, end


def _administration_dates(resource: Json) -> tuple[date | None, date | None]:
    """MedicationAdministration: effective[x]."""
    period = _dict(resource.get("effectivePeriod"))
    return (
        _date(resource.get("effectiveDateTime")) or _date(period.get("start")),
        _date(period.get("end")),
    )


def _statement_dates(resource: Json) -> tuple[date | None, date | None]:
    """MedicationStatement: effective[x]."""
    return _administration_dates(resource)

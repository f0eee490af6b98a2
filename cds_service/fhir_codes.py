"""The codes the FHIR mapping reads: one table per ValueSet, and the FHIR resources built from them.

Every code the mapping (:mod:`cds_service.fhir_mapping`) recognises is listed here, once, in a
:class:`CodeTable`. The same tables generate the published input contract in ``fhir_profiles/``
(``ValueSet-<id>.json``, ``CodeSystem-crlm-data-item.json`` and the table in ``README.md``) through
:func:`value_set_resource`, :func:`data_item_code_system` and :func:`readme_table`; the tests compare
the files on disk with what these functions return, so the contract and the code cannot drift apart.

Codes come from the sources named in ``shared/reference/fhir-data-and-codes.md``: the expanded mCODE
value sets of ``mcode/mcode-extraction-framework`` (SNOMED CT US 2021-07-31, ICD-10-CM), the mCODE STU4
FSH, genomics-reporting, MII, and RxNorm lists of ``mcode/clinical-trial-matching-app``. A code is
matched on system and code, never on its display (displays change between releases).

This module imports only the standard library and :mod:`cds_service.core.facts`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from cds_service.core.facts import (
    Agent,
    DiseaseStatus,
    ExtrahepaticSite,
    HepatectomyComplexity,
    Margin,
    PrimarySite,
    Resectability,
    Symptom,
)

SNOMED: Final = "http://snomed.info/sct"
LOINC: Final = "http://loinc.org"
ICD10CM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
ICDO3: Final = "http://terminology.hl7.org/CodeSystem/icd-o-3"
RXNORM: Final = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC: Final = "http://www.whocc.no/atc"
HGNC: Final = "http://www.genenames.org"
CPT: Final = "http://www.ama-assn.org/go/cpt"
AJCC: Final = "http://cancerstaging.org"
V2_YES_NO: Final = "http://terminology.hl7.org/CodeSystem/v2-0136"
V3_INTERPRETATION: Final = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

CANONICAL_BASE: Final = "https://crlm-cds.org/fhir"
DATA_ITEM: Final = f"{CANONICAL_BASE}/CodeSystem/crlm-data-item"
PACKAGE_VERSION: Final = "0.1.0"

SYSTEM_ALIASES: Final[Mapping[str, str]] = {
    "http://snomed.info/sct": SNOMED,
    "urn:oid:2.16.840.1.113883.6.96": SNOMED,
    "http://loinc.org": LOINC,
    "urn:oid:2.16.840.1.113883.6.1": LOINC,
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10CM,
    "urn:oid:2.16.840.1.113883.6.90": ICD10CM,
    "http://hl7.org/fhir/sid/icd-10": ICD10CM,
    "http://fhir.de/CodeSystem/bfarm/icd-10-gm": ICD10CM,
    "http://terminology.hl7.org/CodeSystem/icd-o-3": ICDO3,
    "http://hl7.org/fhir/sid/icd-o-3": ICDO3,
    "urn:oid:2.16.840.1.113883.6.43.1": ICDO3,
    "http://www.nlm.nih.gov/research/umls/rxnorm": RXNORM,
    "urn:oid:2.16.840.1.113883.6.88": RXNORM,
    "http://www.whocc.no/atc": ATC,
    "urn:oid:2.16.840.1.113883.6.73": ATC,
    "http://www.genenames.org": HGNC,
    "http://www.genenames.org/geneId": HGNC,
    "http://www.genenames.org/genegroup": HGNC,
    "http://www.ama-assn.org/go/cpt": CPT,
    "urn:oid:2.16.840.1.113883.6.12": CPT,
    "http://cancerstaging.org": AJCC,
    "http://terminology.hl7.org/CodeSystem/v2-0136": V2_YES_NO,
    "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation": V3_INTERPRETATION,
    DATA_ITEM: DATA_ITEM,
}
"""Alternative system URIs (OIDs, WHO ICD-10, ICD-10-GM, the HGNC ``geneId`` form) -> canonical URI.

WHO ICD-10 and ICD-10-GM share every category the tables list with ICD-10-CM, so they are read as
ICD-10-CM; codes that exist only in ICD-10-CM simply do not occur in them.
"""

SYSTEM_LABELS: Final[Mapping[str, str]] = {
    SNOMED: "SNOMED",
    LOINC: "LOINC",
    ICD10CM: "ICD-10-CM",
    ICDO3: "ICD-O-3",
    RXNORM: "RxNorm",
    ATC: "ATC",
    HGNC: "HGNC",
    CPT: "CPT",
    DATA_ITEM: "crlm-data-item",
    V2_YES_NO: "v2-0136",
    V3_INTERPRETATION: "v3-ObservationInterpretation",
}
"""Short labels used in ``fhir_profiles/README.md``."""


def canonical_system(system: str | None) -> str | None:
    """The canonical URI for ``system`` (aliases folded; unknown systems returned unchanged)."""
    if system is None:
        return None
    stripped = system.strip().rstrip("/")
    return SYSTEM_ALIASES.get(stripped, stripped)


def normalise_code(system: str | None, code: str) -> str:
    """Normalise a code for lookup: trim; ICD-10 upper-cased with the dot restored (``C187`` -> ``C18.7``)."""
    code = code.strip()
    if system in (ICD10CM, ICDO3):
        code = code.upper()
        if "." not in code and len(code) > 3 and code[0].isalpha():
            code = f"{code[:3]}.{code[3:]}"
    elif system == HGNC:
        upper = code.upper()
        if upper.startswith("HGNC:"):
            code = "HGNC:" + upper[5:]
        elif upper.isdigit():
            code = f"HGNC:{upper}"
    return code


@dataclass(frozen=True, slots=True)
class Concept:
    """One code the mapping reads.

    Attributes:
        system: Canonical code-system URI.
        code: The code.
        display: Display text for the published ValueSet (never used for matching).
        meaning: What the mapping reads the code as, when a table distinguishes its codes (a
            primary site, an agent, an answer ...); ``None`` when the table only says "member".
    """

    system: str
    code: str
    display: str | None = None
    meaning: str | None = None


@dataclass(frozen=True, slots=True)
class CodeTable:
    """A set of codes the mapping reads for one purpose; published as ``ValueSet-<id>.json``.

    Attributes:
        id: ValueSet id (canonical ``{CANONICAL_BASE}/ValueSet/<id>``).
        title: ValueSet title.
        fact: The fact it feeds, for the README table.
        element: Resource type and element where the codes are read, for the README table.
        description: ValueSet description: what the codes mean for the mapping.
        example: The example file in ``fhir_profiles/examples/`` that shows the representation.
        concepts: The codes.
    """

    id: str
    title: str
    fact: str
    element: str
    description: str
    example: str
    concepts: tuple[Concept, ...]

    @property
    def url(self) -> str:
        """Canonical URL of the published ValueSet."""
        return f"{CANONICAL_BASE}/ValueSet/{self.id}"

    def codes(self) -> frozenset[tuple[str, str]]:
        """The ``(system, code)`` pairs of the table."""
        return frozenset((c.system, c.code) for c in self.concepts)

    def meanings(self) -> dict[tuple[str, str], str | None]:
        """``(system, code)`` -> meaning."""
        return {(c.system, c.code): c.meaning for c in self.concepts}


def _concepts(system: str, meaning: str | None, *pairs: tuple[str, str | None]) -> tuple[Concept, ...]:
    """Concepts of one system sharing one meaning, from ``(code, display)`` pairs."""
    return tuple(Concept(system, code, display, meaning) for code, display in pairs)


# --------------------------------------------------------------------------------------------------
# Conditions
# --------------------------------------------------------------------------------------------------

_S = PrimarySite
COLORECTAL_PRIMARY = CodeTable(
    id="crlm-colorectal-primary",
    title="Colorectal primary cancer (condition codes)",
    fact="Colorectal primary and its site (from the code)",
    element="Condition.code",
    description=(
        "Condition codes read as a confirmed colorectal primary. The meaning is the anatomical sub-site "
        "the code implies; codes without a meaning give 'colorectal, site not given' and the site is "
        "then read from Condition.bodySite (ValueSet crlm-colorectal-body-site). Synthea's stage IV code "
        "94260004 is not here: see crlm-synthea-colorectal-stage."
    ),
    example="Bundle-crlm-icd10.json",
    concepts=(
        *_concepts(ICD10CM, _S.CECUM, ("C18.0", "Malignant neoplasm of cecum")),
        *_concepts(ICD10CM, _S.APPENDIX, ("C18.1", "Malignant neoplasm of appendix")),
        *_concepts(ICD10CM, _S.ASCENDING_COLON, ("C18.2", "Malignant neoplasm of ascending colon")),
        *_concepts(ICD10CM, _S.HEPATIC_FLEXURE, ("C18.3", "Malignant neoplasm of hepatic flexure")),
        *_concepts(ICD10CM, _S.TRANSVERSE_COLON, ("C18.4", "Malignant neoplasm of transverse colon")),
        *_concepts(ICD10CM, _S.SPLENIC_FLEXURE, ("C18.5", "Malignant neoplasm of splenic flexure")),
        *_concepts(ICD10CM, _S.DESCENDING_COLON, ("C18.6", "Malignant neoplasm of descending colon")),
        *_concepts(ICD10CM, _S.SIGMOID_COLON, ("C18.7", "Malignant neoplasm of sigmoid colon")),
        *_concepts(
            ICD10CM, _S.COLON_OVERLAPPING, ("C18.8", "Malignant neoplasm of overlapping sites of colon")
        ),
        *_concepts(ICD10CM, _S.COLON_UNSPECIFIED, ("C18.9", "Malignant neoplasm of colon, unspecified")),
        *_concepts(ICD10CM, _S.RECTOSIGMOID, ("C19", "Malignant neoplasm of rectosigmoid junction")),
        *_concepts(ICD10CM, _S.RECTUM, ("C20", "Malignant neoplasm of rectum")),
        *_concepts(
            SNOMED,
            _S.CECUM,
            ("363350007", "Malignant tumor of cecum"),
            ("371977004", "Primary malignant neoplasm of cecum"),
            ("255081007", "Carcinoma of cecum"),
            ("413446001", "Adenocarcinoma of cecum"),
        ),
        *_concepts(
            SNOMED,
            _S.APPENDIX,
            ("363411007", "Malignant tumor of appendix"),
            ("93679002", "Primary malignant neoplasm of appendix"),
            ("413445002", "Adenocarcinoma of appendix"),
        ),
        *_concepts(
            SNOMED,
            _S.ASCENDING_COLON,
            ("363412000", "Malignant tumor of ascending colon"),
            ("93683002", "Primary malignant neoplasm of ascending colon"),
            ("312111009", "Carcinoma of ascending colon"),
            ("681601000119101", "Primary adenocarcinoma of ascending colon"),
            ("721695008", "Primary adenocarcinoma of ascending colon and right flexure"),
        ),
        *_concepts(
            SNOMED,
            _S.HEPATIC_FLEXURE,
            ("363407001", "Malignant tumor of hepatic flexure"),
            ("93826009", "Primary malignant neoplasm of hepatic flexure of colon"),
            ("312114001", "Carcinoma of hepatic flexure"),
        ),
        *_concepts(
            SNOMED,
            _S.TRANSVERSE_COLON,
            ("363408006", "Malignant tumor of transverse colon"),
            ("94105000", "Primary malignant neoplasm of transverse colon"),
            ("312112002", "Carcinoma of transverse colon"),
            ("721696009", "Primary adenocarcinoma of transverse colon"),
        ),
        *_concepts(
            SNOMED,
            _S.SPLENIC_FLEXURE,
            ("363413005", "Malignant tumor of splenic flexure"),
            ("94072004", "Primary malignant neoplasm of splenic flexure of colon"),
            ("312115000", "Carcinoma of splenic flexure"),
        ),
        *_concepts(
            SNOMED,
            _S.DESCENDING_COLON,
            ("363409003", "Malignant tumor of descending colon"),
            ("93771007", "Primary malignant neoplasm of descending colon"),
            ("312113007", "Carcinoma of descending colon"),
            ("681651000119102", "Primary adenocarcinoma of descending colon"),
            ("721699002", "Primary adenocarcinoma of descending colon and splenic flexure"),
        ),
        *_concepts(
            SNOMED,
            _S.SIGMOID_COLON,
            ("363410008", "Malignant tumor of sigmoid colon"),
            ("94006002", "Primary malignant neoplasm of sigmoid colon"),
            ("285312008", "Carcinoma of sigmoid colon"),
            ("301756000", "Adenocarcinoma of sigmoid colon"),
        ),
        *_concepts(
            SNOMED,
            _S.RECTOSIGMOID,
            ("363414004", "Malignant tumor of rectosigmoid junction"),
            ("93980002", "Primary malignant neoplasm of rectosigmoid junction"),
            ("269544008", "Carcinoma of the rectosigmoid junction"),
            ("425178004", "Adenocarcinoma of rectosigmoid junction"),
            ("184881000119106", "Primary adenocarcinoma of rectosigmoid junction"),
        ),
        *_concepts(
            SNOMED,
            _S.RECTUM,
            ("363351006", "Malignant tumor of rectum"),
            ("93984006", "Primary malignant neoplasm of rectum"),
            ("254582000", "Adenocarcinoma of rectum"),
            ("448994001", "Malignant epithelial neoplasm of upper rectum"),
        ),
        *_concepts(
            SNOMED,
            _S.COLON_OVERLAPPING,
            ("109838007", "Overlapping malignant neoplasm of colon"),
            ("187757001", "Malignant neoplasm, overlapping lesion of colon"),
        ),
        *_concepts(
            SNOMED,
            _S.COLON_UNSPECIFIED,
            ("363406005", "Malignant tumor of colon"),
            ("93761005", "Primary malignant neoplasm of colon"),
            ("269533000", "Carcinoma of colon"),
            ("1701000119104", "Primary adenocarcinoma of colon"),
        ),
        *_concepts(
            SNOMED,
            None,
            ("781382000", "Colorectal cancer"),
            ("737058005", "Mismatch repair deficient colorectal cancer"),
            ("363510005", "Malignant tumor of large intestine"),
            ("93854002", "Primary malignant neoplasm of large intestine"),
            ("408645001", "Adenocarcinoma of large intestine"),
            ("96281000119107", "Overlapping malignant neoplasm of colon and rectum"),
        ),
    ),
)

GENERIC_MALIGNANT_NEOPLASM = CodeTable(
    id="crlm-malignant-neoplasm-generic",
    title="Generic malignant neoplasm codes (need a body site)",
    fact="Colorectal primary coded generically with a body site",
    element="Condition.code + Condition.bodySite",
    description=(
        "Generic primary-cancer codes. With a Condition.bodySite from crlm-colorectal-body-site they are "
        "read as a colorectal primary at that site; without one they are not read as colorectal."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        *_concepts(
            SNOMED,
            None,
            ("363346000", "Malignant neoplastic disease"),
            ("372087000", "Primary malignant neoplasm"),
        ),
        *_concepts(ICD10CM, None, ("C80.1", "Malignant (primary) neoplasm, unspecified")),
    ),
)

COLORECTAL_BODY_SITE = CodeTable(
    id="crlm-colorectal-body-site",
    title="Colorectal body sites",
    fact="Colorectal primary site (from the body site)",
    element="Condition.bodySite",
    description=(
        "Body structures (SNOMED CT) and ICD-O-3 topographies read as the site of a colorectal primary. "
        "A body site refines a code without a site; a generic cancer code with one of these sites is read "
        "as colorectal."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        *_concepts(SNOMED, _S.CECUM, ("32713005", "Cecum structure")),
        *_concepts(SNOMED, _S.APPENDIX, ("66754008", "Appendix structure")),
        *_concepts(SNOMED, _S.ASCENDING_COLON, ("9040008", "Ascending colon structure")),
        *_concepts(SNOMED, _S.HEPATIC_FLEXURE, ("48338005", "Structure of right colic flexure")),
        *_concepts(SNOMED, _S.TRANSVERSE_COLON, ("485005", "Transverse colon structure")),
        *_concepts(SNOMED, _S.SPLENIC_FLEXURE, ("72592005", "Structure of left colic flexure")),
        *_concepts(SNOMED, _S.DESCENDING_COLON, ("32622004", "Descending colon structure")),
        *_concepts(SNOMED, _S.SIGMOID_COLON, ("60184004", "Sigmoid colon structure")),
        *_concepts(SNOMED, _S.RECTOSIGMOID, ("49832006", "Rectosigmoid junction structure")),
        *_concepts(SNOMED, _S.RECTUM, ("34402009", "Rectum structure")),
        *_concepts(SNOMED, _S.COLON_UNSPECIFIED, ("71854001", "Colon structure")),
        *_concepts(SNOMED, None, ("14742008", "Structure of large intestine")),
        *_concepts(ICDO3, _S.CECUM, ("C18.0", "Cecum")),
        *_concepts(ICDO3, _S.APPENDIX, ("C18.1", "Appendix")),
        *_concepts(ICDO3, _S.ASCENDING_COLON, ("C18.2", "Ascending colon")),
        *_concepts(ICDO3, _S.HEPATIC_FLEXURE, ("C18.3", "Hepatic flexure of colon")),
        *_concepts(ICDO3, _S.TRANSVERSE_COLON, ("C18.4", "Transverse colon")),
        *_concepts(ICDO3, _S.SPLENIC_FLEXURE, ("C18.5", "Splenic flexure of colon")),
        *_concepts(ICDO3, _S.DESCENDING_COLON, ("C18.6", "Descending colon")),
        *_concepts(ICDO3, _S.SIGMOID_COLON, ("C18.7", "Sigmoid colon")),
        *_concepts(ICDO3, _S.COLON_OVERLAPPING, ("C18.8", "Overlapping lesion of colon")),
        *_concepts(ICDO3, _S.COLON_UNSPECIFIED, ("C18.9", "Colon, NOS")),
        *_concepts(ICDO3, _S.RECTOSIGMOID, ("C19.9", "Rectosigmoid junction")),
        *_concepts(ICDO3, _S.RECTUM, ("C20.9", "Rectum, NOS")),
    ),
)

SYNTHEA_COLORECTAL_STAGE = CodeTable(
    id="crlm-synthea-colorectal-stage",
    title="Synthea colorectal stage codes (Synthea-compatibility rule only)",
    fact="Colorectal primary and stage group in Synthea data",
    element="Condition.code",
    description=(
        "Synthea's colorectal cancer module encodes the stage in the condition code (I 93761005, "
        "II 109838007, III 363406005, IV 94260004). Only when the mapping runs with Synthea compatibility "
        "enabled are these read as the stage group, and 94260004 (in SNOMED CT a metastasis TO the colon) "
        "as a stage IV colon primary; otherwise 94260004 is reported as an ambiguous code and not used."
    ),
    example="(Synthea bundles in shared/data/synthea-crc)",
    concepts=(
        Concept(SNOMED, "93761005", "Primary malignant neoplasm of colon", "I"),
        Concept(SNOMED, "109838007", "Overlapping malignant neoplasm of colon", "II"),
        Concept(SNOMED, "363406005", "Malignant tumor of colon", "III"),
        Concept(SNOMED, "94260004", "Secondary malignant neoplasm of colon", "IV"),
    ),
)

LIVER_METASTASIS = CodeTable(
    id="crlm-liver-metastasis",
    title="Liver metastases (condition codes)",
    fact="Liver metastases",
    element="Condition.code",
    description="Condition codes read as confirmed liver metastases.",
    example="Bundle-crlm-icd10.json",
    concepts=(
        *_concepts(
            SNOMED,
            None,
            ("94381002", "Secondary malignant neoplasm of liver"),
            ("1691000119104", "Metastasis to liver from adenocarcinoma"),
            ("285613005", "Metastasis to liver of unknown primary"),
        ),
        *_concepts(
            ICD10CM,
            None,
            ("C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
            ("C7B.02", "Secondary carcinoid tumors of liver"),
        ),
    ),
)

GENERIC_SECONDARY_NEOPLASM = CodeTable(
    id="crlm-secondary-neoplasm-generic",
    title="Generic secondary malignant neoplasm codes (need a body site)",
    fact="Metastases coded generically with a body site (mCODE SecondaryCancerCondition)",
    element="Condition.code + Condition.bodySite",
    description=(
        "Generic metastasis codes. The site is read from Condition.bodySite (crlm-metastasis-body-site). "
        "A Condition with the mCODE SecondaryCancerCondition profile is read the same way whatever its code."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        *_concepts(SNOMED, None, ("128462008", "Secondary malignant neoplastic disease")),
        *_concepts(
            ICD10CM,
            None,
            ("C79.9", "Secondary malignant neoplasm of unspecified site"),
            ("C79.89", "Secondary malignant neoplasm of other specified sites"),
        ),
    ),
)

_E = ExtrahepaticSite
LIVER_MEANING: Final = "liver"
UNSPECIFIED_NODES: Final = "unspecified-nodes"

METASTASIS_BODY_SITE = CodeTable(
    id="crlm-metastasis-body-site",
    title="Metastasis body sites",
    fact="Site of metastases coded generically",
    element="Condition.bodySite",
    description=(
        "Body structures and ICD-O-3 topographies read as the site of a metastasis: 'liver' for liver "
        "metastases, otherwise the extrahepatic site."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        *_concepts(SNOMED, LIVER_MEANING, ("10200004", "Liver structure")),
        *_concepts(
            SNOMED, _E.LUNG, ("39607008", "Lung structure"), ("31094006", "Structure of lobe of lung")
        ),
        *_concepts(SNOMED, _E.PERITONEUM, ("118762006", "Peritoneal sac structure")),
        *_concepts(SNOMED, _E.BONE, ("119186007", "Bone part")),
        *_concepts(SNOMED, _E.BRAIN, ("12738006", "Brain structure")),
        *_concepts(SNOMED, _E.OVARY, ("15497006", "Ovarian structure")),
        *_concepts(SNOMED, _E.ADRENAL, ("23451007", "Adrenal structure")),
        *_concepts(SNOMED, _E.HILAR_NODES, ("245288002", "Portahepatis lymph node group")),
        *_concepts(SNOMED, _E.CELIAC_OR_PARA_AORTIC_NODES, ("35783009", "Structure of aortic lymph node")),
        *_concepts(SNOMED, UNSPECIFIED_NODES, ("59441001", "Structure of lymph node")),
        *_concepts(ICDO3, LIVER_MEANING, ("C22.0", "Liver")),
        *_concepts(
            ICDO3,
            _E.LUNG,
            ("C34.0", "Main bronchus"),
            ("C34.1", "Upper lobe, lung"),
            ("C34.2", "Middle lobe, lung"),
            ("C34.3", "Lower lobe, lung"),
            ("C34.8", "Overlapping lesion of lung"),
            ("C34.9", "Lung, NOS"),
        ),
        *_concepts(
            ICDO3, _E.PERITONEUM, ("C48.1", "Specified parts of peritoneum"), ("C48.2", "Peritoneum, NOS")
        ),
        *_concepts(ICDO3, _E.BONE, ("C40.9", "Bone of limb, NOS"), ("C41.9", "Bone, NOS")),
        *_concepts(ICDO3, _E.BRAIN, ("C71.9", "Brain, NOS")),
        *_concepts(ICDO3, _E.OVARY, ("C56.9", "Ovary")),
        *_concepts(ICDO3, _E.ADRENAL, ("C74.9", "Adrenal gland, NOS")),
        *_concepts(ICDO3, UNSPECIFIED_NODES, ("C77.9", "Lymph node, NOS")),
    ),
)

EXTRAHEPATIC_METASTASIS = CodeTable(
    id="crlm-extrahepatic-metastasis",
    title="Extrahepatic metastases (condition codes)",
    fact="Extrahepatic metastases by site",
    element="Condition.code",
    description=(
        "Condition codes read as metastases outside the liver, with their site. Nodal codes that may "
        "describe regional nodes (intra-abdominal, intrapelvic, mesenteric or unspecified lymph nodes) "
        "are read as 'unspecified-nodes': reported as a data note, not counted as extrahepatic disease."
    ),
    example="Bundle-crlm-icd10.json",
    concepts=(
        *_concepts(
            SNOMED,
            _E.LUNG,
            ("94391008", "Secondary malignant neoplasm of lung"),
            ("94375005", "Secondary malignant neoplasm of left lower lobe of lung"),
            ("94376006", "Secondary malignant neoplasm of left upper lobe of lung"),
            ("94522007", "Secondary malignant neoplasm of right lower lobe of lung"),
            ("94523002", "Secondary malignant neoplasm of right middle lobe of lung"),
            ("94524008", "Secondary malignant neoplasm of right upper lobe of lung"),
            ("94329002", "Secondary malignant neoplasm of hilus of lung"),
            ("353561000119103", "Cancer metastatic to right lung"),
            ("353741000119106", "Cancer metastatic to left lung"),
            ("1661000119106", "Metastasis to lung from adenocarcinoma"),
            ("285604008", "Metastasis to lung of unknown primary"),
            ("15956181000119102", "Secondary adenocarcinoma of bilateral lungs"),
            ("15956221000119105", "Secondary adenocarcinoma of right lung"),
            ("15956261000119100", "Secondary adenocarcinoma of left lung"),
        ),
        *_concepts(
            SNOMED,
            _E.PERITONEUM,
            ("94627008", "Metastasis to peritoneum"),
            ("836274002", "Carcinomatosis of peritoneum"),
            ("255121007", "Carcinomatosis of peritoneal cavity"),
            ("188445006", "Secondary malignant neoplasm of retroperitoneum and peritoneum"),
            ("94472007", "Secondary malignant neoplasm of parietal peritoneum"),
            ("94479003", "Secondary malignant neoplasm of pelvic peritoneum"),
            ("285616002", "Metastasis to peritoneum of unknown primary"),
        ),
        *_concepts(
            SNOMED,
            _E.DISTANT_NODES,
            ("94396003", "Secondary malignant neoplasm of lymph nodes of multiple sites"),
            ("303201005", "Metastasis to multiple lymph nodes"),
            ("94614009", "Secondary malignant neoplasm of supraclavicular lymph nodes"),
            ("94408005", "Secondary malignant neoplasm of mediastinal lymph nodes"),
            ("94351005", "Secondary malignant neoplasm of intrathoracic lymph nodes"),
            ("94339008", "Secondary malignant neoplasm of inguinal lymph nodes"),
            ("94397007", "Secondary malignant neoplasm of lymph nodes of neck"),
            ("94181007", "Secondary malignant neoplasm of axillary lymph nodes"),
        ),
        *_concepts(
            SNOMED,
            _E.CELIAC_OR_PARA_AORTIC_NODES,
            ("94519005", "Secondary malignant neoplasm of retroperitoneal lymph nodes"),
        ),
        *_concepts(
            SNOMED,
            UNSPECIFIED_NODES,
            ("94392001", "Secondary malignant neoplasm of lymph node"),
            ("94347008", "Secondary malignant neoplasm of intra-abdominal lymph nodes"),
            ("94350006", "Secondary malignant neoplasm of intrapelvic lymph nodes"),
            ("94410007", "Secondary malignant neoplasm of mesenteric lymph nodes"),
            ("285644001", "Metastasis to lymph node of unknown primary"),
            ("1681000119102", "Metastasis to lymph node from adenocarcinoma"),
        ),
        *_concepts(
            SNOMED,
            _E.BONE,
            ("94222008", "Secondary malignant neoplasm of bone"),
            ("94217008", "Secondary malignant neoplasm of bone marrow"),
            ("94478006", "Secondary malignant neoplasm of pelvic bone"),
            ("285618001", "Metastasis to bone of unknown primary"),
            ("91281000119103", "Secondary adenocarcinoma of bone"),
        ),
        *_concepts(
            SNOMED,
            _E.BRAIN,
            ("94225005", "Secondary malignant neoplasm of brain"),
            ("188462001", "Secondary malignant neoplasm of brain and spinal cord"),
            ("285641009", "Metastasis to brain of unknown primary"),
            ("96981000119102", "Malignant neoplasm of rectosigmoid junction metastatic to brain"),
        ),
        *_concepts(
            SNOMED,
            _E.OVARY,
            ("94455000", "Secondary malignant neoplasm of ovary"),
            ("369523007", "Secondary malignant neoplasm of left ovary"),
            ("369530001", "Secondary malignant neoplasm of right ovary"),
            ("285637005", "Metastasis to ovary of unknown primary"),
        ),
        *_concepts(
            SNOMED,
            _E.ADRENAL,
            ("94161006", "Secondary malignant neoplasm of adrenal gland"),
            ("94160007", "Secondary malignant neoplasm of adrenal cortex"),
            ("94162004", "Secondary malignant neoplasm of adrenal medulla"),
            ("353571000119109", "Secondary malignant neoplasm of right adrenal gland"),
            ("353721000119100", "Secondary malignant neoplasm of left adrenal gland"),
            ("12246561000119101", "Secondary malignant neoplasm of bilateral adrenal glands"),
            ("285643007", "Metastasis to adrenal gland of unknown primary"),
        ),
        *_concepts(
            SNOMED,
            _E.OTHER,
            ("94493005", "Secondary malignant neoplasm of pleura"),
            ("94628003", "Secondary malignant neoplasm of the retroperitoneum"),
            ("285617006", "Metastasis to retroperitoneum of unknown primary"),
        ),
        *_concepts(
            ICD10CM,
            _E.LUNG,
            ("C78.00", "Secondary malignant neoplasm of unspecified lung"),
            ("C78.01", "Secondary malignant neoplasm of right lung"),
            ("C78.02", "Secondary malignant neoplasm of left lung"),
        ),
        *_concepts(
            ICD10CM,
            _E.PERITONEUM,
            ("C78.6", "Secondary malignant neoplasm of retroperitoneum and peritoneum"),
            ("C7B.04", "Secondary carcinoid tumors of peritoneum"),
        ),
        *_concepts(
            ICD10CM,
            _E.DISTANT_NODES,
            ("C77.0", "Secondary malignant neoplasm of lymph nodes of head, face and neck"),
            ("C77.1", "Secondary malignant neoplasm of intrathoracic lymph nodes"),
            ("C77.3", "Secondary malignant neoplasm of axilla and upper limb lymph nodes"),
            ("C77.4", "Secondary malignant neoplasm of inguinal and lower limb lymph nodes"),
            ("C77.8", "Secondary malignant neoplasm of lymph nodes of multiple regions"),
            ("C7B.01", "Secondary carcinoid tumors of distant lymph nodes"),
        ),
        *_concepts(
            ICD10CM,
            UNSPECIFIED_NODES,
            ("C77.2", "Secondary malignant neoplasm of intra-abdominal lymph nodes"),
            ("C77.5", "Secondary malignant neoplasm of intrapelvic lymph nodes"),
            ("C77.9", "Secondary malignant neoplasm of lymph node, unspecified"),
        ),
        *_concepts(
            ICD10CM,
            _E.BONE,
            ("C79.51", "Secondary malignant neoplasm of bone"),
            ("C79.52", "Secondary malignant neoplasm of bone marrow"),
            ("C7B.03", "Secondary carcinoid tumors of bone"),
        ),
        *_concepts(ICD10CM, _E.BRAIN, ("C79.31", "Secondary malignant neoplasm of brain")),
        *_concepts(
            ICD10CM,
            _E.OVARY,
            ("C79.60", "Secondary malignant neoplasm of unspecified ovary"),
            ("C79.61", "Secondary malignant neoplasm of right ovary"),
            ("C79.62", "Secondary malignant neoplasm of left ovary"),
        ),
        *_concepts(
            ICD10CM,
            _E.ADRENAL,
            ("C79.70", "Secondary malignant neoplasm of unspecified adrenal gland"),
            ("C79.71", "Secondary malignant neoplasm of right adrenal gland"),
            ("C79.72", "Secondary malignant neoplasm of left adrenal gland"),
        ),
        *_concepts(ICD10CM, _E.OTHER, ("C78.2", "Secondary malignant neoplasm of pleura")),
    ),
)

PRIMARY_COMPLICATION = CodeTable(
    id="crlm-primary-complication",
    title="Complications of the primary tumour",
    fact="Symptoms of the primary (obstruction, bleeding, perforation)",
    element="Condition.code",
    description=(
        "Condition codes read as a complication of the colorectal primary when recorded from 180 days "
        "before its diagnosis onwards and not resolved."
    ),
    example="Bundle-crlm-icd10.json",
    concepts=(
        *_concepts(
            SNOMED,
            Symptom.OBSTRUCTION,
            ("81060008", "Intestinal obstruction"),
            ("126765001", "Gastrointestinal obstruction"),
        ),
        *_concepts(
            SNOMED,
            Symptom.BLEEDING,
            ("74474003", "Gastrointestinal hemorrhage"),
            ("6072007", "Bleeding from anus"),
            ("12063002", "Rectal hemorrhage"),
            ("405729008", "Hematochezia"),
        ),
        *_concepts(SNOMED, Symptom.PERFORATION, ("56905009", "Perforation of intestine")),
        *_concepts(
            ICD10CM,
            Symptom.OBSTRUCTION,
            ("K56.60", "Unspecified intestinal obstruction"),
            ("K56.600", "Partial intestinal obstruction, unspecified as to cause"),
            ("K56.601", "Complete intestinal obstruction, unspecified as to cause"),
            ("K56.609", "Unspecified intestinal obstruction, unspecified as to partial versus complete"),
            ("K56.69", "Other intestinal obstruction"),
            ("K56.690", "Other partial intestinal obstruction"),
            ("K56.691", "Other complete intestinal obstruction"),
            ("K56.699", "Other intestinal obstruction unspecified as to partial versus complete"),
        ),
        *_concepts(
            ICD10CM,
            Symptom.BLEEDING,
            ("K92.2", "Gastrointestinal hemorrhage, unspecified"),
            ("K62.5", "Hemorrhage of anus and rectum"),
        ),
        *_concepts(ICD10CM, Symptom.PERFORATION, ("K63.1", "Perforation of intestine (nontraumatic)")),
    ),
)

CIRRHOSIS = CodeTable(
    id="crlm-cirrhosis",
    title="Cirrhosis of the liver",
    fact="Cirrhosis / chronic liver disease",
    element="Condition.code",
    description="Condition codes read as cirrhosis of the liver.",
    example="Bundle-crlm-icd10.json",
    concepts=(
        *_concepts(
            SNOMED,
            None,
            ("19943007", "Cirrhosis of liver"),
            ("716203000", "Decompensated cirrhosis of liver"),
            ("420054005", "Alcoholic cirrhosis"),
        ),
        *_concepts(
            ICD10CM,
            None,
            ("K74.60", "Unspecified cirrhosis of liver"),
            ("K74.69", "Other cirrhosis of liver"),
            ("K70.30", "Alcoholic cirrhosis of liver without ascites"),
            ("K70.31", "Alcoholic cirrhosis of liver with ascites"),
        ),
    ),
)

# --------------------------------------------------------------------------------------------------
# Procedures
# --------------------------------------------------------------------------------------------------

PRIMARY_RESECTION = CodeTable(
    id="crlm-primary-resection",
    title="Resection of the colorectal primary",
    fact="Primary resected, and when",
    element="Procedure.code",
    description=(
        "Completed procedures read as resection of the colorectal primary (from 30 days before its "
        "diagnosis onwards, or with a reason referring to it). A diverting stoma is not a resection."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        *_concepts(
            SNOMED,
            None,
            ("23968004", "Colectomy"),
            ("43075005", "Partial resection of colon"),
            ("359571009", "Right hemicolectomy"),
            ("315321001", "Right hemicolectomy and anastomosis of ileum to colon"),
            ("174080004", "Right hemicolectomy and end to end anastomosis of ileum to colon"),
            ("174081000", "Right hemicolectomy and side-to-side anastomosis of ileum to transverse colon"),
            ("447946003", "Right hemicolectomy and ileostomy"),
            ("738551006", "Right hemicolectomy with stoma"),
            ("174071004", "Extended right hemicolectomy"),
            ("50774009", "Laparoscopic-assisted right colectomy"),
            ("446223002", "Hand assisted laparoscopic right colectomy"),
            ("26925005", "Transverse colectomy"),
            ("315322008", "Transverse colectomy with anastomosis"),
            ("307586000", "Laparoscopic transverse colectomy"),
            ("82619000", "Left colectomy"),
            ("315324009", "Left hemicolectomy with anastomosis"),
            ("315325005", "Left hemicolectomy with stoma"),
            ("235325001", "Extended left hemicolectomy"),
            ("41330009", "Laparoscopic-assisted left colectomy"),
            ("446222007", "Hand assisted laparoscopic left colectomy"),
            ("84604002", "Sigmoid colectomy"),
            ("1390003", "Laparoscopic-assisted sigmoid colectomy"),
            ("315326006", "Sigmoid colectomy with anastomosis"),
            ("315327002", "Sigmoid colectomy with stoma"),
            ("307583008", "Cecectomy"),
            ("32044008", "Partial colectomy by abdominal approach"),
            ("44378008", "Partial colectomy with anastomosis"),
            ("738552004", "Partial resection of colon with stoma"),
            ("26390003", "Total colectomy"),
            ("787874000", "Laparoscopic total colectomy"),
            ("174059005", "Proctocolectomy"),
            ("787109009", "Total proctocolectomy"),
            ("54164009", "Rectosigmoidectomy"),
            ("87677003", "Resection of rectum"),
            ("4558008", "Anterior resection of rectum"),
            ("315328007", "Anterior resection of rectum with anastomosis"),
            ("400988008", "High anterior resection of rectum"),
            ("314592008", "Low anterior resection of rectum"),
            ("448474003", "Low anterior resection of rectum and total excision of mesorectum"),
            ("448143009", "Anterior resection of rectum and total excision of mesorectum"),
            ("90527009", "Laparoscopic-assisted anterior resection of rectum"),
            ("708631001", "Laparoscopic-assisted low anterior resection of rectum"),
            ("712992007", "Robot assisted laparoscopic low anterior resection of rectum"),
            ("265414003", "Abdominoperineal resection"),
            ("46569000", "Laparoscopic-assisted abdominoperineal resection"),
            ("16564004", "Hartmann operation, rectal resection"),
            ("12827003", "Partial proctectomy"),
            ("235364003", "Total proctectomy"),
            ("303584001", "Sphincter-saving proctectomy"),
            ("287784004", "Local excision of rectum"),
        ),
        *_concepts(
            CPT,
            None,
            ("44140", "Colectomy, partial; with anastomosis"),
            ("44141", "Colectomy, partial; with skin level cecostomy or colostomy"),
            ("44143", "Colectomy, partial; with end colostomy and closure of distal segment (Hartmann)"),
            ("44144", "Colectomy, partial; with resection, with colostomy or ileostomy and mucofistula"),
            ("44145", "Colectomy, partial; with coloproctostomy (low pelvic anastomosis)"),
            ("44146", "Colectomy, partial; with coloproctostomy, with colostomy"),
            ("44147", "Colectomy, partial; abdominal and transanal approach"),
            ("44150", "Colectomy, total, abdominal, without proctectomy; with ileostomy or ileoproctostomy"),
            ("44155", "Colectomy, total, abdominal, with proctectomy; with ileostomy"),
            ("44160", "Colectomy, partial, with removal of terminal ileum with ileocolostomy"),
            ("44204", "Laparoscopy, surgical; colectomy, partial, with anastomosis"),
            ("44205", "Laparoscopy, surgical; colectomy, partial, with removal of terminal ileum"),
            ("44206", "Laparoscopy, surgical; colectomy, partial, with end colostomy (Hartmann)"),
            ("44207", "Laparoscopy, surgical; colectomy, partial, with coloproctostomy"),
            ("44208", "Laparoscopy, surgical; colectomy, partial, with coloproctostomy and colostomy"),
            ("44210", "Laparoscopy, surgical; colectomy, total, abdominal, without proctectomy"),
            ("45110", "Proctectomy; complete, combined abdominoperineal, with colostomy"),
            ("45111", "Proctectomy; partial resection of rectum, transabdominal approach"),
            ("45112", "Proctectomy, combined abdominoperineal, pull-through procedure"),
            ("45113", "Proctectomy, partial, with rectal mucosectomy, ileoanal anastomosis"),
            ("45114", "Proctectomy, partial, with anastomosis; abdominal and transsacral approach"),
            ("45116", "Proctectomy, partial, with anastomosis; transsacral approach only"),
            ("45119", "Proctectomy, combined abdominoperineal pull-through, with colonic reservoir"),
            ("45120", "Proctectomy, complete, for congenital megacolon"),
            ("45121", "Proctectomy and colectomy, total, for congenital megacolon"),
            ("45123", "Proctectomy, partial, without anastomosis, perineal approach"),
            ("45395", "Laparoscopy, surgical; proctectomy, complete, combined abdominoperineal"),
            ("45397", "Laparoscopy, surgical; proctectomy, combined abdominoperineal pull-through"),
        ),
    ),
)

RESECTION: Final = "resection"
ABLATION: Final = "ablation"
PORTAL_VEIN_EMBOLISATION: Final = "portal-vein-embolisation"

LIVER_PROCEDURE = CodeTable(
    id="crlm-liver-procedure",
    title="Liver-directed procedures",
    fact="Prior hepatectomy, ablation, portal vein embolisation",
    element="Procedure.code",
    description=(
        "Completed procedures read as a prior liver resection, liver ablation or portal vein "
        "embolisation (meaning: the kind). Portal vein embolisation has no SNOMED CT code the project "
        "trusts; it uses the local code crlm-data-item#portal-vein-embolisation."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        *_concepts(
            SNOMED,
            RESECTION,
            ("71273005", "Partial hepatectomy"),
            ("85946004", "Lobectomy of liver"),
            ("15257006", "Lobectomy of liver with partial excision of adjacent lobes"),
            ("61326000", "Hepatectomy, total right lobectomy"),
            ("63816008", "Hepatectomy, total left lobectomy"),
            ("307010009", "Extended right hemihepatectomy"),
            ("307615003", "Extended left hemihepatectomy"),
            ("897702006", "Laparoscopic extended left hemihepatectomy"),
            ("897703001", "Laparoscopic extended right hemihepatectomy"),
            ("74180003", "Hepatectomy, trisegmentectomy"),
            ("307011008", "Caudate lobe resection of liver"),
            ("713519000", "Partial lobectomy of liver"),
            ("708589000", "Laparoscopic liver segmentectomy"),
            ("708889005", "Robotic assisted laparoscopic segmentectomy of liver"),
            ("715805005", "Laparoscopic sub-segmentectomy of liver"),
            ("708590009", "Laparoscopic wedge resection of liver"),
            ("708818009", "Robot assisted laparoscopic wedge resection of liver"),
            ("72106008", "Excision of lesion of liver"),
            ("723069003", "Associating liver partition and portal vein ligation for staged hepatectomy"),
        ),
        *_concepts(
            SNOMED,
            ABLATION,
            ("5415002", "Destruction of lesion of liver"),
            ("448781006", "Radiofrequency ablation of lesion of liver"),
            ("426830009", "Percutaneous radiofrequency ablation of lesion of liver"),
            (
                "442993000",
                "Percutaneous radiofrequency ablation of lesion of liver using ultrasound guidance",
            ),
            ("438815000", "Radiofrequency ablation of lesion of liver using ultrasound guidance"),
            ("431475009", "Radiofrequency ablation of lesion of liver using computed tomography guidance"),
            ("440711002", "Laparoscopic radiofrequency ablation of neoplasm of liver"),
            ("708625004", "Open radiofrequency ablation of lesion of liver"),
            ("609232008", "Percutaneous microwave ablation of lesion of liver"),
            ("448540000", "Laparoscopic microwave ablation of lesion of liver"),
            ("709020001", "Microwave ablation of lesion of liver by open approach"),
            ("427929006", "Thermal ablation of multiple lesions of liver"),
            ("428115007", "Thermal ablation of single lesion of liver"),
            ("432226009", "Ablation of lesion of liver using computed tomography guidance"),
            ("438529005", "Ablation of liver using magnetic resonance imaging guidance"),
            ("433866007", "Laser ablation of lesion of liver using computed tomography guidance"),
            ("439368006", "Laparoscopic cryoablation of neoplasm of liver"),
            (
                "609169001",
                "Percutaneous cryotherapy ablation of tumor of liver using computed tomography guidance",
            ),
            (
                "16558481000119100",
                "Percutaneous cryoablation of lesion of liver using computed tomography guidance",
            ),
            (
                "716756004",
                "Percutaneous irreversible electroporation ablation of neoplasm of liver using CT guidance",
            ),
            ("448012004", "High intensity focused ultrasound ablation of lesion of liver"),
        ),
        *_concepts(
            CPT,
            RESECTION,
            ("47120", "Hepatectomy, resection of liver; partial lobectomy"),
            ("47122", "Hepatectomy, resection of liver; trisegmentectomy"),
            ("47125", "Hepatectomy, resection of liver; total left lobectomy"),
            ("47130", "Hepatectomy, resection of liver; total right lobectomy"),
        ),
        *_concepts(
            CPT,
            ABLATION,
            ("47370", "Laparoscopy, surgical, ablation of 1 or more liver tumor(s); radiofrequency"),
            ("47371", "Laparoscopy, surgical, ablation of 1 or more liver tumor(s); cryosurgical"),
            ("47380", "Ablation, open, of 1 or more liver tumor(s); radiofrequency"),
            ("47381", "Ablation, open, of 1 or more liver tumor(s); cryosurgical"),
            ("47382", "Ablation, 1 or more liver tumor(s), percutaneous, radiofrequency"),
            ("47383", "Ablation, 1 or more liver tumor(s), percutaneous, cryoablation"),
        ),
        *_concepts(
            DATA_ITEM, PORTAL_VEIN_EMBOLISATION, ("portal-vein-embolisation", "Portal vein embolisation")
        ),
    ),
)

# --------------------------------------------------------------------------------------------------
# Observations
# --------------------------------------------------------------------------------------------------

TNM_OBSERVATION = CodeTable(
    id="crlm-tnm-observation",
    title="TNM category and stage group observations",
    fact="Stage: T, N, M category and stage group",
    element="Observation.code (value: AJCC code or SNOMED AJCC qualifier or text)",
    description=(
        "Observation codes read as TNM categories and stage groups (meaning 'category:kind'). Values "
        "are read from the AJCC code, the display of a SNOMED CT AJCC qualifier, or text such as 'cT3', "
        "'pN1b', 'M1a', 'IIIB'. The stage group is also read from Condition.stage.summary."
    ),
    example="Bundle-crlm-icd10.json",
    concepts=(
        Concept(LOINC, "21905-5", "Primary tumor.clinical [Class] Cancer", "T:clinical"),
        Concept(LOINC, "21899-0", "Primary tumor.pathology Cancer", "T:pathological"),
        Concept(LOINC, "21906-3", "Regional lymph nodes.clinical [Class] Cancer", "N:clinical"),
        Concept(LOINC, "21900-6", "Regional lymph nodes.pathology [Class] Cancer", "N:pathological"),
        Concept(LOINC, "21907-1", "Distant metastases.clinical [Class] Cancer", "M:clinical"),
        Concept(LOINC, "21901-4", "Distant metastases.pathology [Class] Cancer", "M:pathological"),
        Concept(LOINC, "21908-9", "Stage group.clinical Cancer", "stage:clinical"),
        Concept(LOINC, "21902-2", "Stage group.pathology Cancer", "stage:pathological"),
        Concept(SNOMED, "78873005", "T category", "T:unspecified"),
        Concept(SNOMED, "399504009", "cT category", "T:clinical"),
        Concept(SNOMED, "384625004", "pT category", "T:pathological"),
        Concept(SNOMED, "277206009", "N category", "N:unspecified"),
        Concept(SNOMED, "399534004", "cN category", "N:clinical"),
        Concept(SNOMED, "371494008", "pN category", "N:pathological"),
        Concept(SNOMED, "277208005", "M category", "M:unspecified"),
        Concept(SNOMED, "399387003", "cM category", "M:clinical"),
        Concept(SNOMED, "371497001", "pM category", "M:pathological"),
        Concept(SNOMED, "399390009", "TNM stage grouping", "stage:unspecified"),
        Concept(SNOMED, "399537006", "Clinical TNM stage grouping", "stage:clinical"),
        Concept(SNOMED, "399588009", "Pathologic TNM stage grouping", "stage:pathological"),
    ),
)

CEA = CodeTable(
    id="crlm-cea",
    title="Carcinoembryonic antigen in serum or plasma",
    fact="CEA (ng/mL; converted from µg/L, pg/mL, pmol/L)",
    element="Observation.code (valueQuantity)",
    description=(
        "Observation codes read as serum CEA. Values are converted to ng/mL from UCUM ng/mL, ug/L, "
        "ng/L, pg/mL, mg/L, and from pmol/L assuming a molar mass of 180 kDa (noted on the fact); "
        "other units are not used."
    ),
    example="Bundle-crlm-single-gene-results.json",
    concepts=_concepts(
        LOINC,
        None,
        ("2039-6", "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma"),
        ("83085-1", "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma by Immunoassay"),
        ("19166-8", "Carcinoembryonic Ag [Units/volume] in Serum or Plasma"),
        ("19167-6", "Carcinoembryonic Ag [Moles/volume] in Serum or Plasma"),
    ),
)

ECOG: Final = "ecog"
KARNOFSKY: Final = "karnofsky"

PERFORMANCE_STATUS = CodeTable(
    id="crlm-performance-status",
    title="Performance status observations",
    fact="ECOG (integer or LOINC answer; Karnofsky converted)",
    element="Observation.code",
    description=(
        "ECOG performance status (valueInteger 0-5, or a LOINC answer from crlm-ecog-answer in "
        "valueCodeableConcept or interpretation) and Karnofsky (0-100, converted to ECOG: 90-100 -> 0, "
        "70-80 -> 1, 50-60 -> 2, 30-40 -> 3, 10-20 -> 4, 0 -> 5, noted on the fact)."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(LOINC, "89247-1", "ECOG Performance Status score", ECOG),
        Concept(LOINC, "89243-0", "Karnofsky Performance Status score", KARNOFSKY),
    ),
)

ECOG_ANSWER = CodeTable(
    id="crlm-ecog-answer",
    title="ECOG performance status answers (LOINC LL529-9)",
    fact="ECOG coded answer",
    element="Observation.valueCodeableConcept / Observation.interpretation",
    description="LOINC answers read as ECOG grades 0-5.",
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(LOINC, "LA9622-7", "Fully active", "0"),
        Concept(LOINC, "LA9623-5", "Restricted in physically strenuous activity", "1"),
        Concept(LOINC, "LA9624-3", "Ambulatory and capable of all selfcare", "2"),
        Concept(LOINC, "LA9625-0", "Capable of only limited selfcare", "3"),
        Concept(LOINC, "LA9626-8", "Completely disabled", "4"),
        Concept(LOINC, "LA9627-6", "Dead", "5"),
    ),
)

GENOMIC_VARIANT = CodeTable(
    id="crlm-genomic-variant",
    title="Genomics Reporting variant observation",
    fact="KRAS/NRAS/BRAF/TP53/ERBB2 variants (Genomics Reporting Variant)",
    element="Observation.code",
    description=(
        "The Genomics Reporting / mCODE GenomicVariant code. The gene is read from the component "
        "coded 48018-6 (HGNC id or symbol), the change from components 48005-3 / 48004-6 / 81290-9 "
        "(matched by LOINC code, never by slice name); value LA9633-4 present / LA9634-2 absent."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=_concepts(LOINC, None, ("69548-6", "Genetic variant assessment")),
)

GENE_STUDIED: Final = "gene"
PROTEIN_CHANGE: Final = "protein-change"
DNA_CHANGE: Final = "dna-change"
GENOMIC_CHANGE: Final = "genomic-change"
CLINICAL_SIGNIFICANCE: Final = "clinical-significance"
DNA_CHANGE_TYPE: Final = "dna-change-type"

GENOMIC_COMPONENT = CodeTable(
    id="crlm-genomic-component",
    title="Genomics Reporting variant components read",
    fact="Variant components (gene, change, significance)",
    element="Observation.component.code",
    description="Components of a variant observation the mapping reads, matched by LOINC code.",
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(LOINC, "48018-6", "Gene studied [ID]", GENE_STUDIED),
        Concept(LOINC, "48005-3", "Amino acid change (pHGVS)", PROTEIN_CHANGE),
        Concept(LOINC, "48004-6", "DNA change (c.HGVS)", DNA_CHANGE),
        Concept(LOINC, "81290-9", "Genomic DNA change (gHGVS)", GENOMIC_CHANGE),
        Concept(LOINC, "53037-8", "Genetic variation clinical significance [Imp]", CLINICAL_SIGNIFICANCE),
        Concept(LOINC, "48019-4", "DNA change type", DNA_CHANGE_TYPE),
    ),
)

GENE = CodeTable(
    id="crlm-gene",
    title="Genes read from variant observations",
    fact="Gene studied (HGNC id or symbol)",
    element="Observation.component[48018-6].valueCodeableConcept",
    description=(
        "HGNC ids of the genes read. The gene symbol (coding display or text) is accepted as well, "
        "because official examples carry wrong HGNC ids (e.g. NRAS coded HGNC:6342); when id and "
        "symbol disagree the symbol is used and a data note says so."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(HGNC, "HGNC:6407", "KRAS", "KRAS"),
        Concept(HGNC, "HGNC:7989", "NRAS", "NRAS"),
        Concept(HGNC, "HGNC:1097", "BRAF", "BRAF"),
        Concept(HGNC, "HGNC:11998", "TP53", "TP53"),
        Concept(HGNC, "HGNC:3430", "ERBB2", "ERBB2"),
    ),
)

RAS_TEST = CodeTable(
    id="crlm-ras-test",
    title="KRAS / NRAS gene-result observations",
    fact="KRAS, NRAS (single gene-result observation)",
    element="Observation.code (coded or text value)",
    description=(
        "Single LOINC gene-result observations for KRAS (and KRAS+NRAS). A value read as negative / "
        "not detected / wild type gives wild-type; a positive value or a named variant gives mutant. "
        "For the combined KRAS+NRAS code a negative value gives both genes wild-type; a variant text "
        "names the mutated gene."
    ),
    example="Bundle-crlm-single-gene-results.json",
    concepts=(
        Concept(LOINC, "21702-6", "KRAS gene mutations found [Identifier] in Blood or Tissue", "KRAS"),
        Concept(LOINC, "75974-6", "KRAS gene targeted mutation analysis in Blood or Tissue", "KRAS"),
        Concept(
            LOINC, "82535-6", "KRAS gene full mutation analysis in Blood or Tissue by Sequencing", "KRAS"
        ),
        Concept(
            LOINC, "85509-8", "KRAS gene mutations found [Identifier] in Colorectal cancer specimen", "KRAS"
        ),
        Concept(
            LOINC,
            "81420-2",
            "KRAS and NRAS gene mutations found [Identifier] in Blood or Tissue",
            "KRAS+NRAS",
        ),
    ),
)

BRAF_TEST = CodeTable(
    id="crlm-braf-test",
    title="BRAF gene-result observations",
    fact="BRAF, V600E specifically (single gene-result observation)",
    element="Observation.code (coded or text value)",
    description=(
        "BRAF results. V600E is read from 'V600E' / 'Val600Glu' / c.1799T>A in the value; a positive "
        "result naming another variant gives non-V600E; a positive result naming no variant is not used "
        "(data note). The V600E immunostain reads positive as V600E and negative as wild-type."
    ),
    example="Bundle-crlm-single-gene-results.json",
    concepts=(
        Concept(LOINC, "53844-7", "BRAF gene targeted mutation analysis in Blood or Tissue", "BRAF"),
        Concept(
            LOINC,
            "85299-6",
            "BRAF V600E mutant protein [Presence] in Cancer specimen by Immune stain",
            "BRAF-V600E-IHC",
        ),
    ),
)

TP53_TEST = CodeTable(
    id="crlm-tp53-test",
    title="TP53 gene-result observations",
    fact="TP53 (single gene-result observation)",
    element="Observation.code (coded or text value)",
    description="TP53 mutation results (p53 immunostaining is not read as a mutation result).",
    example="Bundle-crlm-single-gene-results.json",
    concepts=(
        Concept(LOINC, "21739-8", "TP53 gene mutations found [Identifier] in Blood or Tissue", "TP53"),
    ),
)

HER2_IHC: Final = "ihc"
HER2_ISH: Final = "ish"
HER2_RATIO: Final = "ish-ratio"
HER2_INTERPRETATION: Final = "interpretation"

HER2_TEST = CodeTable(
    id="crlm-her2-test",
    title="HER2 (ERBB2) observations",
    fact="HER2 (IHC score, ISH, ERBB2/CEP17 ratio, interpretation)",
    element="Observation.code",
    description=(
        "IHC 3+ -> positive, 0 / 1+ -> negative, 2+ -> equivocal (not used, data note); ISH presence "
        "and interpretations by their positive/negative value; ERBB2/CEP17 ratio >= 2.0 -> positive."
    ),
    example="Bundle-crlm-single-gene-results.json",
    concepts=(
        Concept(LOINC, "18474-7", "HER2 Ag [Presence] in Tissue by Immune stain", HER2_IHC),
        Concept(LOINC, "72383-3", "HER2 [Presence] in Tissue by Immunoassay", HER2_IHC),
        Concept(LOINC, "48676-1", "HER2 [Interpretation] in Tissue", HER2_INTERPRETATION),
        Concept(LOINC, "31150-6", "ERBB2 gene duplication [Presence] in Tissue by FISH", HER2_ISH),
        Concept(LOINC, "96893-3", "ERBB2 gene duplication in Tumor by FISH", HER2_ISH),
        Concept(
            LOINC, "49683-6", "ERBB2 gene copy number/Chromosome 17 copy number in Tissue by FISH", HER2_RATIO
        ),
    ),
)

MSI_TEST = CodeTable(
    id="crlm-msi-test",
    title="Microsatellite instability observations",
    fact="MSI status",
    element="Observation.code (coded or text value)",
    description=(
        "MSI results: LA26203-2 / 'MSI-H' / 'high' -> dMMR/MSI-H; LA14122-8 / 'MSS' / 'stable' and "
        "LA26202-4 / 'MSI-L' -> pMMR/MSS. The immunostain presence code reads positive as MSI-H."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=_concepts(
        LOINC,
        None,
        ("81695-9", "Microsatellite instability [Interpretation] in Cancer specimen Qualitative"),
        ("43368-0", "Microsatellite instability [Identifier] in Tissue by Molecular genetics method Nominal"),
        ("62862-8", "Microsatellite instability [Presence] in Tissue by Immune stain"),
    ),
)

MMR_IHC = CodeTable(
    id="crlm-mmr-ihc",
    title="Mismatch-repair protein immunostains",
    fact="MMR protein IHC (panel or single observations)",
    element="Observation.code or Observation.component.code",
    description=(
        "MMR immunostains, as single observations or as components of a panel observation. Results of "
        "the latest date form the panel: any lost protein -> dMMR; PMS2 and MSH6 both retained with no "
        "loss -> pMMR (the two-antibody rule); anything less is not used."
    ),
    example="Bundle-crlm-single-gene-results.json",
    concepts=(
        Concept(
            LOINC,
            "81691-8",
            "DNA mismatch repair protein Mlh1 [Presence] in Cancer specimen by Immune stain",
            "MLH1",
        ),
        Concept(
            LOINC,
            "81692-6",
            "DNA mismatch repair protein Msh2 [Presence] in Cancer specimen by Immune stain",
            "MSH2",
        ),
        Concept(
            LOINC,
            "81693-4",
            "DNA mismatch repair protein Msh6 [Presence] in Cancer specimen by Immune stain",
            "MSH6",
        ),
        Concept(
            LOINC,
            "81694-2",
            "Mismatch repair endonuclease PMS2 [Presence] in Cancer specimen by Immune stain",
            "PMS2",
        ),
    ),
)

POSITIVE: Final = "positive"
NEGATIVE: Final = "negative"

RESULT_ANSWER = CodeTable(
    id="crlm-result-answer",
    title="Positive / negative result answers",
    fact="Coded result values (present/absent, detected/not detected, positive/negative)",
    element="Observation.valueCodeableConcept / component.valueCodeableConcept",
    description=(
        "Answer codes read as a positive or negative result (in value, or in interpretation when the "
        "value is absent). For an MMR immunostain 'present' means the protein is retained and 'absent' "
        "that it is lost. Text values are read with the same words."
    ),
    example="Bundle-crlm-single-gene-results.json",
    concepts=(
        Concept(LOINC, "LA9633-4", "Present", POSITIVE),
        Concept(LOINC, "LA9634-2", "Absent", NEGATIVE),
        Concept(LOINC, "LA6576-8", "Positive", POSITIVE),
        Concept(LOINC, "LA6577-6", "Negative", NEGATIVE),
        Concept(LOINC, "LA11882-0", "Detected", POSITIVE),
        Concept(LOINC, "LA11883-8", "Not detected", NEGATIVE),
        Concept(SNOMED, "10828004", "Positive", POSITIVE),
        Concept(SNOMED, "260385009", "Negative", NEGATIVE),
        Concept(SNOMED, "52101004", "Present", POSITIVE),
        Concept(SNOMED, "2667000", "Absent", NEGATIVE),
        Concept(SNOMED, "260373001", "Detected", POSITIVE),
        Concept(SNOMED, "260415000", "Not detected", NEGATIVE),
        Concept(V3_INTERPRETATION, "POS", "Positive", POSITIVE),
        Concept(V3_INTERPRETATION, "NEG", "Negative", NEGATIVE),
        Concept(V3_INTERPRETATION, "DET", "Detected", POSITIVE),
        Concept(V3_INTERPRETATION, "ND", "Not detected", NEGATIVE),
    ),
)

MSI_HIGH: Final = "msi-h"
MSI_STABLE: Final = "mss"

MSI_ANSWER = CodeTable(
    id="crlm-msi-answer",
    title="MSI answers",
    fact="MSI coded value",
    element="Observation.valueCodeableConcept",
    description="LOINC MSI answers (MSI-L is read as stable / proficient).",
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(LOINC, "LA26203-2", "MSI-H", MSI_HIGH),
        Concept(LOINC, "LA26202-4", "MSI-L", MSI_STABLE),
        Concept(LOINC, "LA14122-8", "Stable", MSI_STABLE),
    ),
)

BENIGN: Final = "benign"

VARIANT_SIGNIFICANCE = CodeTable(
    id="crlm-variant-significance",
    title="Variant clinical significance answers that exclude a mutation",
    fact="Variant classified benign (not read as a mutation)",
    element="Observation.component[53037-8].valueCodeableConcept",
    description="A variant classified benign or likely benign is not read as a mutation of its gene.",
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(LOINC, "LA6675-8", "Benign", BENIGN),
        Concept(LOINC, "LA26334-5", "Likely benign", BENIGN),
    ),
)

TUMOR_SIZE_OBSERVATION: Final = "observation"
LONGEST_DIMENSION: Final = "longest-dimension"

TUMOR_SIZE = CodeTable(
    id="crlm-tumor-size",
    title="Tumour size (mCODE TumorSize)",
    fact="Largest liver-lesion diameter (cm)",
    element="Observation.code + component 33728-7 (valueQuantity mm/cm)",
    description=(
        "mCODE tumour size: the longest dimension (component 33728-7, or valueQuantity) of a lesion "
        "shown to be in the liver by bodySite, by focus on the liver-metastasis Condition or on a "
        "BodyStructure located in the liver. The largest of the latest measurement date is used."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(LOINC, "21889-1", "Size Tumor", TUMOR_SIZE_OBSERVATION),
        Concept(LOINC, "33728-7", "Size.maximum dimension in Tumor", LONGEST_DIMENSION),
    ),
)

DISEASE_STATUS = CodeTable(
    id="crlm-disease-status",
    title="Cancer disease status (mCODE)",
    fact="Disease status under treatment; complete response of the primary",
    element="Observation.code (value from crlm-disease-status-answer)",
    description=(
        "mCODE CancerDiseaseStatus. With focus on the colorectal primary it gives the primary's "
        "complete response (not detected -> true, other statuses -> false); otherwise the latest "
        "status of the liver disease."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=_concepts(LOINC, None, ("97509-4", "Cancer disease progression")),
)

_D = DiseaseStatus
DISEASE_STATUS_ANSWER = CodeTable(
    id="crlm-disease-status-answer",
    title="Cancer disease status answers",
    fact="Disease status value",
    element="Observation.valueCodeableConcept",
    description="mCODE ConditionStatusTrendMaxVS answers, and 'not detected' for complete response.",
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        Concept(SNOMED, "260415000", "Not detected", _D.COMPLETE_RESPONSE),
        Concept(SNOMED, "281900007", "No abnormality detected", _D.COMPLETE_RESPONSE),
        Concept(SNOMED, "550991000124107", "Malignant neoplasm in full remission", _D.COMPLETE_RESPONSE),
        Concept(SNOMED, "103338009", "In full remission", _D.COMPLETE_RESPONSE),
        Concept(SNOMED, "268910001", "Patient's condition improved", _D.RESPONSE),
        Concept(SNOMED, "551001000124108", "Malignant neoplasm in partial remission", _D.RESPONSE),
        Concept(SNOMED, "103337004", "In partial remission", _D.RESPONSE),
        Concept(SNOMED, "359746009", "Patient's condition stable", _D.STABLE),
        Concept(SNOMED, "271299001", "Patient's condition worsened", _D.PROGRESSION),
        Concept(SNOMED, "709137006", "Patient condition undetermined", _D.UNDETERMINED),
    ),
)

# Local data items ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DataItem:
    """A concept of the local CodeSystem ``crlm-data-item``.

    Attributes:
        code: The code.
        display: Display.
        definition: Definition (what is recorded and how).
        kind: ``"observation"`` (an Observation code), ``"procedure"`` or ``"answer"``.
        value: For observation codes, the expected value type (FHIR ``value[x]`` type name).
        unit: For quantities, the UCUM unit expected.
    """

    code: str
    display: str
    definition: str
    kind: str
    value: str | None = None
    unit: str | None = None


LESION_COUNT: Final = "liver-lesion-count"
BILOBAR: Final = "liver-bilobar"
FUTURE_LIVER_REMNANT: Final = "future-liver-remnant"
HEPATECTOMY_COMPLEXITY: Final = "hepatectomy-complexity"
MDT_RESECTABILITY: Final = "mdt-resectability"
PRIMARY_ASYMPTOMATIC: Final = "primary-asymptomatic"
NO_EXTRAHEPATIC_DISEASE: Final = "no-extrahepatic-disease"
ANAL_VERGE_DISTANCE: Final = "anal-verge-distance"
DECLINES_CHEMOTHERAPY_FIRST: Final = "declines-chemotherapy-first"
RESECTION_MARGIN: Final = "resection-margin"

DATA_ITEMS: Final[tuple[DataItem, ...]] = (
    DataItem(
        LESION_COUNT,
        "Number of liver metastases",
        "Number of liver metastases counted on the latest staging imaging (valueInteger).",
        "observation",
        "integer",
    ),
    DataItem(
        BILOBAR,
        "Liver metastases in both hemilivers",
        "Whether the liver metastases involve both the right and the left hemiliver (valueBoolean).",
        "observation",
        "boolean",
    ),
    DataItem(
        FUTURE_LIVER_REMNANT,
        "Planned future liver remnant",
        "Planned standardised future liver remnant as a percentage of total liver volume "
        "(valueQuantity, UCUM %).",
        "observation",
        "Quantity",
        "%",
    ),
    DataItem(
        HEPATECTOMY_COMPLEXITY,
        "Planned hepatectomy complexity grade",
        "Complexity of the planned hepatectomy in the three-level classification (grade I/II/III; "
        "valueCodeableConcept from crlm-hepatectomy-complexity).",
        "observation",
        "CodeableConcept",
    ),
    DataItem(
        MDT_RESECTABILITY,
        "MDT resectability assessment",
        "Resectability of the liver metastases as judged by the multidisciplinary team "
        "(valueCodeableConcept from crlm-mdt-resectability).",
        "observation",
        "CodeableConcept",
    ),
    DataItem(
        PRIMARY_ASYMPTOMATIC,
        "Primary tumour asymptomatic",
        "Explicit record that the colorectal primary causes no obstruction, bleeding or perforation "
        "(valueBoolean true).",
        "observation",
        "boolean",
    ),
    DataItem(
        NO_EXTRAHEPATIC_DISEASE,
        "No extrahepatic disease",
        "Explicit record that staging found no metastatic disease outside the liver (valueBoolean "
        "true); false records extrahepatic disease without naming its site.",
        "observation",
        "boolean",
    ),
    DataItem(
        ANAL_VERGE_DISTANCE,
        "Distance of the tumour from the anal verge",
        "For rectal primaries, distance of the distal tumour edge from the anal verge (valueQuantity, "
        "UCUM cm or mm).",
        "observation",
        "Quantity",
        "cm",
    ),
    DataItem(
        DECLINES_CHEMOTHERAPY_FIRST,
        "Patient declines chemotherapy before primary resection",
        "The patient does not accept systemic chemotherapy before resection of the primary "
        "(valueBoolean true).",
        "observation",
        "boolean",
    ),
    DataItem(
        RESECTION_MARGIN,
        "Liver resection margin",
        "Margin of a liver resection (valueCodeableConcept from crlm-resection-margin); partOf or focus "
        "refers to the resection Procedure. Procedure.outcome with these codes is read too.",
        "observation",
        "CodeableConcept",
    ),
    DataItem(
        PORTAL_VEIN_EMBOLISATION,
        "Portal vein embolisation",
        "Embolisation of a portal vein branch to induce hypertrophy of the future liver remnant "
        "(Procedure.code).",
        "procedure",
    ),
    DataItem("complexity-grade-i", "Hepatectomy complexity grade I", "Low complexity.", "answer"),
    DataItem("complexity-grade-ii", "Hepatectomy complexity grade II", "Intermediate complexity.", "answer"),
    DataItem("complexity-grade-iii", "Hepatectomy complexity grade III", "High complexity.", "answer"),
    DataItem("resectable", "Resectable", "Technically resectable with an adequate remnant.", "answer"),
    DataItem(
        "potentially-resectable",
        "Potentially resectable",
        "Not resectable now; may become resectable after conversion therapy or staged procedures.",
        "answer",
    ),
    DataItem("unresectable", "Unresectable", "Not expected to become resectable.", "answer"),
    DataItem("margin-r0", "R0", "No residual tumour: microscopically clear margin.", "answer"),
    DataItem("margin-r1", "R1", "Microscopic residual tumour at the margin.", "answer"),
    DataItem("margin-r2", "R2", "Macroscopic residual tumour.", "answer"),
)
"""All concepts of the local CodeSystem ``crlm-data-item``."""

_ITEMS = {item.code: item for item in DATA_ITEMS}

DATA_ITEM_OBSERVATION = CodeTable(
    id="crlm-data-item-observation",
    title="Local data-item observations",
    fact=(
        "Lesion count, bilobar spread, future liver remnant, planned complexity, MDT resectability, "
        "asymptomatic primary, no extrahepatic disease, anal-verge distance, declines chemotherapy "
        "first, resection margin"
    ),
    element="Observation.code (profiles StructureDefinition-crlm-*)",
    description=(
        "Observation codes of the local CodeSystem crlm-data-item for facts with no standard code "
        "(meaning: the code)."
    ),
    example="Bundle-crlm-local-data-items.json",
    concepts=tuple(
        Concept(DATA_ITEM, item.code, item.display, item.code)
        for item in DATA_ITEMS
        if item.kind == "observation"
    ),
)


def _answers(*pairs: tuple[str, str]) -> tuple[Concept, ...]:
    """Answer concepts of the local CodeSystem as ``(code, meaning)`` pairs."""
    return tuple(Concept(DATA_ITEM, code, _ITEMS[code].display, meaning) for code, meaning in pairs)


HEPATECTOMY_COMPLEXITY_ANSWER = CodeTable(
    id="crlm-hepatectomy-complexity",
    title="Planned hepatectomy complexity grades",
    fact="Planned hepatectomy complexity value",
    element="Observation.valueCodeableConcept",
    description="Answers of the hepatectomy-complexity data item (text 'I', 'II', 'III' is read too).",
    example="Bundle-crlm-local-data-items.json",
    concepts=_answers(
        ("complexity-grade-i", HepatectomyComplexity.GRADE_I),
        ("complexity-grade-ii", HepatectomyComplexity.GRADE_II),
        ("complexity-grade-iii", HepatectomyComplexity.GRADE_III),
    ),
)

MDT_RESECTABILITY_ANSWER = CodeTable(
    id="crlm-mdt-resectability",
    title="MDT resectability assessments",
    fact="MDT resectability value",
    element="Observation.valueCodeableConcept",
    description="Answers of the mdt-resectability data item.",
    example="Bundle-crlm-local-data-items.json",
    concepts=_answers(
        ("resectable", Resectability.RESECTABLE),
        ("potentially-resectable", Resectability.POTENTIALLY_RESECTABLE),
        ("unresectable", Resectability.UNRESECTABLE),
    ),
)

RESECTION_MARGIN_ANSWER = CodeTable(
    id="crlm-resection-margin",
    title="Resection margins",
    fact="Resection margin value (R0/R1/R2)",
    element="Observation.valueCodeableConcept / Procedure.outcome",
    description="Answers of the resection-margin data item (text 'R0', 'R1', 'R2' is read too).",
    example="Bundle-crlm-local-data-items.json",
    concepts=_answers(("margin-r0", Margin.R0), ("margin-r1", Margin.R1), ("margin-r2", Margin.R2)),
)

YES: Final = "yes"
NO: Final = "no"

YES_NO_ANSWER = CodeTable(
    id="crlm-yes-no-answer",
    title="Yes / no answers",
    fact="Boolean data items coded instead of valueBoolean",
    element="Observation.valueCodeableConcept",
    description="Yes/no answer codes accepted where a data item expects valueBoolean.",
    example="Bundle-crlm-local-data-items.json",
    concepts=(
        Concept(V2_YES_NO, "Y", "Yes", YES),
        Concept(V2_YES_NO, "N", "No", NO),
        Concept(SNOMED, "373066001", "Yes", YES),
        Concept(SNOMED, "373067005", "No", NO),
        Concept(LOINC, "LA33-6", "Yes", YES),
        Concept(LOINC, "LA32-8", "No", NO),
    ),
)

# --------------------------------------------------------------------------------------------------
# Medications
# --------------------------------------------------------------------------------------------------

_A = Agent
SYSTEMIC_AGENT = CodeTable(
    id="crlm-systemic-agent",
    title="Systemic anticancer agents",
    fact="Systemic therapy exposures (agents, dates)",
    element=(
        "MedicationRequest / MedicationAdministration / MedicationStatement .medicationCodeableConcept, "
        "or the referenced (contained or bundled) Medication.code and ingredients"
    ),
    description=(
        "RxNorm ingredient and product codes (from the mCODE clinical-trial-matching lists) and ATC codes "
        "read as systemic anticancer agents. Topical fluorouracil and ophthalmic trifluridine are "
        "deliberately absent. Uncoded medications are read by name (generic or brand, and the regimen "
        "names FOLFOX, FOLFIRI, FOLFOXIRI, CAPOX/XELOX); other ATC L01/L02 codes give 'other'."
    ),
    example="Bundle-crlm-mcode-snomed.json",
    concepts=(
        *_concepts(
            RXNORM,
            _A.OXALIPLATIN,
            ("32592", "Oxaliplatin"),
            ("358819", "Oxaliplatin 5 MG/ML"),
            ("575971", "oxaliplatin 5 MG/ML [Eloxatin]"),
            ("1160121", "Oxaliplatin Injectable Product"),
            ("1736775", "Oxaliplatin Injection"),
            ("1736776", "10 ML oxaliplatin 5 MG/ML Injection"),
            ("1736781", "20 ML oxaliplatin 5 MG/ML Injection"),
            ("1736783", "Oxaliplatin 50 MG"),
            ("1736784", "Oxaliplatin 50 MG Injection"),
            ("1736785", "Oxaliplatin 100 MG"),
            ("1736786", "Oxaliplatin 100 MG Injection"),
            ("1797528", "40 ML oxaliplatin 5 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.IRINOTECAN,
            ("51499", "Irinotecan"),
            ("153329", "Irinotecan hydrochloride"),
            ("904159", "Irinotecan hydrochloride 20 MG/ML"),
            ("904161", "Irinotecan hydrochloride 20 MG/ML [Camptosar]"),
            ("1161334", "Irinotecan Injectable Product"),
            ("1719767", "Irinotecan hydrochloride liposome"),
            ("1719768", "Irinotecan liposomal"),
            ("1719769", "Irinotecan hydrochloride liposome 4.3 MG/ML"),
            ("1719772", "10 ML irinotecan hydrochloride liposome 4.3 MG/ML Injection"),
            ("1719774", "Irinotecan hydrochloride liposome 4.3 MG/ML [Onivyde]"),
            ("1726318", "Irinotecan Injection"),
            ("1726319", "2 ML irinotecan hydrochloride 20 MG/ML Injection"),
            ("1726320", "Irinotecan Injection [Camptosar]"),
            ("1726324", "5 ML irinotecan hydrochloride 20 MG/ML Injection"),
            ("1726333", "15 ML irinotecan hydrochloride 20 MG/ML Injection"),
            ("1726492", "25 ML irinotecan hydrochloride 20 MG/ML Injection"),
            ("2284502", "Irinotecan Injection [Onivyde]"),
        ),
        *_concepts(
            RXNORM,
            _A.FLUOROURACIL,
            ("4492", "Fluorouracil"),
            ("199316", "Fluorouracil 25 MG/ML Injectable Solution"),
            ("239177", "Fluorouracil 50 MG/ML Injectable Solution"),
            ("315950", "Fluorouracil 50 MG/ML"),
            ("331954", "Fluorouracil 25 MG/ML"),
            ("362845", "Fluorouracil Injectable Solution [Adrucil]"),
            ("372228", "Fluorouracil Injectable Solution"),
            ("573686", "Fluorouracil 50 MG/ML [Adrucil]"),
            ("1160829", "Fluorouracil Injectable Product"),
            ("1791700", "Fluorouracil Injection"),
            ("1791701", "10 ML fluorouracil 50 MG/ML Injection"),
            ("1791702", "Fluorouracil Injection [Adrucil]"),
            ("1791736", "20 ML fluorouracil 50 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.CAPECITABINE,
            ("194000", "Capecitabine"),
            ("200327", "Capecitabine 150 MG Oral Tablet"),
            ("200328", "Capecitabine 500 MG Oral Tablet"),
            ("315557", "Capecitabine 150 MG"),
            ("315558", "Capecitabine 500 MG"),
            ("368280", "Capecitabine Oral Tablet [Xeloda]"),
            ("371250", "Capecitabine Oral Tablet"),
            ("573202", "Capecitabine 150 MG [Xeloda]"),
            ("573203", "Capecitabine 500 MG [Xeloda]"),
            ("1158877", "Capecitabine Oral Product"),
            ("1158878", "Capecitabine Pill"),
        ),
        *_concepts(RXNORM, _A.LEUCOVORIN, ("1803932", "Leucovorin 100 MG Injection")),
        *_concepts(
            RXNORM,
            _A.BEVACIZUMAB,
            ("253337", "Bevacizumab"),
            ("437105", "Bevacizumab 25 MG/ML"),
            ("544556", "Bevacizumab 25 MG/ML [Avastin]"),
            ("1161185", "Bevacizumab Injectable Product"),
            ("1657065", "Bevacizumab Injection"),
            ("1657066", "4 ML bevacizumab 25 MG/ML Injection"),
            ("1657067", "Bevacizumab Injection [Avastin]"),
            ("1657073", "16 ML bevacizumab 25 MG/ML Injection"),
            ("2046138", "Bevacizumab-awwb"),
            ("2046139", "Bevacizumab-awwb 25 MG/ML"),
            ("2046140", "16 ML bevacizumab-awwb 25 MG/ML Injection"),
            ("2046142", "Bevacizumab-awwb 25 MG/ML [Mvasi]"),
            ("2046143", "Bevacizumab Injection [Mvasi]"),
            ("2046148", "4 ML bevacizumab-awwb 25 MG/ML Injection"),
            ("2268037", "Bevacizumab-bvzr"),
            ("2268038", "Bevacizumab-bvzr 25 MG/ML"),
            ("2268039", "4 ML bevacizumab-bvzr 25 MG/ML Injection"),
            ("2268041", "Bevacizumab-bvzr 25 MG/ML [Zirabev]"),
            ("2268042", "Bevacizumab Injection [Zirabev]"),
            ("2268047", "16 ML bevacizumab-bvzr 25 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.CETUXIMAB,
            ("318341", "Cetuximab"),
            ("485253", "Cetuximab 2 MG/ML"),
            ("544717", "Cetuximab 2 MG/ML [Erbitux]"),
            ("1161239", "Cetuximab Injectable Product"),
            ("1657657", "Cetuximab Injection"),
            ("1657658", "50 ML cetuximab 2 MG/ML Injection"),
            ("1657659", "Cetuximab Injection [Erbitux]"),
            ("1657663", "100 ML cetuximab 2 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.PANITUMUMAB,
            ("263034", "Panitumumab"),
            ("667879", "Panitumumab 20 MG/ML"),
            ("667895", "Panitumumab 20 MG/ML [Vectibix]"),
            ("1160730", "Panitumumab Injectable Product"),
            ("1657702", "Panitumumab Injection"),
            ("1657703", "5 ML panitumumab 20 MG/ML Injection"),
            ("1657704", "Panitumumab Injection [Vectibix]"),
            ("1657722", "20 ML panitumumab 20 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.PEMBROLIZUMAB,
            ("1547545", "Pembrolizumab"),
            ("1547546", "Pembrolizumab 25 MG/ML"),
            ("1547547", "Pembrolizumab Injectable Product"),
            ("1547551", "Pembrolizumab 25 MG/ML [Keytruda]"),
            ("1657744", "Pembrolizumab 50 MG"),
            ("1657745", "Pembrolizumab Injection"),
            ("1657746", "Pembrolizumab 50 MG Injection"),
            ("1657747", "Pembrolizumab 50 MG [Keytruda]"),
            ("1657748", "Pembrolizumab Injection [Keytruda]"),
            ("1657750", "4 ML pembrolizumab 25 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.NIVOLUMAB,
            ("1597876", "Nivolumab"),
            ("1597877", "Nivolumab 10 MG/ML"),
            ("1597878", "Nivolumab Injectable Product"),
            ("1597882", "Nivolumab 10 MG/ML [Opdivo]"),
            ("1657189", "Nivolumab Injection"),
            ("1657190", "4 ML nivolumab 10 MG/ML Injection"),
            ("1657191", "Nivolumab Injection [Opdivo]"),
            ("1657195", "10 ML nivolumab 10 MG/ML Injection"),
            ("1991412", "24 ML nivolumab 10 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.IPILIMUMAB,
            ("1094833", "Ipilimumab"),
            ("1094834", "Ipilimumab 5 MG/ML"),
            ("1094838", "Ipilimumab 5 MG/ML [Yervoy]"),
            ("1161327", "Ipilimumab Injectable Product"),
            ("1657004", "Ipilimumab Injection"),
            ("1657005", "40 ML ipilimumab 5 MG/ML Injection"),
            ("1657006", "Ipilimumab Injection [Yervoy]"),
            ("1657012", "10 ML ipilimumab 5 MG/ML Injection"),
        ),
        *_concepts(
            RXNORM,
            _A.ENCORAFENIB,
            ("2049106", "Encorafenib"),
            ("2049107", "Encorafenib 50 MG"),
            ("2049108", "Encorafenib Oral Product"),
            ("2049109", "Encorafenib Pill"),
            ("2049110", "Encorafenib Oral Capsule"),
            ("2049111", "Encorafenib 50 MG Oral Capsule"),
            ("2049113", "Encorafenib 50 MG [Braftovi]"),
            ("2049114", "Encorafenib Oral Capsule [Braftovi]"),
            ("2049118", "Encorafenib 75 MG"),
            ("2049119", "Encorafenib 75 MG Oral Capsule"),
            ("2049120", "Encorafenib 75 MG [Braftovi]"),
        ),
        *_concepts(
            RXNORM,
            _A.TRIFLURIDINE_TIPIRACIL,
            ("1670304", "Tipiracil"),
            ("1670305", "Tipiracil 6.14 MG"),
            ("1670306", "Trifluridine 15 MG"),
            ("1670307", "Tipiracil / trifluridine Oral Product"),
            ("1670308", "Tipiracil / trifluridine Pill"),
            ("1670309", "Tipiracil / trifluridine Oral Tablet"),
            ("1670310", "Tipiracil / trifluridine"),
            ("1670311", "Tipiracil 6.14 MG / trifluridine 15 MG Oral Tablet"),
            ("1670314", "Tipiracil 8.19 MG"),
            ("1670315", "Trifluridine 20 MG"),
            ("1670316", "Tipiracil 8.19 MG / trifluridine 20 MG Oral Tablet"),
            ("1670318", "Tipiracil 6.14 MG / trifluridine 15 MG [Lonsurf]"),
            ("1670319", "Tipiracil / trifluridine Oral Tablet [Lonsurf]"),
            ("1670322", "Lonsurf (trifluridine 15 MG / tipiracil 6.14 MG) Oral Tablet"),
            ("1670323", "Tipiracil 8.19 MG / trifluridine 20 MG [Lonsurf]"),
            ("1670324", "Lonsurf (trifluridine 20 MG / tipiracil 8.19 MG) Oral Tablet"),
        ),
        *_concepts(
            RXNORM,
            _A.REGORAFENIB,
            ("1312397", "Regorafenib"),
            ("1312398", "Regorafenib 40 MG"),
            ("1312399", "Regorafenib Oral Product"),
            ("1312400", "Regorafenib Pill"),
            ("1312401", "Regorafenib Oral Tablet"),
            ("1312402", "Regorafenib 40 MG Oral Tablet"),
            ("1312404", "Regorafenib 40 MG [Stivarga]"),
            ("1312405", "Regorafenib Oral Tablet [Stivarga]"),
            ("1371319", "Regorafenib monohydrate"),
        ),
        *_concepts(ATC, _A.OXALIPLATIN, ("L01XA03", "oxaliplatin")),
        *_concepts(ATC, _A.IRINOTECAN, ("L01CE02", "irinotecan")),
        *_concepts(ATC, _A.FLUOROURACIL, ("L01BC02", "fluorouracil")),
        *_concepts(ATC, _A.CAPECITABINE, ("L01BC06", "capecitabine")),
        *_concepts(ATC, _A.LEUCOVORIN, ("V03AF03", "calcium folinate"), ("V03AF04", "calcium levofolinate")),
        *_concepts(ATC, _A.BEVACIZUMAB, ("L01FG01", "bevacizumab"), ("L01XC07", "bevacizumab (before 2022)")),
        *_concepts(ATC, _A.CETUXIMAB, ("L01FE01", "cetuximab"), ("L01XC06", "cetuximab (before 2022)")),
        *_concepts(ATC, _A.PANITUMUMAB, ("L01FE02", "panitumumab"), ("L01XC08", "panitumumab (before 2022)")),
        *_concepts(
            ATC, _A.PEMBROLIZUMAB, ("L01FF02", "pembrolizumab"), ("L01XC18", "pembrolizumab (before 2022)")
        ),
        *_concepts(ATC, _A.NIVOLUMAB, ("L01FF01", "nivolumab"), ("L01XC17", "nivolumab (before 2022)")),
        *_concepts(ATC, _A.IPILIMUMAB, ("L01FX04", "ipilimumab"), ("L01XC11", "ipilimumab (before 2022)")),
        *_concepts(ATC, _A.ENCORAFENIB, ("L01EC03", "encorafenib"), ("L01XE46", "encorafenib (before 2022)")),
        *_concepts(ATC, _A.TRIFLURIDINE_TIPIRACIL, ("L01BC59", "trifluridine, combinations")),
        *_concepts(ATC, _A.REGORAFENIB, ("L01EX05", "regorafenib"), ("L01XE21", "regorafenib (before 2022)")),
    ),
)

AGENT_NAME_PATTERNS: Final[tuple[tuple[str, tuple[Agent, ...]], ...]] = (
    (r"\bfolfoxiri\b", (_A.FLUOROURACIL, _A.LEUCOVORIN, _A.OXALIPLATIN, _A.IRINOTECAN)),
    (r"\bfolfirinox\b", (_A.FLUOROURACIL, _A.LEUCOVORIN, _A.OXALIPLATIN, _A.IRINOTECAN)),
    (r"\bm?folfox\d*\b", (_A.FLUOROURACIL, _A.LEUCOVORIN, _A.OXALIPLATIN)),
    (r"\bfolfiri\b", (_A.FLUOROURACIL, _A.LEUCOVORIN, _A.IRINOTECAN)),
    (r"\b(?:capox|xelox)\b", (_A.CAPECITABINE, _A.OXALIPLATIN)),
    (r"\b(?:oxaliplatin|eloxatin)\b", (_A.OXALIPLATIN,)),
    (r"\b(?:irinotecan|camptosar|onivyde)\b", (_A.IRINOTECAN,)),
    (r"\b(?:5-?fluorouracil|fluorouracil|5-?fu|adrucil)\b", (_A.FLUOROURACIL,)),
    (r"\b(?:capecitabine|xeloda)\b", (_A.CAPECITABINE,)),
    (r"\b(?:levo)?leucovorin\b|\b(?:calcium )?(?:levo)?folinate\b|\bfolinic acid\b", (_A.LEUCOVORIN,)),
    (r"\b(?:bevacizumab|avastin|mvasi|zirabev)\b", (_A.BEVACIZUMAB,)),
    (r"\b(?:cetuximab|erbitux)\b", (_A.CETUXIMAB,)),
    (r"\b(?:panitumumab|vectibix)\b", (_A.PANITUMUMAB,)),
    (r"\b(?:pembrolizumab|keytruda)\b", (_A.PEMBROLIZUMAB,)),
    (r"\b(?:nivolumab|opdivo)\b", (_A.NIVOLUMAB,)),
    (r"\b(?:ipilimumab|yervoy)\b", (_A.IPILIMUMAB,)),
    (r"\b(?:encorafenib|braftovi)\b", (_A.ENCORAFENIB,)),
    (r"\b(?:tipiracil|lonsurf)\b", (_A.TRIFLURIDINE_TIPIRACIL,)),
    (r"\b(?:regorafenib|stivarga)\b", (_A.REGORAFENIB,)),
)
"""Name patterns (case-insensitive) for medications with no recognised code: generic, brand, regimen."""

AGENT_NAME_EXCLUSIONS: Final = r"\b(?:topical|cream|ophthalmic|eye drops?|cutaneous|ointment)\b"
"""Medications whose name matches this are never read as systemic agents (topical 5-FU, eye drops)."""

# --------------------------------------------------------------------------------------------------
# Registry and generated FHIR resources
# --------------------------------------------------------------------------------------------------

TABLES: Final[tuple[CodeTable, ...]] = (
    COLORECTAL_PRIMARY,
    GENERIC_MALIGNANT_NEOPLASM,
    COLORECTAL_BODY_SITE,
    SYNTHEA_COLORECTAL_STAGE,
    LIVER_METASTASIS,
    GENERIC_SECONDARY_NEOPLASM,
    METASTASIS_BODY_SITE,
    EXTRAHEPATIC_METASTASIS,
    PRIMARY_COMPLICATION,
    CIRRHOSIS,
    PRIMARY_RESECTION,
    LIVER_PROCEDURE,
    TNM_OBSERVATION,
    CEA,
    PERFORMANCE_STATUS,
    ECOG_ANSWER,
    GENOMIC_VARIANT,
    GENOMIC_COMPONENT,
    GENE,
    RAS_TEST,
    BRAF_TEST,
    TP53_TEST,
    HER2_TEST,
    MSI_TEST,
    MMR_IHC,
    RESULT_ANSWER,
    MSI_ANSWER,
    VARIANT_SIGNIFICANCE,
    TUMOR_SIZE,
    DISEASE_STATUS,
    DISEASE_STATUS_ANSWER,
    DATA_ITEM_OBSERVATION,
    HEPATECTOMY_COMPLEXITY_ANSWER,
    MDT_RESECTABILITY_ANSWER,
    RESECTION_MARGIN_ANSWER,
    YES_NO_ANSWER,
    SYSTEMIC_AGENT,
)
"""Every table, in README order."""

OBSERVATION_CODE_TABLES: Final[tuple[CodeTable, ...]] = (
    TNM_OBSERVATION,
    CEA,
    PERFORMANCE_STATUS,
    GENOMIC_VARIANT,
    RAS_TEST,
    BRAF_TEST,
    TP53_TEST,
    HER2_TEST,
    MSI_TEST,
    MMR_IHC,
    TUMOR_SIZE,
    DISEASE_STATUS,
    DATA_ITEM_OBSERVATION,
)
"""Tables whose codes are matched against ``Observation.code`` (what the prefetch must request)."""


def observation_codes() -> frozenset[tuple[str, str]]:
    """Every ``(system, code)`` the mapping reads from ``Observation.code``.

    The tumour-size component code 33728-7 is read only inside a 21889-1 observation (or as a single
    observation with that code) and is requested too.
    """
    return frozenset(key for table in OBSERVATION_CODE_TABLES for key in table.codes())


OBSERVATION_QUERY_SUFFIX: Final = "&_sort=-date&_count=200"
"""Appended to the Observation prefetch template: newest first, so a truncated page keeps the latest."""


def observation_prefetch_template() -> str:
    """The ``observations`` prefetch template: this patient's Observations with the codes read.

    Codes are listed without their systems: with ``system|`` prefixes the query grew past 2,000
    characters, beyond the default URL limits of common FHIR server front ends (IIS's 2,048-byte
    query string, for one). A code value alone matches it in any system, which can only add results;
    the mapping still matches system and code. Uses only CDS Hooks 2.0 tokens
    (``{{context.patientId}}``) and the recommended query subset (a reference parameter, a token list,
    ``_sort`` and ``_count``).
    """
    codes: list[str] = []
    for table in OBSERVATION_CODE_TABLES:
        codes.extend(c.code for c in table.concepts if c.code not in codes)
    return "Observation?patient={{context.patientId}}&code=" + ",".join(codes) + OBSERVATION_QUERY_SUFFIX


def _value_set_concepts(table: CodeTable) -> list[dict[str, Any]]:
    """ValueSet.compose.include entries, one per system, in table order."""
    by_system: dict[str, list[dict[str, Any]]] = {}
    for concept in table.concepts:
        entry: dict[str, Any] = {"code": concept.code}
        if concept.display:
            entry["display"] = concept.display
        if concept.meaning is not None:
            entry["extension"] = [{"url": MEANING_EXTENSION, "valueCode": str(concept.meaning)}]
        by_system.setdefault(concept.system, []).append(entry)
    return [{"system": system, "concept": concepts} for system, concepts in by_system.items()]


MEANING_EXTENSION: Final = f"{CANONICAL_BASE}/StructureDefinition/crlm-mapped-meaning"
"""Extension on ValueSet concepts: what the mapping reads the code as (the table's meaning)."""


def value_set_resource(table: CodeTable) -> dict[str, Any]:
    """The FHIR R4 ValueSet published for ``table`` (``fhir_profiles/ValueSet-<id>.json``)."""
    return {
        "resourceType": "ValueSet",
        "id": table.id,
        "url": table.url,
        "version": PACKAGE_VERSION,
        "name": "".join(part.capitalize() for part in table.id.split("-")),
        "title": table.title,
        "status": "active",
        "experimental": False,
        "publisher": "CRLM CDS project",
        "description": f"{table.description} Read from {table.element}.",
        "compose": {"include": _value_set_concepts(table)},
    }


def data_item_code_system() -> dict[str, Any]:
    """The local CodeSystem ``crlm-data-item`` (``fhir_profiles/CodeSystem-crlm-data-item.json``)."""
    concepts: list[dict[str, Any]] = []
    for item in DATA_ITEMS:
        properties: list[dict[str, Any]] = [{"code": "kind", "valueCode": item.kind}]
        if item.value:
            properties.append({"code": "value-type", "valueCode": item.value})
        if item.unit:
            properties.append({"code": "unit", "valueString": item.unit})
        concepts.append(
            {
                "code": item.code,
                "display": item.display,
                "definition": item.definition,
                "property": properties,
            }
        )
    return {
        "resourceType": "CodeSystem",
        "id": "crlm-data-item",
        "url": DATA_ITEM,
        "version": PACKAGE_VERSION,
        "name": "CrlmDataItem",
        "title": "CRLM data items without a standard code",
        "status": "active",
        "experimental": False,
        "publisher": "CRLM CDS project",
        "description": (
            "Local codes for facts the CRLM decision support needs and no standard terminology codes "
            "(number and distribution of liver metastases, future liver remnant, planned hepatectomy "
            "complexity, MDT resectability, explicit negatives, anal-verge distance, patient preference, "
            "resection margin, portal vein embolisation), with their answer codes. Observation profiles "
            "in this package (StructureDefinition-crlm-*) say how each is recorded."
        ),
        "caseSensitive": True,
        "content": "complete",
        "count": len(DATA_ITEMS),
        "property": [
            {
                "code": "kind",
                "description": "observation (an Observation.code), procedure (a Procedure.code) or answer",
                "type": "code",
            },
            {"code": "value-type", "description": "Expected Observation.value[x] type", "type": "code"},
            {"code": "unit", "description": "Expected UCUM unit of a quantity", "type": "string"},
        ],
        "concept": concepts,
    }


README_BEGIN: Final = "<!-- BEGIN GENERATED TABLE (cds_service.fhir_codes.readme_table) -->"
README_END: Final = "<!-- END GENERATED TABLE -->"


def readme_codes(table: CodeTable) -> str:
    """The 'codes accepted' cell of ``table``: codes grouped by meaning, then by system."""
    groups: dict[str | None, dict[str, list[str]]] = {}
    for concept in table.concepts:
        groups.setdefault(concept.meaning, {}).setdefault(concept.system, []).append(concept.code)
    parts: list[str] = []
    for meaning, systems in groups.items():
        listed = "; ".join(
            f"{SYSTEM_LABELS[system]} " + " ".join(f"`{code}`" for code in codes)
            for system, codes in systems.items()
        )
        parts.append(f"**{meaning}**: {listed}" if meaning is not None else listed)
    return "<br>".join(parts)


def readme_table(tables: Iterable[CodeTable] = TABLES) -> str:
    """The generated table of ``fhir_profiles/README.md`` (between the README markers)."""
    lines = [
        "| Fact | Read from | ValueSet | Codes accepted | Example |",
        "|---|---|---|---|---|",
    ]
    for table in tables:
        example = (
            f"[{table.example}](examples/{table.example})"
            if table.example.endswith(".json")
            else table.example
        )
        lines.append(
            f"| {table.fact} | {table.element} | [{table.id}](ValueSet-{table.id}.json) | "
            f"{readme_codes(table)} | {example} |"
        )
    return "\n".join(lines)

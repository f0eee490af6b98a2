"""Builds the golden scenarios' FHIR bundles (``python -m tests.golden.scenarios``).

Each scenario is a patient described in a few lines below and written out as a FHIR R4 collection
Bundle coded the way the input contract (``fhir_profiles/README.md``) documents: standard SNOMED CT,
ICD-10-CM, LOINC and RxNorm codes, plus the project's local data items where no standard code exists.
The bundles are committed; this script is how they were made and how to make a new one. The evaluation
date of the golden tests is 2026-12-01.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CASES = Path(__file__).resolve().parent / "cases"

SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
LOCAL = "https://crlm-cds.org/fhir/CodeSystem/crlm-data-item"
HGNC = "http://www.genenames.org"

PRIMARY_CODES = {
    "cecum": [(SNOMED, "363350007", "Malignant tumor of cecum"), (ICD10, "C18.0", None)],
    "ascending": [(SNOMED, "363412000", "Malignant tumor of ascending colon"), (ICD10, "C18.2", None)],
    "transverse": [(SNOMED, "363408006", "Malignant tumor of transverse colon"), (ICD10, "C18.4", None)],
    "descending": [(SNOMED, "363409003", "Malignant tumor of descending colon"), (ICD10, "C18.6", None)],
    "sigmoid": [(SNOMED, "363410008", "Malignant tumor of sigmoid colon"), (ICD10, "C18.7", None)],
    "rectum": [(SNOMED, "363351006", "Malignant tumor of rectum"), (ICD10, "C20", None)],
    "breast": [(SNOMED, "254837009", "Malignant neoplasm of breast"), (ICD10, "C50.911", None)],
}
EHD_CODES = {
    "lung": (SNOMED, "94391008", "Secondary malignant neoplasm of lung"),
    "peritoneum": (SNOMED, "94627008", "Metastasis to peritoneum"),
    "bone": (SNOMED, "94222008", "Secondary malignant neoplasm of bone"),
    "para-aortic": (SNOMED, "94519005", "Secondary malignant neoplasm of retroperitoneal lymph nodes"),
}
SYMPTOM_CODES = {
    "obstruction": (SNOMED, "81060008", "Intestinal obstruction"),
    "bleeding": (SNOMED, "74474003", "Gastrointestinal hemorrhage"),
    "perforation": (SNOMED, "56905009", "Perforation of intestine"),
}
AGENT_CODES = {
    "oxaliplatin": (RXNORM, "1736776", "10 ML oxaliplatin 5 MG/ML Injection"),
    "fluorouracil": (RXNORM, "4492", "fluorouracil"),
    "leucovorin": (RXNORM, "1803932", "Leucovorin 100 MG Injection"),
    "irinotecan": (RXNORM, "51499", "irinotecan"),
    "bevacizumab": (RXNORM, "253337", "bevacizumab"),
    "cetuximab": (RXNORM, "318341", "cetuximab"),
    "encorafenib": (RXNORM, "2049106", "encorafenib"),
}
RESULT = {"positive": (LOINC, "LA9633-4", "Present"), "negative": (LOINC, "LA9634-2", "Absent")}


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding."""
    result = {"system": system, "code": code}
    if display:
        result["display"] = display
    return result


@dataclass
class Patient:
    """A scenario patient; each method adds the resources for one fact."""

    pid: str
    birth_date: str = "1960-05-14"
    resources: list[dict[str, Any]] = field(default_factory=list)
    counter: int = 0

    def __post_init__(self) -> None:
        self.resources.append(
            {"resourceType": "Patient", "id": self.pid, "gender": "female", "birthDate": self.birth_date}
        )

    def _id(self, stem: str) -> str:
        self.counter += 1
        return f"{stem}-{self.counter}"

    @property
    def subject(self) -> dict[str, str]:
        return {"reference": f"Patient/{self.pid}"}

    def condition(
        self, codings: list[tuple[str, str, str | None]], onset: str, stem: str, clinical: str = "active"
    ) -> str:
        rid = self._id(stem)
        self.resources.append(
            {
                "resourceType": "Condition",
                "id": rid,
                "clinicalStatus": {
                    "coding": [coding("http://terminology.hl7.org/CodeSystem/condition-clinical", clinical)]
                },
                "verificationStatus": {
                    "coding": [
                        coding("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed")
                    ]
                },
                "code": {"coding": [coding(*c) for c in codings]},
                "subject": self.subject,
                "onsetDateTime": onset,
            }
        )
        return rid

    def primary(self, site: str, diagnosed: str) -> str:
        return self.condition(PRIMARY_CODES[site], diagnosed, "primary")

    def liver_metastases(self, detected: str, clinical: str = "active") -> str:
        return self.condition(
            [(SNOMED, "94381002", "Secondary malignant neoplasm of liver"), (ICD10, "C78.7", None)],
            detected,
            "liver",
            clinical,
        )

    def extrahepatic(self, site: str, detected: str) -> None:
        self.condition([EHD_CODES[site]], detected, f"ehd-{site}")

    def symptom(self, name: str, onset: str) -> None:
        self.condition([SYMPTOM_CODES[name]], onset, name)

    def stage(self, t: str, n: str, m: str, date: str) -> None:
        """Clinical T, N and M categories (LOINC TNM observations, AJCC values as text)."""
        for code, display, value in (
            ("21905-5", "Primary tumor.clinical [Class] Cancer", t),
            ("21906-3", "Regional lymph nodes.clinical [Class] Cancer", n),
            ("21907-1", "Distant metastases.clinical [Class] Cancer", m),
        ):
            self.observation(
                coding(LOINC, code, display), date, f"tnm-{code}", valueCodeableConcept={"text": value}
            )

    def cirrhosis(self, onset: str) -> None:
        self.condition([(SNOMED, "19943007", "Cirrhosis of liver")], onset, "cirrhosis")

    def observation(self, code: dict[str, Any], date: str, stem: str, **value: Any) -> str:
        rid = self._id(stem)
        resource = {
            "resourceType": "Observation",
            "id": rid,
            "status": "final",
            "code": {"coding": [code]},
            "subject": self.subject,
            "effectiveDateTime": date,
        }
        resource.update(value)
        self.resources.append(resource)
        return rid

    def ecog(self, score: int, date: str) -> None:
        self.observation(
            coding(LOINC, "89247-1", "ECOG Performance Status score"), date, "ecog", valueInteger=score
        )

    def cea(self, value: float, date: str) -> None:
        self.observation(
            coding(LOINC, "2039-6", "Carcinoembryonic Ag [Mass/volume] in Serum or Plasma"),
            date,
            "cea",
            valueQuantity={"value": value, "unit": "ng/mL", "system": UCUM, "code": "ng/mL"},
        )

    def ras(self, result: str, date: str) -> None:
        """KRAS and NRAS together (LOINC 81420-2), positive = mutation found."""
        self.observation(
            coding(LOINC, "81420-2", "KRAS and NRAS gene mutations found"),
            date,
            "ras",
            valueCodeableConcept={"coding": [coding(*RESULT[result])]},
        )

    def kras_variant(self, protein_change: str, date: str) -> None:
        """A Genomics Reporting variant Observation for a KRAS mutation."""
        self.observation(
            coding(LOINC, "69548-6", "Genetic variant assessment"),
            date,
            "kras-variant",
            valueCodeableConcept={"coding": [coding(*RESULT["positive"])]},
            component=[
                {
                    "code": {"coding": [coding(LOINC, "48018-6", "Gene studied [ID]")]},
                    "valueCodeableConcept": {"coding": [coding(HGNC, "HGNC:6407", "KRAS")]},
                },
                {
                    "code": {"coding": [coding(LOINC, "48005-3", "Amino acid change (pHGVS)")]},
                    "valueCodeableConcept": {"coding": [coding("http://varnomen.hgvs.org", protein_change)]},
                },
            ],
        )

    def braf(self, result: str, date: str) -> None:
        """BRAF targeted analysis (LOINC 53844-7): "v600e" or "negative"."""
        if result == "v600e":
            self.observation(
                coding(LOINC, "53844-7", "BRAF gene targeted mutation analysis"),
                date,
                "braf",
                valueString="BRAF p.V600E mutation detected",
            )
        else:
            self.observation(
                coding(LOINC, "53844-7", "BRAF gene targeted mutation analysis"),
                date,
                "braf",
                valueCodeableConcept={"coding": [coding(*RESULT["negative"])]},
            )

    def tp53(self, result: str, date: str) -> None:
        self.observation(
            coding(LOINC, "21739-8", "TP53 gene mutations found"),
            date,
            "tp53",
            valueCodeableConcept={"coding": [coding(*RESULT[result])]},
        )

    def msi(self, status: str, date: str) -> None:
        answer = (
            coding(LOINC, "LA26203-2", "MSI-H") if status == "msi-h" else coding(LOINC, "LA14122-8", "Stable")
        )
        self.observation(
            coding(LOINC, "81695-9", "Microsatellite instability [Interpretation] in Cancer specimen"),
            date,
            "msi",
            valueCodeableConcept={"coding": [answer]},
        )

    def data_item(self, code: str, date: str, **value: Any) -> None:
        self.observation(coding(LOCAL, code), date, code, **value)

    def lesions(self, count: int, largest_cm: float, date: str, *, bilobar: bool | None = None) -> None:
        self.data_item("liver-lesion-count", date, valueInteger=count)
        self.observation(
            coding(LOINC, "21889-1", "Size Tumor"),
            date,
            "tumor-size",
            bodySite={"coding": [coding(SNOMED, "10200004", "Liver structure")]},
            component=[
                {
                    "code": {"coding": [coding(LOINC, "33728-7", "Size.maximum dimension in Tumor")]},
                    "valueQuantity": {"value": largest_cm * 10, "unit": "mm", "system": UCUM, "code": "mm"},
                }
            ],
        )
        if bilobar is not None:
            self.data_item("liver-bilobar", date, valueBoolean=bilobar)

    def flr(self, percent: float, date: str) -> None:
        self.data_item(
            "future-liver-remnant",
            date,
            valueQuantity={"value": percent, "unit": "%", "system": UCUM, "code": "%"},
        )

    def mdt(self, verdict: str, date: str) -> None:
        self.data_item("mdt-resectability", date, valueCodeableConcept={"coding": [coding(LOCAL, verdict)]})

    def complexity(self, grade: str, date: str) -> None:
        self.data_item(
            "hepatectomy-complexity",
            date,
            valueCodeableConcept={"coding": [coding(LOCAL, f"complexity-grade-{grade}")]},
        )

    def asymptomatic(self, date: str) -> None:
        self.data_item("primary-asymptomatic", date, valueBoolean=True)

    def liver_only(self, date: str) -> None:
        self.data_item("no-extrahepatic-disease", date, valueBoolean=True)

    def anal_verge(self, cm: float, date: str) -> None:
        self.data_item(
            "anal-verge-distance",
            date,
            valueQuantity={"value": cm, "unit": "cm", "system": UCUM, "code": "cm"},
        )

    def disease_status(self, answer: str, date: str, focus: str | None = None) -> None:
        codes = {
            "progression": (SNOMED, "271299001", "Patient's condition worsened"),
            "response": (SNOMED, "268910001", "Patient's condition improved"),
            "not-detected": (SNOMED, "260415000", "Not detected"),
        }
        extra: dict[str, Any] = {"valueCodeableConcept": {"coding": [coding(*codes[answer])]}}
        if focus:
            extra["focus"] = [{"reference": f"Condition/{focus}"}]
        self.observation(coding(LOINC, "97509-4", "Cancer disease status"), date, "disease-status", **extra)

    def margin(self, value: str, date: str) -> None:
        self.data_item(
            "resection-margin", date, valueCodeableConcept={"coding": [coding(LOCAL, f"margin-{value}")]}
        )

    def chemotherapy(self, agents: list[str], dates: list[str]) -> None:
        """One MedicationAdministration per agent per cycle date."""
        for day in dates:
            for agent in agents:
                self.resources.append(
                    {
                        "resourceType": "MedicationAdministration",
                        "id": self._id(f"admin-{agent}"),
                        "status": "completed",
                        "medicationCodeableConcept": {"coding": [coding(*AGENT_CODES[agent])]},
                        "subject": self.subject,
                        "effectiveDateTime": day,
                    }
                )

    def medication_order(self, medication: str, authored: str) -> None:
        """An order whose drug is only a reference to a Medication the record does not hold."""
        self.resources.append(
            {
                "resourceType": "MedicationRequest",
                "id": self._id("order"),
                "status": "completed",
                "intent": "order",
                "medicationReference": {"reference": medication},
                "subject": self.subject,
                "authoredOn": authored,
            }
        )

    def procedure(self, code: tuple[str, str, str], date: str, stem: str) -> None:
        self.resources.append(
            {
                "resourceType": "Procedure",
                "id": self._id(stem),
                "status": "completed",
                "code": {"coding": [coding(*code)]},
                "subject": self.subject,
                "performedDateTime": date,
            }
        )

    def hepatectomy(self, date: str) -> None:
        self.procedure((SNOMED, "71273005", "Partial hepatectomy"), date, "hepatectomy")

    def colectomy(self, date: str) -> None:
        self.procedure((SNOMED, "84604002", "Sigmoid colectomy"), date, "colectomy")

    def bundle(self) -> dict[str, Any]:
        return {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [
                {"fullUrl": f"urn:crlm:{r['resourceType']}/{r['id']}", "resource": r} for r in self.resources
            ],
        }


def biweekly(start_year: int, start_month: int, cycles: int) -> list[str]:
    """Cycle dates every 14 days from the 1st of a month."""
    from datetime import date, timedelta

    first = date(start_year, start_month, 1)
    return [(first + timedelta(days=14 * i)).isoformat() for i in range(cycles)]


def full_workup(p: Patient, *, ras: str = "negative", braf: str = "negative", msi: str = "mss") -> None:
    """ECOG 0, CEA, molecular results: the data most decisions need."""
    p.ecog(0, "2026-10-20")
    p.cea(8.5, "2026-10-15")
    p.ras(ras, "2026-10-25")
    p.braf(braf, "2026-10-25")
    p.msi(msi, "2026-10-25")


def scenarios() -> dict[str, Patient]:
    """All scenarios, by folder name."""
    cases: dict[str, Patient] = {}

    p = Patient("sync-sigmoid-resectable")
    p.primary("sigmoid", "2026-10-01")
    liver = p.liver_metastases("2026-10-05")
    full_workup(p)
    p.lesions(3, 3.2, "2026-10-10", bilobar=False)
    p.flr(55, "2026-10-12")
    p.asymptomatic("2026-10-01")
    p.liver_only("2026-10-10")
    p.mdt("resectable", "2026-11-05")
    p.stage("cT3", "cN1", "cM1a", "2026-10-10")
    del liver
    cases[p.pid] = p

    p = Patient("sync-single-small-lesion")
    p.primary("descending", "2026-10-01")
    p.liver_metastases("2026-10-03")
    full_workup(p)
    p.lesions(1, 1.4, "2026-10-10", bilobar=False)
    p.asymptomatic("2026-10-01")
    p.liver_only("2026-10-10")
    p.mdt("resectable", "2026-11-05")
    cases[p.pid] = p

    p = Patient("sync-rectal-reverse")
    p.primary("rectum", "2026-09-20")
    p.liver_metastases("2026-09-25")
    full_workup(p)
    p.lesions(5, 4.1, "2026-10-01", bilobar=True)
    p.anal_verge(6, "2026-09-22")
    p.stage("cT3", "cN2", "cM1a", "2026-09-28")
    p.complexity("iii", "2026-10-20")
    p.liver_only("2026-10-01")
    p.mdt("resectable", "2026-10-28")
    cases[p.pid] = p

    p = Patient("sync-rectal-obstruction")
    p.primary("rectum", "2026-10-10")
    p.liver_metastases("2026-10-12")
    full_workup(p)
    p.symptom("obstruction", "2026-10-09")
    p.lesions(2, 2.5, "2026-10-15", bilobar=False)
    p.anal_verge(12, "2026-10-11")
    p.stage("cT3", "cN0", "cM1a", "2026-10-14")
    p.liver_only("2026-10-15")
    cases[p.pid] = p

    p = Patient("sync-colon-bleeding")
    p.primary("sigmoid", "2026-10-10")
    p.liver_metastases("2026-10-12")
    full_workup(p)
    p.symptom("bleeding", "2026-10-08")
    p.lesions(2, 2.8, "2026-10-15", bilobar=False)
    p.liver_only("2026-10-15")
    p.mdt("resectable", "2026-11-01")
    cases[p.pid] = p

    p = Patient("unresectable-left-ras-wild-type")
    p.primary("sigmoid", "2026-09-01")
    p.liver_metastases("2026-09-04")
    full_workup(p)
    p.lesions(9, 6.5, "2026-09-10", bilobar=True)
    p.liver_only("2026-09-10")
    p.mdt("potentially-resectable", "2026-09-20")
    cases[p.pid] = p

    p = Patient("unresectable-right-ras-wild-type")
    p.primary("ascending", "2026-09-01")
    p.liver_metastases("2026-09-04")
    full_workup(p)
    p.lesions(8, 5.5, "2026-09-10", bilobar=True)
    p.liver_only("2026-09-10")
    p.mdt("potentially-resectable", "2026-09-20")
    cases[p.pid] = p

    p = Patient("unresectable-ras-mutant")
    p.primary("descending", "2026-09-01")
    p.liver_metastases("2026-09-04")
    p.ecog(1, "2026-09-08")
    p.cea(240, "2026-09-02")
    p.kras_variant("NP_004976.2:p.Gly12Asp", "2026-09-15")
    p.stage("cT4a", "cN2", "cM1a", "2026-09-10")
    p.braf("negative", "2026-09-15")
    p.msi("mss", "2026-09-15")
    p.lesions(7, 5.8, "2026-09-10", bilobar=True)
    p.liver_only("2026-09-10")
    p.mdt("potentially-resectable", "2026-09-20")
    cases[p.pid] = p

    p = Patient("dmmr-resectable")
    p.primary("cecum", "2026-10-01")
    p.liver_metastases("2026-10-04")
    full_workup(p, msi="msi-h")
    p.lesions(2, 2.6, "2026-10-10", bilobar=False)
    p.liver_only("2026-10-10")
    p.asymptomatic("2026-10-01")
    p.mdt("resectable", "2026-11-02")
    cases[p.pid] = p

    p = Patient("braf-v600e-potentially-resectable")
    p.primary("transverse", "2026-09-10")
    p.liver_metastases("2026-09-12")
    full_workup(p, braf="v600e")
    p.lesions(6, 4.5, "2026-09-20", bilobar=True)
    p.liver_only("2026-09-20")
    p.mdt("potentially-resectable", "2026-10-01")
    cases[p.pid] = p

    p = Patient("metachronous-oxaliplatin-failure")
    p.primary("sigmoid", "2025-06-01")
    p.colectomy("2025-06-20")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "leucovorin"], biweekly(2025, 8, 12))
    p.liver_metastases("2026-08-15")
    full_workup(p)
    p.lesions(3, 3.0, "2026-08-20", bilobar=False)
    p.liver_only("2026-08-20")
    p.mdt("resectable", "2026-09-01")
    cases[p.pid] = p

    p = Patient("progression-on-chemotherapy")
    p.primary("sigmoid", "2026-05-01")
    p.liver_metastases("2026-05-03")
    full_workup(p)
    p.lesions(4, 4.0, "2026-05-10", bilobar=True)
    p.liver_only("2026-05-10")
    p.mdt("potentially-resectable", "2026-05-20")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "leucovorin", "bevacizumab"], biweekly(2026, 6, 10))
    p.disease_status("progression", "2026-11-10")
    cases[p.pid] = p

    p = Patient("small-remnant-cirrhosis")
    p.primary("descending", "2026-09-01")
    p.liver_metastases("2026-09-03")
    full_workup(p)
    p.cirrhosis("2019-03-01")
    p.lesions(4, 3.5, "2026-09-10", bilobar=True)
    p.flr(28, "2026-09-25")
    p.liver_only("2026-09-10")
    cases[p.pid] = p

    p = Patient("peritoneal-and-liver")
    p.primary("sigmoid", "2026-09-01")
    p.liver_metastases("2026-09-03")
    full_workup(p)
    p.extrahepatic("peritoneum", "2026-09-03")
    p.lesions(2, 2.2, "2026-09-10", bilobar=False)
    cases[p.pid] = p

    p = Patient("multiple-extrahepatic-sites")
    p.primary("descending", "2026-08-01")
    p.liver_metastases("2026-08-03")
    full_workup(p)
    p.extrahepatic("lung", "2026-08-03")
    p.extrahepatic("bone", "2026-08-10")
    p.extrahepatic("para-aortic", "2026-08-10")
    p.lesions(5, 3.0, "2026-08-10", bilobar=True)
    cases[p.pid] = p

    p = Patient("recurrence-after-hepatectomy")
    p.primary("sigmoid", "2023-02-01")
    p.liver_metastases("2023-02-05")
    p.colectomy("2023-06-15")
    p.hepatectomy("2023-06-15")
    p.margin("r1", "2023-06-20")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "leucovorin"], biweekly(2023, 3, 6) + biweekly(2023, 8, 6))
    p.ecog(1, "2026-10-20")
    p.cea(15, "2026-10-15")
    p.ras("negative", "2023-03-01")
    p.braf("negative", "2023-03-01")
    p.msi("mss", "2023-03-01")
    p.disease_status("progression", "2026-10-25")
    p.lesions(2, 2.0, "2026-10-25", bilobar=False)
    cases[p.pid] = p

    p = Patient("minimal-data")
    p.primary("sigmoid", "2026-11-01")
    p.liver_metastases("2026-11-03")
    cases[p.pid] = p

    p = Patient("rectal-ras-tp53-complete-response")
    p.primary("rectum", "2026-03-01")
    primary_id = "primary-1"
    p.liver_metastases("2026-03-03")
    p.ecog(0, "2026-03-05")
    p.cea(35, "2026-03-02")
    p.kras_variant("NP_004976.2:p.Gly12Val", "2026-03-10")
    p.tp53("positive", "2026-03-10")
    p.braf("negative", "2026-03-10")
    p.msi("mss", "2026-03-10")
    p.lesions(4, 5.6, "2026-03-08", bilobar=True)
    p.anal_verge(5, "2026-03-02")
    p.liver_only("2026-03-08")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "leucovorin", "bevacizumab"], biweekly(2026, 4, 10))
    p.disease_status("not-detected", "2026-11-15", focus=primary_id)
    cases[p.pid] = p

    p = Patient("anti-egfr-given-ras-mutant")
    p.primary("sigmoid", "2026-07-01")
    p.liver_metastases("2026-07-03")
    p.ecog(1, "2026-07-05")
    p.cea(60, "2026-07-02")
    p.kras_variant("NP_004976.2:p.Gly13Asp", "2026-07-20")
    p.braf("negative", "2026-07-20")
    p.msi("mss", "2026-07-20")
    p.lesions(6, 4.8, "2026-07-08", bilobar=True)
    p.liver_only("2026-07-08")
    p.mdt("potentially-resectable", "2026-07-15")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "leucovorin", "cetuximab"], biweekly(2026, 10, 4))
    cases[p.pid] = p

    # Second clinical review (rule base 2.2.0): the reviewer's key patients.
    p = Patient("anti-egfr-resectable-mdt-after-start")
    p.primary("sigmoid", "2026-09-01")
    p.liver_metastases("2026-09-03")
    full_workup(p)
    p.lesions(2, 2.5, "2026-09-10", bilobar=False)
    p.flr(50, "2026-09-12")
    p.liver_only("2026-09-10")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "cetuximab"], biweekly(2026, 10, 4))
    p.mdt("resectable", "2026-11-20")
    cases[p.pid] = p

    p = Patient("anti-egfr-resectable-before-start")
    p.primary("sigmoid", "2026-09-01")
    p.liver_metastases("2026-09-03")
    full_workup(p)
    p.lesions(2, 2.5, "2026-09-10", bilobar=False)
    p.flr(50, "2026-09-12")
    p.liver_only("2026-09-10")
    p.mdt("resectable", "2026-09-15")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "cetuximab"], biweekly(2026, 10, 4))
    p.mdt("resectable", "2026-11-20")
    cases[p.pid] = p

    p = Patient("folfox-resectable-mdt-after-start")
    p.primary("sigmoid", "2026-09-20")
    p.liver_metastases("2026-09-22")
    full_workup(p)
    p.lesions(2, 2.5, "2026-09-25", bilobar=False)
    p.flr(50, "2026-09-26")
    p.liver_only("2026-09-25")
    p.asymptomatic("2026-09-20")
    p.chemotherapy(["oxaliplatin", "fluorouracil"], biweekly(2026, 10, 5))
    p.mdt("resectable", "2026-10-20")
    cases[p.pid] = p

    p = Patient("recurrence-new-condition")
    p.primary("sigmoid", "2025-08-01")
    p.colectomy("2025-08-20")
    p.liver_metastases("2025-08-03")
    full_workup(p)
    p.chemotherapy(["oxaliplatin", "fluorouracil"], biweekly(2025, 9, 6))
    p.hepatectomy("2025-12-01")
    p.margin("r0", "2025-12-05")
    p.chemotherapy(["oxaliplatin", "fluorouracil"], biweekly(2026, 1, 6))
    p.liver_metastases("2026-09-01")
    p.lesions(2, 2.0, "2026-09-05", bilobar=False)
    cases[p.pid] = p

    p = Patient("recurrence-first-condition-resolved")
    p.primary("sigmoid", "2025-08-01")
    p.colectomy("2025-08-20")
    p.liver_metastases("2025-08-03", clinical="resolved")
    full_workup(p)
    p.chemotherapy(["oxaliplatin", "fluorouracil"], biweekly(2025, 9, 6))
    p.hepatectomy("2025-12-01")
    p.margin("r0", "2025-12-05")
    p.chemotherapy(["oxaliplatin", "fluorouracil"], biweekly(2026, 1, 6))
    p.liver_metastases("2026-09-01")
    p.lesions(2, 2.0, "2026-09-05", bilobar=False)
    cases[p.pid] = p

    p = Patient("metachronous-bleeding-primary-in-place")
    p.primary("sigmoid", "2026-06-01")
    p.liver_metastases("2026-07-16")
    full_workup(p)
    p.lesions(3, 2.5, "2026-07-16", bilobar=False)
    p.liver_only("2026-07-16")
    p.mdt("resectable", "2026-11-01")
    p.symptom("bleeding", "2026-06-01")
    cases[p.pid] = p

    p = Patient("oxaliplatin-reintroduced-after-break")
    p.primary("sigmoid", "2025-12-01")
    p.liver_metastases("2025-12-03")
    full_workup(p)
    p.lesions(9, 5.5, "2025-12-10", bilobar=True)
    p.liver_only("2025-12-10")
    p.mdt("unresectable", "2025-12-20")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "cetuximab"], biweekly(2026, 1, 12))
    p.disease_status("response", "2026-06-20")
    p.disease_status("progression", "2026-10-15")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "cetuximab"], biweekly(2026, 11, 2))
    cases[p.pid] = p

    p = Patient("braf-v600e-breakwater-recorded")
    p.primary("sigmoid", "2026-09-01")
    p.liver_metastases("2026-09-03")
    full_workup(p, braf="v600e")
    p.lesions(8, 4.5, "2026-09-10", bilobar=True)
    p.liver_only("2026-09-10")
    p.mdt("unresectable", "2026-09-20")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "cetuximab", "encorafenib"], biweekly(2026, 10, 4))
    cases[p.pid] = p

    p = Patient("postoperative-course-already-complete")
    p.primary("sigmoid", "2026-03-01")
    p.colectomy("2026-03-20")
    p.liver_metastases("2026-03-03")
    full_workup(p)
    p.lesions(4, 3.0, "2026-03-10", bilobar=True)
    p.liver_only("2026-03-10")
    p.mdt("potentially-resectable", "2026-03-15")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "bevacizumab"], biweekly(2026, 4, 12))
    p.mdt("resectable", "2026-10-01")
    p.hepatectomy("2026-11-01")
    cases[p.pid] = p

    p = Patient("converted-remnant-to-confirm")
    p.primary("sigmoid", "2026-04-01")
    p.liver_metastases("2026-04-03")
    full_workup(p)
    p.lesions(4, 3.5, "2026-04-10", bilobar=True)
    p.liver_only("2026-04-10")
    p.mdt("potentially-resectable", "2026-04-20")
    p.chemotherapy(["oxaliplatin", "fluorouracil", "bevacizumab"], biweekly(2026, 5, 7))
    p.disease_status("response", "2026-11-15")
    p.lesions(3, 2.0, "2026-11-15", bilobar=True)
    p.flr(35, "2026-11-16")
    p.mdt("resectable", "2026-11-20")
    cases[p.pid] = p

    # Bad-input review: unreadable or unidentified records are never read as absent.
    p = Patient("invalid-primary-condition")
    p.primary("sigmoid", "2026-13-01")
    p.liver_metastases("2026-10-05")
    full_workup(p)
    p.lesions(3, 3.2, "2026-10-10", bilobar=False)
    p.liver_only("2026-10-10")
    p.mdt("resectable", "2026-11-05")
    cases[p.pid] = p

    p = Patient("unknown-drug-order")
    p.primary("sigmoid", "2025-06-01")
    p.colectomy("2025-06-20")
    p.medication_order("Medication/adjuvant-1", "2025-10-01")
    p.liver_metastases("2026-08-15")
    full_workup(p)
    p.lesions(3, 3.0, "2026-08-20", bilobar=False)
    p.liver_only("2026-08-20")
    p.mdt("resectable", "2026-09-01")
    cases[p.pid] = p

    p = Patient("breast-cancer-liver-metastases")
    p.primary("breast", "2026-06-01")
    p.liver_metastases("2026-06-03")
    p.ecog(0, "2026-06-05")
    cases[p.pid] = p

    p = Patient("colorectal-without-liver-metastases")
    p.primary("sigmoid", "2026-06-01")
    full_workup(p)
    cases[p.pid] = p

    return cases


def write_example_request() -> None:
    """examples/patient-view-crlm.json: the README's request, built from the first scenario."""
    from cds_service.cli import request_from_bundle
    from cds_service.services import load_registry

    patient = scenarios()["sync-sigmoid-resectable"]
    bundle = json.loads(json.dumps(patient.bundle()).replace("sync-sigmoid-resectable", "crlm-example-1"))
    service = load_registry(CASES.parents[2] / "fhir_profiles").get("crlm-patient-view")
    request = request_from_bundle(bundle, service, b"examples/patient-view-crlm.json")
    request["hookInstance"] = "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea"
    request["context"]["userId"] = "Practitioner/example"
    path = CASES.parents[2] / "examples" / "patient-view-crlm.json"
    path.write_text(json.dumps(request, indent=2) + "\n")


def main() -> None:
    """Write every scenario's bundle.json and the README's example request."""
    for name, patient in scenarios().items():
        folder = CASES / name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "bundle.json").write_text(json.dumps(patient.bundle(), indent=1) + "\n")
    write_example_request()


if __name__ == "__main__":
    main()

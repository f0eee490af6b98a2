"""Prefetch resolution: use what the EHR sent, fetch what it did not, fail with 412 when required.

The policy, per key of the service's prefetch templates (CDS Hooks 2.0 §Prefetch):

* value present (a resource or a Bundle): used as is;
* value ``null``: the EHR says there is no data; used as "no data";
* value an OperationOutcome, or key absent: the EHR could not or did not prefetch it; the service
  fetches it from ``fhirServer`` (with the ``fhirAuthorization`` bearer token when given);
* still unavailable: a *required* key raises :class:`PrefetchUnavailable` (HTTP 412); an optional
  key becomes a data note that the cards show, so the clinician knows the answer may be incomplete.

FHIR reads go through a :class:`Fetcher`, a small protocol that tests replace with a plain function.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from cds_service.errors import PrefetchUnavailable
from cds_service.hooks import FHIR_ID, HookRequest
from cds_service.services import ServiceDefinition, render_template


class FetchError(Exception):
    """A FHIR read failed; the message is safe to log (no token, no patient data)."""


class Fetcher(Protocol):
    """Reads one FHIR search or read URL, following ``next`` links within the deadline."""

    def __call__(self, url: str, token: str | None, deadline: float) -> dict[str, Any]:
        """Return the resource or a searchset Bundle of all pages, or raise :class:`FetchError`."""
        ...


@dataclass(frozen=True, slots=True)
class PrefetchNote:
    """Why a prefetch key could not be used (shown on cards; free of patient data)."""

    key: str
    message: str


@dataclass(frozen=True, slots=True)
class ResolvedPrefetch:
    """The data the decision path will read.

    Attributes:
        documents: Prefetch key -> resource, Bundle or ``None`` (no data).
        notes: Keys that are unavailable and why.
        fetched: Keys that were read from the FHIR server rather than prefetched.
    """

    documents: dict[str, Any]
    notes: tuple[PrefetchNote, ...]
    fetched: tuple[str, ...]


def _is_operation_outcome(value: Any) -> bool:
    return isinstance(value, dict) and value.get("resourceType") == "OperationOutcome"


def resolve_prefetch(
    request: HookRequest,
    service: ServiceDefinition,
    fetch: Fetcher | None,
    *,
    budget_seconds: float,
    clock: Callable[[], float] = time.monotonic,
) -> ResolvedPrefetch:
    """Resolve every prefetch key of ``service`` for ``request`` (see the module docstring)."""
    documents: dict[str, Any] = {}
    missing: dict[str, str] = {}
    for key, template in service.prefetch.items():
        value = request.prefetch.get(key, _ABSENT)
        expected = _expected_type(template)
        if value is _ABSENT:
            missing[key] = "not prefetched"
        elif _is_operation_outcome(value):
            missing[key] = "the EHR reported an error for this prefetch"
        elif value is not None and value.get("resourceType") != expected:
            missing[key] = f"the EHR sent a {_shown_type(value)} where a {expected} was expected"
        else:
            documents[key] = value

    notes: list[PrefetchNote] = []
    fetched: list[str] = []
    deadline = clock() + budget_seconds
    for key, value in list(documents.items()):
        next_url = _next_page(value)
        if next_url is None:
            continue
        completed = _complete_pages(request, value, next_url, fetch, deadline)
        if isinstance(completed, str):
            notes.append(PrefetchNote(key, completed))
        else:
            documents[key] = completed
            fetched.append(key)
    if missing:
        if request.fhir_server is None or fetch is None:
            for key, why in missing.items():
                notes.append(PrefetchNote(key, f"{why}; no FHIR server to fetch it from"))
        else:
            results = _fetch_all(request, service, missing, fetch, deadline)
            for key, outcome in results.items():
                if isinstance(outcome, FetchError):
                    notes.append(PrefetchNote(key, f"{missing[key]}; fetching it failed: {outcome}"))
                else:
                    documents[key] = outcome
                    fetched.append(key)

    if request.fhir_server is not None and fetch is not None:
        medications, unread = _referenced_medications(request, documents, fetch, deadline)
        if medications is not None:
            documents[REFERENCED_MEDICATIONS] = medications
            fetched.append(REFERENCED_MEDICATIONS)
        if unread is not None:
            notes.append(PrefetchNote(REFERENCED_MEDICATIONS, unread))

    unavailable_required = sorted(n.key for n in notes if n.key in service.required_prefetch)
    if unavailable_required:
        raise PrefetchUnavailable(
            "CDS-412-01",
            "required prefetch data is missing and could not be fetched: " + ", ".join(unavailable_required),
            tuple(f"{n.key}: {n.message}" for n in notes if n.key in service.required_prefetch),
        )
    return ResolvedPrefetch(documents=documents, notes=tuple(notes), fetched=tuple(sorted(fetched)))


_ABSENT = object()
REFERENCED_MEDICATIONS = "referencedMedications"
MAX_REFERENCED_MEDICATIONS = 50


def _referenced_medications(
    request: HookRequest, documents: dict[str, Any], fetch: Fetcher, deadline: float
) -> tuple[dict[str, Any] | None, str | None]:
    """Read the Medications that medication records reference but the EHR did not include.

    An order coded as ``medicationReference: Medication/123`` names its drug only in that
    Medication; CDS Hooks 2.0's recommended prefetch queries cannot ``_include`` it, so without this
    read prior oxaliplatin would be unknown. Returns a searchset of what was read and, when some
    could not be read, why (the cards then say the drug history is incomplete).
    """
    present: set[str] = set()
    wanted: dict[str, None] = {}
    for document in documents.values():
        for resource in _resources_of(document):
            if resource.get("resourceType") == "Medication" and isinstance(resource.get("id"), str):
                present.add(resource["id"])
            reference = resource.get("medicationReference")
            target = reference.get("reference") if isinstance(reference, dict) else None
            if isinstance(target, str) and target.startswith("Medication/"):
                medication_id = target.removeprefix("Medication/")
                if FHIR_ID.fullmatch(medication_id):
                    wanted[medication_id] = None
    missing = [m for m in wanted if m not in present]
    if not missing:
        return None, None
    token = request.fhir_authorization.access_token if request.fhir_authorization else None
    read: list[dict[str, Any]] = []
    failures = 0
    for medication_id in missing[:MAX_REFERENCED_MEDICATIONS]:
        try:
            read.append(
                {"resource": fetch(f"{request.fhir_server}/Medication/{medication_id}", token, deadline)}
            )
        except FetchError:
            failures += 1
    failures += max(0, len(missing) - MAX_REFERENCED_MEDICATIONS)
    bundle = {"resourceType": "Bundle", "type": "searchset", "entry": read} if read else None
    why = f"{failures} referenced Medication(s) could not be read from the FHIR server" if failures else None
    return bundle, why


def _resources_of(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict):
        return []
    if document.get("resourceType") != "Bundle":
        return [document]
    return [
        e["resource"]
        for e in document.get("entry") or []
        if isinstance(e, dict) and isinstance(e.get("resource"), dict)
    ]


def _expected_type(template: str) -> str:
    """``Bundle`` for a search template, else the resource type a read template names."""
    return "Bundle" if "?" in template else template.split("/", 1)[0]


def _shown_type(value: dict[str, Any]) -> str:
    resource_type = value.get("resourceType")
    return resource_type[:40] if isinstance(resource_type, str) else "non-FHIR object"


def _next_page(value: Any) -> str | None:
    """The ``next`` link of a prefetched search Bundle, if the EHR sent only its first page."""
    if not isinstance(value, dict) or value.get("resourceType") != "Bundle":
        return None
    for link in value.get("link") or []:
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            url: str = link["url"]
            return url
    return None


def _complete_pages(
    request: HookRequest, first: dict[str, Any], next_url: str, fetch: Fetcher | None, deadline: float
) -> dict[str, Any] | str:
    """The prefetched first page with the remaining pages read from the EHR, or why they could not be.

    CDS Hooks lets the EHR paginate prefetch; a page read as if it were the whole result would hide
    data (a RAS result on page two), so the remaining pages are read from the same FHIR server, and
    when they cannot be the cards say the data is incomplete.
    """
    entries = list(first.get("entry") or [])
    shown = f"the EHR sent one page ({len(entries)} entries) of a longer result"
    base = request.fhir_server
    if base is None or fetch is None:
        return f"{shown}; no FHIR server to read the rest from"
    if not next_url.startswith(base + "/") and not next_url.startswith(base + "?"):
        return f"{shown}; its next page is on another server and was not read"
    token = request.fhir_authorization.access_token if request.fhir_authorization else None
    try:
        rest = fetch(next_url, token, deadline)
    except FetchError as exc:
        return f"{shown}; reading the rest failed: {exc}"
    merged = {k: v for k, v in first.items() if k not in {"entry", "link"}}
    merged["entry"] = entries + list(rest.get("entry") or [])
    return merged


def _fetch_all(
    request: HookRequest,
    service: ServiceDefinition,
    missing: dict[str, str],
    fetch: Fetcher,
    deadline: float,
) -> dict[str, dict[str, Any] | FetchError]:
    """Fetch the missing keys in parallel; each result is a document or the error it raised."""
    base = request.fhir_server
    token = request.fhir_authorization.access_token if request.fhir_authorization else None
    context = request.template_context()
    urls: dict[str, str] = {}
    results: dict[str, dict[str, Any] | FetchError] = {}
    for key in missing:
        try:
            urls[key] = f"{base}/{render_template(service.prefetch[key], context)}"
        except KeyError:
            results[key] = FetchError("its template needs context this hook call did not give")

    def one(key: str) -> tuple[str, dict[str, Any] | FetchError]:
        try:
            return key, fetch(urls[key], token, deadline)
        except FetchError as exc:
            return key, exc

    if urls:
        with ThreadPoolExecutor(max_workers=min(4, len(urls))) as pool:
            results.update(dict(pool.map(one, sorted(urls))))
    return results

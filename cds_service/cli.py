"""The ``cds-service`` command: serve, evaluate offline, manage the database.

``evaluate`` runs exactly the decision path HTTP runs (``DecisionPath.evaluate``), offline: missing
prefetch is never fetched from the network.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from cds_service.config import ConfigError, Settings, load_settings
from cds_service.core import KnowledgeError
from cds_service.errors import CdsError, InvalidRequest
from cds_service.hooks import FHIR_ID, parse_hook_request
from cds_service.services import ServiceDefinition, ServiceDefinitionError
from cds_service.storage import StorageError

CLI_NAMESPACE = uuid.UUID("0b5e2f7c-8d3a-5c4e-9f1a-6e2d4c8b7a90")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cds-service``."""
    parser = argparse.ArgumentParser(prog="cds-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service under gunicorn")
    serve.add_argument("--host", help="interface to bind (default CDS_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind (default CDS_PORT or 8080)")
    serve.add_argument("--workers", type=int, help="gunicorn workers (default CDS_WORKERS or 2)")

    evaluate = commands.add_parser(
        "evaluate", help="evaluate a CDS Hooks request or a FHIR Bundle offline and print the response"
    )
    evaluate.add_argument("file", help="JSON file, or - for standard input")
    evaluate.add_argument(
        "--service", default=None, help="service id (default: the first patient-view service)"
    )
    evaluate.add_argument("--today", type=_date, default=None, help="evaluation date (default: today)")
    evaluate.add_argument("--explain", action="store_true", help="print a readable account instead of JSON")

    commands.add_parser("init-db", help="create or upgrade the database schema")
    export = commands.add_parser("feedback", help="print stored feedback as JSON lines")
    export.add_argument("--service", default=None)
    commands.add_parser("check", help="validate the configuration, rule base and published profiles")
    audit = commands.add_parser("audit", help="print the audit trail of hook calls as JSON lines")
    audit.add_argument("--last", type=_positive, default=None, help="only the last N records")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``cds-service`` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"cds-service: configuration error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "evaluate":
            return _evaluate(settings, args)
        if args.command == "init-db":
            return _init_db(settings)
        if args.command == "feedback":
            return _feedback(settings, args.service)
        if args.command == "audit":
            return _audit(settings, args.last)
        return _check(settings)
    except ServiceDefinitionError as exc:
        print(f"cds-service: invalid service definitions: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(f"cds-service: configuration error: {exc}", file=sys.stderr)
        return 2
    except KnowledgeError as exc:
        print(f"cds-service: invalid rule base: {exc}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"cds-service: database error: {exc}", file=sys.stderr)
        return 2


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from cds_service.server import run_gunicorn

    overrides = {
        k: v for k, v in {"host": args.host, "port": args.port, "workers": args.workers}.items() if v
    }
    return run_gunicorn(settings, **overrides)


def _read_json(file: str) -> Any:
    raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    try:
        return json.loads(raw), raw
    except RecursionError:
        raise InvalidRequest("CDS-400-06", "the input is nested too deeply") from None
    except ValueError:
        raise InvalidRequest("CDS-400-01", "the input is not valid JSON") from None


def request_from_bundle(bundle: dict[str, Any], service: ServiceDefinition, raw: bytes) -> dict[str, Any]:
    """Turn a FHIR Bundle (or single resource) into the hook request an EHR would send.

    The resources are first put in the form a FHIR server stores a transaction in: a resource without
    an id gets the one its ``urn:uuid:`` fullUrl names, and references to fullUrls become
    ``Type/id`` (Synthea's records reference their patient as ``urn:uuid:...``). They are then split
    over the service's prefetch keys by resource type, as an EHR answering the templates would;
    Medication resources go with the medication keys so references resolve.
    """
    try:
        resources = _as_stored(_resources(bundle))
    except RecursionError:
        raise InvalidRequest("CDS-400-06", "the Bundle is nested too deeply") from None
    patients = [(full_url, r) for full_url, r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        raise InvalidRequest("CDS-400-07", f"the Bundle must hold exactly one Patient, found {len(patients)}")
    full_url, patient = patients[0]
    patient_id = patient.get("id") or (full_url or "").rsplit(":", 1)[-1].rsplit("/", 1)[-1]
    if not isinstance(patient_id, str) or not FHIR_ID.fullmatch(patient_id):
        raise InvalidRequest("CDS-400-07", "the Bundle's Patient has no valid id, and its fullUrl names none")
    prefetch: dict[str, Any] = {}
    for key, template in service.prefetch.items():
        resource_type = template.split("?", 1)[0].split("/", 1)[0]
        if "?" not in template:
            matching = [r for _, r in resources if r.get("resourceType") == resource_type]
            prefetch[key] = matching[0] if matching else None
            continue
        wanted = {resource_type}
        if resource_type.startswith("Medication"):
            wanted.add("Medication")
        entries = [
            {"fullUrl": u, "resource": r} if u else {"resource": r}
            for u, r in resources
            if r.get("resourceType") in wanted
        ]
        searchset: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
        if entries:
            searchset["entry"] = entries
        prefetch[key] = searchset
    return {
        "hook": service.hook,
        "hookInstance": str(uuid.uuid5(CLI_NAMESPACE, hashlib.sha256(raw).hexdigest())),
        "context": {"patientId": patient_id, "userId": "Practitioner/cds-service-cli"},
        "prefetch": prefetch,
    }


def _as_stored(resources: list[tuple[str | None, dict[str, Any]]]) -> list[tuple[str | None, dict[str, Any]]]:
    """Give id-less resources their fullUrl's id and rewrite fullUrl references to ``Type/id``."""
    targets: dict[str, str] = {}
    with_ids: list[tuple[str | None, dict[str, Any]]] = []
    for full_url, resource in resources:
        if not isinstance(resource.get("id"), str) and full_url:
            candidate = full_url.rsplit(":", 1)[-1].rsplit("/", 1)[-1]
            if FHIR_ID.fullmatch(candidate):
                resource = {**resource, "id": candidate}
        if full_url and isinstance(resource.get("id"), str) and isinstance(resource.get("resourceType"), str):
            targets[full_url] = f"{resource['resourceType']}/{resource['id']}"
        with_ids.append((full_url, resource))

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: targets.get(v, v) if k == "reference" and isinstance(v, str) else rewrite(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        return value

    if not targets:
        return with_ids
    return [(None if u in targets else u, rewrite(r)) for u, r in with_ids]


def _resources(document: dict[str, Any]) -> list[tuple[str | None, dict[str, Any]]]:
    if document.get("resourceType") != "Bundle":
        return [(None, document)]
    found: list[tuple[str | None, dict[str, Any]]] = []
    for entry in document.get("entry") or []:
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            found.append((full_url, entry["resource"]))
    return found


def _evaluate(settings: Settings, args: argparse.Namespace) -> int:
    from cds_service.app import build_decision_path
    from cds_service.explain import explain

    registry, path = build_decision_path(settings, None)
    try:
        document, raw = _read_json(args.file)
        if not isinstance(document, dict):
            raise InvalidRequest("CDS-400-02", "the input must be a JSON object")
        if args.service:
            service = registry.get(args.service)
        else:
            service = next(s for s in registry.services.values() if s.hook == "patient-view")
        if "resourceType" in document and "hook" not in document:
            document = request_from_bundle(document, service, raw)
        hook_request = parse_hook_request(
            document, expected_hook=service.hook, prefetch_keys=service.prefetch
        )
        today = args.today or date.today()
        base = settings.public_base_url or f"http://{settings.host}:{settings.port}"
        evaluation = path.evaluate(hook_request, service, today=today, base_url=base)
    except CdsError as exc:
        print(json.dumps(exc.to_operation_outcome(), indent=2), file=sys.stderr)
        return 2 if exc.status < 500 else 1
    except OSError as exc:
        print(f"cds-service: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    if args.explain:
        sys.stdout.write(explain(evaluation, today=today))
    else:
        sys.stdout.write(json.dumps(evaluation.response, indent=2, ensure_ascii=False) + "\n")
    return 0


def _init_db(settings: Settings) -> int:
    from cds_service.storage import open_store

    version = open_store(settings.database_url).migrate()
    print(f"database schema at version {version}")
    return 0


def _feedback(settings: Settings, service_id: str | None) -> int:
    from cds_service.storage import open_store

    for row in open_store(settings.database_url).feedback(service_id):
        sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
    return 0


def _audit(settings: Settings, last: int | None) -> int:
    from cds_service.storage import open_store

    for row in open_store(settings.database_url).audit(last):
        sys.stdout.write(json.dumps(row, sort_keys=True) + "\n")
    return 0


def _check(settings: Settings) -> int:
    """Build everything the server builds at start-up, so what passes here starts there."""
    from cds_service.app import build_state

    state = build_state(settings)
    state.store.ping()
    auth = (
        f"{len(state.authenticator.clients)} trusted client(s)"
        if state.authenticator is not None
        else "authentication OFF"
    )
    print(
        f"ok: {len(state.registry.services)} service(s), knowledge base {state.knowledge.version}, "
        f"{auth}, database reachable, profiles in {settings.profiles_dir}"
    )
    return 0

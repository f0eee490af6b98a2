"""The benchmarked application: the production app plus one bench-only route, the floor.

gunicorn serves ``bench.server_app:create_bench_app()`` with the same command and options as the
README's production line, so the floor and the service share one server, its workers, its
before/after-request hooks (request id, headers, CORS, metrics, JSON log line) and the client. The
floor decodes the body exactly as the service does (``cds_service.api.read_json_body``: media type,
JSON decoding, nesting limit) and answers ``{"cards": []}``; it is never registered in production.

Like production (``cds_service.server`` and ``cds_service.wsgi``), the start-up objects are frozen
out of the garbage collector's view once the application is built, before gunicorn forks.
"""

from __future__ import annotations

from flask import Flask, Response

from cds_service import api
from cds_service.app import create_app
from cds_service.config import Settings
from cds_service.server import freeze_startup_objects

FLOOR_PATH = "/bench/floor"


def floor() -> Response:
    """Parse the JSON body and answer no cards: the cost of merely receiving the request."""
    api.read_json_body()
    return api.json_response({"cards": []})


def create_bench_app(settings: Settings | None = None) -> Flask:
    """The production application (settings from ``CDS_*`` by default) with the floor route added."""
    app = create_app(settings)
    app.add_url_rule(FLOOR_PATH, "bench_floor", floor, methods=["POST"])
    freeze_startup_objects()
    return app

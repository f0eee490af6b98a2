"""The WSGI application for a plain gunicorn command line: ``gunicorn cds_service.wsgi:app``.

Settings come from ``CDS_*`` environment variables; start-up objects are frozen out of the garbage
collector's view (see :func:`cds_service.server.freeze_startup_objects`).
"""

from __future__ import annotations

from cds_service.app import create_app
from cds_service.server import freeze_startup_objects

app = create_app()
freeze_startup_objects()

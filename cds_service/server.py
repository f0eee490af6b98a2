"""Running the service under gunicorn from ``cds-service serve``.

The same WSGI application gunicorn gets from ``gunicorn cds_service.wsgi:app``; this module only
embeds gunicorn so one command starts the service with the validated settings.
"""

from __future__ import annotations

import dataclasses
import gc
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from cds_service.config import Settings


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn with its options given in code rather than read from the command line."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        options = {
            "bind": f"{self._settings.host}:{self._settings.port}",
            "workers": self._settings.workers,
            "worker_class": "sync",
            "timeout": 30,
            "graceful_timeout": 10,
            "limit_request_line": 8190,
            "accesslog": None,
            "preload_app": True,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from cds_service.app import create_app

        app = create_app(self._settings)
        freeze_startup_objects()
        return app


def freeze_startup_objects() -> None:
    """Move everything built at start-up (modules, FHIR models, rule base) out of the collector's view.

    Those objects live as long as the process, yet every full garbage collection walked them again:
    on large request bodies that made the collector the main cost (bench/README.md measures p95 on a
    whole Synthea record 53 -> 16 ms). Frozen before gunicorn forks, they also stay shared between
    workers instead of being copied when the collector touches them.
    """
    gc.collect()
    gc.freeze()


def run_gunicorn(settings: Settings, **overrides: Any) -> int:
    """Serve until stopped; returns the process exit status."""
    settings = dataclasses.replace(settings, **overrides)
    _Gunicorn(settings).run()
    return 0

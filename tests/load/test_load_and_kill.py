"""Load on loopback against gunicorn with several workers, and killing workers or the server mid-feedback.

The load test sends a bounded number of authenticated hook calls (ES384 JWTs, unique jti each) from a
small threaded client and reports throughput and latency percentiles; it requires zero errors. The
kill tests post feedback from several threads while a worker (then the whole server) is SIGKILLed,
and prove every item acknowledged with 200 is in the database afterwards.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import statistics
import threading
import time
import uuid
from pathlib import Path

import pytest

from cds_service.storage import open_store
from tests.foundation.test_http import example_request
from tests.load.server import running_service
from tests.security.jwt_support import ISSUER, SERVICE_PATH, bearer, claims, es384_key, jwks, token

REQUESTS = 600
THREADS = 6
WORKERS = 3
KEY = es384_key("load-1")


def _post(base: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, float]:
    host, port = base.removeprefix("http://").split(":")
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", path, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except OSError:
        return 0, time.perf_counter() - started
    finally:
        connection.close()


def test_load_under_gunicorn_with_zero_errors(tmp_path: Path) -> None:
    """600 authenticated hook calls from 6 threads against 3 workers: all 200; figures printed."""
    log = tmp_path / "load.log"
    env = {
        "CDS_AUTH": "on",
        "CDS_TRUSTED_CLIENTS": json.dumps([{"name": "ehr", "issuer": ISSUER, "jwks": jwks(KEY)}]),
        "CDS_AUDIT_KEY": "load-test-audit-key-0123456789abcdef",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/load.sqlite3",
        "CDS_LOG_LEVEL": "WARNING",
    }
    body = json.dumps(example_request()).encode()
    with running_service(env, log, workers=WORKERS) as running:
        aud = running.base
        tokens = [
            bearer(token(KEY, claims(SERVICE_PATH, aud=aud + SERVICE_PATH, exp=int(time.time()) + 600)))
            for _ in range(REQUESTS)
        ]
        results: list[tuple[int, float]] = []
        lock = threading.Lock()

        def worker(share: list[dict[str, str]]) -> None:
            for headers in share:
                outcome = _post(running.base, SERVICE_PATH, body, headers)
                with lock:
                    results.append(outcome)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(tokens[i::THREADS],)) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        with __import__("urllib.request").request.urlopen(running.base + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
    errors = [status for status, _ in results if status != 200]
    latencies = sorted(seconds * 1000 for _, seconds in results)
    figures = {
        "requests": len(results),
        "workers": WORKERS,
        "client_threads": THREADS,
        "requests_per_second": round(len(results) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(latencies[int(0.95 * len(latencies)) - 1], 1),
        "p99_ms": round(latencies[int(0.99 * len(latencies)) - 1], 1),
        "errors": len(errors),
    }
    print(f"load test: {json.dumps(figures)}")
    assert errors == []
    assert len(results) == REQUESTS
    assert (
        f'cds_requests_total{{endpoint="service",service="crlm-patient-view",code="200"}} {REQUESTS}'
        in metrics
    )


@pytest.mark.parametrize("kill", ["one worker", "the whole server"])
def test_acknowledged_feedback_survives_sigkill(tmp_path: Path, kill: str) -> None:
    """Feedback posted while a worker or the server is SIGKILLed: every item answered 200 is stored."""
    database = f"sqlite:///{tmp_path}/kill.sqlite3"
    env = {"CDS_AUTH": "off", "CDS_DATABASE_URL": database, "CDS_LOG_LEVEL": "WARNING"}
    acknowledged: list[str] = []
    attempted: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    path = SERVICE_PATH + "/feedback"

    with running_service(env, tmp_path / "kill.log", workers=WORKERS) as running:

        def poster() -> None:
            while not stop.is_set():
                card = str(uuid.uuid4())
                item = {"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z"}
                with lock:
                    attempted.append(card)
                status, _ = _post(running.base, path, json.dumps({"feedback": [item]}).encode(), {})
                if status == 200:
                    with lock:
                        acknowledged.append(card)

        threads = [threading.Thread(target=poster) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        time.sleep(1.5)
        if kill == "one worker":
            victim = running.worker_pids()[0]
            os.kill(victim, signal.SIGKILL)
            time.sleep(2.0)
            assert victim not in running.worker_pids()
        else:
            os.killpg(running.process.pid, signal.SIGKILL)
            running.process.wait(timeout=10)
            time.sleep(0.5)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)

    stored = {row["card"] for row in open_store(database).feedback()}
    lost = [card for card in acknowledged if card not in stored]
    counts = f"acknowledged {len(acknowledged)}, stored {len(stored)}, lost {len(lost)}"
    print(f"kill {kill}: attempted {len(attempted)}, {counts}")
    assert acknowledged and lost == []
    assert len(acknowledged) < len(attempted) or kill == "one worker"

"""The HTTP side of the benchmark: the server process, a timed keep-alive client, throughput workers.

The client is ``http.client`` (standard library, least overhead) in the benchmark's own process,
never the server's. It asks for keep-alive; gunicorn's sync workers (the production worker class)
close every connection after one response, so each request includes a loopback TCP connect, for the
floor and the service alike.
"""

from __future__ import annotations

import http.client
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.payloads import HOOK_INSTANCE, ROOT

SERVICE_PATH = "/cds-services/crlm-patient-view"
HEADERS = {"Content-Type": "application/json", "Connection": "keep-alive"}
_PLACEHOLDER = HOOK_INSTANCE.encode()


def fresh(body: bytes) -> bytes:
    """``body`` with a new hookInstance, as each real hook call has."""
    return body.replace(_PLACEHOLDER, str(uuid.uuid4()).encode(), 1)


class Client:
    """One keep-alive connection to the server on loopback; re-opened whenever the server closes it."""

    def __init__(self, port: int, timeout: float = 120.0) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def post(self, path: str, body: bytes) -> tuple[int, float, bytes]:
        """``(status, seconds, response body)``; status 0 when the request failed on the wire."""
        started = time.perf_counter()
        try:
            self.connection.request("POST", path, body, HEADERS)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return 0, time.perf_counter() - started, b""
        elapsed = time.perf_counter() - started
        if response.will_close:
            self.connection.close()
        return response.status, elapsed, data

    def get(self, path: str) -> int:
        """Status of a GET (0 when the server is not answering)."""
        try:
            self.connection.request("GET", path)
            response = self.connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return 0
        if response.will_close:
            self.connection.close()
        return response.status

    def close(self) -> None:
        """Close the connection."""
        self.connection.close()


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """The gunicorn process serving the bench application."""

    process: subprocess.Popen[bytes]
    port: int
    startup_seconds: float

    def worker_pids(self) -> list[int]:
        """The gunicorn workers (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return sorted(int(p) for p in children.read_text().split())
        except OSError:
            return []

    def stop(self) -> None:
        """Stop the master (and so its workers): SIGTERM, then SIGKILL after 20 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def memory(pid: int) -> dict[str, float]:
    """Resident memory of a process in MiB: now (``rss``) and its peak (``hwm``)."""
    values: dict[str, float] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                key = "rss" if line.startswith("VmRSS") else "hwm"
                values[key] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return values


def start_server(
    *, workers: int, environment: dict[str, str], log: Path, ready_timeout: float = 60.0
) -> Server:
    """Start gunicorn as the README's production command does and wait for the first ready answer.

    ``startup_seconds`` runs from launching the process to the first 200 from ``/readyz``.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--preload",
        "--chdir",
        str(ROOT),
        "bench.server_app:create_bench_app()",
    ]
    started = time.perf_counter()
    with log.open("ab") as sink:
        process = subprocess.Popen(  # noqa: S603 - this interpreter running gunicorn on our own app
            command, cwd=ROOT, env=environment, stdout=sink, stderr=subprocess.STDOUT
        )
    client = Client(port, timeout=5)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}; see {log}")
            if client.get("/readyz") == 200:
                break
            if time.perf_counter() - started > ready_timeout:
                process.kill()
                raise RuntimeError(f"the server was not ready within {ready_timeout:g} s; see {log}")
            time.sleep(0.01)
    finally:
        client.close()
    server = Server(process, port, time.perf_counter() - started)
    deadline = time.perf_counter() + 10
    while len(server.worker_pids()) < workers and time.perf_counter() < deadline:
        time.sleep(0.01)
    return server


def server_environment(database: Path, max_body_bytes: int | None) -> dict[str, str]:
    """The server's environment: inherited, less any ``CDS_*``, plus the bench's own settings."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CDS_")}
    environment["CDS_AUTH"] = "off"
    environment["CDS_DATABASE_URL"] = f"sqlite:///{database}"
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p
    )
    if max_body_bytes is not None:
        environment["CDS_MAX_BODY_BYTES"] = str(max_body_bytes)
    return environment


def _load_worker(
    port: int, path: str, body: bytes, start_at: float, duration: float
) -> tuple[int, int, list[float], float]:
    """One throughput client: send ``body`` back to back from ``start_at`` for ``duration`` seconds."""
    client = Client(port)
    ok = errors = 0
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    deadline = start_at + duration
    while time.time() < deadline:
        status, seconds, _ = client.post(path, fresh(body))
        if status == 200:
            ok += 1
            latencies.append(seconds)
        else:
            errors += 1
    client.close()
    return ok, errors, latencies, time.time()


def load(
    port: int, path: str, body: bytes, *, clients: int, duration: float
) -> tuple[int, int, list[float], float]:
    """``clients`` processes in parallel for about ``duration`` s: ``(ok, errors, latencies, seconds)``.

    ``seconds`` runs from the common start to the last client's last answer.
    """
    context = multiprocessing.get_context("fork")
    start_at = time.time() + 0.5
    with context.Pool(clients) as pool:
        results = pool.starmap(_load_worker, [(port, path, body, start_at, duration)] * clients)
    ok = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    latencies = [x for r in results for x in r[2]]
    return ok, errors, latencies, max(r[3] for r in results) - start_at

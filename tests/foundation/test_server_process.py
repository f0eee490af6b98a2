"""End-to-end tests against the real server process: `cds-service serve` and the Dockerfile's gunicorn."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import EXAMPLES, REPO, assert_conformant_response, validate

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(command: list[str], env: dict[str, str], port: int) -> Iterator[str]:
    """Start ``command``, wait until /readyz answers, yield the base URL, then stop it."""
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally block below
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        cwd=str(REPO),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise AssertionError(f"server exited early: {log.read().decode()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not become ready within 60 s")
            time.sleep(0.2)
        yield base
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=15)
        except ProcessLookupError:
            process.wait()
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def get_json(url: str) -> Any:
    """GET a JSON document."""
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def post_file(url: str, path: Path) -> Any:
    """POST a JSON file."""
    request = urllib.request.Request(
        url, data=path.read_bytes(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_cds_service_serve_answers_discovery_and_the_example(tmp_path: Path) -> None:
    """`cds-service serve` starts gunicorn; discovery and the shipped example work over real HTTP."""
    port = free_port()
    env = {"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/e2e.sqlite3"}
    command = [str(BIN / "cds-service"), "serve", "--port", str(port), "--workers", "2"]
    with server(command, env, port) as base:
        discovery = get_json(f"{base}/cds-services")
        validate(discovery, "discovery")
        response = post_file(f"{base}/cds-services/crlm-patient-view", EXAMPLES / "patient-view-crlm.json")
        assert_conformant_response(response)
        assert response["cards"]


def test_dockerfile_command_starts_the_app(tmp_path: Path) -> None:
    """The Dockerfile's CMD, with its ENV, starts gunicorn on the configured port with authentication on."""
    dockerfile = (REPO / "Dockerfile").read_text("utf-8")
    cmd_line = next(line for line in dockerfile.splitlines() if line.startswith("CMD "))
    command: list[str] = json.loads(cmd_line.removeprefix("CMD "))
    assert command == ["cds-service", "serve"]
    port = free_port()
    command = [str(BIN / "cds-service"), *command[1:]]
    env_lines = [line.removeprefix("ENV ") for line in dockerfile.splitlines() if line.startswith("ENV ")]
    env = dict(part.split("=", 1) for line in env_lines for part in shlex.split(line))
    env = {k: v for k, v in env.items() if k.startswith("CDS_") and k != "CDS_DATABASE_URL"}
    assert "CDS_AUTH" not in env, "the image must keep authentication on by default"
    assert env["CDS_HOST"] == "0.0.0.0"  # noqa: S104 - the container must listen beyond its own loopback
    env.update(
        {
            "CDS_HOST": "127.0.0.1",
            "CDS_PORT": str(port),
            "CDS_AUTH": "on",
            "CDS_DATABASE_URL": f"sqlite:///{tmp_path}/docker.sqlite3",
            "CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "CDS_AUDIT_KEY": "k" * 40,
            "CDS_TRUSTED_CLIENTS": json.dumps(
                [{"name": "sandbox", "preset": "cds-hooks-sandbox", "demo": True}]
            ),
        }
    )
    with server(command, env, port) as base:
        assert get_json(f"{base}/healthz") == {"status": "ok"}
        with pytest.raises(urllib.error.HTTPError) as refused:
            get_json(f"{base}/cds-services")
        refused.value.close()
        assert refused.value.code == 401, "discovery needs a client JWT in the container's configuration"
        assert get_json(f"{base}/readyz")["status"] == "ready"


def test_chunked_bodies_obey_the_size_limit(tmp_path: Path) -> None:
    """A chunked body (no Content-Length) is read whole when small and refused with 413 when too big."""
    import http.client

    port = free_port()
    env = {"CDS_DATABASE_URL": f"sqlite:///{tmp_path}/chunked.sqlite3", "CDS_MAX_BODY_BYTES": "65536"}
    command = [str(BIN / "cds-service"), "serve", "--port", str(port), "--workers", "1"]
    example = (EXAMPLES / "patient-view-crlm.json").read_bytes()

    def post_chunked(body: bytes) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            pieces = (body[i : i + 4096] for i in range(0, len(body), 4096))
            connection.request(
                "POST",
                "/cds-services/crlm-patient-view",
                body=pieces,
                headers={"Content-Type": "application/json"},
                encode_chunked=True,
            )
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    with server(command, env, port):
        status, body = post_chunked(example)
        assert status == 200 and body["cards"]
        status, body = post_chunked(example + b" " * 200_000)
        assert status == 413, body
        assert body["issue"][0]["diagnostics"].startswith("CDS-413-01")

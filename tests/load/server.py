"""Start the service as a real process (gunicorn via `cds-service serve`) for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO

CDS_SERVICE = str(Path(sys.executable).parent / "cds-service")


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    """A started server: its base URL, master process and log file."""

    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def worker_pids(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    """Wait until /readyz answers 200."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise AssertionError(f"server exited early: {log.read_text('utf-8')[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("server did not become ready in time")
        time.sleep(0.2)


@contextmanager
def running_service(env: dict[str, str], log: Path, *, workers: int = 2) -> Iterator[RunningServer]:
    """Run `cds-service serve` with ``env`` on a free port, logging to ``log``; stop it afterwards."""
    port = free_port()
    env = {"CDS_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", **env}
    command = [CDS_SERVICE, "serve", "--port", str(port), "--workers", str(workers)]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            cwd=str(REPO),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, process, log)
        yield RunningServer(base, process, log)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

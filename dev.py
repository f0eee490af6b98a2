#!/usr/bin/env python3
"""The two Quick start commands: `python3 dev.py serve` and `python3 dev.py test`.

Both work on a fresh machine with only Python 3.11: they create `.venv/` on first use, install the
package with its test extras into it (again only when pyproject.toml changes), then run.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"


def ensure_environment() -> None:
    """Create the virtual environment and install the project into it when needed."""
    if sys.version_info < (3, 11):
        sys.exit("dev.py: Python 3.11 or newer is required")
    if not PYTHON.exists():
        print("dev.py: creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if not stamp.exists():
        print("dev.py: installing the service and its test tools into .venv", flush=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]"], check=True)
        for old in VENV.glob(".installed-*"):
            old.unlink()
        stamp.touch()


def run(*command: str) -> int:
    """Run a command from the project root and return its exit status."""
    print("$ " + " ".join(command), flush=True)
    return subprocess.run(command, cwd=ROOT).returncode


def serve(extra: list[str]) -> int:
    """Start the service on http://127.0.0.1:8080 with the embedded defaults, for local development.

    Client authentication is switched off explicitly (CDS_AUTH=off, unless set otherwise), so the
    README's curl commands work without an EHR's signed token; the service warns about it loudly.
    The explanation app's demo (a stand-in EHR with the example patients at /demo/) is switched on
    the same way (CDS_SMART_DEMO=true); it is off by default everywhere else.
    """
    os.environ.setdefault("CDS_AUTH", "off")
    os.environ.setdefault("CDS_SMART_DEMO", "true")
    return run(str(BIN / "cds-service"), "serve", *extra)


def test(extra: list[str]) -> int:
    """Lint, type-check and run the whole test suite."""
    for step in (
        (str(BIN / "ruff"), "check", "."),
        (str(BIN / "ruff"), "format", "--check", "."),
        (str(BIN / "mypy"),),
    ):
        status = run(*step)
        if status != 0:
            return status
    status = run(str(PYTHON), "-m", "pytest", *extra)
    if status == 5:
        print("dev.py: pytest collected no tests; that is a failure, not a pass", file=sys.stderr)
        return 1
    return status


def main() -> int:
    """Dispatch `serve` or `test`; further arguments go to the underlying command."""
    commands = {"serve": serve, "test": test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print("usage: python3 dev.py serve|test [arguments...]", file=sys.stderr)
        return 2
    ensure_environment()
    return commands[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())

"""A throw-away PostgreSQL server for tests: initdb + pg_ctl on a free port in a temporary directory.

Debian installs the server binaries under /usr/lib/postgresql/<version>/bin, off PATH. PostgreSQL
refuses to run as root, so when the tests run as root (CI) the cluster belongs to an unprivileged
user (``postgres`` when it exists, else ``nobody``) and its commands run through ``runuser``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import require_tool

REASON = "PostgreSQL storage tests need the server (Debian package postgresql)"


def _binary(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return require_tool(candidates[0] if candidates else name, REASON)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a private PostgreSQL cluster; yield a URL of its ``postgres`` database as superuser."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    prefix: list[str] = []
    user = pwd.getpwuid(os.getuid()).pw_name
    if os.getuid() == 0:
        user = next(u for u in ("postgres", "nobody") if _user_exists(u))
        prefix = [require_tool("runuser", "running PostgreSQL as an unprivileged user"), "-u", user, "--"]
    root = Path(tempfile.mkdtemp(prefix="crlm-pg-"))
    os.chmod(root, 0o700)
    if os.getuid() == 0:
        shutil.chown(root, user)
    data, port = root / "data", _free_port()
    try:
        subprocess.run(
            [*prefix, initdb, "-D", str(data), "-U", "crlm", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on"
        subprocess.run(
            [
                *prefix,
                pg_ctl,
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            check=True,
            capture_output=True,
        )
        yield f"postgresql://crlm@127.0.0.1:{port}/postgres"
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(root, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def fresh_database(server_url: str) -> str:
    """Create an empty database on the server and return its URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name

"""``python -m bench.profile``: where a request's time goes, with pyinstrument (the ``bench`` extra).

Runs the bench application in this process (Flask's test client: the same routes, hooks, audit
write and JSON log line as under gunicorn, without the socket) and profiles N service calls of one
payload. Prints the call tree and writes ``bench/results/profile-<payload>.html``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench import payloads
from bench.client import SERVICE_PATH, fresh
from bench.run import RESULTS


def main() -> int:
    """Profile ``--requests`` service calls of ``--payload``."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n")[0])
    parser.add_argument("--payload", default="unfiltered", help="typical, unfiltered or scale-N")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--floor", action="store_true", help="profile the floor endpoint instead")
    parser.add_argument("--synthea", type=Path, default=payloads.DEFAULT_SYNTHEA)
    parser.add_argument("--interval", type=float, default=0.0002, help="sampling interval, seconds")
    args = parser.parse_args()

    from pyinstrument import Profiler

    from bench.server_app import FLOOR_PATH, create_bench_app
    from cds_service.config import load_settings
    from cds_service.services import load_registry

    service = load_registry(load_settings({}).profiles_dir).get("crlm-patient-view")
    record = payloads.synthea_record(args.synthea)
    if args.payload == "typical":
        payload = payloads.typical(service, record)
    elif args.payload == "unfiltered":
        payload = payloads.unfiltered(service, record)
    else:
        payload = payloads.scale(service, record, int(args.payload.removeprefix("scale-")))

    database = Path(tempfile.mkdtemp(prefix="crlm-profile-")) / "profile.sqlite3"
    os.environ.update({"CDS_AUTH": "off", "CDS_DATABASE_URL": f"sqlite:///{database}"})
    os.environ["CDS_MAX_BODY_BYTES"] = str(max(64 * 1024 * 1024, len(payload.body) * 2))
    app = create_bench_app()
    client = app.test_client()
    path = FLOOR_PATH if args.floor else SERVICE_PATH
    headers = {"Content-Type": "application/json"}
    bodies = [fresh(payload.body) for _ in range(args.requests)]
    for body in bodies[:5]:
        response = client.post(path, data=body, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"HTTP {response.status_code}: {response.get_data()[:300]!r}")
    profiler = Profiler(interval=args.interval)
    profiler.start()
    for body in bodies:
        client.post(path, data=body, headers=headers)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    RESULTS.mkdir(parents=True, exist_ok=True)
    target = RESULTS / f"profile-{'floor-' if args.floor else ''}{payload.name}.html"
    target.write_text(profiler.output_html(), "utf-8")
    print(f"written: {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

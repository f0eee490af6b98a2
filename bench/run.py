"""``python -m bench``: the whole benchmark in one run, written as JSON and a Markdown table.

Sections, in order (the in-process ones first, while no server competes for the CPU):

1. core alone: ``decide`` on the facts of the typical request, ``map_patient`` on the unfiltered
   record, and the stages of the decision path for both, in this process;
2. start-up: time from launching gunicorn to the first 200 from ``/readyz``; worker memory;
3. latency: for every payload, floor and service requests interleaved pair by pair (the order
   alternates), in several rounds over all payloads, so machine noise hits both alike;
4. throughput: a bounded number of client processes hammering floor and service for (a) and (b);
5. footprint: worker memory after warm-up, after each round of the scale series, peak; further
   cold starts.

The machine's load average is recorded before each section: the machine may be shared.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bench import client as http
from bench import payloads
from bench.payloads import Payload
from bench.server_app import FLOOR_PATH

RESULTS = payloads.ROOT / "bench" / "results"
TODAY = date(2026, 12, 1)
DEFAULT_BODY_LIMIT = 64 * 1024 * 1024


@dataclass(frozen=True)
class Config:
    """How much to measure; ``smoke`` is the tiny configuration the test suite runs."""

    scale_sizes: tuple[int, ...] = (100, 1000, 5000, 20000)
    rounds: int = 3
    pairs: dict[str, int] = field(
        default_factory=lambda: {
            "typical": 100,
            "unfiltered": 60,
            "scale-100": 40,
            "scale-1000": 20,
            "scale-5000": 8,
            "scale-20000": 3,
        }
    )
    warmup: int = 10
    throughput_seconds: float = 8.0
    clients: int = 4
    workers: int = 2
    decide_iterations: int = 3000
    map_iterations: int = 60
    startups: int = 3

    @classmethod
    def smoke(cls) -> Config:
        """A couple of requests per payload, no 20,000-resource body: proves the command works."""
        return cls(
            scale_sizes=(100, 1000),
            rounds=1,
            pairs={},
            warmup=1,
            throughput_seconds=0.5,
            clients=2,
            decide_iterations=20,
            map_iterations=2,
            startups=1,
        )

    @classmethod
    def quick(cls) -> Config:
        """About a minute: for trying a change, not for the figures in bench/README.md."""
        return cls(
            scale_sizes=(100, 1000, 5000),
            rounds=2,
            pairs={"typical": 40, "unfiltered": 25, "scale-100": 15, "scale-1000": 8, "scale-5000": 3},
            warmup=5,
            throughput_seconds=3.0,
            decide_iterations=1000,
            map_iterations=20,
            startups=1,
        )

    def pairs_for(self, name: str) -> int:
        """Pairs per round for a payload (2 when not configured)."""
        return self.pairs.get(name, 2)


# --------------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float], scale: float = 1000.0) -> dict[str, float]:
    """n, median, p95, p99, min and max of ``values`` (seconds), in ms by default."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(statistics.median(values) * scale, 3),
        "p95": round(percentile(values, 0.95) * scale, 3),
        "p99": round(percentile(values, 0.99) * scale, 3),
        "min": round(min(values) * scale, 3),
        "max": round(max(values) * scale, 3),
    }


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def timed(function: Callable[[], object], iterations: int) -> list[float]:
    """Seconds of each of ``iterations`` calls (after one untimed call)."""
    function()
    times: list[float] = []
    for _ in range(iterations):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return times


# --------------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------------


def in_process(typical: Payload, unfiltered: Payload, config: Config, work: Path) -> dict[str, Any]:
    """The decision core and the mapping alone, each stage of the path, and the whole handler.

    The handler runs in the bench application through Flask's test client (no socket), with its
    log lines sent to ``/dev/null``; the audit write is timed by wrapping the store's ``record_call``.
    """
    import logging

    from bench.server_app import create_bench_app
    from cds_service.api import decode_json, json_nested_deeper_than
    from cds_service.app import STATE_KEY, AppState
    from cds_service.config import load_settings
    from cds_service.core import decide
    from cds_service.fhir_mapping import map_patient
    from cds_service.hooks import parse_hook_request

    settings = load_settings({}, auth=False, database_url=f"sqlite:///{work / 'in-process.sqlite3'}")
    app = create_bench_app(settings)
    for handler in logging.getLogger("cds_service").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the process
    state: AppState = app.extensions[STATE_KEY]
    path, service = state.path, state.registry.get("crlm-patient-view")
    audit_times: list[float] = []
    record_call = state.store.record_call

    def timed_record_call(record: Any) -> None:
        started = time.perf_counter()
        record_call(record)
        audit_times.append(time.perf_counter() - started)

    object.__setattr__(state.store, "record_call", timed_record_call)
    test_client = app.test_client()
    headers = {"Content-Type": "application/json"}

    def measure(payload: Payload, iterations: int) -> tuple[dict[str, list[float]], Any]:
        document = json.loads(payload.body)
        request = parse_hook_request(document, expected_hook=service.hook)
        evaluation = path.evaluate(request, service, today=TODAY, base_url="http://bench")
        documents = list(request.prefetch.values())
        facts, decision = evaluation.facts, evaluation.decision

        def call(endpoint: str) -> None:
            response = test_client.post(endpoint, data=http.fresh(payload.body), headers=headers)
            if response.status_code != 200:
                raise RuntimeError(f"in-process {endpoint}: HTTP {response.status_code}")

        def render() -> object:
            return path.renderer.render(
                decision, facts, hook_instance="h", patient_id=request.patient_id, base_url="http://b"
            )

        stage_times = {
            "json.loads (standard library)": timed(lambda: json.loads(payload.body), iterations),
            "decode_json (the service's decoder)": timed(lambda: decode_json(payload.body), iterations),
            "JSON depth check": timed(lambda: json_nested_deeper_than(payload.body, 64), iterations),
            "parse_hook_request": timed(
                lambda: parse_hook_request(document, expected_hook=service.hook), iterations
            ),
            "map_patient": timed(lambda: map_patient(documents, patient_id=request.patient_id), iterations),
            "decide": timed(
                lambda: decide(facts, path.knowledge, today=TODAY, policy=path.policy), iterations
            ),
            "render cards": timed(render, iterations),
            "json.dumps response": timed(
                lambda: json.dumps(evaluation.response, ensure_ascii=False, separators=(",", ":")),
                iterations,
            ),
            "evaluate (whole path)": timed(
                lambda: path.evaluate(request, service, today=TODAY, base_url="http://bench"), iterations
            ),
            "floor handler (test client)": timed(lambda: call(FLOOR_PATH), iterations),
        }
        audit_times.clear()
        stage_times["service handler (test client)"] = timed(lambda: call(http.SERVICE_PATH), iterations)
        stage_times["of which audit write"] = list(audit_times)
        return stage_times, evaluation

    result: dict[str, Any] = {}
    stages: dict[str, Any] = {}
    for payload, iterations in ((typical, config.map_iterations * 5), (unfiltered, config.map_iterations)):
        stage_times, evaluation = measure(payload, iterations)
        stages[payload.name] = {k: summary(v) for k, v in stage_times.items()}
        if payload is typical:
            facts = evaluation.facts
            result["decide_typical_us"] = summary(
                timed(
                    lambda: decide(facts, path.knowledge, today=TODAY, policy=path.policy),  # noqa: B023
                    config.decide_iterations,
                ),
                scale=1e6,
            )
            result["recommendations_typical"] = len(evaluation.decision.recommendations)
        else:
            result["map_unfiltered_ms"] = summary(stage_times["map_patient"])
    result["stages_ms"] = stages
    return result


def _latency_round(
    server: http.Server, bodies: Sequence[Payload], config: Config, samples: dict[str, dict[str, list[Any]]]
) -> None:
    """One round: for each payload, floor and service interleaved, the order alternating."""
    client = http.Client(server.port)
    for payload in bodies:
        record = samples[payload.name]
        for i in range(config.pairs_for(payload.name)):
            floor_body, service_body = http.fresh(payload.body), http.fresh(payload.body)
            order = ((FLOOR_PATH, floor_body), (http.SERVICE_PATH, service_body))
            pair: dict[str, float] = {}
            for path, body in order if i % 2 == 0 else order[::-1]:
                status, seconds, _ = client.post(path, body)
                kind = "floor" if path == FLOOR_PATH else "service"
                if status != 200:
                    record[f"{kind}_errors"].append(status)
                    continue
                pair[kind] = seconds
            if len(pair) == 2:
                record["floor"].append(pair["floor"])
                record["service"].append(pair["service"])
    client.close()


def _warm_up(server: http.Server, bodies: Sequence[Payload], config: Config) -> dict[str, int]:
    """Send each payload a few times to both endpoints; the number of cards each answer holds."""
    client = http.Client(server.port)
    cards: dict[str, int] = {}
    for payload in bodies:
        count = config.warmup if payload.resources <= 5000 else 1
        for _ in range(count):
            client.post(FLOOR_PATH, http.fresh(payload.body))
            status, _, data = client.post(http.SERVICE_PATH, http.fresh(payload.body))
            if status != 200:
                raise RuntimeError(f"warm-up of {payload.name}: HTTP {status}: {data[:300]!r}")
            cards[payload.name] = len(json.loads(data)["cards"])
    client.close()
    return cards


def _workers_memory(server: http.Server) -> list[dict[str, float]]:
    return [{"pid": pid, **http.memory(pid)} for pid in server.worker_pids()]


def _latency_result(samples: dict[str, list[Any]]) -> dict[str, Any]:
    ratios = [s / f for f, s in zip(samples["floor"], samples["service"], strict=True)]
    floor, service = summary(samples["floor"]), summary(samples["service"])
    return {
        "floor_ms": floor,
        "service_ms": service,
        "ratio_pairs": {
            "p50": round(statistics.median(ratios), 3) if ratios else None,
            "p95": round(percentile(ratios, 0.95), 3) if ratios else None,
        },
        "ratio_of_p50": round(service["p50"] / floor["p50"], 3) if ratios else None,
        "round_service_p50_ms": [round(statistics.median(r) * 1000, 3) for r in samples["rounds"] if r],
        "floor_errors": len(samples["floor_errors"]),
        "service_errors": len(samples["service_errors"]),
        "error_statuses": sorted(set(samples["floor_errors"] + samples["service_errors"])),
    }


def _throughput(server: http.Server, typical: Payload, unfiltered: Payload, config: Config) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for payload in (typical, unfiltered):
        for kind, path in (("floor", FLOOR_PATH), ("service", http.SERVICE_PATH)):
            ok, errors, latencies, seconds = http.load(
                server.port, path, payload.body, clients=config.clients, duration=config.throughput_seconds
            )
            results[f"{payload.name}/{kind}"] = {
                "requests": ok,
                "errors": errors,
                "seconds": round(seconds, 2),
                "rps": round(ok / seconds, 1) if seconds > 0 else None,
                "latency_ms": summary(latencies),
                "load_average": load_average(),
            }
    return results


def _growth(latency: dict[str, Any], sizes: Sequence[int], kind: str) -> list[dict[str, Any]]:
    """Per scale step: time per resource and the local exponent of time vs resources (1 = linear)."""
    steps: list[dict[str, Any]] = []
    previous: tuple[int, float] | None = None
    for size in sizes:
        p50 = latency[f"scale-{size}"][f"{kind}_ms"]["p50"]
        step: dict[str, Any] = {
            "resources": size,
            "p50_ms": p50,
            "us_per_resource": round(p50 * 1000 / size, 2),
        }
        if previous is not None:
            step["exponent"] = round(math.log(p50 / previous[1]) / math.log(size / previous[0]), 3)
        steps.append(step)
        previous = (size, p50)
    return steps


def run(config: Config, synthea: Path, out: Path) -> dict[str, Any]:
    """Run every section and return the result document."""
    from cds_service.config import load_settings
    from cds_service.services import load_registry

    started = time.perf_counter()
    loads: dict[str, list[float]] = {"start": load_average()}
    record = payloads.synthea_record(synthea)
    service = load_registry(load_settings({}).profiles_dir).get("crlm-patient-view")
    typical = payloads.typical(service, record)
    unfiltered = payloads.unfiltered(service, record)
    scale = [payloads.scale(service, record, n) for n in config.scale_sizes]
    bodies = [typical, unfiltered, *scale]
    largest = max(len(p.body) for p in bodies)
    body_limit = None if largest * 1.25 <= DEFAULT_BODY_LIMIT else int(largest * 1.25)

    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="crlm-bench-"))
    loads["in_process"] = load_average()
    core = in_process(typical, unfiltered, config, work)

    environment = http.server_environment(work / "bench.sqlite3", body_limit)
    log = out / "server.log"
    log.write_bytes(b"")
    loads["server"] = load_average()
    server = http.start_server(workers=config.workers, environment=environment, log=log)
    startups = [server.startup_seconds]
    footprint: dict[str, Any] = {"master_after_start": http.memory(server.process.pid)}
    try:
        footprint["workers_after_start"] = _workers_memory(server)
        first = http.Client(server.port)
        status, seconds, _ = first.post(http.SERVICE_PATH, http.fresh(typical.body))
        first.close()
        footprint["first_typical_call_ms"] = round(seconds * 1000, 2) if status == 200 else None
        cards = _warm_up(server, [typical, unfiltered, *scale[:-1]], config)
        footprint["workers_after_warm_up"] = _workers_memory(server)

        loads["latency"] = load_average()
        samples: dict[str, dict[str, list[Any]]] = {
            p.name: {"floor": [], "service": [], "floor_errors": [], "service_errors": [], "rounds": []}
            for p in bodies
        }
        footprint["workers_after_scale_round"] = []
        for _ in range(config.rounds):
            before = {name: len(s["service"]) for name, s in samples.items()}
            _latency_round(server, bodies, config, samples)
            for name, s in samples.items():
                s["rounds"].append(s["service"][before[name] :])
            footprint["workers_after_scale_round"].append(_workers_memory(server))
        latency = {name: _latency_result(s) for name, s in samples.items()}
        cards.setdefault(scale[-1].name, 0)
        loads["throughput"] = load_average()
        throughput = _throughput(server, typical, unfiltered, config)
        footprint["workers_after_throughput"] = _workers_memory(server)
    finally:
        server.stop()
    for _ in range(config.startups - 1):
        extra = http.start_server(workers=config.workers, environment=environment, log=log)
        startups.append(extra.startup_seconds)
        extra.stop()
    loads["end"] = load_average()

    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "commit": _commit(),
        },
        "config": dataclasses.asdict(config),
        "server": {
            "command": "gunicorn --bind 127.0.0.1:PORT --workers "
            f"{config.workers} --preload 'bench.server_app:create_bench_app()'",
            "environment": {
                "CDS_AUTH": "off",
                "CDS_DATABASE_URL": "sqlite:///<temporary directory>/bench.sqlite3",
                **({"CDS_MAX_BODY_BYTES": str(body_limit)} if body_limit else {}),
            },
        },
        "load_average": loads,
        "payloads": {
            p.name: {
                "description": p.description,
                "resources": p.resources,
                "body_bytes": len(p.body),
                "cards": cards.get(p.name),
            }
            for p in bodies
        },
        "in_process": core,
        "latency": latency,
        "scale_growth": {
            "service": _growth(latency, config.scale_sizes, "service"),
            "floor": _growth(latency, config.scale_sizes, "floor"),
        },
        "throughput": throughput,
        "footprint": {**footprint, "startup_seconds": [round(s, 3) for s in startups]},
        "duration_seconds": round(time.perf_counter() - started, 1),
    }


def _commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607 - git of the project's own clone
            cwd=payloads.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=payloads.ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+uncommitted changes" if dirty else "")


# --------------------------------------------------------------------------------------------------
# Targets and Markdown
# --------------------------------------------------------------------------------------------------


def targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured figure and whether it is met."""
    latency = result["latency"]
    found: list[dict[str, Any]] = []

    def add(target: str, figure: str, met: bool | None) -> None:
        found.append({"target": target, "measured": figure, "met": met})

    if "unfiltered" in latency:
        b = latency["unfiltered"]
        add(
            "(b) unfiltered: service p50 <= 1.5x floor",
            f"{b['ratio_pairs']['p50']}x (pairs)",
            b["ratio_pairs"]["p50"] <= 1.5,
        )
        add(
            "(b) unfiltered: service p99 < 100 ms",
            f"{b['service_ms']['p99']} ms",
            b["service_ms"]["p99"] < 100,
        )
    if "typical" in latency:
        a = latency["typical"]
        add(
            "(a) filtered: service p50 <= 3x floor",
            f"{a['ratio_pairs']['p50']}x (pairs)",
            a["ratio_pairs"]["p50"] <= 3,
        )
    growth = result["scale_growth"]["service"]
    exponents = [s["exponent"] for s in growth if "exponent" in s]
    if exponents:
        add(
            "scale: time grows no faster than linearly (exponent <= 1.1 per step)",
            ", ".join(f"{e:g}" for e in exponents),
            max(exponents) <= 1.1,
        )
    largest = max(result["config"]["scale_sizes"])
    big = latency.get(f"scale-{largest}")
    if big is not None:
        errors = big["service_errors"]
        peak = max(
            (w.get("hwm", 0.0) for r in result["footprint"]["workers_after_scale_round"] for w in r),
            default=0.0,
        )
        add(
            f"scale: {largest:,} resources answered without error, bounded memory",
            f"{errors} errors in {big['service_ms']['n'] + errors} calls; worker peak RSS {peak:g} MiB",
            errors == 0,
        )
    decide_p50 = result["in_process"]["decide_typical_us"]["p50"]
    add("decision core alone < 1 ms per patient", f"{decide_p50} µs (p50)", decide_p50 < 1000)
    return found


def _ms(stats: dict[str, float]) -> str:
    return f"{stats['p50']:.2f} / {stats['p95']:.2f} / {stats['p99']:.2f}" if stats.get("n") else "—"


def markdown(result: dict[str, Any]) -> str:
    """The Markdown report of one run."""
    loads = result["load_average"]
    lines = [
        f"Run of {result['when']} on {result['machine']['cpus']} CPUs, Python {result['machine']['python']}, "
        f"commit {result['machine']['commit']}, {result['duration_seconds']} s. Load average (1/5/15 min): "
        + "; ".join(f"{k} {'/'.join(str(x) for x in v)}" for k, v in loads.items())
        + ".",
        "",
        f"Server: `{result['server']['command']}`, "
        + ", ".join(f"`{k}={v}`" for k, v in result["server"]["environment"].items())
        + ". Latency: floor and service interleaved pair by pair, "
        f"{result['config']['rounds']} rounds; times in ms as p50 / p95 / p99; ratio = median of the "
        "per-pair service/floor ratios (ratio of the p50s in brackets).",
        "",
        "| payload | resources | body | cards | floor ms | service ms | service/floor | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, lat in result["latency"].items():
        p = result["payloads"][name]
        lines.append(
            f"| {name} | {p['resources']:,} | {p['body_bytes'] / 1024:,.0f} KiB | {p['cards']} | "
            f"{_ms(lat['floor_ms'])} | {_ms(lat['service_ms'])} | "
            f"{lat['ratio_pairs']['p50']}x ({lat['ratio_of_p50']}x) | "
            f"{lat['floor_errors'] + lat['service_errors']} |"
        )
    lines += [
        "",
        "Scale series, service p50 per resource and the growth exponent from the previous size "
        "(1 = linear; floor in brackets):",
        "",
        "| resources | service µs/resource | exponent |",
        "|---:|---:|---:|",
    ]
    for service, floor in zip(
        result["scale_growth"]["service"], result["scale_growth"]["floor"], strict=True
    ):
        exponent = f"{service['exponent']} ({floor['exponent']})" if "exponent" in service else "—"
        per_resource = f"{service['us_per_resource']} ({floor['us_per_resource']})"
        lines.append(f"| {service['resources']:,} | {per_resource} | {exponent} |")
    config = result["config"]
    lines += [
        "",
        f"Throughput: {config['clients']} concurrent client processes, {config['workers']} sync workers, "
        f"about {config['throughput_seconds']:g} s each:",
        "",
        "| payload / endpoint | requests/s | requests | errors | latency ms p50 / p95 / p99 | load avg |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in result["throughput"].items():
        lines.append(
            f"| {name} | {t['rps']} | {t['requests']} | {t['errors']} | {_ms(t['latency_ms'])} | "
            f"{t['load_average'][0]} |"
        )
    core = result["in_process"]
    lines += [
        "",
        "In process, no HTTP (ms, p50 / p95 / p99); decision core alone on the typical facts: "
        f"{core['decide_typical_us']['p50']} / {core['decide_typical_us']['p95']} / "
        f"{core['decide_typical_us']['p99']} µs:",
        "",
        "| stage | " + " | ".join(core["stages_ms"]) + " |",
        "|---|" + "---:|" * len(core["stages_ms"]),
    ]
    stage_names = next(iter(core["stages_ms"].values())).keys()
    for stage in stage_names:
        lines.append(f"| {stage} | " + " | ".join(_ms(s[stage]) for s in core["stages_ms"].values()) + " |")
    footprint = result["footprint"]

    def rss(workers: list[dict[str, float]]) -> str:
        return ", ".join(f"{w.get('rss', 0):g}" for w in workers) or "—"

    def peak(workers: list[dict[str, float]]) -> str:
        return ", ".join(f"{w.get('hwm', 0):g}" for w in workers) or "—"

    last_round = footprint["workers_after_scale_round"][-1] if footprint["workers_after_scale_round"] else []
    lines += [
        "",
        "Footprint (MiB resident per worker; peak = VmHWM) and start-up (launch to first ready answer):",
        "",
        "| when | workers RSS MiB |",
        "|---|---:|",
        f"| after start | {rss(footprint['workers_after_start'])} |",
        f"| after warm-up | {rss(footprint['workers_after_warm_up'])} |",
    ]
    for i, workers in enumerate(footprint["workers_after_scale_round"], start=1):
        lines.append(f"| after scale series, round {i} | {rss(workers)} |")
    lines += [
        f"| peak during the run | {peak(last_round)} |",
        f"| after throughput | {rss(footprint['workers_after_throughput'])} |",
        f"| master after start | {footprint['master_after_start'].get('rss', 0):g} |",
        "",
        "Start-up seconds: "
        + ", ".join(f"{s:g}" for s in footprint["startup_seconds"])
        + f"; first typical call after start: {footprint.get('first_typical_call_ms')} ms.",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for t in targets(result):
        lines.append(f"| {t['target']} | {t['measured']} | {'yes' if t['met'] else 'NO'} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="a couple of requests per payload (tests)")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions, no 20,000 (trying changes)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="result directory (default bench/results)")
    parser.add_argument(
        "--synthea", type=Path, default=payloads.DEFAULT_SYNTHEA, help="directory of the Synthea CRC bundles"
    )
    args = parser.parse_args(argv)
    if not args.synthea.is_dir():
        print(f"python -m bench: no Synthea bundles at {args.synthea}; pass --synthea DIR", file=sys.stderr)
        return 2
    config = Config.smoke() if args.smoke else Config.quick() if args.quick else Config()
    gc.collect()
    result = run(config, args.synthea, args.out)
    result["targets"] = targets(result)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = markdown(result)
    for name in (f"bench-{stamp}", "latest"):
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n", "utf-8")
        (args.out / f"{name}.md").write_text(text, "utf-8")
    sys.stdout.write(text)
    print(f"\nwritten: {args.out / f'bench-{stamp}.json'} and .md", file=sys.stderr)
    return 0

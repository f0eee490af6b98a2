"""Prometheus metrics: request counts and latency histograms per endpoint and service.

Hand-written, because the service runs as several gunicorn worker processes and a scrape reaches
one of them: the counters live in one shared-memory array created before the workers fork
(``create_app`` runs in the gunicorn master with ``--preload``). Each process writes only to its
own slot, without locks (a worker killed mid-request cannot leave a lock held); a scrape sums all
slots, so counts survive a worker's death. A slot whose owner died is taken over by a new worker,
which keeps adding to it. The cost per request is a few dictionary look-ups and additions.
"""

from __future__ import annotations

import bisect
import multiprocessing
import os
from collections.abc import Sequence
from typing import Any

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CODES = ("200", "204", "400", "401", "404", "405", "412", "413", "415", "500", "503", "other")
ENDPOINTS = ("discovery", "service", "feedback", "health", "metrics", "other")
SLOTS = 64
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Counters for every (endpoint, service) pair, in memory shared by forked workers."""

    def __init__(self, services: Sequence[str]) -> None:
        self._series = [(e, s) for e in ENDPOINTS for s in ("", *services)]
        self._series_index = {key: i for i, key in enumerate(self._series)}
        self._width = len(BUCKETS) + 2 + len(CODES)
        self._slot_size = len(self._series) * self._width
        self._values = multiprocessing.RawArray("d", SLOTS * self._slot_size)
        self._owners = multiprocessing.RawArray("q", SLOTS)
        self._claim_lock = multiprocessing.Lock()
        self._slot: int | None = None
        self._slot_pid = -1
        self._private: list[float] | None = None

    def _base(self) -> tuple[Any, int]:
        """The array and offset this process writes to (its slot, claimed on first use)."""
        pid = os.getpid()
        if self._slot_pid != pid:
            self._slot, self._private, self._slot_pid = self._claim(pid), None, pid
            if self._slot is None:
                self._private = [0.0] * self._slot_size
        if self._private is not None:
            return self._private, 0
        assert self._slot is not None
        return self._values, self._slot * self._slot_size

    def _claim(self, pid: int) -> int | None:
        if not self._claim_lock.acquire(timeout=1.0):
            return None
        try:
            for slot in range(SLOTS):
                owner = self._owners[slot]
                if owner == 0 or owner == pid or not _alive(owner):
                    self._owners[slot] = pid
                    return slot
            return None
        finally:
            self._claim_lock.release()

    def observe(self, endpoint: str, service: str | None, status: int, seconds: float) -> None:
        """Count one request and its duration."""
        index = self._series_index.get((endpoint, service or ""))
        if index is None:
            index = self._series_index[(endpoint if endpoint in ENDPOINTS else "other", "")]
        values, base = self._base()
        offset = base + index * self._width
        values[offset + bisect.bisect_left(BUCKETS, seconds)] += 1
        values[offset + len(BUCKETS) + 1] += seconds
        code = str(status)
        values[offset + len(BUCKETS) + 2 + (CODES.index(code) if code in CODES else len(CODES) - 1)] += 1

    def _totals(self) -> list[float]:
        totals = [0.0] * self._slot_size
        for slot in range(SLOTS):
            if self._owners[slot] == 0:
                continue
            base = slot * self._slot_size
            chunk = self._values[base : base + self._slot_size]
            totals = [a + b for a, b in zip(totals, chunk, strict=True)]
        if self._private is not None:
            totals = [a + b for a, b in zip(totals, self._private, strict=True)]
        return totals

    def exposition(self) -> str:
        """The metrics in the Prometheus text format."""
        totals = self._totals()
        counts = [
            "# HELP cds_requests_total HTTP requests answered, by endpoint, service and status code.",
            "# TYPE cds_requests_total counter",
        ]
        histogram = [
            "# HELP cds_request_duration_seconds Time to answer HTTP requests, by endpoint and service.",
            "# TYPE cds_request_duration_seconds histogram",
        ]
        for index, (endpoint, service) in enumerate(self._series):
            row = totals[index * self._width : (index + 1) * self._width]
            total = sum(row[: len(BUCKETS) + 1])
            if not total:
                continue
            labels = f'endpoint="{endpoint}",service="{service}"'
            for position, code in enumerate(CODES):
                value = row[len(BUCKETS) + 2 + position]
                if value:
                    counts.append(f'cds_requests_total{{{labels},code="{code}"}} {value:.0f}')
            cumulative = 0.0
            for position, bound in enumerate(BUCKETS):
                cumulative += row[position]
                histogram.append(
                    f'cds_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative:.0f}'
                )
            histogram.append(f'cds_request_duration_seconds_bucket{{{labels},le="+Inf"}} {total:.0f}')
            histogram.append(f"cds_request_duration_seconds_sum{{{labels}}} {row[len(BUCKETS) + 1]:.6f}")
            histogram.append(f"cds_request_duration_seconds_count{{{labels}}} {total:.0f}")
        return "\n".join(counts + histogram) + "\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

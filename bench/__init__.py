"""Benchmark of the CDS Hooks service against the bare-HTTP floor (issue 6).

One command, ``python -m bench``, builds the payloads, starts the service under gunicorn on loopback
(with one extra bench-only route, the floor), measures latency, throughput, footprint and the
in-process cost of the mapping and the decision core, and writes ``bench/results/`` (JSON and a
Markdown table). See ``bench/README.md``.
"""

"""The benchmark (benchmarks/run.py) runs end to end at its small size and reports everything.

A smoke test only: figures depend on the machine, so no timing is asserted here (SPEC §12:
throughput and latency are measured by the benchmark, not by timed tests). What is checked:
the command exits 0, the JSON names every scenario with its figures, and every drain ran
each job exactly once. SQLite always; PostgreSQL on the server of this test run
(``DJANGO_JOBS_TEST_DATABASE_URL``), skipped when there is none (or it is MariaDB's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
TEST_URL = "DJANGO_JOBS_TEST_DATABASE_URL"
BENCH_URL = "DJANGO_JOBS_BENCH_DATABASE_URL"
SCENARIOS = {
    "enqueue_one",
    "enqueue_many",
    "drain_1",
    "drain_2",
    "latency",
    "claim_10k",
    "claim_100k",
}
#: The raw psycopg baselines measured next to each scenario on PostgreSQL.
BASELINES = {
    "enqueue_one": {"raw_insert_notify"},
    "enqueue_many": {"raw_unnest"},
    "drain_1": {"raw_claim_1", "raw_claim_100"},
    "drain_2": {"raw_claim_1", "raw_claim_100"},
    "latency": {"raw_listen"},
}


def check_document(document: dict[str, Any], database: str) -> None:
    assert document["database"] == database
    assert document["size"] == "small"
    assert set(document["scenarios"]) == SCENARIOS
    for name in ("drain_1", "drain_2"):
        drained = document["scenarios"][name]["django_jobs"]
        assert drained["exactly_once"] is True
        assert drained["jobs"] == document["sizes"]["drain_jobs"]
    latency = document["scenarios"]["latency"]["django_jobs"]
    assert latency["samples"] == document["sizes"]["latency_jobs"]
    reported = {figure["scenario"] for figure in document["figures"]}
    assert reported == SCENARIOS | {"claim_growth"}
    assert all(figure["value"] > 0 for figure in document["figures"])


def benchmark(database: str, tmp_path: Path, url: str | None = None) -> dict[str, Any]:
    output = tmp_path / f"bench-{database}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_DB_")}
    env.pop(BENCH_URL, None)
    if url is not None:
        env[BENCH_URL] = url
    command = [sys.executable, "benchmarks/run.py", "--size", "small", "--db", database]
    done = subprocess.run(
        [*command, "--json", str(output)],  # --json: leave benchmarks/results/ alone
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "scenario" in done.stdout  # the table was printed
    return json.loads(output.read_text())[database]


def test_benchmark_runs_on_sqlite(tmp_path: Path) -> None:
    check_document(benchmark("sqlite", tmp_path), "sqlite")


@pytest.mark.skipif(
    not os.environ.get(TEST_URL, "").startswith("postgres"),
    reason=f"{TEST_URL} names no PostgreSQL server",
)
def test_benchmark_runs_on_postgres_with_baselines(tmp_path: Path) -> None:
    document = benchmark("postgres", tmp_path, os.environ[TEST_URL])
    check_document(document, "postgres")
    for name, baselines in BASELINES.items():
        assert baselines <= set(document["scenarios"][name])
    for name in ("claim_10k", "claim_100k"):
        assert document["scenarios"][name]["raw_median_ms"] > 0
    assert all(f["baseline"] for f in document["figures"])  # every figure has its ratio

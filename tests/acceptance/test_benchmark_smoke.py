"""The benchmark (benchmarks/run.py) runs end to end at its small size and reports everything.

A smoke test only: figures depend on the machine, so no timing is asserted here (SPEC §12:
throughput and latency are measured by the benchmark, not by timed tests). What is checked:
the command exits 0, the JSON names every scenario with its figures, and every drain ran
each job exactly once. The async and thread run-mode drains need ``@job(run_mode=...)``:
where django_jobs has no run modes they are reported as skipped, with no figures. SQLite
always; PostgreSQL on the server of this test run (``DJANGO_JOBS_TEST_DATABASE_URL``),
skipped when there is none (or it is MariaDB's).
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
#: The run-mode drains: whether each needs run modes (else it is skipped, and says so).
RUN_MODES = {
    "run_mode_async": True,
    "run_mode_thread": True,
    "run_mode_process_await": False,
    "run_mode_process_sleep": False,
}
NO_RUN_MODES = "this version has no run modes"
#: The raw psycopg baselines measured next to each scenario on PostgreSQL.
BASELINES = {
    "enqueue_one": {"raw_insert_notify"},
    "enqueue_many": {"raw_unnest"},
    "drain_1": {"raw_claim_1", "raw_claim_100"},
    "drain_2": {"raw_claim_1", "raw_claim_100"},
    "latency": {"raw_listen"},
}


def check_document(document: dict[str, Any], database: str, stdout: str) -> None:
    assert document["database"] == database
    assert document["size"] == "small"
    assert set(document["scenarios"]) == SCENARIOS | set(RUN_MODES)
    for name in ("drain_1", "drain_2"):
        drained = document["scenarios"][name]["django_jobs"]
        assert drained["exactly_once"] is True
        assert drained["jobs"] == document["sizes"]["drain_jobs"]
    latency = document["scenarios"]["latency"]["django_jobs"]
    assert latency["samples"] == document["sizes"]["latency_jobs"]
    measured = check_run_modes(document, stdout)
    reported = {figure["scenario"] for figure in document["figures"]}
    assert reported == SCENARIOS | {"claim_growth"} | measured
    assert all(figure["value"] > 0 for figure in document["figures"])


def check_run_modes(document: dict[str, Any], stdout: str) -> set[str]:
    """The run-mode drains ran each job once, or (async, thread: no run modes) say skipped."""
    measured = set()
    for name, needs_run_modes in RUN_MODES.items():
        found = document["scenarios"][name]
        if "skipped" in found:
            assert needs_run_modes, f"{name} was skipped: {found['skipped']}"
            assert found["skipped"] == NO_RUN_MODES
            assert f"{name}: skipped: {NO_RUN_MODES}" in stdout
            continue
        drained = found["django_jobs"]
        wanted = "mode_jobs" if needs_run_modes else "mode_process_jobs"
        assert drained["exactly_once"] is True
        assert drained["jobs"] == document["sizes"][wanted]
        assert found["bound"] > 0
        measured.add(name)
    return measured


def benchmark(database: str, tmp_path: Path, url: str | None = None) -> tuple[dict[str, Any], str]:
    """The JSON document of a small run on ``database``, and what the run printed."""
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
    return json.loads(output.read_text())[database], done.stdout


def test_benchmark_runs_on_sqlite(tmp_path: Path) -> None:
    document, stdout = benchmark("sqlite", tmp_path)
    check_document(document, "sqlite", stdout)


@pytest.mark.skipif(
    not os.environ.get(TEST_URL, "").startswith("postgres"),
    reason=f"{TEST_URL} names no PostgreSQL server",
)
def test_benchmark_runs_on_postgres_with_baselines(tmp_path: Path) -> None:
    document, stdout = benchmark("postgres", tmp_path, os.environ[TEST_URL])
    check_document(document, "postgres", stdout)
    for name, baselines in BASELINES.items():
        assert baselines <= set(document["scenarios"][name])
    for name in ("claim_10k", "claim_100k"):
        assert document["scenarios"][name]["raw_median_ms"] > 0
    assert all(f["baseline"] for f in document["figures"])  # every figure has its ratio

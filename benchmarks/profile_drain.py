"""Where a worker process's time goes: a no-op drain under cProfile.

``python benchmarks/profile_drain.py [--db postgres|sqlite] [--jobs N] [--top K] [--out FILE]``
enqueues N no-op jobs (default 20,000) into a fresh migrated database (the benchmark's own:
a throwaway PostgreSQL cluster unless ``DJANGO_JOBS_BENCH_DATABASE_URL`` is set, or an
SQLite file), drains them with one worker loop run in the profiled process itself
(``python -m benchmarks.djbench profile-drain``), checks that every job ran exactly once,
and prints the K functions with the most time of their own and the K with the most time
including their callees. The profile is kept at FILE (default
``benchmarks/results/drain.prof``) for ``python -m pstats`` or snakeviz.

The profiler slows everything down, the Python side more than the database's: read the
shares, not the rate.
"""

from __future__ import annotations

import argparse
import pstats
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repository root on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.run import RESULTS, djbench, fresh, postgres_server, progress, sqlite_files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=RESULTS / "drain.prof")
    options = parser.parse_args(argv)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    opener = postgres_server if options.db == "postgres" else sqlite_files
    with opener() as server:
        progress(f"{server.engine}: migrating the template database")
        server.prepare()
        with fresh(server, "profile_drain") as location:
            progress(f"{server.engine}: draining {options.jobs:,} jobs under the profiler")
            args = ["profile-drain", "--jobs", str(options.jobs), "--out", str(options.out)]
            result = djbench(server, location, *args)
    seconds = result["wall_seconds"]
    print(
        f"{options.jobs:,} jobs in {seconds:.2f} s under the profiler "
        f"({options.jobs / seconds:,.0f} jobs/s), every job once"
    )
    stats = pstats.Stats(str(options.out))
    stats.sort_stats("tottime").print_stats(options.top)
    stats.sort_stats("cumulative").print_stats(options.top)
    print(f"profile: {options.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

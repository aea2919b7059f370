"""Benchmark ``auditlib audit`` end to end on a generated message log.

Generates ROWS messages as Parquet (reused when the folder already holds that many),
runs ``auditlib audit`` on them in a child process and prints wall time, rows per
second and the child's peak resident memory. With ``--profile FILE`` the child runs
under cProfile and writes its statistics to FILE (read them with ``python -m pstats``).

    python benchmarks/bench_audit.py --rows 1000000
"""
from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from auditlib.generate import generate_dataset


def dataset(folder: Path, rows: int, seed: int) -> Path:
    """The generated log in ``folder``, generated only when no log of ``rows`` rows is there yet."""
    path = folder / "messages.parquet"
    if path.is_file() and (folder / "registry" / "agreements.csv").is_file() and pq.ParquetFile(path).metadata.num_rows == rows:
        print(f"reusing {path}")
        return path
    start = time.perf_counter()
    path = generate_dataset(folder, n_messages=rows, seed=seed, fmt="parquet")
    print(f"generated {rows:,} rows in {time.perf_counter() - start:.1f} s -> {path}")
    return path


def run_audit(messages: Path, registry: Path, output: Path, profile: Path | None) -> float:
    """Run the CLI in a child process (so its memory is measured alone); return wall seconds."""
    command = [sys.executable, "-m", "auditlib.cli", "audit", str(messages), "--registry", str(registry), "--output", str(output)]
    if profile:
        command[1:3] = ["-m", "cProfile", "-o", str(profile), "-m", "auditlib.cli"]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def peak_child_mib() -> float:
    """Peak resident set size of the largest finished child (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="messages to audit (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, help="folder for the generated data (default: a folder in the temp dir, kept for reuse)")
    parser.add_argument("--profile", type=Path, help="run the audit under cProfile and write the statistics here")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.gettempdir()) / f"auditlib-bench-{args.rows}-s{args.seed}"
    messages = dataset(folder, args.rows, args.seed)
    wall = run_audit(messages, folder / "registry", folder / "verdicts.parquet", args.profile)
    print(f"rows: {args.rows:,}")
    print(f"wall time: {wall:.1f} s")
    print(f"throughput: {args.rows / wall:,.0f} rows/s")
    print(f"peak memory (audit process): {peak_child_mib():,.0f} MiB")


if __name__ == "__main__":
    main()

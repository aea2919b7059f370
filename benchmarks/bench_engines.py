"""Compare auditlib's engines with a DuckDB SQL peer and with the I/O floor, on generated logs.

For each size it generates (or reuses) a Parquet log, then runs each contender in a child
process: Parquet in, Parquet out, in rounds (A B A B …, ``--rounds``), so that contenders share
the machine's moods. It prints a markdown table of each contender's best wall time, rows/s,
peak memory (the resident memory of the child and all its descendants, summed, sampled every
0.1 s: a Dask run counts its scheduler and workers), and the ratios to the pure-SQL DuckDB peer,
to the DuckDB peer with auditlib's classifier and to the floor.

- floor: pyarrow reads the log and writes it back (same rows, similar width): no audit at all;
- pandas: ``auditlib audit`` as SPEC §6 gives it (in memory);
- pandas batched: ``--batch-rows 500000`` (streamed: memory follows the batch);
- dask: ``--engine dask`` on a local cluster (one worker process per core), partitioned output;
- duckdb: ``benchmarks/duckdb_peer.py`` (auditlib's classification, SQL for SPEC §4);
- duckdb SQL: ``benchmarks/duckdb_peer.py --classify sql`` (classification in SQL too).

    python benchmarks/bench_engines.py --rows 1000000 3000000 [--dir DIR] [--only pandas,duckdb] [--rounds 2]
"""
from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pyarrow.parquet as pq

from bench_audit import dataset

HERE = Path(__file__).resolve().parent


def contenders(messages: Path, registry: Path, out: Path) -> dict[str, list[str]]:
    """Each contender's command line, writing under ``out``."""
    audit = [sys.executable, "-m", "auditlib.cli", "audit", str(messages), "--registry", str(registry), "--no-progress"]
    peer = [sys.executable, str(HERE / "duckdb_peer.py"), str(messages), str(registry)]
    return {
        "floor (read + write Parquet)": [sys.executable, str(Path(__file__)), "--floor", str(messages), str(out / "floor.parquet")],
        "auditlib pandas (in memory)": audit + ["--output", str(out / "pandas.parquet")],
        "auditlib pandas --batch-rows 500000": audit + ["--output", str(out / "batched.parquet"), "--batch-rows", "500000"],
        "auditlib dask (local, 2 workers)": audit + ["--output", str(out / "dask") + "/", "--engine", "dask"],
        "duckdb peer (auditlib classifier)": peer + [str(out / "duckdb.parquet")],
        "duckdb pure-SQL peer": peer + [str(out / "duckdb-sql.parquet"), "--classify", "sql"],
    }


def measure(command: list[str]) -> tuple[float, float]:
    """Run ``command``; its wall seconds and the peak of its process tree's summed resident memory (MiB)."""
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            peak = max(peak, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]))
        except psutil.Error:
            pass
        time.sleep(0.1)
    wall = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"failed ({child.returncode}): {' '.join(command)}\n{child.stderr.read()}")
    return wall, peak / 2**20


def floor(messages: Path, output: Path) -> None:
    """The least any Parquet-to-Parquet audit must do: read the log and write as many rows back."""
    pq.write_table(pq.read_table(messages), output)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "auditlib-bench", help="generated logs, one folder per size, reused")
    parser.add_argument("--only", default="", help="comma-separated words: run the contenders whose name holds one")
    parser.add_argument("--rounds", type=int, default=2, help="runs of every contender, interleaved; the best counts")
    parser.add_argument("--floor", nargs=2, type=Path, metavar=("IN", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        return floor(*args.floor)
    print("| rows | contender | wall s | rows/s | peak MiB | × SQL peer | × DuckDB peer | × floor |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows:
        folder = args.dir / f"{rows}-s{args.seed}"
        with contextlib.redirect_stdout(sys.stderr):  # keep the table whole
            messages = dataset(folder, rows, args.seed)
        out = folder / "out"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        runs = {name: command for name, command in contenders(messages, folder / "registry", out).items()
                if not args.only or any(word in name for word in args.only.split(","))}
        rounds = [{name: measure(command) for name, command in runs.items()} for _ in range(args.rounds)]
        measured = {name: (min(r[name][0] for r in rounds), max(r[name][1] for r in rounds)) for name in runs}
        wall_of = lambda word: next((wall for name, (wall, _) in measured.items() if word in name), None)
        sql, duck, base = wall_of("pure-SQL"), wall_of("auditlib classifier"), wall_of("floor")
        for name, (wall, peak) in measured.items():
            ratio = lambda ref: f"{wall / ref:.2f}" if ref else "–"
            print(f"| {rows:,} | {name} | {wall:.1f} | {rows / wall:,.0f} | {peak:,.0f} | {ratio(sql)} | {ratio(duck)} "
                  f"| {ratio(base)} |", flush=True)
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()

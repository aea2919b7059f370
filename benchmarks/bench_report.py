"""How long reports take against the kernel floor (issue 7). Prints figures; asserts nothing.

* floor: papermill running a notebook with only a parameters cell, on the same kernel
  manager the reports use (kernel start, one cell, shutdown);
* one partner: ``run_reports`` for one sample partner (its report and the overview);
* a whole run: ``run_reports`` for 50 partners with ``--jobs 2`` (the sample registry cloned
  under new ids until it has 50 partners), against 50 × floor / 2 (issue 12: at most 2.0×);
* a no-op re-run of the same 50 partners, nothing changed (issue 12: at most 5 s).

    python benchmarks/bench_report.py [--repeat 3] [--partners 50] [--jobs 2]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm

import auditlib
from auditlib import kernels, report, summarise
from auditlib.registry import REGISTRY_FILES

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def floor(work: Path, repeat: int) -> float:
    empty = work / "empty.ipynb"
    book = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    book.cells = [nbformat.v4.new_code_cell('partner_id = ""', metadata={"tags": ["parameters"]})]
    nbformat.write(book, empty)
    run = lambda: pm.execute_notebook(str(empty), str(work / "empty.out.ipynb"), parameters={"partner_id": "P"},
                                      progress_bar=False, kernel_manager_class=kernels.InterpreterKernelManager)
    return statistics.median(timed(run) for _ in range(repeat))


def one_report(work: Path, verdicts: Path, partner_id: str, repeat: int) -> float:
    """A run for one partner (its report and the overview, two kernels one after the other)."""
    run = lambda: report.run_reports(work / "one", SAMPLE / "registry", verdicts=verdicts, partners=[partner_id], force=True)
    run()  # warm file caches; also checks it works
    return statistics.median(timed(run) for _ in range(repeat))


def cloned(work: Path, verdicts: pd.DataFrame, partners: int) -> tuple[Path, Path, list[str]]:
    """The sample registry and verdicts copied under suffixed ids until there are ``partners`` partners."""
    registry = auditlib.read_registry(SAMPLE / "registry")
    copies = -(-partners // len(registry.partners))
    suffix = lambda column, k: column.where(column.isna(), column + f"-{k}")
    raw = {name: pd.read_csv(SAMPLE / "registry" / name, dtype="str", keep_default_na=False) for name in REGISTRY_FILES}
    folder = work / "registry50"
    folder.mkdir(exist_ok=True)
    ids = {"partners.csv": ["partner_id", "parent_partner_id"], "customers.csv": ["customer_id"], "agreements.csv": ["customer_id", "partner_id"]}
    for name, frame in raw.items():
        pieces = [frame.assign(**{c: frame[c].where(frame[c] == "", frame[c] + f"-{k}") for c in ids[name]}) for k in range(copies)]
        if name != "agreements.csv":  # domains must stay unique across copies
            column = "sender_domains" if name == "partners.csv" else "domains"
            pieces = [p.assign(**{column: p[column].str.replace(".example", f"-{k}.example", regex=False)}) for k, p in enumerate(pieces)]
        pd.concat(pieces).to_csv(folder / name, index=False)
    many = pd.concat([verdicts.assign(customer_id=suffix(verdicts["customer_id"], k),
                                      partner_ids=verdicts["partner_ids"].str.replace(r"(P\d+)", rf"\1-{k}", regex=True))
                      for k in range(copies)], ignore_index=True)
    path = work / "verdicts50.parquet"
    many.to_parquet(path, index=False)
    chosen = pd.read_csv(folder / "partners.csv", dtype="str")["partner_id"].head(partners).tolist()
    return path, folder, chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partners", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        verdicts = auditlib.audit_files([SAMPLE / "messages.csv"], SAMPLE / "registry", evidence=True)
        verdicts_path = work / "verdicts.parquet"
        verdicts.to_parquet(verdicts_path, index=False)
        partner = summarise.partner_table(verdicts, auditlib.read_registry(SAMPLE / "registry"),
                                          summarise.Period.of("", "", verdicts["sent_at"]))["partner_id"].iloc[0]
        kernel_floor = floor(work, args.repeat)
        single = one_report(work, verdicts_path, partner, args.repeat)
        print(f"kernel floor (papermill, empty notebook): {kernel_floor:6.2f} s")
        print(f"one partner + overview ({partner}):       {single:6.2f} s  = {single / kernel_floor:.2f} x floor (two kernels)")
        path, folder, chosen = cloned(work, verdicts, args.partners)
        whole = timed(lambda: report.run_reports(work / "out", folder, verdicts=path, partners=chosen, jobs=args.jobs, force=True))
        bound = len(chosen) * kernel_floor / args.jobs
        print(f"{len(chosen)} partners + overview, --jobs {args.jobs}: {whole:6.2f} s  = {whole / bound:.2f} x "
              f"{len(chosen)} x floor / {args.jobs} ({bound:.1f} s; target 2.0, goal 1.2)")
        again = timed(lambda: report.run_reports(work / "out", folder, verdicts=path, partners=chosen, jobs=args.jobs))
        print(f"no-op re-run, {len(chosen)} partners:        {again:6.2f} s  (target 5 s)")


if __name__ == "__main__":
    main()

"""How the classifier transfers to text unlike what it was trained on.

    python benchmarks/eval_transfer.py [REAL_ITEMS_CSV]

Trains a model on the dev source kinds of tests/eval only (the kinds in
``auditlib.evaluate.TEST_KINDS`` held out), scores the held-out kinds with it, then
scores the shipped model (trained on the whole corpus) on a labelled set of real
Microsoft texts it never saw (default ``../shared/real/texts/items.csv`` when present).
The real set is also scored in two halves split by source file (SHA-256 of
``source_repo:source_path`` without its ``#fragment``, even or odd): corpus writers were
allowed to read the even half to learn its labelling conventions (writing new texts in
their own words); nobody working on the classifier read the odd half, which stays the
held-out figure. Prints figures; asserts nothing. Needs scikit-learn.
"""
from __future__ import annotations

import hashlib
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd

from auditlib.evaluate import TEST_KINDS, evaluate, read_labelled, report
from auditlib.policy import load_policy
from auditlib.io.models import save_model
from auditlib.training import corpus_paths, read_corpus, train

REAL = Path(__file__).resolve().parents[2] / "shared" / "real" / "texts" / "items.csv"


def main(real: Path) -> None:
    policy = load_policy()
    corpus = read_corpus(corpus_paths())
    dev = corpus[~corpus["source_kind"].isin(TEST_KINDS)].reset_index(drop=True)
    model, _ = train(dev, policy, "dev-only")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "dev-only.npz"
        save_model(model, path)
        held_out = evaluate(corpus, replace(policy, model_path=path), split="test")
        print(report(held_out, f"Trained on {len(dev)} dev texts; scored on the {len(held_out.rows)} texts of the "
                               f"held-out source kinds {', '.join(TEST_KINDS)}"))
    if real.is_file():
        labelled, halves = read_labelled(real), source_half(pd.read_csv(real, dtype=str, keep_default_na=False))
        print(report(evaluate(labelled, policy), f"Shipped model on {real.name} (never trained on)"))
        for half, name in ((0, "read by corpus writers"), (1, "read by nobody: held out")):
            rows = labelled[halves.to_numpy() == half].reset_index(drop=True)
            print(report(evaluate(rows, policy), f"Shipped model on the half of {real.name} {name} ({len(rows)} texts)").split("\n\nAccuracy by source kind")[0])


def source_half(items: pd.DataFrame) -> pd.Series:
    """0 or 1 per row of the real set: the parity of the SHA-256 of its source file (``repo:path``, no ``#fragment``)."""
    files = items["source_repo"] + ":" + items["source_path"].str.split("#").str[0]
    return files.map(lambda name: int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REAL)

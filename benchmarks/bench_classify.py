"""Classification cost of templated mail: one million rows whose (subject, body) pairs
repeat, against classifying their distinct pairs alone. Prints figures; asserts nothing.

    python benchmarks/bench_classify.py [ROWS]

The texts are those of tests/eval/labelled.csv, repeated in a fixed random order.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from auditlib.classify import classify, classify_texts
from auditlib.evaluate import read_labelled
from auditlib.policy import load_policy

LABELLED = Path(__file__).resolve().parents[1] / "tests" / "eval" / "labelled.csv"


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main(rows: int) -> None:
    policy = load_policy()
    texts = read_labelled(LABELLED)[["subject", "body"]]
    pick = np.random.default_rng(7).integers(0, len(texts), rows)
    frame = texts.iloc[pick].reset_index(drop=True).assign(source=None, category=None, product=None)
    distinct = timed(lambda: classify_texts(texts["subject"], texts["body"], policy))
    full = timed(lambda: classify(frame, policy))
    print(f"distinct (subject, body) pairs: {len(texts):,} classified in {distinct:.2f} s")
    print(f"{rows:,} rows repeating them:      classified in {full:.2f} s "
          f"({full - distinct:.2f} s over the distinct pairs alone)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)

"""Classification speed: distinct texts per second, and templated mail that repeats them.

    python benchmarks/bench_classify.py [DISTINCT] [ROWS]

DISTINCT distinct (subject, body) pairs are made from the labelled corpus in tests/eval
(a subject with another item's body and a reference number, so no two are alike); ROWS
rows repeat them in a fixed random order. Prints figures; asserts nothing. The issue's
target is 50,000 distinct texts in at most 2 s on a 2-core machine.
"""
from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from auditlib.classify import classify, classify_texts
from auditlib.policy import load_policy

from auditlib.training import corpus_paths, read_corpus


def timed(run) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def distinct_texts(corpus: pd.DataFrame, count: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    subject = corpus["subject"].to_numpy()[rng.integers(0, len(corpus), count)]
    body = corpus["body"].to_numpy()[rng.integers(0, len(corpus), count)]
    return pd.DataFrame({"subject": subject, "body": pd.Series(body) + [f" Ref {i}." for i in range(count)]})


def main(distinct: int, rows: int) -> None:
    policy = load_policy()
    policy.model  # loading the model once per process is not classification
    texts = distinct_texts(read_corpus(corpus_paths()), distinct)
    chars = int(texts["subject"].str.len().sum() + texts["body"].str.len().sum())
    seconds = min(timed(lambda: classify_texts(texts["subject"], texts["body"], policy)) for _ in range(3))
    print(f"{distinct:,} distinct texts ({chars / distinct:.0f} characters each on average): "
          f"{seconds:.2f} s, {seconds / distinct * 1e6:.0f} µs per text (best of 3)")
    pick = np.random.default_rng(11).integers(0, distinct, rows)
    frame = texts.iloc[pick].reset_index(drop=True).assign(source=None, category=None, product=None)
    full = timed(lambda: classify(frame, policy))
    print(f"{rows:,} rows repeating them: {full:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000, int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)

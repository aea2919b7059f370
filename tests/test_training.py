"""How a head is fitted: the blend of logistic regression and complement naive Bayes,
on small matrices whose answer can be worked out by hand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sklearn")
from scipy.sparse import csr_matrix  # noqa: E402  (scikit-learn brings SciPy)

from auditlib.training import BAYES_SHARE, fit_bayes, fit_head, fit_logistic, spread  # noqa: E402

NAMES = ("billing", "outage", "promo", "never")
# features: 0 "invoice", 1 "down", 2 "discount", 3 "please" (in every text)
ROWS = [
    ([0, 3], "billing"), ([0, 3], "billing"), ([0, 1, 3], "billing"),
    ([1, 3], "outage"), ([1, 3], "outage"), ([1, 2, 3], "outage"),
    ([2, 3], "promo"), ([2, 3], "promo"), ([0, 2, 3], "promo"),
]


@pytest.fixture
def data():
    row = np.repeat(np.arange(len(ROWS)), [len(f) for f, _ in ROWS])
    column = np.concatenate([f for f, _ in ROWS])
    x = csr_matrix((np.ones(len(row)), (row, column)), shape=(len(ROWS), 4))
    return x, pd.Series([label for _, label in ROWS])


def test_each_word_pulls_towards_the_label_that_uses_it(data):
    x, labels = data
    weights, bias = fit_head(x, labels, NAMES, 8.0)
    for feature, label in ((0, "billing"), (1, "outage"), (2, "promo")):
        assert weights[feature].argmax() == NAMES.index(label)
    predicted = np.asarray(NAMES)[(x @ weights + bias).argmax(axis=1)]
    assert predicted.tolist() == labels.tolist()


def test_a_label_with_no_example_never_wins(data):
    x, labels = data
    weights, bias = fit_head(x, labels, NAMES, 8.0)
    assert not fit_bayes(x, labels, NAMES)[:, NAMES.index("never")].any()
    scores = np.eye(4) @ weights + bias  # each word alone
    assert (scores.argmax(axis=1) != NAMES.index("never")).all()


def test_a_word_every_label_uses_alike_moves_nothing_in_naive_bayes(data):
    x, labels = data
    bayes = fit_bayes(x, labels, NAMES)
    seen = [NAMES.index(n) for n in ("billing", "outage", "promo")]
    assert np.allclose(bayes[:, seen].sum(axis=1), 0.0)  # centred per feature
    assert np.ptp(bayes[3, seen]) < np.ptp(bayes[0, seen]) / 2  # "please" is in every text


def test_naive_bayes_takes_its_share_of_the_blend(data):
    x, labels = data
    logistic, bias = fit_logistic(x, labels, NAMES, 8.0)
    blended, same_bias = fit_head(x, labels, NAMES, 8.0)
    assert np.array_equal(bias, same_bias)
    assert spread(x, blended - logistic, 0.0) == pytest.approx(BAYES_SHARE * spread(x, logistic, bias))

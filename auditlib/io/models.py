"""The classifier's trained text model as a file: one compressed ``.npz`` of plain arrays."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np

from ..textfeatures import TokenTable
from ..textmodel import Head, TextModel
from .atomic import replacing


def save_model(model: TextModel, path: str | Path) -> None:
    """Write ``model`` as one compressed ``.npz`` (plain arrays, no pickled objects; weights in
    half precision, ample for scores that are sums of a few dozen of them)."""
    arrays = {
        "version": np.array(model.version), "tokens": model.table.tokens.astype(str), "keys": model.keys,
        "names": model.names.astype(str), "cue_keys": model.cue_keys, "cue_group": model.cue_group,
        "groups": np.array(model.groups, dtype=str), "heads": np.array(list(model.heads), dtype=str),
        "reply_prefix": np.array(model.reply_prefix), "whole_words": np.array(model.whole_words, dtype=str),
    }
    for name, head in model.heads.items():
        arrays |= {f"{name}.labels": np.array(head.labels, dtype=str), f"{name}.weights": head.weights.astype(np.float16),
                   f"{name}.bias": head.bias, f"{name}.temperature": np.array(head.temperature)}
    with replacing(path) as staged, open(staged, "wb") as fh:
        np.savez_compressed(fh, **arrays)


@cache
def load_model(path: str | Path) -> TextModel:
    """The model stored at ``path`` (read once per process)."""
    with np.load(path, allow_pickle=False) as data:
        heads = {
            str(name): Head(tuple(data[f"{name}.labels"].tolist()), data[f"{name}.weights"].astype(np.float64),
                            data[f"{name}.bias"], float(data[f"{name}.temperature"]))
            for name in data["heads"].tolist()
        }
        return TextModel(
            version=str(data["version"]), table=TokenTable(data["tokens"].astype(object)), keys=data["keys"],
            names=data["names"].astype(object), cue_keys=data["cue_keys"], cue_group=data["cue_group"],
            groups=tuple(data["groups"].tolist()), heads=heads, reply_prefix=str(data["reply_prefix"]),
            whole_words=tuple(data["whole_words"].tolist()),
        )


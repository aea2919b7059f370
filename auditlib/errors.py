"""The one error a user sees for unusable input: where it is, and what is wrong; and the
warnings about input the run could use but the user should know about."""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Iterator


class InputError(ValueError):
    """Unusable input, located by file, row (1-based data row) and column."""

    def __init__(self, file: str, reason: str, row: int | str | None = None, column: str | None = None):
        self.file, self.reason, self.row, self.column = str(file), reason, row, column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"


class InputWarning(UserWarning):
    """Input that was used but deserves a look: a guessed text encoding, overlapping agreements.

    Readers raise these with :func:`warnings.warn`, so library callers see them as usual; a run
    collects them (:func:`collect_input_warnings`) for its summary and manifest.
    """


@contextmanager
def collect_input_warnings() -> Iterator[list[str]]:
    """The messages of the InputWarnings raised inside the block, in order (filled when it ends);
    other warnings are passed on."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        yield found
    for w in caught:
        if issubclass(w.category, InputWarning):
            found.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class OutputError(InputError):
    """An output auditlib cannot or must not write: a folder where a file goes, an input, a
    read-only or full disk. The command line reports it like unusable input: one line, exit 2."""

"""The one error a user sees for unusable input: where it is, and what is wrong."""
from __future__ import annotations


class InputError(ValueError):
    """Unusable input, located by file, row (1-based data row) and column."""

    def __init__(self, file: str, reason: str, row: int | None = None, column: str | None = None):
        self.file, self.reason, self.row, self.column = str(file), reason, row, column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.reason}"

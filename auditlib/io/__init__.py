"""Every file auditlib writes, and the files it reads back, go through this package.

``atomic``: writes that never leave half a file; ``tables``: verdict tables (CSV, Parquet) in
and out; ``manifest``: what a run read and an account of every row, checked against the file
it describes; ``inputs``: what a report reads; ``names``: safe file names from partner ids;
``lock``: one writer per report folder; ``digests``: SHA-256 of inputs.
"""
from .inputs import Inputs, load_inputs, load_verdicts
from .tables import read_table, write_table

__all__ = ["Inputs", "load_inputs", "load_verdicts", "read_table", "write_table"]

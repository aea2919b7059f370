"""What valid input *is* (SPEC §2), as pandera schemas built from the policy's vocabularies.

Readers call :func:`validate`, which turns pandera's failure report into one
:class:`~auditlib.errors.InputError` naming the first bad file, row and column.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_
import pyarrow.compute as pc

from .errors import InputError
from .policy import Policy

MESSAGE_REQUIRED = ("message_id", "sent_at", "sender_address", "recipient_address", "subject")
MESSAGE_OPTIONAL = ("body", "customer_id", "source", "category", "product", "language", "sender_authenticated")
AUTHENTICATED = ("true", "false")  # sender_authenticated: whether the receiving side verified the From domain
MESSAGE_COLUMNS = MESSAGE_REQUIRED + MESSAGE_OPTIONAL

PARTNER_COLUMNS = ("partner_id", "partner_name", "partner_type", "parent_partner_id", "sender_domains")
CUSTOMER_COLUMNS = ("customer_id", "customer_name", "cloud", "domains")
AGREEMENT_COLUMNS = ("customer_id", "channel", "partner_id", "products", "start_date", "end_date")

VERDICT_COLUMNS = (
    "message_id", "recipient_address", "sent_at", "customer_id", "partner_ids", "sender_address",
    "sender_party", "topic", "product", "verdict", "rule_id", "severity", "reason", "policy_version",
)

# one address: no blanks, square brackets or list separators (a JSON array or "a, b" is not one)
ADDRESS_PATTERN = r"^[^@\s\[\],;]+@[^@\s\[\],;]+$"
_DOMAIN_LIST = r"^\s*[\w.-]+(\s*;\s*[\w.-]+)*\s*;?\s*$"  # \w: internationalised names too


def _text(required: bool = True, nullable: bool = False, **kw) -> pa.Column:
    return pa.Column(str, required=required, nullable=nullable, **kw)


_ASCII_SPACE = r"\t\n\x0b\x0c\r \x1c-\x1f"  # what Python's \s matches among ASCII characters


def arrow_pattern(pattern: str) -> str:
    r"""A Python ``re.match`` pattern as RE2 (Arrow's regex engine) with the same meaning on ASCII
    text: anchored at the start, ``\s``/``\S`` as Python reads them, ``$`` also before a final newline."""
    out, in_class, i = [], False, 0
    while i < len(pattern):
        token = pattern[i:i + 2] if pattern[i] == "\\" else pattern[i]
        if token == r"\s":
            token = _ASCII_SPACE if in_class else f"[{_ASCII_SPACE}]"
        elif token == r"\S" and not in_class:
            token = f"[^{_ASCII_SPACE}]"
        elif token == "$" and not in_class:
            token = r"\n?\z"
        elif token in "[]":
            in_class = token == "["
        out.append(token)
        i += 2 if pattern[i] == "\\" else 1
    return "^(?:" + "".join(out) + ")"


def _matches(pattern: str, error: str | None = None) -> pa.Check:
    """pandera's ``str_matches`` at the cost of a scan: Arrow's regex kernel on ASCII values, and
    Python's ``re`` (the definition) only on the few values that are not ASCII."""
    compiled, fast = re.compile(pattern), arrow_pattern(pattern)

    def check(values: pd.Series) -> pd.Series:
        text = pa_.array(values, type=pa_.large_string(), from_pandas=True)
        ok = pc.fill_null(pc.match_substring_regex(text, fast), True).to_numpy(zero_copy_only=False)
        other = np.flatnonzero(~pc.fill_null(pc.string_is_ascii(text), True).to_numpy(zero_copy_only=False))
        ok[other] = [compiled.match(values.iloc[i]) is not None for i in other]
        return pd.Series(ok, index=values.index)

    return pa.Check(check, name="str_matches", error=error or f"str_matches('{pattern}')")


def _filled(name: str) -> pa.Column:
    return _text(checks=_matches(r"\s*\S", error=f"{name} is empty or blank"))


def _one_of(values, required: bool = False, nullable: bool = True) -> pa.Column:
    return _text(required=required, nullable=nullable, checks=pa.Check.isin(list(values)))


def message_schema(policy: Policy) -> pa.DataFrameSchema:
    """Canonical message log (SPEC §2.1), before times are parsed."""
    return pa.DataFrameSchema(
        {
            "message_id": _filled("message_id"),
            "sent_at": pa.Column(nullable=False),  # text or timestamps; parsed by readers.parse_utc
            "sender_address": _text(checks=_matches(ADDRESS_PATTERN, error="not an e-mail address")),
            "recipient_address": _text(checks=_matches(ADDRESS_PATTERN, error="not an e-mail address")),
            "subject": _text(nullable=True),
            "body": _text(required=False, nullable=True),
            "customer_id": _text(required=False, nullable=True),
            "source": _one_of(policy.sources),
            "category": _one_of(policy.topics + policy.graph_categories),
            "product": _one_of(policy.products + ("unknown",)),
            "language": _text(required=False, nullable=True),
            "sender_authenticated": _one_of(AUTHENTICATED),
        },
        strict=False,
    )


def partner_schema(policy: Policy) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "partner_id": _text(checks=pa.Check.str_length(min_value=1), unique=True),
            "partner_name": _text(nullable=True),
            "partner_type": _one_of(policy.partner_types, required=True, nullable=False),
            "parent_partner_id": _text(nullable=True),
            "sender_domains": _text(nullable=True, checks=_matches(_DOMAIN_LIST)),
        },
        strict=False,
    )


def customer_schema(policy: Policy) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "customer_id": _text(checks=pa.Check.str_length(min_value=1), unique=True),
            "customer_name": _text(nullable=True),
            "cloud": _one_of(policy.clouds, required=True, nullable=False),
            "domains": _text(nullable=True, checks=_matches(_DOMAIN_LIST)),
        },
        strict=False,
    )


def agreement_schema(policy: Policy) -> pa.DataFrameSchema:
    families = "|".join(policy.products)
    return pa.DataFrameSchema(
        {
            "customer_id": _filled("customer_id"),
            "channel": _one_of(policy.channels, required=True, nullable=False),
            "partner_id": _text(nullable=True),
            "products": _text(
                checks=_matches(
                    rf"^\s*(\*|({families})(\s*;\s*({families}))*)\s*;?\s*$",
                    error=f"products must be '*' or ';'-separated families of: {', '.join(policy.products)}",
                )
            ),
            "start_date": _filled("start_date"),
            "end_date": _text(nullable=True),
        },
        strict=False,
    )


def validate(frame: pd.DataFrame, schema: pa.DataFrameSchema, file: str) -> pd.DataFrame:
    """Validate ``frame`` (index = 0-based data row) or raise the first failure as an InputError."""
    try:
        return schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        raise _first_failure(err.failure_cases, file) from None


def _first_failure(cases: pd.DataFrame, file: str) -> InputError:
    missing = cases[cases["check"].astype(str) == "column_in_dataframe"]
    if len(missing):
        names = ", ".join(sorted(missing["failure_case"].astype(str)))
        return InputError(file, f"missing required column(s): {names}")
    cases = cases.assign(_row=pd.to_numeric(cases["index"], errors="coerce")).sort_values("_row", kind="stable")
    repeats = cases["check"].astype(str).str.contains("field_uniqueness")
    # a repeated value is reported where it repeats, not where it first appears
    cases = cases[~(repeats & ~cases.duplicated(["column", "failure_case"]))]
    case = cases.iloc[0]
    row = None if pd.isna(case["_row"]) else int(case["_row"]) + 1
    value, check = case["failure_case"], str(case["check"])
    if check == "not_nullable":
        reason = "a value is required"
    elif "field_uniqueness" in check:
        reason = f"{value!r} appears more than once"
    else:
        reason = f"{value!r} is not valid ({check})"
    return InputError(file, reason, row=row, column=None if pd.isna(case["column"]) else str(case["column"]))

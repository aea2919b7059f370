"""The registry (SPEC §2.2): partners, customers and their agreements over time, validated
(the folder of CSV files is read by :mod:`auditlib.io.registry_files`)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import pandas as pd

from .errors import InputError, InputWarning
from .domains import domain_lists
from .frames import split_list
from .policy import Policy, load_policy
from .schema import (
    AGREEMENT_COLUMNS, CUSTOMER_COLUMNS, PARTNER_COLUMNS,
    agreement_schema, customer_schema, partner_schema, validate,
)

REGISTRY_FILES = ("partners.csv", "customers.csv", "agreements.csv")


@dataclass(frozen=True)
class Registry:
    """Validated registry tables; agreement dates are UTC midnights (``end`` NaT when open)."""

    partners: pd.DataFrame
    customers: pd.DataFrame
    agreements: pd.DataFrame

    @classmethod
    def from_frames(
        cls,
        partners: pd.DataFrame,
        customers: pd.DataFrame,
        agreements: pd.DataFrame,
        policy: Policy | None = None,
        names: tuple[str, str, str] = REGISTRY_FILES,
    ) -> "Registry":
        """Validate three frames of text columns (as in the CSV files) into a Registry."""
        policy = policy or load_policy()
        pfile, cfile, afile = names
        partners = validate(_clean(partners, PARTNER_COLUMNS), partner_schema(policy), pfile)
        customers = validate(_clean(customers, CUSTOMER_COLUMNS), customer_schema(policy), cfile)
        agreements = validate(_clean(agreements, AGREEMENT_COLUMNS), agreement_schema(policy), afile)
        _check_references(partners, customers, agreements, pfile, afile)
        agreements = agreements.assign(
            start=_dates(agreements["start_date"], afile, "start_date"),
            end=_dates(agreements["end_date"], afile, "end_date"),
        )
        late = agreements["end"].notna() & (agreements["end"] <= agreements["start"])
        fail_at(late, afile, "end_date", lambda r: f"end_date {agreements['end_date'].iloc[r]} is not after start_date {agreements['start_date'].iloc[r]}")
        for frame, column, file in ((customers, "domains", cfile), (partners, "sender_domains", pfile)):
            _check_domains_unique(frame, column, file)
        registry = cls(partners, customers, agreements)
        for warning in overlap_warnings(overlapping_csp(registry), afile):
            warnings.warn(InputWarning(warning), stacklevel=2)
        return registry


def overlapping_csp(registry: Registry) -> pd.DataFrame:
    """Pairs of csp agreements of one customer, with different partners, for intersecting product
    families and times: each message then is attributed to both partners (``partner_ids``).

    Columns: ``customer_id, row, other_row`` (1-based rows of agreements.csv), ``partners``,
    ``products`` (shared; ``*`` all), ``start``, ``end`` (when both are in force; NaT open).
    """
    csp = registry.agreements[registry.agreements["channel"] == "csp"]
    csp = csp.assign(row=csp.index + 1, families=split_list(csp["products"]).map(frozenset))
    pairs = csp.merge(csp, on="customer_id", suffixes=("", "_b"))
    start = pairs[["start", "start_b"]].max(axis=1)
    end = pairs[["end", "end_b"]].min(axis=1)  # NaT (open) only when both are open
    pairs = pairs.assign(start=start, end=end)[
        (pairs["row"] < pairs["row_b"]) & (pairs["partner_id"] != pairs["partner_id_b"]) & (end.isna() | (start < end))
    ]
    products = pd.Series([";".join(sorted(_shared(a, b))) for a, b in zip(pairs["families"], pairs["families_b"])],
                         index=pairs.index, dtype="str")
    pairs = pairs.assign(products=products)[products != ""]
    return pd.DataFrame({
        "customer_id": pairs["customer_id"], "row": pairs["row"], "other_row": pairs["row_b"],
        "partners": pairs["partner_id"] + ";" + pairs["partner_id_b"], "products": pairs["products"],
        "start": pairs["start"], "end": pairs["end"],
    }).reset_index(drop=True)


def _shared(a: frozenset, b: frozenset) -> frozenset:
    """The families two agreements' product lists share (``*`` is all of them)."""
    return b if "*" in a else a if "*" in b else a & b


def overlap_warnings(overlaps: pd.DataFrame, file: str) -> list[str]:
    """One line per overlap of :func:`overlapping_csp`."""
    return [
        f"{file}, rows {o.row} and {o.other_row}: customer {o.customer_id} has csp agreements with partners "
        f"{o.partners.replace(';', ' and ')} for {o.products} from {o.start:%Y-%m-%d} to "
        f"{'open' if pd.isna(o.end) else f'{o.end:%Y-%m-%d}'}; its messages then are attributed to both"
        for o in overlaps.itertuples()
    ]


def _clean(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Header names trimmed and lower-cased, cells trimmed, empty cells missing."""
    frame = frame.rename(columns=lambda c: str(c).strip().lower()).reset_index(drop=True)
    text = {c: frame[c].astype("str").str.strip().replace("", pd.NA) for c in frame.columns if c in columns}
    return frame.assign(**text)


def _dates(values: pd.Series, file: str, column: str) -> pd.Series:
    parsed = pd.to_datetime(values, format="%Y-%m-%d", utc=True, errors="coerce")
    fail_at(parsed.isna() & values.notna(), file, column, lambda r: f"{values.iloc[r]!r} is not a date (YYYY-MM-DD)")
    return parsed


def fail_at(bad: pd.Series, file: str, column: str, reason) -> None:
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(file, reason(row), row=row + 1, column=column)


def _check_parents(partners: pd.DataFrame, pfile: str) -> None:
    """SPEC §2.2: only an indirect reseller has a parent, and it is an indirect provider. So no
    partner is its own parent and no chain of parents is a cycle (A's mail would count as B's)."""
    parent, partner = partners["parent_partner_id"], partners["partner_id"]
    fail_at(parent.notna() & ~parent.isin(set(partner)), pfile, "parent_partner_id",
             lambda r: f"unknown partner {parent.iloc[r]!r}")
    fail_at(parent == partner, pfile, "parent_partner_id", lambda r: f"partner {partner.iloc[r]!r} is its own parent")
    grandparent = parent.map(partners.set_index("partner_id")["parent_partner_id"])
    fail_at(parent.notna() & (grandparent == partner), pfile, "parent_partner_id",
             lambda r: f"a cycle: {partner.iloc[r]!r} and {parent.iloc[r]!r} name each other as parent")
    kind = partners["partner_type"]
    fail_at(parent.notna() & (kind != "indirect_reseller"), pfile, "parent_partner_id",
             lambda r: f"a {kind.iloc[r]} partner has no parent (only an indirect_reseller does)")
    parent_kind = parent.map(partners.set_index("partner_id")["partner_type"])
    fail_at(parent.notna() & (parent_kind != "indirect_provider"), pfile, "parent_partner_id",
             lambda r: f"parent {parent.iloc[r]!r} is a {parent_kind.iloc[r]}, not an indirect_provider")


def _check_references(partners, customers, agreements, pfile: str, afile: str) -> None:
    known_partners = set(partners["partner_id"])
    _check_parents(partners, pfile)
    customer = agreements["customer_id"]
    fail_at(~customer.isin(set(customers["customer_id"])), afile, "customer_id",
             lambda r: f"unknown customer {customer.iloc[r]!r}")
    csp = agreements["channel"] == "csp"
    partner = agreements["partner_id"]
    fail_at(csp & partner.isna(), afile, "partner_id", lambda r: "a csp agreement needs its partner of record")
    fail_at(csp & partner.notna() & ~partner.isin(known_partners), afile, "partner_id",
             lambda r: f"unknown partner {partner.iloc[r]!r}")


def _check_domains_unique(frame: pd.DataFrame, column: str, file: str) -> None:
    """A domain owned by two customers (or partners) would make resolution ambiguous."""
    owned = domain_lists(frame[column]).explode().dropna()
    twice = owned[owned.duplicated()]
    if len(twice):
        row = int(twice.index[0])
        raise InputError(file, f"domain {twice.iloc[0]!r} is listed for more than one row", row=row + 1, column=column)

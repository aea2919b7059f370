"""Domain ownership: a listed domain covers itself and its subdomains, nothing else."""
from __future__ import annotations

import pandas as pd

from .frames import per_distinct, split_list


def domain_of(addresses: pd.Series) -> pd.Series:
    """The lower-cased domain after the last ``@`` of each address (computed per distinct address)."""
    return per_distinct(addresses, lambda a: a.str.lower().str.rsplit("@", n=1).str[-1].str.strip().str.rstrip("."))


def owner_of_domain(domains: pd.Series, owners: pd.Series) -> pd.Series:
    """For each domain, the owner of the longest listed domain equal to it or a parent of it.

    ``owners`` maps a listed (lower-case) domain to its owner. Work is per distinct
    domain and per label depth, so ``mail.eu.contoso.com`` tries ``mail.eu.contoso.com``,
    ``eu.contoso.com``, ``contoso.com``, ``com`` in that order; ``contoso.com.evil.example``
    never reaches ``contoso.com``, and ``notcontoso.com`` is not a subdomain of it.
    """
    return per_distinct(domains, lambda distinct: _owners(distinct, owners))


def _owners(distinct: pd.Series, owners: pd.Series) -> pd.Series:
    distinct = distinct.astype("str")
    found = pd.Series(pd.NA, index=distinct, dtype="string")
    candidate = pd.Series(distinct.to_numpy(), index=distinct, dtype="str")
    while len(candidate):
        hit = candidate.map(owners)
        matched = hit.notna()
        found.loc[candidate.index[matched]] = hit[matched].to_numpy()
        candidate = candidate[~matched]
        candidate = candidate[candidate.str.contains(".", regex=False)].str.split(".", n=1).str[1]
    return pd.Series(found.to_numpy(), dtype="string")


def domain_table(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """``;``-separated domain lists of ``frame[column]`` as a Series domain -> ``frame[key]``."""
    pairs = frame.assign(domain=split_list(frame[column]))[[key, "domain"]].explode("domain").dropna()
    return pd.Series(pairs[key].to_numpy(), index=pairs["domain"].to_numpy())

"""Domain ownership: a listed domain covers itself and its subdomains, nothing else."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .frames import arrow_text, per_distinct, split_list


def normal_domain(domain: str) -> str:
    """A domain as compared everywhere: lower case, no trailing dot, an internationalised name
    as its punycode (``bücher.example`` is ``xn--bcher-kva.example``), on both sides of a match."""
    domain = domain.strip().lower().rstrip(".")
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:  # not a valid name (an empty label): matches nothing listed
        return domain


_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() removes from ASCII text


def domain_of(addresses: pd.Series) -> pd.Series:
    """The normalised domain after the last ``@`` of each address (computed per distinct address)."""
    return per_distinct(addresses, _domains_of)


def _domains_of(addresses: pd.Series) -> pd.Series:
    """:func:`normal_domain` of the text after each address's last ``@``, by Arrow kernels for
    plain ASCII; the others (internationalised names, a few) go through ``normal_domain`` itself."""
    parts = pc.split_pattern(arrow_text(addresses), "@", max_splits=1, reverse=True)
    after = pc.take(pc.list_flatten(parts), pc.subtract(parts.offsets[1:], 1))  # the last part: the whole text when no "@"
    ascii_ = pc.string_is_ascii(after).to_numpy(zero_copy_only=False)
    domains = pc.utf8_rtrim(pc.ascii_lower(pc.utf8_trim(after, _SPACE)), ".").to_numpy(zero_copy_only=False)
    domains[~ascii_] = [normal_domain(d) for d in after.filter(pa.array(~ascii_)).to_pylist()]
    return pd.Series(domains, index=addresses.index, dtype="str")


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


def domain_lists(values: pd.Series) -> pd.Series:
    """``;``-separated domain lists as Python lists of normalised domains."""
    return split_list(values).map(lambda domains: [normal_domain(d) for d in domains])


def domain_table(frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """``;``-separated domain lists of ``frame[column]`` as a Series domain -> ``frame[key]``."""
    pairs = frame.assign(domain=domain_lists(frame[column]))[[key, "domain"]].explode("domain").dropna()
    return pd.Series(pairs[key].to_numpy(), index=pairs["domain"].to_numpy())

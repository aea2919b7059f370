"""Resolve each message row: its customer, the agreements in force when it was sent, its sender's party.

Agreements become *periods*: for each customer, the time line is cut at every start
and end date, and each piece records what was in force throughout it. A message then
finds its period with one as-of join (sorted, O(n log n)) instead of testing every
agreement.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .domains import domain_of, domain_table, owner_of_domain
from .policy import Policy
from .frames import split_list
from .registry import Registry

SENDER_PARTIES = ("microsoft", "partner_of_record", "other_partner", "unknown")


def product_bits(policy: Policy) -> dict[str, int]:
    """Each product family's bit in a product mask; ``*`` sets them all, ``unknown`` none."""
    bits = {family: 1 << i for i, family in enumerate(policy.products)}
    return {**bits, "*": sum(bits.values()), "unknown": 0}


def resolve_customers(messages: pd.DataFrame, registry: Registry) -> pd.Series:
    """A filled ``customer_id`` wins; else the customer owning the recipient's domain (or a parent of it)."""
    given = messages["customer_id"].astype("string")
    by_domain = owner_of_domain(
        domain_of(messages["recipient_address"]), domain_table(registry.customers, "customer_id", "domains")
    )
    # coalesced in Arrow: a fillna from a categorical would turn every row into a Python string
    customer = pc.coalesce(*(pa.array(column).cast(pa.large_string()) for column in (given.array, by_domain)))
    return pd.Series(pd.array(customer, dtype="string"), index=messages.index)


def agreement_periods(registry: Registry, policy: Policy) -> pd.DataFrame:
    """One row per customer and period between consecutive agreement dates.

    Columns: ``customer_id, valid_from, valid_to`` (NaT: open), ``partner_ids`` (csp
    partners of record in force, ``;``-joined), ``csp_mask``/``direct_mask`` (product
    bits in force), ``csp_since`` (earliest start of the csp agreements in force).
    """
    bits = product_bits(policy)
    agreements = registry.agreements.assign(
        mask=split_list(registry.agreements["products"]).map(lambda items: int(np.bitwise_or.reduce([bits[i] for i in items] or [0]))),
        is_csp=registry.agreements["channel"] == "csp",
    )
    cuts = pd.concat([
        agreements[["customer_id", "start"]].rename(columns={"start": "valid_from"}),
        agreements.loc[agreements["end"].notna(), ["customer_id", "end"]].rename(columns={"end": "valid_from"}),
    ]).drop_duplicates().sort_values(["customer_id", "valid_from"])
    cuts["valid_to"] = cuts.groupby("customer_id")["valid_from"].shift(-1)
    in_force = cuts.merge(agreements, on="customer_id")
    in_force = in_force[(in_force["start"] <= in_force["valid_from"]) & (in_force["end"].isna() | (in_force["valid_from"] < in_force["end"]))]
    csp, direct = in_force[in_force["is_csp"]], in_force[~in_force["is_csp"]]
    key = ["customer_id", "valid_from"]
    periods = cuts.set_index(key)
    periods["partner_ids"] = csp.groupby(key)["partner_id"].agg(lambda p: ";".join(sorted(set(p))))
    periods["csp_mask"] = csp.groupby(key)["mask"].agg(np.bitwise_or.reduce)
    periods["direct_mask"] = direct.groupby(key)["mask"].agg(np.bitwise_or.reduce)
    periods["csp_since"] = csp.groupby(key)["start"].min()
    periods = periods.reset_index()
    periods[["csp_mask", "direct_mask"]] = periods[["csp_mask", "direct_mask"]].fillna(0).astype("int64")
    periods["period_id"] = np.arange(len(periods))
    return periods


def record_senders(periods: pd.DataFrame, registry: Registry) -> pd.DataFrame:
    """``(period_id, partner_id)`` pairs of partners allowed to speak for the customer: each
    csp partner of record in force and its parent (indirect provider)."""
    record = periods[["period_id", "partner_ids"]].dropna()
    record = record.assign(partner_id=record["partner_ids"].str.split(";")).explode("partner_id")[["period_id", "partner_id"]]
    parents = registry.partners.set_index("partner_id")["parent_partner_id"]
    parent = record.assign(partner_id=record["partner_id"].map(parents)).dropna()
    return pd.concat([record, parent]).drop_duplicates().reset_index(drop=True)


_EPOCH = pd.Timestamp("1900-01-01", tz="UTC")
_TIME_BITS = 33  # seconds since 1900 up to the year 2172


def _period_keys(customer_code: np.ndarray, times: pd.Series) -> np.ndarray:
    """(customer, time) as one sortable int64: the customer's number above the seconds since 1900.

    Agreement dates are whole days, so truncating to seconds never moves a time across one.
    """
    seconds = ((times - _EPOCH) // pd.Timedelta(seconds=1)).to_numpy(dtype="int64")
    return (customer_code.astype("int64") << _TIME_BITS) | np.clip(seconds, 0, (1 << _TIME_BITS) - 1)


def attach_periods(frame: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """Add the period in force at each row's ``sent_at`` for its ``customer_id``.

    One sorted search over the periods' keys (an as-of join, O(n log p)); rows before a
    customer's first agreement, after its last has ended, or without a customer get none.
    """
    customers = pd.Index(periods["customer_id"].unique())
    period_code = customers.get_indexer(periods["customer_id"])
    keys = _period_keys(period_code, periods["valid_from"])
    order = np.argsort(keys, kind="stable")
    code = customers.get_indexer(frame["customer_id"])
    sent = _period_keys(np.maximum(code, 0), frame["sent_at"])
    position = np.searchsorted(keys[order], sent, side="right") - 1
    candidate = order[np.maximum(position, 0)]
    ends = periods["valid_to"].isna().to_numpy()
    until = _period_keys(period_code, periods["valid_to"].fillna(_EPOCH))
    found = (code >= 0) & (position >= 0) & (period_code[candidate] == code) & (ends[candidate] | (sent < until[candidate]))
    columns = ["period_id", "partner_ids", "csp_mask", "direct_mask", "csp_since"]
    # periods are numbered 0..p-1: label -1 (no period) comes back missing
    attached = periods[columns].reindex(np.where(found, candidate, -1)).set_axis(frame.index)
    attached[["csp_mask", "direct_mask"]] = attached[["csp_mask", "direct_mask"]].fillna(0).astype("int64")
    return frame.assign(**{c: attached[c] for c in columns})


def sender_parties(frame: pd.DataFrame, registry: Registry, record: pd.DataFrame, policy: Policy) -> pd.DataFrame:
    """``sender_partner`` (the partner owning the sender's domain) and ``sender_party`` (SENDER_PARTIES).

    Order follows SPEC §4: a partner of record (or its parent) first, then another known
    partner, then Microsoft; anyone else is unknown. A Microsoft From address that failed
    authentication (``sender_authenticated`` false) is not Microsoft: ``spoofed`` marks it.
    """
    domain = domain_of(frame["sender_address"])
    partner = owner_of_domain(domain, domain_table(registry.partners, "partner_id", "sender_domains"))
    claims_microsoft = owner_of_domain(domain, pd.Series("microsoft", index=list(policy.microsoft_domains))).notna()
    failed = frame["sender_authenticated"].eq("false").fillna(False) if "sender_authenticated" in frame else False
    spoofed = claims_microsoft & failed & partner.isna()
    microsoft = claims_microsoft & ~spoofed
    partners = pd.Index(registry.partners["partner_id"])
    of_record = np.isin(_pair_keys(frame["period_id"], partner, partners), _pair_keys(record["period_id"], record["partner_id"], partners))
    party = np.select(
        [of_record & partner.notna().to_numpy(), partner.notna().to_numpy(), microsoft.to_numpy()],
        [SENDER_PARTIES.index(p) for p in ("partner_of_record", "other_partner", "microsoft")],
        default=SENDER_PARTIES.index("unknown"),
    )
    return frame.assign(sender_partner=partner,
                        sender_party=pd.Categorical.from_codes(party, dtype=pd.CategoricalDtype(SENDER_PARTIES)),
                        spoofed=spoofed.to_numpy(dtype=bool))


def _pair_keys(period: pd.Series, partner: pd.Series, partners: pd.Index) -> np.ndarray:
    """(period, partner) as one integer, to test membership with one vectorised ``isin``."""
    return period.fillna(-1).astype("int64").to_numpy() * len(partners) + partners.get_indexer(partner)


def resolve(messages: pd.DataFrame, registry: Registry, policy: Policy) -> pd.DataFrame:
    """Messages with ``customer_id`` resolved, the period in force attached and the sender's party."""
    periods = agreement_periods(registry, policy)
    frame = messages.assign(customer_id=resolve_customers(messages, registry))
    frame = attach_periods(frame, periods)
    return sender_parties(frame, registry, record_senders(periods, registry), policy)

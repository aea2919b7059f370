"""Build the registry folder (SPEC §2.2) from Partner Center API exports, so a partner can
audit from its own data instead of keeping the registry by hand.

Inputs are the JSON the Partner Center REST API returns (a page with ``items``, an array, or
one object; camelCase or PascalCase keys): customers (``id``, ``companyProfile`` with its
``companyName`` and ``domain``) and subscriptions (``offerName``, ``partnerId``,
``creationDate``, ``status``, ``commitmentEndDate``; the customer is the ``customerId`` key or
the one named in the subscription's ``links`` URIs, ``/customers/{id}/subscriptions/...``).

Each subscription is a ``csp`` agreement from its creation date, its offer mapped to a product
family by the policy file's ``partner_center.offer_families``. Its partner of record is the
subscription's ``partnerId`` (an indirect reseller, whose parent is the partner running the
export when that is an indirect provider), else the partner running the export. While its
status is open (``active``, ``pending``) the agreement is open-ended; otherwise it ends at
``commitmentEndDate``, and a subscription without one is left out and reported. Partner
Center knows nothing of a customer's direct agreements (EA, MCA, ...): add them by hand.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from .errors import InputError
from .io.formats.common import format_tables, read_json_items
from .policy import DEFAULT_POLICY_PATH, load_policy
from .registry import REGISTRY_FILES, Registry
from .schema import AGREEMENT_COLUMNS, CUSTOMER_COLUMNS, PARTNER_COLUMNS

SKIPPED_COLUMNS = ("file", "record", "subscription_id", "customer_id", "offer_name", "reason")
_CUSTOMER_IN_URI = r"customers/([^/\"?]+)/"


@dataclass(frozen=True)
class Partner:
    """The partner whose Partner Center exports these are."""

    partner_id: str
    partner_type: str
    partner_name: str = ""
    sender_domains: str = ""  # ';'-separated


@dataclass(frozen=True)
class RegistryBuild:
    """The three registry tables as text (validated), and the subscriptions left out with why."""

    partners: pd.DataFrame
    customers: pd.DataFrame
    agreements: pd.DataFrame
    skipped: pd.DataFrame


# What each kind of export holds: (Partner Center objectType, keys only its objects have, the option taking it)
KINDS = {
    "customers": ("customer", ("companyprofile",), "--customers"),
    "subscriptions": ("subscription", ("offerid", "offername", "commitmentenddate"), "--subscriptions"),
    "reseller relationships": ("partnerrelationship", ("relationshiptype",), "--resellers"),
}


def kind_of(item: dict) -> str | None:
    """Which kind of Partner Center object ``item`` is: its ``attributes.objectType``, else its keys."""
    object_type = str((item.get("attributes") or {}).get("objecttype") or "").lower()
    return next((kind for kind, (name, _, _) in KINDS.items() if name == object_type), None) or next(
        (kind for kind, (_, keys, _) in KINDS.items() if any(key in item for key in keys)), None)


def _objects(files: Iterable[Path], kind: str) -> list[tuple[Path, int, dict]]:
    """(file, 1-based record, object) of every object in the files (a page, an array or one
    object; camelCase or PascalCase; BOM or not), each file checked to be of ``kind``."""
    out = []
    for path in files:
        objects = read_json_items(path)
        found = next((k for k in map(kind_of, objects) if k), None)
        if objects and found != kind:
            what = f"a Partner Center {found} export" if found else "not a Partner Center export (no known objectType or keys)"
            hint = f" (give it with {KINDS[found][2]})" if found else ""
            raise InputError(str(path), f"{what}, not {kind}{hint}")
        out.extend((path, number, obj) for number, obj in enumerate(objects, start=1))
    return out


def customers_frame(files: Iterable[Path], cloud: str) -> pd.DataFrame:
    """customers.csv rows: the customer's tenant id, company name and domain(s)."""
    rows = []
    for path, record, item in _objects(files, "customers"):
        profile = item.get("companyprofile") or {}
        domains = [profile.get("domain"), *(profile.get("domains") or [])]
        rows.append({
            "customer_id": item.get("id") or profile.get("tenantid"),
            "customer_name": profile.get("companyname"),
            "cloud": cloud,
            "domains": ";".join(dict.fromkeys(d.strip().lower() for d in domains if d and d.strip())),
        })
    return pd.DataFrame(rows, columns=list(CUSTOMER_COLUMNS), dtype="str")


def subscriptions_frame(files: Iterable[Path]) -> pd.DataFrame:
    """One row per subscription object, with the file and record it came from."""
    rows = [{
        "file": str(path), "record": record, "subscription_id": item.get("id"),
        "customer_id": item.get("customerid"), "links": json.dumps(item.get("links") or {}),
        "offer_name": item.get("offername"), "partner_id": item.get("partnerid"),
        "creation_date": item.get("creationdate"), "status": item.get("status"),
        "commitment_end": item.get("commitmentenddate"),
    } for path, record, item in _objects(files, "subscriptions")]
    frame = pd.DataFrame(rows, columns=["file", "record", "subscription_id", "customer_id", "links", "offer_name",
                                        "partner_id", "creation_date", "status", "commitment_end"])
    text = frame.drop(columns="record").astype("str").apply(lambda c: c.str.strip().replace("", pd.NA))
    frame = frame[["record"]].join(text)
    linked = frame["links"].str.extract(_CUSTOMER_IN_URI, flags=re.IGNORECASE)[0]
    return frame.assign(customer_id=frame["customer_id"].fillna(linked)).drop(columns="links")


def offer_families(offers: pd.Series, policy_path: Path = DEFAULT_POLICY_PATH) -> pd.Series:
    """Each offer name's product family: the first of the policy's patterns that it matches."""
    rules = format_tables(policy_path)["partner_center"]["offer_families"]
    matches = [offers.str.contains(rule["pattern"], case=False, regex=True, na=False).to_numpy() for rule in rules]
    return pd.Series(np.select(matches, [rule["family"] for rule in rules], default=None), index=offers.index, dtype="str")


def _fail_at(bad: pd.Series, subs: pd.DataFrame, column: str, reason) -> None:
    """Raise for the first subscription where ``bad`` holds, naming its file and record."""
    if bad.any():
        at = subs[bad.to_numpy()].iloc[0]
        raise InputError(at["file"], reason(at), row=int(at["record"]), column=column)


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce").dt.strftime("%Y-%m-%d").astype("str")


def build_registry(
    customer_files: Iterable[Path],
    subscription_files: Iterable[Path],
    partner: Partner,
    cloud: str = "commercial",
    policy_path: Path | None = None,
    reseller_files: Iterable[Path] = (),
) -> RegistryBuild:
    """The registry of ``partner``'s CSP customers from its Partner Center exports, validated
    as :func:`~auditlib.registry.read_registry` would validate the written files. ``reseller_files``
    (reseller-relationship exports) add an indirect provider's resellers, with the provider as parent."""
    policy_path = Path(policy_path or DEFAULT_POLICY_PATH)
    if reseller_files and partner.partner_type != "indirect_provider":
        raise InputError("--resellers", f"indirect resellers belong to an indirect provider, not a {partner.partner_type} partner")
    customers = customers_frame(customer_files, cloud)
    subs = subscriptions_frame(subscription_files)
    _fail_at(subs["customer_id"].isna(), subs, "customerId",
             lambda s: "cannot tell the subscription's customer (no customerId, no /customers/{id}/ link)")
    _fail_at(~subs["customer_id"].isin(set(customers["customer_id"])), subs, "customerId",
             lambda s: f"customer {s['customer_id']!r} is not in the customers export")
    family = offer_families(subs["offer_name"], policy_path)
    unmapped = sorted(set(subs.loc[family.isna(), "offer_name"].fillna("(no offerName)")))
    if unmapped:
        raise InputError(subs.loc[family.isna(), "file"].iloc[0],
                         f"no product family for offer(s) {', '.join(map(repr, unmapped))}: add a pattern to "
                         "[[partner_center.offer_families]] in the policy file")
    start = _dates(subs["creation_date"])
    _fail_at(start.isna(), subs, "creationDate", lambda s: f"{s['creation_date']!r} is not a date")
    is_open = subs["status"].str.lower().isin(format_tables(policy_path)["partner_center"]["open_statuses"])
    end = _dates(subs["commitment_end"])
    reason = pd.Series(pd.NA, index=subs.index, dtype="str")
    reason = reason.mask(~is_open & end.isna(),
                         "status " + subs["status"].fillna("(none)") + " and no commitmentEndDate: when it ended is not known")
    reason = reason.mask(~is_open & (end <= start).fillna(False),
                         "it ended (" + end.fillna("") + ") before a whole day in force (created " + start + ")")
    subs = subs.assign(products=family, start_date=start, end_date=end.where(~is_open, pd.NA), channel="csp",
                       partner_id=subs["partner_id"].fillna(partner.partner_id))
    kept = subs[reason.isna()]
    agreements = (
        kept.groupby(["customer_id", "channel", "partner_id", "start_date", "end_date"], dropna=False)["products"]
        .agg(lambda products: ";".join(sorted(set(products))))
        .reset_index()[list(AGREEMENT_COLUMNS)]
    )
    partners = partners_frame(partner, subs["partner_id"], resellers_frame(reseller_files))
    Registry.from_frames(partners, customers, agreements, policy=load_policy(policy_path),
                         names=tuple(f"{name} (built from the Partner Center exports)" for name in REGISTRY_FILES))
    skipped = subs.assign(reason=reason)[reason.notna()][list(SKIPPED_COLUMNS)]  # assigned first: an empty frame would take the index of the column
    return RegistryBuild(partners, customers, agreements.astype("str"), skipped.reset_index(drop=True))


def resellers_frame(files: Iterable[Path]) -> pd.DataFrame:
    """The indirect resellers of reseller-relationship exports (GET /v1/relationships?
    relationship_type=IsIndirectCloudSolutionProviderOf): partner id (the MPN id subscriptions name
    as ``partnerId``, else the relationship id) and name."""
    rows = [{"partner_id": item.get("mpnid") or item.get("id"), "partner_name": item.get("name")}
            for _, _, item in _objects(files, "reseller relationships")]
    return pd.DataFrame(rows, columns=["partner_id", "partner_name"], dtype="str")


def partners_frame(partner: Partner, partner_ids: pd.Series, resellers: pd.DataFrame) -> pd.DataFrame:
    """partners.csv rows: the exporting partner, and each other partner of record or listed
    reseller (an indirect reseller, under the exporting partner when that is an indirect provider;
    named when a relationship export names it)."""
    parent = partner.partner_id if partner.partner_type == "indirect_provider" else None
    own = {"partner_id": partner.partner_id, "partner_name": partner.partner_name, "partner_type": partner.partner_type,
           "parent_partner_id": None, "sender_domains": partner.sender_domains}
    names = dict(zip(resellers["partner_id"], resellers["partner_name"]))
    ids = sorted((set(partner_ids.dropna()) | set(resellers["partner_id"].dropna())) - {partner.partner_id})
    rows = [own, *({"partner_id": r, "partner_name": names.get(r), "partner_type": "indirect_reseller",
                    "parent_partner_id": parent} for r in ids)]
    return pd.DataFrame(rows, columns=list(PARTNER_COLUMNS), dtype="str").replace("", pd.NA)

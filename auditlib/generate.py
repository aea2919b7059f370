"""Synthetic registries and message logs: deterministic, auditable, big enough to benchmark.

Real CSP mail is confidential, so tests, demos and benchmarks run on generated data.
The registry's agreement histories exercise every branch of SPEC §4 (direct → CSP
moves, partner changes, dual relationships, customers without CSP) and the message log
is drawn from it chunk by chunk, so ten million rows stream to Parquet in bounded
memory. Every choice is a vectorised draw from a numpy Generator seeded by ``seed``;
the only Python loops run over registry rows and over the distinct texts of a chunk.
Names, addresses and mail templates are data, in ``generate_templates.toml``.
"""
from __future__ import annotations

import tomllib
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from tqdm.auto import tqdm

from .io.atomic import folder
from .io.registry_files import write_registry
from .io.tables import arrow_chunks
from .policy import load_policy
from .schema import AGREEMENT_COLUMNS, CUSTOMER_COLUMNS, MESSAGE_COLUMNS, PARTNER_COLUMNS

DATA_PATH = Path(__file__).with_name("generate_templates.toml")
CSV_MAX_ROWS = 100_000  # fmt=None writes CSV up to this many rows, Parquet beyond
WINDOW = (np.datetime64("2024-01-01T00:00:00", "s"), np.datetime64("2026-01-01T00:00:00", "s"))
TOPICS = ("subscription", "operational", "marketing", "unknown")
LANGS = ("en", "zh-CN")
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")

# Who sends each message, and what each kind of sender writes about.
SENDER_KINDS = ("microsoft", "partner_of_record", "other_partner", "unrelated", "lookalike")
SENDER_MIX = (0.50, 0.22, 0.08, 0.16, 0.04)
SENDER_POOL = np.array([0, 2, 2, 2, 1])  # template pool of each kind: all, Microsoft's e-mail, "any"
TOPIC_MIX = {  # per sender kind, shares of TOPICS
    "microsoft": (0.20, 0.48, 0.20, 0.12),
    "partner_of_record": (0.45, 0.20, 0.20, 0.15),
    "other_partner": (0.30, 0.15, 0.40, 0.15),
    "unrelated": (0.30, 0.20, 0.35, 0.15),
    "lookalike": (0.65, 0.35, 0.0, 0.0),
}
RECIPIENTS_PER_MESSAGE = ((1, 2, 3), (0.85, 0.10, 0.05))
TIME_ZONES = (("Z", 0, 0.70), ("+08:00", 8, 0.10), ("-05:00", -5, 0.10), ("", 0, 0.10))  # suffix, hours, share
SHARE = {
    "zh": 0.25,                   # messages in Simplified Chinese
    "unknown_recipient": 0.06,    # recipients at a domain no customer owns
    "recipient_subdomain": 0.10,  # recipients at a subdomain of their customer's domain
    "sender_subdomain": 0.25,     # partner senders at a subdomain of their domain
    "parent_sends": 0.30,         # mail of a reseller's customer sent by its indirect provider
    "customer_id": 0.12,          # rows with customer_id filled
    "product": 0.10,              # rows with product filled
    "category": 0.08,             # email rows with category filled with their topic
    "no_language": 0.05,          # rows without a language tag
}
EMAIL_SOURCES = ((None, "email", "portal"), (0.17, 0.80, 0.03))

# Customers' agreement histories (SPEC §2.2), and how common each is.
SCENARIOS = {
    "csp": 0.26, "direct_to_csp": 0.14, "partner_change": 0.12, "dual_split": 0.14, "dual_star": 0.06,
    "csp_to_direct": 0.05, "late_csp": 0.05, "direct_only": 0.12, "no_agreements": 0.06,
}
DIRECT_CHANNELS = ("ea", "mca", "mosp", "open", "advisor")
MAX_CUSTOMERS = 2000


@dataclass(frozen=True)
class Ragged:
    """One list of values per key, stored flat so a draw for many keys is one vectorised step."""

    values: np.ndarray
    starts: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, lists: Sequence[Sequence]) -> "Ragged":
        counts = np.array([len(items) for items in lists], dtype=np.int64)
        flat = [item for items in lists for item in items]
        return cls(np.array(flat, dtype=object if flat and isinstance(flat[0], str) else np.int64),
                   np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)

    def pick(self, rng: np.random.Generator, keys: np.ndarray) -> np.ndarray:
        """A uniformly drawn value from each key's list (every key given must have one)."""
        offset = (rng.random(len(keys)) * self.counts[keys]).astype(np.int64)
        return self.values[self.starts[keys] + offset]


@cache
def generator_data() -> dict:
    """The names, addresses, product names and templates in ``generate_templates.toml``."""
    with DATA_PATH.open("rb") as fh:
        return tomllib.load(fh)


def generate_dataset(
    out_dir: str | Path, n_messages: int = 3000, seed: int = 7, fmt: str | None = None, chunk_rows: int = 500_000
) -> Path:
    """Write ``OUT/registry/*.csv`` and ``OUT/messages.csv|.parquet``; return the messages path.

    The same arguments give byte-identical files. ``fmt`` None means CSV up to
    100,000 rows, else Parquet; rows are generated and written ``chunk_rows`` at a time.
    """
    fmt = fmt or ("csv" if n_messages <= CSV_MAX_ROWS else "parquet")
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', not {fmt!r}")
    out_dir = Path(out_dir)
    world = build_world(int(np.clip(n_messages // 60, 40, MAX_CUSTOMERS)), np.random.default_rng([seed, 0]))
    write_registry(world, folder(out_dir / "registry"), overwrite=True)
    path = out_dir / f"messages.{fmt}"
    first_message = 0
    with arrow_chunks(path, pa.schema([(c, pa.string()) for c in MESSAGE_COLUMNS])) as write, \
            tqdm(total=n_messages, unit="rows", unit_scale=True, desc="generate") as bar:
        for number, start in enumerate(range(0, n_messages, chunk_rows)):
            rows = min(chunk_rows, n_messages - start)
            table, first_message = message_chunk(world, rows, first_message, seed, np.random.default_rng([seed, 1, number]))
            write(table)
            bar.update(rows)
    return path


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class World:
    """The registry tables (SPEC §2.2 columns) and the lookup arrays messages are drawn from."""

    partners: pd.DataFrame
    customers: pd.DataFrame
    agreements: pd.DataFrame
    customer_weight: np.ndarray   # share of mail each customer receives
    customer_gov: np.ndarray      # bool: usgov cloud
    customer_domains: Ragged      # per customer
    partner_parent: np.ndarray    # index of the parent partner, -1 for none
    partner_domains: Ragged       # per partner
    csp: pd.DataFrame             # csp agreements within the window: customer, partner, start, end (seconds)
    texts: "Texts"


def build_world(n_customers: int, rng: np.random.Generator) -> World:
    """Partners of every type, customers in both clouds, and their agreement histories."""
    data = generator_data()
    names = data["names"]
    partners = _partners(int(np.clip(n_customers // 10, 9, 300)), rng, names)
    customers = _customers(n_customers, rng, names)
    agreements = _agreements(customers, partners, rng)
    index = pd.Series(np.arange(len(partners)), index=partners["partner_id"])
    return World(
        partners=partners,
        customers=customers,
        agreements=agreements,
        customer_weight=_normalised(rng.lognormal(0.0, 1.0, n_customers)),
        customer_gov=(customers["cloud"] == "usgov").to_numpy(),
        customer_domains=Ragged.of(customers["domains"].str.split(";").tolist()),
        partner_parent=partners["parent_partner_id"].map(index).fillna(-1).astype(np.int64).to_numpy(),
        partner_domains=Ragged.of(partners["sender_domains"].str.split(";").tolist()),
        csp=_csp_in_window(agreements, customers, index),
        texts=Texts.build(data, partners["partner_name"].tolist()),
    )


def _normalised(weights: np.ndarray) -> np.ndarray:
    return weights / weights.sum()


def _org_names(first: list[str], second: list[str], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct "First Second" names."""
    picks = rng.choice(len(first) * len(second), size=n, replace=False)
    return [f"{first[i // len(second)]} {second[i % len(second)]}" for i in picks]


def _slug(names: pd.Series) -> pd.Series:
    return names.str.lower().str.replace(r"[^a-z0-9]", "", regex=True)


def _partners(n: int, rng: np.random.Generator, names: dict) -> pd.DataFrame:
    """Direct-bill partners, indirect providers, and resellers under a provider (one without)."""
    n_direct, n_provider = round(n * 0.35), max(2, round(n * 0.15))
    kinds = ["direct_bill"] * n_direct + ["indirect_provider"] * n_provider + ["indirect_reseller"] * (n - n_direct - n_provider)
    frame = pd.DataFrame({
        "partner_id": [f"P{1001 + i}" for i in range(n)],
        "partner_name": _org_names(names["partner_first"], names["partner_second"], n, rng),
        "partner_type": kinds,
    })
    providers = frame.loc[frame["partner_type"] == "indirect_provider", "partner_id"].to_numpy()
    resellers = frame["partner_type"] == "indirect_reseller"
    parent = pd.Series(rng.choice(providers, size=n), dtype=object).where(resellers.to_numpy())
    parent.iloc[-1] = None  # SPEC §2.2: a reseller's parent may be empty
    slug = _slug(frame["partner_name"])
    second = np.where(rng.random(n) < 0.3, ";" + slug + "-billing.example", "")
    return frame.assign(parent_partner_id=parent, sender_domains=slug + ".example" + second)[list(PARTNER_COLUMNS)]


def _customers(n: int, rng: np.random.Generator, names: dict) -> pd.DataFrame:
    """Customers in both clouds; some own two or three domains."""
    frame = pd.DataFrame({"customer_name": _org_names(names["customer_first"], names["customer_second"], n, rng)})
    slug = _slug(frame["customer_name"])
    extra = rng.choice(3, size=n, p=(0.65, 0.25, 0.10))
    regions = np.array(["eu", "asia", "uk", "us"])[rng.integers(4, size=n)]
    domains = (slug + ".example"
               + np.where(extra >= 1, ";" + slug + "-" + regions + ".example", "")
               + np.where(extra >= 2, ";" + slug + "group.example", ""))
    return frame.assign(
        customer_id=[str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in range(n)],
        cloud=np.where(rng.random(n) < 0.2, "usgov", "commercial"),
        domains=domains,
    )[list(CUSTOMER_COLUMNS)]


def _agreements(customers: pd.DataFrame, partners: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Each customer's agreement history, one scenario per customer (a loop over registry rows)."""
    sellers = partners.loc[partners["partner_type"] != "indirect_provider", "partner_id"].to_numpy()
    families = np.array(load_policy().products)
    scenarios = rng.choice(list(SCENARIOS), size=len(customers), p=list(SCENARIOS.values()))
    rows = [
        (customer, *row)
        for customer, scenario in zip(customers["customer_id"], scenarios)
        for row in _history(str(scenario), rng, sellers, families)
    ]
    return pd.DataFrame(rows, columns=list(AGREEMENT_COLUMNS))


def _history(scenario: str, rng: np.random.Generator, sellers: np.ndarray, families: np.ndarray) -> list[tuple]:
    """Agreement rows ``(channel, partner_id, products, start_date, end_date)`` of one scenario."""
    def day(lo: str, hi: str) -> str:
        first, last = np.datetime64(lo, "D"), np.datetime64(hi, "D")
        return str(first + rng.integers((last - first).astype(np.int64)))

    def some(most: int) -> str:
        return ";".join(sorted(rng.choice(families, size=rng.integers(1, most + 1), replace=False)))

    partner, other = (str(p) for p in rng.choice(sellers, size=2, replace=False))
    direct, enterprise = str(rng.choice(DIRECT_CHANNELS)), str(rng.choice(["ea", "mca"]))
    since, switch = day("2019-01-01", "2023-12-01"), day("2024-02-01", "2025-11-01")
    everything = "*" if rng.random() < 0.6 else some(3)
    split = rng.permutation(families)
    cut = int(rng.integers(1, len(families)))
    histories = {
        "csp": [("csp", partner, everything, since, "")],
        "direct_to_csp": [(direct, "", "*", since, switch), ("csp", partner, "*", switch, "")],
        "partner_change": [("csp", partner, "*", since, switch), ("csp", other, "*", switch, "")],
        "dual_split": [("csp", partner, ";".join(sorted(split[:cut])), since, ""),
                       (enterprise, "", ";".join(sorted(split[cut:])), day("2018-01-01", "2023-12-01"), "")],
        "dual_star": [("csp", partner, some(2), since, ""), (enterprise, "", "*", day("2018-01-01", "2023-12-01"), "")],
        "csp_to_direct": [("csp", partner, "*", since, switch), ("mca", "", "*", switch, "")],
        "late_csp": [("csp", partner, "*", day("2025-03-01", "2025-10-01"), "")],
        "direct_only": [(direct, "", everything, since, "")],
        "no_agreements": [],
    }
    return histories[scenario]


def _csp_in_window(agreements: pd.DataFrame, customers: pd.DataFrame, partner_index: pd.Series) -> pd.DataFrame:
    """CSP agreements clipped to the message window, as integer seconds, for partner-of-record mail."""
    csp = agreements[agreements["channel"] == "csp"]
    start = pd.to_datetime(csp["start_date"]).to_numpy().astype("datetime64[s]")
    end = pd.to_datetime(csp["end_date"].replace("", None)).to_numpy().astype("datetime64[s]")
    start, end = np.maximum(start, WINDOW[0]), np.where(np.isnat(end), WINDOW[1], np.minimum(end, WINDOW[1]))
    frame = pd.DataFrame({
        "customer": pd.Index(customers["customer_id"]).get_indexer(csp["customer_id"]),
        "partner": csp["partner_id"].map(partner_index).to_numpy(),
        "start": start.astype(np.int64),
        "end": end.astype(np.int64),
    })
    return frame[frame["end"] > frame["start"]].reset_index(drop=True)


# --------------------------------------------------------------------------- texts


@dataclass(frozen=True)
class Texts:
    """Templates, their product-name variants, and the vocabularies messages draw from."""

    templates: pd.DataFrame      # the TOML templates, with topic_code, lang_code, uses_month, uses_sender
    by_key: Ragged               # template ids per (pool, topic, lang) key, pools as in SENDER_POOL
    variants: pd.DataFrame       # template, family, product_name
    by_template: Ragged          # variant ids per template
    categories: Ragged           # Graph categories per template (sourced templates only)
    microsoft: Ragged            # Microsoft addresses per (cloud, topic) key
    unrelated: list[str]
    lookalike: list[str]
    sender_names: list[str]      # "Microsoft", partner names, unrelated senders' names

    @classmethod
    def build(cls, data: dict, partner_names: list[str]) -> "Texts":
        templates = pd.DataFrame(data["template"])
        templates["from"] = templates.get("from", pd.Series(dtype=object)).fillna("any")
        templates["source"] = templates.get("source", pd.Series(dtype=object)).fillna("")
        templates["categories"] = templates.get("categories", pd.Series(dtype=object)).map(
            lambda c: c if isinstance(c, list) else [])
        templates["topic_code"] = templates["topic"].map({t: i for i, t in enumerate(TOPICS)})
        templates["lang_code"] = templates["lang"].map({lang: i for i, lang in enumerate(LANGS)})
        text = templates["subject"] + templates["body"]
        templates["uses_month"] = text.str.contains("{month}", regex=False)
        templates["uses_sender"] = text.str.contains("{sender}", regex=False)

        def ids(usable: pd.Series) -> list[list[int]]:
            return [np.flatnonzero(usable & (templates["topic_code"] == topic) & (templates["lang_code"] == lang)).tolist()
                    for topic in range(len(TOPICS)) for lang in range(len(LANGS))]

        # The template pools of SENDER_POOL: Microsoft may send anything, a look-alike imitates
        # Microsoft's e-mail (not its portal posts), everyone else sends the "any" templates.
        by_key = Ragged.of(ids(templates["topic"].notna()) + ids(templates["source"] == "") + ids(templates["from"] == "any"))
        if (by_key.counts == 0).any():
            raise ValueError(f"{DATA_PATH.name}: every topic needs templates in every language, from anyone and from Microsoft")
        products = data["products"]
        variants = pd.DataFrame(
            [(t, family, name)
             for t, row in templates.iterrows()
             for family, name in _product_choices(row["family"], row["subject"] + row["body"], products)],
            columns=["template", "family", "product_name"],
        )
        senders = data["senders"]
        microsoft = senders["microsoft"]
        return cls(
            templates=templates,
            by_key=by_key,
            variants=variants,
            by_template=Ragged.of([variants.index[variants["template"] == t].tolist() for t in range(len(templates))]),
            categories=Ragged.of(templates["categories"].tolist()),
            microsoft=Ragged.of([microsoft[cloud][topic] for cloud in ("commercial", "usgov") for topic in TOPICS]),
            unrelated=[s["address"] for s in senders["unrelated"]],
            lookalike=[s["address"] for s in senders["lookalike"]],
            sender_names=["Microsoft", *partner_names, *(s["name"] for s in senders["unrelated"])],
        )

    def render(self, variant: np.ndarray, month: np.ndarray, sender: np.ndarray) -> tuple[pa.Array, pa.Array]:
        """Subjects and bodies: each distinct (variant, month, sender) is formatted once."""
        template = self.variants["template"].to_numpy()[variant]
        uses_month = self.templates["uses_month"].to_numpy()[template]
        uses_sender = self.templates["uses_sender"].to_numpy()[template]
        month, sender = np.where(uses_month, month, -1), np.where(uses_sender, sender, -1)
        key = (variant * (month.max() + 2) + month + 1) * (len(self.sender_names) + 1) + sender + 1
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        templates, products = self.variants["template"].tolist(), self.variants["product_name"].tolist()
        subjects, bodies, langs = (self.templates[c].tolist() for c in ("subject", "body", "lang"))
        rendered = []
        for v, m, who in zip(variant[first].tolist(), month[first].tolist(), sender[first].tolist()):
            t = templates[v]
            fields = {
                "product": products[v],
                "month": _month_name(m, langs[t]) if m >= 0 else "",
                "sender": self.sender_names[who] if who >= 0 else "",
            }
            rendered.append((subjects[t].format(**fields), bodies[t].format(**fields)))
        return tuple(pa.array(part, pa.string()).take(pa.array(inverse)) for part in zip(*rendered))


def _product_choices(family: str, text: str, products: dict[str, list[str]]) -> list[tuple[str, str]]:
    """(family, product name) variants of a template: one per name when it has ``{product}``."""
    if "{product}" not in text:
        return [(family if family in products else "unknown", "")]
    families = list(products) if family == "any" else [family]
    return [(f, name) for f in families for name in products[f]]


def _month_name(month: int, lang: str) -> str:
    year, number = 2024 + month // 12, month % 12 + 1
    return f"{year}年{number}月" if lang == "zh-CN" else f"{MONTH_NAMES[number - 1]} {year}"


# --------------------------------------------------------------------------- messages


def message_chunk(world: World, rows: int, first_message: int, seed: int, rng: np.random.Generator) -> tuple[pa.Table, int]:
    """``rows`` message rows as an Arrow table of text columns, and the next message number.

    Draws are per message (sender, customer, time, template); a message with several
    recipients becomes several rows with the same ``message_id``.
    """
    sizes = rng.choice(RECIPIENTS_PER_MESSAGE[0], size=rows, p=RECIPIENTS_PER_MESSAGE[1])
    n = int(np.searchsorted(np.cumsum(sizes), rows) + 1)
    group = np.repeat(np.arange(n), sizes[:n])[:rows]
    position = np.arange(rows) - np.concatenate([[0], np.cumsum(sizes[:n])[:-1]])[group]
    messages = _draw_messages(world, n, rng)
    variant = world.texts.by_template.pick(rng, messages["template"])
    subject, body = world.texts.render(variant, messages["month"], messages["sender_name"])

    zone = rng.choice(len(TIME_ZONES), size=n, p=[z[2] for z in TIME_ZONES])
    local = (messages["time"] + np.array([z[1] for z in TIME_ZONES])[zone] * 3600).astype("datetime64[s]")
    sent_at = _concat(pa.array(np.datetime_as_string(local, unit="s")), _take([z[0] for z in TIME_ZONES], zone))
    number = pc.utf8_lpad(pa.array(first_message + np.arange(n)).cast(pa.string()), 10, "0")
    message_id = _concat("<", number, f".s{seed}@generated.example>")

    columns = {
        "message_id": message_id,
        "sent_at": sent_at,
        "sender_address": _sender_addresses(world, messages, rng),
        "subject": subject,
        "body": body,
        **_optional_columns(world, messages, variant, rng),
    }
    columns = {name: array.take(pa.array(group)) for name, array in columns.items()}
    columns["recipient_address"] = _recipient_addresses(world, messages["customer"], group, position, rng)
    return pa.table([columns[c] for c in MESSAGE_COLUMNS], names=list(MESSAGE_COLUMNS)), first_message + n


def _draw_messages(world: World, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per message: sender kind, customer (-1: unknown domain), time (UTC seconds), partner, topic, template."""
    kind = rng.choice(len(SENDER_KINDS), size=n, p=SENDER_MIX)
    customer = rng.choice(len(world.customer_weight), size=n, p=world.customer_weight)
    customer = np.where(rng.random(n) < SHARE["unknown_recipient"], -1, customer)
    window = WINDOW[0].astype(np.int64), WINDOW[1].astype(np.int64)
    time = rng.integers(*window, size=n)
    partner = rng.integers(len(world.partners), size=n)
    # Partner-of-record mail is drawn from a csp agreement, at a time it is in force.
    of_record = np.flatnonzero(kind == SENDER_KINDS.index("partner_of_record"))
    csp = world.csp
    agreement = rng.choice(len(csp), size=len(of_record), p=_normalised((csp["end"] - csp["start"]).to_numpy(dtype=float)))
    customer[of_record] = csp["customer"].to_numpy()[agreement]
    partner[of_record] = csp["partner"].to_numpy()[agreement]
    span = (csp["end"] - csp["start"]).to_numpy()[agreement]
    time[of_record] = csp["start"].to_numpy()[agreement] + (rng.random(len(of_record)) * span).astype(np.int64)
    parent = world.partner_parent[partner]
    by_parent = (kind == SENDER_KINDS.index("partner_of_record")) & (parent >= 0) & (rng.random(n) < SHARE["parent_sends"])
    partner = np.where(by_parent, parent, partner)

    cumulative = np.cumsum([TOPIC_MIX[k] for k in SENDER_KINDS], axis=1)
    topic = np.minimum((rng.random(n)[:, None] > cumulative[kind]).sum(axis=1), len(TOPICS) - 1)
    lang = (rng.random(n) < SHARE["zh"]).astype(np.int64)
    template = world.texts.by_key.pick(rng, (SENDER_POOL[kind] * len(TOPICS) + topic) * len(LANGS) + lang)
    month = (time.astype("datetime64[s]").astype("datetime64[M]") - WINDOW[0].astype("datetime64[M]")).astype(np.int64)
    unrelated = rng.integers(len(world.texts.unrelated), size=n)
    is_partner = np.isin(kind, [SENDER_KINDS.index("partner_of_record"), SENDER_KINDS.index("other_partner")])
    sender_name = np.select(
        [is_partner, kind == SENDER_KINDS.index("unrelated")],
        [1 + partner, 1 + len(world.partners) + unrelated],
        default=0,
    )
    return {"kind": kind, "customer": customer, "time": time, "partner": partner, "topic": topic, "lang": lang,
            "template": template, "month": month, "unrelated": unrelated, "sender_name": sender_name}


def _take(values: Sequence[str | None], index: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(index))


def _concat(*parts) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _sender_addresses(world: World, messages: dict[str, np.ndarray], rng: np.random.Generator) -> pa.Array:
    """From addresses: Microsoft's by topic and cloud, a partner's domain or subdomain, or another sender."""
    texts, names, n = world.texts, generator_data()["names"], len(messages["kind"])
    gov = world.customer_gov[messages["customer"]] & (messages["customer"] >= 0)
    microsoft = pa.array(texts.microsoft.pick(rng, gov.astype(np.int64) * len(TOPICS) + messages["topic"]), pa.string())
    subdomains = ["", *(f"{s}." for s in names["partner_sender_subdomains"])]
    locals_ = names["partner_sender_locals"]
    partner = _concat(
        _take(locals_, rng.integers(len(locals_), size=n)),
        "@",
        _take(subdomains, np.where(rng.random(n) < SHARE["sender_subdomain"], rng.integers(1, len(subdomains), size=n), 0)),
        pa.array(world.partner_domains.pick(rng, messages["partner"]), pa.string()),
    )
    return pc.choose(
        pa.array(messages["kind"]),  # in SENDER_KINDS order
        microsoft,
        partner,
        partner,
        _take(texts.unrelated, messages["unrelated"]),
        _take(texts.lookalike, rng.integers(len(texts.lookalike), size=n)),
    )


def _recipient_addresses(
    world: World, customer: np.ndarray, group: np.ndarray, position: np.ndarray, rng: np.random.Generator
) -> pa.Array:
    """One address per row; a message's recipients share a domain and differ in local part."""
    names, n = generator_data()["names"], len(customer)
    locals_, unknown = names["recipient_locals"], names["unknown_recipient_domains"]
    subdomains = ["", *(f"{s}." for s in names["recipient_subdomains"])]
    domain = np.where(
        customer >= 0,
        world.customer_domains.pick(rng, np.maximum(customer, 0)),
        np.array(unknown, dtype=object)[rng.integers(len(unknown), size=n)],
    )
    sub = np.where((customer >= 0) & (rng.random(n) < SHARE["recipient_subdomain"]), rng.integers(1, len(subdomains), size=n), 0)
    local = (rng.integers(len(locals_), size=n)[group] + position) % len(locals_)
    return _concat(_take(locals_, local), "@", _take(subdomains, sub[group]), pa.array(domain, pa.string()).take(pa.array(group)))


def _optional_columns(world: World, messages: dict[str, np.ndarray], variant: np.ndarray, rng: np.random.Generator) -> dict[str, pa.Array]:
    """customer_id, source, category, product, language and sender_authenticated: mostly empty, as in real logs."""
    texts, n = world.texts, len(variant)
    customer, template, topic = messages["customer"], messages["template"], messages["topic"]
    policy = load_policy()

    ids = [*world.customers["customer_id"], None]
    customer_id = np.where((customer >= 0) & (rng.random(n) < SHARE["customer_id"]), customer, len(ids) - 1)

    sources = [*EMAIL_SOURCES[0], *policy.operational_sources]
    template_source = texts.templates["source"].to_numpy()[template]
    source = np.where(
        template_source != "",
        pd.Index(sources).get_indexer(template_source),
        rng.choice(len(EMAIL_SOURCES[0]), size=n, p=EMAIL_SOURCES[1]),
    )

    categories = [None, *TOPICS[:-1], *policy.graph_categories]
    sourced = np.flatnonzero(template_source != "")
    category = np.where((topic < len(TOPICS) - 1) & (rng.random(n) < SHARE["category"]), topic + 1, 0)
    category[sourced] = pd.Index(categories).get_indexer(texts.categories.pick(rng, template[sourced]))

    families = [None, *policy.products]
    family = pd.Index(families).get_indexer(texts.variants["family"].to_numpy()[variant])  # -1: unknown
    product = np.where((family > 0) & (rng.random(n) < SHARE["product"]), family, 0)

    language = np.where(rng.random(n) < SHARE["no_language"], len(LANGS), messages["lang"])
    return {
        "customer_id": _take(ids, customer_id),
        "source": _take(sources, source),
        "category": _take(categories, category),
        "product": _take(families, product),
        "language": _take([*LANGS, None], language),
        "sender_authenticated": pa.nulls(n, pa.string()),  # unknown, as in most trace exports
    }

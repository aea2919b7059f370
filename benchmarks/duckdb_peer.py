"""A straightforward DuckDB SQL implementation of SPEC §4: the peer a user might write instead.

It reads the same Parquet log and registry CSVs and writes a verdict Parquet of the SPEC §5
columns. Topic and product are decided once per distinct (subject, body, source, category,
product) row and joined back by a hash of it, in one of two ways:

- ``--classify auditlib`` (default): auditlib's own classifier, so the comparison with auditlib
  is of the decision machinery;
- ``--classify sql``: pure SQL, what a data engineer would write in a day: a regular expression
  per cue group of the policy (its keyword table), the group with most matches wins, the source
  and category first (SPEC §3 precedence).

Either way: customer and sender resolution by domain (subdomains included), agreements in force
by an interval join, the decision table as one CASE. Its reason is one generic sentence, not
auditlib's per-case wording.

    python benchmarks/duckdb_peer.py messages.parquet registry/ verdicts.parquet [--classify sql]
"""
from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import duckdb
import pandas as pd

from auditlib import load_policy
from auditlib.classify import classify
from auditlib.policy import Policy

TUPLE = "subject, body, source, category, product"


def classified(con: duckdb.DuckDBPyConnection, messages: str, policy: Policy) -> pd.DataFrame:
    """auditlib's topic and product of each distinct text tuple of the log, keyed by its hash."""
    texts = con.sql(f"SELECT DISTINCT hash({TUPLE}) AS h, {TUPLE} FROM read_parquet('{messages}')").df()
    frame = texts.assign(subject=texts["subject"].fillna(""),
                         **{c: texts[c].replace("", pd.NA) for c in ("body", "source", "category", "product")})
    out = classify(frame, policy)
    return pd.DataFrame({"h": texts["h"], "topic": out["topic"].astype(str), "product": out["product"].astype(str)})


def classified_sql(con: duckdb.DuckDBPyConnection, messages: str, policy: Policy) -> None:
    """Table ``cls(h, topic, product)`` in SQL alone: per distinct text tuple, the cue group
    (``topic:…``, ``product:…``) whose regular expression matches most often wins."""
    groups = {group: "|".join(re.escape(p) for p in phrases) for group, phrases in policy.cues.items()}
    count = lambda group: f"len(regexp_extract_all(text, {sql_text(groups[group])}))"
    best = lambda kind: ("CASE " + " ".join(
        f"WHEN {count(g)} > 0 AND {count(g)} >= greatest({', '.join(count(o) for o in groups if o.startswith(kind))}) "
        f"THEN {sql_text(g.split(':', 1)[1])}" for g in groups if g.startswith(kind)) + " ELSE 'unknown' END")
    listed = lambda values: ", ".join(sql_text(v) for v in values)
    con.sql(f"""
        CREATE TABLE cls AS
        WITH t AS (SELECT DISTINCT hash({TUPLE}) AS h, lower(coalesce(subject, '') || ' ' || coalesce(body, '')) AS text,
                          source, category, NULLIF(product, '') AS product FROM read_parquet('{messages}'))
        SELECT h,
          CASE WHEN source IN ({listed(policy.operational_sources)}) OR category IN ({listed(policy.graph_categories)})
                 THEN 'operational'
               WHEN category IN ({listed(t for t in policy.topics if t != 'unknown')}) THEN category
               ELSE {best('topic:')} END AS topic,
          coalesce(product, {best('product:')}) AS product
        FROM t
    """)


def setup(con: duckdb.DuckDBPyConnection, registry: Path, policy: Policy) -> None:
    """Registry tables: agreements with product masks and parents, and domain→owner maps."""
    bits = ", ".join(f"('{f}', {1 << i})" for i, f in enumerate(policy.products))
    microsoft = ", ".join(f"('{d}')" for d in policy.microsoft_domains)
    con.sql(f"""
        SET TimeZone = 'UTC';
        CREATE TABLE fam AS SELECT * FROM (VALUES {bits}) t(family, bit);
        CREATE TABLE msdom AS SELECT * FROM (VALUES {microsoft}) t(domain);
        CREATE TABLE partners AS SELECT * FROM read_csv('{registry}/partners.csv', all_varchar = true);
        CREATE TABLE customers AS SELECT * FROM read_csv('{registry}/customers.csv', all_varchar = true);
        CREATE TABLE ag AS
          SELECT a.customer_id, a.channel, a.partner_id, p.parent_partner_id AS parent,
                 CAST(a.start_date AS TIMESTAMPTZ) AS s, CAST(NULLIF(a.end_date, '') AS TIMESTAMPTZ) AS e,
                 (SELECT coalesce(bit_or(f.bit), 0) FROM fam f
                   WHERE trim(a.products) = '*'
                      OR list_contains(list_transform(string_split(lower(a.products), ';'), lambda x: trim(x)), f.family)) AS mask
          FROM read_csv('{registry}/agreements.csv', all_varchar = true) a
          LEFT JOIN partners p ON p.partner_id = a.partner_id;
        CREATE TABLE cdom AS SELECT * FROM (SELECT customer_id AS owner, trim(unnest(string_split(lower(domains), ';'))) AS domain FROM customers) WHERE domain <> '';
        CREATE TABLE pdom AS SELECT * FROM (SELECT partner_id AS owner, trim(unnest(string_split(lower(sender_domains), ';'))) AS domain FROM partners) WHERE domain <> '';
    """)


def owner_map(con: duckdb.DuckDBPyConnection, name: str, domains_sql: str, owners: str) -> None:
    """``name(domain, owner)``: each distinct domain of the log to the owner of it or of its nearest parent domain."""
    con.sql(f"""
        CREATE TABLE {name} AS
        WITH d AS ({domains_sql}),
        suffix AS (
          SELECT domain, array_to_string(parts[i:], '.') AS candidate, i
          FROM (SELECT domain, string_split(domain, '.') AS parts FROM d), generate_series(1, len(parts)) g(i)
        )
        SELECT suffix.domain, arg_min(o.owner, i) AS owner
        FROM suffix JOIN {owners} o ON o.domain = suffix.candidate GROUP BY suffix.domain
    """)


def sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def audit_sql(messages: str, registry: Path, output: str, policy: Policy, threads: int = 2,
              how: str = "auditlib") -> dict[str, float]:
    """Write the verdicts of ``messages`` to ``output``, classifying with auditlib's model or in
    SQL (``how``); returns seconds spent classifying and deciding."""
    con = duckdb.connect(config={"threads": threads})
    started = time.perf_counter()
    setup(con, registry, policy)
    if how == "sql":
        classified_sql(con, messages, policy)
    else:
        con.register("classified_df", classified(con, messages, policy))
        con.sql("CREATE TABLE cls AS SELECT * FROM classified_df")
    classify_s = time.perf_counter() - started
    log = f"read_parquet('{messages}')"
    owner_map(con, "rmap", f"SELECT DISTINCT lower(split_part(recipient_address, '@', 2)) AS domain FROM {log}", "cdom")
    owner_map(con, "smap", f"SELECT DISTINCT lower(split_part(sender_address, '@', 2)) AS domain FROM {log}", "pdom")
    owner_map(con, "mmap", f"SELECT DISTINCT lower(split_part(sender_address, '@', 2)) AS domain FROM {log}", "(SELECT domain, 'microsoft' AS owner FROM msdom)")
    bits = " ".join(f"WHEN '{f}' THEN {1 << i}" for i, f in enumerate(policy.products))
    citations = " ".join(f"WHEN {sql_text(rule)} THEN {sql_text(rule + ' ' + chr(34) + text + chr(34))}"
                         for rule, text in policy.clauses.items())
    con.sql(f"""
      COPY (
        WITH msg AS (
          SELECT m.message_id, m.recipient_address, m.sender_address, CAST(m.sent_at AS TIMESTAMPTZ) AS sent_at,
                 coalesce(NULLIF(trim(m.customer_id), ''), r.owner) AS customer_id, s.owner AS sender_partner,
                 mm.owner IS NOT NULL AS is_ms, c.topic, c.product
          FROM {log} m
          LEFT JOIN rmap r ON r.domain = lower(split_part(m.recipient_address, '@', 2))
          LEFT JOIN smap s ON s.domain = lower(split_part(m.sender_address, '@', 2))
          LEFT JOIN mmap mm ON mm.domain = lower(split_part(m.sender_address, '@', 2))
          JOIN cls c ON c.h = hash(m.subject, m.body, m.source, m.category, m.product)
        ),
        facts AS (
          SELECT msg.message_id, msg.recipient_address,
                 any_value(msg.sent_at) AS sent_at, any_value(msg.customer_id) AS customer_id,
                 any_value(msg.sender_address) AS sender_address, any_value(msg.sender_partner) AS sender_partner,
                 any_value(msg.is_ms) AS is_ms, any_value(msg.topic) AS topic, any_value(msg.product) AS product,
                 string_agg(DISTINCT a.partner_id, ';' ORDER BY a.partner_id) FILTER (WHERE a.channel = 'csp') AS partner_ids,
                 coalesce(bit_or(a.mask) FILTER (WHERE a.channel = 'csp'), 0) AS csp_mask,
                 coalesce(bit_or(a.mask) FILTER (WHERE a.channel <> 'csp'), 0) AS direct_mask,
                 coalesce(bool_or(a.channel = 'csp' AND msg.sender_partner IN (a.partner_id, a.parent)), false) AS of_record
          FROM msg LEFT JOIN ag a
            ON a.customer_id = msg.customer_id AND a.s <= msg.sent_at AND (a.e IS NULL OR msg.sent_at < a.e)
          GROUP BY msg.message_id, msg.recipient_address
        ),
        decided AS (
          SELECT *, CASE product {bits} ELSE 0 END AS bit,
            CASE
              WHEN customer_id IS NULL THEN 'no_customer'
              WHEN partner_ids IS NULL THEN 'not_csp'
              WHEN of_record THEN 'partner_of_record'
              WHEN sender_partner IS NOT NULL THEN 'other_partner'
              WHEN NOT is_ms THEN 'unknown_sender'
              WHEN topic = 'operational' THEN 'microsoft_operational'
              WHEN topic = 'unknown' THEN 'microsoft_unknown_topic'
              WHEN bit <> 0 AND (direct_mask & bit) <> 0 AND (csp_mask & bit) = 0 THEN 'direct_product'
              WHEN bit <> 0 AND (direct_mask & bit) <> 0 THEN 'product_in_both'
              WHEN bit <> 0 THEN 'product_not_direct'
              WHEN direct_mask <> 0 THEN 'unknown_product_with_direct'
              ELSE 'unknown_product_no_direct'
            END AS case_name
          FROM facts
        ),
        ruled AS (
          SELECT *,
            CASE
              WHEN case_name IN ('no_customer', 'not_csp', 'unknown_sender') THEN 'out_of_scope'
              WHEN case_name IN ('partner_of_record', 'microsoft_operational', 'direct_product') THEN 'allowed'
              WHEN case_name IN ('product_not_direct', 'unknown_product_no_direct') THEN 'violation'
              ELSE 'needs_review'
            END AS verdict,
            CASE
              WHEN case_name IN ('partner_of_record', 'other_partner') THEN 'CSP-COMM-1'
              WHEN case_name = 'microsoft_operational' THEN 'CSP-COMM-3'
              WHEN case_name = 'direct_product' THEN 'CSP-COMM-4'
              WHEN case_name IN ('product_not_direct', 'unknown_product_no_direct') THEN
                CASE WHEN topic = 'subscription' THEN 'CSP-COMM-2' ELSE 'CSP-COMM-1' END
            END AS rule_id
          FROM decided
        )
        SELECT message_id, recipient_address, sent_at, customer_id, partner_ids, sender_address,
               CASE WHEN of_record THEN 'partner_of_record' WHEN sender_partner IS NOT NULL THEN 'other_partner'
                    WHEN is_ms THEN 'microsoft' ELSE 'unknown' END AS sender_party,
               topic, product, verdict, rule_id,
               CASE WHEN verdict = 'violation' THEN CASE topic WHEN 'subscription' THEN 'high' ELSE 'medium' END ELSE '' END AS severity,
               concat_ws(' ', 'Case', case_name, 'for customer', coalesce(customer_id, '(none)'), 'from', sender_address,
                         '(' || topic || ', ' || product || '):',
                         CASE rule_id {citations} ELSE '' END) AS reason,
               '{policy.version}' AS policy_version
        FROM ruled
      ) TO '{output}' (FORMAT parquet)
    """)
    return {"classify": classify_s, "decide": time.perf_counter() - started - classify_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("messages")
    parser.add_argument("registry", type=Path)
    parser.add_argument("output")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--classify", choices=("auditlib", "sql"), default="auditlib")
    args = parser.parse_args()
    spent = audit_sql(args.messages, args.registry, args.output, load_policy(), args.threads, args.classify)
    print(", ".join(f"{stage} {seconds:.1f} s" for stage, seconds in spent.items()))


if __name__ == "__main__":
    main()

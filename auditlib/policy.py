"""The policy being audited, loaded from its versioned data file.

Nothing in the code names a clause, a keyword or a Microsoft domain: they are read
from ``policy/csp_communication.toml`` so a policy change is a data change with a
new version, and every verdict row can say which version decided it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from .textmodel import TextModel

DEFAULT_POLICY_PATH = Path(__file__).parent / "policy" / "csp_communication.toml"


@dataclass(frozen=True)
class Policy:
    version: str
    clauses: Mapping[str, str]  # rule id -> verbatim clause text
    topics: tuple[str, ...]
    products: tuple[str, ...]
    sources: tuple[str, ...]
    operational_sources: tuple[str, ...]
    graph_categories: tuple[str, ...]
    channels: tuple[str, ...]
    partner_types: tuple[str, ...]
    clouds: tuple[str, ...]
    microsoft_domains: tuple[str, ...]
    severity: Mapping[str, str]  # topic -> severity of a violation about it
    model_path: Path  # the trained text model (auditlib.textmodel) this policy classifies with
    min_topic_confidence: float  # below it a topic is unknown
    crossed_guard: float  # subscription + marketing probability that withholds an operational call
    min_product_confidence: float  # below it a product is unknown
    cues: Mapping[str, tuple[str, ...]]  # cue group ("product:azure") -> its phrases, features of the model
    stopwords: tuple[str, ...]  # tokens that alone make no feature (function words), as the tokeniser writes them
    reply_prefix: str = ""  # reply/forward markers stripped from a subject before it is read
    whole_words: tuple[str, ...] = ()  # words the tokeniser keeps unstemmed (product names like "windows")
    path: Path = DEFAULT_POLICY_PATH  # the file it was read from (its tables for the export readers)
    clause_kinds: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # rule id -> "general rule", "prohibition", "exception"
    review_decisions: tuple[str, ...] = ()  # what a reviewer may decide about a finding or pattern (auditlib.io.decisions)

    @cached_property
    def model(self) -> "TextModel":
        """The trained text model this policy classifies with (read once per process)."""
        from .io.models import load_model

        return load_model(self.model_path)

    def with_microsoft_domains(self, domains: list[str] | tuple[str, ...]) -> "Policy":
        """The same policy with another list of Microsoft sender domains (SPEC §2.2: configurable)."""
        from dataclasses import replace

        return replace(self, microsoft_domains=tuple(d.strip().lower() for d in domains if d.strip()))


def load_policy(path: str | Path | None = None) -> Policy:
    """Read a policy file; without a path, the packaged default (cached)."""
    return _load(Path(path) if path else DEFAULT_POLICY_PATH)


@cache
def _load(path: Path) -> Policy:
    with path.open("rb") as fh:
        raw = tomllib.load(fh)
    vocab, clf = raw["vocabulary"], raw["classifier"]
    return Policy(
        version=raw["version"],
        clauses=MappingProxyType({rid: c["text"] for rid, c in raw["clauses"].items()}),
        clause_kinds=MappingProxyType({rid: c.get("kind", "") for rid, c in raw["clauses"].items()}),
        topics=tuple(vocab["topics"]),
        products=tuple(vocab["products"]),
        sources=tuple(vocab["sources"]),
        operational_sources=tuple(vocab["operational_sources"]),
        graph_categories=tuple(vocab["graph_categories"]),
        channels=tuple(vocab["channels"]),
        partner_types=tuple(vocab["partner_types"]),
        clouds=tuple(vocab["clouds"]),
        microsoft_domains=tuple(d.lower() for d in raw["senders"]["microsoft_domains"]),
        severity=MappingProxyType(dict(raw["severity"])),
        model_path=path.parent / clf["model"],
        min_topic_confidence=float(clf["min_topic_confidence"]),
        crossed_guard=float(clf["crossed_guard"]),
        min_product_confidence=float(clf["min_product_confidence"]),
        cues=MappingProxyType({group: tuple(phrases) for group, phrases in clf["cues"].items()}),
        stopwords=tuple(clf["stopwords"]),
        reply_prefix=clf.get("reply_prefix", ""),
        whole_words=tuple(clf.get("whole_words", ())),
        path=path,
        review_decisions=tuple(raw.get("review", {}).get("decisions", ())),
    )

"""Whether the receiving side verified a message's From domain, from the results it recorded
(``Authentication-Results`` headers, Defender's ``AuthenticationDetails``), as the canonical
``sender_authenticated`` text: ``"true"``, ``"false"`` or None (unknown).

DMARC decides when it was evaluated; without it, SPF and DKIM together: both failing is a
failure, both passing a pass (SPEC §2.1). Anything else (``none``, ``temperror``, one of the
two only) is unknown and changes no verdict.
"""
from __future__ import annotations

import re
from typing import Mapping

_PASS = frozenset({"pass", "bestguesspass"})
_FAIL = frozenset({"fail", "softfail", "hardfail", "permerror"})
_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def verdict(results: Mapping[str, str]) -> str | None:
    """``results``: method (``spf``, ``dkim``, ``dmarc``, lower case) -> its result word."""
    outcome = {method: _outcome(results.get(method)) for method in ("spf", "dkim", "dmarc")}
    if outcome["dmarc"] is not None:
        return outcome["dmarc"]
    both = {outcome["spf"], outcome["dkim"]}
    return both.pop() if len(both) == 1 else None


def _outcome(result: str | None) -> str | None:
    word = (result or "").strip().lower()
    return "true" if word in _PASS else "false" if word in _FAIL else None


def header_results(header: str) -> dict[str, str]:
    """The method results of one ``Authentication-Results`` header; of several DKIM signatures,
    a passing one counts."""
    found: dict[str, str] = {}
    for method, result in _RESULT.findall(header):
        method, result = method.lower(), result.lower()
        if method not in found or result in _PASS:
            found[method] = result
    return found

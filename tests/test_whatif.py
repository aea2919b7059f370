"""`auditlib whatif` (issue 14, item 5): the changes a proposed policy makes are exactly those an
independent diff of two `auditlib audit --policy` runs finds, in memory and in batches."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from click.testing import CliRunner

from auditlib.cli import main
from auditlib.errors import InputError
from auditlib.policy import DEFAULT_POLICY_PATH
from auditlib.whatif import CHANGE_COLUMNS, changes

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
KEYS = ["message_id", "recipient_address"]


def test_changes_are_the_rows_whose_verdict_or_rule_differ():
    before = pd.DataFrame({"message_id": ["m1", "m2", "m3", "m4"], "recipient_address": ["a@x", "b@x", "c@x", "d@x"],
                           "partner_ids": ["P1"] * 4, "verdict": ["violation", "out_of_scope", "violation", "allowed"],
                           "rule_id": ["CSP-COMM-2", None, "CSP-COMM-1", "CSP-COMM-3"], "reason": ["r"] * 4})
    after = before.assign(verdict=["violation", "out_of_scope", "violation", "allowed"],
                          rule_id=["CSP-COMM-2", float("nan"), "CSP-COMM-2", "CSP-COMM-4"], reason=["s1", "s2", "s3", "s4"])
    found = changes(before, after)
    assert list(found.columns) == CHANGE_COLUMNS
    # m2's empty rule is empty in both (None and NaN alike); m3 and m4 changed rule only
    assert found[["message_id", "rule_id_before", "rule_id_after", "reason_after"]].values.tolist() == [
        ["m3", "CSP-COMM-1", "CSP-COMM-2", "s3"], ["m4", "CSP-COMM-3", "CSP-COMM-4", "s4"]]
    with pytest.raises(InputError, match="read different rows"):
        changes(before, after.iloc[::-1])


@pytest.fixture(scope="module")
def proposed(tmp_path_factory) -> Path:
    """The packaged policy with a look-alike domain counted as Microsoft's and microsoft.us no longer:
    verdicts change both ways on the sample."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    variant = (text.replace('version = "', 'version = "whatif-', 1)
               .replace('model = "classifier.npz"', f'model = "{(DEFAULT_POLICY_PATH.parent / "classifier.npz").as_posix()}"')
               .replace('"dynamics.com", "microsoft.us",', '"dynamics.com", "microsoft-billing.example",'))
    assert variant.count("microsoft-billing.example") == 1 and "whatif-" in variant
    path = tmp_path_factory.mktemp("policy") / "proposed.toml"
    path.write_text(variant, encoding="utf-8")
    return path


def audit(out: Path, *policy: str) -> pd.DataFrame:
    result = CliRunner().invoke(main, ["audit", str(SAMPLE / "messages.csv"), "--registry", str(SAMPLE / "registry"),
                                       "--output", str(out), *policy])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, dtype=str, keep_default_na=False)


@pytest.mark.skipif(not (SAMPLE / "registry").is_dir(), reason="data/sample not generated")
@pytest.mark.parametrize("batch", [[], ["--batch-rows", "700"]], ids=["in memory", "batched"])
def test_whatif_changes_equal_a_diff_of_two_audits(proposed, tmp_path, batch):
    before = audit(tmp_path / "before.csv")
    after = audit(tmp_path / "after.csv", "--policy", str(proposed))
    joined = before.merge(after, on=KEYS, suffixes=("_before", "_after"), validate="one_to_one")
    differ = joined[(joined["verdict_before"] != joined["verdict_after"]) | (joined["rule_id_before"] != joined["rule_id_after"])]
    expected = differ.rename(columns={"partner_ids_after": "partner_ids", "reason_after": "reason_after"})[CHANGE_COLUMNS]
    assert {"out_of_scope"} < set(differ["verdict_after"]) and "violation" in set(differ["verdict_after"])  # both ways

    result = CliRunner().invoke(main, ["whatif", str(SAMPLE / "messages.csv"), "--registry", str(SAMPLE / "registry"),
                                       "--policy", str(proposed), "--output", str(tmp_path / "whatif"), *batch])
    assert result.exit_code == 0, result.output
    found = pd.read_csv(tmp_path / "whatif" / "changes.csv", dtype=str, keep_default_na=False)
    assert list(found.columns) == CHANGE_COLUMNS
    ordered = lambda f: f.sort_values(KEYS).reset_index(drop=True)
    pd.testing.assert_frame_equal(ordered(found), ordered(expected))

    page = BeautifulSoup((tmp_path / "whatif" / "index.html").read_text(encoding="utf-8"), "html.parser")
    assert page.find(id="w-changed").get_text() == f"{len(expected):,}"
    per_rule = page.find("table", id="per-rule").tbody.find_all("tr")
    assert sum(int(tr.find_all("td")[-1].get_text()) for tr in per_rule) == len(expected)
    assert page.find("script", src="plotly.min.js") and (tmp_path / "whatif" / "plotly.min.js").is_file()
    assert "cdn" not in page.decode().lower()
    manifest = json.loads((tmp_path / "whatif" / "manifest.json").read_text())
    assert manifest["changed"] == len(expected) and manifest["rows"] == len(before)
    assert manifest["proposed"]["version"].startswith("whatif-") and manifest["batch_rows"] == (700 if batch else None)


@pytest.mark.skipif(not (SAMPLE / "registry").is_dir(), reason="data/sample not generated")
def test_the_same_policy_changes_nothing_and_says_so(tmp_path):
    result = CliRunner().invoke(main, ["whatif", str(SAMPLE / "messages.csv"), "--registry", str(SAMPLE / "registry"),
                                       "--policy", str(DEFAULT_POLICY_PATH), "--output", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    assert "both policies say version" in result.stderr
    assert (tmp_path / "w" / "changes.csv").read_text().strip() == ",".join(CHANGE_COLUMNS)
    assert BeautifulSoup((tmp_path / "w" / "index.html").read_text(), "html.parser").find(id="no-changes")

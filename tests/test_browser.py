"""The reports in a real browser: Debian's headless Chromium, driven by selenium through
/usr/bin/chromedriver, opening file:// pages with no network. Skipped where Chromium is not
installed (CI installs `chromium chromium-driver`)."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from auditlib.io.names import safe_name

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PARTNER = "P1004"  # an indirect provider: its report also covers its resellers' customers

pytestmark = [
    pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()), reason="needs /usr/bin/chromium and chromedriver"),
    pytest.mark.skipif(not (SAMPLE / "registry").is_dir(), reason="data/sample not generated"),
]

# Marks a drawn chart holds: bar paths, heatmap images, scatter points or lines.
MARKS = "g.barlayer path, g.heatmaplayer image, g.hm image, g.scatterlayer path"


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("browser")
    ran = subprocess.run([sys.executable, "-m", "auditlib", "report", SAMPLE / "messages.csv", "--registry", SAMPLE / "registry",
                          "--output", out, "--partner", PARTNER], capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    return out


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    yield driver
    driver.quit()


def open_page(browser, page: Path) -> list[dict]:
    """Load a page, wait until every plotly div has drawn its SVG, return the console's errors."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop entries of earlier pages
    browser.get(page.as_uri())
    WebDriverWait(browser, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && [...document.querySelectorAll('.plotly-graph-div')]"
        ".every(div => div.querySelector('svg.main-svg'))"))
    return [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def chart_marks(browser) -> list[int]:
    return browser.execute_script(
        "return [...document.querySelectorAll('.plotly-graph-div')].map(div => div.querySelectorAll(arguments[0]).length)", MARKS)


def loaded_resources(browser) -> list[str]:
    return browser.execute_script("return performance.getEntriesByType('resource').map(r => r.name)")


def independent_violations() -> int:
    """Violations of the partner's and its resellers' customers, counted from a fresh audit's verdicts."""
    import auditlib

    verdicts = auditlib.audit_files([SAMPLE / "messages.csv"], SAMPLE / "registry")
    with (SAMPLE / "registry" / "partners.csv").open(newline="", encoding="utf-8") as fh:
        covered = {PARTNER} | {p["partner_id"] for p in csv.DictReader(fh) if p["parent_partner_id"] == PARTNER}
    listed = verdicts["partner_ids"].fillna("").str.split(";")
    mine = listed.map(lambda ids: bool(set(ids) & covered))
    return int((mine & (verdicts["verdict"] == "violation")).sum())


def test_partner_report_draws_every_chart_offline(reports, browser):
    page = reports / "partners" / f"{safe_name(PARTNER)}.html"
    errors = open_page(browser, page)
    assert errors == []
    marks = chart_marks(browser)
    assert len(marks) == page.read_text().count("Plotly.newPlot(") >= 5
    assert all(n > 0 for n in marks), marks
    assert all(url.startswith("file://") for url in loaded_resources(browser))
    shown = browser.execute_script("return document.querySelectorAll('table#violations tbody tr').length")
    info = browser.execute_script("return document.getElementById('violations_info').textContent")
    expected = independent_violations()
    assert expected > 0 and shown == min(expected, 25) and info.endswith(f"of {expected:,} entries"), info  # paged by DataTables
    browser.save_screenshot(str(reports / "partner.png"))


def test_overview_draws_every_chart_offline(reports, browser):
    assert open_page(browser, reports / "overview.html") == []
    marks = chart_marks(browser)
    assert len(marks) >= 4 and all(n > 0 for n in marks), marks
    assert all(url.startswith("file://") for url in loaded_resources(browser))


def test_index_links_the_report_with_its_headline(reports, browser):
    assert open_page(browser, reports / "index.html") == []
    row = browser.execute_script(
        "const tr = document.querySelector('tr.partner'); return [tr.dataset.partnerId, tr.dataset.status, tr.cells[3].innerText]")
    assert row == [PARTNER, "ok", f"{independent_violations():,}"]
    browser.find_element("css selector", "tr.partner a").click()
    assert browser.current_url == (reports / "partners" / f"{safe_name(PARTNER)}.html").as_uri()

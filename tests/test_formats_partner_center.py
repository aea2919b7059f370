"""The registry builder from Partner Center exports; expected tables worked out from the fixtures."""
from pathlib import Path

import pandas as pd
import pytest

from auditlib.errors import InputError
from auditlib.io.registry_files import write_registry
from auditlib.partner_center import Partner, build_registry, offer_families
from auditlib import read_registry

PC = Path(__file__).parent / "fixtures" / "formats" / "partner_center"
CONTOSO, FABRIKAM = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
PROVIDER = Partner("1234567", "indirect_provider", "Partner One", "partnerone.com")


def build(*subscriptions: str, partner: Partner = PROVIDER):
    return build_registry([PC / "customers.json"], [PC / s for s in subscriptions], partner)


def rows(frame: pd.DataFrame) -> list[list]:
    return frame.astype(object).where(frame.notna(), None).values.tolist()


def test_customers_agreements_partners_and_skipped():
    b = build("subscriptions_contoso.json", "subscriptions_fabrikam.json")
    assert rows(b.customers) == [
        [CONTOSO, "Contoso Ltd", "commercial", "contoso.onmicrosoft.com"],
        [FABRIKAM, "Fabrikam", "commercial", "fabrikam.onmicrosoft.com;fabrikam.com"],
        ["33333333-3333-4333-8333-333333333333", "Northwind", "commercial", "northwind.onmicrosoft.com"],
    ]
    assert rows(b.agreements) == [
        # sub-c: suspended, ends at its commitmentEndDate
        [CONTOSO, "csp", "1234567", "security", "2021-01-01", "2022-01-01"],
        # sub-a and sub-b: same start, both active -> one agreement for both families
        [CONTOSO, "csp", "1234567", "azure;microsoft-365", "2022-03-15", None],
        # sub-d: the reseller is the partner of record
        [FABRIKAM, "csp", "4444444", "dynamics-365", "2023-05-01", None],
    ]
    assert rows(b.partners) == [
        ["1234567", "Partner One", "indirect_provider", None, "partnerone.com"],
        ["4444444", None, "indirect_reseller", "1234567", None],
    ]
    assert b.skipped["subscription_id"].tolist() == ["sub-e", "sub-f"]
    assert b.skipped["reason"].tolist() == [
        "status deleted and no commitmentEndDate: when it ended is not known",
        "it ended (2023-06-01) before a whole day in force (created 2023-06-01)",
    ]


def test_written_registry_reads_back(tmp_path):
    b = build("subscriptions_contoso.json", "subscriptions_fabrikam.json")
    write_registry(b, tmp_path / "reg")
    registry = read_registry(tmp_path / "reg")
    assert len(registry.agreements) == 3 and len(registry.customers) == 3
    with pytest.raises(InputError, match="already exists"):
        write_registry(b, tmp_path / "reg")
    write_registry(b, tmp_path / "reg", overwrite=True)


def test_a_direct_bill_partner_has_no_parent_for_resellers():
    b = build("subscriptions_fabrikam.json", partner=Partner("P9", "direct_bill"))
    assert rows(b.partners)[1] == ["4444444", None, "indirect_reseller", None, None]


def test_an_unmapped_offer_is_an_error_naming_it():
    with pytest.raises(InputError, match="no product family for offer\\(s\\) 'Contoso Widgets Premium'"):
        build("subscriptions_unknown_offer.json")


def test_a_subscription_without_a_customer_is_an_error_naming_its_record():
    with pytest.raises(InputError, match="subscriptions_orphan.json, row 1, column customerId: cannot tell"):
        build("subscriptions_orphan.json")


def test_offer_names_map_specific_before_generic():
    offers = pd.Series(["Microsoft Defender for Office 365 (Plan 2)", "Office 365 E3", "Windows 365 Enterprise",
                        "Power BI Premium Per User", "Microsoft 365 E5 Security", "Azure plan", "Copilot Studio"])
    assert offer_families(offers).tolist() == [
        "security", "microsoft-365", "windows", "power-platform", "security", "azure", "power-platform"]

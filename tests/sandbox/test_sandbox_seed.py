"""QBO sandbox: seeding from QBO's own JSON — accepted shapes, deletions, duplicates, all-or-nothing."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domains.qbo.sandbox import SandboxStorage, SeedError, load_seed_dir, seed_company
from tests.sandbox.support import MEMORY_DB, FakeClock

pytestmark = pytest.mark.anyio


def _write(directory: Path, name: str, payload: Any) -> None:
    (directory / name).write_text(payload if isinstance(payload, str) else json.dumps(payload))


def _bill(bill_id: str, token: str, balance: str, stamp: str = "2025-06-20T10:00:00-07:00") -> str:
    # Written by hand so amounts stay exact JSON numbers, as QBO sends them.
    return (
        f'{{"Id": "{bill_id}", "SyncToken": "{token}", "VendorRef": {{"value": "56"}}, "TotalAmt": 250.00, '
        f'"Balance": {balance}, "DueDate": "2025-07-01", '
        f'"MetaData": {{"CreateTime": "2025-06-01T09:00:00-07:00", "LastUpdatedTime": "{stamp}"}}}}'
    )


@pytest.fixture
async def storage(clock: FakeClock) -> Any:
    store = SandboxStorage(MEMORY_DB, clock=clock)
    yield store
    await store.close()


async def _entities(storage: SandboxStorage, realm_id: str, entity: str) -> dict[int, Any]:
    async with storage.read() as tx:
        return {row.id: row for row in await tx.select(realm_id, entity)}


async def test_all_accepted_shapes_load_into_one_company(tmp_path: Path, storage: SandboxStorage) -> None:
    _write(
        tmp_path,
        "01-bills.json",
        f'{{"QueryResponse": {{"Bill": [{_bill("130", "0", "250.00")}, {_bill("131", "0", "90.50")}], '
        '"startPosition": 1, "maxResults": 2}, "time": "2025-06-30T10:00:00.000-07:00"}',
    )
    _write(
        tmp_path,
        "02-vendor.json",
        {"Vendor": {"Id": "56", "SyncToken": "3", "DisplayName": "Bob's Burger Joint"}, "time": "x"},
    )
    _write(
        tmp_path,
        "03-cdc.json",
        '{"CDCResponse": [{"QueryResponse": [{"Bill": ['
        + _bill("130", "2", "100.00", "2025-06-25T10:00:00-07:00")
        + ', {"domain": "QBO", "status": "Deleted", "Id": "131", '
        '"MetaData": {"LastUpdatedTime": "2025-06-26T10:00:00-07:00"}}], '
        '"startPosition": 1, "maxResults": 2}, '
        '{"Budget": [{"Id": "9", "Name": "FY25", "BudgetType": "ProfitAndLoss"}]}, {}]}], "time": "x"}',
    )
    _write(tmp_path, "04-older.json", {"QueryResponse": {"Bill": [json.loads(_bill("130", "1", "200.00"))]}})
    _write(tmp_path, "05-empty.json", {"QueryResponse": {}, "time": "x"})
    _write(tmp_path, "notes.txt", "not json, and not a *.json file")

    realm_id = await load_seed_dir(storage, tmp_path, "Seeded Co")

    bills = await _entities(storage, realm_id, "Bill")
    assert set(bills) == {130}
    assert bills[130].sync_token == 2
    assert bills[130].doc["Balance"] == Decimal("100.00")
    assert bills[130].doc["TotalAmt"] == Decimal("250.00")
    async with storage.read() as tx:
        deleted = await tx.get(realm_id, "Bill", 131)
        info = await tx.first(realm_id, "CompanyInfo")
        prefs = await tx.first(realm_id, "Preferences")
        realm = await tx.realm(realm_id)
    assert deleted is not None
    assert deleted.deleted
    assert (await _entities(storage, realm_id, "Budget"))[9].doc["Name"] == "FY25"
    assert (await _entities(storage, realm_id, "Vendor"))[56].doc["Active"] is True
    assert info is not None
    assert info.doc["CompanyName"] == "Seeded Co"
    assert prefs is not None
    assert prefs.doc["CurrencyPrefs"]["HomeCurrency"] == {"value": "USD"}
    assert realm is not None
    assert realm.next_id == 132


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"Bill": [{"Id": "1"}]}', "not a QBO response shape"),
        ("[1, 2, 3]", "top level is an array"),
        ('{"QueryResponse": {"Bill": [{"Id": "1"}]', "invalid JSON"),
        ('{"Fault": {"Error": [], "type": "ValidationFault"}}', "Fault"),
        ('{"QueryResponse": {"Bill": [{"Id": "B-1"}]}}', "Id must be a string of digits"),
        ('{"QueryResponse": {"Bill": {"Id": "1"}}}', "must be a list"),
        ('{"Rows": {}, "Header": {}}', "not a QBO response shape"),
    ],
)
async def test_a_bad_file_is_refused_by_name_and_nothing_is_loaded(
    tmp_path: Path, storage: SandboxStorage, payload: str, reason: str
) -> None:
    _write(tmp_path, "a-good.json", {"QueryResponse": {"Vendor": [{"Id": "1", "DisplayName": "Fine"}]}})
    _write(tmp_path, "b-bad.json", payload)
    with pytest.raises(SeedError) as refused:
        await load_seed_dir(storage, tmp_path, "Half Loaded")
    assert refused.value.source == "b-bad.json"
    assert reason in refused.value.reason
    assert "b-bad.json" in str(refused.value)
    async with storage.read() as tx:
        assert await tx.realms() == []
        assert await tx.entity_types("9130350000000001") == set()


async def test_a_missing_directory_is_refused(tmp_path: Path, storage: SandboxStorage) -> None:
    with pytest.raises(SeedError):
        await load_seed_dir(storage, tmp_path / "nowhere", "Ghost Co")


async def test_seed_company_assigns_ids_and_defaults(storage: SandboxStorage) -> None:
    realm_id = await seed_company(
        storage,
        "Generated Co",
        {
            "Vendor": [{"Id": "40", "DisplayName": "Fixed Id"}, {"DisplayName": "Next Id"}],
            "Bill": [
                {"VendorRef": {"value": "40"}, "Line": [{"Amount": Decimal("12.34"), "DetailType": "X"}]}
            ],
        },
        preferences={"CurrencyPrefs": {"HomeCurrency": {"value": "CAD"}}},
    )
    vendors = await _entities(storage, realm_id, "Vendor")
    assert set(vendors) == {40, 41}
    bill = next(iter((await _entities(storage, realm_id, "Bill")).values()))
    assert bill.id == 42
    assert bill.doc["TotalAmt"] == Decimal("12.34")
    assert bill.doc["Balance"] == Decimal("12.34")
    async with storage.read() as tx:
        prefs = await tx.first(realm_id, "Preferences")
    assert prefs is not None
    assert prefs.doc["CurrencyPrefs"]["HomeCurrency"] == {"value": "CAD"}

    second = await seed_company(storage, "Second Co")
    assert int(second) == int(realm_id) + 1


async def test_seed_company_refuses_floats_for_money(storage: SandboxStorage) -> None:
    with pytest.raises(SeedError, match="float"):
        await seed_company(storage, "Float Co", {"Bill": [{"TotalAmt": 10.5}]})
    async with storage.read() as tx:
        assert await tx.realms() == []

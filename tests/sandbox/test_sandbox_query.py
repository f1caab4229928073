"""QBO sandbox: the query endpoint — paging edges, operators, escaping, inactive name lists, faults."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.sandbox.support import Harness, body

pytestmark = pytest.mark.anyio


def _bills(count: int) -> list[dict[str, object]]:
    return [
        {
            "VendorRef": {"value": "1", "name": "Paper Co"},
            "TxnDate": "2025-06-01",
            "DueDate": "2025-07-01",
            "TotalAmt": Decimal("10.00"),
            "Balance": Decimal("10.00"),
            "Line": [{"Amount": Decimal("10.00"), "DetailType": "AccountBasedExpenseLineDetail"}],
        }
        for _ in range(count)
    ]


async def test_exactly_1000_rows_fill_one_page_and_the_next_page_is_the_empty_envelope(
    harness: Harness,
) -> None:
    company = await harness.company(entities={"Bill": _bills(1000)})

    first = await harness.query(company, "SELECT * FROM Bill STARTPOSITION 1 MAXRESULTS 1000")
    page = first["QueryResponse"]
    assert len(page["Bill"]) == 1000
    assert page["startPosition"] == 1
    assert page["maxResults"] == 1000
    assert "totalCount" not in page
    ids = [int(bill["Id"]) for bill in page["Bill"]]
    assert ids == sorted(ids)

    second = await harness.query(company, "SELECT * FROM Bill STARTPOSITION 1001 MAXRESULTS 1000")
    assert set(second) == {"QueryResponse", "time"}
    assert second["QueryResponse"] == {}

    count = await harness.query(company, "SELECT COUNT(*) FROM Bill")
    assert count["QueryResponse"] == {"totalCount": 1000}

    # QBO never serves more than 1000 rows a page, whatever MAXRESULTS says.
    capped = await harness.query(company, "select * from Bill maxresults 5000")
    assert capped["QueryResponse"]["maxResults"] == 1000


async def test_empty_company_answers_the_empty_envelope_and_a_zero_count(harness: Harness) -> None:
    company = await harness.company("Empty Books")
    empty = await harness.query(company, "SELECT * FROM Invoice")
    assert empty["QueryResponse"] == {}
    count = await harness.query(company, "SELECT COUNT(*) FROM Invoice")
    assert count["QueryResponse"] == {"totalCount": 0}


async def test_default_page_is_100_and_max_results_counts_rows_in_this_page(harness: Harness) -> None:
    vendors = [{"DisplayName": f"Vendor {n:03d}"} for n in range(1, 131)]
    company = await harness.company(entities={"Vendor": vendors})

    default = await harness.query(company, "SELECT * FROM Vendor")
    assert default["QueryResponse"]["maxResults"] == 100
    assert len(default["QueryResponse"]["Vendor"]) == 100

    last = await harness.query(company, "SELECT * FROM Vendor STARTPOSITION 126 MAXRESULTS 5")
    assert last["QueryResponse"]["startPosition"] == 126
    assert last["QueryResponse"]["maxResults"] == 5
    tail = await harness.query(company, "SELECT * FROM Vendor MAXRESULTS 5 STARTPOSITION 130")
    assert tail["QueryResponse"]["maxResults"] == 1
    assert tail["QueryResponse"]["Vendor"][0]["DisplayName"] == "Vendor 130"


async def test_comparison_in_like_and_ordering(harness: Harness) -> None:
    bills = [
        {
            "VendorRef": {"value": "7"},
            "DocNumber": "INV-100",
            "DueDate": "2025-07-15",
            "Balance": Decimal("0"),
        },
        {
            "VendorRef": {"value": "7"},
            "DocNumber": "INV-200",
            "DueDate": "2025-07-01",
            "Balance": Decimal("250.5"),
        },
        {
            "VendorRef": {"value": "8"},
            "DocNumber": "CR-300",
            "DueDate": "2025-08-01",
            "Balance": Decimal("99.99"),
        },
        {
            "VendorRef": {"value": "9"},
            "DocNumber": "INV-400",
            "DueDate": "2025-06-01",
            "Balance": Decimal("1000"),
        },
    ]
    for bill in bills:
        bill["Line"] = [{"Amount": bill["Balance"], "DetailType": "AccountBasedExpenseLineDetail"}]
        bill["TotalAmt"] = bill["Balance"]
    company = await harness.company(entities={"Bill": bills})

    def numbers(payload: dict[str, object]) -> list[str]:
        rows = payload["QueryResponse"].get("Bill", [])  # type: ignore[attr-defined]
        return [row["DocNumber"] for row in rows]

    open_bills = await harness.query(company, "SELECT * FROM Bill WHERE Balance > '0' ORDERBY DueDate")
    assert numbers(open_bills) == ["INV-400", "INV-200", "CR-300"]
    assert all(isinstance(row["Balance"], Decimal | int) for row in open_bills["QueryResponse"]["Bill"])

    small = await harness.query(
        company, "SELECT * FROM Bill WHERE Balance <= '250.50' AND Balance >= '99.99'"
    )
    assert numbers(small) == ["INV-200", "CR-300"]

    by_vendor = await harness.query(
        company, "SELECT * FROM Bill WHERE VendorRef IN ('8', '9') ORDERBY DueDate DESC"
    )
    assert numbers(by_vendor) == ["CR-300", "INV-400"]

    like = await harness.query(
        company, "SELECT * FROM Bill WHERE DocNumber LIKE 'inv-%' ORDER BY DocNumber DESC"
    )
    assert numbers(like) == ["INV-400", "INV-200", "INV-100"]

    exact = await harness.query(company, "SELECT * FROM Bill WHERE DueDate < '2025-07-01'")
    assert numbers(exact) == ["INV-400"]

    by_ids = await harness.query(company, "select * from bill where Id in ('1', '3') orderby Id desc")
    assert [row["Id"] for row in by_ids["QueryResponse"]["Bill"]] == ["3", "1"]


async def test_last_updated_filters_and_ordering(harness: Harness) -> None:
    company = await harness.company()
    first = body(await harness.post(company, "vendor", {"DisplayName": "First"}))["Vendor"]
    harness.clock.advance(60)
    second = body(await harness.post(company, "vendor", {"DisplayName": "Second"}))["Vendor"]
    harness.clock.advance(60)
    touched = body(
        await harness.post(
            company, "vendor", {"Id": first["Id"], "SyncToken": "0", "sparse": True, "Vendor1099": True}
        )
    )["Vendor"]

    since = second["MetaData"]["LastUpdatedTime"]
    changed = await harness.query(
        company,
        f"SELECT * FROM Vendor WHERE MetaData.LastUpdatedTime >= '{since}' "
        "ORDERBY MetaData.LastUpdatedTime DESC",
    )
    assert [row["DisplayName"] for row in changed["QueryResponse"]["Vendor"]] == ["First", "Second"]
    later = await harness.query(
        company,
        f"select * from Vendor Where Metadata.LastUpdatedTime > '{since}' Order By Metadata.LastUpdatedTime",
    )
    assert [row["Id"] for row in later["QueryResponse"]["Vendor"]] == [touched["Id"]]


async def test_a_quote_inside_a_literal_is_backslash_escaped(harness: Harness) -> None:
    company = await harness.company(entities={"Customer": [{"DisplayName": "Amy's Bird Sanctuary"}]})
    found = await harness.query(
        company, "SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'"
    )
    assert [row["DisplayName"] for row in found["QueryResponse"]["Customer"]] == ["Amy's Bird Sanctuary"]
    like = await harness.query(company, "SELECT * FROM Customer WHERE DisplayName LIKE '%\\'s Bird%'")
    assert len(like["QueryResponse"]["Customer"]) == 1


@pytest.mark.parametrize(
    ("entity", "make"),
    [
        ("Account", lambda n, active: {"Name": f"Account {n}", "AccountType": "Bank", "Active": active}),
        ("Vendor", lambda n, active: {"DisplayName": f"Vendor {n}", "Active": active}),
        ("Customer", lambda n, active: {"DisplayName": f"Customer {n}", "Active": active}),
        ("Term", lambda n, active: {"Name": f"Net {n}", "DueDays": n, "Active": active}),
    ],
)
async def test_name_lists_hide_inactive_records_unless_asked(
    harness: Harness, entity: str, make: object
) -> None:
    build = make  # a (number, active) -> document factory
    docs = [build(10, True), build(20, True), build(30, False)]  # type: ignore[operator]
    company = await harness.company(entities={entity: docs})

    default = await harness.query(company, f"SELECT * FROM {entity}")
    assert default["QueryResponse"]["maxResults"] == 2
    count = await harness.query(company, f"SELECT COUNT(*) FROM {entity}")
    assert count["QueryResponse"]["totalCount"] == 2

    everything = await harness.query(company, f"SELECT * FROM {entity} WHERE Active IN (true, false)")
    assert everything["QueryResponse"]["maxResults"] == 3
    inactive = await harness.query(company, f"SELECT * FROM {entity} WHERE Active = false")
    assert [row["Active"] for row in inactive["QueryResponse"][entity]] == [False]

    # Reading an inactive record by Id still works.
    hidden_id = inactive["QueryResponse"][entity][0]["Id"]
    read = await harness.client.get(company.url(f"{entity.lower()}/{hidden_id}"), headers=company.headers)
    assert read.status_code == 200
    assert body(read)[entity]["Active"] is False


async def test_query_faults(harness: Harness) -> None:
    company = await harness.company()

    async def fault(text: str) -> dict[str, object]:
        response = await harness.client.get(
            company.url("query"), params={"query": text}, headers=company.headers
        )
        assert response.status_code == 400
        payload = body(response)
        assert payload["Fault"]["type"] == "ValidationFault"
        return payload["Fault"]["Error"][0]

    unknown = await fault("SELECT * FROM Spaceship")
    assert unknown["code"] == "4001"
    assert unknown["Message"] == "Invalid query"

    for broken in (
        "SELECT * FROM Bill WHERE Balance > '0' OR Balance < '5'",
        "SELECT * FROM Bill WHERE DocNumber = 'unterminated",
        "SELECT * FROM Bill WHERE Balance != '0'",
        "DELETE FROM Bill",
        "",
    ):
        error = await fault(broken)
        assert error["code"] == "4000", broken
        assert error["Message"] == "Error parsing query"


async def test_query_accepts_a_post_body_and_plus_encoded_spaces(harness: Harness) -> None:
    company = await harness.company(entities={"Vendor": [{"DisplayName": "Solo"}]})
    posted = await harness.client.post(
        company.url("query"),
        content=b"select * from Vendor",
        headers={**company.headers, "Content-Type": "application/text"},
    )
    assert body(posted)["QueryResponse"]["Vendor"][0]["DisplayName"] == "Solo"
    plus = await harness.client.get(
        company.url("query") + "?query=select+*+from+Vendor", headers=company.headers
    )
    assert body(plus)["QueryResponse"]["maxResults"] == 1


async def test_entity_types_outside_the_catalogue_are_served_once_held(harness: Harness) -> None:
    company = await harness.company(entities={"Widget": [{"Name": "Sprocket", "Size": 3}]})
    found = await harness.query(company, "SELECT * FROM Widget WHERE Size >= '3'")
    widget = found["QueryResponse"]["Widget"][0]
    assert widget["Name"] == "Sprocket"
    read = await harness.client.get(company.url(f"widget/{widget['Id']}"), headers=company.headers)
    assert body(read)["Widget"]["Size"] == 3

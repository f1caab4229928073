"""Unit tests (domain QBO client): response bodies parse with exact Decimal numbers, as `json` would, and
query pages split into each object's own text."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from domains.qbo.client import QboClient, decode_body, decode_object, encode_body, split_query_page
from domains.qbo.errors import QboError, QboProtocolError
from domains.qbo.mappers import map_entity
from domains.qbo.page_mapping import map_page
from domains.synced import RawJSON

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qbo"

DOCUMENTS = [
    b'{"QueryResponse": {"Bill": [{"Id": "1", "TotalAmt": 1602.70, "Balance": 0.00}]}, "time": "x"}',
    b'{"rate": 0.10000000000000000000001, "big": 123456789012345678901234567890, "neg": -0.0}',
    b'{"exp": 1e400, "small": 1.5E-7, "int": -0, "list": [1, 2.50, null, true, false, "a\\u00e9"]}',
    b"  [1.10] \n",
    # Refused by the fast parser, accepted by `json` as before: a byte-order mark, NaN, a lone surrogate.
    b'\xef\xbb\xbf{"a": 1.5}',
    b'{"a": NaN}',
    b'{"a": "\\ud800"}',
    '{"a": 2.25}'.encode("utf-16"),
]


@pytest.mark.parametrize("document", DOCUMENTS)
def test_decode_matches_json_with_decimal_numbers(document: bytes) -> None:
    decoded = decode_body(document)
    expected = json.loads(document, parse_float=Decimal)
    assert repr(decoded) == repr(expected)


def test_amounts_keep_their_digits() -> None:
    body = decode_body(b'{"TotalAmt": 1602.70, "Rate": 0.10000000000000000000001, "Qty": 3}')
    assert str(body["TotalAmt"]) == "1602.70"
    assert body["Rate"] == Decimal("0.10000000000000000000001")
    assert body["Qty"] == 3
    assert isinstance(body["Qty"], int)


@pytest.mark.parametrize("document", [b"", b"{", b'{"a": 1,}', b"<html>busy</html>"])
def test_malformed_bodies_raise_value_error(document: bytes) -> None:
    with pytest.raises(ValueError):
        decode_body(document)


PAGE = (
    b'{"QueryResponse": {"Bill": [{"Id": "1", "TotalAmt": 1602.70},  7, '
    b'{"Id": "2", "Rate": 0.10000000000000000000001}], "startPosition": 1, "maxResults": 3}, '
    b'"time": "2026-11-27T04:00:00.000-08:00"}'
)


def test_a_query_page_splits_into_each_objects_own_text() -> None:
    items = split_query_page(PAGE, "Bill")
    assert items is not None
    texts = [bytes(item) for item in items]
    # Exactly as sent, digits included; the item that is not an object is left out, as before.
    assert texts == [b'{"Id": "1", "TotalAmt": 1602.70}', b'{"Id": "2", "Rate": 0.10000000000000000000001}']
    assert [decode_object(item) for item in items] == [
        o for o in decode_body(PAGE)["QueryResponse"]["Bill"] if isinstance(o, dict)
    ]
    assert split_query_page(PAGE, "Invoice") == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"Fault": {"Error": [{"Message": "x", "code": "500"}], "type": "SystemFault"}, "time": "t"}',
        b'{"QueryResponse": {"Bill": [{"TotalAmt": NaN}]}}',
        b'{"QueryResponse": [], "time": "t"}',
        b"<html>busy</html>",
        b'\xef\xbb\xbf{"QueryResponse": {}}',
    ],
)
def test_bodies_that_are_not_plain_pages_are_left_to_the_full_parser(body: bytes) -> None:
    assert split_query_page(body, "Bill") is None


def test_a_mapped_page_keeps_each_objects_text_as_its_raw_json() -> None:
    bill = json.loads((FIXTURES / "bill.json").read_text(), parse_float=Decimal)["Bill"]
    text = encode_body(bill)
    items = split_query_page(b'{"QueryResponse": {"Bill": [' + text + b", 3]}}", "Bill")
    assert items is not None
    count, mapped = map_page("Bill", items, "USD")
    assert count == 1
    (row,) = mapped.rows
    raw = row.values["raw"]
    assert isinstance(raw, RawJSON)
    assert raw == text.decode()
    expected = map_entity("Bill", bill, home_currency="USD")
    assert {**row.values, "raw": None} == {**expected.values, "raw": None}
    assert row.lines == expected.lines


def _client(body: bytes, status: int = 200) -> QboClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, content=body))
    return QboClient("https://qbo.example", http=httpx.AsyncClient(transport=transport))


@pytest.mark.anyio
async def test_query_objects_splits_a_page_and_raises_what_the_body_says() -> None:
    items = await _client(PAGE).query_objects("1", "token", "SELECT * FROM Bill", "Bill")
    assert [decode_object(item)["Id"] for item in items] == ["1", "2"]
    # Not a plain page: parsed whole, as `query` does, so a Fault in a 200 still raises and odd JSON parses.
    fault = b'{"Fault": {"Error": [{"Message": "boom", "code": "10000"}], "type": "SystemFault"}}'
    with pytest.raises(QboError):
        await _client(fault).query_objects("1", "token", "SELECT * FROM Bill", "Bill")
    with pytest.raises(QboProtocolError):
        await _client(b"<html>busy</html>").query_objects("1", "token", "SELECT * FROM Bill", "Bill")
    odd = b'\xef\xbb\xbf{"QueryResponse": {"Bill": [{"Id": "3", "Amount": 1.50}, 4]}}'
    (item,) = await _client(odd).query_objects("1", "token", "SELECT * FROM Bill", "Bill")
    assert decode_object(item) == {"Id": "3", "Amount": Decimal("1.50")}

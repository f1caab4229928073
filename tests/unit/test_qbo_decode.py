"""Unit tests (domain QBO client): response bodies parse with exact Decimal numbers, as `json` would."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from domains.qbo.client import decode_body

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

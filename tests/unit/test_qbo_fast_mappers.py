"""Unit tests (domain QBO fast mappers): the fast path maps an object exactly as `mappers` does, or leaves it.

`map_fast` may decline any object (the sync then maps it with `mappers`), but whenever it answers, its row
must equal the row `mappers` gives for the same text; and it must decline every object `mappers` refuses.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domains.qbo.client import decode_body
from domains.qbo.demo import demo_companies
from domains.qbo.fast_mappers import FAST_MAPPERS, map_fast
from domains.qbo.mappers import MAPPERS, MappingError
from domains.qbo.sandbox.codec import dumps
from domains.synced import EntityRow, RawJSON

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "qbo"
HOME = "USD"


def _fixture_objects() -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key in FAST_MAPPERS and isinstance(item, dict):
                    found.append((key, item))
                elif key in FAST_MAPPERS and isinstance(item, list):
                    found.extend((key, obj) for obj in item if isinstance(obj, dict))
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for path in sorted(FIXTURES.glob("*.json")):
        walk(json.loads(path.read_text(), parse_float=Decimal))
    return found


FIXTURE_OBJECTS = _fixture_objects()


@functools.cache
def _demo_objects() -> list[tuple[str, dict[str, Any]]]:
    return [
        (entity, obj)
        for company in demo_companies(dt.date(2026, 11, 27))
        for entity, objects in company.entities.items()
        if entity in FAST_MAPPERS
        for obj in objects
    ]


def slow(entity: str, text: bytes) -> EntityRow:
    """The row `mappers` gives for the text, as the sync stores it (the text is the raw JSON)."""
    return MAPPERS[entity](decode_body(text), home_currency=HOME, raw_json=RawJSON(text.decode()))


def assert_same_as_slow(entity: str, text: bytes) -> EntityRow | None:
    fast = map_fast(entity, text, HOME)
    try:
        expected = slow(entity, text)
    except MappingError as exc:
        refused = str(exc)
    else:
        refused = None
    if refused is not None:
        assert fast is None, f"the fast path took an object mappers refuses ({refused})"
        return None
    if fast is not None:
        assert fast.values == expected.values
        assert [dict(line) for line in fast.lines] == [dict(line) for line in expected.lines]
    return fast


def test_every_synced_entity_has_a_fast_mapper() -> None:
    assert set(FAST_MAPPERS) == set(MAPPERS)


def test_fixtures_cover_every_entity() -> None:
    assert {entity for entity, _obj in FIXTURE_OBJECTS} == set(MAPPERS)


@pytest.mark.parametrize(("entity", "obj"), FIXTURE_OBJECTS, ids=[e for e, _o in FIXTURE_OBJECTS])
def test_recorded_payloads_map_as_mappers_map_them(entity: str, obj: dict[str, Any]) -> None:
    fast = assert_same_as_slow(entity, dumps(obj))
    if obj.get("status") == "Deleted":
        assert fast is None, "a deleted-entity marker is the sync's to handle, not a row"
    else:
        assert fast is not None, "a recorded payload left the fast path"


def test_demo_companies_map_as_mappers_map_them() -> None:
    taken = sum(assert_same_as_slow(entity, dumps(obj)) is not None for entity, obj in _demo_objects())
    # The messy company's deliberately broken objects are the only ones left to the slow path.
    assert taken >= 0.98 * len(_demo_objects())


@pytest.mark.parametrize(
    ("entity", "change", "why"),
    [
        ("Bill", {"Id": 25}, "an integer Id"),
        ("Bill", {"TotalAmt": "12,50"}, "an amount that is not a number"),
        ("Bill", {"DocNumber": "N" * 65}, "a DocNumber longer than its column"),
        ("Bill", {"status": "Deleted"}, "a deleted-entity marker"),
        ("Bill", {"TxnDate": "2025-02-30"}, "not a calendar date"),
        ("Bill", {"ExchangeRate": 0}, "a zero exchange rate"),
        ("Vendor", {"CurrencyRef": {"value": "usd"}}, "a lower-case currency"),
        ("BillPayment", {"PayType": "Cash"}, "an unknown pay type"),
    ],
)
def test_unusual_objects_leave_the_fast_path(entity: str, change: dict[str, Any], why: str) -> None:
    obj = next(copy.deepcopy(o) for e, o in FIXTURE_OBJECTS if e == entity)
    obj.update(change)
    assert map_fast(entity, dumps(obj), HOME) is None, why
    assert_same_as_slow(entity, dumps(obj))


def test_object_without_currency_takes_the_home_currency_only_when_it_is_a_code() -> None:
    obj = next(copy.deepcopy(o) for e, o in FIXTURE_OBJECTS if e == "Vendor")
    obj.pop("CurrencyRef", None)
    row = map_fast("Vendor", dumps(obj), "CAD")
    assert row is not None
    assert row.values["currency"] == "CAD"
    assert map_fast("Vendor", dumps(obj), "cad") is None


# --- random mutations: whatever the fast path accepts, it maps as `mappers` does -----------------------

_LEAF_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1]),
    st.decimals(allow_nan=False, allow_infinity=False, places=4),
    st.sampled_from(
        [
            "",
            "25",
            " 25",
            "25\n",
            "\uff12\uff15",
            "12.50",
            "NaN",
            "1e3",
            "USD",
            "usd",
            "2025-06-02",
            "2025-6-2",
            "2025-02-30",
            "2025-06-09T14:34:04-07:00",
            "2025-06-09T14:34:04.1234567+02:00",
            "2025-06-09T14:34:04Z",
            "2025-06-09T14:34:04",
            "Check",
            "CreditCard",
            "Deleted",
        ]
    ),
    st.integers(min_value=1, max_value=520).map(lambda n: "9" * n),
    # Fresh containers each time: a later mutation may write into them.
    st.builds(dict),
    st.builds(list),
    st.builds(lambda: [{"TxnId": "1", "TxnType": "Invoice"}, {"TxnId": "2", "TxnType": "Invoice"}]),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            paths.append((*prefix, key))
            paths.extend(_paths(item, (*prefix, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths.append((*prefix, index))
            paths.extend(_paths(item, (*prefix, index)))
    return paths


_SINGLE_CHANGES: list[Any] = [
    ...,  # the field removed
    None,
    True,
    0,
    -1,
    7,
    2**63,
    Decimal("0"),
    Decimal("-0.5"),
    Decimal("12.345"),
    Decimal("1E+2"),
    "",
    " ",
    "25",
    "\uff12\uff15",
    "12.50",
    "NaN",
    "USD",
    "2025-06-02",
    "2025-06-09T14:34:04Z",
    "2025-06-09T14:34:04",
    "Check",
    "CreditCard",
    "Deleted",
    *("9" * n for n in (3, 4, 16, 17, 32, 33, 64, 65, 100, 101, 500, 501)),
    *("N" * n for n in (3, 4, 16, 17, 32, 33, 64, 65, 100, 101, 500, 501)),
    {},
    [],
]


def test_every_single_field_change_maps_as_mappers_map_it_or_leaves_the_fast_path() -> None:
    """Each recorded payload with one field (at any depth) removed or set to each of the values above:
    the boundaries of every column's length, the shapes QBO might send, and values of the wrong type."""
    checked = 0
    for entity, original in FIXTURE_OBJECTS:
        for path in _paths(original):
            for value in _SINGLE_CHANGES:
                obj = copy.deepcopy(original)
                target = obj
                for step in path[:-1]:
                    target = target[step]
                if value is ...:
                    del target[path[-1]]
                else:
                    target[path[-1]] = copy.deepcopy(value)
                assert_same_as_slow(entity, dumps(obj))
                checked += 1
    assert checked > 10_000


@st.composite
def _mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    entity, original = draw(st.sampled_from(FIXTURE_OBJECTS))
    obj = copy.deepcopy(original)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(obj)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        target = obj
        for step in path[:-1]:
            target = target[step]
        if draw(st.booleans()) and isinstance(target, dict):
            del target[path[-1]]
        else:
            target[path[-1]] = draw(_LEAF_VALUES)
    return entity, obj


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated())
def test_mutated_objects_map_as_mappers_map_them_or_leave_the_fast_path(
    case: tuple[str, dict[str, Any]],
) -> None:
    entity, obj = case
    assert_same_as_slow(entity, dumps(obj))

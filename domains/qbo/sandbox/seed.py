"""Domain (QBO sandbox): seeding companies from QBO's own JSON, or from generated entity lists.

`load_seed_dir(storage, path, company_name)` reads every `*.json` file of a directory (in name order).
Each file must be one QBO response, in one of these shapes:

1. a query response: `{"QueryResponse": {"Bill": [{...}, ...], "startPosition": 1, "maxResults": 2}}`
   (any number of entity keys; an empty `{"QueryResponse": {}}` holds nothing);
2. a single-entity response: `{"Bill": {...}, "time": ...}`, including a delete answer
   `{"Bill": {"status": "Deleted", "domain": "QBO", "Id": "5"}}`;
3. a CDC response: `{"CDCResponse": [{"QueryResponse": [{"Bill": [...], "startPosition": 1}, ...]}]}`.

Anything else is refused with a `SeedError` naming the file and the reason: invalid JSON, a top-level array,
a Fault, the plain `{"Bill": [...]}` list form (not something QBO answers), an entity that is not an object,
an Id that is not a string of digits. Nothing is stored unless every file is good: the company and all its
documents are written in one transaction.

Rules: entity types Runway does not use are kept as they are; an entity with `"status": "Deleted"` is a
deletion (it wins over any live copy, as QBO never undeletes); the same (type, Id) twice keeps the higher
SyncToken (the later one on a tie). Documents are otherwise taken as given: only fields QBO always returns
(Active, TotalAmt, Balance, domain, MetaData...) are filled when missing; payment links are not re-applied.
CompanyInfo and Preferences become the company's own (CompanyName set to `company_name`); QBO-like defaults
with HomeCurrency USD are created when absent.

`seed_company(storage, company_name, entities, company_info=..., preferences=...)` does the same for generated
data given as `{"Bill": [{...}, ...]}`; documents without an Id get the next free ones. Money must be Decimal,
int or a numeric string: a float anywhere is refused.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domains.qbo.sandbox.codec import entity_timestamp, load_zone, loads, parse_timestamp, utc_key
from domains.qbo.sandbox.entities import SINGLETONS, fill_seed_defaults, is_entity_name, sync_token
from domains.qbo.sandbox.storage import SandboxStorage, StoredEntity

_COUNTERS = ("startPosition", "maxResults", "totalCount")
_DEFAULT_TIMEZONE = "America/Los_Angeles"


class SeedError(ValueError):
    """A seed file (or entity list) that cannot be loaded; `source` names it and `reason` says why."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


@dataclass
class _Record:
    entity: str
    entity_id: int | None
    token: int
    doc: dict[str, Any]
    deleted: bool
    source: str


def _reject_floats(value: Any, where: str, source: str) -> None:
    if isinstance(value, float):
        raise SeedError(source, f"{where} is a float; give money as Decimal, int or a numeric string")
    if isinstance(value, dict):
        for key, item in value.items():
            _reject_floats(item, f"{where}.{key}", source)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _reject_floats(item, f"{where}[{index}]", source)


def _record(entity: str, doc: Any, where: str, source: str, *, id_required: bool) -> _Record:
    if not is_entity_name(entity):
        raise SeedError(source, f"{entity!r} is not a QBO entity name")
    if not isinstance(doc, dict):
        raise SeedError(source, f"{where} is not a JSON object")
    _reject_floats(doc, where, source)
    raw_id = doc.get("Id")
    entity_id: int | None = None
    if raw_id is not None or id_required:
        if not (isinstance(raw_id, str) and raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 18):
            raise SeedError(source, f"{where}.Id must be a string of digits, got {raw_id!r}")
        entity_id = int(raw_id)
    token = 0
    if "SyncToken" in doc:
        parsed = sync_token(doc["SyncToken"])
        if parsed is None:
            raise SeedError(source, f"{where}.SyncToken must be a string of digits, got {doc['SyncToken']!r}")
        token = parsed
    meta = doc.get("MetaData")
    if meta is not None and not isinstance(meta, dict):
        raise SeedError(source, f"{where}.MetaData is not an object")
    for stamp in ("CreateTime", "LastUpdatedTime"):
        value = (meta or {}).get(stamp)
        if value is not None and (not isinstance(value, str) or parse_timestamp(value, dt.UTC) is None):
            raise SeedError(source, f"{where}.MetaData.{stamp} is not a timestamp: {value!r}")
    return _Record(entity, entity_id, token, doc, doc.get("status") == "Deleted", source)


def _entity_list(entity: str, items: Any, where: str, source: str) -> list[_Record]:
    if not isinstance(items, list):
        raise SeedError(source, f"{where} must be a list of {entity} objects")
    return [_record(entity, item, f"{where}[{i}]", source, id_required=True) for i, item in enumerate(items)]


def parse_response(data: Any, source: str) -> list[_Record]:
    """The entities in one QBO response document, or a SeedError saying why it is not one."""
    if not isinstance(data, dict):
        kind = "an array" if isinstance(data, list) else type(data).__name__
        raise SeedError(source, f"not a QBO response: the top level is {kind}, not an object")
    keys = [key for key in data if key != "time"]
    if any(key.lower() == "fault" for key in keys):
        raise SeedError(source, "a Fault response holds no entities")
    if keys == ["QueryResponse"]:
        body = data["QueryResponse"]
        if not isinstance(body, dict):
            raise SeedError(source, "QueryResponse must be an object")
        records: list[_Record] = []
        for entity, items in body.items():
            if entity not in _COUNTERS:
                records += _entity_list(entity, items, f"QueryResponse.{entity}", source)
        return records
    if keys == ["CDCResponse"]:
        body = data["CDCResponse"]
        if not isinstance(body, list):
            raise SeedError(source, "CDCResponse must be an array")
        records = []
        for i, block in enumerate(body):
            responses = block.get("QueryResponse") if isinstance(block, dict) else None
            if not isinstance(responses, list):
                raise SeedError(source, f"CDCResponse[{i}].QueryResponse must be an array")
            for j, response in enumerate(responses):
                if not isinstance(response, dict):
                    raise SeedError(source, f"CDCResponse[{i}].QueryResponse[{j}] is not an object")
                for entity, items in response.items():
                    if entity not in _COUNTERS:
                        where = f"CDCResponse[{i}].QueryResponse[{j}].{entity}"
                        records += _entity_list(entity, items, where, source)
        return records
    if len(keys) == 1 and is_entity_name(keys[0]):
        entity = keys[0]
        if isinstance(data[entity], list):
            raise SeedError(
                source,
                f'a plain {{"{entity}": [...]}} list is not a QBO response shape; '
                f'use {{"QueryResponse": {{"{entity}": [...]}}}}',
            )
        return [_record(entity, data[entity], entity, source, id_required=True)]
    shown = ", ".join(keys) or "none"
    raise SeedError(
        source,
        f"not a QBO response shape (top-level keys: {shown}); expected QueryResponse, CDCResponse "
        "or a single entity",
    )


def read_seed_dir(path: str | Path) -> list[_Record]:
    directory = Path(path)
    if not directory.is_dir():
        raise SeedError(str(directory), "not a directory")
    records: list[_Record] = []
    for file in sorted(directory.glob("*.json")):
        try:
            data = loads(file.read_bytes())
        except ValueError as exc:
            raise SeedError(file.name, f"invalid JSON ({exc})") from exc
        records += parse_response(data, file.name)
    return records


def _default_company_info(company_name: str, today: dt.date) -> dict[str, Any]:
    return {
        "CompanyName": company_name,
        "LegalName": company_name,
        "CompanyAddr": {"Id": "1", "City": "Mountain View", "CountrySubDivisionCode": "CA", "Country": "USA"},
        "Country": "US",
        "FiscalYearStartMonth": "January",
        "CompanyStartDate": today.isoformat(),
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
        ],
        "Id": "1",
    }


def _default_preferences() -> dict[str, Any]:
    return {
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
        },
        "SalesFormsPrefs": {"AllowDeposit": True, "AllowDiscount": True, "AllowShipping": False},
        "VendorAndPurchasesPrefs": {"TrackingByCustomer": True, "BillableExpenseTracking": True},
        "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "TaxPrefs": {"UsingSalesTax": False},
        "Id": "1",
    }


def _merge(records: Iterable[_Record]) -> tuple[list[_Record], list[_Record], dict[str, _Record]]:
    """Keyed records (deletion wins, else higher SyncToken, later on a tie), Id-less records, singletons."""
    keyed: dict[tuple[str, int], _Record] = {}
    unkeyed: list[_Record] = []
    singletons: dict[str, _Record] = {}
    for record in records:
        if record.entity in SINGLETONS and not record.deleted:
            held = singletons.get(record.entity)
            if held is None or record.token >= held.token:
                singletons[record.entity] = record
            continue
        if record.entity_id is None:
            unkeyed.append(record)
            continue
        key = (record.entity, record.entity_id)
        held_record = keyed.get(key)
        if held_record is None or (
            not held_record.deleted and (record.deleted or record.token >= held_record.token)
        ):
            keyed[key] = record
    return list(keyed.values()), unkeyed, singletons


def _stored(realm_id: str, record: _Record, entity_id: int, now: dt.datetime, tz: dt.tzinfo) -> StoredEntity:
    doc = copy.deepcopy(record.doc)
    given = dict(doc.get("MetaData") or {})
    stamp = entity_timestamp(now, tz)
    last_updated = given.get("LastUpdatedTime", given.get("CreateTime", stamp))
    meta = {"CreateTime": given.get("CreateTime", last_updated), **given, "LastUpdatedTime": last_updated}
    updated = parse_timestamp(str(meta["LastUpdatedTime"]), tz) or now
    created = parse_timestamp(str(meta.get("CreateTime", meta["LastUpdatedTime"])), tz) or updated
    if record.deleted:
        doc = {"domain": "QBO", "status": "Deleted", "Id": str(entity_id), "MetaData": meta}
    else:
        fill_seed_defaults(record.entity, doc)
        doc.setdefault("domain", "QBO")
        doc.setdefault("sparse", False)
        doc["Id"] = str(entity_id)
        doc["SyncToken"] = str(record.token)
        doc["MetaData"] = meta
    return StoredEntity(
        realm_id=realm_id,
        entity=record.entity,
        id=entity_id,
        sync_token=record.token,
        doc=doc,
        created_utc=utc_key(created),
        updated_utc=utc_key(updated),
        deleted=record.deleted,
    )


async def _load(
    storage: SandboxStorage,
    company_name: str,
    records: Sequence[_Record],
    *,
    realm_id: str | None,
    timezone: str,
) -> str:
    name = company_name.strip() if company_name else ""
    if not name:
        raise SeedError("company_name", "a company needs a name")
    tz = load_zone(timezone)
    now = storage.clock()
    keyed, unkeyed, singletons = _merge(records)

    planned: list[tuple[_Record, int]] = [(record, record.entity_id or 0) for record in keyed]
    next_id = max((entity_id for _, entity_id in planned), default=0) + 1
    for record in unkeyed:
        planned.append((record, next_id))
        next_id += 1
    info = singletons.get("CompanyInfo")
    info_doc = copy.deepcopy(info.doc) if info else _default_company_info(name, now.astimezone(tz).date())
    info_doc["CompanyName"] = name
    prefs = singletons.get("Preferences")
    prefs_doc = copy.deepcopy(prefs.doc) if prefs else _default_preferences()
    for entity, doc, held in (("CompanyInfo", info_doc, info), ("Preferences", prefs_doc, prefs)):
        doc.setdefault("Id", "1")
        record = _record(entity, doc, entity, entity, id_required=True)
        record.token = held.token if held else 0
        planned.append((record, record.entity_id or 1))
    next_id = max(next_id, max(entity_id for _, entity_id in planned) + 1)

    async with storage.write() as tx:
        try:
            created_realm = await tx.create_realm(name, utc_key(now), realm_id)
        except ValueError as exc:
            raise SeedError("realm_id", str(exc)) from exc
        await tx.insert_many(
            [_stored(created_realm, record, entity_id, now, tz) for record, entity_id in planned]
        )
        await tx.set_next_id(created_realm, next_id)
    return created_realm


async def load_seed_dir(
    storage: SandboxStorage,
    path: str | Path,
    company_name: str,
    *,
    realm_id: str | None = None,
    timezone: str = _DEFAULT_TIMEZONE,
) -> str:
    """Create a company from a directory of QBO response files; returns its realm id (see module doc)."""
    return await _load(storage, company_name, read_seed_dir(path), realm_id=realm_id, timezone=timezone)


async def seed_company(
    storage: SandboxStorage,
    company_name: str,
    entities: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    *,
    company_info: Mapping[str, Any] | None = None,
    preferences: Mapping[str, Any] | None = None,
    realm_id: str | None = None,
    timezone: str = _DEFAULT_TIMEZONE,
) -> str:
    """Create a company from generated documents (`{"Vendor": [{...}], ...}`); returns its realm id."""
    records: list[_Record] = []
    for entity, items in (entities or {}).items():
        if not isinstance(items, Sequence) or isinstance(items, str | bytes):
            raise SeedError(entity, "entities must map each type to a list of documents")
        for index, item in enumerate(items):
            doc = copy.deepcopy(dict(item)) if isinstance(item, Mapping) else item
            records.append(_record(entity, doc, f"{entity}[{index}]", entity, id_required=False))
    for entity, given in (("CompanyInfo", company_info), ("Preferences", preferences)):
        if given is not None:
            doc = copy.deepcopy(dict(given))
            doc.setdefault("Id", "1")
            records.append(_record(entity, doc, entity, entity, id_required=True))
    return await _load(storage, company_name, records, realm_id=realm_id, timezone=timezone)

"""Domain (QBO sandbox): the Accounting API operations — read, query, write, delete, void, batch, CDC, send.

Every method answers with the JSON body QBO would send (bytes, `time` included) or raises a `QboFault`.
Writes run in one serialised transaction: the request-id replay check, the change, the replay record and
the linked balance updates commit together, and webhooks are published only after the commit.

Each write validates everything before it stores anything, so a batch can run all its items in one
transaction and still give every failing item its own Fault without undoing the others.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from domains.qbo.sandbox import faults
from domains.qbo.sandbox.codec import (
    dumps,
    entity_timestamp,
    loads,
    parse_timestamp,
    response_time,
    to_decimal,
    utc_key,
)
from domains.qbo.sandbox.entities import (
    BALANCED,
    CDC_UNSUPPORTED,
    NAME_LISTS,
    PAYMENT_LINK_TYPES,
    PAYMENT_TARGETS,
    SINGLETONS,
    SYSTEM_KEYS,
    applications,
    apply_rules,
    name_key,
    numeric_id,
    payment_link_type,
    resolve_entity,
    resource_entity,
    sync_token,
)
from domains.qbo.sandbox.query import Query, evaluate, parse, plan
from domains.qbo.sandbox.reports import aged_report
from domains.qbo.sandbox.storage import SandboxStorage, StoredEntity, Tx
from domains.qbo.sandbox.webhooks import ChangeEvent

CDC_LOOKBACK = dt.timedelta(days=30)
CDC_MAX_OBJECTS = 1000
BATCH_MAX_ITEMS = 30
SENDABLE = frozenset({"Invoice", "Estimate", "CreditMemo", "SalesReceipt", "RefundReceipt", "PurchaseOrder"})
REPORTS = frozenset({"AgedPayables", "AgedReceivables"})


class UnknownRealm(LookupError):
    """The URL names a company the sandbox does not hold."""


@dataclass
class _Write:
    """State of one write transaction: the clock reading, the next free Id and the changes to announce."""

    tx: Tx
    realm_id: str
    now: dt.datetime
    next_id: int
    events: list[ChangeEvent] = field(default_factory=list)
    home_currency: str | None = None


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in doc.items() if key not in SYSTEM_KEYS}


def _body_object(body: bytes | dict[str, Any]) -> dict[str, Any]:
    if isinstance(body, dict):
        return body
    try:
        parsed = loads(body) if body else None
    except ValueError as exc:
        raise faults.invalid_property(f"the request body is not valid JSON ({exc})") from exc
    if not isinstance(parsed, dict):
        raise faults.invalid_property("the request body must be a JSON object")
    return parsed


class QboApi:
    """The operations behind `/v3/company/{realmId}/...`."""

    def __init__(
        self,
        storage: SandboxStorage,
        *,
        tz: dt.tzinfo,
        clock: Callable[[], dt.datetime],
        publish: Callable[[Sequence[ChangeEvent]], None],
    ) -> None:
        self.storage = storage
        self.tz = tz
        self.clock = clock
        self.publish = publish

    # Envelopes and lookups

    def time(self) -> str:
        return response_time(self.clock(), self.tz)

    def envelope(self, payload: dict[str, Any]) -> bytes:
        payload["time"] = self.time()
        return dumps(payload)

    async def _realm(self, tx: Tx, realm_id: str) -> None:
        if await tx.realm(realm_id) is None:
            raise UnknownRealm(realm_id)

    async def _resource(self, tx: Tx, realm_id: str, segment: str) -> str:
        entity = resource_entity(segment) or resource_entity(segment, await tx.entity_types(realm_id))
        if entity is None:
            raise faults.unsupported(f"Unsupported resource /{segment}.")
        return entity

    async def _query_entity(self, tx: Tx, realm_id: str, name: str) -> str | None:
        return resolve_entity(name) or resolve_entity(name, await tx.entity_types(realm_id))

    # Reads

    async def read(self, realm_id: str, resource: str, id_text: str) -> bytes:
        async with self.storage.read() as tx:
            await self._realm(tx, realm_id)
            entity = await self._resource(tx, realm_id, resource)
            entity_id = numeric_id(id_text)
            stored = await tx.get(realm_id, entity, entity_id)
        if stored is None or stored.deleted:
            raise faults.not_found()
        return self.envelope({entity: stored.doc})

    async def company_info(self, realm_id: str, id_text: str) -> bytes:
        async with self.storage.read() as tx:
            await self._realm(tx, realm_id)
            stored = await tx.first(realm_id, "CompanyInfo")
        if stored is None or id_text not in (realm_id, stored.doc.get("Id")):
            raise faults.not_found()
        return self.envelope({"CompanyInfo": stored.doc})

    async def preferences(self, realm_id: str) -> bytes:
        async with self.storage.read() as tx:
            await self._realm(tx, realm_id)
            stored = await tx.first(realm_id, "Preferences")
        if stored is None:
            raise faults.not_found()
        return self.envelope({"Preferences": stored.doc})

    async def query(self, realm_id: str, text: str) -> bytes:
        parsed = parse(text)
        async with self.storage.read() as tx:
            await self._realm(tx, realm_id)
            payload = await self._run_query(tx, realm_id, parsed)
        return self.envelope(payload)

    async def _run_query(self, tx: Tx, realm_id: str, query: Query) -> dict[str, Any]:
        entity = await self._query_entity(tx, realm_id, query.entity)
        if entity is None:
            raise faults.invalid_query(f"{query.entity} is not a valid entity.")
        query_plan = plan(query, name_list=entity in NAME_LISTS, tz=self.tz)
        if query.count:
            if query_plan.residual:
                rows = await tx.select(realm_id, entity, query_plan.filters)
                total = len(evaluate(rows, query, query_plan, self.tz))
            else:
                total = await tx.count(realm_id, entity, query_plan.filters)
            return {"QueryResponse": {"totalCount": total}}
        offset = query.start_position - 1
        if query_plan.order_column is not None and not query_plan.residual:
            rows = await tx.select(
                realm_id,
                entity,
                query_plan.filters,
                order_column=query_plan.order_column,
                descending=query.descending,
                limit=query.max_results,
                offset=offset,
            )
        else:
            rows = await tx.select(
                realm_id,
                entity,
                query_plan.filters,
                order_column=query_plan.order_column or "id",
                descending=query.descending and query_plan.order_column is not None,
            )
            rows = evaluate(rows, query, query_plan, self.tz)[offset : offset + query.max_results]
        if not rows:
            # Past the end (or nothing at all): no entity key and no counters, as QBO answers.
            return {"QueryResponse": {}}
        return {
            "QueryResponse": {
                entity: [row.doc for row in rows],
                "startPosition": query.start_position,
                "maxResults": len(rows),
            }
        }

    async def cdc(self, realm_id: str, entities_param: str | None, changed_since: str | None) -> bytes:
        # The recorded answers to a missing or unknown entity are SystemFaults carried by HTTP 200.
        if not entities_param or not entities_param.strip():
            raise faults.system_failure(
                "java.lang.IllegalArgumentException: entities is required", status=200
            )
        if not changed_since or not changed_since.strip():
            raise faults.system_failure(
                "java.lang.IllegalArgumentException: changedSince is required", status=200
            )
        since = parse_timestamp(changed_since, self.tz)
        if since is None:
            raise faults.system_failure(
                f"java.lang.IllegalArgumentException: invalid changedSince {changed_since}", status=200
            )
        if since < self.clock() - CDC_LOOKBACK:
            raise faults.unsupported(
                f"Operation cdc with changedSince date {changed_since} which is older than fixed days "
                "is not supported."
            )
        async with self.storage.read() as tx:
            await self._realm(tx, realm_id)
            names: list[str] = []
            for raw in entities_param.split(","):
                name = raw.strip()
                if not name:
                    continue
                entity = await self._query_entity(tx, realm_id, name)
                if entity is None:
                    raise faults.system_failure(
                        f"java.lang.IllegalArgumentException: Invalid entity supplied : entity={name}",
                        status=200,
                    )
                if entity in CDC_UNSUPPORTED:
                    raise faults.unsupported(f"Operation cdc is not supported for entity {entity}.")
                if entity not in names:
                    names.append(entity)
            rows = await tx.changed_since(realm_id, names, utc_key(since), CDC_MAX_OBJECTS)
        blocks: list[dict[str, Any]] = []
        for entity in names:
            live = [row.doc for row in rows if row.entity == entity and not row.deleted]
            gone = [
                {
                    "domain": "QBO",
                    "status": "Deleted",
                    "Id": str(row.id),
                    "MetaData": {"LastUpdatedTime": row.doc.get("MetaData", {}).get("LastUpdatedTime")},
                }
                for row in rows
                if row.entity == entity and row.deleted
            ]
            items = live + gone
            blocks.append({entity: items, "startPosition": 1, "maxResults": len(items)} if items else {})
        return self.envelope({"CDCResponse": [{"QueryResponse": blocks}]})

    async def report(self, realm_id: str, name: str, params: dict[str, str]) -> bytes:
        if name not in REPORTS:
            raise faults.unsupported(f"Report {name} is not available in this sandbox.")
        async with self.storage.read() as tx:
            await self._realm(tx, realm_id)
            payload = await aged_report(tx, realm_id, name, params, tz=self.tz, now=self.clock())
        return dumps(payload)

    # Writes

    async def _transaction(
        self,
        realm_id: str,
        request_id: str | None,
        action: Callable[[_Write], Awaitable[dict[str, Any]]],
    ) -> bytes:
        async with self.storage.write() as tx:
            realm = await tx.realm(realm_id)
            if realm is None:
                raise UnknownRealm(realm_id)
            if request_id:
                replayed = await tx.replay(realm_id, request_id)
                if replayed is not None:
                    # Same requestid for this company: the original answer, nothing done again.
                    return replayed
            write = _Write(tx=tx, realm_id=realm_id, now=self.clock(), next_id=realm.next_id)
            payload = await action(write)
            payload["time"] = response_time(write.now, self.tz)
            body = dumps(payload)
            if write.next_id != realm.next_id:
                await tx.set_next_id(realm_id, write.next_id)
            if request_id:
                await tx.remember(realm_id, request_id, body, utc_key(write.now))
        self.publish(write.events)
        return body

    async def write(
        self,
        realm_id: str,
        resource: str,
        body: bytes | dict[str, Any],
        *,
        operation: str | None = None,
        include: str | None = None,
        request_id: str | None = None,
    ) -> bytes:
        """POST /{resource}: create, full or sparse update, `?operation=delete`, or void."""
        doc = _body_object(body)

        async def action(write: _Write) -> dict[str, Any]:
            entity = await self._resource(write.tx, realm_id, resource)
            op = (operation or "").lower()
            if op == "delete":
                return {entity: await self._delete(write, entity, doc)}
            if op == "void" or (op == "update" and (include or "").lower() == "void"):
                return {entity: await self._void(write, entity, doc)}
            if op not in ("", "create", "update"):
                raise faults.unsupported(f"Operation {operation} is not supported.")
            if doc.get("Id") not in (None, ""):
                return {entity: await self._update(write, entity, doc)}
            return {entity: await self._create(write, entity, doc)}

        return await self._transaction(realm_id, request_id, action)

    async def batch(
        self, realm_id: str, body: bytes | dict[str, Any], *, request_id: str | None = None
    ) -> bytes:
        payload = _body_object(body)
        items = payload.get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise faults.required("BatchItemRequest")
        if len(items) > BATCH_MAX_ITEMS:
            raise faults.unsupported(
                f"A batch request may carry at most {BATCH_MAX_ITEMS} BatchItemRequest objects, "
                f"not {len(items)}."
            )

        async def action(write: _Write) -> dict[str, Any]:
            return {"BatchItemResponse": [await self._batch_item(write, item) for item in items]}

        return await self._transaction(realm_id, request_id, action)

    async def _batch_item(self, write: _Write, item: Any) -> dict[str, Any]:
        bid = item.get("bId") if isinstance(item, dict) else None
        try:
            if not isinstance(item, dict):
                raise faults.invalid_property("each BatchItemRequest must be an object")
            if "Query" in item:
                if not isinstance(item["Query"], str):
                    raise faults.query_parse_error("Query must be a string.")
                result = await self._run_query(write.tx, write.realm_id, parse(item["Query"]))
                return {"bId": bid, **result}
            keys = [key for key in item if key not in ("bId", "operation", "optionsData")]
            if len(keys) != 1 or not isinstance(item[keys[0]], dict):
                raise faults.invalid_property("a BatchItemRequest needs exactly one entity object or a Query")
            name = keys[0]
            entity = resolve_entity(name, await write.tx.entity_types(write.realm_id))
            if entity is None:
                raise faults.unsupported(f"Unsupported entity {name}.")
            doc = item[name]
            operation = str(item.get("operation", "")).lower()
            if operation == "create":
                result_doc = await self._create(write, entity, doc)
            elif operation == "update" and str(item.get("optionsData", "")).lower() == "void":
                result_doc = await self._void(write, entity, doc)
            elif operation == "update":
                result_doc = await self._update(write, entity, doc)
            elif operation == "delete":
                result_doc = await self._delete(write, entity, doc)
            else:
                raise faults.unsupported(f"Operation {item.get('operation')} is not supported in a batch.")
            return {"bId": bid, entity: result_doc}
        except faults.QboFault as fault:
            return {"bId": bid, "Fault": fault.fault()}

    async def send(
        self,
        realm_id: str,
        resource: str,
        id_text: str,
        send_to: str | None,
        *,
        request_id: str | None = None,
    ) -> bytes:
        """POST /invoice/{id}/send[?sendTo=]: record the email and mark the document sent."""

        async def action(write: _Write) -> dict[str, Any]:
            entity = await self._resource(write.tx, realm_id, resource)
            if entity not in SENDABLE:
                raise faults.unsupported(f"Send is not supported for {entity}.")
            current = await self._live(write, entity, numeric_id(id_text))
            doc = copy.deepcopy(current.doc)
            if send_to:
                doc["BillEmail"] = {"Address": send_to}
            bill_email = doc.get("BillEmail")
            address = bill_email.get("Address") if isinstance(bill_email, dict) else None
            if not address:
                raise faults.required("BillEmail.Address")
            doc["EmailStatus"] = "EmailSent"
            doc["DeliveryInfo"] = {
                "DeliveryType": "Email",
                "DeliveryTime": entity_timestamp(write.now, self.tz),
            }
            current.doc = doc
            await self._store(write, current, "Emailed", bump=True)
            await write.tx.record_email(realm_id, entity, str(current.id), address, utc_key(write.now))
            return {entity: current.doc}

        return await self._transaction(realm_id, request_id, action)

    # Write steps

    async def _live(self, write: _Write, entity: str, entity_id: int) -> StoredEntity:
        stored = await write.tx.get(write.realm_id, entity, entity_id)
        if stored is None or stored.deleted:
            raise faults.not_found()
        return stored

    async def _current_for_change(self, write: _Write, entity: str, body: dict[str, Any]) -> StoredEntity:
        """The stored document an update/delete/void names, checked against the SyncToken it was read at."""
        if "Id" not in body or body["Id"] in (None, ""):
            raise faults.required("Id")
        current = await self._live(write, entity, numeric_id(body["Id"]))
        token = sync_token(body.get("SyncToken"))
        if token is None:
            raise faults.required("SyncToken")
        if token != current.sync_token:
            raise faults.stale_object()
        return current

    async def _home_currency(self, write: _Write) -> str:
        if write.home_currency is None:
            prefs = await write.tx.first(write.realm_id, "Preferences")
            currency = "USD"
            if prefs is not None:
                home = (prefs.doc.get("CurrencyPrefs") or {}).get("HomeCurrency") or {}
                if isinstance(home, dict) and isinstance(home.get("value"), str):
                    currency = home["value"]
            write.home_currency = currency
        return write.home_currency

    async def _due_days(self, write: _Write, doc: dict[str, Any]) -> int | None:
        ref = doc.get("SalesTermRef")
        if not isinstance(ref, dict) or not str(ref.get("value", "")).isdigit():
            return None
        term = await write.tx.get(write.realm_id, "Term", int(ref["value"]))
        if term is None or term.deleted:
            return None
        days = term.doc.get("DueDays")
        return days if isinstance(days, int) and not isinstance(days, bool) else None

    async def _complete(
        self,
        write: _Write,
        entity: str,
        doc: dict[str, Any],
        previous: dict[str, Any] | None,
        *,
        lines_changed: bool = True,
    ) -> None:
        applied = Decimal(0)
        if previous is not None and entity in BALANCED:
            total = to_decimal(previous.get("TotalAmt"))
            balance = to_decimal(previous.get("Balance"))
            if total is not None and balance is not None:
                applied = total - balance
        apply_rules(
            entity,
            doc,
            creating=previous is None,
            applied=applied,
            today=write.now.astimezone(self.tz).date(),
            home_currency=await self._home_currency(write),
            due_days=await self._due_days(write, doc),
            lines_changed=lines_changed,
        )
        key = name_key(entity, doc)
        entity_id = numeric_id(previous["Id"]) if previous is not None and "Id" in previous else None
        if key is not None and await write.tx.name_taken(write.realm_id, key, entity, entity_id):
            raise faults.duplicate_name()

    async def _payment_targets(
        self,
        write: _Write,
        entity: str,
        payment_id: int,
        old: dict[str, Any] | None,
        new: dict[str, Any] | None,
    ) -> list[StoredEntity]:
        """Bills/Invoices whose Balance and LinkedTxn change because this payment was written or removed."""
        target_entity = PAYMENT_TARGETS.get(entity)
        if target_entity is None:
            return []
        before = applications(entity, old)
        after = applications(entity, new)
        link_type = payment_link_type(entity, new or old or {})
        changed: list[StoredEntity] = []
        for txn_id in sorted(set(before) | set(after), key=lambda value: (len(value), value)):
            delta = after.get(txn_id, Decimal(0)) - before.get(txn_id, Decimal(0))
            if delta == 0 and txn_id in before and txn_id in after:
                continue
            target = None
            if txn_id.isascii() and txn_id.isdigit():
                target = await write.tx.get(write.realm_id, target_entity, int(txn_id))
            if target is None or target.deleted:
                if txn_id in after:
                    raise faults.invalid_reference("LinkedTxn.TxnId", txn_id)
                continue
            doc = copy.deepcopy(target.doc)
            balance = to_decimal(doc.get("Balance"))
            if balance is None:
                balance = to_decimal(doc.get("TotalAmt")) or Decimal(0)
            remaining = balance - delta
            if remaining < 0:
                raise faults.business_rule(
                    f"The payment applies more to {target_entity} {txn_id} "
                    f"than its open balance of {balance}."
                )
            doc["Balance"] = remaining
            links = [
                link
                for link in doc.get("LinkedTxn") or []
                if not (
                    isinstance(link, dict)
                    and link.get("TxnId") == str(payment_id)
                    and link.get("TxnType") in PAYMENT_LINK_TYPES
                )
            ]
            if txn_id in after:
                links.append({"TxnId": str(payment_id), "TxnType": link_type})
            if links:
                doc["LinkedTxn"] = links
            else:
                doc.pop("LinkedTxn", None)
            target.doc = doc
            changed.append(target)
        return changed

    async def _store(self, write: _Write, stored: StoredEntity, operation: str, *, bump: bool) -> None:
        """Stamp and save a document, and note the change for webhooks."""
        if bump:
            stored.sync_token += 1
        stamp = entity_timestamp(write.now, self.tz)
        meta = dict(stored.doc.get("MetaData") or {})
        meta.setdefault("CreateTime", stamp)
        meta["LastUpdatedTime"] = stamp
        stored.doc["SyncToken"] = str(stored.sync_token)
        stored.doc["MetaData"] = meta
        stored.updated_utc = utc_key(write.now)
        await write.tx.put(stored)
        write.events.append(
            ChangeEvent(
                write.realm_id, stored.entity, str(stored.id), operation, write.now.replace(microsecond=0)
            )
        )

    def _system_fields(self, doc: dict[str, Any], entity_id: int, token: int, meta: dict[str, Any]) -> None:
        doc["domain"] = "QBO"
        doc["sparse"] = False
        doc["Id"] = str(entity_id)
        doc["SyncToken"] = str(token)
        doc["MetaData"] = meta

    async def _create(self, write: _Write, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        if entity in SINGLETONS:
            raise faults.unsupported(f"Create is not supported for {entity}.")
        doc = copy.deepcopy(_strip(body))
        await self._complete(write, entity, doc, None)
        new_id = write.next_id
        stamp = entity_timestamp(write.now, self.tz)
        self._system_fields(doc, new_id, 0, {"CreateTime": stamp, "LastUpdatedTime": stamp})
        targets = await self._payment_targets(write, entity, new_id, None, doc)
        # Everything is valid: from here on the Id is spent and the rows are written.
        write.next_id = new_id + 1
        created = StoredEntity(
            write.realm_id,
            entity,
            new_id,
            0,
            doc,
            created_utc=utc_key(write.now),
            updated_utc=utc_key(write.now),
        )
        await self._store(write, created, "Create", bump=False)
        for target in targets:
            await self._store(write, target, "Update", bump=True)
        return doc

    async def _update(self, write: _Write, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        current = await self._current_for_change(write, entity, body)
        incoming = copy.deepcopy(_strip(body))
        # A sparse update merges top-level fields; a full one replaces the document, so writable fields
        # left out become empty.
        sparse = body.get("sparse") is True
        doc = {**_strip(current.doc), **incoming} if sparse else incoming
        if entity in PAYMENT_TARGETS.values():
            # Payment links on a Bill/Invoice are kept by the server, whatever the client sends.
            kept = [
                link
                for link in current.doc.get("LinkedTxn") or []
                if isinstance(link, dict) and link.get("TxnType") in PAYMENT_LINK_TYPES
            ]
            others = [
                link
                for link in doc.get("LinkedTxn") or []
                if not (isinstance(link, dict) and link.get("TxnType") in PAYMENT_LINK_TYPES)
            ]
            if kept or others:
                doc["LinkedTxn"] = others + kept
            else:
                doc.pop("LinkedTxn", None)
        lines_changed = not sparse or "Line" in incoming or "TxnTaxDetail" in incoming
        await self._complete(write, entity, doc, current.doc, lines_changed=lines_changed)
        self._system_fields(doc, current.id, current.sync_token, dict(current.doc.get("MetaData") or {}))
        targets = await self._payment_targets(write, entity, current.id, current.doc, doc)
        current.doc = doc
        await self._store(write, current, "Update", bump=True)
        for target in targets:
            await self._store(write, target, "Update", bump=True)
        if entity == "CompanyInfo" and isinstance(doc.get("CompanyName"), str):
            await write.tx.rename_realm(write.realm_id, doc["CompanyName"])
        return doc

    async def _delete(self, write: _Write, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        if entity in NAME_LISTS or entity in SINGLETONS:
            raise faults.unsupported(
                f"Operation Delete is not supported for {entity}; make a name-list entity inactive instead."
            )
        current = await self._current_for_change(write, entity, body)
        if entity == "Bill" and any(
            isinstance(link, dict) and link.get("TxnType") in PAYMENT_LINK_TYPES
            for link in current.doc.get("LinkedTxn") or []
        ):
            raise faults.business_rule("This bill has linked payments; unlink them before deleting it.")
        targets = await self._payment_targets(write, entity, current.id, current.doc, None)
        current.deleted = True
        await self._store(write, current, "Delete", bump=True)
        for target in targets:
            await self._store(write, target, "Update", bump=True)
        return {"status": "Deleted", "domain": "QBO", "Id": str(current.id)}

    async def _void(self, write: _Write, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        if entity not in ("Invoice", "Payment", "BillPayment"):
            raise faults.unsupported(f"Operation Void is not supported for {entity}.")
        current = await self._current_for_change(write, entity, body)
        doc = copy.deepcopy(current.doc)
        if entity == "Invoice":
            if any(
                isinstance(link, dict) and link.get("TxnType") in PAYMENT_LINK_TYPES
                for link in doc.get("LinkedTxn") or []
            ):
                raise faults.business_rule(
                    "This invoice has payments applied; remove them before voiding it."
                )
            for line in doc.get("Line") or []:
                if isinstance(line, dict) and "Amount" in line:
                    line["Amount"] = Decimal(0)
            doc["Balance"] = Decimal(0)
        else:
            doc["Line"] = []
            if entity == "Payment":
                doc["UnappliedAmt"] = Decimal(0)
        doc["TotalAmt"] = Decimal(0)
        note = doc.get("PrivateNote")
        doc["PrivateNote"] = f"Voided - {note}" if isinstance(note, str) and note else "Voided"
        targets = await self._payment_targets(write, entity, current.id, current.doc, None)
        current.doc = doc
        await self._store(write, current, "Void", bump=True)
        for target in targets:
            await self._store(write, target, "Update", bump=True)
        return doc

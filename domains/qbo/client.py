"""Domain (QBO): the HTTP client for the QuickBooks Online Accounting API v3 — requests, envelopes, faults.

One request per call: no retries, no rate limiting and no token refresh here (SmartSyncService owns
those). Bodies are parsed with Decimal for numbers, so no amount is ever a float.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx
import msgspec
import structlog

from domains.qbo.errors import (
    QboError,
    QboProtocolError,
    QboTransportError,
    error_for,
    fault_in_json,
    parse_fault_body,
)

MINOR_VERSION = 75
log = structlog.get_logger("runway.qbo")
_encoder = msgspec.json.Encoder(decimal_format="number")
# JSON floats reach the hook as their text, so Decimal(text) keeps every digit.
_decoder = msgspec.json.Decoder(float_hook=Decimal)

PRODUCTION_BASE_URL = "https://quickbooks.api.intuit.com"
INTUIT_SANDBOX_BASE_URL = "https://sandbox-quickbooks.api.intuit.com"


@dataclass(frozen=True, slots=True)
class QboResponse:
    status: int
    body: dict[str, Any]
    intuit_tid: str | None


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """JSON for QBO with Decimal amounts written as JSON numbers (never through float)."""
    return _encoder.encode(payload)


def decode_body(content: bytes) -> Any:
    """Parsed JSON with every non-integral number as an exact Decimal (never a float).

    msgspec parses the UTF-8 JSON QBO sends several times faster than `json`; anything it refuses (a
    byte-order mark, another encoding, NaN, a lone surrogate) goes to `json.loads`, which decides as
    before, so both accept and reject the same documents and yield the same values.
    """
    try:
        return _decoder.decode(content)
    except msgspec.DecodeError:
        return json.loads(content, parse_float=Decimal)


def decode_object(item: msgspec.Raw) -> Any:
    """One object of a split query page (`split_query_page`), parsed as `decode_body` parses bodies."""
    return decode_body(bytes(item))


class QboClient:
    """Speaks QBO's URL layout and envelopes against `base_url` (Intuit's hosts or the local sandbox)."""

    def __init__(
        self,
        base_url: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        minor_version: int = MINOR_VERSION,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.minor_version = minor_version
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout, connect=10.0))

    async def aclose(self) -> None:
        if self._owns_http:
            await self.http.aclose()

    def url(self, realm_id: str, path: str) -> str:
        return f"{self.base_url}/v3/company/{quote(realm_id, safe='')}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        realm_id: str,
        path: str,
        *,
        access_token: str,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> QboResponse:
        """Send one request; return the parsed JSON body or raise the matching QboError."""
        response, tid = await self._send(
            method,
            realm_id,
            path,
            access_token=access_token,
            params=params,
            json_body=json_body,
            content_type=content_type,
        )
        return QboResponse(response.status_code, _json_object(response, tid), tid)

    async def _send(
        self,
        method: str,
        realm_id: str,
        path: str,
        *,
        access_token: str,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
        content_type: str | None = None,
    ) -> tuple[httpx.Response, str | None]:
        """Send one request; the response (status below 400) and its intuit_tid, or the matching QboError."""
        query = {"minorversion": str(self.minor_version), **(params or {})}
        headers = {"Authorization": f"Bearer {access_token}", "Accept": "application/json"}
        content: bytes | None = None
        if json_body is not None:
            content = encode_body(json_body)
            headers["Content-Type"] = "application/json"
        elif content_type is not None:
            content = b""
            headers["Content-Type"] = content_type
        try:
            response = await self.http.request(
                method, self.url(realm_id, path), params=query, content=content, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise QboTransportError(
                status=0, message=f"timed out: {type(exc).__name__}", retryable=True
            ) from exc
        except httpx.HTTPError as exc:
            raise QboTransportError(status=0, message=f"connection failed: {exc}", retryable=True) from exc
        tid = response.headers.get("intuit_tid") or response.headers.get("Intuit-Tid")
        log.debug("qbo request", method=method, path=path, status=response.status_code, intuit_tid=tid)
        if response.status_code >= 400:
            parsed = parse_fault_body(response.content)
            fault_type, errors = parsed if parsed else ("", ())
            snippet = response.text[:200].strip()
            raise error_for(
                response.status_code,
                fault_type,
                errors,
                intuit_tid=tid,
                fallback_message=f"HTTP {response.status_code}" + (f": {snippet}" if snippet else ""),
            )
        return response, tid

    async def query(self, realm_id: str, access_token: str, statement: str) -> dict[str, Any]:
        """Run one query; returns the QueryResponse object ({} for a page past the end)."""
        result = await self.request(
            "GET", realm_id, "query", access_token=access_token, params={"query": statement}
        )
        return _query_response(result)

    async def query_objects(
        self, realm_id: str, access_token: str, statement: str, entity: str
    ) -> list[msgspec.Raw]:
        """Run one query; the JSON text of each `entity` object of the page, exactly as QBO sent it.

        The page is only split here, not parsed: each object is parsed on its own when it is mapped, and
        its text is what Runway stores as the entity's raw JSON. A body that is not a plain QueryResponse
        (a Fault, something that is not JSON) is handled as `query` handles it.
        """
        response, tid = await self._send(
            "GET", realm_id, "query", access_token=access_token, params={"query": statement}
        )
        objects = split_query_page(response.content, entity)
        if objects is not None:
            return objects
        query_response = _query_response(QboResponse(response.status_code, _json_object(response, tid), tid))
        items = query_response.get(entity)
        return (
            [msgspec.Raw(encode_body(item)) for item in items if isinstance(item, dict)]
            if isinstance(items, list)
            else []
        )

    async def read(self, realm_id: str, access_token: str, entity: str, qbo_id: str) -> dict[str, Any]:
        result = await self.request(
            "GET", realm_id, f"{entity.lower()}/{quote(qbo_id, safe='')}", access_token=access_token
        )
        return _unwrap(result, entity)

    async def cdc(
        self, realm_id: str, access_token: str, entities: list[str], changed_since: str
    ) -> tuple[dict[str, list[dict[str, Any]]], str | None]:
        """Changed objects per entity since `changed_since` (at most 30 days back), and QBO's `time`."""
        result = await self.request(
            "GET",
            realm_id,
            "cdc",
            access_token=access_token,
            params={"entities": ",".join(entities), "changedSince": changed_since},
        )
        changed: dict[str, list[dict[str, Any]]] = {name: [] for name in entities}
        for block in result.body.get("CDCResponse") or []:
            responses = block.get("QueryResponse") if isinstance(block, dict) else None
            if isinstance(responses, dict):
                responses = [responses]
            for response in responses or []:
                if not isinstance(response, dict):
                    continue
                for name in entities:
                    items = response.get(name)
                    if isinstance(items, list):
                        changed[name].extend(i for i in items if isinstance(i, dict))
        server_time = result.body.get("time")
        return changed, server_time if isinstance(server_time, str) else None

    async def write(
        self,
        realm_id: str,
        access_token: str,
        entity: str,
        payload: Mapping[str, Any],
        *,
        request_id: str | None = None,
        operation: str | None = None,
    ) -> dict[str, Any]:
        """Create, update (full or sparse) or delete; `request_id` makes a retry replay, not repeat."""
        params: dict[str, str] = {}
        if request_id:
            params["requestid"] = request_id
        if operation:
            params["operation"] = operation
        result = await self.request(
            "POST", realm_id, entity.lower(), access_token=access_token, params=params, json_body=payload
        )
        return _unwrap(result, entity)

    async def send_invoice(
        self,
        realm_id: str,
        access_token: str,
        invoice_id: str,
        *,
        request_id: str | None,
        send_to: str | None = None,
    ) -> dict[str, Any]:
        params: dict[str, str] = {}
        if request_id:
            params["requestid"] = request_id
        if send_to:
            params["sendTo"] = send_to
        result = await self.request(
            "POST",
            realm_id,
            f"invoice/{quote(invoice_id, safe='')}/send",
            access_token=access_token,
            params=params,
            content_type="application/octet-stream",
        )
        return _unwrap(result, "Invoice")

    async def company_info(self, realm_id: str, access_token: str) -> dict[str, Any]:
        return await self.read(realm_id, access_token, "CompanyInfo", realm_id)

    async def preferences(self, realm_id: str, access_token: str) -> dict[str, Any]:
        result = await self.request("GET", realm_id, "preferences", access_token=access_token)
        return _unwrap(result, "Preferences")


def _json_object(response: httpx.Response, tid: str | None) -> dict[str, Any]:
    """The body of a successful response as a JSON object, or the QboError it carries."""
    try:
        body = decode_body(response.content)
    except ValueError as exc:
        raise QboProtocolError(
            status=response.status_code, message="the response is not JSON", intuit_tid=tid
        ) from exc
    if not isinstance(body, dict):
        raise QboProtocolError(
            status=response.status_code, message="the response is not a JSON object", intuit_tid=tid
        )
    fault = fault_in_json(body)
    if fault is not None:
        raise error_for(response.status_code, fault[0], fault[1], intuit_tid=tid)
    return body


def _query_response(result: QboResponse) -> dict[str, Any]:
    query_response = result.body.get("QueryResponse", {})
    if not isinstance(query_response, dict):
        raise QboProtocolError(status=result.status, message="QueryResponse is not an object")
    return query_response


# A query page split without parsing its objects: the envelope's members, then the entity's list.
_members = msgspec.json.Decoder(dict[str, msgspec.Raw])
_items = msgspec.json.Decoder(list[msgspec.Raw])
_PAGE_MEMBERS = frozenset({"QueryResponse", "time"})


def split_query_page(content: bytes, entity: str) -> list[msgspec.Raw] | None:
    """The JSON text of each `entity` object in a query response body, in order; None when the body is
    not a plain `{"QueryResponse": {...}, "time": ...}` (a Fault, not JSON, ...) and must be parsed whole.

    Items that are not objects are left out, as `query` callers leave them out.
    """
    try:
        members = _members.decode(content)
        if "QueryResponse" not in members or not members.keys() <= _PAGE_MEMBERS:
            return None
        response = _members.decode(members["QueryResponse"])
        items = response.get(entity)
        if items is None:
            return []
        listed = _items.decode(items)
    except msgspec.DecodeError:
        return None
    # Every object's text starts with "{" (msgspec strips the whitespace around each item).
    return [item for item in listed if bytes(item)[:1] == b"{"]


def _unwrap(result: QboResponse, entity: str) -> dict[str, Any]:
    obj = result.body.get(entity)
    if not isinstance(obj, dict):
        raise QboProtocolError(status=result.status, message=f"the response has no {entity} object")
    return obj


__all__ = ["INTUIT_SANDBOX_BASE_URL", "PRODUCTION_BASE_URL", "QboClient", "QboError", "QboResponse"]

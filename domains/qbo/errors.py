"""Domain (QBO): typed faults parsed from QuickBooks responses (JSON in either casing, XML, or neither)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree


@dataclass(frozen=True, slots=True)
class FaultDetail:
    code: str
    message: str
    detail: str
    element: str = ""


@dataclass(eq=False)
class QboError(Exception):
    """A QuickBooks request failed. `status` is the HTTP status (0 when no response arrived)."""

    status: int
    message: str
    fault_type: str = ""
    errors: tuple[FaultDetail, ...] = ()
    intuit_tid: str | None = None
    retryable: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        Exception.__init__(self, str(self))

    @property
    def code(self) -> str:
        return self.errors[0].code if self.errors else ""

    def __str__(self) -> str:
        parts = [f"QuickBooks answered {self.status}" if self.status else "QuickBooks could not be reached"]
        if self.code:
            parts.append(f"code {self.code}")
        parts.append(self.message)
        return ": ".join(p for p in parts if p)


class QboValidationError(QboError):
    """The request was refused as invalid (400 ValidationFault); retrying will not help."""


class QboAuthenticationError(QboError):
    """The access token is expired or revoked (401); refresh and retry once."""


class QboAuthorizationError(QboError):
    """The user or app lost access to this company (403 / code 120)."""


class QboStaleObjectError(QboValidationError):
    """Code 5010: the SyncToken sent is older than QBO's; someone else changed the object."""


class QboNotFoundError(QboError):
    """Code 610 (or 404): the object is gone or inactive."""


class QboDuplicateNameError(QboValidationError):
    """Code 6240: DisplayName must be unique across customers, vendors and employees."""


class QboThrottledError(QboError):
    """429 / code 3001: the per-realm request limit was reached; wait 60 s before the next request."""


class QboServerError(QboError):
    """5xx or a severe (>= 10000) code: retry with backoff (writes only with their requestid)."""


class QboTransportError(QboError):
    """No usable response: timeout or connection failure. The request may or may not have been applied."""


class QboProtocolError(QboError):
    """A 2xx response whose body is not the JSON QuickBooks documents."""


_CODE_IN_MESSAGE = re.compile(r"errorCode=0*(\d+)")


def _details_from_json(body: Any) -> tuple[str, tuple[FaultDetail, ...]] | None:
    if not isinstance(body, dict):
        return None
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, dict):
        return None
    raw_errors = fault.get("Error") or fault.get("error") or []
    if isinstance(raw_errors, dict):
        raw_errors = [raw_errors]
    details = []
    for item in raw_errors if isinstance(raw_errors, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("Message") or item.get("message") or "")
        code = str(item.get("code") or item.get("Code") or "")
        if not code and (match := _CODE_IN_MESSAGE.search(message)):
            code = match.group(1)
        details.append(
            FaultDetail(
                code=code,
                message=message,
                detail=str(item.get("Detail") or item.get("detail") or ""),
                element=str(item.get("element") or ""),
            )
        )
    return str(fault.get("type") or fault.get("Type") or ""), tuple(details)


def _details_from_xml(text: str) -> tuple[str, tuple[FaultDetail, ...]] | None:
    try:
        root = ElementTree.fromstring(text)  # noqa: S314 - QBO's own fault body, no entities expanded
    except ElementTree.ParseError:
        return None
    fault = (
        root
        if root.tag.endswith("Fault")
        else next((e for e in root.iter() if e.tag.endswith("Fault")), None)
    )
    if fault is None:
        return None
    details = []
    for error in (e for e in fault.iter() if e.tag.endswith("Error")):
        message = next((c.text or "" for c in error if c.tag.endswith("Message")), "")
        detail = next((c.text or "" for c in error if c.tag.endswith("Detail")), "")
        code = error.get("code") or ""
        if not code and (match := _CODE_IN_MESSAGE.search(message)):
            code = match.group(1)
        details.append(
            FaultDetail(code=code, message=message, detail=detail, element=error.get("element") or "")
        )
    return fault.get("type") or "", tuple(details)


def parse_fault_body(content: bytes) -> tuple[str, tuple[FaultDetail, ...]] | None:
    """The fault type and errors in a response body, or None when the body holds no fault."""
    text = content.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if text.startswith("<"):
        return _details_from_xml(text)
    try:
        body = json.loads(text, parse_float=Decimal)
    except ValueError:
        return None
    return _details_from_json(body)


def fault_in_json(body: Any) -> tuple[str, tuple[FaultDetail, ...]] | None:
    """A Fault carried inside a 2xx JSON body (QBO does that; always check)."""
    return _details_from_json(body)


def error_for(
    status: int,
    fault_type: str,
    errors: tuple[FaultDetail, ...],
    *,
    intuit_tid: str | None = None,
    fallback_message: str = "",
) -> QboError:
    """The most specific QboError for a status code and QBO's fault codes."""
    codes = {e.code for e in errors}
    first = errors[0] if errors else None
    message = (
        (" — ".join(p for p in (first.message, first.detail) if p) if first else "")
        or fallback_message
        or f"HTTP {status}"
    )
    kwargs: dict[str, Any] = {
        "status": status,
        "message": message,
        "fault_type": fault_type,
        "errors": errors,
        "intuit_tid": intuit_tid,
    }
    if status == 429 or "3001" in codes or "ThrottleExceeded" in message:
        return QboThrottledError(**kwargs, retryable=True)
    if status == 401 or "3200" in codes or fault_type.upper() == "AUTHENTICATION":
        return QboAuthenticationError(**kwargs)
    if "5010" in codes:
        return QboStaleObjectError(**kwargs)
    if "610" in codes or status == 404:
        return QboNotFoundError(**kwargs)
    if "6240" in codes:
        return QboDuplicateNameError(**kwargs)
    if status == 403 or "120" in codes:
        return QboAuthorizationError(**kwargs)
    if status >= 500 or any(c.isdigit() and int(c) >= 10000 for c in codes):
        return QboServerError(**kwargs, retryable=True)
    if status >= 400 or errors:
        return QboValidationError(**kwargs)
    return QboProtocolError(**kwargs)

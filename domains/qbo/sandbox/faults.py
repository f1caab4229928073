"""Domain (QBO sandbox): QBO fault bodies and codes — JSON `Fault`, the lower-case 401/403 body, the 429 XML.

Messages and codes follow recorded sandbox responses where one exists (610, 2010, 2030, 3200, 4000, 4001,
5010, 6240, 10000); the remaining Detail texts are written in the same style.
"""

from __future__ import annotations

from typing import Any

VALIDATION = "ValidationFault"
SYSTEM = "SystemFault"


class QboFault(Exception):
    """A fault QBO would answer with: HTTP status plus one `Error` in a `Fault` of `fault_type`."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str = "",
        element: str = "",
        *,
        status: int = 400,
        fault_type: str = VALIDATION,
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault(self) -> dict[str, Any]:
        """The `Fault` object (what a batch item carries)."""
        error = {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}
        return {"Error": [error], "type": self.fault_type}

    def envelope(self) -> dict[str, Any]:
        return {"Fault": self.fault()}


def not_found() -> QboFault:
    return QboFault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
    )


def invalid_id(value: Any) -> QboFault:
    return QboFault("2030", "Invalid ID", f"Id should be a valid number. Supplied value:{value}", "Id")


def required(element: str) -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def invalid_property(detail: str) -> QboFault:
    return QboFault("2010", "Request has invalid or unsupported property", f"Property Name:{detail}")


def invalid_enum(element: str, value: Any) -> QboFault:
    return QboFault(
        "2170", "Invalid Enumeration", f"Invalid Enumeration : {value} is not valid for {element}", element
    )


def invalid_reference(element: str, value: Any) -> QboFault:
    return QboFault(
        "2500", "Invalid Reference Id", f"Invalid Reference Id : {element} {value} does not exist", element
    )


def stale_object() -> QboFault:
    return QboFault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Sandbox User were working on this at the same time. "
        "Sandbox User finished before you did, so your work was not saved.",
    )


def duplicate_name() -> QboFault:
    return QboFault(
        "6240",
        "Duplicate Name Exists Error",
        "The name supplied already exists. : Another customer, vendor or employee is already using this "
        "name. Please use a different name.",
    )


def business_rule(detail: str) -> QboFault:
    return QboFault(
        "6000",
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
    )


def unsupported(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", detail)


def query_parse_error(detail: str) -> QboFault:
    return QboFault("4000", "Error parsing query", f"QueryParserError: {detail}")


def invalid_query(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"QueryValidationError: {detail}")


def system_failure(detail: str, *, status: int = 500) -> QboFault:
    return QboFault(
        "10000",
        "An application error has occurred while processing your request",
        f"System Failure Error: {detail}",
        "SystemFailureError",
        status=status,
        fault_type=SYSTEM,
    )


def authentication_failed(detail: str) -> dict[str, Any]:
    """The 401 body, lower-case keys as recorded for OAuth 2 calls."""
    return {
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                }
            ],
            "type": "AUTHENTICATION",
        }
    }


def authorization_failed(detail: str) -> dict[str, Any]:
    """The 403 body when a valid token is used for a company it was not issued for."""
    return {
        "fault": {
            "error": [
                {
                    "message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                    "detail": detail,
                    "code": "3100",
                }
            ],
            "type": "AUTHORIZATION",
        }
    }


def throttle_xml(time: str) -> bytes:
    """Intuit's published 429 body: XML even when JSON was asked for."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{time}">'
        '<Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    ).encode()

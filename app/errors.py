"""Web layer: error responses — a full error page, or a banner fragment retargeted by htmx."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.exceptions.http_exceptions import NotFoundException, ValidationException
from litestar.response import Redirect, Template

from app.deps import LoginRequiredError
from app.htmx import VARY

log = structlog.get_logger("runway.errors")

_TITLES = {
    400: "That request could not be understood",
    403: "You can't do that here",
    404: "Not found",
    405: "Not allowed",
    409: "Someone else changed this",
    422: "Please check what you entered",
    429: "Too many requests",
    500: "Something went wrong on our side",
    503: "Runway is not available right now",
}


def _is_htmx(request: Request[Any, Any, Any]) -> bool:
    return (
        request.headers.get("hx-request") == "true"
        and request.headers.get("hx-history-restore-request") != "true"
    )


def _wants_html(request: Request[Any, Any, Any]) -> bool:
    accept = request.headers.get("accept", "")
    return _is_htmx(request) or "text/html" in accept or not accept or "*/*" in accept


def error_response(
    request: Request[Any, Any, Any], status_code: int, message: str | None = None
) -> Response[Any]:
    """The error as a page, as an htmx banner (retargeted into #error-banner), or as JSON for API clients."""
    title = _TITLES.get(status_code, "Error")
    detail = message or title
    request_id = request.scope.get("state", {}).get("request_id", "")
    context = {"status_code": status_code, "title": title, "detail": detail, "request_id": request_id}
    if _is_htmx(request):
        return Template(
            template_name="errors/_error_banner.html",
            context=context,
            status_code=status_code,
            headers={"HX-Retarget": "#error-banner", "HX-Reswap": "innerHTML", "Vary": VARY},
        )
    if _wants_html(request):
        page = "errors/404.html" if status_code == 404 else "errors/error.html"
        return Template(template_name=page, context=context, status_code=status_code, headers={"Vary": VARY})
    return Response(
        content={"status_code": status_code, "detail": detail, "request_id": request_id},
        status_code=status_code,
        media_type=MediaType.JSON,
    )


def login_redirect(request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    location = "/login" if target in {"/", ""} else f"/login?next={quote(target, safe='')}"
    if _is_htmx(request):
        # A swap would put the login page inside a fragment; send the whole window there instead.
        return Response(content=b"", status_code=200, headers={"HX-Redirect": location})
    return Redirect(path=location, status_code=303)


def http_exception_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    message: str | None = exc.detail if isinstance(exc.detail, str) else None
    if isinstance(exc, PermissionDeniedException) and message and "csrf" in message.lower():
        message = "Your form expired or came from another site. Reload the page and try again."
    elif isinstance(exc, NotFoundException):
        message = "There is nothing here, or you do not have access to it."
    elif isinstance(exc, ValidationException):
        message = "Some of the values sent were not valid."
    elif isinstance(exc, NotAuthorizedException):
        return login_redirect(request, exc)
    return error_response(request, exc.status_code, message)


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", path=request.url.path, exc_info=exc)
    return error_response(
        request, 500, "Something went wrong on our side. The error was logged with the id below."
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    LoginRequiredError: login_redirect,
    HTTPException: http_exception_handler,
    500: internal_error_handler,
}

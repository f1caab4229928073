"""Web layer: render() — the one place that chooses between a full page and an htmx partial."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template

VARY = "HX-Request"


def wants_partial(request: Request[Any, Any, Any]) -> bool:
    """A partial only for htmx swaps: never for boosted navigation or a history restore (both need pages)."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return not (htmx.history_restore_request or htmx.boosted)


def render(
    request: Request[Any, Any, Any],
    *,
    page: str,
    partial: str | None = None,
    view: Any = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    """The page on normal requests, the partial on htmx requests; always `Vary: HX-Request`.

    Templates receive the frozen view dataclass as `view`, plus any extra named context.
    """
    template = partial if (partial is not None and wants_partial(request)) else page
    all_headers = {"Vary": VARY}
    if headers:
        all_headers.update(headers)
    return Template(
        template_name=template,
        context={"view": view, **context},
        status_code=status_code,
        headers=all_headers,
    )

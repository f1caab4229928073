"""Web layer: QuickBooks webhook deliveries (signed, not cookie-authenticated; exempt from CSRF)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, post
from litestar.di import NamedDependency

from runway.services.experiences.sync import SyncService, WebhookMalformedError, WebhookRejectedError

MAX_BODY = 1_000_000


@post("/webhooks/qbo", name="webhooks:qbo", media_type=MediaType.JSON, status_code=200)
async def qbo_webhook(
    request: Request[Any, Any, Any], sync: NamedDependency[SyncService]
) -> Response[dict[str, Any]]:
    """Verify `intuit-signature` over the raw body, queue incremental syncs, answer at once."""
    body = await request.body()
    if len(body) > MAX_BODY:
        return Response({"error": "payload too large"}, status_code=413)
    try:
        queued = await sync.receive_webhook(body, request.headers.get("intuit-signature"))
    except WebhookRejectedError:
        return Response({"error": "invalid signature"}, status_code=401)
    except WebhookMalformedError as exc:
        return Response({"error": str(exc)}, status_code=400)
    return Response({"queued": queued})

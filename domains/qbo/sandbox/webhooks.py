"""Domain (QBO sandbox): webhook delivery — a signed POST per committed change, sent in the background.

The body is the classic `eventNotifications` document, or the CloudEvents array Intuit is moving to. The
`intuit-signature` header is base64(HMAC-SHA256(verifier token, raw body)) in both formats. Delivery runs
on one background task with its own httpx client, so an API response never waits for it; a failed delivery
is logged and dropped (the app is expected to catch up with CDC, as Intuit recommends).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from domains.qbo.sandbox import codec

log = logging.getLogger(__name__)

WebhookFormat = Literal["classic", "cloudevents"]

_CLOUD_VERBS = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Void": "voided",
    "Emailed": "emailed",
    "Merge": "merged",
}


@dataclass(frozen=True)
class ChangeEvent:
    """One committed change, as a webhook reports it (ids only; receivers fetch the data)."""

    realm_id: str
    entity: str
    entity_id: str
    operation: str
    last_updated: dt.datetime


def sign(verifier: str, body: bytes) -> str:
    """The `intuit-signature` value for a body."""
    digest = hmac.new(verifier.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(verifier: str, body: bytes, signature: str) -> bool:
    """Check a signature in constant time, over the body bytes exactly as received."""
    return hmac.compare_digest(sign(verifier, body), signature)


def classic_body(events: Sequence[ChangeEvent], tz: dt.tzinfo) -> bytes:
    """`{"eventNotifications": [...]}`, one notification per realm."""
    by_realm: dict[str, list[dict[str, Any]]] = {}
    for change in events:
        by_realm.setdefault(change.realm_id, []).append(
            {
                "name": change.entity,
                "id": change.entity_id,
                "operation": change.operation,
                "lastUpdated": change.last_updated.astimezone(tz).strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
        )
    notifications = [
        {"realmId": realm_id, "dataChangeEvent": {"entities": entities}}
        for realm_id, entities in by_realm.items()
    ]
    return codec.dumps({"eventNotifications": notifications})


def cloudevents_body(events: Sequence[ChangeEvent], source: str) -> bytes:
    """The CloudEvents array: one event per change, `type` like `qbo.bill.updated.v1`."""
    items = [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{change.entity.lower()}.{_CLOUD_VERBS.get(change.operation, 'updated')}.v1",
            "datacontenttype": "application/json",
            "time": change.last_updated.astimezone(dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "intuitentityid": change.entity_id,
            "intuitaccountid": change.realm_id,
            "data": {},
        }
        for change in events
    ]
    return codec.dumps(items)


class WebhookNotifier:
    """Queues committed changes and POSTs them from a background task."""

    def __init__(
        self,
        url: str,
        verifier: str,
        *,
        tz: dt.tzinfo,
        body_format: WebhookFormat = "classic",
        transport: httpx.AsyncBaseTransport | None = None,
        timeout_ms: int = 5000,
    ) -> None:
        self.url = url
        self.verifier = verifier
        self.tz = tz
        self.body_format = body_format
        self.transport = transport
        self.timeout_ms = timeout_ms
        self.source = "intuit." + hashlib.sha256(url.encode()).hexdigest()[:22]
        self._queue: asyncio.Queue[list[ChangeEvent]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Counted outside the queue so `drain` also works from another event loop (test clients that
        # run the app in a portal thread).
        self._pending = 0

    def body(self, events: Sequence[ChangeEvent]) -> bytes:
        if self.body_format == "cloudevents":
            return cloudevents_body(events, self.source)
        return classic_body(events, self.tz)

    def publish(self, events: Sequence[ChangeEvent]) -> None:
        """Queue one commit's changes; returns at once."""
        if not events:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("webhook for %d change(s) dropped: no running event loop", len(events))
            return
        if self._queue is None or self._loop is not loop:
            self._queue = asyncio.Queue()
            self._loop = loop
            self._worker = None
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run(self._queue))
        self._pending += 1
        self._queue.put_nowait(list(events))

    async def _run(self, queue: asyncio.Queue[list[ChangeEvent]]) -> None:
        timeout = httpx.Timeout(self.timeout_ms / 1000)
        async with httpx.AsyncClient(transport=self.transport, timeout=timeout) as client:
            while True:
                events = await queue.get()
                try:
                    await self._deliver(client, events)
                except Exception as exc:  # any delivery failure is the receiver's problem, never the API's
                    log.warning("webhook delivery to %s failed: %s", self.url, exc)
                finally:
                    self._pending -= 1
                    queue.task_done()

    async def _deliver(self, client: httpx.AsyncClient, events: list[ChangeEvent]) -> None:
        body = self.body(events)
        response = await client.post(
            self.url,
            content=body,
            headers={"content-type": "application/json", "intuit-signature": sign(self.verifier, body)},
        )
        if response.status_code >= 300:
            log.warning("webhook receiver %s answered %s", self.url, response.status_code)

    @property
    def pending(self) -> int:
        """Deliveries queued or in flight."""
        return self._pending

    async def drain(self, timeout_ms: int = 5000) -> None:
        """Wait until everything queued so far has been attempted (or the timeout passes)."""
        waited = 0
        while self._pending > 0 and waited < timeout_ms:
            await asyncio.sleep(0.005)
            waited += 5

    async def aclose(self, grace_ms: int = 2000) -> None:
        """Give queued deliveries a moment, then stop the worker."""
        await self.drain(grace_ms)
        if self._pending:
            log.warning("%d webhook deliveries still queued at shutdown were dropped", self._pending)
        if self._worker is not None and self._loop is asyncio.get_running_loop():
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        elif self._worker is not None:
            self._worker.cancel()
        self._worker = None
        self._queue = None
        self._loop = None
        self._pending = 0

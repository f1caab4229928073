"""QBO sandbox: webhooks — signed classic and CloudEvents bodies, sent after commit, failures ignored."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from domains.qbo.sandbox import SandboxConfig, verify
from domains.qbo.sandbox.codec import loads
from tests.sandbox.support import FakeClock, Harness, in_process

pytestmark = pytest.mark.anyio

VERIFIER = "b5771f19-a80e-4e75-9d57-1d0b4f3a2e11"
HOOK_URL = "http://receiver.local/qbo/webhooks"


class Receiver:
    """A local webhook endpoint: records each request, answers with a set status."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status)


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def hooked(config: SandboxConfig, clock: FakeClock, receiver: Receiver) -> AsyncIterator[Harness]:
    wired = dataclasses.replace(
        config,
        webhook_url=HOOK_URL,
        webhook_verifier=VERIFIER,
        webhook_transport=httpx.MockTransport(receiver),
    )
    async with in_process(wired, clock) as harness:
        yield harness


def _expected_signature(raw: bytes) -> str:
    return base64.b64encode(hmac.new(VERIFIER.encode(), raw, hashlib.sha256).digest()).decode()


async def test_each_commit_is_posted_with_a_valid_intuit_signature(
    hooked: Harness, receiver: Receiver
) -> None:
    company = await hooked.company()
    created = await hooked.post(company, "vendor", {"DisplayName": "Hooked Vendor"})
    vendor_id = loads(created.content)["Vendor"]["Id"]
    await hooked.sandbox.drain_webhooks()

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    raw = request.content
    assert request.method == "POST"
    assert str(request.url) == HOOK_URL
    assert request.headers["intuit-signature"] == _expected_signature(raw)
    assert verify(VERIFIER, raw, request.headers["intuit-signature"])
    assert not verify("another-verifier", raw, request.headers["intuit-signature"])

    payload: dict[str, Any] = loads(raw)
    notification = payload["eventNotifications"][0]
    assert notification["realmId"] == company.realm_id
    entity = notification["dataChangeEvent"]["entities"][0]
    assert entity["name"] == "Vendor"
    assert entity["id"] == vendor_id
    assert entity["operation"] == "Create"
    assert entity["lastUpdated"] == "2025-06-30T10:00:00-0700"

    # Reads send nothing; a failed write sends nothing.
    await hooked.query(company, "SELECT * FROM Vendor")
    await hooked.post(company, "vendor", {"DisplayName": "hooked vendor"})
    await hooked.sandbox.drain_webhooks()
    assert len(receiver.requests) == 1


async def test_a_bill_payment_reports_the_payment_and_the_bill(hooked: Harness, receiver: Receiver) -> None:
    company = await hooked.company()
    bill = loads(
        (
            await hooked.post(
                company, "bill", {"VendorRef": {"value": "1"}, "Line": [{"Amount": 50, "DetailType": "X"}]}
            )
        ).content
    )["Bill"]
    await hooked.post(
        company,
        "billpayment",
        {
            "VendorRef": {"value": "1"},
            "PayType": "Check",
            "Line": [{"Amount": 20, "LinkedTxn": [{"TxnId": bill["Id"], "TxnType": "Bill"}]}],
        },
    )
    await hooked.sandbox.drain_webhooks()
    last = loads(receiver.requests[-1].content)["eventNotifications"][0]["dataChangeEvent"]["entities"]
    assert [(e["name"], e["operation"]) for e in last] == [("BillPayment", "Create"), ("Bill", "Update")]


async def test_cloudevents_format(config: SandboxConfig, clock: FakeClock, receiver: Receiver) -> None:
    wired = dataclasses.replace(
        config,
        webhook_url=HOOK_URL,
        webhook_verifier=VERIFIER,
        webhook_format="cloudevents",
        webhook_transport=httpx.MockTransport(receiver),
    )
    async with in_process(wired, clock) as harness:
        company = await harness.company()
        created = await harness.post(company, "customer", {"DisplayName": "Cloud Customer"})
        await harness.sandbox.drain_webhooks()
    raw = receiver.requests[0].content
    assert receiver.requests[0].headers["intuit-signature"] == _expected_signature(raw)
    events = loads(raw)
    assert isinstance(events, list)
    event = events[0]
    assert event["specversion"] == "1.0"
    assert event["type"] == "qbo.customer.created.v1"
    assert event["intuitaccountid"] == company.realm_id
    assert event["intuitentityid"] == loads(created.content)["Customer"]["Id"]
    assert event["source"].startswith("intuit.")
    assert event["time"] == "2025-06-30T17:00:00.000Z"


async def test_a_failing_receiver_never_fails_the_api(
    config: SandboxConfig, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    wired = dataclasses.replace(
        config, webhook_url=HOOK_URL, webhook_verifier=VERIFIER, webhook_transport=httpx.MockTransport(refuse)
    )
    async with in_process(wired, clock) as harness:
        company = await harness.company()
        with caplog.at_level(logging.WARNING, logger="domains.qbo.sandbox.webhooks"):
            response = await harness.post(company, "vendor", {"DisplayName": "Still Saved"})
            await harness.sandbox.drain_webhooks()
        assert response.status_code == 200
        assert "webhook delivery" in caplog.text
        count = await harness.query(company, "SELECT COUNT(*) FROM Vendor")
        assert count["QueryResponse"]["totalCount"] == 1

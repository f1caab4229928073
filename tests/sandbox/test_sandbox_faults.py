"""QBO sandbox: injected faults — throttling at QBO's limits, 503s, timeouts, expired tokens, admin API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from domains.qbo.sandbox import SandboxConfig
from domains.qbo.sandbox.config import FaultProfile
from domains.qbo.sandbox.injection import FaultInjector
from tests.sandbox.support import MEMORY_DB, FakeClock, Harness, body, in_process

pytestmark = pytest.mark.anyio

THROTTLE_XML = (
    '<Fault type="SERVICE"><Error code="3001">'
    "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
    "<Detail>The request limit was reached.  Try again later</Detail></Error></Fault></IntuitResponse>"
)


async def test_ten_calls_a_second_then_429_with_qbo_xml_fault(harness: Harness) -> None:
    company = await harness.company()
    harness.sandbox.set_faults(company.realm_id, rate_limits=True)
    url = company.url("query")
    params = {"query": "SELECT * FROM Vendor"}

    statuses = [
        (await harness.client.get(url, params=params, headers=company.headers)).status_code for _ in range(10)
    ]
    assert statuses == [200] * 10
    throttled = await harness.client.get(url, params=params, headers=company.headers)
    assert throttled.status_code == 429
    assert throttled.headers["content-type"].startswith("application/xml")
    assert throttled.headers["intuit-tid"]
    text = throttled.text
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>')
    assert '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"' in text
    assert text.endswith(THROTTLE_XML)

    harness.clock.advance(1.0)
    again = await harness.client.get(url, params=params, headers=company.headers)
    assert again.status_code == 200

    # Limits are per company: another company is not throttled.
    other = await harness.company("Other Books")
    free = await harness.client.get(other.url("query"), params=params, headers=other.headers)
    assert free.status_code == 200


def test_the_minute_window_admits_500_calls_and_the_batch_window_40() -> None:
    ticks = [0.0]
    injector = FaultInjector(FaultProfile(rate_limits=True), seed=1, monotonic=lambda: ticks[0])
    admitted = 0
    for _ in range(590):
        ticks[0] += 0.101  # under 10 a second, so only the 60-second window can refuse
        admitted += injector.admit("r1")
    assert admitted == 500
    ticks[0] += 60
    assert injector.admit("r1")

    batches = []
    for _ in range(41):
        ticks[0] += 0.2
        batches.append(injector.admit("r2", batch=True))
    assert batches.count(True) == 40
    assert batches[-1] is False


async def test_rate_limits_are_off_unless_configured(harness: Harness) -> None:
    company = await harness.company()
    for _ in range(25):
        response = await harness.client.get(company.url("preferences"), headers=company.headers)
        assert response.status_code == 200


async def _statuses(seed: int, count: int) -> list[int]:
    clock = FakeClock(dt.datetime(2025, 6, 30, tzinfo=dt.UTC))
    config = SandboxConfig(database_url=MEMORY_DB, clock=clock, monotonic=clock.monotonic, fault_seed=seed)
    async with in_process(config, clock) as harness:
        company = await harness.company("Flaky Books")
        harness.sandbox.set_faults(company.realm_id, unavailable_rate=Decimal("0.5"))
        return [
            (await harness.client.get(company.url("preferences"), headers=company.headers)).status_code
            for _ in range(count)
        ]


async def test_503_injection_is_deterministic_for_a_seed() -> None:
    first = await _statuses(seed=7, count=30)
    again = await _statuses(seed=7, count=30)
    assert first == again
    assert set(first) == {200, 503}
    assert 5 < first.count(503) < 25


async def test_timeout_before_handling_answers_504_and_does_nothing(harness: Harness) -> None:
    company = await harness.company()
    harness.sandbox.set_faults(company.realm_id, timeouts=1, timeout_ms=20)
    hung = await harness.post(company, "vendor", {"DisplayName": "Never Made"})
    assert hung.status_code == 504
    assert (await harness.query(company, "SELECT COUNT(*) FROM Vendor"))["QueryResponse"]["totalCount"] == 0
    made = await harness.post(company, "vendor", {"DisplayName": "Made"})
    assert made.status_code == 200


async def test_timeout_after_commit_keeps_the_change_and_requestid_replays_it(harness: Harness) -> None:
    company = await harness.company()
    harness.sandbox.set_faults(company.realm_id, timeouts=1, timeout_ms=20, timeout_after_commit=True)
    late = await harness.post(company, "vendor", {"DisplayName": "Committed"}, requestid="rq-1")
    assert late.status_code == 200
    retry = await harness.post(company, "vendor", {"DisplayName": "Committed"}, requestid="rq-1")
    assert retry.content == late.content
    assert (await harness.query(company, "SELECT COUNT(*) FROM Vendor"))["QueryResponse"]["totalCount"] == 1


async def test_expired_access_token_gets_the_lower_case_401_envelope(harness: Harness) -> None:
    company = await harness.company()
    assert await harness.sandbox.expire_access_tokens(company.realm_id) == 1
    response = await harness.client.get(company.url("preferences"), headers=company.headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'
    assert response.headers["intuit-tid"]
    fault = body(response)["fault"]
    assert fault["type"] == "AUTHENTICATION"
    assert fault["error"][0]["code"] == "3200"
    assert fault["error"][0]["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert fault["error"][0]["detail"].startswith("Token expired: ")

    # Time runs out the same way after an hour.
    fresh = await harness.sandbox.issue_tokens(company.realm_id)
    headers = {"Authorization": f"Bearer {fresh.access_token}"}
    assert (await harness.client.get(company.url("preferences"), headers=headers)).status_code == 200
    harness.clock.advance(3601)
    assert (await harness.client.get(company.url("preferences"), headers=headers)).status_code == 401

    missing = await harness.client.get(company.url("preferences"))
    assert missing.status_code == 401


async def test_admin_endpoints_set_read_and_clear_faults(harness: Harness) -> None:
    company = await harness.company()
    base = f"/_sandbox/realms/{company.realm_id}"
    put = await harness.client.put(
        f"{base}/faults", json={"latency_ms": 5, "query_latency_ms": 5, "unavailable_rate": "0.25"}
    )
    assert put.status_code == 200
    profile = body(put)
    assert profile["latency_ms"] == 5
    assert profile["unavailable_rate"] == Decimal("0.25")
    assert profile["rate_limits"] is False
    assert (await harness.client.get(f"{base}/faults")).status_code == 200

    bad = await harness.client.put(f"{base}/faults", json={"latency_ms": -1})
    assert bad.status_code == 400
    unknown = await harness.client.put(f"{base}/faults", json={"chaos": True})
    assert unknown.status_code == 400

    cleared = body(await harness.client.delete(f"{base}/faults"))
    assert cleared["latency_ms"] == 0
    assert cleared["unavailable_rate"] == 0

    tokens = body(await harness.client.post(f"{base}/tokens"))
    assert tokens["token_type"] == "bearer"
    assert tokens["realmId"] == company.realm_id
    expired = body(await harness.client.post(f"{base}/tokens/expire"))
    assert expired["expired"] == 2
    invalidated = body(await harness.client.post(f"{base}/tokens/invalidate-refresh"))
    assert invalidated["invalidated"] == 2
    realms = body(await harness.client.get("/_sandbox/realms"))
    assert {"realmId": company.realm_id, "companyName": "Acme Landscaping"} in realms
    assert (await harness.client.get("/_sandbox/realms/123/faults")).status_code == 404

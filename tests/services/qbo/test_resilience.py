"""Services: SmartSync under QBO's faults — throttling, outages, timeouts, expired and revoked tokens."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domains.ap.models import Bill
from domains.qbo import repository as repo
from domains.qbo.tokens import ReconnectNeededError
from tests.support.qbo import bill, vendor

pytestmark = pytest.mark.anyio

SMALL_COMPANY = {
    "Vendor": [vendor("1", "Paper Co"), vendor("2", "Ink Ltd")],
    "Bill": [bill(str(i), "1", "25.00", "2026-10-01", "2026-10-31") for i in range(10, 40)],
}


async def _bills(qbo, business_id) -> int:
    async with qbo.db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Bill).where(Bill.business_id == business_id)
            )
        )


async def test_a_429_pauses_the_realm_for_60_seconds_and_no_second_429_follows(qbo_sqlite):
    qbo = qbo_sqlite
    business_id, realm_id = await qbo.connected_business(entities=SMALL_COMPANY)
    qbo.sandbox.set_faults(realm_id, rate_limits=True)
    # Another integration spends this second's allowance on the same company just before we start.
    for _ in range(10):
        await qbo.qbo(realm_id, "SELECT COUNT(*) FROM Vendor")
    qbo.traffic.statuses.clear()
    before = qbo.clock.slept
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert qbo.traffic.statuses[429] == 1, "exactly one 429: the pause after it keeps us under the limit"
    assert qbo.clock.slept - before >= 60
    assert await _bills(qbo, business_id) == 30


async def test_the_client_side_limit_keeps_a_long_sync_under_10_per_second(qbo_sqlite):
    qbo = qbo_sqlite
    bills = [bill(str(i), "1", "1.00", "2026-10-01") for i in range(1, 12_001)]
    business_id, realm_id = await qbo.connected_business(
        entities={"Vendor": [vendor("1", "Bulk")], "Bill": bills}
    )
    qbo.sandbox.set_faults(realm_id, rate_limits=True, requests_per_second=10)
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert qbo.traffic.statuses[429] == 0
    assert qbo.clock.slept >= 1.0, "more than 10 requests had to be spread over more than a second"
    assert await _bills(qbo, business_id) == 12_000


async def test_503s_are_retried_with_backoff_until_the_sync_completes(qbo_sqlite):
    qbo = qbo_sqlite
    business_id, realm_id = await qbo.connected_business(entities=SMALL_COMPANY)
    qbo.sandbox.set_faults(realm_id, unavailable_rate="0.35")
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert qbo.traffic.statuses[503] > 0
    assert await _bills(qbo, business_id) == 30


async def test_gateway_timeouts_are_retried(qbo_sqlite):
    qbo = qbo_sqlite
    business_id, realm_id = await qbo.connected_business(entities=SMALL_COMPANY)
    qbo.sandbox.set_faults(realm_id, timeouts=3, timeout_ms=5)
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert qbo.traffic.statuses[504] == 3
    assert await _bills(qbo, business_id) == 30


async def test_a_permanent_outage_fails_the_run_with_a_clear_error(qbo_sqlite):
    qbo = qbo_sqlite
    business_id, realm_id = await qbo.connected_business(entities=SMALL_COMPANY)
    qbo.sandbox.set_faults(realm_id, unavailable_rate="1")
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "failed"
    assert "503" in (outcome.error or "")
    async with qbo.db.read() as session:
        assert (await repo.latest_runs(session, business_id))[0].status == "failed"


async def test_an_expired_access_token_is_refreshed_and_the_sync_continues(qbo):
    business_id, realm_id = await qbo.connected_business(entities=SMALL_COMPANY)
    async with qbo.db.read() as session:
        before = (await repo.get_connection(session, business_id)).refresh_token_enc
    await qbo.sandbox.expire_access_tokens(realm_id)
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert qbo.traffic.statuses[401] == 1
    async with qbo.db.read() as session:
        connection = await repo.get_connection(session, business_id)
    assert connection.status == "connected"
    assert connection.refresh_token_enc != before, "the rotated refresh token was stored"
    assert await _bills(qbo, business_id) == 30


async def test_a_token_near_expiry_is_refreshed_before_use(qbo):
    business_id, _ = await qbo.connected_business(entities=SMALL_COMPANY)
    qbo.clock.advance(3600 - 60)
    outcome = await qbo.smart_sync().sync_now(business_id, full=True)
    assert outcome.status == "succeeded", outcome.error
    assert qbo.traffic.statuses[401] == 0
    assert any(r.url.path.endswith("/oauth2/tokens/bearer") for r in qbo.traffic.requests)


async def test_invalid_grant_marks_the_business_reconnect_needed(qbo):
    business_id, realm_id = await qbo.connected_business(entities=SMALL_COMPANY)
    await qbo.sandbox.expire_access_tokens(realm_id)
    await qbo.sandbox.invalidate_refresh_tokens(realm_id)
    sync = qbo.smart_sync()
    outcome = await sync.sync_now(business_id, full=True)
    assert outcome.status == "failed"
    assert "connected again" in (outcome.error or "")
    async with qbo.db.read() as session:
        connection = await repo.get_connection(session, business_id)
    assert connection.status == "reconnect_needed"
    requests_before = len(qbo.traffic.requests)
    with pytest.raises(ReconnectNeededError):
        await sync.tokens.credentials(business_id)
    assert len(qbo.traffic.requests) == requests_before, "no more calls to QBO once reconnect is needed"

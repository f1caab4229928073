"""Services: finalize under QBO faults — timeouts after QBO committed, 429/503 mid-batch, a killed process.

Each test ends by counting what the sandbox holds: exactly the expected BillPayments and e-mails, every
decision in a final status, none lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from domains.decisions import repository as decisions_repo
from domains.decisions.models import Decision, FinalizeItem
from domains.qbo import repository as qbo_repo
from tests.services.test_decision_console import (
    ConsoleWorld,
    console_world,
    day,
    fast_password_hashing,  # noqa: F401  (autouse fixture)
)

pytestmark = pytest.mark.anyio


class Killed(BaseException):
    """Stands in for the process dying: nothing below it gets to clean up."""


def is_bill_payment_post(request: httpx.Request) -> bool:
    return request.method == "POST" and request.url.path.endswith("/billpayment")


async def decide_batch(cw: ConsoleWorld, console) -> None:
    """Two recorded payments, a schedule with a private note, and a chase."""
    alice = cw.who("alice")
    await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none", "bank_account": "35"})
    await console.decide(*alice, "bill", "103", "pay_now", {"seen": "none", "bank_account": "35"})
    await console.decide(*alice, "bill", "102", "schedule", {"seen": "none", "on": day(20), "add_note": "1"})
    await console.decide(*alice, "invoice", "201", "chase", {"seen": "none"})


async def bill_payments(cw: ConsoleWorld) -> list[tuple[str, Decimal]]:
    """Every BillPayment in the sandbox as (the bill it pays, amount), duplicates included."""
    found = (await cw.qbo.qbo(cw.realm_id, "SELECT * FROM BillPayment")).get("BillPayment", [])
    return sorted((p["Line"][0]["LinkedTxn"][0]["TxnId"], p["TotalAmt"]) for p in found)


async def statuses(cw: ConsoleWorld) -> dict[str, str]:
    async with cw.qbo.db.read() as session:
        rows = await session.scalars(select(Decision).where(Decision.business_id == cw.business_id))
        return {f"{d.entity_type}-{d.qbo_id}": d.status for d in rows}


def hook(qbo, kind: str, action: Callable[[httpx.Request], Awaitable[None]]) -> Callable[[], None]:
    """Add an httpx event hook to the harness client; returns the function that removes it."""
    if kind == "response":

        async def on_response(response: httpx.Response) -> None:
            await action(response.request)

        qbo.http.event_hooks["response"].append(on_response)
        return lambda: qbo.http.event_hooks["response"].remove(on_response)

    qbo.http.event_hooks["request"].append(action)
    return lambda: qbo.http.event_hooks["request"].remove(action)


async def test_a_timeout_after_quickbooks_committed_the_payment_is_retried_without_a_second_one(qbo_sqlite):
    qbo = qbo_sqlite
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    await console.decide(*cw.who("alice"), "bill", "101", "pay_now", {"seen": "none", "bank_account": "35"})

    # QBO commits, then the answer never arrives: the sandbox holds it back and our client gives up.
    seen: list[str] = []

    async def time_out_once(request: httpx.Request) -> None:
        if is_bill_payment_post(request):
            seen.append(request.url.params["requestid"])
            if len(seen) == 1:
                qbo.sandbox.set_faults(cw.realm_id, timeouts=1, timeout_after_commit=True, timeout_ms=5)
                raise httpx.ReadTimeout("no answer from QuickBooks", request=request)

    remove = hook(qbo, "response", time_out_once)
    try:
        result = await console.finalize(*cw.who("alice"))
    finally:
        remove()
    assert (result.total, result.done) == (1, 1)
    assert len(seen) == 2
    assert seen[0] == seen[1], "the retry sent the same requestid"
    assert await bill_payments(cw) == [("101", Decimal("2000.00"))], "QBO replayed its first answer"
    assert (await statuses(cw))["bill-101"] == "done"


async def test_timeouts_beyond_every_retry_fail_the_item_and_running_it_again_replays(qbo_sqlite):
    qbo = qbo_sqlite
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    alice = cw.who("alice")
    await console.decide(*alice, "bill", "101", "pay_now", {"seen": "none", "bank_account": "35"})

    async def never_answer(request: httpx.Request) -> None:
        if is_bill_payment_post(request):
            raise httpx.ReadTimeout("no answer from QuickBooks", request=request)

    remove = hook(qbo, "response", never_answer)
    try:
        result = await console.finalize(*alice)
    finally:
        remove()
    assert (result.total, result.failed) == (1, 1)
    assert "timed out" in result.items[0].message
    assert await bill_payments(cw) == [("101", Decimal("2000.00"))], "QBO did commit the first attempt"

    view = await console.console(*alice)
    failed = next(r for r in view.rows if r.dom_id == "item-bill-101")
    assert failed.decision.status == "failed", "a failed item stays in the queue with its reason"
    await console.decide(*alice, "bill", "101", "approve", {"seen": failed.seen})
    again = await console.finalize(*alice)
    assert (again.total, again.done, again.conflict) == (1, 1, 0), "not mistaken for someone else's payment"
    assert await bill_payments(cw) == [("101", Decimal("2000.00"))]


async def test_429s_and_503s_in_the_middle_of_a_batch_are_retried_to_the_same_writes(qbo_sqlite):
    qbo = qbo_sqlite
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    await decide_batch(cw, console)
    alice = cw.who("alice")
    started = await console.start_finalize(*alice)
    first = await console.finalize_step(*alice, started.batch_id)
    assert first.finalize.done == 1

    qbo.sandbox.set_faults(cw.realm_id, rate_limits=True, requests_per_second=1, unavailable_rate="0.4")
    qbo.traffic.statuses.clear()
    result = await console.finalize(*alice)
    assert result.finished
    assert (result.total, result.done) == (4, 4)
    assert qbo.traffic.statuses[429] > 0
    assert qbo.traffic.statuses[503] > 0
    qbo.sandbox.clear_faults(cw.realm_id)

    assert await bill_payments(cw) == [("101", Decimal("2000.00")), ("103", Decimal("500.00"))]
    assert len(await qbo.sandbox.sent_emails(cw.realm_id)) == 1
    assert set((await statuses(cw)).values()) == {"done"}


KILL_POINTS = ["before QBO heard of it", "after QBO committed", "after Runway recorded the write"]


@pytest.mark.parametrize("kill_point", KILL_POINTS)
async def test_a_finalize_killed_mid_run_and_run_again_writes_everything_exactly_once(
    qbo_sqlite, monkeypatch, kill_point
):
    qbo = qbo_sqlite
    cw = await console_world(qbo)
    console = cw.service(smart_sync=qbo.smart_sync())
    await decide_batch(cw, console)
    killed = False

    async def kill_on_second_payment(request: httpx.Request) -> None:
        nonlocal killed
        if is_bill_payment_post(request) and request.url.params.get("requestid") == second_key and not killed:
            killed = True
            raise Killed

    async with qbo.db.read() as session:
        second_key = await session.scalar(
            select(Decision.idempotency_key).where(
                Decision.business_id == cw.business_id, Decision.qbo_id == "103"
            )
        )
    remove = None
    if kill_point == "before QBO heard of it":
        remove = hook(qbo, "request", kill_on_second_payment)
    elif kill_point == "after QBO committed":
        remove = hook(qbo, "response", kill_on_second_payment)
    else:
        real_finish = decisions_repo.finish_item

        async def die_before_recording(session, business_id, item_id, **values):
            nonlocal killed
            if values.get("qbo_result_id") and not killed and await _is_item_for(session, item_id, "103"):
                killed = True
                raise Killed
            return await real_finish(session, business_id, item_id, **values)

        monkeypatch.setattr(decisions_repo, "finish_item", die_before_recording)

    with pytest.raises(Killed):
        await console.finalize(*cw.who("alice"))
    if remove is not None:
        remove()
    monkeypatch.undo()
    assert killed

    mid = await statuses(cw)
    assert mid["bill-103"] == "executing", "the item being written when the process died"
    assert mid["bill-101"] == "done"
    async with qbo.db.read() as session:
        write = await qbo_repo.get_write(session, cw.business_id, second_key)
    if kill_point == "before QBO heard of it":
        assert [bill for bill, _ in await bill_payments(cw)] == ["101"]
        assert write.status == "pending"
    elif kill_point == "after QBO committed":
        assert [bill for bill, _ in await bill_payments(cw)] == ["101", "103"]
        assert write.status == "pending", "QBO acted but Runway never heard"
    else:
        assert write.status == "succeeded"

    # A new process: the dead runner's lease must expire before its item is taken over.
    restarted = cw.service(smart_sync=qbo.smart_sync(worker_id="restarted"))
    meanwhile = await restarted.finalize(*cw.who("alice"))
    assert not meanwhile.finished
    assert meanwhile.remaining == 1
    qbo.clock.advance(600)
    result = await restarted.finalize(*cw.who("alice"))
    assert result.finished
    assert (result.total, result.done) == (4, 4)

    assert await bill_payments(cw) == [("101", Decimal("2000.00")), ("103", Decimal("500.00"))]
    assert len(await qbo.sandbox.sent_emails(cw.realm_id)) == 1
    assert await statuses(cw) == {
        "bill-101": "done",
        "bill-102": "done",
        "bill-103": "done",
        "invoice-201": "done",
    }
    async with qbo.db.read() as session:
        attempts = await session.scalar(
            select(FinalizeItem.attempts)
            .join(Decision, Decision.id == FinalizeItem.decision_id)
            .where(Decision.business_id == cw.business_id, Decision.qbo_id == "103")
        )
    assert attempts == 2


async def _is_item_for(session, item_id: int, qbo_id: str) -> bool:
    decision_qbo_id = await session.scalar(
        select(Decision.qbo_id)
        .join(FinalizeItem, FinalizeItem.decision_id == Decision.id)
        .where(FinalizeItem.id == item_id)
    )
    return decision_qbo_id == qbo_id

"""HTTP: the Hygiene Tray over the messy demo company in the QBO sandbox.

Every action, CSRF, tenancy (404), viewers (403), htmx fragments with out-of-band counters, plain-form pages,
CSV, the poll; and end to end: a due date fixed in the sandbox moves the runway exactly as the tray said, and
a concurrent change in QuickBooks answers with the conflict instead of overwriting it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.main import create_app
from domains.ap.models import Bill
from domains.core.models import AuditLog
from domains.qbo.demo import demo_companies
from domains.qbo.models import SyncRun
from domains.qbo.sandbox import seed_company
from runway.services.calculators import RunwayCalculator
from runway.services.data_orchestrators.business_snapshot import load_business_snapshot
from runway.services.data_orchestrators.hygiene_tray_data_orchestrator import local_date
from tests.conftest import make_settings
from tests.support.http import csrf_token, sign_in
from tests.support.personas import World, build_world
from tests.support.qbo import QboHarness
from tests.support.sql import statements_through_sqlalchemy

pytestmark = pytest.mark.anyio

HX = {"HX-Request": "true"}


@dataclass
class Tray:
    client: AsyncTestClient[Any]
    qbo: QboHarness
    world: World
    business_id: int
    realm_id: str

    @property
    def url(self) -> str:
        return f"/b/{self.business_id}/hygiene"

    def issue(self, rule: str, entity_type: str, qbo_id: str) -> str:
        return f"{self.url}/issues/{rule}/{entity_type}/{qbo_id}"

    async def post(self, path: str, data: dict[str, str] | None = None, *, htmx: bool = True) -> Any:
        token = self.client.cookies.get("csrftoken") or await csrf_token(self.client, "/")
        return await self.client.post(
            path,
            data={"_csrf_token": token, **(data or {})},
            headers=HX if htmx else {},
            follow_redirects=False,
        )

    async def panel(self, rule: str, entity_type: str, qbo_id: str, panel: str = "fix") -> str:
        response = await self.client.get(f"{self.issue(rule, entity_type, qbo_id)}?panel={panel}", headers=HX)
        assert response.status_code == 200, response.text
        return response.text

    async def bill(self, qbo_id: str) -> dict[str, Any]:
        return (await self.qbo.qbo(self.realm_id, f"SELECT * FROM Bill WHERE Id = '{qbo_id}'"))["Bill"][0]


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


def attr(html: str, name: str) -> str:
    match = re.search(rf'{name}="([^"]*)"', html)
    assert match, f"no {name} attribute"
    return match.group(1)


def row_ids(html: str) -> list[tuple[str, str, str]]:
    return re.findall(
        r'data-keynav-item[^>]*?data-rule="([a-z_]+)" data-entity-type="([a-z]+)" data-qbo-id="(\d+)"', html
    )


def count(html: str, severity: str) -> int:
    match = re.search(rf'data-count="{severity}"><dt>[A-Za-z]+</dt><dd>(\d+)</dd>', html)
    assert match
    return int(match.group(1))


def today() -> dt.date:
    return local_date(dt.datetime.now(dt.UTC), "America/New_York")


# The messy demo company as generated for today: its Ids follow from the calendar (twelve months of history
# before today), so each document a test acts on is found by what makes it the one with that problem.
MESSY = next(c for c in demo_companies(today()) if c.profile == "messy")


def _messy_id(entity: str, matches: Callable[[dict[str, Any]], bool]) -> str:
    (found,) = [str(o["Id"]) for o in MESSY.entities[entity] if matches(o)]
    return found


def _named(ref: str, name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda o: o.get(ref, {}).get("name") == name


UNDATED_BILL = _messy_id("Bill", lambda o: o.get("DocNumber") == "RR-5520")
DUPLICATE_BILL = _messy_id(
    "Bill", lambda o: _named("VendorRef", "Green Valley Nursery")(o) and "DocNumber" not in o
)
DUPLICATED_BILL = _messy_id("Bill", lambda o: o.get("DocNumber") == "88412")  # what DUPLICATE_BILL repeats
LATE_FEE_INVOICE = _messy_id("Invoice", lambda o: o.get("Balance", 0) > o["TotalAmt"])
UNCATEGORIZED_BILL = _messy_id("Bill", lambda o: o.get("DocNumber") == "SER-4410")
STALE_BILL = _messy_id("Bill", lambda o: o.get("DocNumber") == "OML-7731")
UNAPPLIED_PAYMENT = _messy_id("Payment", lambda o: o.get("UnappliedAmt", 0) > 0)
DISPUTED_INVOICE = _messy_id(
    "Invoice",
    lambda o: (
        _named("CustomerRef", "Lakeside HOA")(o)
        and o.get("Balance", 0) > 0
        and o["TxnDate"] == (today() - dt.timedelta(days=150)).isoformat()
    ),
)
ORPHAN_BILL = _messy_id("Bill", lambda o: o.get("DocNumber") == "RTS-0412")
DUE_BEFORE_TXN_BILL = _messy_id("Bill", lambda o: o.get("DocNumber") == "FF-20931")


@pytest.fixture
async def tray(qbo_sqlite: QboHarness, tmp_path: Path) -> AsyncIterator[Tray]:
    """Acme Client One holds the messy demo company, synced; Alice (advisor) is signed in."""
    qbo = qbo_sqlite
    world = await build_world(qbo.db)
    realm_id = await seed_company(
        qbo.sandbox.storage,
        MESSY.name,
        MESSY.entities,
        company_info=MESSY.company_info,
        preferences=MESSY.preferences,
    )
    await qbo.connect(world.acme_client_one, realm_id)
    sync = qbo.smart_sync()
    await sync.sync_now(world.acme_client_one)
    app = create_app(make_settings(tmp_path, qbo.db.url), database=qbo.db, smart_sync=sync)
    async with AsyncTestClient(app=app) as client:
        await sign_in(client, "alice@acme.test")
        yield Tray(client, qbo, world, world.acme_client_one, realm_id)


async def test_the_page_groups_issues_by_severity_with_score_counters_and_row_attributes(tray):
    page = await tray.client.get(tray.url)
    assert page.status_code == 200
    html = page.text
    assert "<html" in html
    assert 'data-score="' in html
    assert "cleared this week" in html
    rows = row_ids(html)
    assert ("bill_missing_due_date", "bill", UNDATED_BILL) in rows
    assert len(rows) == count(html, "high") + count(html, "medium") + count(html, "low")
    assert html.index("High severity") < html.index("Medium severity") < html.index("Low severity")
    assert "runway <strong>" in html, "rows show the runway delta of their fix"
    assert "No QuickBooks link" in html, "sandbox mode says why there is no deep link"
    only = await tray.client.get(f"{tray.url}?rule=uncategorized_line")
    assert {r[0] for r in row_ids(only.text)} == {"uncategorized_line"}
    high = await tray.client.get(f"{tray.url}?severity=high")
    assert 'data-severity="medium"' not in high.text
    by_money = await tray.client.get(f"{tray.url}?sort=money")
    amounts = [int(a) for a in re.findall(r'data-amount-cents="(\d+)"', by_money.text)]
    assert amounts == sorted(amounts, reverse=True)
    fragment = await tray.client.get(f"{tray.url}?severity=low", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section id="tray"')
    assert 'id="tray-counters" class="tray-counters" hx-swap-oob="true"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"


async def test_dismiss_and_snooze_swap_the_row_and_the_counters(tray):
    before = await tray.client.get(tray.url)
    high = count(before.text, "high")
    response = await tray.post(f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/dismiss")
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.text.lstrip().startswith('<li id="issue-')
    assert 'data-cleared="dismissed"' in response.text
    assert count(response.text, "high") == high - 1
    assert 'hx-swap-oob="true"' in response.text
    assert 'data-cleared="1"' in response.text, "1 of N cleared this week"
    page = await tray.client.get(tray.url)
    assert ("possible_duplicate_bill", "bill", DUPLICATE_BILL) not in row_ids(page.text)

    undo = await tray.post(f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/reopen")
    assert undo.status_code == 200
    assert "data-keynav-item" in undo.text
    assert count(undo.text, "high") == high

    issue = tray.issue("vendor_missing_terms", "vendor", "32")
    panel = await tray.panel("vendor_missing_terms", "vendor", "32", "snooze")
    assert 'data-hotkey="1"' in panel
    past = await tray.post(f"{issue}/snooze", {"until": today().isoformat()})
    assert past.status_code == 422
    assert "Pick a date after today" in past.text
    done = await tray.post(f"{issue}/snooze", {"days": "14"})
    assert done.status_code == 200
    until = today() + dt.timedelta(days=14)
    assert f"Snoozed until {until.day} {until:%b %Y}" in done.text
    assert count(done.text, "low") == 0


async def test_a_triage_action_runs_its_statements_on_the_driver(tray):
    """The request path's statements skip SQLAlchemy's execution (see `driver_statements`): only the
    transactions' BEGINs pass through it, so a statement built per request would show up here."""
    await tray.post(
        f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/dismiss", {"scope": "firm"}
    )
    with statements_through_sqlalchemy(tray.qbo.db) as seen:
        for action in ("reopen", "dismiss", "reopen"):
            response = await tray.post(
                f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/{action}"
            )
            assert response.status_code == 200
    assert set(seen) == {"BEGIN", "BEGIN IMMEDIATE"}


async def test_plain_form_posts_answer_with_the_whole_page_and_a_notice(tray):
    response = await tray.post(
        f"{tray.issue('totals_mismatch', 'invoice', LATE_FEE_INVOICE)}/dismiss", htmx=False
    )
    assert response.status_code == 200
    assert "<html" in response.text
    assert 'id="notice"' in response.text
    assert "Undo dismiss" in response.text
    assert ("totals_mismatch", "invoice", LATE_FEE_INVOICE) not in row_ids(response.text)
    panel = await tray.client.get(f"{tray.issue('bill_missing_due_date', 'bill', UNDATED_BILL)}?panel=fix")
    assert "<html" in panel.text, "without htmx the fix form is a page of its own"
    assert 'name="due_date"' in panel.text


async def test_csrf_is_required_and_other_tenants_or_closed_issues_answer_404(tray):
    response = await tray.client.post(
        f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/dismiss", data={}, headers=HX
    )
    assert response.status_code == 403
    page = await tray.client.get(tray.url)
    assert ("possible_duplicate_bill", "bill", DUPLICATE_BILL) in row_ids(page.text), "nothing happened"

    missing = await tray.post(f"{tray.issue('bill_missing_due_date', 'bill', '999999')}/dismiss")
    assert missing.status_code == 404

    await tray.post("/logout", htmx=False)
    await sign_in(tray.client, "oscar@other.test")
    assert (await tray.client.get(tray.url)).status_code == 404
    assert (await tray.client.get(f"{tray.url}.csv")).status_code == 404
    other = await tray.post(f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/dismiss")
    assert other.status_code == 404
    assert "Green Valley" not in other.text


async def test_a_viewer_reads_the_tray_but_cannot_act(tray):
    await tray.post("/logout", htmx=False)
    await sign_in(tray.client, "vera@acme.test")
    page = await tray.client.get(tray.url)
    assert page.status_code == 200
    assert "read only" in page.text
    assert 'data-hotkey="f"' not in page.text
    for action, data in (("dismiss", {}), ("snooze", {"days": "7"}), ("fix", {"due_date": "2030-01-01"})):
        response = await tray.post(
            f"{tray.issue('bill_missing_due_date', 'bill', UNDATED_BILL)}/{action}", data
        )
        assert response.status_code == 403
        assert "Viewers can read the Hygiene Tray but not change it" in response.text
    panel = await tray.client.get(
        f"{tray.issue('bill_missing_due_date', 'bill', UNDATED_BILL)}?panel=fix", headers=HX
    )
    assert panel.status_code == 403


async def test_vendor_terms_and_expense_account_fixes_write_qbo(tray):
    panel = await tray.panel("vendor_missing_terms", "vendor", "32")
    term = re.search(r'<option value="(\d+)" selected', panel).group(1)
    response = await tray.post(
        f"{tray.issue('vendor_missing_terms', 'vendor', '32')}/fix",
        {"term": term, "sync_token": hidden(panel, "sync_token")},
    )
    assert response.status_code == 200, response.text
    assert 'data-cleared="fixed"' in response.text
    vendor = (await tray.qbo.qbo(tray.realm_id, "SELECT * FROM Vendor WHERE Id = '32'"))["Vendor"][0]
    assert vendor["TermRef"]["value"] == term

    panel = await tray.panel("uncategorized_line", "bill", UNCATEGORIZED_BILL)
    account = re.search(
        r'name="account"[^>]*>\s*<option value="">Choose…</option>\s*<option value="(\d+)"', panel
    )
    assert account, "the account list starts with a prompt"
    refused = await tray.post(
        f"{tray.issue('uncategorized_line', 'bill', UNCATEGORIZED_BILL)}/fix",
        {"sync_token": hidden(panel, "sync_token")},
    )
    assert refused.status_code == 422
    assert "Choose an expense account" in refused.text
    assert 'name="account"' in refused.text, "the form comes back with the message"
    response = await tray.post(
        f"{tray.issue('uncategorized_line', 'bill', UNCATEGORIZED_BILL)}/fix",
        {"account": account.group(1), "sync_token": hidden(panel, "sync_token")},
    )
    assert response.status_code == 200, response.text
    lines = (await tray.bill(UNCATEGORIZED_BILL))["Line"]
    assert account.group(1) in {
        line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"] for line in lines
    }
    page = await tray.client.get(tray.url)
    assert ("uncategorized_line", "bill", UNCATEGORIZED_BILL) not in row_ids(page.text)


async def test_record_a_payment_for_a_stale_bill_and_undo_it(tray):
    panel = await tray.panel("stale_open_bill", "bill", STALE_BILL)
    data = {
        "bank": re.search(r'<option value="(\d+)" selected', panel).group(1),
        "paid_on": re.search(r'name="paid_on" value="([0-9-]+)"', panel).group(1),
        "request_id": hidden(panel, "request_id"),
        "sync_token": hidden(panel, "sync_token"),
    }
    response = await tray.post(f"{tray.issue('stale_open_bill', 'bill', STALE_BILL)}/fix", data)
    assert response.status_code == 200, response.text
    assert (await tray.bill(STALE_BILL))["Balance"] == 0
    again = await tray.post(f"{tray.issue('stale_open_bill', 'bill', STALE_BILL)}/fix", data)
    assert again.status_code == 404, "the issue is no longer open: the form cannot record a second payment"
    assert (
        len(
            (await tray.qbo.qbo(tray.realm_id, "SELECT * FROM BillPayment WHERE TotalAmt = '736.40'")).get(
                "BillPayment", []
            )
        )
        == 1
    )

    undo_url = re.search(r'action="(/b/\d+/hygiene/fixes/\d+/undo)"', response.text).group(1)
    undone = await tray.post(undo_url)
    assert undone.status_code == 200, undone.text
    assert (await tray.bill(STALE_BILL))["Balance"] == Decimal("736.40")


async def test_resolve_a_duplicate_by_deleting_it_after_confirmation(tray):
    panel = await tray.panel("possible_duplicate_bill", "bill", DUPLICATE_BILL)
    assert "?panel=delete" in panel, "deleting takes a second, explicit step"
    confirm = await tray.panel("possible_duplicate_bill", "bill", DUPLICATE_BILL, "delete")
    assert "cannot be undone" in confirm
    response = await tray.post(
        f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/fix",
        {
            "action": "delete",
            "bill": DUPLICATE_BILL,
            "sync_token": hidden(confirm, "sync_token"),
            f"token_{DUPLICATE_BILL}": hidden(confirm, f"token_{DUPLICATE_BILL}"),
            f"token_{DUPLICATED_BILL}": hidden(confirm, f"token_{DUPLICATED_BILL}"),
        },
    )
    assert response.status_code == 200, response.text
    assert "Undo" not in response.text, "a deletion cannot be undone"
    assert (await tray.qbo.qbo(tray.realm_id, f"SELECT * FROM Bill WHERE Id = '{DUPLICATE_BILL}'")).get(
        "Bill", []
    ) == []
    async with tray.qbo.db.read() as session:
        audit = await session.scalar(
            select(AuditLog).where(AuditLog.action == "hygiene.fix.delete_duplicate")
        )
    assert audit.before["Id"] == DUPLICATE_BILL


async def test_apply_payment_chase_and_sync_again(tray):
    panel = await tray.panel("unapplied_customer_payment", "payment", UNAPPLIED_PAYMENT)
    invoice = re.search(r'<option value="(\d+)" selected', panel).group(1)
    response = await tray.post(
        f"{tray.issue('unapplied_customer_payment', 'payment', UNAPPLIED_PAYMENT)}/fix",
        {"invoice": invoice, "sync_token": hidden(panel, "sync_token")},
    )
    assert response.status_code == 200, response.text
    payment = (await tray.qbo.qbo(tray.realm_id, f"SELECT * FROM Payment WHERE Id = '{UNAPPLIED_PAYMENT}'"))[
        "Payment"
    ][0]
    assert payment["UnappliedAmt"] == 0
    assert any(link["TxnId"] == invoice for line in payment["Line"] for link in line.get("LinkedTxn", []))

    panel = await tray.panel("stale_overdue_invoice", "invoice", DISPUTED_INVOICE)
    email = re.search(r'name="send_to" value="([^"]*)"', panel).group(1)
    assert "@" in email
    response = await tray.post(
        f"{tray.issue('stale_overdue_invoice', 'invoice', DISPUTED_INVOICE)}/fix",
        {"send_to": email, "sync_token": hidden(panel, "sync_token")},
    )
    assert response.status_code == 200, response.text
    assert 'data-cleared="snoozed"' in response.text
    sent = await tray.qbo.sandbox.sent_emails(tray.realm_id)
    assert [(mail["id"], mail["address"]) for mail in sent] == [(DISPUTED_INVOICE, email)]

    response = await tray.post(
        f"{tray.issue('orphan_reference', 'bill', ORPHAN_BILL)}/fix", {"sync_token": "0"}
    )
    assert response.status_code == 200, response.text
    async with tray.qbo.db.read() as session:
        runs = (await session.scalars(select(SyncRun).where(SyncRun.status == "pending"))).all()
    assert [run.kind for run in runs] == ["full"]


async def test_csv_export_and_the_poll(tray):
    response = await tray.client.get(f"{tray.url}.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    page = await tray.client.get(tray.url)
    assert len(rows) == len(row_ids(page.text))
    assert {"severity", "rule", "qbo_id", "amount_cents", "runway_delta_days"} <= set(rows[0])
    firm = await tray.client.get("/firm/hygiene.csv")
    firm_rows = list(csv.DictReader(io.StringIO(firm.text)))
    assert {r["client"] for r in firm_rows} == {"Acme Client One", "Acme Client Two"}
    assert [r["rule"] for r in firm_rows if r["client"] == "Acme Client Two"] == ["sync_stale"], (
        "never synced"
    )
    page = await tray.client.get(tray.url)
    poll = re.search(r'hx-get="(/b/\d+/hygiene/poll\?[^"]*)"', page.text).group(1).replace("&amp;", "&")
    unchanged = await tray.client.get(poll, headers=HX)
    assert unchanged.status_code == 204
    await tray.qbo.smart_sync().sync_now(tray.business_id)
    changed = await tray.client.get(poll, headers=HX)
    assert changed.status_code == 200
    assert changed.text.lstrip().startswith('<section id="tray"')


async def test_the_firm_tray_names_the_client_and_is_for_firm_staff_only(tray):
    page = await tray.client.get("/firm/hygiene")
    assert page.status_code == 200
    assert 'data-client="Acme Client One"' in page.text
    assert "Acme Client Two" in page.text, "listed in the client filter"
    filtered = await tray.client.get(f"/firm/hygiene?client={tray.world.acme_client_two}")
    assert 'data-client="Acme Client One"' not in filtered.text
    # Client two was never synced; its issue has no QBO company id yet and is still reachable.
    stale = re.search(r'href="(/b/\d+/hygiene/issues/sync_stale/business/-)\?panel=fix', filtered.text)
    assert stale, "the never-synced client shows its sync issue"
    assert (await tray.client.get(f"{stale.group(1)}?panel=fix", headers=HX)).status_code == 200
    dismissed = await tray.post(
        f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/dismiss", {"scope": "firm"}
    )
    assert "/firm/hygiene/poll" in dismissed.text, "firm counters come back out of band"
    await tray.post("/logout", htmx=False)
    await sign_in(tray.client, "bob@bikes.test")
    owner = await tray.client.get("/firm/hygiene")
    assert owner.status_code == 403
    assert "members of an accounting firm" in owner.text


def firm_counters(html: str) -> tuple[tuple[int, int, int], str, str]:
    """The firm counters block: open counts by severity, the cleared figure and the poll URL."""
    block = html[html.index('id="tray-counters"') :]
    counts = tuple(count(block, severity) for severity in ("high", "medium", "low"))
    poll = re.search(r'hx-get="(/firm/hygiene/poll\?[^"]*)"', block)
    assert poll, "the firm counters poll the firm tray"
    return counts, attr(block, "data-cleared"), poll.group(1).replace("&amp;", "&")


async def test_a_firm_scope_dismiss_answers_the_firm_counters_a_fresh_page_shows(tray):
    before, cleared_before, _poll = firm_counters((await tray.client.get("/firm/hygiene")).text)
    dismissed = await tray.post(
        f"{tray.issue('possible_duplicate_bill', 'bill', DUPLICATE_BILL)}/dismiss", {"scope": "firm"}
    )
    assert dismissed.status_code == 200
    answered, cleared, poll = firm_counters(dismissed.text)
    page, page_cleared, page_poll = firm_counters((await tray.client.get("/firm/hygiene")).text)
    assert answered == page, "the action's counters are the firm page's"
    assert cleared == page_cleared
    assert sum(answered) == sum(before) - 1
    assert int(cleared) == int(cleared_before) + 1
    marker = re.search(r"marker=([^&]+)", poll).group(1)
    assert marker == re.search(r"marker=([^&]+)", page_poll).group(1), "the poller sees nothing new"
    assert (await tray.client.get(poll, headers=HX)).status_code == 204


async def test_end_to_end_a_due_date_fix_moves_the_runway_as_shown(tray):
    issue = tray.issue("bill_missing_due_date", "bill", UNDATED_BILL)
    panel = await tray.panel("bill_missing_due_date", "bill", UNDATED_BILL)
    token = hidden(panel, "sync_token")
    chosen = today() + dt.timedelta(days=1)
    preview = await tray.client.get(f"{issue}/preview?due_date={chosen.isoformat()}", headers=HX)
    assert preview.status_code == 200
    shown_delta = int(attr(preview.text, "data-delta-days"))
    shown_zero = attr(preview.text, "data-new-cash-zero")
    shown_lowest = int(attr(preview.text, "data-new-lowest-cash"))
    as_of = today()
    async with tray.qbo.db.read() as session:
        before = RunwayCalculator().calculate(await load_business_snapshot(session, tray.business_id), as_of)

    response = await tray.post(f"{issue}/fix", {"due_date": chosen.isoformat(), "sync_token": token})
    assert response.status_code == 200, response.text
    written = await tray.bill(UNDATED_BILL)
    assert written["DueDate"] == chosen.isoformat()
    assert int(written["SyncToken"]) == int(token) + 1
    async with tray.qbo.db.read() as session:
        local = await session.scalar(
            select(Bill).where(Bill.business_id == tray.business_id, Bill.qbo_id == UNDATED_BILL)
        )
        after = RunwayCalculator().calculate(await load_business_snapshot(session, tray.business_id), as_of)
    assert local.sync_token == written["SyncToken"]
    page = await tray.client.get(tray.url)
    assert ("bill_missing_due_date", "bill", UNDATED_BILL) not in row_ids(page.text)
    assert shown_zero == (after.runway.cash_zero_date.isoformat() if after.runway.cash_zero_date else "")
    assert shown_delta == after.runway.days - before.runway.days
    assert shown_lowest == after.lowest_cash_cents


async def test_end_to_end_a_concurrent_change_answers_with_the_conflict_not_an_overwrite(tray):
    issue = tray.issue("bill_due_before_txn", "bill", DUE_BEFORE_TXN_BILL)
    panel = await tray.panel("bill_due_before_txn", "bill", DUE_BEFORE_TXN_BILL)
    token = hidden(panel, "sync_token")
    # Someone adds a memo in QuickBooks after the form was opened.
    await tray.qbo.qbo_write(
        tray.realm_id,
        "Bill",
        {"Id": DUE_BEFORE_TXN_BILL, "SyncToken": token, "sparse": True, "PrivateNote": "Checked by Sam"},
    )
    mine = (today() + dt.timedelta(days=3)).isoformat()
    response = await tray.post(f"{issue}/fix", {"due_date": mine, "sync_token": token})
    assert response.status_code == 409
    assert "data-conflict" in response.text
    assert "Checked by Sam" in response.text, "QuickBooks' current values are shown"
    assert (await tray.bill(DUE_BEFORE_TXN_BILL))["DueDate"] != mine, "nothing was overwritten"
    retry_token = hidden(response.text, "sync_token")
    assert int(retry_token) == int(token) + 1
    assert f'value="{mine}"' in response.text, "the retry form keeps what was typed"

    retried = await tray.post(f"{issue}/fix", {"due_date": mine, "sync_token": retry_token})
    assert retried.status_code == 200, retried.text
    final = await tray.bill(DUE_BEFORE_TXN_BILL)
    assert final["DueDate"] == mine
    assert final["PrivateNote"] == "Checked by Sam", "their change survives ours"

"""HTTP: the client list as page and fragment, scoped to the advisor's firm; the home page sends firm staff
there and an owner of one business to its dashboard."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from domains.core.db import utcnow
from domains.summaries import repository as summaries
from tests.support.http import sign_in
from tests.support.personas import build_world

pytestmark = pytest.mark.anyio


def row_ids(html: str) -> list[int]:
    return [
        int(i) for i in re.findall(r'<tr id="client-\d+" data-keynav-item data-business-id="(\d+)"', html)
    ]


async def test_an_advisor_sees_their_firms_clients_as_page_and_fragment(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")

    page = await client.get("/clients")
    assert page.status_code == 200
    assert "<html" in page.text
    assert "<h1>Clients</h1>" in page.text
    assert sorted(row_ids(page.text)) == sorted([world.acme_client_one, world.acme_client_two])
    assert "Other Client" not in page.text
    assert "Bob&#39;s Bikes" not in page.text
    assert 'data-hotkey-focus="/"' in page.text
    assert "data-keynav" in page.text
    assert f'href="/b/{world.acme_client_one}/digest" data-keynav-open' in page.text

    fragment = await client.get("/clients", headers={"HX-Request": "true"})
    assert fragment.text.strip().startswith('<section id="client-list"')
    assert "<html" not in fragment.text
    assert sorted(row_ids(fragment.text)) == sorted([world.acme_client_one, world.acme_client_two])

    await sign_in(client, "oscar@other.test")
    other = await client.get("/clients")
    assert row_ids(other.text) == [world.other_client]


async def test_the_home_page_sends_each_person_to_their_own_home(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    advisor = await client.get("/", follow_redirects=False)
    assert advisor.status_code == 303
    assert advisor.headers["location"] == "/clients"

    await sign_in(client, "bob@bikes.test")
    owner = await client.get("/", follow_redirects=False)
    assert owner.status_code == 303
    assert owner.headers["location"] == f"/b/{world.bobs_bikes}"
    # Someone in no firm has no client list.
    not_staff = await client.get("/clients", follow_redirects=False)
    assert not_staff.status_code == 303
    assert not_staff.headers["location"] == "/"
    assert "Firm digest" not in (await client.get(f"/b/{world.bobs_bikes}")).text


async def test_rows_show_stale_syncs_in_red_and_who_last_worked(client, sqlite_database):
    world = await build_world(sqlite_database)
    from domains.core import repository as core

    async with sqlite_database.write() as session:
        alice = await core.get_user_by_email(session, "alice@acme.test")
        fields = {
            "as_of": dt.date.today(),
            "currency": "USD",
            "status": "red",
            "cash_now_cents": 1_234_56,
            "runway_days": 10,
            "runway_weeks": "1.4",
            "cash_zero_date": dt.date.today() + dt.timedelta(days=10),
            "issues_high": 2,
            "issues_medium": 1,
            "hygiene_score": 77,
            "decisions_waiting": 4,
        }
        # Alice's work comes before the rows are computed, so the rows are current and shown as stored.
        await core.add_audit_entry(
            session, action="decision.proposed", business_id=world.acme_client_two, user_id=alice.id
        )
        await summaries.upsert_summary(
            session, world.acme_client_one, **fields, last_sync_at=utcnow() - dt.timedelta(hours=30)
        )
        await summaries.upsert_summary(
            session, world.acme_client_two, **fields, last_sync_at=utcnow() - dt.timedelta(hours=1)
        )
    await sign_in(client, "bert@acme.test")
    page = (await client.get("/clients")).text

    one = page[page.index(f'id="client-{world.acme_client_one}"') :]
    one = one[: one.index("</tr>")]
    two = page[page.index(f'id="client-{world.acme_client_two}"') :]
    two = two[: two.index("</tr>")]
    assert 'class="is-stale"' in one
    assert 'class="is-stale"' not in two
    assert "1.4 wk" in one
    assert "$1,234.56" in one
    assert ">77<" in one
    assert "Alice" in two
    assert "Alice" not in one
    assert "Add a client" not in page, "a bookkeeper does not add clients"

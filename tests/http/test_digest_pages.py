"""HTTP: the digest pages of a business and of a firm, as page and fragment, tenant-scoped, and who gets them
by e-mail (add, refuse a bad address, remove; only owners, advisors and admins)."""

from __future__ import annotations

import re

import pytest

from domains.core import repository as core
from tests.support.http import csrf_token, sign_in
from tests.support.personas import build_world
from tests.support.runway_world import IN_TROUBLE, TIGHT, add_demo_business, app_client, report_for

pytestmark = pytest.mark.anyio

HX = {"HX-Request": "true"}


async def test_the_business_digest_is_the_first_tab_as_page_and_fragment(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    business_id = await add_demo_business(qbo_sqlite, IN_TROUBLE, firm="Acme Accounting")
    report = await report_for(qbo_sqlite, IN_TROUBLE)
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "alice@acme.test")
        page = await client.get(f"/b/{business_id}/digest")
        assert page.status_code == 200
        assert "<html" in page.text
        assert f'data-runway-weeks="{report["runway"]["weeks"]}"' in page.text
        assert f'data-cash-zero-date="{report["runway"]["cash_zero_date"]}"' in page.text
        assert "Bills due this week" in page.text
        assert "Overdue invoices" in page.text
        assert "Decisions waiting" in page.text
        assert "Since last week" not in page.text
        # The three tabs, switchable with 1/2/3, with Digest current.
        tabs = page.text[page.text.index('<nav id="business-tabs"') :]
        tabs = tabs[: tabs.index("</nav>")]
        assert re.search(rf'href="/b/{business_id}/digest" data-hotkey="1" aria-current="page"', tabs)
        assert f'href="/b/{business_id}/hygiene" data-hotkey="2"' in tabs
        assert f'href="/b/{business_id}/console" data-hotkey="3"' in tabs

        fragment = await client.get(f"/b/{business_id}/digest", headers=HX)
        assert fragment.text.strip().startswith('<article id="business-digest"')
        assert "<html" not in fragment.text

        await sign_in(client, "oscar@other.test")
        assert (await client.get(f"/b/{business_id}/digest")).status_code == 404


async def test_the_firm_digest_is_the_firms_own_as_page_and_fragment(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    for name in (TIGHT, IN_TROUBLE):
        await add_demo_business(qbo_sqlite, name, firm="Acme Accounting")
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "alice@acme.test")
        page = await client.get("/firm/digest")
        assert page.status_code == 200
        assert "Acme Accounting: week" in page.text
        assert page.text.index(IN_TROUBLE) < page.text.index(TIGHT), "shortest runway first"
        fragment = await client.get("/firm/digest", headers=HX)
        assert fragment.text.strip().startswith('<article id="firm-digest"')

        await sign_in(client, "oscar@other.test")
        other = await client.get("/firm/digest")
        assert "Other Firm: week" in other.text
        assert TIGHT not in other.text
        async with qbo_sqlite.db.read() as session:
            acme = await core.get_or_create_firm(session, "Acme Accounting")
        assert (await client.get(f"/firm/digest?firm={acme.id}")).status_code == 404

        await sign_in(client, "bob@bikes.test")
        assert (await client.get("/firm/digest")).status_code == 404


async def test_recipients_are_added_checked_and_removed_by_those_who_may(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "bob@bikes.test")
    path = f"/b/{world.bobs_bikes}/digest"
    page = await client.get(path)
    assert "It goes to the business&#39;s owners: bob@bikes.test." in page.text
    token = await csrf_token(client, path)
    headers = {**HX, "x-csrftoken": token}

    added = await client.post(f"{path}/recipients", data={"email": " Books@Bikes.test "}, headers=headers)
    assert added.status_code == 200
    assert added.text.strip().startswith('<section id="digest-recipients"')
    assert "books@bikes.test" in added.text
    assert "It goes to the business" not in added.text

    bad = await client.post(f"{path}/recipients", data={"email": "not an address"}, headers=headers)
    assert bad.status_code == 422
    assert "is not an e-mail address" in bad.text
    twice = await client.post(f"{path}/recipients", data={"email": "books@bikes.test"}, headers=headers)
    assert twice.status_code == 422
    assert "already gets this digest" in twice.text

    recipient_id = re.search(r'id="recipient-(\d+)"', added.text).group(1)
    removed = await client.post(f"{path}/recipients/{recipient_id}/delete", headers=headers)
    assert "books@bikes.test" not in removed.text
    assert "bob@bikes.test" in removed.text

    # Without JavaScript the form posts and returns to the digest.
    plain = await client.post(
        f"{path}/recipients",
        data={"email": "owner2@bikes.test", "_csrf_token": token},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == path

    await sign_in(client, "vera@acme.test")
    token = await csrf_token(client, "/clients")
    viewer = await client.post(
        f"/b/{world.acme_client_one}/digest/recipients",
        data={"email": "x@acme.test"},
        headers={**HX, "x-csrftoken": token},
    )
    assert viewer.status_code == 403
    assert 'name="email"' not in (await client.get(f"/b/{world.acme_client_one}/digest")).text

    await sign_in(client, "alice@acme.test")
    async with sqlite_database.read() as session:
        acme = await core.get_or_create_firm(session, "Acme Accounting")
    token = await csrf_token(client, "/firm/digest")
    firm = await client.post(
        f"/firm/{acme.id}/digest/recipients",
        data={"email": "partners@acme.test"},
        headers={**HX, "x-csrftoken": token},
    )
    assert firm.status_code == 200
    assert "partners@acme.test" in firm.text

    await sign_in(client, "bert@acme.test")
    token = await csrf_token(client, "/firm/digest")
    bookkeeper = await client.post(
        f"/firm/{acme.id}/digest/recipients",
        data={"email": "x@acme.test"},
        headers={**HX, "x-csrftoken": token},
    )
    assert bookkeeper.status_code == 403
    await sign_in(client, "oscar@other.test")
    token = await csrf_token(client, "/firm/digest")
    foreign = await client.post(
        f"/firm/{acme.id}/digest/recipients",
        data={"email": "x@other.test"},
        headers={**HX, "x-csrftoken": token},
    )
    assert foreign.status_code == 404

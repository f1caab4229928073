"""HTTP: "Your businesses" lists exactly what memberships grant; other tenants' businesses answer 404."""

from __future__ import annotations

import pytest

from tests.support.http import sign_in
from tests.support.personas import build_world

pytestmark = pytest.mark.anyio


async def test_it_lists_the_firms_clients_for_an_advisor(client, sqlite_database):
    await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    page = (await client.get("/")).text
    assert "Acme Client One" in page
    assert "Acme Client Two" in page
    assert "Other Client" not in page
    assert "Bob&#39;s Bikes" not in page
    assert "Bob's Bikes" not in page


async def test_it_lists_only_the_owned_business_for_an_owner(client, sqlite_database):
    await build_world(sqlite_database)
    await sign_in(client, "bob@bikes.test")
    page = (await client.get("/")).text
    assert "Bob&#39;s Bikes" in page
    assert "Acme Client One" not in page


async def test_it_answers_404_for_another_firms_business(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    mine = await client.get(f"/b/{world.acme_client_one}")
    assert mine.status_code == 200
    assert "Acme Client One" in mine.text
    for other in (world.other_client, world.bobs_bikes, 999_999):
        response = await client.get(f"/b/{other}")
        assert response.status_code == 404
        assert "Other Client" not in response.text


async def test_it_answers_404_not_403_so_existence_is_not_confirmed(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "oscar@other.test")
    existing = await client.get(f"/b/{world.acme_client_one}")
    missing = await client.get("/b/424242")
    assert existing.status_code == missing.status_code == 404


async def test_it_returns_only_the_list_fragment_to_htmx(client, sqlite_database):
    await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    fragment = await client.get("/", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith("{#") is False
    assert fragment.text.strip().startswith('<section id="business-list"')
    assert "<html" not in fragment.text
    assert fragment.headers["vary"] == "HX-Request"
    restore = await client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


async def test_it_sends_htmx_visitors_without_session_to_login_with_hx_redirect(client):
    response = await client.get("/", headers={"HX-Request": "true"}, follow_redirects=False)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/login"

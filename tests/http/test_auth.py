"""HTTP: signing in and out through the real form, with CSRF and server-side sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from domains.core.models import User
from tests.support.http import csrf_token_from, sign_in
from tests.support.personas import build_world

pytestmark = pytest.mark.anyio


async def test_it_redirects_anonymous_visitors_to_login_with_next(client):
    response = await client.get("/b/1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fb%2F1"


async def test_it_signs_in_and_lands_on_your_businesses(client, sqlite_database):
    await build_world(sqlite_database)
    response = await sign_in(client, "alice@acme.test")
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    page = await client.get("/")
    assert page.status_code == 200
    # Firm staff land on their client list.
    assert page.url.path == "/clients"
    assert "Acme Client One" in page.text


async def test_it_rejects_a_wrong_password_without_saying_which_field(client, sqlite_database):
    await build_world(sqlite_database)
    response = await sign_in(client, "alice@acme.test", "not the password")
    assert response.status_code == 400
    assert "do not match an account" in response.text
    assert 'value="alice@acme.test"' in response.text, "the e-mail typed is kept"
    unknown = await sign_in(client, "nobody@acme.test", "whatever123")
    assert unknown.status_code == 400
    assert "do not match an account" in unknown.text
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_it_continues_to_next_but_never_off_site(client, sqlite_database):
    world = await build_world(sqlite_database)
    page = await client.get(f"/login?next=/b/{world.acme_client_one}")
    token = csrf_token_from(page.text)
    response = await client.post(
        "/login",
        data={
            "email": "alice@acme.test",
            "password": "correct horse battery",
            "next": "//evil.example/x",
            "_csrf_token": token,
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


async def test_it_rotates_the_session_id_at_sign_in(client, sqlite_database):
    await build_world(sqlite_database)
    client.cookies.set("runway_session", "attacker-chosen-session-id", domain="testserver.local")
    response = await sign_in(client, "alice@acme.test")
    issued = [c for c in response.headers.get_list("set-cookie") if c.startswith("runway_session=")]
    assert len(issued) == 1
    assert "attacker-chosen-session-id" not in issued[0]
    assert (await client.get("/")).status_code == 200


async def test_it_signs_out(client, sqlite_database):
    await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    page = await client.get("/")
    response = await client.post(
        "/logout", data={"_csrf_token": csrf_token_from(page.text)}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_it_refuses_a_post_without_csrf_token(client, sqlite_database):
    await build_world(sqlite_database)
    await client.get("/login")
    response = await client.post(
        "/login",
        data={"email": "alice@acme.test", "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "Reload the page" in response.text
    assert (await client.get("/", follow_redirects=False)).status_code == 303, "no session was started"


async def test_it_refuses_logout_without_csrf_token(client, sqlite_database):
    await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    response = await client.post("/logout", follow_redirects=False)
    assert response.status_code == 403
    assert (await client.get("/")).status_code == 200, "still signed in"


async def test_it_accepts_the_csrf_token_in_the_htmx_header(client, sqlite_database):
    await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    page = await client.get("/")
    response = await client.post(
        "/logout",
        headers={"x-csrftoken": csrf_token_from(page.text), "HX-Request": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303


async def test_a_deactivated_account_is_signed_out_on_its_next_request(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "alice@acme.test")
    business_page = f"/b/{world.acme_client_one}"
    assert (await client.get(business_page)).status_code == 200
    async with sqlite_database.write() as session:
        await session.execute(update(User).where(User.email == "alice@acme.test").values(is_active=False))
    response = await client.get(business_page, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert (await client.get("/clients", follow_redirects=False)).status_code == 303, "the session is gone"


async def test_a_business_page_of_another_tenant_answers_404_with_a_valid_session(client, sqlite_database):
    world = await build_world(sqlite_database)
    await sign_in(client, "bob@bikes.test")
    assert (await client.get(f"/b/{world.acme_client_one}")).status_code == 404
    assert (await client.get(f"/b/{world.acme_client_one}/console")).status_code == 404

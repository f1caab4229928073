"""HTTP: Connect QuickBooks — the OAuth flow through the sandbox's consent form, the callback refusing a
missing, wrong, foreign or reused `state` and errors from QuickBooks, the first sync, who may connect what,
a company already connected elsewhere, and "Disconnect" revoking the tokens."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from sqlalchemy import select

from domains.core import repository as core
from domains.core.models import Business
from domains.qbo import repository as qbo_repo
from domains.qbo.models import SyncRun
from domains.qbo.sandbox import seed_company
from domains.qbo.sandbox.oauth import OAuthError as SandboxOAuthError
from tests.support.http import csrf_token, sign_in
from tests.support.personas import build_world
from tests.support.qbo import SANDBOX_URL, QboHarness
from tests.support.runway_world import TIGHT, app_client, demo_company, syncing

pytestmark = pytest.mark.anyio


async def start(client: Any, query: str = "") -> dict[str, str]:
    """Begin a flow; returns the consent page's query parameters (state, client_id, redirect_uri...)."""
    response = await client.get(f"/connect/qbo/start{query}", follow_redirects=False)
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{SANDBOX_URL}/oauth2/authorize"
    return {key: values[0] for key, values in parse_qs(location.query).items()}


async def consent(
    qbo: QboHarness, params: dict[str, str], *, realm_id: str = "new", company: str = ""
) -> str:
    """Press Connect on the sandbox's consent page; returns the callback query QuickBooks redirects to."""
    form = {
        "client_id": params["client_id"],
        "redirect_uri": params["redirect_uri"],
        "scope": params["scope"],
        "state": params["state"],
        "response_type": "code",
        "realm_id": realm_id,
        "company_name": company,
        "decision": "allow",
    }
    response = await qbo.http.post("/oauth2/authorize", data=form, follow_redirects=False)
    assert response.status_code == 302, response.text
    return urlsplit(response.headers["location"]).query


async def demo_realm(qbo: QboHarness, name: str = TIGHT) -> str:
    company = demo_company(name)
    return await seed_company(
        qbo.sandbox.storage,
        company.name,
        company.entities,
        company_info=company.company_info,
        preferences=company.preferences,
    )


async def test_an_owner_connects_their_business_and_lands_on_the_first_sync(qbo_sqlite, tmp_path):
    world = await build_world(qbo_sqlite.db)
    async with qbo_sqlite.db.read() as session:
        charlie_business = (await core.find_businesses_by_name(session, "Charlie Unused"))[0].id
    realm_id = await demo_realm(qbo_sqlite)
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "charlie@nowhere.test")
        params = await start(client, f"?business={charlie_business}")
        assert params["response_type"] == "code"
        assert len(params["state"]) >= 32
        callback = await consent(qbo_sqlite, params, realm_id=realm_id)

        landed = await client.get(f"/connect/qbo/callback?{callback}", follow_redirects=False)
        assert landed.status_code == 303
        assert landed.headers["location"] == f"/b/{charlie_business}"

        async with qbo_sqlite.db.read() as session:
            connection = await qbo_repo.get_connection(session, charlie_business)
            runs = list(await session.scalars(select(SyncRun).where(SyncRun.business_id == charlie_business)))
        assert connection is not None
        assert connection.status == "connected"
        assert connection.realm_id == realm_id
        assert not connection.access_token_enc.startswith("eyJ"), "tokens are stored encrypted"
        assert qbo_sqlite.cipher.decrypt(connection.access_token_enc).startswith("eyJ")
        assert [(r.kind, r.trigger, r.status) for r in runs] == [("full", "initial", "pending")]

        dashboard = await client.get(f"/b/{charlie_business}")
        assert "<progress" in dashboard.text
        assert "Reading the books from QuickBooks" in dashboard.text

        # The worker picks the run up (on the harness's clock, which moves only when told).
        qbo_sqlite.clock.advance(600)
        assert [o.status for o in await syncing(qbo_sqlite).run_due()] == ["succeeded"]
        after = await client.get(f"/b/{charlie_business}")
        assert "<progress" not in after.text
        assert 'id="kpi-runway"' in after.text

        # The same answer from QuickBooks cannot be used twice.
        replay = await client.get(f"/connect/qbo/callback?{callback}")
        assert replay.status_code == 400
        assert "not valid any more" in replay.text
        assert world.bobs_bikes  # the other personas are untouched


async def test_the_callback_refuses_missing_wrong_and_foreign_state(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    realm_id = await demo_realm(qbo_sqlite)
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "bob@bikes.test")
        params = await start(client)
        callback = parse_qs(await consent(qbo_sqlite, params, realm_id=realm_id))
        code = callback["code"][0]

        missing = await client.get("/connect/qbo/callback?" + urlencode({"code": code, "realmId": realm_id}))
        assert missing.status_code == 400
        assert "carried no state" in missing.text
        wrong = await client.get(
            "/connect/qbo/callback?" + urlencode({"code": code, "realmId": realm_id, "state": "forged-state"})
        )
        assert wrong.status_code == 400
        assert "not valid any more" in wrong.text

        # Alice cannot finish the flow Bob started, even with his state and code.
        await sign_in(client, "alice@acme.test")
        query = urlencode({"code": code, "realmId": realm_id, "state": params["state"]})
        foreign = await client.get(f"/connect/qbo/callback?{query}")
        assert foreign.status_code == 400
        async with qbo_sqlite.db.read() as session:
            assert await session.scalar(select(Business).where(Business.realm_id == realm_id)) is None


async def test_an_error_from_quickbooks_is_shown_and_uses_up_the_state(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "bob@bikes.test")
        params = await start(client)
        # The person pressed Cancel on the consent page.
        denied = await qbo_sqlite.http.post(
            "/oauth2/authorize",
            data={
                **{k: params[k] for k in ("client_id", "redirect_uri", "scope", "state")},
                "decision": "deny",
            },
            follow_redirects=False,
        )
        callback = urlsplit(denied.headers["location"]).query
        assert "error=access_denied" in callback
        page = await client.get(f"/connect/qbo/callback?{callback}")
        assert page.status_code == 400
        assert "The connection was cancelled on the QuickBooks page." in page.text
        assert 'href="/connect"' in page.text

        # A refused code (already used, or forged) says so too.
        params = await start(client)
        refused = await client.get(
            "/connect/qbo/callback?"
            + urlencode({"code": "AB11-not-a-code", "realmId": "9130350000000001", "state": params["state"]})
        )
        assert refused.status_code == 400
        assert "QuickBooks refused the authorization (invalid_grant)" in refused.text


async def test_new_companies_become_an_owners_business_or_a_firms_client(qbo_sqlite, tmp_path):
    world = await build_world(qbo_sqlite.db)
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "bob@bikes.test")
        callback = await consent(qbo_sqlite, await start(client), company="Fresh Start Bakery")
        landed = await client.get(f"/connect/qbo/callback?{callback}", follow_redirects=False)
        new_id = int(landed.headers["location"].rsplit("/", 1)[1])
        async with qbo_sqlite.db.read() as session:
            business = await core.get_business(session, new_id)
            access = await core.business_for_user(
                session, (await core.get_user_by_email(session, "bob@bikes.test")).id, new_id
            )
        assert business.name == "Fresh Start Bakery", "named after the company in QuickBooks"
        assert business.firm_id is None
        assert access is not None
        assert access.role == "owner"

        await sign_in(client, "alice@acme.test")
        async with qbo_sqlite.db.read() as session:
            acme = await core.get_or_create_firm(session, "Acme Accounting")
        options = await client.get("/connect")
        assert f'href="/connect/qbo/start?firm={acme.id}"' in options.text
        assert "Add a client to Acme Accounting" in options.text
        assert "<html" in options.text
        fragment = await client.get("/connect", headers={"HX-Request": "true"})
        assert fragment.text.strip().startswith('<section id="connect-options"')
        assert "Connect a business you own" in fragment.text
        callback = await consent(
            qbo_sqlite, await start(client, f"?firm={acme.id}"), company="Harbor Plumbing"
        )
        landed = await client.get(f"/connect/qbo/callback?{callback}", follow_redirects=False)
        client_id = int(landed.headers["location"].rsplit("/", 1)[1])
        clients = await client.get("/clients")
        assert f'data-business-id="{client_id}"' in clients.text
        assert "Harbor Plumbing" in clients.text
        assert world.acme_client_one


async def test_who_may_connect_what(qbo_sqlite, tmp_path):
    world = await build_world(qbo_sqlite.db)
    async with qbo_sqlite.db.read() as session:
        acme = await core.get_or_create_firm(session, "Acme Accounting")
        other = await core.get_or_create_firm(session, "Other Firm")
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "vera@acme.test")
        viewer = await client.get(
            f"/connect/qbo/start?business={world.acme_client_one}", follow_redirects=False
        )
        assert viewer.status_code == 403
        await sign_in(client, "bert@acme.test")
        bookkeeper = await client.get(f"/connect/qbo/start?firm={acme.id}", follow_redirects=False)
        assert bookkeeper.status_code == 403
        assert "Add a client" not in (await client.get("/connect")).text
        await sign_in(client, "oscar@other.test")
        assert (await client.get(f"/connect/qbo/start?business={world.acme_client_one}")).status_code == 404
        assert (await client.get(f"/connect/qbo/start?firm={acme.id}")).status_code == 404
        assert (
            await client.get(f"/connect/qbo/start?firm={other.id}", follow_redirects=False)
        ).status_code == 303


async def test_a_company_connected_by_another_firm_is_not_taken_over(qbo_sqlite, tmp_path):
    await build_world(qbo_sqlite.db)
    realm_id = await demo_realm(qbo_sqlite)
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "alice@acme.test")
        async with qbo_sqlite.db.read() as session:
            acme = await core.get_or_create_firm(session, "Acme Accounting")
        callback = await consent(qbo_sqlite, await start(client, f"?firm={acme.id}"), realm_id=realm_id)
        first = await client.get(f"/connect/qbo/callback?{callback}", follow_redirects=False)
        assert first.status_code == 303

        await sign_in(client, "oscar@other.test")
        callback = await consent(qbo_sqlite, await start(client), realm_id=realm_id)
        taken = await client.get(f"/connect/qbo/callback?{callback}")
        assert taken.status_code == 400
        assert "already connected to Runway by someone else" in taken.text

        # Alice adding it again reconnects the same client rather than creating a second one.
        await sign_in(client, "alice@acme.test")
        callback = await consent(qbo_sqlite, await start(client, f"?firm={acme.id}"), realm_id=realm_id)
        again = await client.get(f"/connect/qbo/callback?{callback}", follow_redirects=False)
        assert again.headers["location"] == first.headers["location"]


async def test_disconnect_revokes_the_tokens_and_forgets_them(qbo_sqlite, tmp_path):
    world = await build_world(qbo_sqlite.db)
    realm_id = await demo_realm(qbo_sqlite)
    await qbo_sqlite.connect(world.bobs_bikes, realm_id)
    async with qbo_sqlite.db.read() as session:
        refresh = qbo_sqlite.cipher.decrypt(
            (await qbo_repo.get_connection(session, world.bobs_bikes)).refresh_token_enc
        )
    async with app_client(qbo_sqlite, tmp_path) as client:
        await sign_in(client, "bob@bikes.test")
        page = await client.get(f"/b/{world.bobs_bikes}")
        assert "Disconnect QuickBooks" in page.text
        token = await csrf_token(client, f"/b/{world.bobs_bikes}")
        response = await client.post(
            f"/b/{world.bobs_bikes}/disconnect", data={"_csrf_token": token}, follow_redirects=False
        )
        assert response.status_code == 303
        async with qbo_sqlite.db.read() as session:
            connection = await qbo_repo.get_connection(session, world.bobs_bikes)
            audit = await core.list_audit_entries(session, world.bobs_bikes)
        assert connection.status == "disconnected"
        assert connection.access_token_enc is None
        assert connection.refresh_token_enc is None
        assert any(entry.action == "qbo.disconnected" for entry in audit)
        with pytest.raises(SandboxOAuthError):
            await qbo_sqlite.sandbox.oauth.refresh(qbo_sqlite.config.oauth.client_id, refresh)
        after = await client.get(f"/b/{world.bobs_bikes}")
        assert "Reconnect QuickBooks" in after.text

        await sign_in(client, "oscar@other.test")
        token = await csrf_token(client, "/connect")
        foreign = await client.post(f"/b/{world.bobs_bikes}/disconnect", data={"_csrf_token": token})
        assert foreign.status_code == 404

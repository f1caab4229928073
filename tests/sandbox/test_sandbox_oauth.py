"""QBO sandbox: OAuth 2.0 — consent page, single-use codes, refresh rotation, invalid_grant, revocation."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import pytest

from domains.qbo.sandbox import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from tests.sandbox.support import Harness, body

pytestmark = pytest.mark.anyio

REDIRECT = "http://localhost:8000/qbo/callback"
BASIC = "Basic " + base64.b64encode(f"{DEFAULT_CLIENT_ID}:{DEFAULT_CLIENT_SECRET}".encode()).decode()
FORM = {"Authorization": BASIC, "Accept": "application/json"}


async def _consent(harness: Harness, **choice: str) -> dict[str, list[str]]:
    form = {
        "client_id": DEFAULT_CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "com.intuit.quickbooks.accounting",
        "state": "csrf-123",
        "decision": "allow",
        **choice,
    }
    response = await harness.client.post("/oauth2/authorize", data=form, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return parse_qs(urlsplit(location).query)


async def test_consent_page_lists_companies_in_a_plain_form(harness: Harness) -> None:
    await harness.sandbox.create_company("Craig's <Design>")
    page = await harness.client.get(
        "/oauth2/authorize",
        params={
            "client_id": DEFAULT_CLIENT_ID,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": REDIRECT,
            "state": "s1",
        },
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Craig&#x27;s &lt;Design&gt;" in html
    assert '<form method="post" action="/oauth2/authorize">' in html
    assert "<script" not in html.lower()
    assert "style=" not in html.lower()
    assert "Connect" in html

    unknown = await harness.client.get(
        "/oauth2/authorize", params={"client_id": "nobody", "response_type": "code", "redirect_uri": REDIRECT}
    )
    assert unknown.status_code == 400


async def test_code_is_single_use_and_its_tokens_open_the_api(harness: Harness) -> None:
    realm_id = await harness.sandbox.create_company("Connected Co")
    callback = await _consent(harness, realm_id=realm_id)
    assert callback["state"] == ["csrf-123"]
    assert callback["realmId"] == [realm_id]
    code = callback["code"][0]

    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    granted = await harness.client.post("/oauth2/tokens/bearer", data=exchange, headers=FORM)
    assert granted.status_code == 200
    tokens = body(granted)
    assert set(tokens) == {
        "token_type",
        "expires_in",
        "access_token",
        "refresh_token",
        "x_refresh_token_expires_in",
    }
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3600

    api = await harness.client.get(
        f"/v3/company/{realm_id}/companyinfo/{realm_id}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert body(api)["CompanyInfo"]["CompanyName"] == "Connected Co"

    reused = await harness.client.post("/oauth2/tokens/bearer", data=exchange, headers=FORM)
    assert reused.status_code == 400
    assert body(reused) == {"error": "invalid_grant"}

    other_realm = await harness.sandbox.create_company("Not Yours")
    forbidden = await harness.client.get(
        f"/v3/company/{other_realm}/preferences",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert forbidden.status_code == 403


async def test_consent_can_create_a_new_empty_company(harness: Harness) -> None:
    callback = await _consent(harness, realm_id="new", company_name="Fresh Start LLC")
    realms = {realm.realm_id: realm.company_name for realm in await harness.sandbox.realms()}
    assert realms[callback["realmId"][0]] == "Fresh Start LLC"

    denied = await harness.client.post(
        "/oauth2/authorize",
        data={"client_id": DEFAULT_CLIENT_ID, "redirect_uri": REDIRECT, "state": "s2", "decision": "deny"},
        follow_redirects=False,
    )
    assert parse_qs(urlsplit(denied.headers["location"]).query) == {
        "error": ["access_denied"],
        "state": ["s2"],
    }


async def test_refresh_rotates_and_the_old_refresh_token_is_invalid_grant(harness: Harness) -> None:
    company = await harness.company()
    first = await harness.client.post(
        "/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": company.refresh_token},
        headers=FORM,
    )
    assert first.status_code == 200
    rotated = body(first)
    assert rotated["refresh_token"] != company.refresh_token
    assert rotated["access_token"] != company.access_token

    old = await harness.client.post(
        "/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": company.refresh_token},
        headers=FORM,
    )
    assert old.status_code == 400
    assert body(old)["error"] == "invalid_grant"

    second = await harness.client.post(
        "/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": rotated["refresh_token"]},
        headers=FORM,
    )
    assert second.status_code == 200

    await harness.sandbox.invalidate_refresh_tokens(company.realm_id)
    broken = await harness.client.post(
        "/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": body(second)["refresh_token"]},
        headers=FORM,
    )
    assert body(broken) == {"error": "invalid_grant"}


async def test_client_credentials_are_checked(harness: Harness) -> None:
    company = await harness.company()
    wrong = "Basic " + base64.b64encode(f"{DEFAULT_CLIENT_ID}:nope".encode()).decode()
    response = await harness.client.post(
        "/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": company.refresh_token},
        headers={"Authorization": wrong},
    )
    assert response.status_code == 401
    assert body(response)["error"] == "invalid_client"
    unsupported = await harness.client.post(
        "/oauth2/tokens/bearer", data={"grant_type": "password"}, headers=FORM
    )
    assert body(unsupported)["error"] == "unsupported_grant_type"


async def test_revoking_a_token_ends_the_connection(harness: Harness) -> None:
    company = await harness.company()
    revoked = await harness.client.post(
        "/oauth2/tokens/revoke", json={"token": company.refresh_token}, headers={"Authorization": BASIC}
    )
    assert revoked.status_code == 200
    api = await harness.client.get(company.url("preferences"), headers=company.headers)
    assert api.status_code == 401
    assert body(api)["fault"]["error"][0]["detail"].startswith("Token revoked")
    refresh = await harness.client.post(
        "/oauth2/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": company.refresh_token},
        headers=FORM,
    )
    assert body(refresh)["error"] == "invalid_grant"

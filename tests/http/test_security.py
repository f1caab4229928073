"""HTTP: security headers, error pages and the health check."""

from __future__ import annotations

import pytest

from app.security import SECURITY_HEADERS
from tests.support.http import sign_in
from tests.support.personas import build_world

pytestmark = pytest.mark.anyio


async def test_it_sends_security_headers_on_every_kind_of_response(client, sqlite_database):
    world = await build_world(sqlite_database)
    anonymous = [
        await client.get("/login"),
        await client.get("/healthz"),
        await client.get("/nope"),
        await client.get("/static/css/app.css"),
        await client.get("/", follow_redirects=False),
    ]
    await sign_in(client, "alice@acme.test")
    signed_in = [await client.get("/"), await client.get(f"/b/{world.other_client}")]
    for response in anonymous + signed_in:
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (response.request.url, name)
        assert response.headers.get("x-request-id")


async def test_the_policy_forbids_inline_scripts_eval_and_framing():
    csp = SECURITY_HEADERS["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp


async def test_session_and_csrf_cookies_are_httponly_and_samesite_lax(client, sqlite_database):
    await build_world(sqlite_database)
    response = await sign_in(client, "alice@acme.test")
    cookies = response.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith("runway_session="))
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    csrf_cookie = (await client.get("/login")).headers.get_list("set-cookie")
    assert all("HttpOnly" in c for c in csrf_cookie if c.startswith("csrftoken="))


async def test_pages_have_no_inline_script(client):
    page = (await client.get("/login")).text
    for chunk in page.split("<script")[1:]:
        assert chunk.split(">", 1)[0].find("src=") != -1, "every script tag loads a file"
        assert chunk.split(">", 1)[1].startswith("</script>")


async def test_it_renders_a_404_page_and_an_htmx_banner(client):
    page = await client.get("/does-not-exist")
    assert page.status_code == 404
    assert "<html" in page.text
    assert "Not found" in page.text
    banner = await client.get("/does-not-exist", headers={"HX-Request": "true"})
    assert banner.status_code == 404
    assert banner.headers["HX-Retarget"] == "#error-banner"
    assert "<html" not in banner.text


async def test_it_answers_json_errors_to_api_clients(client):
    response = await client.get("/does-not-exist", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["status_code"] == 404


async def test_health_check_reports_the_database(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_static_files_are_served_with_long_cache_busting_urls(client):
    page = (await client.get("/login")).text
    assert "/static/vendor/htmx-2.0.11.min.js?v=" in page
    assert (await client.get("/static/js/keys.js")).status_code == 200

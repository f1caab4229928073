"""Test support: signing in through the real login form (CSRF included)."""

from __future__ import annotations

import re
from typing import Any

from tests.support.personas import PASSWORD

_TOKEN = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_token_from(html: str) -> str:
    match = _TOKEN.search(html)
    assert match, "page has no CSRF form field"
    return match.group(1)


async def sign_in(client: Any, email: str, password: str = PASSWORD) -> Any:
    page = await client.get("/login")
    token = csrf_token_from(page.text)
    return await client.post(
        "/login", data={"email": email, "password": password, "_csrf_token": token}, follow_redirects=False
    )


async def csrf_token(client: Any, path: str = "/") -> str:
    page = await client.get(path)
    return csrf_token_from(page.text)

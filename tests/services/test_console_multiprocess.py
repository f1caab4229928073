"""Services: two app instances on one database (each with its own Database and connection pool, as two
processes would have) drive the same decision queue at the same time — no decision is lost.

Every write names the version of the item it was made against; of two concurrent writes against the same
version exactly one wins and the other answers 409, so the number of decisions stored equals the number
of successful answers and every decision replaced exactly one predecessor.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select

from app.main import create_app
from domains.decisions.models import Decision
from runway.services.experiences.runway_report import business_today
from tests.conftest import make_settings
from tests.services.test_decision_console import (
    console_world,
    fast_password_hashing,  # noqa: F401  (autouse fixture)
)
from tests.support.http import csrf_token_from
from tests.support.personas import PASSWORD

pytestmark = pytest.mark.anyio

DECIDABLE = ["invoice-201", "bill-101", "invoice-202", "bill-102", "bill-103"]
ROW = re.compile(r'<article id="item-([a-z]+-\d+)".*?name="seen" value="([\w.]+)"', re.DOTALL)


def seen_tokens(html: str) -> dict[str, str]:
    """The version of each item the page shows (what a keypress sends back)."""
    tokens: dict[str, str] = {}
    for chunk in html.split("<article ")[1:]:
        match = ROW.search("<article " + chunk)
        if match:
            tokens[match.group(1)] = match.group(2)
    return tokens


def verb_for(item: str, turn: int) -> dict[str, str]:
    if item.startswith("invoice"):
        return {"action": "chase" if turn % 2 else "skip"}
    return {"action": "delay", "preset": "14"} if turn % 2 else {"action": "pay_now"}


def signed_in(client: TestClient, email: str) -> str:  # type: ignore[type-arg]
    """Sign in through the login form; returns the CSRF token for later posts."""
    page = client.get("/login")
    token = csrf_token_from(page.text)
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "_csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return token


def race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run blocking requests at the same time, each from its own thread."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


async def test_two_app_instances_on_one_database_never_lose_a_decision(qbo, tmp_path: Path):
    cw = await console_world(qbo, as_of=business_today("America/New_York"))
    path = f"/b/{cw.business_id}/console"
    # Each app opens its own Database on the same URL and runs on its own event loop and thread, as two
    # processes would; the test's own connections are never shared with them.
    apps = [
        create_app(make_settings(tmp_path / name, qbo.db.url), start_qbo=False) for name in ("one", "two")
    ]
    answers: Counter[int] = Counter()

    def drive() -> None:
        with TestClient(app=apps[0]) as one, TestClient(app=apps[1]) as two:
            clients = [(one, signed_in(one, "alice@acme.test")), (two, signed_in(two, "bert@acme.test"))]
            for turn in range(3):
                # Both load the queue, then both act on every item at once against what they saw.
                pages = race([partial(c.get, path) for c, _ in clients])
                seen = [seen_tokens(p.text) for p in pages]
                assert seen[0] == seen[1], "both instances show the same queue"
                calls = [
                    partial(
                        client.post,
                        f"{path}/items/{item.replace('-', '/')}",
                        data={**verb_for(item, turn + n), "seen": seen[n][item]},
                        headers={"HX-Request": "true", "x-csrftoken": token},
                    )
                    for item in DECIDABLE
                    for n, (client, token) in enumerate(clients)
                ]
                responses = race(calls)
                for index, response in enumerate(responses):
                    answers[response.status_code] += 1
                    assert response.status_code in (200, 409), response.text
                    if response.status_code == 409:
                        item = DECIDABLE[index // 2]
                        assert f'id="item-{item}"' in response.text
                        assert "Not saved" in response.text
                # Per item, exactly one of the two writes against the same version won.
                won = Counter(DECIDABLE[i // 2] for i, r in enumerate(responses) if r.status_code == 200)
                assert won == dict.fromkeys(DECIDABLE, 1)

    await asyncio.to_thread(drive)

    async with qbo.db.read() as session:
        rows = list(await session.scalars(select(Decision).where(Decision.business_id == cw.business_id)))
    assert len(rows) == answers[200] == 3 * len(DECIDABLE), "every answered decision is stored, none twice"
    assert answers[409] == 3 * len(DECIDABLE)
    current = Counter(f"{d.entity_type}-{d.qbo_id}" for d in rows if d.is_current)
    assert current == dict.fromkeys(DECIDABLE, 1)
    replaced = [d.replaces_id for d in rows if d.replaces_id is not None]
    assert len(replaced) == len(set(replaced)) == 2 * len(DECIDABLE), "a linear history per item"

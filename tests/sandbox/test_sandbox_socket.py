"""QBO sandbox over a real socket: uvicorn on 127.0.0.1, the OAuth code flow, a query, a late commit."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import uvicorn
from litestar import Litestar

from domains.qbo.sandbox import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SandboxStorage,
    build_app,
    seed_company,
)
from domains.qbo.sandbox.codec import loads
from domains.qbo.sandbox.server import database_url

pytestmark = pytest.mark.anyio


@contextmanager
def serving(app: Litestar) -> Iterator[str]:
    """Run the app under uvicorn in a thread on a free port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def test_connect_query_and_retry_after_a_timeout_over_http(tmp_path: Path) -> None:
    db_path = tmp_path / "qbo-sandbox.db"
    storage = SandboxStorage(database_url(db_path))
    realm_id = await seed_company(storage, "Socket Supplies", {"Vendor": [{"DisplayName": "Wire Co"}]})
    await storage.close()

    redirect = "http://127.0.0.1:9/callback"
    with serving(build_app(db_path)) as base_url:
        async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
            consent = await client.get(
                "/oauth2/authorize",
                params={
                    "client_id": DEFAULT_CLIENT_ID,
                    "response_type": "code",
                    "scope": "com.intuit.quickbooks.accounting",
                    "redirect_uri": redirect,
                    "state": "xyz",
                },
            )
            assert consent.status_code == 200
            assert "Socket Supplies" in consent.text

            decision = await client.post(
                "/oauth2/authorize",
                data={
                    "client_id": DEFAULT_CLIENT_ID,
                    "redirect_uri": redirect,
                    "scope": "com.intuit.quickbooks.accounting",
                    "state": "xyz",
                    "realm_id": realm_id,
                    "decision": "allow",
                },
            )
            assert decision.status_code == 302
            callback = parse_qs(urlsplit(decision.headers["location"]).query)
            assert callback["realmId"] == [realm_id]

            token = await client.post(
                "/oauth2/tokens/bearer",
                data={
                    "grant_type": "authorization_code",
                    "code": callback["code"][0],
                    "redirect_uri": redirect,
                },
                auth=(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            )
            assert token.status_code == 200
            headers = {
                "Authorization": f"Bearer {token.json()['access_token']}",
                "Accept": "application/json",
            }

            query = await client.get(
                f"/v3/company/{realm_id}/query", params={"query": "select * from Vendor"}, headers=headers
            )
            assert query.status_code == 200
            assert query.headers["intuit-tid"]
            assert loads(query.content)["QueryResponse"]["Vendor"][0]["DisplayName"] == "Wire Co"

            faults = await client.put(
                f"/_sandbox/realms/{realm_id}/faults",
                json={"timeouts": 1, "timeout_ms": 700, "timeout_after_commit": True},
            )
            assert faults.status_code == 200

            create = f"/v3/company/{realm_id}/vendor?requestid=socket-retry-1"
            with pytest.raises(httpx.ReadTimeout):
                await client.post(create, json={"DisplayName": "Slow Co"}, headers=headers, timeout=0.2)
            retry = await client.post(create, json={"DisplayName": "Slow Co"}, headers=headers)
            assert retry.status_code == 200
            assert loads(retry.content)["Vendor"]["DisplayName"] == "Slow Co"

            count = await client.get(
                f"/v3/company/{realm_id}/query",
                params={"query": "select count(*) from Vendor"},
                headers=headers,
            )
            assert loads(count.content)["QueryResponse"]["totalCount"] == 2

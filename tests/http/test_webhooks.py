"""HTTP: QBO webhooks are verified against intuit-signature and queue one incremental sync per realm."""

from __future__ import annotations

import dataclasses
import json

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.main import create_app
from domains.qbo.models import SyncRun
from domains.qbo.webhooks import sign
from tests.conftest import make_settings
from tests.support.qbo import WEBHOOK_VERIFIER

pytestmark = pytest.mark.anyio


@pytest.fixture
async def webhook_client(qbo_sqlite, tmp_path):
    settings = dataclasses.replace(
        make_settings(tmp_path, qbo_sqlite.db.url), qbo_webhook_verifier=WEBHOOK_VERIFIER
    )
    app = create_app(settings, database=qbo_sqlite.db, smart_sync=qbo_sqlite.smart_sync())
    async with AsyncTestClient(app=app) as client:
        yield client


def classic(realm_id: str, entity: str = "Bill", entity_id: str = "10") -> bytes:
    return json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": realm_id,
                    "dataChangeEvent": {
                        "entities": [
                            {
                                "name": entity,
                                "id": entity_id,
                                "operation": "Update",
                                "lastUpdated": "2026-11-20T10:00:00-0800",
                            }
                        ]
                    },
                }
            ]
        }
    ).encode()


async def _runs(qbo, business_id):
    async with qbo.db.read() as session:
        return list(await session.scalars(select(SyncRun).where(SyncRun.business_id == business_id)))


async def test_it_refuses_a_delivery_without_a_signature(webhook_client, qbo_sqlite):
    business_id, realm_id = await qbo_sqlite.connected_business()
    response = await webhook_client.post("/webhooks/qbo", content=classic(realm_id))
    assert response.status_code == 401
    assert await _runs(qbo_sqlite, business_id) == []


async def test_it_refuses_a_wrong_signature(webhook_client, qbo_sqlite):
    business_id, realm_id = await qbo_sqlite.connected_business()
    body = classic(realm_id)
    response = await webhook_client.post(
        "/webhooks/qbo", content=body, headers={"intuit-signature": sign("some other verifier", body)}
    )
    assert response.status_code == 401
    tampered = await webhook_client.post(
        "/webhooks/qbo", content=body + b" ", headers={"intuit-signature": sign(WEBHOOK_VERIFIER, body)}
    )
    assert tampered.status_code == 401
    assert await _runs(qbo_sqlite, business_id) == []


async def test_a_signed_delivery_queues_an_incremental_sync_once(webhook_client, qbo_sqlite):
    business_id, realm_id = await qbo_sqlite.connected_business()
    await qbo_sqlite.smart_sync().sync_now(business_id)
    body = classic(realm_id)
    headers = {"intuit-signature": sign(WEBHOOK_VERIFIER, body), "content-type": "application/json"}
    first = await webhook_client.post("/webhooks/qbo", content=body, headers=headers)
    assert first.status_code == 200
    assert first.json() == {"queued": 1}
    # QBO retries and reorders deliveries: a duplicate must not queue a second run.
    again = await webhook_client.post("/webhooks/qbo", content=body, headers=headers)
    assert again.status_code == 200
    pending = [r for r in await _runs(qbo_sqlite, business_id) if r.status == "pending"]
    assert len(pending) == 1
    assert pending[0].trigger == "webhook"
    assert pending[0].kind == "incremental"


async def test_it_accepts_the_cloudevents_format(webhook_client, qbo_sqlite):
    business_id, realm_id = await qbo_sqlite.connected_business()
    await qbo_sqlite.smart_sync().sync_now(business_id)
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "evt-1",
                "source": "intuit.abc",
                "type": "qbo.invoice.updated.v1",
                "time": "2026-11-20T18:00:00Z",
                "intuitentityid": "70",
                "intuitaccountid": realm_id,
                "data": {},
            }
        ]
    ).encode()
    response = await webhook_client.post(
        "/webhooks/qbo", content=body, headers={"intuit-signature": sign(WEBHOOK_VERIFIER, body)}
    )
    assert response.status_code == 200
    assert response.json() == {"queued": 1}


async def test_a_signed_but_malformed_body_is_a_400(webhook_client):
    body = b'{"something": "else"}'
    response = await webhook_client.post(
        "/webhooks/qbo", content=body, headers={"intuit-signature": sign(WEBHOOK_VERIFIER, body)}
    )
    assert response.status_code == 400


async def test_an_unknown_realm_is_accepted_and_ignored(webhook_client):
    body = classic("999999")
    response = await webhook_client.post(
        "/webhooks/qbo", content=body, headers={"intuit-signature": sign(WEBHOOK_VERIFIER, body)}
    )
    assert response.status_code == 200
    assert response.json() == {"queued": 0}

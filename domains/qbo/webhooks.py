"""Domain (QBO): webhook signature verification and parsing of both delivery formats.

Classic: {"eventNotifications": [{"realmId", "dataChangeEvent": {"entities": [...]}}]}.
CloudEvents: a JSON array of events, each naming its realm in `intuitaccountid`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass


class WebhookError(ValueError):
    """The delivery is not a QBO webhook body we understand."""


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    realm_id: str
    entity: str
    entity_id: str
    operation: str


def sign(verifier: str, body: bytes) -> str:
    """intuit-signature: base64(HMAC-SHA256(verifier token, raw body bytes))."""
    return base64.b64encode(hmac.new(verifier.encode(), body, hashlib.sha256).digest()).decode()


def verify_signature(verifier: str, body: bytes, signature: str | None) -> bool:
    """Constant-time check of the header against the body exactly as received."""
    if not verifier or not signature:
        return False
    return hmac.compare_digest(sign(verifier, body), signature.strip())


def parse_events(body: bytes) -> list[ChangeEvent]:
    """Change events from either format; entries without a realm are skipped, a wrong shape raises."""
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise WebhookError("body is not JSON") from exc
    events: list[ChangeEvent] = []
    if isinstance(document, dict) and isinstance(document.get("eventNotifications"), list):
        for notification in document["eventNotifications"]:
            if not isinstance(notification, dict):
                continue
            realm = str(notification.get("realmId") or "")
            change = notification.get("dataChangeEvent")
            entities = change.get("entities") if isinstance(change, dict) else None
            for entity in entities if isinstance(entities, list) else []:
                if realm and isinstance(entity, dict):
                    events.append(
                        ChangeEvent(
                            realm,
                            str(entity.get("name") or ""),
                            str(entity.get("id") or ""),
                            str(entity.get("operation") or ""),
                        )
                    )
        return events
    if isinstance(document, list):
        for event in document:
            if not isinstance(event, dict):
                continue
            realm = str(event.get("intuitaccountid") or "")
            kind = str(event.get("type") or "")  # qbo.<entity>.<operation>.v1
            parts = kind.split(".")
            entity = parts[1] if len(parts) >= 3 else ""
            operation = parts[2] if len(parts) >= 3 else ""
            if realm:
                events.append(ChangeEvent(realm, entity, str(event.get("intuitentityid") or ""), operation))
        return events
    raise WebhookError("body is neither eventNotifications nor a CloudEvents array")


def realms_in(events: list[ChangeEvent]) -> list[str]:
    """Each realm once, in first-seen order."""
    return list(dict.fromkeys(event.realm_id for event in events))

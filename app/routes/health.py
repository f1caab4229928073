"""Web layer: the health check used by load balancers and `make run`."""

from __future__ import annotations

import structlog
from litestar import MediaType, Response, get
from litestar.di import NamedDependency

from domains.core.db import Database

log = structlog.get_logger("runway.health")


@get("/healthz", name="health", media_type=MediaType.JSON, cache=False)
async def healthz(database: NamedDependency[Database]) -> Response[dict[str, str]]:
    """200 when the database answers, 503 otherwise."""
    try:
        await database.ping()
    except Exception as exc:  # any driver error means "not healthy"; the reason goes to the log
        log.warning("health check failed", error=str(exc))
        return Response({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return Response({"status": "ok", "database": "ok"})

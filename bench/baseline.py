"""Benchmark: the minimal baseline app — Litestar + SQLAlchemy async + Jinja on Runway's own Database.

Two endpoints, nothing else (no sessions, no CSRF, no layers):

* `GET /read?n=N` renders the first N rows of a table (a list screen without the product logic);
* `POST /write` inserts one row in a short write transaction and renders it as a one-row fragment
  (a keypress without the product logic).

It uses `domains.core.db.Database` (the same engines, SQLite pragmas, BEGIN IMMEDIATE and in-process
write lock as the app) and is served by uvicorn exactly as `runway serve` is, in its own process. A
screen's figure divided by this baseline's figure at the same load is the cost of everything the product
adds on top of the stack. Its tables live in a separate MetaData, never in the app's schema.

    with baseline_server(ctx.scratch("baseline")) as server:
        async with LoopbackClient(server.url) as client:
            write = await open_loop(client, baseline_write(), rate=100, duration=5)
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from litestar import Litestar, MediaType, Request, get, post
from litestar.datastructures import State
from litestar.params import FromQuery
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)

from bench.load import Req, RequestFactory
from bench.servers import LOOPBACK, ServerProcess, free_port, serve_process
from domains.core.db import Database

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_ROWS = 10_000
MAX_READ_ROWS = 5_000

metadata = MetaData()

# Shaped like an open bill: the columns a queue or list row shows.
items = Table(
    "bench_items",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("business_id", Integer, nullable=False),
    Column("name", String(100), nullable=False),
    Column("doc_number", String(32), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("status", String(16), nullable=False),
)

decisions = Table(
    "bench_decisions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("business_id", Integer, nullable=False),
    Column("item_id", Integer, nullable=False),
    Column("verb", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}${whole:,}.{part:02d}"


def _database(request: Request[Any, Any, Any]) -> Database:
    database: Database = request.app.state.database
    return database


@get("/health", media_type=MediaType.TEXT, cache=False)
async def health() -> str:
    return "ok"


@get("/read", cache=False)
async def read(request: Request[Any, Any, Any], n: FromQuery[int] = 50) -> Template:
    """The first `n` items in due-date order, rendered as a table."""
    limit = max(1, min(n, MAX_READ_ROWS))
    stmt = (
        select(items.c.id, items.c.name, items.c.doc_number, items.c.amount_cents, items.c.due_date)
        .where(items.c.business_id == 1, items.c.status == "open")
        .order_by(items.c.due_date, items.c.id)
        .limit(limit)
    )
    async with _database(request).read() as session:
        rows = (await session.execute(stmt)).all()
    return Template(template_name="read.html", context={"rows": rows})


@post("/write", status_code=200)
async def write(request: Request[Any, Any, Any]) -> Template:
    """Record one decision on an item and render it as the row htmx would swap in."""
    form = await request.form()
    item_id = int(form.get("item") or 1)
    verb = str(form.get("verb") or "pay")[:16]
    now = dt.datetime.now(dt.UTC)
    stmt = (
        insert(decisions)
        .values(business_id=1, item_id=item_id, verb=verb, created_at=now)
        .returning(decisions.c.id)
    )
    async with _database(request).write() as session:
        decision_id = (await session.execute(stmt)).scalar_one()
    row = {"id": decision_id, "item_id": item_id, "verb": verb, "created_at": now}
    return Template(template_name="_decision.html", context={"row": row})


def create_baseline_app(database_url: str) -> Litestar:
    database = Database(database_url)
    env = Environment(
        loader=FileSystemLoader(TEMPLATES / "baseline"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money

    async def shutdown() -> None:
        await database.dispose()

    return Litestar(
        route_handlers=[health, read, write],
        state=State({"database": database}),
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(env)),
        on_shutdown=[shutdown],
        openapi_config=None,
        logging_config=None,
    )


async def prepare(database_url: str, rows: int) -> None:
    """(Re)create the baseline tables and fill `rows` items (deterministic content)."""
    database = Database(database_url)
    try:
        async with database.write_engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
            await conn.run_sync(metadata.create_all)
        start = dt.date(2026, 1, 1)
        batch = [
            {
                "business_id": 1,
                "name": f"Vendor {i % 250:03d} Supply Co",
                "doc_number": f"INV-{i:06d}",
                "amount_cents": 10_000 + (i * 7919) % 2_000_000,
                "due_date": start + dt.timedelta(days=i % 365),
                "status": "open",
            }
            for i in range(rows)
        ]
        async with database.write() as session:
            for chunk in range(0, len(batch), 5_000):
                await session.execute(insert(items), batch[chunk : chunk + 5_000])
        async with database.read() as session:
            count = (await session.execute(select(func.count()).select_from(items))).scalar_one()
        if count != rows:
            raise RuntimeError(f"baseline table holds {count} rows, expected {rows}")
    finally:
        await database.dispose()


def baseline_read(n: int = 50) -> RequestFactory:
    """Requests for the read endpoint rendering `n` rows."""
    request = Req("GET", f"/read?n={n}")
    return lambda _index: request


def baseline_write(rows: int = DEFAULT_ROWS) -> RequestFactory:
    """Requests for the write endpoint, as htmx form posts rotating over the items."""
    verbs = ("pay", "schedule", "delay", "chase")

    def make(index: int) -> Req:
        return Req(
            "POST",
            "/write",
            data={"item": str(index % rows + 1), "verb": verbs[index % len(verbs)]},
            headers={"HX-Request": "true"},
        )

    return make


@contextmanager
def baseline_server(
    workdir: Path, *, database_url: str | None = None, rows: int = DEFAULT_ROWS
) -> Iterator[ServerProcess]:
    """The baseline app in its own uvicorn process on a free loopback port (SQLite file by default)."""
    workdir.mkdir(parents=True, exist_ok=True)
    url = database_url or f"sqlite+aiosqlite:///{workdir / 'baseline.db'}"
    port = free_port()
    with serve_process(
        ["-m", "bench.baseline", "--database-url", url, "--port", str(port), "--rows", str(rows)],
        port=port,
        health_path="/health",
        log_path=workdir / "baseline.log",
    ) as server:
        yield server


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description="Serve the baseline app.")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    args = parser.parse_args()
    asyncio.run(prepare(args.database_url, args.rows))
    import uvicorn

    # The same server settings as `runway serve` (app/cli.py).
    uvicorn.run(
        create_baseline_app(args.database_url),
        host=LOOPBACK,
        port=args.port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()

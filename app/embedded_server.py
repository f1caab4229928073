"""Web layer: an ASGI app served by uvicorn on loopback inside the current event loop (the built-in
QBO sandbox in a Runway process, and the same in tests)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn


class EmbeddedServerError(RuntimeError):
    """The server could not start (most often: the port is taken)."""


class EmbeddedServer:
    """`async with EmbeddedServer(app, port=0) as server: server.url` — port 0 picks a free port."""

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = uvicorn.Server(
            uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="on")
        )
        self._task: asyncio.Task[None] | None = None
        self.url = ""

    async def start(self) -> str:
        # uvicorn's public serve() also takes over SIGINT/SIGTERM, which belong to the host process here.
        self._task = asyncio.create_task(self._server._serve(), name="embedded-uvicorn")
        while not self._server.started:
            if self._task.done():
                error = self._task.exception()
                raise EmbeddedServerError(
                    f"could not listen on {self._server.config.host}:{self._server.config.port}"
                ) from error
            await asyncio.sleep(0.01)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://{self._server.config.host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._task is None:
            return
        self._server.should_exit = True
        with contextlib.suppress(SystemExit):
            await self._task
        self._task = None

    async def __aenter__(self) -> EmbeddedServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

"""Benchmark: a lean HTTP/1.1 client for load generation — keep-alive pool, cookies, loopback only.

httpx spends about 2.5 ms of CPU per request on this machine, which on 2 cores starves the server under
test and turns the generator into the bottleneck (measured: 200 req/s of `/health` queued for seconds).
This client writes the request bytes and parses the response itself (Content-Length or chunked bodies),
at a small fraction of that cost, so the percentiles measure the server.

    async with LoopbackClient(server.url) as client:
        response = await client.request("GET", "/read?n=50")
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlencode, urlsplit

from bench.servers import require_loopback

_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
# uvicorn closes a keep-alive connection after 5 s idle; never reuse one that has idled this long.
_MAX_IDLE_SECONDS = 4.0


class HttpError(Exception):
    """The connection failed or the response could not be parsed."""


@dataclass(frozen=True)
class Response:
    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


class LoopbackClient:
    """Keep-alive HTTP/1.1 to one loopback server, with a cookie jar (session and CSRF cookies).

    At most `max_connections` connections are open; further requests wait for one (that wait counts
    in the open-loop latency, as a browser's would). Not for anything but benchmarks: no TLS, no
    redirects, no proxies.
    """

    def __init__(
        self, base_url: str, *, max_connections: int = 256, cookies: Mapping[str, str] | None = None
    ) -> None:
        parts = urlsplit(require_loopback(base_url))
        if parts.scheme != "http" or parts.port is None or parts.hostname is None:
            raise ValueError(f"need http://host:port, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.host = parts.hostname
        self.port = parts.port
        self.cookies: dict[str, str] = dict(cookies or {})
        self.stale_retries = 0
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._open: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> LoopbackClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for writer in list(self._open):
            writer.close()
        self._open.clear()
        self._idle.clear()

    async def get(self, path: str, *, headers: Mapping[str, str] | None = None) -> Response:
        return await self.request("GET", path, headers=headers)

    async def post(
        self, path: str, *, data: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None
    ) -> Response:
        return await self.request("POST", path, data=data, headers=headers)

    async def request(
        self,
        method: str,
        path: str,
        *,
        data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request (form-encoded `data` for POSTs) and read the whole response."""
        body = urlencode(data).encode() if data is not None else b""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: text/html"]
        if method not in ("GET", "HEAD") or body:
            lines.append(f"Content-Length: {len(body)}")
        if data is not None:
            lines.append("Content-Type: application/x-www-form-urlencoded")
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        lines.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        payload = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        async with self._slots:
            response = await self._exchange(payload, method)
        self._remember_cookies(response)
        return response

    async def _exchange(self, payload: bytes, method: str) -> Response:
        # A kept-alive connection the server closed just now fails before any response byte arrives; the
        # server never saw the request, so it is sent once more on a new connection.
        for attempt in (1, 2):
            reused, (reader, writer) = await self._connection(fresh=attempt == 2)
            try:
                writer.write(payload)
                response, keep = await _read_response(reader, method)
            except (ConnectionResetError, BrokenPipeError, asyncio.IncompleteReadError) as exc:
                self._discard(writer)
                answered = isinstance(exc, asyncio.IncompleteReadError) and bool(exc.partial)
                if reused and attempt == 1 and not answered:
                    self.stale_retries += 1
                    continue
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            except (OSError, ValueError) as exc:
                self._discard(writer)
                raise HttpError(f"{type(exc).__name__}: {exc}") from exc
            except BaseException:
                self._discard(writer)
                raise
            if keep:
                self._idle.append((reader, writer, time.monotonic()))
            else:
                self._discard(writer)
            return response
        raise HttpError("the connection failed twice")

    async def _connection(self, *, fresh: bool = False) -> tuple[bool, _Connection]:
        """(reused, connection): an idle kept-alive connection if one is usable, else a new one."""
        while self._idle and not fresh:
            reader, writer, since = self._idle.pop()
            if (
                time.monotonic() - since < _MAX_IDLE_SECONDS
                and not writer.is_closing()
                and not reader.at_eof()
            ):
                return True, (reader, writer)
            self._discard(writer)
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise HttpError(f"connect failed: {exc}") from exc
        self._open.add(writer)
        return False, (reader, writer)

    def _discard(self, writer: asyncio.StreamWriter) -> None:
        self._open.discard(writer)
        writer.close()

    def _remember_cookies(self, response: Response) -> None:
        for raw in response.headers.get("set-cookie", "").split("\n"):
            pair = raw.split(";", 1)[0].strip()
            if "=" not in pair:
                continue
            name, value = pair.split("=", 1)
            attributes = raw.lower()
            if not value or "max-age=0" in attributes or "expires=thu, 01 jan 1970" in attributes:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value


async def _read_response(reader: asyncio.StreamReader, method: str) -> tuple[Response, bool]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, status, *_reason = status_line.split(" ", 2)
    headers: dict[str, str] = {}
    for line in header_lines:
        if not line:
            continue
        name, _, value = line.partition(":")
        key = name.strip().lower()
        # Repeated headers (Set-Cookie) are joined by newlines, which no header value contains.
        headers[key] = f"{headers[key]}\n{value.strip()}" if key in headers else value.strip()
    code = int(status)
    if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
        body = b""
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    else:
        body = await reader.read()
        return Response(code, headers, body), False
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    return Response(code, headers, body), keep


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    for _ in range(1_000_000):
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            for _ in range(100):
                if await reader.readuntil(b"\r\n") == b"\r\n":
                    return b"".join(parts)
            raise ValueError("chunked body has too many trailers")
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)
    raise ValueError("chunked body has too many chunks")

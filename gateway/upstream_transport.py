"""The outbound transport: httpx's API over aiohttp's connection pool.

The relay keeps httpx's client (requests, streaming answers, timeouts, its exceptions); the
connections underneath are aiohttp's. Measured with `make bench`, httpcore's pool spent more of
the gateway's CPU per relayed call than signing it does (encode/httpx#3215: its pool scans every
connection on each request). Nothing is added to what the caller's request carries: no
User-Agent, no Accept-Encoding, no cookies, no redirects, no decompression.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import httpx
from yarl import URL

__all__ = ["AiohttpTransport"]

_CHUNK = 64 * 1024


class _Stream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.content.iter_chunked(_CHUNK):
                yield chunk
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "read timed out") from exc
        except aiohttp.ClientPayloadError as exc:
            raise httpx.RemoteProtocolError(str(exc)) from exc
        except aiohttp.ClientError as exc:
            raise httpx.ReadError(str(exc)) from exc

    async def aclose(self) -> None:
        self._response.release()


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on one aiohttp session (made on first use, in the running loop)."""

    def __init__(self, *, max_connections: int = 256, max_per_host: int = 64) -> None:
        self._limits = (max_connections, max_per_host)
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            total, per_host = self._limits
            connector = aiohttp.TCPConnector(limit=total, limit_per_host=per_host, enable_cleanup_closed=True)
            self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding", "Accept", "Content-Type"),
                trust_env=False,
            )
        return self._session

    @staticmethod
    def _timeout(request: httpx.Request) -> aiohttp.ClientTimeout:
        timeouts: dict[str, Any] = request.extensions.get("timeout", {})
        return aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._open()
        body = request.content if isinstance(request.stream, httpx.ByteStream) else await request.aread()
        headers = [(name, value) for name, value in request.headers.multi_items() if name.lower() != "host"]
        try:
            response = await session.request(
                request.method,
                URL(str(request.url), encoded=True),  # forwarded as written: no requoting
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=self._timeout(request),
                compress=None,
                skip_auto_headers=("Content-Type",),
            )
        except aiohttp.ConnectionTimeoutError as exc:
            raise httpx.ConnectTimeout(str(exc) or "connect timed out", request=request) from exc
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:  # no connection: nothing reached the partner
            raise httpx.ConnectError(str(exc), request=request) from exc
        except aiohttp.ServerDisconnectedError as exc:  # the request may have reached it: not a ConnectError
            raise httpx.RemoteProtocolError(str(exc) or "the partner closed the connection", request=request) from exc
        except aiohttp.ClientResponseError as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from exc
        except aiohttp.ClientError as exc:
            raise httpx.TransportError(str(exc), request=request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=list(response.raw_headers),
            stream=_Stream(response),
            extensions={"http_version": b"HTTP/1.1"},
            request=request,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

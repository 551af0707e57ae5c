"""The yardstick: a bare pass-through proxy (aiohttp server and client, N processes sharing the
port), doing nothing but forwarding method, path, headers and body and returning the answer."""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
import sys

import aiohttp
from aiohttp import web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "host", "content-length", "upgrade"}


def _serve(port: int, upstream: str) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass

    async def start() -> None:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256), auto_decompress=False)

        async def forward(request: web.Request) -> web.Response:
            body = await request.read()
            headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
            async with session.request(request.method, upstream + request.raw_path, headers=headers, data=body) as up:
                content = await up.read()
                out = {k: v for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP}
                return web.Response(status=up.status, headers=out, body=content)

        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", port))
        await web.SockSite(runner, sock).start()
        await asyncio.Event().wait()

    asyncio.run(start())


def main(port: int, upstream: str, workers: int) -> None:
    processes = [multiprocessing.Process(target=_serve, args=(port, upstream), daemon=True) for _ in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3]))

"""The benchmark's partner system: answers every request at once with a small JSON body (aiohttp)."""

from __future__ import annotations

import sys

from aiohttp import web

ANSWER = b'{"status":"ok","data":{"handled":true}}'


async def _answer(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")


def main(port: int) -> None:
    app = web.Application(client_max_size=32 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", _answer)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    main(int(sys.argv[1]))

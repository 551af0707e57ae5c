"""A partner system for relay tests: a real HTTP app with echo, slow, failing and signing endpoints."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from trust import ResponseView, content_digest, sign_message


class Upstream:
    """Records what it received; behaviour per path."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.received: list[dict[str, Any]] = []
        self.signing_key: Any = None
        self.signing_keyid = ""
        self.fail_times = 0  # /flaky fails this many times, then answers
        self.app = Starlette(
            routes=[Route("/{path:path}", self.handle, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
        )

    async def handle(self, request: Request) -> Response:
        path = request.path_params["path"].removeprefix("api/")
        body = await request.body()
        self.calls[path] += 1
        self.received.append(
            {
                "method": request.method,
                "path": path,
                "query": request.url.query,
                "headers": dict(request.headers),
                "body": body,
            }
        )
        if path.startswith("slow"):
            await asyncio.sleep(5)
        if path.startswith("fail"):
            return Response(b'{"error":"boom"}', status_code=500, media_type="application/json")
        if path.startswith("unavailable"):
            return Response(b"down", status_code=503, headers={"Retry-After": "7"})
        if path.startswith("flaky") and self.calls[path] <= self.fail_times:
            return Response(b"busy", status_code=503)
        if path.startswith("notfound"):
            return Response(b'{"error":"no such licence"}', status_code=404, media_type="application/json")
        answer = json.dumps(
            {
                "method": request.method,
                "path": path,
                "query": request.url.query,
                "body": body.decode("utf-8", "replace"),
                "calls": self.calls[path],
                "你好": "深中通办",
            },
            ensure_ascii=False,
        ).encode("utf-8")
        response = Response(
            answer, media_type="application/json; charset=utf-8", headers={"X-Secret-Upstream": "internal"}
        )
        if path.startswith("signed") or path.startswith("badsig"):
            headers = httpx.Headers({"content-digest": content_digest(answer), "content-type": "application/json"})
            view = ResponseView(200, headers)
            sign_message(
                view,
                private_key=self.signing_key,
                keyid=self.signing_keyid,
                components=("@status", "content-digest"),
                created=datetime.now(UTC),
            )
            if path.startswith("badsig"):
                answer = answer.replace(b"calls", b"calkz")
            return Response(answer, headers=dict(headers.multi_items()))
        return response

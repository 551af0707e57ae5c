"""The outbox: an application the handling city cannot take now is kept as 收件 and handed over later."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import Gateway, LoopbackServer, free_port
from world import ZS_WINDOW, material

from adapters.shenzhen.sandbox import create_app as shenzhen_sandbox
from gateway.services.applications import _service


def test_a_handling_system_that_is_down_gets_the_application_later(
    start_gateway: Callable[..., Gateway],
    serve: Callable[..., LoopbackServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(_service, "SWEEP_SECONDS", 0.2)
    shenzhen_port = free_port()  # nothing answers there yet
    gateway = start_gateway(partner_urls={"440300": f"http://127.0.0.1:{shenzhen_port}"})
    window = gateway.add_member(ZS_WINDOW)
    gateway.grant(window.id, "applications.submit")
    body = {
        "item_code": "RSSB-0001",
        "receiving_city": "442000",
        "applicant": {"name": "梁嘉欣", "id_number": "442000197609136166"},
        "materials": [material("applicant_id", "身份证".encode()), material("photo", b"photo")],
    }
    answer = gateway.call(
        window, "POST", "/v1/applications", body=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["forwarded"] is False and created["forward_error"].startswith("upstream.")
    assert created["status"] == "received"

    serve(shenzhen_sandbox(), shenzhen_port)
    deadline = time.monotonic() + 15
    while True:
        read = gateway.call(window, "GET", f"/v1/applications/{created['id']}").json()
        if read["forwarded"] or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert read["forwarded"] is True and "forward_error" not in read
    assert read["submitted_by"] == ZS_WINDOW

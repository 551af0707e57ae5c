"""The gateway reaches Hohhot's registry through the Hohhot adapter (wired by city code in gateway/app.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from conftest import free_port

from adapters.hohhot import create_app
from catalogs import seed


def test_a_shenzhen_caller_gets_a_hohhot_licence_in_the_canonical_model(start_gateway: Any, serve: Any) -> None:
    data = seed.generate()
    hohhot = serve(create_app(data))
    gateway = start_gateway(partner_urls={"150100": hohhot.url})
    caller = gateway.add_member("440300.szgov.window")
    gateway.grant(caller.id, "licences.lookup")
    licence = next(item for item in data.city("hohhot").licences if not item.licence_number.isascii())
    response = gateway.call(caller, "GET", f"/v1/registries/150100/licences/{quote(licence.licence_number, safe='')}")
    assert response.status_code == 200, response.text
    assert response.json() == licence.model_dump(mode="json")
    missing = gateway.call(caller, "GET", "/v1/registries/150100/licences/NO-SUCH")
    assert missing.status_code == 404, missing.text


def test_hohhot_down_is_a_retryable_upstream_error(start_gateway: Any) -> None:
    gateway = start_gateway(partner_urls={"150100": f"http://127.0.0.1:{free_port()}"})
    caller = gateway.add_member("440300.szgov.window")
    gateway.grant(caller.id, "licences.lookup")
    response = gateway.call(caller, "GET", "/v1/registries/150100/licences/X")
    assert response.status_code == 503, response.text
    assert response.json()["code"] == "upstream.unavailable" and response.json()["retryable"] is True

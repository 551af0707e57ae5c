"""What the credit tests share: the cities' sandboxes on loopback (one set per test module) and a
gateway reaching them with room in its quota. Test modules import the fixture functions; pytest
finds the fixtures by their names there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from adapters.sandboxes import RunningSandboxes, start_sandboxes


@pytest.fixture(name="sandboxes", scope="module")
def sandboxes_fixture() -> Iterator[RunningSandboxes]:
    running = start_sandboxes(base_port=0)
    yield running
    running.stop()


@pytest.fixture(name="credit_gateway")
def credit_gateway_fixture(start_gateway: Any, sandboxes: RunningSandboxes) -> Any:
    return start_gateway(partner_urls=sandboxes.regions(), trust_list_urls={}, credit_quota_per_window=50)

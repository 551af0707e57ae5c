"""The sandboxes side by side: every city started on loopback, and `tongban sandbox list` showing what they hold."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from adapters.sandboxes import DEFAULT_BASE_PORT, LISTING_KINDS, SANDBOXES, seed_listing, start_sandboxes
from catalogs import code_table, parse_resident_id, validate_uscc
from catalogs.seed import generate
from gateway.cli import app
from gateway.registry import MEMBER_ID
from gateway.settings import Settings

HEALTH = {"shenzhen": "/health", "zhongshan": "/health", "hohhot": "/actuator/health"}


def test_every_city_is_started_and_answers() -> None:
    running = start_sandboxes(base_port=0)  # each on a port the system picks
    try:
        urls = running.urls()
        assert set(urls) == {spec.city for spec in SANDBOXES} == set(HEALTH)
        assert len(set(urls.values())) == len(urls)
        for city, url in urls.items():
            assert httpx.get(f"{url}{HEALTH[city]}", trust_env=False).status_code == 200, city
    finally:
        running.stop()


def test_the_gateway_default_partner_urls_are_the_sandboxes_default_ports() -> None:
    expected = {spec.region: f"http://127.0.0.1:{DEFAULT_BASE_PORT + spec.port_offset}" for spec in SANDBOXES}
    default = Settings.model_fields["partner_urls"].default_factory
    assert default is not None and default() == expected  # type: ignore[call-arg]
    assert expected["150100"] == "http://127.0.0.1:8083"


def test_experts_list_every_citys_pool() -> None:
    rows = seed_listing("experts")
    data = generate()
    assert Counter(row["city"] for row in rows) == {seed.region: len(seed.experts) for seed in data.cities}
    assert rows == [{"city": seed.region, **e.model_dump(mode="json")} for seed in data.cities for e in seed.experts]
    for row in rows:
        parse_resident_id(row["id_number"])
        validate_uscc(row["employer"]["id_number"])
        assert all(code in code_table("evaluation_specialty") for code in row["specialties"])
    json.dumps(rows)  # JSON-ready


def test_members_list_the_partner_systems_each_sandbox_plays() -> None:
    rows = seed_listing("members")
    assert {row["city"] for row in rows} == {spec.region for spec in SANDBOXES}
    ids = [row["member_id"] for row in rows]
    assert len(set(ids)) == len(ids)
    for row in rows:
        match = MEMBER_ID.match(row["member_id"])
        assert match is not None and match.group("city") == row["city"]
        assert row["path"].startswith("/") and row["default_url"].endswith(row["path"])
        assert row["key_file"] is None
    kinds = {row["kind"] for row in rows if row["city"] == "150100"}
    assert {"licence_registry", "credit_platform", "service_handling", "trading_centre"} <= kinds
    assert {row["protocol"] for row in rows if row["city"] == "442000"} == {"SOAP 1.1"}


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="experts"):
        seed_listing("bidders")


@pytest.mark.parametrize("kind", [kind for kind in LISTING_KINDS if kind != "samples"])
def test_the_cli_prints_every_kind_as_json(kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_VAR_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["sandbox", "list", kind])
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert json.loads(result.stdout) == seed_listing(kind, sandbox_dir=tmp_path / "sandbox")


def test_samples_and_member_keys_are_listed_once_the_sandbox_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TONGBAN_VAR_DIR", str(tmp_path))
    missing = CliRunner().invoke(app, ["sandbox", "list", "samples"])
    assert missing.exit_code != 0 and "no sample documents yet" in missing.stderr
    running = start_sandboxes(base_port=0, sandbox_dir=tmp_path / "sandbox")
    running.stop()
    samples = json.loads(CliRunner().invoke(app, ["sandbox", "list", "samples"]).stdout)
    assert {sample["format"] for sample in samples} == {"jws", "xml", "pdf", "ofd", "ses"}
    assert all(Path(sample["path"]).is_file() for sample in samples)
    assert {"valid", "tampered", "revoked-certificate", "cancelled-at-registry"} <= {s["case"] for s in samples}
    licences = json.loads(CliRunner().invoke(app, ["sandbox", "list", "licences"]).stdout)
    assert any(row["sample_documents"] for row in licences)
    members = json.loads(CliRunner().invoke(app, ["sandbox", "list", "members"]).stdout)
    registries = [row for row in members if row["kind"] == "licence_registry"]
    assert registries and all(Path(row["key_file"]).is_file() for row in registries)


def test_the_cli_refuses_an_unknown_kind_in_one_line() -> None:
    result = CliRunner().invoke(app, ["sandbox", "list", "bidders"])
    assert result.exit_code != 0
    assert result.stderr.startswith("tongban: ") and result.stderr.count("\n") == 1

"""The `tongban` command line, driven through typer's CliRunner against a var directory in tmp_path."""

from __future__ import annotations

import functools
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import Result
from conftest import free_port
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from sqlalchemy import delete, update
from typer.testing import CliRunner

from gateway.audit import TransparencyLog
from gateway.cli import app
from gateway.storage import Database, audit_entries

PROVIDER = "442000.zsgov.licence"
CLIENT = "440300.szgov.window"


@pytest.fixture(autouse=True)
def var_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every command reads TONGBAN_* variables; only TONGBAN_VAR_DIR is set, to tmp_path."""
    for name in list(os.environ):
        if name.startswith("TONGBAN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TONGBAN_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "var"


def run(*args: str) -> Result:
    return CliRunner().invoke(app, list(args))


def ok(*args: str) -> Result:
    result = run(*args)
    assert result.exit_code == 0, (result.stdout, result.stderr, result.exception)
    return result


def assert_one_line_failure(result: Result, *fragments: str) -> None:
    """Non-zero exit, nothing but `tongban: <reason>` on stderr, and no traceback."""
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.stderr.startswith("tongban: ")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n")
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


def keygen(tmp_path: Path, member_id: str, algorithm: str = "ed25519") -> Path:
    out = tmp_path / member_id
    ok("members", "keygen", member_id, "--out", str(out), "--algorithm", algorithm)
    return out


def register(tmp_path: Path, member_id: str, algorithm: str = "ed25519") -> Path:
    out = keygen(tmp_path, member_id, algorithm)
    ok("members", "add", member_id, "--cert", str(out / "cert.pem"))
    return out


# ---- members ------------------------------------------------------------------------------------


def test_help_lists_the_command_groups() -> None:
    result = ok("--help")
    for group in ("members", "services", "access", "keys", "audit", "token"):
        assert group in result.stdout


def test_members_keygen_writes_a_private_key_and_a_certificate(tmp_path: Path) -> None:
    result = ok("members", "keygen", CLIENT, "--out", str(tmp_path / "m"))
    key, cert = tmp_path / "m" / "key.pem", tmp_path / "m" / "cert.pem"
    assert result.stdout.split() == [str(key), str(cert)]
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    assert CLIENT in certificate.subject.rfc4514_string()


def test_members_keygen_refuses_to_overwrite_a_key(tmp_path: Path) -> None:
    keygen(tmp_path, CLIENT)
    before = (tmp_path / CLIENT / "key.pem").read_bytes()
    assert_one_line_failure(run("members", "keygen", CLIENT, "--out", str(tmp_path / CLIENT)), "exists")
    assert (tmp_path / CLIENT / "key.pem").read_bytes() == before


def test_members_keygen_rejects_a_bad_member_id(tmp_path: Path) -> None:
    assert_one_line_failure(run("members", "keygen", "Shenzhen", "--out", str(tmp_path / "x")), "Shenzhen")
    assert not (tmp_path / "x").exists()


def test_members_keygen_rejects_an_unknown_algorithm_in_one_line(tmp_path: Path) -> None:
    assert_one_line_failure(
        run("members", "keygen", CLIENT, "--out", str(tmp_path / "m"), "--algorithm", "rsa"), "algorithm"
    )


def test_members_add_and_list_json(tmp_path: Path) -> None:
    register(tmp_path, CLIENT)
    register(tmp_path, PROVIDER, "ecdsa-p256")
    listed = json.loads(ok("members", "list", "--json").stdout)
    assert [m["id"] for m in listed] == sorted([CLIENT, PROVIDER])
    by_id = {m["id"]: m for m in listed}
    assert by_id[CLIENT]["city"] == "440300"
    assert by_id[CLIENT]["algorithm"] == "EdDSA"
    assert by_id[PROVIDER]["algorithm"] == "ES256"
    assert len(by_id[CLIENT]["key_thumbprint"]) == 43


def test_members_add_reports_what_it_registered(tmp_path: Path) -> None:
    out = keygen(tmp_path, CLIENT)
    result = ok("members", "add", CLIENT, "--cert", str(out / "cert.pem"), "--name", "Shenzhen window")
    assert CLIENT in result.stdout and "EdDSA" in result.stdout
    assert json.loads(ok("members", "list", "--json").stdout)[0]["name"] == "Shenzhen window"


def test_members_list_is_empty_at_first() -> None:
    assert json.loads(ok("members", "list", "--json").stdout) == []


def test_duplicate_member_add_fails_in_one_line(tmp_path: Path) -> None:
    out = register(tmp_path, CLIENT)
    assert_one_line_failure(run("members", "add", CLIENT, "--cert", str(out / "cert.pem")), CLIENT, "--replace")


def test_member_add_with_replace_changes_the_certificate(tmp_path: Path) -> None:
    register(tmp_path, CLIENT)
    before = json.loads(ok("members", "list", "--json").stdout)[0]["key_thumbprint"]
    other = keygen(tmp_path / "other", CLIENT)
    ok("members", "add", CLIENT, "--cert", str(other / "cert.pem"), "--replace")
    after = json.loads(ok("members", "list", "--json").stdout)[0]["key_thumbprint"]
    assert after != before


def test_member_add_refuses_a_key_another_member_holds_naming_that_member(tmp_path: Path) -> None:
    client = register(tmp_path, CLIENT)
    result = run("members", "add", PROVIDER, "--cert", str(client / "cert.pem"))
    assert_one_line_failure(result, f"already registered to member {CLIENT}", PROVIDER)
    assert [member["id"] for member in json.loads(ok("members", "list", "--json").stdout)] == [CLIENT]


def test_member_add_with_replace_and_its_own_certificate_is_accepted(tmp_path: Path) -> None:
    client = register(tmp_path, CLIENT)
    ok("members", "add", CLIENT, "--cert", str(client / "cert.pem"), "--replace")


@pytest.mark.parametrize("bad_id", ["BAD", "440300.SZ.window", "012345.org.system", "440300.org", "440300.org.sys.x"])
def test_bad_member_id_is_rejected(tmp_path: Path, bad_id: str) -> None:
    out = keygen(tmp_path, CLIENT)
    assert_one_line_failure(run("members", "add", bad_id, "--cert", str(out / "cert.pem")), "member id")
    assert json.loads(ok("members", "list", "--json").stdout) == []


def test_member_add_with_a_missing_certificate_file_fails_in_one_line(tmp_path: Path) -> None:
    assert_one_line_failure(run("members", "add", CLIENT, "--cert", str(tmp_path / "nope.pem")), "nope.pem")


def test_member_add_with_garbage_certificate_fails_in_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "cert.pem"
    garbage.write_text("not a certificate")
    assert_one_line_failure(run("members", "add", CLIENT, "--cert", str(garbage)), CLIENT)


# ---- services -----------------------------------------------------------------------------------


def test_services_add_accepts_a_loopback_http_url_and_lists_it(tmp_path: Path) -> None:
    register(tmp_path, PROVIDER)
    result = ok("services", "add", PROVIDER, "licence.verify", "--url", "http://127.0.0.1:9001/api/")
    assert f"/v1/exchange/{PROVIDER}/licence.verify" in result.stdout
    listed = json.loads(ok("services", "list", "--json").stdout)
    assert len(listed) == 1
    service = listed[0]
    assert service["id"] == f"{PROVIDER}/licence.verify"
    assert service["provider"] == PROVIDER
    assert service["code"] == "licence.verify"
    assert service["protocol"] == "rest"
    assert service["url"] == "http://127.0.0.1:9001/api"
    assert service["exchange_path"] == f"/v1/exchange/{PROVIDER}/licence.verify"


@pytest.mark.parametrize("url", ["http://localhost:8080", "http://[::1]:8080/x", "https://partner.example.gov.cn/api"])
def test_services_add_accepts_https_and_loopback(tmp_path: Path, url: str) -> None:
    register(tmp_path, PROVIDER)
    ok("services", "add", PROVIDER, "svc", "--url", url)


def test_plain_http_to_another_host_is_refused_by_default(tmp_path: Path) -> None:
    register(tmp_path, PROVIDER)
    assert_one_line_failure(
        run("services", "add", PROVIDER, "svc", "--url", "http://10.1.2.3:8080/api"),
        "plain http",
        "TONGBAN_ALLOW_PLAIN_HTTP_UPSTREAMS",
    )
    assert json.loads(ok("services", "list", "--json").stdout) == []


def test_plain_http_to_another_host_is_allowed_by_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    register(tmp_path, PROVIDER)
    monkeypatch.setenv("TONGBAN_ALLOW_PLAIN_HTTP_UPSTREAMS", "true")
    ok("services", "add", PROVIDER, "svc", "--url", "http://10.1.2.3:8080/api")
    assert json.loads(ok("services", "list", "--json").stdout)[0]["url"] == "http://10.1.2.3:8080/api"


def test_plain_http_to_a_dns_name_that_looks_like_loopback_is_refused(tmp_path: Path) -> None:
    register(tmp_path, PROVIDER)
    assert_one_line_failure(run("services", "add", PROVIDER, "svc", "--url", "http://127.0.0.1.nip.io/api"))


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "127.0.0.1:8080", "http:///path"])
def test_services_add_refuses_non_http_urls(tmp_path: Path, url: str) -> None:
    register(tmp_path, PROVIDER)
    assert_one_line_failure(run("services", "add", PROVIDER, "svc", "--url", url))


def test_services_add_for_an_unknown_provider_fails(tmp_path: Path) -> None:
    assert_one_line_failure(run("services", "add", PROVIDER, "svc", "--url", "http://127.0.0.1:9"), PROVIDER)


def test_duplicate_service_fails_in_one_line(tmp_path: Path) -> None:
    register(tmp_path, PROVIDER)
    ok("services", "add", PROVIDER, "svc", "--url", "http://127.0.0.1:9")
    assert_one_line_failure(run("services", "add", PROVIDER, "svc", "--url", "http://127.0.0.1:9"), "--replace")


# ---- access -------------------------------------------------------------------------------------


def test_access_grant_list_and_revoke(tmp_path: Path) -> None:
    register(tmp_path, PROVIDER)
    register(tmp_path, CLIENT)
    ok("services", "add", PROVIDER, "svc", "--url", "http://127.0.0.1:9")
    service = f"{PROVIDER}/svc"

    assert ok("access", "list", CLIENT).stdout == ""
    assert "(already could)" not in ok("access", "grant", CLIENT, service).stdout
    assert "(already could)" in ok("access", "grant", CLIENT, service).stdout
    ok("access", "grant", CLIENT, "audit.read")
    assert ok("access", "list", CLIENT).stdout.split() == sorted(["audit.read", service])

    ok("access", "revoke", CLIENT, service)
    assert ok("access", "list", CLIENT).stdout.split() == ["audit.read"]


def test_access_grant_to_an_unknown_service_fails(tmp_path: Path) -> None:
    register(tmp_path, CLIENT)
    assert_one_line_failure(run("access", "grant", CLIENT, f"{PROVIDER}/nothing"), f"{PROVIDER}/nothing")
    assert_one_line_failure(run("access", "grant", CLIENT, "credit.nothing"), "credit.nothing")
    assert ok("access", "list", CLIENT).stdout == ""


def test_access_grant_for_an_unknown_client_fails(tmp_path: Path) -> None:
    assert_one_line_failure(run("access", "grant", CLIENT, "audit.read"), CLIENT)


def test_access_revoke_of_a_missing_right_fails(tmp_path: Path) -> None:
    register(tmp_path, CLIENT)
    assert_one_line_failure(run("access", "revoke", CLIENT, "audit.read"), "had no right")


def test_access_list_of_an_unknown_member_fails() -> None:
    assert_one_line_failure(run("access", "list", CLIENT), CLIENT)


# ---- keys -----------------------------------------------------------------------------------------


def test_keys_rotate_then_list_shows_two_keys(var_dir: Path) -> None:
    ok("keys", "list")  # creates the first key
    rotated = ok("keys", "rotate").stdout
    lines = ok("keys", "list").stdout.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("current")
    assert "retired" in lines[1]
    current_kid, old_kid = lines[0].split()[0], lines[1].split()[0]
    assert current_kid != old_kid
    assert f"current key {current_kid}" in rotated and f"previous {old_kid}" in rotated
    assert len(list((var_dir / "keys").glob("*.pem"))) == 2


def test_keys_rotate_twice_keeps_all_keys() -> None:
    ok("keys", "rotate")
    ok("keys", "rotate")
    lines = ok("keys", "list").stdout.strip().splitlines()
    assert len(lines) == 3
    assert [line.endswith("current") for line in lines] == [True, False, False]


# ---- token ----------------------------------------------------------------------------------------


def _public_key(member_dir: Path) -> object:
    return x509.load_pem_x509_certificate((member_dir / "cert.pem").read_bytes()).public_key()


@pytest.mark.parametrize(("algorithm", "jose_alg"), [("ed25519", "EdDSA"), ("ecdsa-p256", "ES256")])
def test_token_is_a_jwt_the_members_key_verifies(tmp_path: Path, algorithm: str, jose_alg: str) -> None:
    member_dir = register(tmp_path, CLIENT, algorithm)
    before = int(datetime.now(UTC).timestamp())
    token = ok("token", "--member", CLIENT, "--key", str(member_dir / "key.pem")).stdout.strip()
    assert jwt.get_unverified_header(token)["alg"] == jose_alg
    claims = jwt.decode(token, _public_key(member_dir), algorithms=[jose_alg], audience="440300.tongban.gateway")
    assert claims["iss"] == claims["sub"] == CLIENT
    assert claims["aud"] == "440300.tongban.gateway"
    assert claims["exp"] - claims["iat"] == 120
    assert before - 5 <= claims["iat"] <= before + 60
    assert claims["jti"]


def test_token_lifetime_and_audience_options(tmp_path: Path) -> None:
    member_dir = register(tmp_path, CLIENT)
    token = ok(
        "token",
        "--member",
        CLIENT,
        "--key",
        str(member_dir / "key.pem"),
        "--lifetime",
        "60",
        "--audience",
        "gw.test",
    ).stdout.strip()
    claims = jwt.decode(token, _public_key(member_dir), algorithms=["EdDSA"], audience="gw.test")
    assert claims["exp"] - claims["iat"] == 60


def test_token_audience_follows_the_configured_city(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    member_dir = register(tmp_path, CLIENT)
    monkeypatch.setenv("TONGBAN_CITY", "442000")
    token = ok("token", "--member", CLIENT, "--key", str(member_dir / "key.pem")).stdout.strip()
    assert jwt.decode(token, _public_key(member_dir), algorithms=["EdDSA"], audience="442000.tongban.gateway")


def test_token_jti_is_fresh_each_time(tmp_path: Path) -> None:
    member_dir = register(tmp_path, CLIENT)
    tokens = [ok("token", "--member", CLIENT, "--key", str(member_dir / "key.pem")).stdout.strip() for _ in range(2)]
    assert len({jwt.decode(t, options={"verify_signature": False})["jti"] for t in tokens}) == 2


def test_token_with_a_missing_key_file_fails_in_one_line(tmp_path: Path) -> None:
    assert_one_line_failure(run("token", "--member", CLIENT, "--key", str(tmp_path / "none.pem")), "none.pem")


@pytest.mark.parametrize("content", ["garbage", "rsa"])
def test_token_with_an_unusable_key_fails_in_one_line(tmp_path: Path, content: str) -> None:
    key = tmp_path / "key.pem"
    if content == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key.write_bytes(private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    else:
        key.write_text("not a key")
    assert_one_line_failure(run("token", "--member", CLIENT, "--key", str(key)))


# ---- commands that talk to a gateway: nothing there, or something else there ------------------------


@pytest.fixture
def not_a_gateway(tmp_path: Path) -> Iterator[str]:
    """A plain HTTP server (as a sandbox or another service would be): 404 for /.well-known/tongban."""
    (tmp_path / "site").mkdir()
    handler = functools.partial(QuietHandler, directory=str(tmp_path / "site"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _call(tmp_path: Path, url: str, *options: str) -> Result:
    key = keygen(tmp_path, CLIENT) / "key.pem"
    return run("call", "GET", url, "--member", CLIENT, "--key", str(key), *options)


def test_call_signs_the_request_and_checks_the_gateways_signature(tmp_path: Path, start_gateway: Any) -> None:
    gateway = start_gateway()
    member = gateway.add_member(CLIENT)
    key = tmp_path / "client.key"
    key.write_bytes(member.key_pem)
    result = ok("call", "GET", f"{gateway.url}/v1/members", "--member", CLIENT, "--key", str(key))
    assert json.loads(result.stdout)["items"][0]["id"] == CLIENT
    status = result.stderr.splitlines()
    assert len(status) == 1 and status[0].startswith("HTTP 200  exchange ")
    assert "gateway signature verified" in status[0]


def test_call_when_no_gateway_answers_says_what_was_tried_in_one_line(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    result = _call(tmp_path, f"{base}/v1/services")
    assert_one_line_failure(result, f"no gateway answers at {base} (connection refused)", "make run", "tongban serve")


def test_call_with_an_audience_when_no_gateway_answers_fails_in_one_line(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}"
    result = _call(tmp_path, f"{base}/v1/services", "--audience", "440300.tongban.gateway")
    assert_one_line_failure(result, f"no gateway answers at {base}", "port")


def test_call_to_something_that_is_not_a_gateway_fails_in_one_line(tmp_path: Path, not_a_gateway: str) -> None:
    result = _call(tmp_path, f"{not_a_gateway}/v1/services")
    assert_one_line_failure(
        result, f"{not_a_gateway} answers, but not as a Tongban gateway (GET /.well-known/tongban: HTTP 404)", "port"
    )


def test_call_to_a_server_answering_200_that_is_not_a_gateway_fails_in_one_line(
    tmp_path: Path, not_a_gateway: str
) -> None:
    (tmp_path / "site" / ".well-known").mkdir()
    (tmp_path / "site" / ".well-known" / "tongban").write_text("<html>hello</html>")
    result = _call(tmp_path, f"{not_a_gateway}/v1/services")
    assert_one_line_failure(
        result, "not as a Tongban gateway (GET /.well-known/tongban: HTTP 200, not the gateway's JSON)"
    )


def test_call_to_a_url_without_a_scheme_fails_in_one_line(tmp_path: Path) -> None:
    assert_one_line_failure(_call(tmp_path, "127.0.0.1:8080/v1/services"), "is not a gateway URL", "http://")


def test_demo_pointed_at_something_that_is_not_a_gateway_fails_in_one_line(not_a_gateway: str) -> None:
    result = run("demo", "--url", not_a_gateway)
    assert_one_line_failure(result, f"{not_a_gateway} answers, but not as a Tongban gateway")


def test_audit_witness_when_no_gateway_answers_fails_in_one_line(tmp_path: Path) -> None:
    verifier_key = ok("audit", "key").stderr.removeprefix("# verifier key: ").strip()
    key = keygen(tmp_path, CLIENT) / "key.pem"
    base = f"http://127.0.0.1:{free_port()}"
    result = run("audit", "witness", base, "--origin-key", verifier_key, "--member", CLIENT, "--member-key", str(key))
    assert_one_line_failure(result, f"no gateway answers at {base}")


# ---- audit ----------------------------------------------------------------------------------------


def test_audit_verify_on_an_empty_log_exits_zero() -> None:
    result = ok("audit", "verify")
    assert "intact: 0 entries" in result.stdout


def _filled_log(count: int) -> TransparencyLog:
    from gateway.runtime import open_transparency_log
    from gateway.settings import load_settings

    current = load_settings()
    database = Database(current.database_url)
    database.migrate()
    log = open_transparency_log(current, database)
    for n in range(count):
        log.append_now({"kind": "test", "seq": n}, exchange_id=f"ex-{n}")
    return log


def test_audit_verify_counts_and_then_names_the_first_bad_entry() -> None:
    log = _filled_log(4)
    assert "intact: 4 entries" in ok("audit", "verify").stdout

    with log.database.write() as connection:
        connection.execute(update(audit_entries).where(audit_entries.c.idx == 2).values(entry=b'{"kind":"forged"}'))
    log.database.dispose()
    result = run("audit", "verify")
    assert result.exit_code != 0
    reasons = [line for line in result.stderr.splitlines() if line.startswith("tongban: ")]
    assert len(reasons) == 1
    assert "entry 2" in reasons[0]


def test_audit_verify_failure_is_one_line_on_stderr() -> None:
    log = _filled_log(3)
    with log.database.write() as connection:
        connection.execute(delete(audit_entries).where(audit_entries.c.idx == 0))
    log.database.dispose()
    assert_one_line_failure(run("audit", "verify"), "entry 0")


def test_invalid_settings_exit_two_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_CITY", "12")
    result = run("members", "list", "--json")
    assert result.exit_code == 2
    assert_one_line_failure(result, "city")


def test_missing_config_file_fails_in_one_line(tmp_path: Path) -> None:
    result = run("--config", str(tmp_path / "nowhere.toml"), "members", "list")
    assert_one_line_failure(result, "nowhere.toml")

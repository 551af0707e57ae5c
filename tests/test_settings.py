"""load_settings: defaults, TONGBAN_* variables, the TOML file, their precedence, and refusals."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.errors import ConfigurationError
from gateway.settings import Settings, load_settings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No TONGBAN_* variable of the developer's shell leaks in; relative paths land in tmp_path."""
    for name in list(os.environ):
        if name.startswith("TONGBAN_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield


def write_toml(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# ---- defaults ---------------------------------------------------------------------------------


def test_defaults_are_shenzhen_on_loopback_8080_with_sqlite_under_var() -> None:
    settings = load_settings()
    assert settings.city == "440300"
    assert settings.gateway_id == "440300.tongban.gateway"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8080
    assert settings.public_url == "http://127.0.0.1:8080"
    assert settings.var_dir == Path("var")
    assert settings.database_url == "sqlite:///var/tongban.db"
    assert settings.keys_dir == Path("var") / "keys"


def test_secure_defaults() -> None:
    settings = load_settings()
    assert settings.allow_plain_http_upstreams is False
    assert settings.token_max_lifetime_seconds == 300
    assert settings.signature_max_age_seconds == 300
    assert settings.max_body_bytes == 16 * 1024 * 1024
    assert settings.signing_algorithm == "ed25519"


def test_gateway_id_is_derived_from_the_city() -> None:
    assert load_settings(city="442000").gateway_id == "442000.tongban.gateway"


def test_explicit_gateway_id_is_kept() -> None:
    assert load_settings(city="442000", gateway_id="custom.gw").gateway_id == "custom.gw"


def test_public_url_is_derived_from_host_and_port() -> None:
    assert load_settings(host="127.0.0.5", port=9001).public_url == "http://127.0.0.5:9001"


def test_explicit_public_url_loses_its_trailing_slash() -> None:
    assert load_settings(public_url="https://tongban.example.gov.cn/").public_url == "https://tongban.example.gov.cn"


def test_database_url_defaults_to_sqlite_under_var_dir(tmp_path: Path) -> None:
    settings = load_settings(var_dir=tmp_path / "state")
    assert settings.database_url == f"sqlite:///{tmp_path / 'state' / 'tongban.db'}"
    assert settings.keys_dir == tmp_path / "state" / "keys"


def test_explicit_database_url_is_kept() -> None:
    url = "postgresql+psycopg://tongban@db.example/tongban"
    assert load_settings(database_url=url).database_url == url


def test_effective_workers_defaults_to_cpu_count() -> None:
    assert load_settings().effective_workers == (os.cpu_count() or 1)
    assert load_settings(workers=3).effective_workers == 3


# ---- environment ------------------------------------------------------------------------------


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TONGBAN_CITY", "442000")
    monkeypatch.setenv("TONGBAN_PORT", "9100")
    monkeypatch.setenv("TONGBAN_VAR_DIR", str(tmp_path / "v"))
    monkeypatch.setenv("TONGBAN_ALLOW_PLAIN_HTTP_UPSTREAMS", "true")
    monkeypatch.setenv("TONGBAN_SIGNING_ALGORITHM", "ecdsa-p256")
    settings = load_settings()
    assert settings.city == "442000"
    assert settings.gateway_id == "442000.tongban.gateway"
    assert settings.port == 9100
    assert settings.public_url == "http://127.0.0.1:9100"
    assert settings.database_url == f"sqlite:///{tmp_path / 'v' / 'tongban.db'}"
    assert settings.allow_plain_http_upstreams is True
    assert settings.signing_algorithm == "ecdsa-p256"


def test_environment_database_url_is_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("TONGBAN_DATABASE_URL", url)
    assert load_settings().database_url == url


# ---- TOML file ----------------------------------------------------------------------------------


def test_toml_file_given_as_argument(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "tongban.toml", 'city = "442000"\nport = 9200\nhost = "127.0.0.9"\n')
    settings = load_settings(config)
    assert settings.city == "442000"
    assert settings.port == 9200
    assert settings.public_url == "http://127.0.0.9:9200"


def test_toml_file_path_may_be_a_string(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "tongban.toml", "port = 9201\n")
    assert load_settings(str(config)).port == 9201


def test_toml_file_named_by_tongban_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_toml(tmp_path / "tongban.toml", 'city = "441900"\n')
    monkeypatch.setenv("TONGBAN_CONFIG", str(config))
    assert load_settings().gateway_id == "441900.tongban.gateway"


def test_argument_file_wins_over_tongban_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from_env = write_toml(tmp_path / "env.toml", "port = 1111\n")
    from_argument = write_toml(tmp_path / "arg.toml", "port = 2222\n")
    monkeypatch.setenv("TONGBAN_CONFIG", str(from_env))
    assert load_settings(from_argument).port == 2222


def test_file_is_read_per_call_not_remembered(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "tongban.toml", "port = 9300\n")
    assert load_settings(config).port == 9300
    assert load_settings().port == 8080


# ---- precedence ---------------------------------------------------------------------------------


def test_precedence_explicit_over_environment_over_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config = write_toml(tmp_path / "tongban.toml", 'port = 1111\ncity = "441900"\nhost = "127.0.0.3"\n')
    monkeypatch.setenv("TONGBAN_PORT", "2222")
    monkeypatch.setenv("TONGBAN_CITY", "442000")

    only_file_and_env = load_settings(config)
    assert only_file_and_env.port == 2222  # env beats file
    assert only_file_and_env.city == "442000"
    assert only_file_and_env.host == "127.0.0.3"  # file still fills what env does not set

    explicit = load_settings(config, port=3333)
    assert explicit.port == 3333  # explicit beats env
    assert explicit.city == "442000"
    assert explicit.public_url == "http://127.0.0.3:3333"


# ---- frozen -------------------------------------------------------------------------------------


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.database_url = "sqlite:///other.db"  # type: ignore[misc]
    assert settings.port == 8080


def test_unknown_keyword_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="not_a_setting"):
        load_settings(not_a_setting=1)


def test_settings_class_forbids_extra_fields() -> None:
    assert Settings.model_config.get("extra") == "forbid"
    assert Settings.model_config.get("frozen") is True


# ---- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("city", "12"),
        ("city", "940300"),
        ("city", "44030a"),
        ("port", 0),
        ("port", 65536),
        ("database_url", "mysql://x"),
        ("database_url", "tongban.db"),
        ("public_url", "ftp://tongban.example"),
        ("public_url", "tongban.example"),
        ("signing_algorithm", "rsa"),
        ("log_level", "TRACE"),
        ("token_max_lifetime_seconds", 301),
        ("max_body_bytes", 10),
        ("workers", -1),
    ],
)
def test_invalid_value_raises_configuration_error_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(**{field: value})
    assert field in str(caught.value)
    assert caught.value.code == "config.invalid"


def test_invalid_environment_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONGBAN_PORT", "eighty")
    with pytest.raises(ConfigurationError, match="port"):
        load_settings()


def test_invalid_value_in_file_names_the_field_and_the_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "tongban.toml", 'city = "12"\n')
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert "city" in str(caught.value)
    assert str(config) in str(caught.value)


def test_unknown_key_in_file_is_refused_by_name(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "tongban.toml", "prot = 8080\n")
    with pytest.raises(ConfigurationError, match="prot"):
        load_settings(config)


def test_missing_config_file_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigurationError, match="does not exist") as caught:
        load_settings(missing)
    assert str(missing) in str(caught.value)


def test_missing_file_named_by_tongban_config_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TONGBAN_CONFIG", str(tmp_path / "nowhere.toml"))
    with pytest.raises(ConfigurationError, match=r"nowhere\.toml"):
        load_settings()


def test_directory_as_config_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(tmp_path)


def test_malformed_toml_is_refused_naming_the_file(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "broken.toml", "port = = 8080\n[unclosed\n")
    with pytest.raises(ConfigurationError) as caught:
        load_settings(config)
    assert "broken.toml" in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(city="12", port=0)
    message = str(caught.value)
    assert "city" in message
    assert "port" in message

"""The gateway keyring on disk: creation, file modes, reloading, rotation, refresh and corruption."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from trust import Keyring, KeyringError, thumbprint

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=30)
T2 = T1 + timedelta(days=30)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_open_creates_a_first_key_readable_only_by_the_owner(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path / "keys", algorithm="ed25519", now=T0)
    key = keyring.current
    pem = tmp_path / "keys" / f"{key.kid}.pem"
    assert pem.is_file()
    assert mode_of(pem) == 0o600
    assert isinstance(key.private_key, ed25519.Ed25519PrivateKey)
    assert key.kid == thumbprint(key.private_key.public_key())
    assert key.created == T0.isoformat(timespec="seconds")
    assert key.retired is None
    assert [k.kid for k in keyring.keys] == [key.kid]


def test_index_is_not_world_writable_and_no_temporary_files_remain(tmp_path: Path) -> None:
    Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    assert not mode_of(tmp_path / "keyring.json") & 0o022
    assert list(tmp_path.glob("*.tmp")) == []


def test_second_open_loads_the_same_key(tmp_path: Path) -> None:
    first = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    second = Keyring.open(tmp_path, algorithm="ed25519", now=T1)
    assert second.current.kid == first.current.kid
    assert second.current.created == first.current.created
    assert len(list(tmp_path.glob("*.pem"))) == 1


def test_open_without_create_refuses_an_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(KeyringError):
        Keyring.open(tmp_path, algorithm="ed25519", now=T0, create=False)
    assert not (tmp_path / "keyring.json").exists()


def test_open_without_create_loads_existing_keys(tmp_path: Path) -> None:
    kid = Keyring.open(tmp_path, algorithm="ed25519", now=T0).current.kid
    assert Keyring.open(tmp_path, algorithm="ed25519", now=T1, create=False).current.kid == kid


def test_rotate_makes_a_new_current_key_and_keeps_the_old_one(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    old = keyring.current
    fresh = keyring.rotate(algorithm="ed25519", now=T1)
    assert fresh.kid != old.kid
    assert keyring.current.kid == fresh.kid
    assert fresh.created == T1.isoformat(timespec="seconds")
    retired = keyring.find(old.kid)
    assert retired is not None
    assert retired.retired == T1.isoformat(timespec="seconds")
    assert mode_of(tmp_path / f"{fresh.kid}.pem") == 0o600


def test_jwks_lists_the_current_key_first_then_the_newest_retired(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    first = keyring.current.kid
    second = keyring.rotate(algorithm="ed25519", now=T1).kid
    third = keyring.rotate(algorithm="ed25519", now=T2).kid
    jwks = keyring.jwks()
    assert [key["kid"] for key in jwks["keys"]] == [third, second, first]
    for key in jwks["keys"]:
        assert "d" not in key  # public only
        assert key["use"] == "sig"


def test_rotation_survives_a_reopen(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    old = keyring.current.kid
    fresh = keyring.rotate(algorithm="ed25519", now=T1).kid
    reopened = Keyring.open(tmp_path, algorithm="ed25519", now=T2)
    assert reopened.current.kid == fresh
    assert {k.kid for k in reopened.keys} == {old, fresh}


def test_another_instance_notices_the_rotation_on_refresh(tmp_path: Path) -> None:
    writer = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    reader = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    assert reader.refresh() is False  # nothing changed yet
    fresh = writer.rotate(algorithm="ed25519", now=T1)
    assert reader.current.kid != fresh.kid  # not before refresh
    assert reader.refresh() is True
    assert reader.current.kid == fresh.kid
    assert reader.jwks()["keys"][0]["kid"] == fresh.kid
    assert reader.refresh() is False


def test_refresh_notices_a_rotation_even_when_the_mtime_is_unchanged(tmp_path: Path) -> None:
    writer = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    reader = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    index = tmp_path / "keyring.json"
    before = index.stat().st_mtime_ns
    fresh = writer.rotate(algorithm="ed25519", now=T1)
    os.utime(index, ns=(before, before))  # what a coarse clock produces for two writes in one tick
    assert reader.refresh() is True
    assert reader.current.kid == fresh.kid


def test_refresh_raises_when_the_keys_disappear(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    (tmp_path / "keyring.json").unlink()
    with pytest.raises(KeyringError):
        keyring.refresh()


def test_ecdsa_p256_keys_work(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path, algorithm="ecdsa-p256", now=T0)
    key = keyring.current
    assert isinstance(key.private_key, ec.EllipticCurvePrivateKey)
    assert isinstance(key.private_key.curve, ec.SECP256R1)
    assert key.kind.http_sig_alg == "ecdsa-p256-sha256"
    assert key.kind.jose_alg == "ES256"
    jwk = keyring.jwks()["keys"][0]
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "P-256", "ES256")
    assert Keyring.open(tmp_path, algorithm="ecdsa-p256", now=T1).current.kid == key.kid


def test_rotation_may_change_the_algorithm(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    fresh = keyring.rotate(algorithm="ecdsa-p256", now=T1)
    assert fresh.kind.jose_alg == "ES256"
    assert {key["kty"] for key in keyring.jwks()["keys"]} == {"OKP", "EC"}


# ---- corruption -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "{ not json",
        "[]",
        '{"current": null}',
        '{"keys": []}',
        '{"current": "x", "keys": [{"kid": "x"}]}',
        "",
    ],
    ids=["not-json", "list", "no-keys", "no-current", "entry-without-file", "empty"],
)
def test_corrupted_index_raises_keyring_error(tmp_path: Path, content: str) -> None:
    Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    (tmp_path / "keyring.json").write_text(content, encoding="utf-8")
    with pytest.raises(KeyringError):
        Keyring.open(tmp_path, algorithm="ed25519", now=T1)


def test_current_key_missing_from_the_list_raises_keyring_error(tmp_path: Path) -> None:
    Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    index = tmp_path / "keyring.json"
    data = json.loads(index.read_text("utf-8"))
    data["current"] = "no-such-kid"
    index.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(KeyringError, match="no-such-kid"):
        Keyring.open(tmp_path, algorithm="ed25519", now=T1)


def test_missing_key_file_raises_keyring_error(tmp_path: Path) -> None:
    kid = Keyring.open(tmp_path, algorithm="ed25519", now=T0).current.kid
    (tmp_path / f"{kid}.pem").unlink()
    with pytest.raises(KeyringError):
        Keyring.open(tmp_path, algorithm="ed25519", now=T1)


def test_corrupted_key_file_raises_keyring_error(tmp_path: Path) -> None:
    kid = Keyring.open(tmp_path, algorithm="ed25519", now=T0).current.kid
    (tmp_path / f"{kid}.pem").write_text("-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    with pytest.raises(KeyringError):
        Keyring.open(tmp_path, algorithm="ed25519", now=T1)


def test_key_file_swapped_for_another_key_raises_keyring_error(tmp_path: Path) -> None:
    keyring = Keyring.open(tmp_path, algorithm="ed25519", now=T0)
    old = keyring.current.kid
    fresh = keyring.rotate(algorithm="ed25519", now=T1).kid
    (tmp_path / f"{old}.pem").write_bytes((tmp_path / f"{fresh}.pem").read_bytes())
    with pytest.raises(KeyringError, match="does not match"):
        Keyring.open(tmp_path, algorithm="ed25519", now=T2)

"""The gateway's own signing keys on disk: generated on first run, rotated, all kept for verifying."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from trust._errors import KeyringError
from trust._jwk import KeyKind, key_kind, public_jwk, thumbprint

__all__ = ["GatewayKey", "Keyring", "SigningAlgorithm"]

SigningAlgorithm = Literal["ed25519", "ecdsa-p256"]
PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
_INDEX = "keyring.json"


@dataclass(frozen=True)
class GatewayKey:
    """One of the gateway's keys; only the current one signs."""

    kid: str
    private_key: PrivateKey
    created: str
    retired: str | None

    @property
    def kind(self) -> KeyKind:
        return key_kind(self.private_key)

    def jwk(self) -> dict[str, Any]:
        return public_jwk(self.private_key.public_key(), kid=self.kid)


def _generate(algorithm: SigningAlgorithm) -> PrivateKey:
    if algorithm == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def _stamp(path: Path) -> tuple[int, int, int]:
    # The index is replaced, never edited: a new inode shows a rotation even where
    # the file system's timestamps are too coarse to.
    status = path.stat()
    return (status.st_ino, status.st_mtime_ns, status.st_size)


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    # Several gateway workers may start at once; only one may create or rotate keys.
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def write_atomically(path: Path, data: bytes, mode: int) -> None:
    """Write through a temporary file and rename, so a reader never sees half a file; the file gets `mode`."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, mode)  # whatever the umask, or a left-over temporary file, made of it
    os.replace(temporary, path)


class Keyring:
    """Keys under one directory: `keyring.json` names the current key and keeps the retired ones.

    Other processes may rotate the keys; `refresh()` picks that up cheaply (one stat).
    """

    def __init__(self, directory: Path, keys: list[GatewayKey], current_kid: str, stamp: tuple[int, int, int]) -> None:
        self.directory = directory
        self._keys = keys
        self._current_kid = current_kid
        self._index_stamp = stamp
        self._lock = threading.Lock()

    # ---- construction --------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path, *, algorithm: SigningAlgorithm, now: datetime, create: bool = True) -> Keyring:
        """Load the keys, creating a first key if there are none (and `create` allows it)."""
        index = directory / _INDEX
        if not index.exists():
            if not create:
                raise KeyringError(
                    f"no gateway keys under {directory}; run `tongban serve` once or `tongban keys rotate`"
                )
            with _locked(directory):
                if not index.exists():
                    cls._add_key(directory, algorithm, now, index_data={"current": None, "keys": []})
        return cls._load(directory)

    @classmethod
    def _load(cls, directory: Path) -> Keyring:
        index = directory / _INDEX
        try:
            stamp = _stamp(index)
            data = json.loads(index.read_text("utf-8"))
            keys = []
            for entry in data["keys"]:
                pem = (directory / entry["file"]).read_bytes()
                private_key = serialization.load_pem_private_key(pem, password=None)
                if not isinstance(private_key, ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey):
                    raise KeyringError(f"{entry['file']}: unsupported key type")
                if thumbprint(private_key.public_key()) != entry["kid"]:
                    raise KeyringError(f"{entry['file']}: key does not match its kid {entry['kid']}")
                keys.append(GatewayKey(entry["kid"], private_key, entry["created"], entry.get("retired")))
            current = data["current"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise KeyringError(f"cannot read gateway keys under {directory}: {exc}") from exc
        if current not in {key.kid for key in keys}:
            raise KeyringError(f"{index}: current key {current} is not in the keyring")
        return cls(directory, keys, current, stamp)

    @staticmethod
    def _add_key(directory: Path, algorithm: SigningAlgorithm, now: datetime, index_data: dict[str, Any]) -> str:
        private_key = _generate(algorithm)
        kid = thumbprint(private_key.public_key())
        file_name = f"{kid}.pem"
        pem = private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        write_atomically(directory / file_name, pem, 0o600)
        stamp = now.isoformat(timespec="seconds")
        for entry in index_data["keys"]:
            if entry["kid"] == index_data["current"]:
                entry["retired"] = stamp
        index_data["keys"].append(
            {"kid": kid, "file": file_name, "algorithm": algorithm, "created": stamp, "retired": None}
        )
        index_data["current"] = kid
        write_atomically(directory / _INDEX, json.dumps(index_data, indent=2).encode("utf-8"), 0o644)
        return kid

    # ---- use -------------------------------------------------------------------------------

    @property
    def current(self) -> GatewayKey:
        with self._lock:
            return next(key for key in self._keys if key.kid == self._current_kid)

    @property
    def keys(self) -> list[GatewayKey]:
        with self._lock:
            return list(self._keys)

    def find(self, kid: str) -> GatewayKey | None:
        return next((key for key in self.keys if key.kid == kid), None)

    def jwks(self) -> dict[str, Any]:
        """Current key first, then the retired ones that still verify older signatures."""
        current = self.current
        others = [key for key in self.keys if key.kid != current.kid]
        return {"keys": [current.jwk(), *(key.jwk() for key in reversed(others))]}

    def refresh(self) -> bool:
        """Reload if another process rotated the keys; True when something changed."""
        try:
            stamp = _stamp(self.directory / _INDEX)
        except OSError as exc:
            raise KeyringError(f"gateway keys under {self.directory} disappeared") from exc
        if stamp == self._index_stamp:
            return False
        fresh = self._load(self.directory)
        with self._lock:
            self._keys, self._current_kid, self._index_stamp = (
                fresh._keys,
                fresh._current_kid,
                fresh._index_stamp,
            )
        return True

    def rotate(self, *, algorithm: SigningAlgorithm, now: datetime) -> GatewayKey:
        """Make a new current key; the previous ones stay published for verification."""
        with _locked(self.directory):
            data = json.loads((self.directory / _INDEX).read_text("utf-8"))
            self._add_key(self.directory, algorithm, now, index_data=data)
        self.refresh()
        return self.current

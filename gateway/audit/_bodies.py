"""Message bodies kept apart from the tree, encrypted at rest with AES-GCM."""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["BodyCipher", "BodyUnreadable"]


class BodyUnreadable(Exception):
    """A stored body that does not decrypt: wrong key, or changed in storage."""


def _create_key_file(key_file: Path) -> None:
    """Write a new key aside, then link it into place: processes starting together on a fresh
    var dir all end up reading the one key that won, never a half-written file."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    temporary = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(AESGCM.generate_key(bit_length=256)))
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won; its key is the key
            os.link(temporary, key_file)
    finally:
        temporary.unlink(missing_ok=True)


class BodyCipher:
    """AES-256-GCM; the exchange id and part are bound in as associated data, so a body cannot
    be moved to another exchange unnoticed."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the audit body key must be 32 bytes (AES-256)")
        self._aead = AESGCM(key)

    @classmethod
    def from_setting(cls, setting: str, key_file: Path) -> BodyCipher:
        """The key from the setting (base64), or from a file made on first run (the sandbox)."""
        if setting:
            try:
                return cls(base64.b64decode(setting, validate=True))
            except ValueError as exc:
                raise ValueError("TONGBAN_AUDIT_BODY_KEY must be 32 bytes in base64") from exc
        if not key_file.exists():
            _create_key_file(key_file)
        return cls(base64.b64decode(key_file.read_bytes().strip()))

    @staticmethod
    def _associated(exchange_id: str, part: str) -> bytes:
        return f"tongban-audit-body/1\n{exchange_id}\n{part}".encode()

    def seal(self, exchange_id: str, part: str, plaintext: bytes, nonce: bytes) -> bytes:
        return self._aead.encrypt(nonce, plaintext, self._associated(exchange_id, part))

    def open(self, exchange_id: str, part: str, ciphertext: bytes, nonce: bytes) -> bytes:
        try:
            return self._aead.decrypt(nonce, ciphertext, self._associated(exchange_id, part))
        except InvalidTag as exc:
            raise BodyUnreadable(f"the {part} body of {exchange_id} does not decrypt") from exc

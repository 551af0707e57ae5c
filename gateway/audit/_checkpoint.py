"""C2SP tlog-checkpoint text and C2SP signed notes with Ed25519 keys (c2sp.org/signed-note)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "MAX_SIGNATURES",
    "Checkpoint",
    "InvalidKey",
    "MalformedCheckpoint",
    "MalformedNote",
    "UnverifiedNote",
    "Verifier",
    "add_signature",
    "format_checkpoint",
    "key_id",
    "open_note",
    "parse_checkpoint",
    "parse_verifier_key",
    "sign_note",
    "verifier_key_string",
]

# The spec asks verifiers to accept at least 16; golang.org/x/mod/sumdb/note stops at 100.
MAX_SIGNATURES = 100

_ED25519 = b"\x01"  # signature type identifier byte, signed-note "Signature types"
_SIG_PREFIX = "\u2014 "  # em dash, space
_ROOT_SIZE = 32  # SHA-256, the RFC 6962 / 9162 tree hash
_SIZE = re.compile(r"0|[1-9][0-9]*")  # ASCII decimal, no leading zeroes
_HEX8 = re.compile(r"[0-9a-fA-F]{8}")


class MalformedCheckpoint(ValueError):
    """Text that is not a well-formed tlog-checkpoint body."""


class MalformedNote(ValueError):
    """Text that is not a well-formed signed note, or a note text that cannot be signed."""


class UnverifiedNote(ValueError):
    """A note that no known key verifies, or that carries a failing signature from a known key."""


class InvalidKey(ValueError):
    """A malformed key name or verifier key, or two different known keys with one name and ID."""


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: origin line, tree size, root hash and optional extension lines."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "extensions", tuple(self.extensions))
        if not self.origin or not _is_line(self.origin):
            raise MalformedCheckpoint("origin must be one non-empty line")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or not 0 <= self.size < 1 << 64:
            raise MalformedCheckpoint("tree size must be an integer in [0, 2**64)")
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != _ROOT_SIZE:
            raise MalformedCheckpoint("root hash must be 32 bytes")
        for line in self.extensions:
            if not line or not _is_line(line):
                raise MalformedCheckpoint("extension lines must be non-empty lines")


def _is_line(value: str) -> bool:
    """True for text with no ASCII control characters (so no newline) that encodes as UTF-8."""
    return _is_note_text(value) and "\n" not in value


def _is_note_text(value: str) -> bool:
    """True for text that is valid UTF-8 with no ASCII control characters but newline."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ch < " " and ch != "\n" for ch in value)


def _b64decode_canonical(value: str) -> bytes:
    """Standard base64 (RFC 4648 section 4), padded, in its one canonical spelling."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error) as exc:
        raise ValueError("not standard base64") from exc
    # b64decode accepts non-zero trailing bits; insisting on the canonical spelling keeps
    # exactly one text per value.
    if base64.b64encode(raw).decode("ascii") != value:
        raise ValueError("not canonical base64")
    return raw


def format_checkpoint(checkpoint: Checkpoint) -> str:
    """The checkpoint's note text: origin, size, base64 root hash and extensions, each ending in newline."""
    lines = [
        checkpoint.origin,
        str(checkpoint.size),
        base64.b64encode(checkpoint.root_hash).decode("ascii"),
        *checkpoint.extensions,
    ]
    return "".join(line + "\n" for line in lines)


def parse_checkpoint(text: str) -> Checkpoint:
    """Parse a checkpoint note text (only the text: open the signed note first)."""
    if not text.endswith("\n") or not _is_note_text(text):
        raise MalformedCheckpoint("checkpoint text must be newline-terminated lines")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedCheckpoint("checkpoint needs origin, size and root hash lines")
    origin, size, root, *extensions = lines
    if not _SIZE.fullmatch(size):
        raise MalformedCheckpoint("tree size is not a decimal without leading zeroes")
    try:
        root_hash = _b64decode_canonical(root)
    except ValueError as exc:
        raise MalformedCheckpoint("root hash is not base64") from exc
    return Checkpoint(origin, int(size), root_hash, tuple(extensions))


def _check_name(name: str) -> None:
    # signed-note: non-empty, no Unicode spaces, no plus; control characters cannot appear in a note.
    if not name or "+" in name or any(ch.isspace() for ch in name) or not _is_line(name):
        raise InvalidKey("key name must be non-empty, without spaces or '+'")


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes_raw()


def key_id(name: str, public_key: Ed25519PublicKey) -> int:
    """The uint32 key ID: SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian."""
    _check_name(name)
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + _ED25519 + _public_bytes(public_key)).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True, eq=False)
class Verifier:
    """A known Ed25519 note key: its name, its key ID and the public key."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_public_key(cls, name: str, public_key: Ed25519PublicKey) -> Verifier:
        return cls(name, key_id(name, public_key), public_key)


def _accepts(verifier: Verifier, message: bytes, signature: bytes) -> bool:
    if len(signature) != 64:
        return False
    try:
        verifier.public_key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def verifier_key_string(name: str, public_key: Ed25519PublicKey) -> str:
    """The verifier key `<name>+<hex key ID>+<base64(0x01 || public key)>` to hand to verifiers."""
    key_hash = key_id(name, public_key)
    material = base64.b64encode(_ED25519 + _public_bytes(public_key)).decode("ascii")
    return f"{name}+{key_hash:08x}+{material}"


def parse_verifier_key(vkey: str) -> Verifier:
    """Parse a verifier key string; its key ID must match its name and key."""
    name, _, rest = vkey.partition("+")
    hex_id, _, material = rest.partition("+")
    _check_name(name)
    if not _HEX8.fullmatch(hex_id):
        raise InvalidKey("key ID must be 8 hexadecimal digits")
    try:
        raw = _b64decode_canonical(material)
    except ValueError as exc:
        raise InvalidKey("key material is not base64") from exc
    if len(raw) != 33 or raw[:1] != _ED25519:
        raise InvalidKey("only Ed25519 (type 0x01) verifier keys are supported")
    verifier = Verifier.from_public_key(name, Ed25519PublicKey.from_public_bytes(raw[1:]))
    if verifier.key_id != int(hex_id, 16):
        raise InvalidKey("key ID does not match the key")
    return verifier


def _signature_line(text: str, name: str, private_key: Ed25519PrivateKey) -> tuple[str, int]:
    ident = key_id(name, private_key.public_key())
    signature = ident.to_bytes(4, "big") + private_key.sign(text.encode("utf-8"))
    return f"{_SIG_PREFIX}{name} {base64.b64encode(signature).decode('ascii')}\n", ident


def sign_note(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Sign text (newline-terminated) as a note with one signature line."""
    if not text.endswith("\n") or not _is_note_text(text):
        raise MalformedNote("note text must be newline-terminated, without control characters")
    line, _ = _signature_line(text, name, private_key)
    return text + "\n" + line


@dataclass(frozen=True)
class _Signature:
    name: str
    key_id: int
    signature: bytes
    line: str


def _split_note(note: str | bytes) -> tuple[str, list[_Signature]]:
    """Split a signed note into its text and its well-formed, still unverified signature lines."""
    if isinstance(note, bytes):
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNote("note is not UTF-8") from exc
    if not _is_note_text(note):
        raise MalformedNote("note contains control characters")
    # The text ends at the last blank line; it keeps its final newline.
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n") or split + 2 == len(note):
        raise MalformedNote("note has no signature block")
    text, block = note[: split + 1], note[split + 2 :]
    signatures: list[_Signature] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(_SIG_PREFIX):
            raise MalformedNote("signature block holds a line that is not a signature")
        name, _, encoded = line[len(_SIG_PREFIX) :].partition(" ")
        try:
            _check_name(name)
            raw = _b64decode_canonical(encoded)
        except ValueError as exc:
            raise MalformedNote("malformed signature line") from exc
        if len(raw) < 5:
            raise MalformedNote("malformed signature line")
        signatures.append(_Signature(name, int.from_bytes(raw[:4], "big"), raw[4:], line + "\n"))
        if len(signatures) > MAX_SIGNATURES:
            raise MalformedNote("too many signatures")
    return text, signatures


def add_signature(note: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """Add (or replace) this key's signature on a signed note, keeping the others: cosigning.

    Checks the note's form only; a cosigner verifies it with open_note first.
    """
    text, signatures = _split_note(note)
    line, ident = _signature_line(text, name, private_key)
    kept = [sig.line for sig in signatures if (sig.name, sig.key_id) != (name, ident)]
    if len(kept) + 1 > MAX_SIGNATURES:
        raise MalformedNote("too many signatures")
    return text + "\n" + "".join(kept) + line


def _index(verifiers: Iterable[Verifier]) -> dict[tuple[str, int], Verifier]:
    known: dict[tuple[str, int], Verifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        other = known.setdefault(slot, verifier)
        if _public_bytes(other.public_key) != _public_bytes(verifier.public_key):
            raise InvalidKey(f"two keys named {verifier.name}+{verifier.key_id:08x}")
    return known


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> tuple[str, list[str]]:
    """Verify a signed note; return its text and the names of the known keys that signed it.

    Lines from unknown keys (name and key ID not both known) are ignored. Raises MalformedNote
    for a note not in the format, UnverifiedNote when a known key's signature fails or none
    verifies, InvalidKey for two different verifiers with one name and key ID.
    """
    known = _index(verifiers)
    text, signatures = _split_note(note)
    message = text.encode("utf-8")
    names: list[str] = []
    for sig in signatures:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            continue
        # Every line of a known key is checked; one failure rejects the whole note.
        if not _accepts(verifier, message, sig.signature):
            raise UnverifiedNote("note signature does not verify")
        if sig.name not in names:
            names.append(sig.name)
    if not names:
        raise UnverifiedNote("note has no signature from a known key")
    return text, names

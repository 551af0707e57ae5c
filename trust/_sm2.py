"""SM2 signatures with SM3 (GB/T 32918, GM/T 0003/0009) behind one small backend interface, and SM2 key encodings.

The backend does the arithmetic that needs care; this module
owns everything around it: the signer id and Z value, strict DER for signatures, key formats that
OpenSSL reads and writes (PKCS#8 and SubjectPublicKeyInfo with id-ecPublicKey and the sm2p256v1 curve
OID), and turning every backend failure into one `InvalidSignature`.

The default backend verifies with the system's OpenSSL 3 (libcrypto, 1.8 times as fast; see
`trust._sm2_openssl`) when it is there, supports SM2 and passes a self-check on first use, and
with gmssl-pyx (a wrapper of GmSSL) otherwise; gmssl-pyx always signs. The environment variable
TONGBAN_SM2_BACKEND=auto|openssl|gmssl forces a choice (the trust layer reads no settings file).

`ReferenceSm2Backend` is a second implementation in plain Python: slow and not hardened against
timing, it exists to cross-check the default backend and to reproduce the published example
signature, whose nonce k is fixed (a nonce source can be passed in).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from asn1crypto import core, keys, pem
from cryptography.hazmat.primitives import hashes

from trust._errors import InvalidSignature, Sm2BackendUnavailable, UnsupportedKey

__all__ = [
    "SM2_BACKEND_VARIABLE",
    "SM2_CURVE_OID",
    "SM2_SIGNER_ID",
    "SM2_WITH_SM3_OID",
    "SM3_OID",
    "AutoSm2Backend",
    "GmsslSm2Backend",
    "ReferenceSm2Backend",
    "Sm2Backend",
    "Sm2PrivateKey",
    "Sm2PublicKey",
    "sm2_backend_in_use",
    "sm2_sign_digest",
    "sm2_z",
    "sm3",
]

log = logging.getLogger("tongban.trust")

SM2_SIGNER_ID = b"1234567812345678"  # GM/T 0009's default user id; certificates and seals use it
SM2_CURVE_OID = "1.2.156.10197.1.301"
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
SM3_OID = "1.2.156.10197.1.401"

# The curve (GB/T 32918.5 recommended parameters).
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
GX = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
GY = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

# asn1crypto does not know the SM2 curve; registering it lets keys and certificates carry it by name.
keys.NamedCurve.register("sm2p256v1", SM2_CURVE_OID, 32)

Random = Callable[[int], bytes]


def sm3(data: bytes) -> bytes:
    """The SM3 digest of data (GB/T 32905)."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


# ---- plain-Python curve arithmetic (Jacobian coordinates) --------------------------------------------

_Point = tuple[int, int, int]  # Jacobian (X, Y, Z); Z == 0 is the point at infinity
_INFINITY: _Point = (1, 1, 0)


def _double(point: _Point) -> _Point:
    x, y, z = point
    if z == 0 or y == 0:
        return _INFINITY
    ysq = y * y % P
    s = 4 * x * ysq % P
    zsq = z * z % P
    m = (3 * x * x + A * zsq * zsq) % P
    nx = (m * m - 2 * s) % P
    ny = (m * (s - nx) - 8 * ysq * ysq) % P
    nz = 2 * y * z % P
    return (nx, ny, nz)


def _add(p1: _Point, p2: _Point) -> _Point:
    if p1[2] == 0:
        return p2
    if p2[2] == 0:
        return p1
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    z1sq, z2sq = z1 * z1 % P, z2 * z2 % P
    u1, u2 = x1 * z2sq % P, x2 * z1sq % P
    s1, s2 = y1 * z2sq * z2 % P, y2 * z1sq * z1 % P
    if u1 == u2:
        return _double(p1) if s1 == s2 else _INFINITY
    h, r = (u2 - u1) % P, (s2 - s1) % P
    hsq = h * h % P
    hcu = hsq * h % P
    nx = (r * r - hcu - 2 * u1 * hsq) % P
    ny = (r * (u1 * hsq - nx) - s1 * hcu) % P
    nz = h * z1 * z2 % P
    return (nx, ny, nz)


def _multiply(scalar: int, point: _Point) -> _Point:
    """Montgomery ladder: the same sequence of operations for every scalar of 256 bits."""
    r0, r1 = _INFINITY, point
    for bit in range(255, -1, -1):
        if (scalar >> bit) & 1:
            r0, r1 = _add(r0, r1), _double(r1)
        else:
            r1, r0 = _add(r0, r1), _double(r0)
    return r0


def _affine(point: _Point) -> tuple[int, int]:
    x, y, z = point
    if z == 0:
        raise ValueError("point at infinity")
    zinv = pow(z, -1, P)
    zinv2 = zinv * zinv % P
    return (x * zinv2 % P, y * zinv2 * zinv % P)


def _on_curve(x: int, y: int) -> bool:
    return 0 <= x < P and 0 <= y < P and (y * y - (x * x * x + A * x + B)) % P == 0


def _point_bytes(x: int, y: int) -> bytes:
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def _public_point(private_key: bytes) -> bytes:
    d = int.from_bytes(private_key, "big")
    if not 1 <= d <= N - 2:
        raise UnsupportedKey("an SM2 private key lies in [1, n-2]")
    return _point_bytes(*_affine(_multiply(d, (GX, GY, 1))))


def _draw_scalar(random: Random, upper: int) -> int:
    """A uniform integer in [1, upper] by rejection sampling."""
    while True:
        candidate = int.from_bytes(random(32), "big")
        if 1 <= candidate <= upper:
            return candidate


_CURVE_BYTES = b"".join(v.to_bytes(32, "big") for v in (A, B, GX, GY))


def sm2_z(public_key: bytes | Sm2PublicKey, signer_id: bytes = SM2_SIGNER_ID) -> bytes:
    """Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA), the hash that binds a signer id to a key."""
    point = public_key.to_bytes() if isinstance(public_key, Sm2PublicKey) else public_key
    if len(point) != 65 or point[0] != 4:
        raise UnsupportedKey("an SM2 public key is an uncompressed point of 65 bytes")
    if len(signer_id) >= 8192:
        raise ValueError("an SM2 signer id is shorter than 8192 bytes")
    return _z(bytes(point), bytes(signer_id))


@functools.lru_cache(maxsize=4096)
def _z(point: bytes, signer_id: bytes) -> bytes:
    # Z depends on the key and the id alone; the same CA, maker and signer keys come back on every validation.
    return sm3((len(signer_id) * 8).to_bytes(2, "big") + signer_id + _CURVE_BYTES + point[1:])


# ---- signature encoding ------------------------------------------------------------------------------


class _SignatureValue(core.Sequence):
    """ECDSA-Sig-Value / SM2Signature: SEQUENCE { r INTEGER, s INTEGER }."""

    _fields: ClassVar[list[Any]] = [("r", core.Integer), ("s", core.Integer)]


def encode_signature(r: int, s: int) -> bytes:
    return _SignatureValue({"r": r, "s": s}).dump()


def _der_pair(r: int, s: int) -> bytes:
    """The DER SM2Signature of r and s in [0, 2**256), as encode_signature writes it (written out: it is on
    every verification's path, and asn1crypto takes twenty times as long)."""
    body = b"".join(
        b"\x02" + bytes([value.bit_length() // 8 + 1]) + value.to_bytes(value.bit_length() // 8 + 1, "big")
        for value in (r, s)
    )
    return b"\x30" + bytes([len(body)]) + body


def decode_signature(signature: bytes) -> tuple[int, int]:
    """r and s from a strict DER SM2Signature with both in [1, n-1]; raises InvalidSignature.

    The two INTEGERs are read leniently, then the signature must be byte for byte the DER of what was
    read: so only the one encoding of each (r, s) passes (no long lengths, padding or trailing bytes)."""
    values = []
    position = 2
    try:
        if signature[0] != 0x30:
            raise ValueError("not a SEQUENCE")
        for _ in range(2):
            length = signature[position + 1]
            if signature[position] != 0x02 or length > 33:
                raise ValueError("not a short INTEGER")
            values.append(int.from_bytes(signature[position + 2 : position + 2 + length], "big", signed=True))
            position += 2 + length
    except (IndexError, ValueError) as exc:
        raise InvalidSignature("signature is not a DER SM2Signature") from exc
    r, s = values
    if not (1 <= r < N and 1 <= s < N) or _der_pair(r, s) != signature:
        raise InvalidSignature("signature is not a DER SM2Signature")
    return r, s


# ---- backends ----------------------------------------------------------------------------------------


class Sm2Backend(Protocol):
    """The arithmetic of SM2. Keys are raw: 32-byte private scalars, 65-byte uncompressed points."""

    def generate_private_key(self, random: Random) -> bytes: ...

    def public_key_of(self, private_key: bytes) -> bytes: ...

    def sign(self, private_key: bytes, public_key: bytes, message: bytes, signer_id: bytes) -> bytes:
        """A DER SM2Signature over SM3(Z || message); public_key is the signer's own (it enters Z)."""

    def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
        """Returns nothing, or raises InvalidSignature."""


class GmsslSm2Backend:
    """SM2 by GmSSL (through gmssl-pyx); the default."""

    def generate_private_key(self, random: Random) -> bytes:
        return _draw_scalar(random, N - 2).to_bytes(32, "big")

    def public_key_of(self, private_key: bytes) -> bytes:
        # GmSSL's wrapper has no call for this; the ladder above derives it.
        return _public_point(private_key)

    def sign(self, private_key: bytes, public_key: bytes, message: bytes, signer_id: bytes) -> bytes:
        import gmssl_pyx

        # e = SM3(Z || M) is computed here, so that every signer id works (GmSSL's wrapper cannot take
        # an empty one, which OpenSSL 3.0 uses for certificates) and Z is the code the vectors test.
        digest = sm3(sm2_z(public_key, signer_id) + message)
        try:
            signature = gmssl_pyx.sm2_sign_sm3_digest(private_key, digest)
        except gmssl_pyx.GmsslInnerError as exc:
            raise UnsupportedKey("GmSSL refused the SM2 key") from exc
        return bytes(signature)

    def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
        import gmssl_pyx

        decode_signature(signature)  # strict DER and ranges first: GmSSL's parser is more lenient
        digest = sm3(sm2_z(public_key, signer_id) + message)
        try:
            valid = gmssl_pyx.sm2_verify_sm3_digest(public_key[1:], digest, signature)
        except gmssl_pyx.GmsslInnerError as exc:
            raise InvalidSignature("SM2 signature does not verify") from exc
        if not valid:
            raise InvalidSignature("SM2 signature does not verify")


@dataclass(frozen=True)
class PublishedSignature:
    """The SM2 signature example of GB/T 32918.2 / GM/T 0003 (tests/vectors/gm-sm2-sm3.json, `sm2_sign`)."""

    public_key: bytes
    signer_id: bytes
    message: bytes
    r: int
    s: int


# Kept in the code as well as in tests/vectors (a test checks they agree): backends check themselves
# against it before use, and the vector files are not installed with the package.
PUBLISHED_SIGNATURE = PublishedSignature(
    public_key=bytes.fromhex(
        "04"
        "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
        "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
    ),
    signer_id=b"1234567812345678",
    message=b"message digest",
    r=0xF5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3,
    s=0xB1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA,
)


class ReferenceSm2Backend:
    """GB/T 32918.2 in plain Python, for cross-checks and published vectors (nonce may be fixed)."""

    def __init__(self, nonce: Callable[[], int] | None = None) -> None:
        self._nonce = nonce

    def generate_private_key(self, random: Random) -> bytes:
        return _draw_scalar(random, N - 2).to_bytes(32, "big")

    def public_key_of(self, private_key: bytes) -> bytes:
        return _public_point(private_key)

    def sign(self, private_key: bytes, public_key: bytes, message: bytes, signer_id: bytes) -> bytes:
        d = int.from_bytes(private_key, "big")
        e = int.from_bytes(sm3(sm2_z(public_key, signer_id) + message), "big")
        while True:
            k = self._nonce() if self._nonce else _draw_scalar(secrets.token_bytes, N - 1)
            x1, _ = _affine(_multiply(k, (GX, GY, 1)))
            r = (e + x1) % N
            if r == 0 or r + k == N:
                continue
            s = pow(1 + d, -1, N) * (k - r * d) % N
            if s != 0:
                return encode_signature(r, s)

    def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
        r, s = decode_signature(signature)
        t = (r + s) % N
        if t == 0:
            raise InvalidSignature("SM2 signature does not verify")
        e = int.from_bytes(sm3(sm2_z(public_key, signer_id) + message), "big")
        point = (int.from_bytes(public_key[1:33], "big"), int.from_bytes(public_key[33:], "big"), 1)
        total = _add(_multiply(s, (GX, GY, 1)), _multiply(t, point))
        if total[2] == 0 or (e + _affine(total)[0]) % N != r:
            raise InvalidSignature("SM2 signature does not verify")


SM2_BACKEND_VARIABLE = "TONGBAN_SM2_BACKEND"
SM2_BACKEND_CHOICES = ("auto", "openssl", "gmssl")


class AutoSm2Backend(GmsslSm2Backend):
    """Verifies with OpenSSL 3 when it is usable, else with gmssl-pyx; signs with gmssl-pyx.

    The choice is made on the first verification (loading libcrypto and its self-check cost a few
    milliseconds, and a process that only signs never pays them), logged once at INFO, and kept.
    `choice` (default: $TONGBAN_SM2_BACKEND, else "auto") forces one: "openssl" when it is
    unusable raises Sm2BackendUnavailable rather than falling back.
    """

    def __init__(self, choice: str | None = None, openssl_names: tuple[str, ...] | None = None) -> None:
        self._choice = choice
        self._openssl_names = openssl_names
        self._verifier: Sm2Backend | None = None
        self._lock = threading.Lock()
        self.name = ""  # "openssl (OpenSSL 3.0.19 ...)" or "gmssl" once chosen

    def verifier(self) -> Sm2Backend:
        """The backend that verifies, chosen (and logged) on first call."""
        if self._verifier is None:
            with self._lock:
                if self._verifier is None:
                    self._verifier = self._choose()
        return self._verifier

    def _choose(self) -> Sm2Backend:
        from trust._sm2_openssl import OPENSSL_LIBRARY_NAMES, OpenSslSm2Backend

        choice = (self._choice or os.environ.get(SM2_BACKEND_VARIABLE) or "auto").strip().lower()
        if choice not in SM2_BACKEND_CHOICES:
            expected = ", ".join(SM2_BACKEND_CHOICES)
            raise Sm2BackendUnavailable(f"{SM2_BACKEND_VARIABLE}={choice!r}: expected one of {expected}")
        if choice == "gmssl":
            self.name = "gmssl"
            log.info("SM2 verification by gmssl-pyx (%s=gmssl)", SM2_BACKEND_VARIABLE)
            return GmsslSm2Backend()
        try:
            verifier = OpenSslSm2Backend.load(self._openssl_names or OPENSSL_LIBRARY_NAMES)
        except Sm2BackendUnavailable as exc:
            if choice == "openssl":
                raise Sm2BackendUnavailable(f"{SM2_BACKEND_VARIABLE}=openssl, but {exc}") from exc
            self.name = "gmssl"
            log.info("SM2 verification by gmssl-pyx: OpenSSL is not usable (%s)", exc)
            return GmsslSm2Backend()
        self.name = f"openssl ({verifier.version})"
        log.info("SM2 verification by the system's %s", verifier.version)
        return verifier

    def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
        self.verifier().verify(public_key, message, signature, signer_id)


DEFAULT_BACKEND = AutoSm2Backend()


def sm2_backend_in_use() -> str:
    """Which backend verifies SM2 signatures by default: "openssl (<version>)" or "gmssl" (chooses it if not yet)."""
    DEFAULT_BACKEND.verifier()
    return DEFAULT_BACKEND.name


# ---- keys --------------------------------------------------------------------------------------------


def _ec_algorithm() -> keys.PublicKeyAlgorithm:
    return keys.PublicKeyAlgorithm({"algorithm": "ec", "parameters": keys.ECDomainParameters("named", "sm2p256v1")})


def _is_sm2_algorithm(algorithm: keys.PublicKeyAlgorithm | keys.PrivateKeyAlgorithm) -> bool:
    if algorithm["algorithm"].dotted != "1.2.840.10045.2.1":  # id-ecPublicKey
        return False
    parameters = algorithm["parameters"]
    return parameters.name == "named" and parameters.chosen.dotted == SM2_CURVE_OID


def _unarmor(data: bytes, label: str) -> bytes:
    if pem.detect(data):
        found, _, der = pem.unarmor(data)
        if found != label:
            raise UnsupportedKey(f"expected a PEM {label}, found {found}")
        return bytes(der)
    return data


@dataclass(frozen=True)
class Sm2PublicKey:
    """An SM2 public key: a point on sm2p256v1."""

    point: bytes  # 65 bytes, 0x04 || x || y
    backend: Sm2Backend = field(default=DEFAULT_BACKEND, compare=False, repr=False)

    @classmethod
    def from_bytes(cls, data: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PublicKey:
        """From 65 bytes (04 || x || y) or 64 bytes (x || y); the point must lie on the curve."""
        if len(data) == 64:
            data = b"\x04" + data
        if len(data) != 65 or data[0] != 4:
            raise UnsupportedKey("an SM2 public key is an uncompressed point")
        if not _on_curve(int.from_bytes(data[1:33], "big"), int.from_bytes(data[33:], "big")):
            raise UnsupportedKey("the point is not on the SM2 curve")
        return cls(bytes(data), backend)

    @classmethod
    def from_der(cls, data: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PublicKey:
        """From a DER SubjectPublicKeyInfo (id-ecPublicKey, sm2p256v1)."""
        try:
            info = keys.PublicKeyInfo.load(data, strict=True)
            if not _is_sm2_algorithm(info["algorithm"]):
                raise UnsupportedKey("not an SM2 public key")
            point = bytes(info["public_key"].native)
        except UnsupportedKey:
            raise
        except (ValueError, TypeError, KeyError) as exc:
            raise UnsupportedKey("not a SubjectPublicKeyInfo") from exc
        return cls.from_bytes(point, backend)

    @classmethod
    def from_pem(cls, data: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PublicKey:
        return cls.from_der(_unarmor(data, "PUBLIC KEY"), backend)

    def to_bytes(self) -> bytes:
        return self.point

    def to_info(self) -> keys.PublicKeyInfo:
        return keys.PublicKeyInfo({"algorithm": _ec_algorithm(), "public_key": self.point})

    def to_der(self) -> bytes:
        return bytes(self.to_info().dump())

    def to_pem(self) -> bytes:
        return bytes(pem.armor("PUBLIC KEY", self.to_der()))

    def z(self, signer_id: bytes = SM2_SIGNER_ID) -> bytes:
        return sm2_z(self.point, signer_id)

    def verify(self, signature: bytes, message: bytes, signer_id: bytes = SM2_SIGNER_ID) -> None:
        """Returns nothing, or raises InvalidSignature."""
        self.backend.verify(self.point, message, signature, signer_id)


# ---- remembered verifications -------------------------------------------------------------------------

REMEMBERED_VERIFICATIONS = 4096


class Remembered:
    """The last `size` checks that succeeded, each by a key that holds everything its outcome depends on."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._seen: OrderedDict[Hashable, None] = OrderedDict()
        self._lock = threading.Lock()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            if key not in self._seen:
                return False
            self._seen.move_to_end(key)
            return True

    def add(self, key: Hashable) -> None:
        with self._lock:
            self._seen[key] = None
            self._seen.move_to_end(key)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)


# Successful verifications by (backend, key, signer id, SHA-256 of the message, signature).
_REMEMBERED = Remembered(REMEMBERED_VERIFICATIONS)


def verify_remembered(
    public_key: Sm2PublicKey, signature: bytes, message: bytes, signer_id: bytes = SM2_SIGNER_ID
) -> None:
    """As `public_key.verify`, but a signature that verified lately is not computed again; raises InvalidSignature.

    For signatures that recur from one document to the next (a CA's over a certificate or CRL, a seal
    maker's over the seal), never for a document's own signature. Whether an SM2 signature verifies
    depends on the key, the signer id, the message and the signature alone, so a remembered success is
    the very answer a fresh check would give: the key holds all four (the message by its SHA-256) and the
    backend. Failures are not remembered, and nothing is remembered about time, trust or revocation.
    """
    key = (public_key.backend, public_key.point, bytes(signer_id), hashlib.sha256(message).digest(), bytes(signature))
    if key in _REMEMBERED:
        return
    public_key.verify(signature, message, signer_id)
    _REMEMBERED.add(key)


@dataclass(frozen=True)
class Sm2PrivateKey:
    """An SM2 private key with its public key."""

    scalar: bytes = field(repr=False)  # 32 bytes, big-endian d
    public: Sm2PublicKey
    backend: Sm2Backend = field(default=DEFAULT_BACKEND, compare=False, repr=False)

    @classmethod
    def generate(cls, random: Random = secrets.token_bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PrivateKey:
        return cls.from_bytes(backend.generate_private_key(random), backend)

    @classmethod
    def from_bytes(cls, data: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PrivateKey:
        if len(data) != 32:
            raise UnsupportedKey("an SM2 private key is 32 bytes")
        return cls(bytes(data), Sm2PublicKey.from_bytes(backend.public_key_of(data), backend), backend)

    @classmethod
    def from_der(cls, data: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PrivateKey:
        """From DER PKCS#8 (as `openssl genpkey -algorithm SM2` writes) or SEC1 ECPrivateKey."""
        scalar = _pkcs8_scalar(data)
        if scalar is None:
            scalar = _sec1_scalar(data)
        if not 0 < scalar < 2**256:
            raise UnsupportedKey("an SM2 private key lies in [1, n-2]")
        return cls.from_bytes(scalar.to_bytes(32, "big"), backend)

    @classmethod
    def from_pem(cls, data: bytes, backend: Sm2Backend = DEFAULT_BACKEND) -> Sm2PrivateKey:
        if pem.detect(data):
            label, _, der = pem.unarmor(data)
            if label not in ("PRIVATE KEY", "EC PRIVATE KEY", "SM2 PRIVATE KEY"):  # OpenSSL 3.0 writes the last
                raise UnsupportedKey(f"expected a PEM private key, found {label}")
            return cls.from_der(bytes(der), backend)
        return cls.from_der(data, backend)

    def public_key(self) -> Sm2PublicKey:
        return self.public

    def to_bytes(self) -> bytes:
        return self.scalar

    def to_der(self) -> bytes:
        """PKCS#8, with the curve in the algorithm and the public key inside, as OpenSSL writes it."""
        ec_key = keys.ECPrivateKey(
            {
                "version": "ecPrivkeyVer1",
                "private_key": int.from_bytes(self.scalar, "big"),
                "public_key": self.public.point,
            }
        )
        info = keys.PrivateKeyInfo(
            {
                "version": 0,
                "private_key_algorithm": keys.PrivateKeyAlgorithm(
                    {"algorithm": "ec", "parameters": keys.ECDomainParameters("named", "sm2p256v1")}
                ),
                "private_key": ec_key,
            }
        )
        return bytes(info.dump())

    def to_pem(self) -> bytes:
        return bytes(pem.armor("PRIVATE KEY", self.to_der()))

    def sign(self, message: bytes, signer_id: bytes = SM2_SIGNER_ID) -> bytes:
        """A DER SM2Signature over SM3(Z || message)."""
        return self.backend.sign(self.scalar, self.public.point, message, signer_id)


def _pkcs8_scalar(data: bytes) -> int | None:
    """The private scalar of a PKCS#8 SM2 key; None when data is no PKCS#8 at all."""
    try:
        info = keys.PrivateKeyInfo.load(data, strict=True)
        algorithm = info["private_key_algorithm"]
        algorithm.native  # noqa: B018 - forces the lazy parse, so a SEC1 key fails here
    except (ValueError, TypeError, KeyError):
        return None
    if not _is_sm2_algorithm(algorithm):
        raise UnsupportedKey("not an SM2 private key")
    try:
        return int(info["private_key"].parsed["private_key"].native)
    except (ValueError, TypeError, KeyError) as exc:
        raise UnsupportedKey("not a PKCS#8 EC private key") from exc


def _sec1_scalar(data: bytes) -> int:
    try:
        ec_key = keys.ECPrivateKey.load(data, strict=True)
        parameters = ec_key["parameters"]
        if parameters.native is not None and (parameters.name != "named" or parameters.chosen.dotted != SM2_CURVE_OID):
            raise UnsupportedKey("not an SM2 private key")
        return int(ec_key["private_key"].native)
    except UnsupportedKey:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise UnsupportedKey("not a PKCS#8 or SEC1 private key") from exc


def sm2_sign_digest(private_key: Sm2PrivateKey, digest: bytes) -> bytes:
    """A DER SM2Signature over a digest e = SM3(Z || message) that the caller computed: what a co-signing
    service (协同签名) does when its client hashes the data itself. gmssl-pyx signs, as every backend does."""
    import gmssl_pyx

    if len(digest) != 32:
        raise ValueError("an SM3 digest is 32 bytes")
    try:
        return bytes(gmssl_pyx.sm2_sign_sm3_digest(private_key.scalar, bytes(digest)))
    except gmssl_pyx.GmsslInnerError as exc:
        raise UnsupportedKey("GmSSL refused the SM2 key") from exc

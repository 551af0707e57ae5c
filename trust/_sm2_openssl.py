"""SM2 verification by the system's OpenSSL 3 (libcrypto through ctypes): 1.8 times gmssl-pyx's rate.

Only verification: it is what the gateway does per document (signing stays with gmssl-pyx). The
library is taken as found (`ctypes.util.find_library("crypto")`, then `libcrypto.so.3`), must be
OpenSSL 3.0 or later, and must pass a self-check before it is used: the published GM/T 0003 example
signature verifies and tampered copies of it do not. A build without SM2 (`no-sm2`) fails that check.
Anything missing raises `Sm2BackendUnavailable`; `trust._sm2` then falls back to gmssl-pyx.

Each verification builds its own EVP_MD_CTX and EVP_PKEY_CTX and frees them; the EVP_PKEY of a
public key is built once and kept (bounded), shared read-only between threads as OpenSSL 3 allows,
with a reference taken for the length of each call so that an eviction never frees one in use.
ctypes releases the GIL around each foreign call, so worker threads verify in parallel.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections import OrderedDict

from trust._errors import InvalidSignature, Sm2BackendUnavailable, UnsupportedKey
from trust._sm2 import (
    PUBLISHED_SIGNATURE,
    GmsslSm2Backend,
    decode_signature,
    encode_signature,
)

__all__ = ["OpenSslSm2Backend"]

OPENSSL_LIBRARY_NAMES = ("crypto", "libcrypto.so.3")  # a find_library name, then a file name
MINIMUM_VERSION = 0x30000000  # OPENSSL_VERSION_NUMBER of 3.0.0
KEPT_KEYS = 256  # CA, seal-maker and signer keys recur; a few hundred cover a gateway's partners

_EVP_PKEY_PUBLIC_KEY = 0x86  # OSSL_KEYMGMT_SELECT_ALL_PARAMETERS | OSSL_KEYMGMT_SELECT_PUBLIC_KEY
_OSSL_PARAM_UTF8_STRING = 4
_OSSL_PARAM_OCTET_STRING = 5


class _OsslParam(ctypes.Structure):
    """OSSL_PARAM (openssl/core.h), filled in directly rather than through OSSL_PARAM_construct_*."""

    _fields_ = [
        ("key", ctypes.c_char_p),
        ("data_type", ctypes.c_uint),
        ("data", ctypes.c_void_p),
        ("data_size", ctypes.c_size_t),
        ("return_size", ctypes.c_size_t),
    ]


_P = ctypes.c_void_p
_SIGNATURES: dict[str, tuple[object, list[object]]] = {
    "OpenSSL_version_num": (ctypes.c_ulong, []),
    "OpenSSL_version": (ctypes.c_char_p, [ctypes.c_int]),
    "ERR_clear_error": (None, []),
    "EVP_sm3": (_P, []),
    "EVP_PKEY_CTX_new_from_name": (_P, [_P, ctypes.c_char_p, ctypes.c_char_p]),
    "EVP_PKEY_CTX_new_from_pkey": (_P, [_P, _P, ctypes.c_char_p]),
    "EVP_PKEY_CTX_free": (None, [_P]),
    "EVP_PKEY_CTX_set1_id": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_int]),
    "EVP_PKEY_fromdata_init": (ctypes.c_int, [_P]),
    "EVP_PKEY_fromdata": (ctypes.c_int, [_P, ctypes.POINTER(_P), ctypes.c_int, ctypes.POINTER(_OsslParam)]),
    "EVP_PKEY_up_ref": (ctypes.c_int, [_P]),
    "EVP_PKEY_free": (None, [_P]),
    "EVP_MD_CTX_new": (_P, []),
    "EVP_MD_CTX_free": (None, [_P]),
    "EVP_MD_CTX_set_pkey_ctx": (None, [_P, _P]),
    "EVP_DigestVerifyInit": (ctypes.c_int, [_P, _P, _P, _P, _P]),
    "EVP_DigestVerify": (ctypes.c_int, [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]),
}


def _load_library(names: tuple[str, ...]) -> ctypes.CDLL:
    """The first of names that loads as an OpenSSL ≥ 3.0 libcrypto with every function used here."""
    reasons = []
    for name in names:
        path = ctypes.util.find_library(name) if "." not in name else name
        if path is None:
            reasons.append(f"{name}: not found")
            continue
        try:
            library = ctypes.CDLL(path)
        except OSError as exc:
            reasons.append(f"{path}: {exc}")
            continue
        try:
            for function, (restype, argtypes) in _SIGNATURES.items():
                symbol = getattr(library, function)
                symbol.restype = restype
                symbol.argtypes = argtypes
        except AttributeError as exc:  # OpenSSL 1.1 and LibreSSL lack the 3.0 calls
            reasons.append(f"{path}: {exc}")
            continue
        version = library.OpenSSL_version_num()
        if version < MINIMUM_VERSION:
            reasons.append(f"{path}: OpenSSL {version:#x} is older than 3.0")
            continue
        return library
    raise Sm2BackendUnavailable("no OpenSSL 3 libcrypto (" + "; ".join(reasons) + ")")


class OpenSslSm2Backend(GmsslSm2Backend):
    """SM2 verification with OpenSSL 3's EVP API; key generation and signing stay gmssl-pyx's."""

    def __init__(self, library: ctypes.CDLL, kept_keys: int = KEPT_KEYS) -> None:
        """Use `load()`: it checks the library before anything is verified with it."""
        self._crypto = library
        self._sm3 = library.EVP_sm3()
        if not self._sm3:
            raise Sm2BackendUnavailable("this OpenSSL has no SM3")
        self._keys: OrderedDict[bytes, int] = OrderedDict()
        self._kept_keys = kept_keys
        self._lock = threading.Lock()
        self.version = library.OpenSSL_version(0).decode("ascii", "replace")  # OPENSSL_VERSION

    @classmethod
    def load(cls, names: tuple[str, ...] = OPENSSL_LIBRARY_NAMES) -> OpenSslSm2Backend:
        """The backend over the first usable library of names, once it passed the self-check."""
        backend = cls(_load_library(names))
        backend.self_check()
        return backend

    def self_check(self) -> None:
        """The published example signature verifies, and it does not once message, signature or id change."""
        vector = PUBLISHED_SIGNATURE
        signature = encode_signature(vector.r, vector.s)
        try:
            self.verify(vector.public_key, vector.message, signature, vector.signer_id)
        except InvalidSignature as exc:
            raise Sm2BackendUnavailable(f"{self.version} does not verify the GM/T 0003 example: {exc}") from exc
        tampered = (
            (vector.public_key, vector.message + b".", signature, vector.signer_id),
            (vector.public_key, vector.message, encode_signature(vector.r, vector.s ^ 1), vector.signer_id),
            (vector.public_key, vector.message, signature, vector.signer_id[:-1] + b"9"),
        )
        for public_key, message, candidate, signer_id in tampered:
            try:
                self.verify(public_key, message, candidate, signer_id)
            except InvalidSignature:
                continue
            raise Sm2BackendUnavailable(f"{self.version} accepts a tampered GM/T 0003 example")

    def verify(self, public_key: bytes, message: bytes, signature: bytes, signer_id: bytes) -> None:
        """Returns nothing, or raises InvalidSignature."""
        decode_signature(signature)  # strict DER and ranges first, as for every backend
        if len(signer_id) >= 8192:
            raise ValueError("an SM2 signer id is shorter than 8192 bytes")
        crypto = self._crypto
        try:
            key = self._take_key(bytes(public_key))
        except UnsupportedKey as exc:  # as gmssl-pyx: a key that is no key verifies nothing
            raise InvalidSignature("SM2 signature does not verify") from exc
        md_ctx = pkey_ctx = None
        try:
            md_ctx = crypto.EVP_MD_CTX_new()
            pkey_ctx = crypto.EVP_PKEY_CTX_new_from_pkey(None, key, None)
            if not md_ctx or not pkey_ctx:
                raise MemoryError("OpenSSL could not allocate a verification context")
            # The id enters Z = SM3(ENTL || ID || curve || key); the digest context borrows pkey_ctx.
            if crypto.EVP_PKEY_CTX_set1_id(pkey_ctx, bytes(signer_id), len(signer_id)) != 1:
                raise InvalidSignature("OpenSSL refused the SM2 signer id")
            crypto.EVP_MD_CTX_set_pkey_ctx(md_ctx, pkey_ctx)
            if crypto.EVP_DigestVerifyInit(md_ctx, None, self._sm3, None, key) != 1:
                raise InvalidSignature("OpenSSL could not start an SM2 verification")
            outcome = crypto.EVP_DigestVerify(md_ctx, bytes(signature), len(signature), bytes(message), len(message))
            if outcome != 1:
                raise InvalidSignature("SM2 signature does not verify")
        finally:
            if md_ctx:
                crypto.EVP_MD_CTX_free(md_ctx)
            if pkey_ctx:
                crypto.EVP_PKEY_CTX_free(pkey_ctx)  # after md_ctx: set_pkey_ctx does not hand it over
            crypto.EVP_PKEY_free(key)  # the reference _take_key took
            crypto.ERR_clear_error()  # a refusal leaves entries on this thread's error queue

    # ---- kept keys -------------------------------------------------------------------------------------

    def _take_key(self, point: bytes) -> int:
        """A reference to the EVP_PKEY of point (built on first use and kept); the caller frees it."""
        with self._lock:
            key = self._keys.get(point)
            if key is not None:
                self._keys.move_to_end(point)
                self._crypto.EVP_PKEY_up_ref(key)
                return key
        built = self._build_key(point)
        with self._lock:
            kept = self._keys.get(point)
            if kept is not None:  # another thread built it meanwhile: use theirs
                self._crypto.EVP_PKEY_free(built)
                built = kept
            else:
                self._keys[point] = built
                while len(self._keys) > self._kept_keys:
                    _, evicted = self._keys.popitem(last=False)
                    self._crypto.EVP_PKEY_free(evicted)  # callers holding it keep their own reference
            self._crypto.EVP_PKEY_up_ref(built)
            return built

    def _build_key(self, point: bytes) -> int:
        if len(point) != 65 or point[0] != 4:
            raise UnsupportedKey("an SM2 public key is an uncompressed point of 65 bytes")
        crypto = self._crypto
        group, point_buffer = b"SM2", ctypes.create_string_buffer(point, len(point))
        params = (_OsslParam * 3)(
            _OsslParam(b"group", _OSSL_PARAM_UTF8_STRING, ctypes.cast(ctypes.c_char_p(group), _P), len(group), 0),
            _OsslParam(b"pub", _OSSL_PARAM_OCTET_STRING, ctypes.cast(point_buffer, _P), len(point), 0),
            _OsslParam(None, 0, None, 0, 0),
        )
        context = crypto.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
        if not context:
            crypto.ERR_clear_error()
            raise Sm2BackendUnavailable("this OpenSSL has no SM2 keys")
        key = _P()
        try:
            if crypto.EVP_PKEY_fromdata_init(context) != 1 or (
                crypto.EVP_PKEY_fromdata(context, ctypes.byref(key), _EVP_PKEY_PUBLIC_KEY, params) != 1
            ):
                raise UnsupportedKey("OpenSSL refused the SM2 public key")
        finally:
            crypto.EVP_PKEY_CTX_free(context)
            crypto.ERR_clear_error()
        if not key.value:
            raise UnsupportedKey("OpenSSL refused the SM2 public key")
        return key.value

    def kept_keys(self) -> int:
        return len(self._keys)

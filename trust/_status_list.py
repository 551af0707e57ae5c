"""W3C Bitstring Status List v1.0: the encoded list, status list credentials, and a licence credential's status.

A licence credential names its place in a list:

    "credentialStatus": {"type": "BitstringStatusListEntry", "statusPurpose": "revocation",
                         "statusListIndex": "94567", "statusListCredential": "https://.../status/3",
                         "id": "https://.../status/3#94567"}

and the list is itself a credential (here a JWS signed like the licence, see trust._jws) whose
`credentialSubject.encodedList` is the multibase base64url ("u" prefix, no padding) of the GZIP of
the bitstring. Index 0 is the left-most bit: the most significant bit of the first byte. The
bitstring is at least 16 KiB (131,072 entries), so that one list hides any one holder in a crowd.

check_credential_status fetches the list through a fetcher the caller supplies, and answers
"valid", "revoked" or "suspended", or raises SignatureFailure:

- TRY_LATER when the current status cannot be learned from what was fetched: the fetch failed, the
  list's own signature does not hold, it is by another signer or issuer than the credential, it is
  outside its validity period, or it is another list than the one asked for;
- FORMAT_FAILURE when the credential's status entry, or the content of a properly signed list, is
  malformed (bad encodedList, too short, the index out of range, the purpose not the list's).
"""

from __future__ import annotations

import gzip
import inspect
import re
import zlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from trust._json import JsonRejected, parse_json
from trust._jwk import b64url, b64url_decode_strict
from trust._jws import SigningKey, examine_jws, sign_jws_credential
from trust._report import SignatureEvidence, SignatureFailure, SubIndication
from trust._time import NotXsdDateTime, parse_xsd_datetime, utc_seconds_text

__all__ = [
    "MIN_STATUS_LIST_BITS",
    "StatusFetcher",
    "check_credential_status",
    "decode_status_list",
    "encode_status_list",
    "make_status_list_credential",
    "new_status_bitstring",
    "read_status_bit",
    "set_status_bit",
    "status_list_entry",
]

MIN_STATUS_LIST_BITS = 16 * 1024 * 8
"""The specification's minimum bitstring length: 16 KiB, 131,072 entries."""

DEFAULT_MAX_LIST_BYTES = 16 * 1024 * 1024  # 134 million entries; bounds what a GZIP bomb can make us inflate
_PURPOSES = ("revocation", "suspension")
_ANSWER = {"revocation": "revoked", "suspension": "suspended"}
_INDEX = re.compile(r"^[0-9]{1,18}$")

StatusFetcher = Callable[[str], bytes | Awaitable[bytes]]
"""Fetches the status list credential at a URL: the compact JWS bytes, directly or awaitably.
Any exception it raises means the list cannot be had now (TRY_LATER)."""


MAX_OPEN_LIST_AGE = timedelta(days=7)


def _format(message: str) -> SignatureFailure:
    return SignatureFailure(SubIndication.FORMAT_FAILURE, message)


def _try_later(message: str) -> SignatureFailure:
    return SignatureFailure(SubIndication.TRY_LATER, message)


# ---- the bitstring ---------------------------------------------------------------------------------------


def new_status_bitstring(entries: int = MIN_STATUS_LIST_BITS) -> bytearray:
    """A bitstring of all zeros with room for `entries` one-bit statuses (at least the minimum)."""
    if entries < MIN_STATUS_LIST_BITS:
        raise ValueError(f"a status list holds at least {MIN_STATUS_LIST_BITS} entries")
    return bytearray((entries + 7) // 8)


def set_status_bit(bitstring: bytearray, index: int, value: bool) -> None:
    """Set the bit at `index` (0 is the left-most bit, the first byte's most significant)."""
    if not 0 <= index < len(bitstring) * 8:
        raise IndexError("the index lies outside the bitstring")
    mask = 0x80 >> (index % 8)
    if value:
        bitstring[index // 8] |= mask
    else:
        bitstring[index // 8] &= ~mask & 0xFF


def read_status_bit(bitstring: bytes | bytearray, index: int) -> bool:
    """The bit at `index` (0 is the left-most bit, the first byte's most significant)."""
    if not 0 <= index < len(bitstring) * 8:
        raise IndexError("the index lies outside the bitstring")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def encode_status_list(bitstring: bytes | bytearray) -> str:
    """The `encodedList` of a bitstring: "u" + base64url (no padding) of its GZIP, made reproducibly (mtime 0)."""
    if len(bitstring) * 8 < MIN_STATUS_LIST_BITS:
        raise ValueError(f"a status list holds at least {MIN_STATUS_LIST_BITS} entries")
    compressed = gzip.compress(bytes(bitstring), compresslevel=9, mtime=0)
    return "u" + b64url(compressed)


def decode_status_list(encoded_list: object, *, max_bytes: int = DEFAULT_MAX_LIST_BYTES) -> bytes:
    """The bitstring of an `encodedList`; raises SignatureFailure(FORMAT_FAILURE) when it is malformed or too short."""
    if not isinstance(encoded_list, str) or not encoded_list.startswith("u"):
        raise _format("encodedList must be a multibase base64url string (starting with 'u')")
    try:
        # Another spelling of the same GZIP bytes changes nothing here: spelling is not checked.
        compressed = b64url_decode_strict(encoded_list[1:], canonical=False)
    except ValueError as exc:
        raise _format("encodedList is not base64url") from exc
    inflater = zlib.decompressobj(wbits=31)  # GZIP framing only
    try:
        bitstring = inflater.decompress(compressed, max_bytes + 1)
    except zlib.error as exc:
        raise _format("encodedList is not GZIP data") from exc
    if len(bitstring) > max_bytes:
        raise _format(f"the status list inflates to more than {max_bytes} bytes")
    if not inflater.eof or inflater.unused_data:
        raise _format("encodedList is not exactly one complete GZIP member")
    if len(bitstring) * 8 < MIN_STATUS_LIST_BITS:
        raise _format(f"the status list is shorter than {MIN_STATUS_LIST_BITS} entries")
    return bitstring


# ---- building --------------------------------------------------------------------------------------------


def _xsd(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return utc_seconds_text(moment)


def make_status_list_credential(
    *,
    list_url: str,
    issuer: str,
    status_purpose: str,
    bitstring: bytes | bytearray,
    private_key: SigningKey,
    certificate_chain: list[bytes],
    valid_from: datetime,
    valid_until: datetime | None = None,
) -> str:
    """A BitstringStatusListCredential for `list_url`, signed as a JWS by the licence issuer's key.

    `valid_from` is also the signing time. Give `valid_until` so that a replayed old list stops
    being accepted (relying parties fetch again after it).
    """
    if status_purpose not in _PURPOSES:
        raise ValueError(f"status_purpose must be one of {', '.join(_PURPOSES)}")
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("valid_until must lie after valid_from")
    payload: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": _xsd(valid_from),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": status_purpose,
            "encodedList": encode_status_list(bitstring),
        },
    }
    if valid_until is not None:
        payload["validUntil"] = _xsd(valid_until)
    return sign_jws_credential(payload, private_key, certificate_chain, valid_from)


def status_list_entry(list_url: str, index: int, status_purpose: str) -> dict[str, str]:
    """The `credentialStatus` entry that puts a credential at `index` of the list at `list_url`."""
    if status_purpose not in _PURPOSES:
        raise ValueError(f"status_purpose must be one of {', '.join(_PURPOSES)}")
    if index < 0:
        raise ValueError("a status list index is not negative")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": status_purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


# ---- checking --------------------------------------------------------------------------------------------


def _entries(credential_payload: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(purpose, index, list URL) of each revocation or suspension entry; other status types are not ours."""
    status = credential_payload.get("credentialStatus")
    if status is None:
        raise _format("the credential has no credentialStatus")
    items = status if isinstance(status, list) else [status]
    found = []
    for item in items:
        if not isinstance(item, dict):
            raise _format("a credentialStatus entry is not an object")
        if item.get("type") != "BitstringStatusListEntry" or item.get("statusPurpose") not in _PURPOSES:
            continue
        index = item.get("statusListIndex")
        if not isinstance(index, str) or not _INDEX.fullmatch(index):
            raise _format("statusListIndex must be a non-negative base-10 integer written as a string")
        if item.get("statusSize", 1) != 1:
            raise _format("revocation and suspension entries are one bit (statusSize 1)")
        url = item.get("statusListCredential")
        if not isinstance(url, str) or not url:
            raise _format("statusListCredential must be a URL")
        found.append((str(item["statusPurpose"]), int(index), url))
    if not found:
        raise _format("the credential has no revocation or suspension BitstringStatusListEntry")
    return found


def _issuer_id(payload: dict[str, Any]) -> str | None:
    issuer = payload.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise _try_later(f"the status list's {name} is not a date-time with a time zone")
    try:
        return parse_xsd_datetime(value)
    except NotXsdDateTime as exc:
        raise _try_later(f"the status list's {name} is not a date-time with a time zone") from exc
    except ValueError as exc:
        raise _try_later(f"the status list's {name} is not a real time") from exc


async def _fetch(fetch: StatusFetcher, url: str) -> bytes:
    try:
        result = fetch(url)
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:  # the fetcher is an I/O boundary: whatever broke, the list is not to be had now
        raise _try_later("the status list could not be fetched") from exc
    if not isinstance(result, bytes | bytearray | str):
        raise _try_later("the status list fetcher returned no document")
    return result.encode("utf-8") if isinstance(result, str) else bytes(result)


async def _examine_list(
    token: bytes,
    url: str,
    issuer: str | None,
    signer_certificate: bytes,
    accept_list_signer: Callable[[SignatureEvidence], object] | None,
    now: datetime,
) -> dict[str, Any]:
    """The status list credential's subject, once its signature, signer, issuer, id and period hold."""
    try:
        evidence = examine_jws(token)
    except SignatureFailure as exc:
        raise _try_later(f"the status list's own signature does not hold: {exc}") from exc
    if accept_list_signer is not None:
        verdict = accept_list_signer(evidence)
        if inspect.isawaitable(verdict):  # the engine's chain validation is async
            await verdict
    elif evidence.signer_certificate != signer_certificate:
        raise _try_later("the status list is signed by another certificate than the credential")
    payload: dict[str, Any] = parse_json(evidence.signed_content)
    if issuer is None or _issuer_id(payload) != issuer:
        raise _try_later("the status list has another issuer than the credential")
    if payload.get("id", url) != url:
        raise _try_later("the fetched status list is another list than the one the credential names")
    types = payload.get("type")
    if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
        raise _try_later("the fetched document is not a BitstringStatusListCredential")
    if "validFrom" in payload and _time(payload["validFrom"], "validFrom") > now:
        raise _try_later("the status list is not valid yet")
    if "validUntil" in payload and _time(payload["validUntil"], "validUntil") <= now:
        raise _try_later("the status list has expired; a newer one is needed")
    if "validUntil" not in payload and (
        "validFrom" not in payload or now - _time(payload["validFrom"], "validFrom") > MAX_OPEN_LIST_AGE
    ):
        # Without validUntil a replayed old list would be believed for ever: accept it only while fresh.
        raise _try_later("the status list names no validUntil and is not from the last 7 days")
    subject = payload.get("credentialSubject")
    if not isinstance(subject, dict) or subject.get("type") != "BitstringStatusList":
        raise _format("the status list's credentialSubject is not a BitstringStatusList")
    return subject


async def check_credential_status(
    credential: SignatureEvidence | dict[str, Any],
    fetch: StatusFetcher,
    *,
    now: datetime,
    signer_certificate: bytes | None = None,
    accept_list_signer: Callable[[SignatureEvidence], object] | None = None,
) -> str:
    """The status of a credential by its Bitstring Status List entries: "valid", "revoked" or "suspended".

    `credential` is the examined credential (the evidence examine_jws returned), or its verified
    payload together with `signer_certificate` (DER), the certificate its signature was made with.
    Each list must be signed with that same certificate and name the same issuer. Where the issuer
    signs its lists with another certificate (a status service, a rotated key), pass
    `accept_list_signer`, which receives the list's evidence and raises SignatureFailure unless
    that signer may speak for the issuer; it replaces the same-certificate rule, not the
    same-issuer one. Revocation wins over suspension. Each list URL is fetched once. Raises
    SignatureFailure (TRY_LATER or FORMAT_FAILURE; see the module docstring).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if isinstance(credential, SignatureEvidence):
        try:
            credential_payload = parse_json(credential.signed_content)
        except JsonRejected as exc:
            raise _format("the credential is not JSON") from exc
        if not isinstance(credential_payload, dict):
            raise _format("the credential is not a JSON object")
        signer_certificate = signer_certificate or credential.signer_certificate
    else:
        credential_payload = credential
    if signer_certificate is None:
        raise ValueError("with a credential's payload, give the certificate it was signed with")
    entries = _entries(credential_payload)
    issuer = _issuer_id(credential_payload)
    subjects: dict[str, dict[str, Any]] = {}
    bitstrings: dict[str, bytes] = {}
    answers = set()
    for purpose, index, url in entries:
        if url not in subjects:
            token = await _fetch(fetch, url)
            subjects[url] = await _examine_list(token, url, issuer, signer_certificate, accept_list_signer, now)
            bitstrings[url] = decode_status_list(subjects[url].get("encodedList"))
        list_purpose = subjects[url].get("statusPurpose")
        purposes = list_purpose if isinstance(list_purpose, list) else [list_purpose]
        if purpose not in purposes:
            raise _format(f"the status list at the credential's {purpose} entry is not a {purpose} list")
        if index >= len(bitstrings[url]) * 8:
            raise _format("statusListIndex lies outside the status list")
        if read_status_bit(bitstrings[url], index):
            answers.add(_ANSWER[purpose])
    for answer in ("revoked", "suspended"):
        if answer in answers:
            return answer
    return "valid"

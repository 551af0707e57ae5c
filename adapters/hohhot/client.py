"""The I/O to Hohhot's partner systems over REST/JSON (its sandbox on loopback, or the real ones).

Answers are read back with HohhotMapping.from_partner. What can go wrong, and what it becomes
(see adapters/hohhot/_exceptions.py and _wire.py):

    transport failure (refused, reset, timeout), HTTP 5xx, code 5xx   PartnerUnavailable (a retry may help)
    HTTP 200 with envelope code 404                                   None from get_* methods, [] from lists
    any other HTTP status, or an envelope code 4xx                    PartnerRejected (a retry will not help)
    an answer that is not Hohhot's JSON envelope or record            MalformedPartnerData (ValueError, names the field)

httpx's errors are translated in exactly one place (`_send`), `raise ... from exc`. Query parameter
names come from the field map (the filtered field's Hohhot name), codes from the code tables.

    async with HohhotClient("http://127.0.0.1:8083") as client:
        licence = await client.get_licence("（蒙）JZ安许证字〔2024〕000012")
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Final, TypeVar

import httpx
from pydantic import BaseModel

from adapters._base import DEFAULT_TIMEOUT, JsonHttpClient
from adapters.cloud_signing import CloudSignature, digest_to_sign
from adapters.hohhot import _wire
from adapters.hohhot._exceptions import PartnerRejected, PartnerUnavailable
from adapters.hohhot.mapping import HohhotMapping, MalformedPartnerData, expert_from_partner
from catalogs import code_table
from gateway.canonical import (
    ApplicationState,
    ApplicationStatus,
    CreditSubject,
    EvaluationExpert,
    Licence,
    Party,
    Seal,
    TradingProject,
)
from trust import JsonRejected, TrustError, parse_json

__all__ = ["DEFAULT_TIMEOUT", "HohhotClient"]

_MAX_PAGES: Final = 1000  # a partner whose `total` keeps growing must not keep us paging forever
_R = TypeVar("_R", bound=BaseModel)


class HohhotClient(JsonHttpClient):
    """A PartnerClient for Hohhot (150100): licence sharing, credit, affairs, e-seals and the trading centre."""

    city: str = "150100"
    mapping_type = HohhotMapping

    # ---- PartnerClient -----------------------------------------------------------------------------

    async def get_licence(self, licence_number: str) -> Licence | None:
        return await self._one(_wire.LICENCE_DETAIL, {self._name(Licence, "licence_number"): licence_number}, Licence)

    async def find_licences(self, holder_id: str, licence_type: str | None = None) -> list[Licence]:
        params = {self._name(Party, "id_number"): holder_id}
        if licence_type is not None:
            params[self._name(Licence, "licence_type")] = self._code(Licence, "licence_type", licence_type)
        return await self._all(_wire.LICENCE_LIST, params, Licence)

    async def get_credit_subject(self, uscc: str) -> CreditSubject | None:
        return await self._one(_wire.SUBJECT_DETAIL, {self._name(CreditSubject, "uscc"): uscc}, CreditSubject)

    async def get_application_status(self, application_id: str) -> ApplicationStatus | None:
        params = {self._name(ApplicationStatus, "application_id"): application_id}
        return await self._one(_wire.AFFAIR_STATUS, params, ApplicationStatus)

    async def get_seals(self, holder_uscc: str) -> list[Seal]:
        return await self._all(_wire.SEAL_LIST, {self._name(Party, "id_number"): holder_uscc}, Seal)

    async def get_seal(self, seal_code: str) -> Seal | None:
        return await self._one(_wire.SEAL_DETAIL, {self._name(Seal, "seal_code"): seal_code}, Seal)

    async def find_trading_projects(self, status: str | None = None) -> list[TradingProject]:
        params = {}
        if status is not None:
            params[self._name(TradingProject, "status")] = self._code(TradingProject, "status", status)
        return await self._all(_wire.PROJECT_LIST, params, TradingProject)

    # ---- beyond the protocol -----------------------------------------------------------------------

    async def find_experts(self, specialty: str | None = None) -> list[EvaluationExpert]:
        """The trading centre's expert pool (评标专家库), every expert (available or not: the draw says why
        one is excluded), optionally only those of one canonical specialty (catalogs: evaluation_specialty)."""
        params = {}
        if specialty is not None:
            params["specialty_code"] = code_table("evaluation_specialty").to_city("hohhot", specialty)
        return await self._all(_wire.EXPERT_LIST, params, expert_from_partner)

    async def cloud_sign(self, id_number: str, data: bytes) -> CloudSignature | None:
        """A resident's signature over `data` by Hohhot's cloud signature service (云签名), made with the
        resident's own key after the resident authorised it; None if the service knows no such person.
        Only the hash leaves: the resident's certificate first, then SM3(Z || data) to sign."""
        held = await self._send("GET", _wire.CLOUD_SIGN_CERT, params={"cert_num": id_number})
        if held is None:
            return None
        found = held.get("data")
        certificate = _unb64(found.get("sign_cert") if isinstance(found, dict) else None, "data.sign_cert")
        try:
            digest = digest_to_sign(certificate, data)
        except (TrustError, ValueError) as exc:
            raise MalformedPartnerData("data.sign_cert", "not an SM2 certificate") from exc
        body = {"cert_num": id_number, "sign_hash": _b64(digest), "sign_alg": _wire.CLOUD_SIGN_ALGORITHM}
        envelope = await self._send("POST", _wire.CLOUD_SIGN, json=body)
        if envelope is None:
            return None
        answer = envelope.get("data")
        if not isinstance(answer, dict) or answer.get("sign_alg") != _wire.CLOUD_SIGN_ALGORITHM:
            raise MalformedPartnerData("data", f"not a {_wire.CLOUD_SIGN_ALGORITHM} cloud signature")
        chain = answer.get("cert_chain")
        if not isinstance(chain, list):
            raise MalformedPartnerData("data.cert_chain", "expected an array of base64 certificates")
        return CloudSignature(
            _unb64(answer.get("sign_value"), "data.sign_value"),
            _unb64(answer.get("sign_cert"), "data.sign_cert"),
            tuple(_unb64(item, f"data.cert_chain[{index}]") for index, item in enumerate(chain)),
        )

    async def update_application_status(
        self, application_id: str, state: ApplicationState, note: str | None = None
    ) -> ApplicationStatus | None:
        """Push a state change to Hohhot's affair system; the status it now holds (None if it has no such affair)."""
        body = {
            self._name(ApplicationStatus, "application_id"): application_id,
            self._name(ApplicationStatus, "state"): self._code(ApplicationStatus, "state", state),
            self._name(ApplicationStatus, "note"): note,
        }
        envelope = await self._send("POST", _wire.AFFAIR_UPDATE, json=body)
        return None if envelope is None else self._record(envelope, ApplicationStatus)

    # ---- reading Hohhot's envelope -----------------------------------------------------------------

    async def _one(self, path: str, params: dict[str, str], record_type: type[_R]) -> _R | None:
        envelope = await self._send("GET", path, params=params)
        return None if envelope is None else self._record(envelope, record_type)

    def _record(self, envelope: dict[str, Any], record_type: type[_R]) -> _R:
        if envelope.get("data") is None:
            raise MalformedPartnerData("data", "a successful answer without its record")
        return self._mapping.from_partner(envelope["data"], record_type, "data")

    async def _all(
        self, path: str, params: dict[str, str], record_type: type[_R] | Callable[[Any, str], _R]
    ) -> list[_R]:
        """Every row of a paged list, page after page until `total` rows are in; each row read as a
        canonical record through the field map, or by the given reader."""
        read: Callable[[Any, str], _R]
        if isinstance(record_type, type):
            model = record_type
            read = lambda row, where: self._mapping.from_partner(row, model, where)  # noqa: E731
        else:
            read = record_type
        found: list[_R] = []
        for page in range(1, _MAX_PAGES + 1):
            paged = {**params, "page_num": str(page), "page_size": str(_wire.MAX_PAGE_SIZE)}
            envelope = await self._send("GET", path, params=paged)
            if envelope is None:  # "no data" for a list: nothing there
                return found
            total, rows = envelope.get("total"), envelope.get("rows")
            if isinstance(total, bool) or not isinstance(total, int) or total < 0:
                raise MalformedPartnerData("total", f"expected the row count, got {total!r}")
            if not isinstance(rows, list):
                raise MalformedPartnerData("rows", f"expected a JSON array, got {type(rows).__name__}")
            start = len(found)
            found += [read(row, f"rows[{start + i}]") for i, row in enumerate(rows)]
            if not rows or len(found) >= total:
                return found
        raise MalformedPartnerData("total", f"more than {_MAX_PAGES} pages of {_wire.MAX_PAGE_SIZE}; refusing to go on")

    async def _send(self, method: str, path: str, **options: Any) -> dict[str, Any] | None:
        """The envelope of a successful answer, None for Hohhot's "no such data"; the one place errors are made."""
        try:
            response = await self._http.request(method, path, **options)
        except httpx.TimeoutException as exc:
            raise PartnerUnavailable(f"hohhot {method} {path}: timed out") from exc
        except httpx.TransportError as exc:
            raise PartnerUnavailable(f"hohhot {method} {path}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        described = f"hohhot {method} {path}: HTTP {status}"
        if status >= 500:
            raise PartnerUnavailable(described, status=status)
        if status != 200:
            raise PartnerRejected(described, status=status)
        try:
            envelope = parse_json(response.content)
        except JsonRejected as exc:
            raise MalformedPartnerData("<envelope>", f"{described}: not JSON") from exc
        code = envelope.get("code") if isinstance(envelope, dict) else None
        if not isinstance(envelope, dict) or isinstance(code, bool) or not isinstance(code, int):
            raise MalformedPartnerData("<envelope>", f"{described}: not Hohhot's {{code, msg, data}} envelope")
        described += f" code {code} {envelope.get('msg') or ''}".rstrip()
        if code == _wire.OK:
            return envelope
        if code == _wire.NOT_FOUND:
            return None
        if code >= 500:
            raise PartnerUnavailable(described, status=status, code=code)
        raise PartnerRejected(described, status=status, code=code)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: Any, where: str) -> bytes:
    try:
        if not isinstance(text, str):
            raise ValueError("not a string")
        return base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error is a ValueError
        raise MalformedPartnerData(where, "expected base64") from exc

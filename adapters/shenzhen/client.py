"""The I/O to Shenzhen's partner systems over REST/JSON (its sandbox on loopback, or the real ones).

Answers are read back with ShenzhenMapping.from_partner. What can go wrong, and what it becomes:

    transport failure (refused, reset, timeout), HTTP 5xx      PartnerUnavailable   (a retry may help)
    404 with Shenzhen's "record not found" code (40401)        None from get_* methods ([] from get_seals)
    any other 4xx, or an error code in a 2xx envelope          PartnerRejected      (a retry will not help)
    an answer that is not Shenzhen's JSON envelope/record      MalformedPartnerData (ValueError, names the field)

httpx's errors are translated in exactly one place (`_send`), `raise ... from exc`.
"""

from __future__ import annotations

import base64
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from adapters._base import DEFAULT_TIMEOUT, JsonHttpClient
from adapters.cloud_signing import CloudSignature, digest_to_sign
from adapters.shenzhen.mapping import (
    NOT_FOUND_CODE,
    OK_CODE,
    MalformedPartnerData,
    ShenzhenMapping,
    expert_from_partner,
)
from catalogs import code_table
from gateway.canonical import (
    ApplicationState,
    ApplicationStatus,
    ApplicationSubmission,
    CreditSubject,
    EvaluationExpert,
    Licence,
    Seal,
    TradingProject,
)
from trust import JsonRejected, TrustError, parse_json

__all__ = ["DEFAULT_TIMEOUT", "PartnerRejected", "PartnerUnavailable", "ShenzhenClient"]

_Rows = TypeVar("_Rows", Licence, Seal, TradingProject)


class _PartnerFailure(Exception):
    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status  # HTTP status of the partner's answer, None when there was no answer
        self.code = code  # Shenzhen's own error code ("40001"), when it sent one


class PartnerUnavailable(_PartnerFailure):
    """Shenzhen's systems could not be reached or failed (connection, timeout, 5xx); a retry may help."""


class PartnerRejected(_PartnerFailure):
    """Shenzhen's systems refused the request (4xx other than not-found, or an error code); do not retry."""


def _segment(value: str) -> str:
    return quote(value, safe="")


class ShenzhenClient(JsonHttpClient):
    """A PartnerClient for Shenzhen: licences, credit, service handling, the seal platform and the trading centre."""

    city: str = "440300"
    mapping_type = ShenzhenMapping

    # ---- PartnerClient -----------------------------------------------------------------------------

    async def get_licence(self, licence_number: str) -> Licence | None:
        data = await self._get(f"/api/licence/v1/licences/{_segment(licence_number)}")
        return None if data is None else self._mapping.from_partner(data, Licence)

    async def find_licences(self, holder_id: str, licence_type: str | None = None) -> list[Licence]:
        params = {self._map.record(Licence).field("holder").fields["id_number"].name or "": holder_id}
        if licence_type is not None:
            params[self._name(Licence, "licence_type")] = self._code(Licence, "licence_type", licence_type)
        data = await self._get("/api/licence/v1/licences", params=params)
        return self._rows(data, Licence, "the licence search")

    async def get_credit_subject(self, uscc: str) -> CreditSubject | None:
        data = await self._get(f"/api/credit/v1/subjects/{_segment(uscc)}")
        return None if data is None else self._mapping.from_partner(data, CreditSubject)

    async def get_application_status(self, application_id: str) -> ApplicationStatus | None:
        data = await self._get(f"/api/handle/v1/applications/{_segment(application_id)}/status")
        return None if data is None else self._mapping.from_partner(data, ApplicationStatus)

    async def get_seals(self, holder_uscc: str) -> list[Seal]:
        """The organisation's electronic seals at Shenzhen's seal platform; [] if it has none or is unknown there."""
        data = await self._get(f"/api/seal/v1/enterprises/{_segment(holder_uscc)}/seals")
        return [] if data is None else self._rows(data, Seal, "the enterprise's seals")

    async def get_seal(self, seal_code: str) -> Seal | None:
        """One seal by its code (印章编码), with its current status; None if the platform has no such seal."""
        data = await self._get(f"/api/seal/v1/seals/{_segment(seal_code)}")
        return None if data is None else self._mapping.from_partner(data, Seal)

    async def find_trading_projects(self, status: str | None = None) -> list[TradingProject]:
        """The trading centre's projects, optionally in one canonical status (catalogs: trading_project_status)."""
        params = {}
        if status is not None:
            params[self._name(TradingProject, "status")] = self._code(TradingProject, "status", status)
        data = await self._get("/api/trade/v1/projects", params=params)
        return self._rows(data, TradingProject, "the project search")

    async def submit_application(self, submission: ApplicationSubmission) -> ApplicationStatus:
        """Hand an application received in another city to Shenzhen's 一网通办受理系统 (收件); sending the
        same application again answers where it stands (the system keys it by applyNo)."""
        data = await self._send("POST", "/api/handle/v1/applications", json=self._mapping.to_partner(submission))
        if data is None:
            raise MalformedPartnerData("data", "the handling system answered no status for the application")
        return self._mapping.from_partner(data, ApplicationStatus)

    # ---- beyond the protocol -----------------------------------------------------------------------

    async def get_trading_project(self, project_code: str) -> TradingProject | None:
        """One trading project by its code (项目编号); None if the trading centre has no such project."""
        data = await self._get(f"/api/trade/v1/projects/{_segment(project_code)}")
        return None if data is None else self._mapping.from_partner(data, TradingProject)

    async def find_experts(self, specialty: str | None = None) -> list[EvaluationExpert]:
        """The trading centre's expert pool (评标专家库), every expert (available or not: the draw says why
        one is excluded), optionally only those of one canonical specialty (catalogs: evaluation_specialty)."""
        params = {}
        if specialty is not None:
            params["specialtyCode"] = code_table("evaluation_specialty").to_city("shenzhen", specialty)
        data = await self._get("/api/trade/v1/experts", params=params)
        rows = data.get("list") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise MalformedPartnerData("data.list", "expected the expert pool's JSON array")
        return [expert_from_partner(row, f"data.list[{index}]") for index, row in enumerate(rows)]

    async def cloud_sign(self, id_number: str, data: bytes) -> CloudSignature | None:
        """A resident's signature over `data` by Shenzhen's cloud signature service (云签名), made with the
        resident's own key after the resident authorised it; None if the service knows no such person.
        Only the hash leaves: the resident's certificate first, then SM3(Z || data) to sign."""
        held = await self._get(f"/api/sign/v1/certs/{_segment(id_number)}")
        if held is None:
            return None
        certificate = _unb64(held.get("signCert") if isinstance(held, dict) else None, "data.signCert")
        try:
            digest = digest_to_sign(certificate, data)
        except (TrustError, ValueError) as exc:
            raise MalformedPartnerData("data.signCert", "not an SM2 certificate") from exc
        body = {
            "certNo": id_number,
            "hashValue": base64.b64encode(digest).decode("ascii"),
            "hashAlgorithm": "SM3",
            "signAlgorithm": "SM2",
        }
        answer = await self._send("POST", "/api/sign/v1/cosign", json=body)
        if answer is None:
            return None
        if not isinstance(answer, dict) or answer.get("signAlgorithm") != "SM2":
            raise MalformedPartnerData("data", "not an SM2 cloud signature")
        chain = answer.get("certChain")
        if not isinstance(chain, list):
            raise MalformedPartnerData("data.certChain", "expected an array of base64 certificates")
        return CloudSignature(
            _unb64(answer.get("signValue"), "data.signValue"),
            _unb64(answer.get("signCert"), "data.signCert"),
            tuple(_unb64(item, f"data.certChain[{index}]") for index, item in enumerate(chain)),
        )

    async def update_application_status(
        self, application_id: str, state: ApplicationState, note: str | None = None
    ) -> ApplicationStatus | None:
        """Push a state change to the service-handling system; the status it now holds (None if unknown)."""
        body = {
            self._name(ApplicationStatus, "state"): self._code(ApplicationStatus, "state", state),
            self._name(ApplicationStatus, "note"): note,
        }
        path = f"/api/handle/v1/applications/{_segment(application_id)}/status"
        data = await self._send("POST", path, json=body)
        return None if data is None else self._mapping.from_partner(data, ApplicationStatus)

    def _rows(self, data: Any, record_type: type[_Rows], what: str) -> list[_Rows]:
        """The records of a search answer {"total": n, "list": [...]}."""
        rows = data.get("list") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise MalformedPartnerData("data.list", f"expected {what}'s JSON array")
        return [self._mapping.from_partner(row, record_type) for row in rows]

    # ---- the one place httpx meets Shenzhen's envelope -----------------------------------------------

    async def _get(self, path: str, params: dict[str, str] | None = None) -> Any:
        return await self._send("GET", path, params=params)

    async def _send(self, method: str, path: str, **options: Any) -> Any:
        try:
            response = await self._http.request(method, path, **options)
        except httpx.TimeoutException as exc:
            raise PartnerUnavailable(f"shenzhen {method} {path}: timed out") from exc
        except httpx.TransportError as exc:
            raise PartnerUnavailable(f"shenzhen {method} {path}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        try:
            envelope = parse_json(response.content)
        except JsonRejected:
            envelope = None
        code = envelope.get("code") if isinstance(envelope, dict) else None
        message = envelope.get("message") if isinstance(envelope, dict) else None
        described = f"shenzhen {method} {path}: HTTP {status}" + (f" {code} {message}" if code else "")
        if status >= 500:
            raise PartnerUnavailable(described, status=status, code=code)
        if status == 404 and code == NOT_FOUND_CODE:
            return None
        if status >= 400 or (code is not None and code != OK_CODE):
            raise PartnerRejected(described, status=status, code=code)
        if not isinstance(envelope, dict) or code != OK_CODE or "data" not in envelope:
            raise MalformedPartnerData("<envelope>", f"{described}: not Shenzhen's {{code, message, data}} envelope")
        return envelope["data"]


def _unb64(text: Any, where: str) -> bytes:
    try:
        if not isinstance(text, str):
            raise ValueError("not a string")
        return base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error is a ValueError
        raise MalformedPartnerData(where, "expected base64") from exc

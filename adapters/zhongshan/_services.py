"""Zhongshan's SOAP services as data: namespaces, operations, their parameters and the fault codes both sides share."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

__all__ = [
    "CLOUD_SIGN",
    "CLOUD_SIGN_CERTIFICATE",
    "ERROR_BAD_PARAMETER",
    "ERROR_BAD_REQUEST",
    "ERROR_INTERNAL",
    "ERROR_MISSING_PARAMETER",
    "ERROR_UNKNOWN_OPERATION",
    "EXPERT_SEARCH",
    "FAULT_DETAIL",
    "NAMESPACES",
    "OPERATIONS",
    "SOAP_ENV",
    "SIGNING_SERVICE",
    "SUBMIT",
    "Operation",
    "operation",
    "wsdl_resource",
]

SOAP_ENV: Final = "http://schemas.xmlsoap.org/soap/envelope/"

NAMESPACES: Final[dict[str, str]] = {
    "DzzzCxService": "urn:zhongshan:gov:dzzz",
    "XyxxCxService": "urn:zhongshan:gov:xyxx",
    "BjztTbService": "urn:zhongshan:gov:bjzt",
    "DzyzCxService": "urn:zhongshan:gov:dzyz",
    "JyxmCxService": "urn:zhongshan:gov:jyxm",
    "YqmService": "urn:zhongshan:gov:yqm",
}
"""Each service the sandbox serves, with the target namespace of its WSDL."""

# Zhongshan's fault detail: <ZSCW><CWDM>code</CWDM><CWXX>message</CWXX></ZSCW> in the service's namespace.
FAULT_DETAIL: Final = ("ZSCW", "CWDM", "CWXX")
ERROR_BAD_REQUEST: Final = "ZS-E1001"  # 请求报文格式错误 (not well-formed, DOCTYPE/entities, not a SOAP 1.1 envelope)
ERROR_MISSING_PARAMETER: Final = "ZS-E1002"  # 缺少必填参数
ERROR_BAD_PARAMETER: Final = "ZS-E1003"  # 参数格式或代码错误
ERROR_UNKNOWN_OPERATION: Final = "ZS-E1004"  # 不支持的操作
ERROR_INTERNAL: Final = "ZS-E9999"  # 系统内部错误


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation: its service, name, the record type it answers with and its parameters.

    `parameters` are canonical field paths of that record type ("licence_number", "holder.id_number");
    their element names and formats come from the field map. The first `required` are mandatory.
    """

    service: str
    name: str
    record_type: str
    parameters: tuple[str, ...]
    required: int
    many: bool

    @property
    def namespace(self) -> str:
        return NAMESPACES[self.service]


OPERATIONS: Final[tuple[Operation, ...]] = (
    Operation("DzzzCxService", "QueryDzzz", "Licence", ("licence_number",), 1, many=False),
    Operation("DzzzCxService", "SearchDzzz", "Licence", ("holder.id_number", "licence_type"), 1, many=True),
    Operation("XyxxCxService", "QueryXyzt", "CreditSubject", ("uscc",), 1, many=False),
    Operation("BjztTbService", "QueryBjzt", "ApplicationStatus", ("application_id",), 1, many=False),
    # Its one parameter is a whole BJXX record (ApplicationSubmission), not values: see SUBMIT.
    Operation("BjztTbService", "TjBj", "ApplicationStatus", (), 0, many=False),
    Operation("DzyzCxService", "QueryDzyz", "Seal", ("seal_code",), 1, many=False),
    Operation("DzyzCxService", "SearchDzyz", "Seal", ("holder.id_number",), 1, many=True),
    Operation("JyxmCxService", "QueryJyxm", "TradingProject", ("project_code",), 1, many=False),
    Operation("JyxmCxService", "SearchJyxm", "TradingProject", ("status",), 0, many=True),
    # The expert pool: its records and its one parameter are read outside the field map (see EXPERT_SEARCH).
    Operation("JyxmCxService", "SearchPbzj", "EvaluationExpert", (), 0, many=True),
    # The cloud signature service: certificates and signatures, read outside the field map (see CLOUD_SIGN).
    Operation("YqmService", "QueryQmzs", "CloudSignature", (), 0, many=False),
    Operation("YqmService", "QmZy", "CloudSignature", (), 0, many=False),
)


SUBMIT: Final = ("BjztTbService", "TjBj")
"""The operation that takes an application (a BJXX record) and answers its status (BJZT)."""


EXPERT_SEARCH: Final = ("JyxmCxService", "SearchPbzj")
"""The operation that lists the trading centre's expert pool (PBZJ records, adapters/zhongshan/_experts.py)."""


SIGNING_SERVICE: Final = "YqmService"
"""The cloud signature service (云签名服务): served only by a sandbox given its signing desk."""
CLOUD_SIGN_CERTIFICATE: Final = (SIGNING_SERVICE, "QueryQmzs")
"""The operation that answers a resident's certificate and its chain (QMZS, adapters/zhongshan/_cloud_signing.py)."""
CLOUD_SIGN: Final = (SIGNING_SERVICE, "QmZy")
"""The operation that signs a client-computed SM3(Z || data) with a resident's key (QMJG)."""


def operation(service: str, name: str) -> Operation | None:
    """The operation `name` of `service`, or None if the service has no such operation."""
    for item in OPERATIONS:
        if item.service == service and item.name == name:
            return item
    return None


def wsdl_resource(service: str) -> Any:
    """The packaged WSDL of a service (importlib.resources Traversable)."""
    return resources.files("adapters.zhongshan") / "wsdl" / f"{service}.wsdl"

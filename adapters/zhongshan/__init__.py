"""Zhongshan (中山, 442000): SOAP 1.1 services with WSDLs, its own element names and codes, GB18030 on some services.

    ZhongshanMapping    pure mapping between canonical records and Zhongshan's XML (field map driven)
    ZhongshanClient     zeep-based PartnerClient for DzzzCxService (licences), XyxxCxService (credit),
                        BjztTbService (application status), DzyzCxService (seals), JyxmCxService (trading,
                        and the expert pool: find_experts), YqmService (the cloud signature service: cloud_sign)
    create_app          the runnable sandbox of Zhongshan's systems (Starlette, SOAP 1.1)

The WSDLs ship as package data in adapters/zhongshan/wsdl/.
"""

from __future__ import annotations

from adapters.zhongshan._exceptions import MalformedPartnerData, PartnerError, PartnerRejected, PartnerUnavailable
from adapters.zhongshan._experts import expert_from_partner, expert_to_partner
from adapters.zhongshan.client import ZhongshanClient
from adapters.zhongshan.mapping import ZhongshanMapping
from adapters.zhongshan.sandbox import create_app, sample_applications

__all__ = [
    "MalformedPartnerData",
    "PartnerError",
    "PartnerRejected",
    "PartnerUnavailable",
    "ZhongshanClient",
    "ZhongshanMapping",
    "create_app",
    "expert_from_partner",
    "expert_to_partner",
    "sample_applications",
]

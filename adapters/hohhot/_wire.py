"""What Hohhot's client and sandbox share about the wire besides records: envelope codes, endpoints, paging.

Hohhot's platforms answer every business result with HTTP 200 and an envelope whose integer `code`
says what happened (the style of many provincial platforms built on the same framework):

    one record    {"code": 200, "msg": "操作成功", "data": {...}}
    a page        {"code": 200, "msg": "查询成功", "total": n, "rows": [...]}
    no such data  {"code": 404, "msg": "未查询到数据", "data": null}
    bad request   {"code": 400, "msg": "..."}          system error  {"code": 500, "msg": "..."}

Failures below the application (no such route, a crash, the proxy in front) are HTTP 4xx/5xx with the
framework's own error object ({"timestamp", "status", "error", "path"}), not the envelope.
Query parameters are named as the field map names the fields they filter on.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "AFFAIR_STATUS",
    "AFFAIR_UPDATE",
    "BAD_REQUEST",
    "CLOUD_SIGN",
    "CLOUD_SIGN_CERT",
    "EXPERT_DETAIL",
    "EXPERT_LIST",
    "HEALTH",
    "LICENCE_DETAIL",
    "LICENCE_LIST",
    "MAX_PAGE_SIZE",
    "NOT_FOUND",
    "OK",
    "PROJECT_DETAIL",
    "PROJECT_LIST",
    "SEAL_DETAIL",
    "SEAL_LIST",
    "SERVER_ERROR",
    "SPECIALTY_LIST",
    "SUBJECT_DETAIL",
]

OK: Final = 200
BAD_REQUEST: Final = 400
NOT_FOUND: Final = 404
SERVER_ERROR: Final = 500

MAX_PAGE_SIZE: Final = 100
"""The largest `page_size` a list endpoint accepts (the default is 10); pages are numbered from 1."""

HEALTH: Final = "/actuator/health"
# 电子证照共享服务
LICENCE_DETAIL: Final = "/api/license/detail"  # ?license_code=
LICENCE_LIST: Final = "/api/license/list"  # ?cert_num=&license_type=&page_num=&page_size=
# 信用信息共享平台
SUBJECT_DETAIL: Final = "/api/credit/subject/detail"  # ?tyshxydm=
SUBJECT_REPAIR: Final = "/api/credit/subject/repair"  # POST {"tyshxydm", "decide_doc_no", "repair_date"} (sandbox)
# 政务服务办件
AFFAIR_STATUS: Final = "/api/affair/status/detail"  # ?affair_id=
AFFAIR_UPDATE: Final = "/api/affair/status/update"  # POST {"affair_id", "affair_state", "opinion"}
# 电子印章
SEAL_LIST: Final = "/api/seal/list"  # ?cert_num= (the unit's credit code)
SEAL_DETAIL: Final = "/api/seal/detail"  # ?seal_code=
# 公共资源交易中心 (远程异地评标)
PROJECT_LIST: Final = "/api/trade/project/list"  # ?project_state=&remote_eval=1&page_num=&page_size=
PROJECT_DETAIL: Final = "/api/trade/project/detail"  # ?project_code=
EXPERT_LIST: Final = "/api/trade/expert/list"  # ?specialty_code=&available_flag=&page_num=&page_size=
EXPERT_DETAIL: Final = "/api/trade/expert/detail"  # ?expert_code=
SPECIALTY_LIST: Final = "/api/trade/specialty/list"
# 云签名 (the city's cloud signature service for its residents)
CLOUD_SIGN_CERT: Final = "/api/cloudsign/cert"  # ?cert_num=  the resident's signing certificate and its chain
CLOUD_SIGN: Final = "/api/cloudsign/sign"  # POST {"cert_num", "sign_hash" (base64 SM3(Z||M)), "sign_alg"}
CLOUD_SIGN_ALGORITHM: Final = "SM3withSM2"

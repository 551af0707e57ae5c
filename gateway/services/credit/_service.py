"""The credit service as the registry knows it (loaded on first use of gateway.services.credit.SERVICE)."""

from __future__ import annotations

from gateway.services import DomainService
from gateway.services.credit import tables as tables  # the tables join the shared metadata
from gateway.services.credit._operations import CREDIT_QUERY_RIGHT, CREDIT_SUPERVISE_RIGHT
from gateway.services.credit._routes import credit_routes
from gateway.services.credit._soap import SOAP_OPERATIONS, WSDL_SCHEMA

__all__ = ["SERVICE"]

SERVICE = DomainService(
    name="credit",
    rights={
        CREDIT_QUERY_RIGHT: "ask for public-credit reports (one subject or a batch), within the quota per purpose",
        CREDIT_SUPERVISE_RIGHT: "read who asked about a subject and why, read any report, revoke a report",
    },
    right_aliases={"credit.report": CREDIT_QUERY_RIGHT},  # the contract's example of a grantable operation
    routes=credit_routes,
    soap_operations=SOAP_OPERATIONS,
    wsdl_schema=WSDL_SCHEMA,
    endpoints={
        "credit_purposes": "/v1/credit/purposes",
        "credit_reports": "/v1/credit/reports",
        "credit_reports_batch": "/v1/credit/reports/batch",
        "credit_report_verify": "/v1/credit/reports/verify",
        "credit_profiles": "/v1/credit/profiles",
        "credit_subject_queries": "/v1/credit/subjects/{subject_code}/queries",
    },
)

"""Cross-city applications (办件) of 深中通办: received at one city's window, handled by the other's system.

    POST /v1/applications                    a receiving window submits (applications.submit) -> 201
    GET  /v1/applications                    ?status= &overdue=true &city= &page= &page_size=
    GET  /v1/applications/stats              on-time rate and ratings per item, department and month
    GET  /v1/applications/{id}               status, deadline, warnings and the timeline
    POST /v1/applications/{id}/events        the handling city's system reports (applications.report)
    POST /v1/applications/{id}/rating        好差评 after 办结, through the receiving window
    SOAP SubmitApplication, GetApplication

States and their legal transitions are data (_states.py); limits are counted in Chinese working
days (_calendar.py); the rules of a valid application and its view are in _rules.py; the operations
(with the outbox that hands applications to the handling city) in _operations.py.
"""

from __future__ import annotations

from gateway.services import DomainService
from gateway.services.applications._calendar import (
    CalendarNotCovered,
    ChineseCalendarDays,
    OverlaidDays,
    WorkingDays,
    add_working_days,
    working_days_between,
)
from gateway.services.applications._operations import (
    REPORT_RIGHT,
    SUBMIT_RIGHT,
    SUPERVISE_RIGHT,
    forward_application,
)
from gateway.services.applications._routes import application_routes
from gateway.services.applications._service import Applications, run_background, setup, sweep
from gateway.services.applications._soap import SOAP_OPERATIONS, WSDL_SCHEMA
from gateway.services.applications._states import LABELS, STATES, TRANSITIONS, check_transition

__all__ = [
    "Applications",
    "CalendarNotCovered",
    "ChineseCalendarDays",
    "LABELS",
    "OverlaidDays",
    "REPORT_RIGHT",
    "SERVICE",
    "STATES",
    "SUBMIT_RIGHT",
    "SUPERVISE_RIGHT",
    "TRANSITIONS",
    "WorkingDays",
    "add_working_days",
    "check_transition",
    "forward_application",
    "sweep",
    "working_days_between",
]

SERVICE = DomainService(
    name="applications",
    rights={
        SUBMIT_RIGHT: "submit applications at a receiving window, withdraw them and rate them after 办结",
        REPORT_RIGHT: "report the state changes of applications the member's city handles",
        SUPERVISE_RIGHT: "read every application and the statistics of both cities (监督)",
    },
    routes=application_routes,
    soap_operations=SOAP_OPERATIONS,
    wsdl_schema=WSDL_SCHEMA,
    endpoints={"applications": "/v1/applications", "application_stats": "/v1/applications/stats"},
    setup=setup,
    background=run_background,
)

"""`python -m bench [all|relay|audit|recognition|credit|evaluation] [options]`.

`all` (the default, what `make bench` runs): the relay under load beside a bare proxy
(bench/relay.py), the audit log (bench/audit.py), recognition (bench/recognition.py), credit
reports (bench/credit.py) and evaluation events' fan-out (bench/evaluation.py); prints
each table and writes the headline figures to bench/results.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import trust
from bench import audit, credit, evaluation, recognition, relay

RESULTS = Path(__file__).resolve().parent / "results.json"


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_all(out: Path = RESULTS) -> int:
    started = time.monotonic()
    _say("== relay (the full signed path, a bare proxy, the partner itself) ==")
    figures: dict[str, Any] = relay.run(
        seconds=float(os.environ.get("TONGBAN_BENCH_SECONDS", "10")),
        postgres_url=os.environ.get("TONGBAN_BENCH_POSTGRES_URL"),
    )
    print(relay.format_table(figures))

    _say("== audit log (SQLite) ==")
    _description, measured = audit.run_database(
        None, appenders=(64,), seconds=5.0, verify_entries=1_000_000, fill_batch=10_000
    )
    print(audit.format_table(measured))
    appends = [m for m in measured if m.what.startswith("append, group commit")]
    verified = [m for m in measured if m.what == "verify"]
    figures["audit_appends_per_s"] = round(max(m.rate for m in appends), 1) if appends else None
    figures["audit_verify_1m_s"] = round(verified[0].seconds, 2) if verified else None

    _say("== recognition (one core) ==")
    recognised = recognition.measure(3.0)
    for result in recognised:
        print(f"{result.kind:<14} {result.documents:>9} {result.rate:>11.1f}/s")
    seals = [r for r in recognised if r.kind.startswith("seal")]
    figures["seal_verify_per_s"] = round(min(r.rate for r in seals), 1) if seals else None
    figures["recognition_per_s"] = {r.kind: round(r.rate, 1) for r in recognised}
    figures["sm2_backend"] = trust.sm2_backend_in_use()

    _say("== credit reports (one process: gateway, sandboxes and client) ==")
    reports_issued, reports_verified = credit.measure(5.0)
    for reports in (reports_issued, reports_verified):
        print(f"credit {reports.what:<7} {reports.requests:>9} {reports.rate:>11.1f}/s")
    figures["credit_reports_per_s"] = round(reports_issued.rate, 1)
    figures["credit_verify_per_s"] = round(reports_verified.rate, 1)

    _say("== evaluation events: 50 sessions, 3 venues and a supervisor following each (SSE) ==")
    fan_out = evaluation.measure(50)
    print(evaluation.format_table(fan_out))
    figures["evaluation_fan_out"] = fan_out.figures()
    figures["evaluation_fan_out_p99_ms"] = fan_out.figures()["from_write_ms"]["p99"]

    figures["bench_seconds"] = round(time.monotonic() - started, 1)
    figures["date"] = time.strftime("%Y-%m-%d")
    out.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    summary = {
        key: figures.get(key)
        for key in (
            *relay.HEADLINE,
            "audit_appends_per_s",
            "audit_verify_1m_s",
            "seal_verify_per_s",
            "credit_reports_per_s",
            "evaluation_fan_out_p99_ms",
        )
    }
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    _say(f"wrote {out} ({figures['bench_seconds']} s)")
    return 0


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if arguments[:1] == ["recognition"]:
        sys.exit(recognition.main(arguments[1:]))
    if arguments[:1] == ["credit"]:
        sys.exit(credit.main(arguments[1:]))
    if arguments[:1] == ["evaluation"]:
        sys.exit(evaluation.main(arguments[1:]))
    if arguments[:1] == ["audit"]:
        sys.exit(audit.main(arguments[1:]))
    if arguments[:1] == ["relay"]:
        sys.exit(relay.main(arguments[1:]))
    sys.exit(run_all())

"""What every city's sandbox credit platform does when told of a credit repair (信用修复): the
penalty with that decision number ends its publication on the repair date. The wire format of the
request is each sandbox's own."""

from __future__ import annotations

from datetime import date

from gateway.canonical import CreditSubject

__all__ = ["AlreadyRepaired", "PenaltyNotFound", "with_repair"]


class PenaltyNotFound(LookupError):
    """The subject has no administrative penalty with that decision number."""


class AlreadyRepaired(ValueError):
    """The penalty was repaired already (on `repaired_on`)."""

    def __init__(self, repaired_on: date) -> None:
        super().__init__(f"repaired already on {repaired_on}")
        self.repaired_on = repaired_on


def with_repair(subject: CreditSubject, decision_number: str, repaired_on: date) -> CreditSubject:
    """The subject with that penalty repaired on `repaired_on`."""
    penalty = next(
        (r for r in subject.records if r.kind == "administrative_penalty" and r.decision_number == decision_number),
        None,
    )
    if penalty is None:
        raise PenaltyNotFound(decision_number)
    if penalty.repaired_on is not None:
        raise AlreadyRepaired(penalty.repaired_on)
    records = tuple(r.model_copy(update={"repaired_on": repaired_on}) if r is penalty else r for r in subject.records)
    return subject.model_copy(update={"records": records})

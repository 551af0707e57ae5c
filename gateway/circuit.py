"""A circuit breaker per provider, kept in the database so that every gateway process sees the same one.

closed -> open after `failure_threshold` consecutive failures; after `reset_seconds` the circuit is
half-open and exactly one call, in whichever process claims it, is let through as a trial: its
success closes the circuit, its failure opens it again.

The healthy path touches no database: each process keeps the states in memory, writes its own
failures through at once, and reads everyone's every `refresh()` (the runtime calls it every
registry refresh, 0.5 s by default), so one process's opened circuit holds in all within 1 s.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from gateway.clock import Clock
from gateway.errors import CircuitOpen
from gateway.storage import Database, circuit_states

__all__ = ["CircuitBreakers", "CircuitTicket"]


@dataclass(frozen=True)
class CircuitTicket:
    """Permission for one call, and what the breaker knew when it gave it."""

    provider: str
    had_failures: bool
    is_trial: bool


@dataclass(frozen=True)
class _State:
    failures: int
    opened_at: datetime | None


_CLOSED = _State(0, None)


class CircuitBreakers:
    def __init__(self, *, database: Database, failure_threshold: int, reset_seconds: float, clock: Clock) -> None:
        self.database = database
        self.failure_threshold = failure_threshold
        self.reset = timedelta(seconds=reset_seconds)
        self.clock = clock
        self._states: dict[str, _State] | None = None  # None: not read yet

    def refresh(self) -> None:
        """Take up every process's circuit states from the database."""
        with self.database.read() as connection:
            rows = connection.execute(select(circuit_states)).all()
        self._states = {row.provider_id: _State(row.failures, row.opened_at) for row in rows}

    def admit(self, provider: str) -> CircuitTicket | None:
        """From memory: a ticket, CircuitOpen raised, or None when a trial call must be claimed
        (`claim_trial`, which writes)."""
        if self._states is None:
            self.refresh()
        assert self._states is not None
        state = self._states.get(provider, _CLOSED)
        if state.opened_at is None:
            return CircuitTicket(provider, had_failures=bool(state.failures), is_trial=False)
        waited = self.clock.now() - state.opened_at
        if waited < self.reset:
            retry_after = max(1, int((self.reset - waited).total_seconds()) + 1)
            raise CircuitOpen(f"calls to {provider} are paused after repeated failures", retry_after=retry_after)
        return None

    def claim_trial(self, provider: str) -> CircuitTicket:
        """The circuit has been open long enough: let exactly one call through, in any process."""
        now = self.clock.now()
        with self.database.write() as connection:
            claimed = connection.execute(
                update(circuit_states)
                .where(
                    circuit_states.c.provider_id == provider,
                    circuit_states.c.opened_at.is_not(None),
                    (circuit_states.c.trial_started_at.is_(None))
                    | (circuit_states.c.trial_started_at < now - self.reset),
                )
                .values(trial_started_at=now)
            ).rowcount
        if not claimed:
            raise CircuitOpen(f"a trial call to {provider} is under way", retry_after=1)
        return CircuitTicket(provider, had_failures=True, is_trial=True)

    def succeeded(self, ticket: CircuitTicket) -> None:
        if not ticket.had_failures:
            return  # the healthy path writes nothing
        with self.database.write() as connection:
            connection.execute(
                update(circuit_states)
                .where(circuit_states.c.provider_id == ticket.provider)
                .values(failures=0, opened_at=None, trial_started_at=None)
            )
        self._remember(ticket.provider, _CLOSED)

    def failed(self, ticket: CircuitTicket) -> None:
        now = self.clock.now()
        with self.database.write() as connection:
            row = connection.execute(
                select(circuit_states.c.failures).where(circuit_states.c.provider_id == ticket.provider)
            ).first()
            if row is None:
                try:
                    with connection.begin_nested():
                        connection.execute(insert(circuit_states).values(provider_id=ticket.provider, failures=0))
                except IntegrityError:
                    pass
                failures = 1
            else:
                failures = row.failures + 1
            opens = ticket.is_trial or failures >= self.failure_threshold
            values: dict[str, object] = {"failures": failures, "trial_started_at": None}
            if opens:
                values["opened_at"] = now
            connection.execute(
                update(circuit_states).where(circuit_states.c.provider_id == ticket.provider).values(**values)
            )
            opened_at = connection.execute(
                select(circuit_states.c.opened_at).where(circuit_states.c.provider_id == ticket.provider)
            ).scalar_one()
        self._remember(ticket.provider, _State(failures, opened_at))

    def _remember(self, provider: str, state: _State) -> None:
        states = dict(self._states or {})
        states[provider] = state
        self._states = states

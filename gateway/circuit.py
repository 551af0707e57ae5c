"""A circuit breaker per provider: stop calling a failing partner, then try it again after a pause."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from gateway.clock import Clock
from gateway.errors import CircuitOpen

__all__ = ["CircuitBreaker", "CircuitBreakers"]


@dataclass
class CircuitBreaker:
    """closed -> open after `failure_threshold` consecutive failures; half-open after `reset_seconds`,
    when one trial call decides between closed and open again."""

    failure_threshold: int
    reset_seconds: float
    clock: Clock
    failures: int = 0
    opened_at: float | None = None
    trial_in_flight: bool = False

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        if self.clock.monotonic() - self.opened_at >= self.reset_seconds:
            return "half-open"
        return "open"

    def before_call(self, provider: str) -> None:
        """Raise CircuitOpen unless a call may go out now."""
        state = self.state
        if state == "closed":
            return
        if state == "half-open" and not self.trial_in_flight:
            self.trial_in_flight = True
            return
        assert self.opened_at is not None
        wait = max(1, int(self.reset_seconds - (self.clock.monotonic() - self.opened_at)) + 1)
        raise CircuitOpen(f"calls to {provider} are paused after repeated failures", retry_after=wait)

    def succeeded(self) -> None:
        self.failures = 0
        self.opened_at = None
        self.trial_in_flight = False

    def failed(self) -> None:
        self.failures += 1
        if self.trial_in_flight or self.failures >= self.failure_threshold:
            self.opened_at = self.clock.monotonic()
        self.trial_in_flight = False


class CircuitBreakers:
    """One breaker per provider member, created on first use (per gateway process)."""

    def __init__(self, *, failure_threshold: int, reset_seconds: float, clock: Clock) -> None:
        self._settings = (failure_threshold, reset_seconds)
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def for_provider(self, provider: str) -> CircuitBreaker:
        with self._lock:
            breaker = self._breakers.get(provider)
            if breaker is None:
                breaker = CircuitBreaker(*self._settings, clock=self._clock)
                self._breakers[provider] = breaker
            return breaker

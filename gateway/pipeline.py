"""The exchange pipeline. The order of stages is written here, and only here."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from sqlalchemy.exc import SQLAlchemyError

from gateway import errors
from gateway.exchange import Exchange, Message
from gateway.logs import current_exchange_id, log
from gateway.metrics import EXCHANGE_SECONDS, STAGE_SECONDS
from gateway.runtime import Runtime
from gateway.stages.audit import audit_failure, audit_request, audit_response
from gateway.stages.authenticate import authenticate
from gateway.stages.authorise import authorise
from gateway.stages.deduplicate import deduplicate, forget, remember
from gateway.stages.forward import forward
from gateway.stages.sign import sign_request, sign_response
from gateway.stages.translate import translate_request, translate_response
from gateway.stages.validate import validate
from gateway.stages.verify_response import verify_response

__all__ = ["STAGES", "Pipeline", "Stage"]


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[Exchange, Runtime], Awaitable[None]]
    # An idempotent replay already has its answer: it skips the stages that would produce one.
    skip_when_answered: bool = False


STAGES: Final[tuple[Stage, ...]] = (
    Stage("authenticate", authenticate),
    Stage("authorise", authorise),
    Stage("validate", validate),
    Stage("deduplicate", deduplicate),
    Stage("translate_request", translate_request, skip_when_answered=True),
    Stage("sign_request", sign_request, skip_when_answered=True),
    Stage("audit_request", audit_request),  # fail closed: no entry, no forward
    Stage("forward", forward, skip_when_answered=True),
    Stage("verify_response", verify_response, skip_when_answered=True),
    Stage("translate_response", translate_response, skip_when_answered=True),
    Stage("sign_response", sign_response),
    Stage("audit_response", audit_response),  # no entry, no acknowledgement
    Stage("remember", remember),
)


class Pipeline:
    """Runs an Exchange through STAGES; any failure becomes one TongbanError, audited where due."""

    def __init__(self, runtime: Runtime, stages: tuple[Stage, ...] = STAGES) -> None:
        self.runtime = runtime
        self.stages = stages

    async def run(self, exchange: Exchange) -> Message:
        token = current_exchange_id.set(exchange.id)
        service = exchange.operation.metric_label
        started = time.perf_counter()
        stage = self.stages[0]
        try:
            for stage in self.stages:
                if stage.skip_when_answered and exchange.answered:
                    continue
                stage_started = time.perf_counter()
                try:
                    await stage.run(exchange, self.runtime)
                finally:
                    elapsed = time.perf_counter() - stage_started
                    exchange.timings_ms[stage.name] = round(elapsed * 1000, 3)
                    STAGE_SECONDS.labels(service, stage.name).observe(elapsed)
            assert exchange.reply is not None
            return exchange.reply
        except errors.TongbanError as error:
            final = await self._failed(exchange, error, stage.name)
            if final is error:
                raise
            raise final from error
        except SQLAlchemyError as exc:
            # The gateway's own database failed: nothing the caller did, and worth a retry.
            log.exception("database failure in stage %s", stage.name)
            unavailable = errors.ServiceUnavailable("the gateway's database is unavailable", internal=repr(exc))
            unavailable.retry_after = 5
            raise await self._failed(exchange, unavailable, stage.name) from exc
        except Exception as exc:
            log.exception("unexpected failure in stage %s", stage.name)
            raise await self._failed(exchange, errors.InternalError(internal=repr(exc)), stage.name) from exc
        finally:
            EXCHANGE_SECONDS.labels(service).observe(time.perf_counter() - started)
            current_exchange_id.reset(token)

    async def _failed(self, exchange: Exchange, error: errors.TongbanError, stage: str) -> errors.TongbanError:
        if isinstance(error, errors.AuditUnavailable) and error.retry_after is None:
            error.retry_after = self.runtime.settings.audit_retry_after_seconds
        log.info(
            "exchange failed",
            extra={"code": error.code, "status": error.status, "stage": stage, "internal": error.internal},
        )
        try:
            await forget(exchange, self.runtime)
        except Exception:  # the key then simply expires; the failure itself matters more
            log.exception("could not release the idempotency key")
        try:
            await audit_failure(exchange, self.runtime, error, stage)
        except errors.AuthenticationFailed as refused:
            # Spending the token showed it used before (or expired): that, not the later refusal,
            # is the answer. The token is no longer pending, so this goes one level deep.
            return await self._failed(exchange, refused, stage)
        except errors.AuditUnavailable as audit_error:
            audit_error.retry_after = self.runtime.settings.audit_retry_after_seconds
            return audit_error
        return error

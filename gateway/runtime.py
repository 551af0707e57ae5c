"""Everything a running gateway holds: settings, clock, database, keys, audit log, upstream client."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import anyio
import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit import AuditLog, BodyCipher, CheckpointSigner, TransparencyLog
from gateway.circuit import CircuitBreakers
from gateway.clock import Clock, Entropy, SystemClock, SystemEntropy
from gateway.errors import ConfigurationError
from gateway.logs import log
from gateway.partners import PartnerDirectory
from gateway.registry_cache import RegistryCache
from gateway.settings import Settings
from gateway.storage import Database
from trust import Keyring, KeyringError, self_signed_certificate

__all__ = ["Runtime", "open_transparency_log"]

T = TypeVar("T")


def open_transparency_log(
    settings: Settings, database: Database, *, clock: Clock | None = None, entropy: Entropy | None = None
) -> TransparencyLog:
    """The audit log with its Ed25519 checkpoint key (made on first run) and its body key."""
    clock = clock or SystemClock()
    audit_keys = Keyring.open(settings.keys_dir / "audit", algorithm="ed25519", now=clock.now())
    current = audit_keys.current.private_key
    if not isinstance(current, Ed25519PrivateKey):  # pragma: no cover - the keyring was made ed25519
        raise KeyringError("the audit checkpoint key must be Ed25519")
    older = tuple(
        key.private_key.public_key()
        for key in audit_keys.keys
        if key.kid != audit_keys.current.kid and isinstance(key.private_key, Ed25519PrivateKey)
    )
    try:
        cipher = BodyCipher.from_setting(settings.audit_body_key, settings.keys_dir / "audit-body.key")
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    return TransparencyLog(
        database,
        signer=CheckpointSigner(settings.audit_origin, current, older),
        clock=clock,
        entropy=entropy or SystemEntropy(),
        body_cipher=cipher,
        body_retention=timedelta(days=settings.audit_body_retention_days),
        checkpoint_interval=settings.audit_checkpoint_interval_seconds,
        max_batch=settings.audit_max_batch,
    )


@dataclass
class Runtime:
    """The gateway's parts, wired once by the app factory; stages read what they need from it."""

    settings: Settings
    database: Database
    keyring: Keyring
    audit_log: AuditLog
    transparency_log: TransparencyLog | None = None
    partners: PartnerDirectory | None = None
    # Each domain service's state (gateway/services), by service name, built by the app factory.
    services: dict[str, Any] = field(default_factory=dict)
    clock: Clock = field(default_factory=SystemClock)
    entropy: Entropy = field(default_factory=SystemEntropy)
    upstream_transport: httpx.AsyncBaseTransport | None = None
    breakers: CircuitBreakers = field(init=False)
    registry: RegistryCache = field(init=False)
    http: httpx.AsyncClient | None = field(init=False, default=None)
    _keys_checked: float = field(init=False, default=0.0)
    _soap_identity: tuple[Any, Any] | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.registry = RegistryCache(self.database, refresh_seconds=self.settings.registry_refresh_seconds)
        self.breakers = CircuitBreakers(
            database=self.database,
            failure_threshold=self.settings.circuit_failure_threshold,
            reset_seconds=self.settings.circuit_reset_seconds,
            clock=self.clock,
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        entropy: Entropy | None = None,
        audit_log: AuditLog | None = None,
        upstream_transport: httpx.AsyncBaseTransport | None = None,
        migrate: bool = True,
    ) -> Runtime:
        clock = clock or SystemClock()
        database = Database(settings.database_url)
        if migrate:
            database.migrate()
        entropy = entropy or SystemEntropy()
        keyring = Keyring.open(settings.keys_dir, algorithm=settings.signing_algorithm, now=clock.now())
        transparency_log = open_transparency_log(settings, database, clock=clock, entropy=entropy)
        return cls(
            settings=settings,
            database=database,
            keyring=keyring,
            audit_log=audit_log or transparency_log,
            transparency_log=transparency_log,
            clock=clock,
            entropy=entropy,
            upstream_transport=upstream_transport,
        )

    async def start(self) -> None:
        await self.in_thread(self.refresh_registry, True)
        timeout = httpx.Timeout(
            connect=self.settings.upstream_connect_timeout,
            read=self.settings.upstream_read_timeout,
            write=self.settings.upstream_read_timeout,
            pool=self.settings.upstream_connect_timeout,
        )
        transport = self.upstream_transport
        if transport is None and self.settings.upstream_pool == "aiohttp":
            from gateway.upstream_transport import AiohttpTransport

            transport = AiohttpTransport()
        self.http = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False, trust_env=False)

    async def stop(self) -> None:
        if self.partners is not None:
            await self.partners.aclose()
        if self.http is not None:
            await self.http.aclose()
            self.http = None
        self.database.dispose()

    def refresh_registry(self, everything: bool = False) -> None:
        """Take up registry and circuit changes made by other processes (see gateway.registry_cache)."""
        if everything:
            self.registry.reload()
        else:
            self.registry.refresh()
        self.breakers.refresh()

    async def keep_registry_fresh(self) -> None:
        """Every registry_refresh_seconds, for as long as the process serves."""
        while True:
            await asyncio.sleep(self.registry.refresh_seconds)
            try:
                await self.in_thread(self.refresh_registry)
            except Exception:  # a database hiccup must not end the refresher
                log.exception("could not refresh the registry; trying again")

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run blocking work (the database) off the event loop."""
        return await anyio.to_thread.run_sync(function, *args)

    def soap_identity(self) -> tuple[Any, Any]:
        """The gateway's WS-Security key (ECDSA P-256) and its self-signed certificate, made on first use;
        the key is published in the JWKS with the certificate as x5c."""
        if self._soap_identity is None:
            directory = self.settings.keys_dir / "soap"
            keyring = Keyring.open(directory, algorithm="ecdsa-p256", now=self.clock.now())
            key = keyring.current
            cert_file = directory / f"{key.kid}.crt"
            if not cert_file.exists():
                certificate = self_signed_certificate(
                    key.private_key, f"{self.settings.gateway_id} SOAP", now=self.clock.now()
                )
                temporary = cert_file.with_suffix(f".{os.getpid()}.tmp")
                temporary.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
                os.replace(temporary, cert_file)
            certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
            self._soap_identity = (key, certificate)
        return self._soap_identity

    def jwks(self) -> dict[str, Any]:
        """The HTTP signing keys (current first) and the WS-Security key with its certificate (x5c)."""
        self.keyring.refresh()
        keys = list(self.keyring.jwks()["keys"])
        soap_key, certificate = self.soap_identity()
        soap_jwk = soap_key.jwk()
        soap_jwk["x5c"] = [base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode("ascii")]
        keys.append(soap_jwk)
        return {"keys": keys}

    def signing_key(self) -> Any:
        """The current gateway key, noticing a rotation by another process within a few seconds."""
        now = time.monotonic()
        if now - self._keys_checked > self.settings.key_reload_seconds:
            self._keys_checked = now
            self.keyring.refresh()
        return self.keyring.current

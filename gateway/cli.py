"""The `tongban` command line: serve, register members and services, grant rights, keys, audit.

Importing this module is kept cheap (`tongban --help` and a mistyped argument answer at once):
settings, the database, the app, HTTP, PDF, XML and SOAP libraries are imported by the commands
that use them, inside their bodies. tests/test_cli_process.py checks which modules stay out.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli_support import ConfigOption, console, database_writer, fail, one_line_errors, settings, state
from gateway.clock import SystemClock
from gateway.services import cli_modules

if TYPE_CHECKING:
    from gateway.audit import TransparencyLog
    from gateway.settings import Settings

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Tongban (通办) cross-city gateway.")
members_app = typer.Typer(no_args_is_help=True, help="Partner systems registered with the gateway.")
services_app = typer.Typer(no_args_is_help=True, help="Services members publish through the relay.")
access_app = typer.Typer(no_args_is_help=True, help="Which member may call which service.")
keys_app = typer.Typer(no_args_is_help=True, help="The gateway's own signing keys.")
audit_app = typer.Typer(no_args_is_help=True, help="The audit log.")
app.add_typer(members_app, name="members")
app.add_typer(services_app, name="services")
app.add_typer(access_app, name="access")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
sandbox_app = typer.Typer(help="The sandbox partner systems of each city, with seeded fictional data.")
app.add_typer(sandbox_app, name="sandbox")


@app.callback()
def root(config: ConfigOption = None) -> None:
    """Every command reads the settings the server reads: --config or $TONGBAN_CONFIG, and TONGBAN_*."""
    state["config"] = config


# ---- serve --------------------------------------------------------------------------------


@app.command()
@one_line_errors
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port (also $PORT)", envvar="PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes (default: CPU cores)")] = None,
) -> None:
    """Run the gateway in the foreground (Ctrl-C stops it)."""
    import uvicorn

    from gateway.runtime import open_transparency_log
    from gateway.storage import Database
    from trust import Keyring

    overrides = {
        key: value for key, value in (("host", host), ("port", port), ("workers", workers)) if value is not None
    }
    current = settings(config, **overrides)
    # Workers are new processes that read settings from the environment: hand them the same ones.
    for key, value in overrides.items():
        os.environ[f"TONGBAN_{key.upper()}"] = str(value)
    if config or state["config"]:
        os.environ["TONGBAN_CONFIG"] = str(Path(config or state["config"]).resolve())
    database = Database(current.database_url)
    database.migrate()  # once, before the workers start; keys too, so that workers only read them
    Keyring.open(current.keys_dir, algorithm=current.signing_algorithm, now=SystemClock().now())
    open_transparency_log(current, database)
    database.dispose()
    worker_count = current.effective_workers
    if worker_count > 1:
        metrics_dir = current.var_dir / "metrics"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())
    typer.echo(
        f"Tongban gateway {current.gateway_id} on http://{current.host}:{current.port} "
        f"({worker_count} worker{'s' if worker_count > 1 else ''}, "
        f"database {database.url.render_as_string(hide_password=True)})",
        err=True,
    )
    uvicorn.run(
        "gateway.app:create_app",
        factory=True,
        host=current.host,
        port=current.port,
        workers=worker_count,
        http=current.http_parser,
        log_config=None,
        access_log=False,
        server_header=False,
        # Held-open evaluation event streams would keep a stopping server waiting for minutes: after
        # this, uvicorn cancels them (each still writes its closing audit entry; venues reconnect).
        timeout_graceful_shutdown=10,
    )


@app.command()
@one_line_errors
def run(
    config: ConfigOption = None,
    port: Annotated[int | None, typer.Option(help="Gateway port (also $PORT)", envvar="PORT")] = None,
    workers: Annotated[int | None, typer.Option(help="Gateway worker processes (default: CPU cores)")] = None,
    sandbox_port: Annotated[int, typer.Option(help="First sandbox port; each city takes the next")] = 8081,
) -> None:
    """What `make run` starts: the sandbox partner systems, then the gateway in the foreground."""
    from adapters.sandboxes import start_sandboxes

    current = settings(config)
    sandboxes = start_sandboxes(
        base_port=sandbox_port, sandbox_dir=current.sandbox_dir, step_seconds=current.sandbox_step_seconds
    )
    typer.echo(f"sandbox PKI and sample documents under {current.sandbox_dir}", err=True)
    for city, url in sandboxes.urls().items():
        typer.echo(f"sandbox {city:<10} {url}", err=True)
    try:
        serve(config=config, host=None, port=port, workers=workers)
    finally:
        sandboxes.stop()


@app.command()
@one_line_errors
def demo(
    config: ConfigOption = None,
    url: Annotated[
        str | None, typer.Option(help="The gateway to drive (default: the configured public_url, e.g. :8080)")
    ] = None,
) -> None:
    """Run every flow end to end against the sandbox and print a table of results. Uses the gateway
    at --url (or the configured one) when it answers there; otherwise starts its own for the run."""
    from rich.table import Table

    from gateway.demo import run_demo

    current = settings(config, log_level="WARNING", **({"public_url": url} if url else {}))
    results = run_demo(current, say=lambda line: typer.echo(line, err=True), url_given=url is not None)
    table = Table("flow", "result", "detail", title="Tongban demo")
    for result in results:
        table.add_row(result.flow, "[green]ok[/green]" if result.ok else "[red]FAILED[/red]", result.detail)
    console().print(table)
    failed = [result.flow for result in results if not result.ok]
    if failed:
        raise fail(f"{len(failed)} of {len(results)} flows failed: {', '.join(failed)}")


@sandbox_app.callback(invoke_without_command=True)
def sandbox(
    context: typer.Context,
    config: ConfigOption = None,
    port: Annotated[int, typer.Option(help="First port; each city takes the next")] = 8081,
) -> None:
    """Run the sandbox partner systems alone (Ctrl-C stops them)."""
    if context.invoked_subcommand is not None:
        return
    import signal
    import threading

    from adapters.sandboxes import start_sandboxes

    try:
        current = settings(config)
        sandboxes = start_sandboxes(
            base_port=port, sandbox_dir=current.sandbox_dir, step_seconds=current.sandbox_step_seconds
        )
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    for city, url in sandboxes.urls().items():
        typer.echo(f"sandbox {city:<10} {url}", err=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandboxes.stop()


@sandbox_app.command("list")
@one_line_errors
def sandbox_list(
    kind: Annotated[str, typer.Argument(help="subjects, licences, enterprises, persons, experts, members or samples")],
    config: ConfigOption = None,
) -> None:
    """Print the sandbox's seeded data as JSON (fictional, with valid codes)."""
    from adapters.sandboxes import seed_listing

    try:
        rows = seed_listing(kind, sandbox_dir=settings(config).sandbox_dir)
    except ValueError as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))


@sandbox_app.command("consent")
@one_line_errors
def sandbox_consent(
    holder_id: Annotated[str, typer.Argument(help="The holder's USCC or resident ID number")],
    requester: Annotated[str, typer.Option(help="The member that may fetch, e.g. 442000.zsdemo.window")],
    purpose: Annotated[list[str], typer.Option(help="A purpose the holder agrees to (repeatable)")],
    licence_type: Annotated[
        list[str] | None, typer.Option(help="Only these licence types (repeatable; default: all)")
    ] = None,
    minutes: Annotated[int, typer.Option(help="Lifetime of the consent", min=1, max=7 * 24 * 60)] = 60,
    config: ConfigOption = None,
) -> None:
    """Print a consent token, as the holder's city's consent service signs it once the holder agreed
    (sandbox only: the demo PKI's consent-service key). Send it in X-Tongban-Consent to GET /v1/licences."""
    from datetime import timedelta

    import catalogs
    from adapters.sandbox_documents import consent_token, holder_city, load_sandbox_pki

    current = settings(config)
    now = SystemClock().now()
    try:
        city = holder_city(holder_id)
        pki = load_sandbox_pki(current.sandbox_dir, now)
    except (catalogs.CatalogError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    token = consent_token(
        pki,
        city,
        holder_id=holder_id,
        requester=requester,
        audience=current.gateway_id,
        purposes=list(purpose),
        licence_types=list(licence_type) if licence_type else None,
        now=now,
        lifetime=timedelta(minutes=minutes),
    )
    typer.echo(token)


# ---- members ------------------------------------------------------------------------------


@members_app.command("add")
@one_line_errors
def members_add(
    member_id: Annotated[str, typer.Argument(metavar="ID", help="<city>.<org>.<system>, e.g. 442000.zsgov.window")],
    cert: Annotated[Path, typer.Option("--cert", metavar="PEM", help="The member's X.509 certificate", exists=False)],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    replace: Annotated[bool, typer.Option(help="Replace the certificate of an existing member")] = False,
) -> None:
    """Register a partner system with its certificate."""
    from gateway import registry

    current = settings()
    pem = cert.read_bytes()
    with database_writer(current) as connection:
        member = registry.add_member(connection, member_id, pem, name=name, now=SystemClock().now(), replace=replace)
    typer.echo(f"registered {member.id} ({member.certificate.kind.jose_alg}, key {member.certificate.key_thumbprint})")


@members_app.command("list")
@one_line_errors
def members_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """List registered partner systems."""
    from gateway import registry

    with database_writer(settings()) as connection:
        found = registry.list_members(connection)
    if as_json:
        from gateway.operations import member_view

        typer.echo(json.dumps([member_view(m) for m in found], ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table("id", "city", "name", "algorithm", "key thumbprint")
    for member in found:
        table.add_row(
            member.id,
            member.city,
            member.name,
            member.certificate.kind.jose_alg,
            member.certificate.key_thumbprint,
        )
    console().print(table)


@members_app.command("keygen")
@one_line_errors
def members_keygen(
    member_id: Annotated[str, typer.Argument(metavar="ID")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for key.pem and cert.pem")],
    algorithm: Annotated[str, typer.Option(help="ed25519 or ecdsa-p256")] = "ed25519",
) -> None:
    """Make a private key and a self-signed certificate for a member (sandbox, trying things out)."""
    from gateway.client import make_member_certificate
    from gateway.registry import parse_member_id

    parse_member_id(member_id)
    if algorithm not in ("ed25519", "ecdsa-p256"):  # what the CLI offers; P-256 also serves SOAP
        raise fail(f"algorithm must be ed25519 or ecdsa-p256, not {algorithm!r}")
    key_pem, cert_pem = make_member_certificate(member_id, algorithm=algorithm)
    out.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = out / "key.pem", out / "cert.pem"
    if key_path.exists():
        raise fail(f"{key_path} exists; choose another --out")
    key_path.write_bytes(key_pem)
    key_path.chmod(0o600)
    cert_path.write_bytes(cert_pem)
    typer.echo(f"{key_path}\n{cert_path}")


# ---- services -----------------------------------------------------------------------------


@services_app.command("add")
@one_line_errors
def services_add(
    provider_id: Annotated[str, typer.Argument(metavar="PROVIDER_ID")],
    service_code: Annotated[str, typer.Argument(metavar="SERVICE_CODE")],
    url: Annotated[str, typer.Option(help="Base URL of the member's service")],
    protocol: Annotated[str, typer.Option(help="rest or soap")] = "rest",
    title: Annotated[str, typer.Option(help="What the service does")] = "",
    purpose_required: Annotated[bool, typer.Option(help="Callers must send X-Tongban-Purpose")] = False,
    max_body_bytes: Annotated[int | None, typer.Option(help="Body limit for this service")] = None,
    timeout: Annotated[float | None, typer.Option(help="Seconds to wait for an answer")] = None,
    response_signature: Annotated[str, typer.Option(help="optional or required")] = "optional",
    replace: Annotated[bool, typer.Option(help="Change an existing service")] = False,
) -> None:
    """Publish a member's service for the relay (service id PROVIDER_ID/SERVICE_CODE)."""
    from gateway import registry

    current = settings()
    with database_writer(current) as connection:
        service = registry.add_service(
            connection,
            provider_id,
            service_code,
            url=url,
            protocol=protocol,
            title=title,
            purpose_required=purpose_required,
            max_body_bytes=max_body_bytes,
            timeout_seconds=timeout,
            response_signature=response_signature,
            allow_plain_http=current.allow_plain_http_upstreams,
            now=SystemClock().now(),
            replace=replace,
        )
    typer.echo(f"published {service.id} -> {service.url} (call it at /v1/exchange/{service.id})")


@services_app.command("list")
@one_line_errors
def services_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False) -> None:
    """List published services."""
    from gateway import registry

    with database_writer(settings()) as connection:
        found = registry.list_services(connection)
    if as_json:
        from gateway.operations import service_view

        typer.echo(json.dumps([service_view(s) | {"url": s.url} for s in found], ensure_ascii=False, indent=2))
        return
    from rich.table import Table

    table = Table("id", "protocol", "url", "title")
    for service in found:
        table.add_row(service.id, service.protocol, service.url, service.title)
    console().print(table)


# ---- access -------------------------------------------------------------------------------


@access_app.command("grant")
@one_line_errors
def access_grant(
    client: Annotated[str, typer.Argument(metavar="CLIENT")],
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="PROVIDER_ID/SERVICE_CODE or a gateway operation")],
) -> None:
    """Allow a member to call a service."""
    from gateway import registry

    with database_writer(settings()) as connection:
        added = registry.grant(connection, client, service, now=SystemClock().now())
    typer.echo(f"{client} may call {service}" + ("" if added else " (already could)"))


@access_app.command("revoke")
@one_line_errors
def access_revoke(
    client: Annotated[str, typer.Argument(metavar="CLIENT")],
    service: Annotated[str, typer.Argument(metavar="SERVICE")],
) -> None:
    """Take a right away."""
    from gateway import registry

    with database_writer(settings()) as connection:
        removed = registry.revoke(connection, client, service)
    if not removed:
        raise fail(f"{client} had no right to {service}")
    typer.echo(f"{client} may no longer call {service}")


@access_app.command("list")
@one_line_errors
def access_list(client: Annotated[str, typer.Argument(metavar="CLIENT")]) -> None:
    """The rights one member holds."""
    from gateway import registry

    with database_writer(settings()) as connection:
        registry.get_member(connection, client)
        rights = sorted(registry.allowed_service_ids(connection, client))
    for right in rights:
        typer.echo(right)


# ---- keys -----------------------------------------------------------------------------------


@keys_app.command("rotate")
@one_line_errors
def keys_rotate() -> None:
    """Make a new gateway signing key; the previous ones stay published in the JWKS."""
    from trust import Keyring

    current = settings()
    now = SystemClock().now()
    keyring = Keyring.open(current.keys_dir, algorithm=current.signing_algorithm, now=now)
    previous = keyring.current.kid
    fresh = keyring.rotate(algorithm=current.signing_algorithm, now=now)
    typer.echo(f"current key {fresh.kid} ({current.signing_algorithm}); previous {previous} kept for verification")


@keys_app.command("list")
@one_line_errors
def keys_list() -> None:
    """The gateway's keys, current first."""
    from trust import Keyring

    current = settings()
    keyring = Keyring.open(current.keys_dir, algorithm=current.signing_algorithm, now=SystemClock().now())
    for key in [keyring.current, *[k for k in reversed(keyring.keys) if k.kid != keyring.current.kid]]:
        state = "current" if key.kid == keyring.current.kid else f"retired {key.retired}"
        typer.echo(f"{key.kid}  {key.kind.http_sig_alg}  created {key.created}  {state}")


# ---- client helpers -----------------------------------------------------------------------


@app.command()
@one_line_errors
def token(
    member: Annotated[str, typer.Option(help="Your member id (iss and sub)")],
    key: Annotated[Path, typer.Option(metavar="PEM", help="Private key of your registered certificate")],
    audience: Annotated[str | None, typer.Option(help="Gateway id (default: this gateway's)")] = None,
    lifetime: Annotated[int, typer.Option(help="Seconds until exp (at most 300)", min=1, max=300)] = 120,
) -> None:
    """Print a client assertion (JWT) for `Authorization: Bearer ...`."""
    from gateway.client import MemberCredentials

    credentials = MemberCredentials.from_pem_file(member, key)
    typer.echo(credentials.client_assertion(audience or settings().gateway_id, lifetime=lifetime))


@app.command()
@one_line_errors
def call(
    method: Annotated[str, typer.Argument(help="GET, POST, ...")],
    url: Annotated[str, typer.Argument(help="Full URL, e.g. http://127.0.0.1:8080/v1/services")],
    member: Annotated[str, typer.Option(help="Your member id")],
    key: Annotated[Path, typer.Option(metavar="PEM", help="Private key of your registered certificate")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="Body; @FILE reads a file")] = None,
    header: Annotated[list[str] | None, typer.Option("--header", "-H", help="Extra 'Name: value' header")] = None,
    audience: Annotated[str | None, typer.Option(help="Gateway id (default: asks /.well-known/tongban)")] = None,
    curl: Annotated[bool, typer.Option(help="Print the equivalent curl command instead of sending")] = False,
) -> None:
    """Send one signed request as a member and check the gateway's signature on the answer.

    The answer's body goes to stdout. One status line goes to stderr: the HTTP status, the exchange
    id (what `tongban audit export EXCHANGE_ID` takes) and whether the gateway's signature verified."""
    import shlex

    import httpx

    from gateway.client import MemberCredentials, gateway_info, reaching_gateway, verify_gateway_response

    body = b""
    if data is not None:
        body = Path(data[1:]).read_bytes() if data.startswith("@") else data.encode("utf-8")
    extra = dict(line.split(":", 1) for line in header or [])
    extra = {name.strip(): value.strip() for name, value in extra.items()}
    if body and "content-type" not in {name.lower() for name in extra}:
        extra["Content-Type"] = "application/json"
    credentials = MemberCredentials.from_pem_file(member, key)
    with reaching_gateway(url), httpx.Client(timeout=60, trust_env=False) as http:
        origin = httpx.URL(url).copy_with(path="/", query=None, fragment=None)
        if audience is None:
            audience = gateway_info(http, str(origin))["gateway_id"]
        headers = credentials.signed_headers(method.upper(), url, body, audience=audience, headers=extra)
        if curl:
            parts = ["curl", "-sS", "-X", method.upper(), url]
            for name, value in headers.multi_items():
                parts += ["-H", f"{name}: {value}"]
            if body:
                parts += ["--data-binary", body.decode("utf-8", "replace")]
            typer.echo(shlex.join(parts))
            return
        response = http.request(method.upper(), url, headers=headers, content=body)
        jwks = http.get(origin.copy_with(path="/.well-known/jwks.json"))
    try:
        try:
            keys = jwks.json()
        except ValueError:  # verification then says what is missing
            keys = {}
        kid = verify_gateway_response(response, keys)
        verdict = f"gateway signature verified (key {kid})"
    except Exception as exc:
        verdict = f"gateway signature NOT verified: {exc}"
    typer.echo(
        f"HTTP {response.status_code}  exchange {response.headers.get('x-tongban-exchange-id')}  {verdict}",
        err=True,
    )
    typer.echo(response.text)
    if response.status_code >= 400 or "NOT" in verdict:
        raise typer.Exit(1)


# ---- audit --------------------------------------------------------------------------------


def _transparency_log(current: Settings) -> TransparencyLog:
    from gateway.runtime import open_transparency_log
    from gateway.storage import Database

    database = Database(current.database_url)
    database.migrate()
    return open_transparency_log(current, database)


@audit_app.command("verify")
@one_line_errors
def audit_verify() -> None:
    """Recompute the whole tree from storage and check every stored checkpoint.

    Exit 0 when intact; otherwise non-zero with the first bad entry named on stderr.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from gateway.audit import LogBroken

    log = _transparency_log(settings())
    total = log.size()
    broken: LogBroken | None = None
    count = 0
    err_console = console(stderr=True)
    with Progress(
        TextColumn("verifying audit log"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,  # a bar for people, nothing for scripts and logs
    ) as progress:
        task = progress.add_task("entries", total=total)
        try:
            count = log.verify(progress=lambda n: progress.advance(task, n))
        except LogBroken as exc:
            broken = exc
    if broken is not None:
        raise fail(f"audit log broken at entry {broken.index}: {broken.reason}")
    latest = log.latest_checkpoint()
    signed = f"; latest signed checkpoint covers {latest.size}" if latest else ""
    typer.echo(f"audit log intact: {count} entries, every node and checkpoint verified{signed}")


@audit_app.command("export")
@one_line_errors
def audit_export(
    exchange_id: Annotated[str, typer.Argument(metavar="EXCHANGE_ID")],
    output: Annotated[Path, typer.Option("--output", "-o", metavar="FILE", help="Where to write the bundle")],
) -> None:
    """Write the evidence bundle of one exchange (entries, proofs, signed checkpoint, kept messages)."""
    from gateway.audit_operations import evidence_bundle
    from gateway.runtime import Runtime

    runtime = Runtime.build(settings())
    try:
        bundle = evidence_bundle(runtime, exchange_id)
    finally:
        runtime.database.dispose()
    if bundle is None:
        raise fail(f"no audited exchange {exchange_id}")
    output.write_text(json.dumps(bundle, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    typer.echo(
        f"{output}: {len(bundle['entries'])} entries proven against checkpoint of size "
        f"{bundle['entries'][0]['inclusion_proof']['tree_size']}"
    )


@audit_app.command("check")
@one_line_errors
def audit_check(
    bundle_file: Annotated[Path, typer.Argument(metavar="FILE", help="An evidence bundle or a session archive")],
    key: Annotated[Path, typer.Option("--key", metavar="PEM", help="The log's public key (tongban audit key)")],
) -> None:
    """Verify an evidence bundle or a session archive offline: no database, no network, only the
    log's public key."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from gateway.audit import ARCHIVE_FORMAT, check_archive, check_evidence

    public_key = load_pem_public_key(key.read_bytes())
    if not isinstance(public_key, Ed25519PublicKey):
        raise fail(f"{key} is not an Ed25519 public key")
    try:
        bundle = json.loads(bundle_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"{bundle_file} is not a JSON evidence bundle: {exc}") from None
    if not isinstance(bundle, dict):
        raise fail(f"{bundle_file} is not a JSON evidence bundle")
    archive = bundle.get("format") == ARCHIVE_FORMAT
    report = check_archive(bundle, public_key) if archive else check_evidence(bundle, public_key)
    for check in report.checks:
        typer.echo(f"{'ok  ' if check.passed else 'FAIL'}  {check.name}: {check.detail}")
    what = "archive" if archive else "evidence"
    if not report.passed:
        failed = next((c for c in report.checks if not c.passed), None)
        raise fail(f"{what} does not verify: {failed.name if failed else 'empty bundle'}")
    if archive:
        typer.echo(f"archive of session {bundle.get('session_id')} verifies")
    else:
        typer.echo(f"evidence for exchange {bundle.get('exchange_id')} verifies")


@audit_app.command("key")
@one_line_errors
def audit_key() -> None:
    """Print the log's public key (PEM, for `audit check --key`) and its C2SP verifier key."""
    from cryptography.hazmat.primitives import serialization

    log = _transparency_log(settings())
    public = log.signer.private_key.public_key()
    typer.echo(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode(),
        nl=False,
    )
    typer.echo(f"# verifier key: {log.signer.verifier_key()}", err=True)


@audit_app.command("checkpoint")
@one_line_errors
def audit_checkpoint() -> None:
    """Make (if the tree grew) and print the latest signed checkpoint."""
    typer.echo(_transparency_log(settings()).current_checkpoint().note, nl=False)


@audit_app.command("witness")
@one_line_errors
def audit_witness(
    url: Annotated[str, typer.Argument(help="The other gateway's base URL, e.g. https://tongban.zs.example")],
    origin_key: Annotated[
        str, typer.Option(help="The other log's C2SP verifier key (agreed out of band; /.well-known/tongban shows it)")
    ],
    member: Annotated[str, typer.Option(help="This gateway's member id at the other gateway")],
    member_key: Annotated[Path, typer.Option(metavar="PEM", help="Private key of that member's certificate")],
    submit: Annotated[bool, typer.Option(help="Hand the cosigned checkpoint back to the other gateway")] = True,
) -> None:
    """Countersign another gateway's latest checkpoint, after checking it extends the last one we signed."""
    import httpx

    from gateway.audit import WitnessRefused, cosign_checkpoint, load_witnessed, parse_verifier_key, save_witnessed
    from gateway.client import MemberCredentials, gateway_info, reaching_gateway

    current = settings()
    log = _transparency_log(current)
    origin_verifier = parse_verifier_key(origin_key)
    credentials = MemberCredentials.from_pem_file(member, member_key)
    base = url.rstrip("/")
    with reaching_gateway(base), httpx.Client(timeout=30, trust_env=False) as http:
        audience = gateway_info(http, base)["gateway_id"]

        def authenticated(method: str, path: str, body: bytes = b"", content_type: str | None = None) -> httpx.Response:
            headers = {"Content-Type": content_type} if content_type else None
            signed = credentials.signed_headers(method, base + path, body, audience=audience, headers=headers)
            response = http.request(method, base + path, headers=signed, content=body)
            if response.status_code >= 400:
                detail = response.json().get("code", "") if "json" in response.headers.get("content-type", "") else ""
                raise fail(f"{method} {path}: HTTP {response.status_code} {detail}")
            return response

        def consistency(first: int, second: int) -> list[bytes]:
            import base64

            answer = authenticated("GET", f"/v1/audit/consistency?first={first}&second={second}").json()
            return [base64.b64decode(value) for value in answer["hashes"]]

        checkpoint = http.get(f"{base}/v1/audit/checkpoint")
        if checkpoint.status_code != 200:
            raise fail(f"GET {base}/v1/audit/checkpoint: HTTP {checkpoint.status_code}")
        note = checkpoint.text
        previous = load_witnessed(log.database, origin_verifier.name)
        try:
            cosigned, state = cosign_checkpoint(
                note,
                origin_verifier=origin_verifier,
                previous=previous,
                consistency_proof=consistency,
                witness_name=log.signer.origin,
                witness_key=log.signer.private_key,
            )
        except WitnessRefused as exc:
            raise fail(f"refused to witness {origin_verifier.name}: {exc}") from None
        save_witnessed(log.database, state, SystemClock().now())
        if submit:
            authenticated(
                "POST",
                f"/v1/audit/checkpoint/cosignatures?size={state.size}",
                cosigned.encode("utf-8"),
                "text/plain; charset=utf-8",
            )
    since = f"consistent with {previous.size}" if previous else "first checkpoint witnessed"
    typer.echo(f"witnessed {state.origin} at {state.size} entries ({since})", err=True)
    typer.echo(cosigned, nl=False)


@audit_app.command("purge")
@one_line_errors
def audit_purge() -> None:
    """Delete message bodies past their retention period (the tree still verifies)."""
    removed = _transparency_log(settings()).purge_bodies()
    typer.echo(f"removed {removed} message bodies past their retention period")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()


# The domain services' own commands (gateway/services/<name>/cli.py), each imported only when the
# command line starts, not the service itself.
for _name, _module in cli_modules():
    app.add_typer(importlib.import_module(_module).app, name=_name)

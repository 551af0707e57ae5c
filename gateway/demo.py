"""`tongban demo`: every flow that works today, end to end against the sandbox, as a table of results.

Uses the gateway at the configured URL when one answers there (for example under `make run`);
otherwise starts its own gateway and sandboxes on free loopback ports for the run.
"""

from __future__ import annotations

import base64
import json
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from gateway.settings import Settings, load_settings

__all__ = ["DemoContext", "DemoResult", "own_gateway", "run_demo", "wait_for_trust_lists"]

# Members of the demo's own: it re-registers them as it needs, so they must never be ids that an
# operator may have registered (the README's walk-through uses 442000.zsgov.window).
SOAP_WINDOW = "442000.zsdemo.window"  # a Zhongshan service window, a SOAP system
REST_WINDOW = "440300.szdemo.window"  # a Shenzhen service window, a REST system
BANK = "442000.zsdemo.bank"  # a Zhongshan bank's loan system, asking for credit reports (REST)


@dataclass(frozen=True)
class DemoResult:
    flow: str
    ok: bool
    detail: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _gateway_answers(url: str, *, required: bool) -> bool:
    """True when a ready Tongban gateway answers at url; False when nothing answers there.

    Something else answering (a sandbox, another service) or a gateway that is not ready is
    NotAGateway when the URL was given (required), and otherwise the same as nothing."""
    from gateway.client import GatewayUnreachable, NotAGateway, gateway_info, reaching_gateway

    try:
        with reaching_gateway(url), httpx.Client(timeout=2, trust_env=False) as http:
            gateway_info(http, url)
            ready = http.get(f"{url}/readyz")
    except GatewayUnreachable:
        return False
    except NotAGateway:
        if required:
            raise
        return False
    if ready.status_code != 200 and required:
        raise NotAGateway(f"the gateway at {url} is not ready (GET /readyz: HTTP {ready.status_code} {ready.text})")
    return ready.status_code == 200


@contextmanager
def _gateway_for_demo(
    settings: Settings, say: Callable[[str], None], *, url_given: bool
) -> Iterator[tuple[str, Settings]]:
    """The configured gateway if it answers, otherwise our own with its own sandboxes."""
    if _gateway_answers(settings.public_url, required=url_given):
        say(f"using the gateway at {settings.public_url} (its sandbox data under {settings.sandbox_dir})")
        yield settings.public_url, settings
        return
    say(f"no Tongban gateway answers at {settings.public_url}: starting one of our own, with its own sandboxes")
    with (
        tempfile.TemporaryDirectory(prefix="tongban-demo-") as scratch,
        own_gateway(Path(scratch) / "var") as started,
    ):
        yield started


@contextmanager
def own_gateway(var_dir: Path, **overrides: Any) -> Iterator[tuple[str, Settings]]:
    """A gateway on a free loopback port in a background thread of this process, reaching the
    cities' sandboxes (started here too, their data under var_dir/sandbox); settings `overrides`."""
    import uvicorn

    from adapters.sandboxes import start_sandboxes
    from gateway.app import create_app

    sandboxes = start_sandboxes(base_port=0, sandbox_dir=var_dir / "sandbox", step_seconds=0.5)
    port = _free_port()
    own = load_settings(
        var_dir=var_dir,
        port=port,
        log_level="WARNING",
        partner_urls=sandboxes.regions(),
        trust_list_urls=sandboxes.trust_list_urls(),
        **overrides,
    )
    server = uvicorn.Server(uvicorn.Config(create_app(own), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}", own
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sandboxes.stop()


def wait_for_trust_lists(url: str, cities: Collection[str] | None = None, seconds: float = 15) -> dict[str, Any]:
    """The gateway loads the cities' trust lists just after it starts: wait until it holds one for
    each of `cities` (default: every city it is configured for); its /.well-known/trust-lists."""
    deadline = time.monotonic() + seconds
    while True:
        snapshot: dict[str, Any] = httpx.get(f"{url}/.well-known/trust-lists", trust_env=False).json()
        held = {city for city, entry in snapshot.get("cities", {}).items() if entry.get("sequence")}
        wanted = set(cities) if cities is not None else set(snapshot.get("cities", {}))
        if held and held >= wanted:
            return snapshot
        if time.monotonic() > deadline:
            raise RuntimeError(f"the gateway holds no current trust list for some city: {snapshot}")
        time.sleep(0.1)


def _identity(directory: Path, member_id: str, algorithm: str = "ed25519") -> tuple[Path, Path, bytes]:
    """A key and certificate for a member (kept, so a rerun reuses them): RSA for SOAP members."""
    from gateway.client import make_member_certificate

    key_file, cert_file = directory / f"{member_id}.key", directory / f"{member_id}.crt"
    if not key_file.exists():
        key_pem, cert_pem = make_member_certificate(member_id, algorithm=algorithm)
        directory.mkdir(parents=True, exist_ok=True)
        key_file.write_bytes(key_pem)
        key_file.chmod(0o600)
        cert_file.write_bytes(cert_pem)
    return key_file, cert_file, cert_file.read_bytes()


WINDOW_RIGHTS = (
    "licences.lookup",
    "licences.verify",
    "licences.fetch",
    "seals.verify",
    "audit.read",
    "applications.submit",
    "credit.query",
)


def _register_member(settings: Settings, keys: Path, member_id: str, rights: Sequence[str]) -> Any:
    """A demo member registered (its key kept under `keys`, so a rerun reuses it) with `rights`;
    its credentials."""
    from gateway.client import MemberCredentials
    from gateway.clock import SystemClock
    from gateway.registry import add_member, find_member, grant
    from gateway.storage import Database

    key_file, _cert_file, pem = _identity(keys, member_id)
    now = SystemClock().now()
    database = Database(settings.database_url)
    database.migrate()
    try:
        with database.write() as connection:
            existing = find_member(connection, member_id)
            if existing is None or existing.certificate.pem.encode() != pem:
                add_member(connection, member_id, pem, name="demo", now=now, replace=existing is not None)
            for right in rights:
                grant(connection, member_id, right, now=now)
    finally:
        database.dispose()
    return MemberCredentials.from_pem_file(member_id, key_file)


@dataclass(frozen=True)
class DemoContext:
    """What a domain service's demo flows get (DomainService.demo_flows): the gateway, the seed data
    the sandboxes hold, members made on demand, and signed calls whose answers are checked."""

    url: str
    settings: Settings
    gateway_id: str
    jwks: Mapping[str, Any]
    data: Any  # catalogs.seed.SeedData
    keys: Path

    def member(self, member_id: str, rights: Sequence[str]) -> Any:
        """A registered member with `rights`: its credentials (gateway.client.MemberCredentials)."""
        return _register_member(self.settings, self.keys, member_id, rights)

    def call(
        self, member: Any, method: str, path: str, payload: Any = None, *, status: int | None = 200
    ) -> httpx.Response:
        """A signed request as `member`; the answer must have `status` (None: any) and the gateway's
        signature."""
        from gateway.client import verify_gateway_response

        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        extra = {"content-type": "application/json"} if payload is not None else None
        headers = member.signed_headers(method, self.url + path, body, audience=self.gateway_id, headers=extra)
        response = httpx.request(
            method, self.url + path, headers=headers, content=body or None, trust_env=False, timeout=30
        )
        if status is not None:
            assert response.status_code == status, f"{method} {path}: {response.status_code} {response.text[:300]}"
        verify_gateway_response(response, dict(self.jwks))
        return response


def _register(settings: Settings, keys: Path) -> tuple[Any, Any, tuple[Path, Path]]:
    """The demo's members: (the Shenzhen window's and the bank's REST credentials, the SOAP window's key and cert)."""
    from gateway.client import MemberCredentials
    from gateway.clock import SystemClock
    from gateway.registry import add_member, find_member, grant
    from gateway.storage import Database

    now = SystemClock().now()
    rest_key, _rest_cert, rest_pem = _identity(keys, REST_WINDOW)
    bank_key, _bank_cert, bank_pem = _identity(keys, BANK)
    soap_key, soap_cert, soap_pem = _identity(keys, SOAP_WINDOW, algorithm="rsa")
    members = (
        (REST_WINDOW, rest_pem, WINDOW_RIGHTS),
        (SOAP_WINDOW, soap_pem, WINDOW_RIGHTS),
        (BANK, bank_pem, ("credit.query",)),
    )
    database = Database(settings.database_url)
    database.migrate()
    try:
        with database.write() as connection:
            for member_id, pem, rights in members:
                existing = find_member(connection, member_id)
                if existing is None or existing.certificate.pem.encode() != x509.load_pem_x509_certificate(
                    pem
                ).public_bytes(serialization.Encoding.PEM):
                    add_member(connection, member_id, pem, name="demo", now=now, replace=existing is not None)
                for right in rights:
                    grant(connection, member_id, right, now=now)
            _register_handling_systems(connection, settings, now)
    finally:
        database.dispose()
    rest = MemberCredentials.from_pem_file(REST_WINDOW, rest_key)
    return rest, MemberCredentials.from_pem_file(BANK, bank_key), (soap_key, soap_cert)


def _register_handling_systems(connection: Any, settings: Settings, now: Any) -> None:
    """The sandbox's service-handling systems, so that their signed reports are accepted: each is
    registered with the certificate the sandbox made for it (var/sandbox/members), with the right
    to report."""
    from adapters.sandboxes import SANDBOXES, member_key_files
    from gateway.registry import add_member, find_member, grant

    for spec in SANDBOXES:
        member_id = spec.handling_member
        if not spec.handles_applications or member_id is None:
            continue
        _key_file, cert_file = member_key_files(settings.sandbox_dir, member_id)
        pem = cert_file.read_bytes()
        existing = find_member(connection, member_id)
        if existing is None or existing.certificate.pem.encode() != pem:
            add_member(connection, member_id, pem, name="sandbox", now=now, replace=existing is not None)
        grant(connection, member_id, "applications.report", now=now)


def _flow(results: list[DemoResult], name: str, step: Callable[[], str]) -> None:
    try:
        results.append(DemoResult(name, True, step()))
    except Exception as exc:  # the demo reports every failure and goes on
        results.append(DemoResult(name, False, f"{type(exc).__name__}: {exc}"[:200]))


def run_demo(
    settings: Settings, say: Callable[[str], None] = lambda _line: None, *, url_given: bool = False
) -> list[DemoResult]:
    """Run the flows; each result says what was shown, or why it failed.

    Uses the gateway at settings.public_url when one answers there, else starts its own. With
    url_given (the user named that URL), something else answering there is NotAGateway instead."""
    from catalogs import seed
    from gateway.audit import check_evidence, parse_verifier_key
    from gateway.client import verify_gateway_response
    from gateway.soap_client import gateway_soap_client

    data = seed.generate()
    sz_licence = data.city("shenzhen").licences[0]
    zs_licence = data.city("zhongshan").licences[0]
    results: list[DemoResult] = []
    with (
        _gateway_for_demo(settings, say, url_given=url_given) as (url, active),
        tempfile.TemporaryDirectory() as scratch,
    ):
        rest, bank, (soap_key, soap_cert) = _register(active, active.var_dir / "demo-keys")
        info = httpx.get(f"{url}/.well-known/tongban", trust_env=False).json()
        jwks = httpx.get(f"{url}/.well-known/jwks.json", trust_env=False).json()
        gateway_cert = Path(scratch) / "gateway.crt"
        x5c = next(key["x5c"][0] for key in jwks["keys"] if "x5c" in key)
        gateway_cert.write_bytes(
            x509.load_der_x509_certificate(base64.b64decode(x5c)).public_bytes(serialization.Encoding.PEM)
        )
        exchange: dict[str, str] = {}

        def soap_to_rest() -> str:
            client = gateway_soap_client(
                url, key_file=soap_key, certificate_file=soap_cert, gateway_certificate_file=gateway_cert
            )
            answer = client.service.GetLicence(issuingCity="440300", licenceNumber=sz_licence.licence_number)
            assert answer.licenceNumber == sz_licence.licence_number and answer.holder.name == sz_licence.holder.name
            return f"{answer.title} {answer.licenceNumber} of {answer.holder.name}; WS-Security both ways"

        def rest_to_soap() -> str:
            path = f"/v1/registries/442000/licences/{quote(zs_licence.licence_number, safe='')}"
            headers = rest.signed_headers("GET", url + path, b"", audience=info["gateway_id"])
            response = httpx.get(url + path, headers=headers, trust_env=False)
            assert response.status_code == 200, response.text
            kid = verify_gateway_response(response, jwks)
            body = response.json()
            assert body["holder"]["name"] == zs_licence.holder.name
            exchange["id"] = response.headers["x-tongban-exchange-id"]
            holder = body["holder"]["name"]
            return f"{body['title']} {body['licence_number']} of {holder}; GB18030 SOAP behind; signed by {kid[:8]}…"

        def replay() -> str:
            path = f"/v1/registries/440300/licences/{quote(sz_licence.licence_number, safe='')}"
            headers = rest.signed_headers("GET", url + path, b"", audience=info["gateway_id"])
            first = httpx.get(url + path, headers=headers, trust_env=False)
            second = httpx.get(url + path, headers=headers, trust_env=False)
            assert first.status_code == 200 and second.status_code == 401, (first.status_code, second.status_code)
            code = second.json()["code"]
            return f"the same client assertion twice: {first.status_code}, then {second.status_code} {code}"

        def evidence() -> str:
            path = f"/v1/audit/exchanges/{exchange['id']}/evidence"
            headers = rest.signed_headers("GET", url + path, b"", audience=info["gateway_id"])
            bundle = httpx.get(url + path, headers=headers, trust_env=False, timeout=30).json()
            key = parse_verifier_key(info["audit_key"]).public_key
            report = check_evidence(bundle, key)
            assert report.passed, [check for check in report.checks if not check.passed]
            return f"{len(report.checks)} checks pass offline with only the log's public key"

        samples = active.sandbox_dir / "samples"

        def document(name: str) -> bytes:
            path = samples / name
            if not path.is_file():
                raise FileNotFoundError(f"no sample {path}: `make run` or `tongban sandbox` makes them")
            return path.read_bytes()

        def post(path: str, payload: dict[str, Any], status: int = 200, member: Any = rest) -> dict[str, Any]:
            body = json.dumps(payload).encode()
            headers = member.signed_headers(
                "POST", url + path, body, audience=info["gateway_id"], headers={"content-type": "application/json"}
            )
            response = httpx.post(url + path, headers=headers, content=body, trust_env=False, timeout=30)
            assert response.status_code == status, response.text
            verify_gateway_response(response, jwks)
            answer: dict[str, Any] = response.json()
            return answer

        def shenzhen_licence_in_zhongshan() -> str:
            client = gateway_soap_client(
                url, key_file=soap_key, certificate_file=soap_cert, gateway_certificate_file=gateway_cert
            )
            answer = client.service.VerifyLicence(document=document("440300/licence-valid.ofd"))
            assert answer.recognised and answer.indication == "TOTAL_PASSED", (answer.indication, answer.message)
            mapped = json.loads(answer.reportJson)["mapped"]["DZZZ"]
            return (
                f"OFD/SES (SM2) {answer.licence.title} {answer.licence.licenceNumber}: {answer.indication}, "
                f"registry {answer.registryStatus}; as Zhongshan's DZZZ ZZLXDM={mapped['ZZLXDM']} ZZZT={mapped['ZZZT']}"
            )

        def zhongshan_licence_in_shenzhen() -> str:
            answer = post(
                "/v1/licences/verify",
                {"document": base64.b64encode(document("442000/licence-valid.xml")).decode()},
            )
            report = answer["report"]
            assert answer["recognised"], (report["indication"], report["sub_indication"], report["messages"])
            anchor = report["trust_anchor"]
            mapped = answer["mapped"]
            return (
                f"XML-DSig {answer['licence']['title']}: {report['indication']} via {anchor['service_name']} on "
                f"{anchor['trust_list_city']}'s list; in Shenzhen's schema: {', '.join(list(mapped)[:4])}…"
            )

        def bad_documents_refused() -> str:
            seen = []
            for name in ("440300/licence-revoked-certificate.jws", "442000/licence-tampered.pdf"):
                report = post("/v1/licences/verify", {"document": base64.b64encode(document(name)).decode()})["report"]
                assert report["indication"] != "TOTAL_PASSED", name
                seen.append(f"{name.split('/')[1]}: {report['indication']}/{report['sub_indication']}")
            return "; ".join(seen)

        def seal_recognised() -> str:
            answer = post(
                "/v1/seals/verify", {"document": base64.b64encode(document("440300/seal-valid.ofd")).decode()}
            )
            report = answer["report"]
            assert answer["recognised"], (report["indication"], report["sub_indication"], report["messages"])
            seal = report["seal"]
            platform = report["registry_status"]
            return f"「{seal['name']}」 {seal['seal_id']}: {report['indication']}, seal platform says {platform}"

        def fetched_with_consent() -> str:
            from adapters.sandbox_documents import consent_token, load_sandbox_pki
            from gateway.clock import SystemClock

            now = SystemClock().now()
            holder = next(item for item in data.city("zhongshan").licences if item.holder.id_type == "uscc").holder
            token = consent_token(
                load_sandbox_pki(active.sandbox_dir, now),
                "442000",
                holder_id=holder.id_number,
                requester=REST_WINDOW,
                audience=info["gateway_id"],
                purposes=["licence.recognition"],
                licence_types=None,
                now=now,
            )
            path = f"/v1/licences?holder_id={holder.id_number}&issuing_city=442000"
            extra = {"x-tongban-purpose": "licence.recognition"}
            refused = httpx.get(
                url + path,
                headers=rest.signed_headers("GET", url + path, b"", audience=info["gateway_id"], headers=extra),
                trust_env=False,
            )
            assert refused.status_code == 403, refused.text
            extra["x-tongban-consent"] = token
            headers = rest.signed_headers("GET", url + path, b"", audience=info["gateway_id"], headers=extra)
            response = httpx.get(url + path, headers=headers, trust_env=False, timeout=30)
            assert response.status_code == 200, response.text
            items = response.json()["items"]
            titles = ", ".join(item["licence"]["title"] for item in items)
            return f"{holder.name}: without consent {refused.json()['code']}; with it {len(items)} ({titles})"

        def application_handled_in_zhongshan() -> str:
            person = data.city("shenzhen").persons[0]
            upload = base64.b64encode("申请材料".encode()).decode()
            submitted = post(
                "/v1/applications",
                {
                    "item_code": "GAJ-0001",
                    "receiving_city": "440300",
                    "applicant": {"name": person.name, "id_number": person.id_number},
                    "materials": [
                        {"code": code, "content_b64": upload} for code in ("applicant_id", "health_form", "photo")
                    ],
                },
                status=201,
            )
            path = f"/v1/applications/{submitted['id']}"
            deadline = time.monotonic() + 60
            while True:
                headers = rest.signed_headers("GET", url + path, b"", audience=info["gateway_id"])
                found = httpx.get(url + path, headers=headers, trust_env=False, timeout=30).json()
                if found["status"] in ("concluded", "delivered") or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            assert found["status"] in ("concluded", "delivered"), found["timeline"]
            rated = post(f"{path}/rating", {"level": "非常满意"})
            steps = " → ".join(event["label"] for event in found["timeline"])
            return (
                f"{found['item_name']} for {person.name}: {steps} by {found['timeline'][-1]['by']} "
                f"(deadline {found['deadline']}, rated {rated['rating']['level']})"
            )

        def open_penalties(subject: Any) -> list[Any]:
            return [r for r in subject.records if r.kind == "administrative_penalty" and r.repaired_on is None]

        # Shenzhen enterprises the seed gave a penalty still published (a rerun may find some repaired).
        penalised = [s for s in data.city("shenzhen").credit_subjects if s.status == "active" and open_penalties(s)]
        # Repairs use up the sandbox's published penalties until it restarts (the README's walk-through
        # repairs Shenzhen's one): Hohhot's platform, which also takes repairs, has more.
        repairable = [("440300", "Shenzhen", subject) for subject in penalised] + [
            ("150100", "Hohhot", subject)
            for subject in data.city("hohhot").credit_subjects
            if subject.status == "active" and open_penalties(subject)
        ]

        def credit_report(member: Any, code: str, purpose: str) -> dict[str, Any]:
            return post("/v1/credit/reports", {"subject_code": code, "purpose": purpose}, status=201, member=member)

        def verdict_of(signed: str) -> dict[str, Any]:
            return post("/v1/credit/reports/verify", {"signed_report": signed}, member=bank)

        def credit_report_for_a_bank() -> str:
            issued = credit_report(bank, penalised[0].uscc, "financing")
            report = issued["report"]
            assert "administrative_penalties" in report["sections_withheld"], report["sections_withheld"]
            valid = verdict_of(issued["signed_report"])
            assert valid["verdict"] == "valid", valid
            header, payload, signature = issued["signed_report"].split(".")
            changed = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).replace(
                b'"financing"', b'"Financing"', 1
            )
            forged = f"{header}.{base64.urlsafe_b64encode(changed).rstrip(b'=').decode()}.{signature}"
            tampered = verdict_of(forged)
            assert tampered["verdict"] == "tampered", tampered
            return (
                f"{report['subject']['name']} (Shenzhen) for financing: {len(report['sections'])} sections, "
                f"withheld {', '.join(report['sections_withheld'])}; {valid['verdict']}; one byte changed: "
                f"{tampered['verdict']}"
            )

        def credit_repair_supersedes() -> str:
            from adapters.sandboxes import record_credit_repair
            from gateway.clock import SystemClock

            def first_unrepaired() -> tuple[str, str, Any, dict[str, Any], dict[str, Any]]:
                for region, city_name, subject in repairable:
                    approval = credit_report(rest, subject.uscc, "administrative_approval")
                    published = approval["report"]["sections"]["administrative_penalties"]
                    penalty = next((item for item in published if not item["repaired"]), None)
                    if penalty is not None:
                        return region, city_name, subject, approval, penalty
                raise RuntimeError("the sandboxes have no unrepaired penalty left; restart them (make run) for more")

            region, city_name, subject, approval, penalty = first_unrepaired()
            financing = credit_report(bank, subject.uscc, "financing")
            assert verdict_of(approval["signed_report"])["verdict"] == "valid"
            today = SystemClock().now().date()
            record_credit_repair(region, active.partner_urls[region], subject.uscc, penalty["decision_number"], today)
            superseded = verdict_of(approval["signed_report"])
            assert superseded["verdict"] == "superseded", superseded
            unaffected = verdict_of(financing["signed_report"])
            assert unaffected["verdict"] == "valid", unaffected  # penalties were withheld from it
            return (
                f"{penalty['decision_number']} repaired at the {city_name} platform: the window's approval report is "
                f"{superseded['verdict']} "
                f"({', '.join(superseded['changed_sections'])}); the bank's financing report stays "
                f"{unaffected['verdict']}"
            )

        try:  # the recognition flows need the cities' trust lists, loaded just after start-up
            wait_for_trust_lists(url)
        except RuntimeError as exc:
            say(str(exc))
        _flow(results, "Shenzhen licence recognised at a Zhongshan window (SOAP)", shenzhen_licence_in_zhongshan)
        _flow(results, "Zhongshan licence recognised at a Shenzhen window (REST)", zhongshan_licence_in_shenzhen)
        _flow(results, "revoked signer and tampered licence refused", bad_documents_refused)
        _flow(results, "Shenzhen enterprise e-seal verified from Zhongshan", seal_recognised)
        _flow(
            results, "Zhongshan licences fetched by a Shenzhen window with the holder's consent", fetched_with_consent
        )
        _flow(results, "Zhongshan SOAP window → Shenzhen REST licence registry", soap_to_rest)
        _flow(results, "Shenzhen REST window → Zhongshan SOAP licence registry", rest_to_soap)
        _flow(results, "replayed client assertion refused", replay)
        _flow(
            results,
            "Shenzhen window application handled in Zhongshan (SOAP), reported back",
            application_handled_in_zhongshan,
        )
        _flow(results, "Shenzhen enterprise's credit report for a Zhongshan bank (financing)", credit_report_for_a_bank)
        _flow(results, "a credit repair at the platform supersedes a report issued before", credit_repair_supersedes)
        if "id" in exchange:
            _flow(results, "evidence bundle of that exchange verified offline", evidence)
        _run_service_flows(
            results, DemoContext(url, active, info["gateway_id"], jwks, data, active.var_dir / "demo-keys")
        )
    return results


def _run_service_flows(results: list[DemoResult], context: DemoContext) -> None:
    from gateway.services import domain_services

    for service in domain_services():
        if service.demo_flows is None:
            continue
        try:
            flows = service.demo_flows(context)
        except Exception as exc:  # a service that cannot even set its flows up is one failed row
            results.append(DemoResult(f"{service.name} flows", False, f"{type(exc).__name__}: {exc}"[:200]))
            continue
        for name, step in flows:
            _flow(results, name, step)

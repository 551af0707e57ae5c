"""The audit endpoints: public checkpoint, entries, proofs, consistency, evidence, who may read, cosignatures."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway.audit import (
    Checkpoint,
    Verifier,
    add_signature,
    check_evidence,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    verifier_key_string,
    verify_consistency,
    verify_inclusion,
)

CLIENT = "442000.zsgov.window"
PROVIDER = "440300.szamr.licence"
STRANGER = "440300.szgov.window"
SUPERVISOR = "440000.gdzwfw.supervision"
WITNESS = "442000.tongban.gateway"
WITNESS_ORIGIN = "442000.tongban.gateway/audit"
INTERVAL = 0.05


async def partner(request: Request) -> Response:
    body = await request.body()
    return Response(json.dumps({"echo": body.decode("utf-8", "replace")}).encode(), media_type="application/json")


@dataclass
class Audited:
    gateway: Any
    service: str
    exchange_ids: list[str] = field(default_factory=list)

    @property
    def log(self) -> Any:
        return self.gateway.runtime.transparency_log

    def member(self, member_id: str) -> Any:
        return self.gateway.members[member_id]

    def exchange(self) -> str:
        response = self.gateway.call(
            self.member(CLIENT),
            "POST",
            f"/v1/exchange/{self.service}/records",
            body=b'{"holder":"91440300MA5FXXXX0X"}',
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        self.exchange_ids.append(response.headers["x-tongban-exchange-id"])
        return self.exchange_ids[-1]

    def get(self, member_id: str | None, path: str) -> httpx.Response:
        if member_id is None:
            return httpx.get(self.gateway.url + path, trust_env=False, timeout=30)
        return self.gateway.call(self.member(member_id), "GET", path)

    def well_known(self) -> dict[str, Any]:
        answer: dict[str, Any] = httpx.get(self.gateway.url + "/.well-known/tongban", trust_env=False).json()
        return answer

    def verifier(self) -> Verifier:
        return parse_verifier_key(self.well_known()["audit_key"])

    def fresh_checkpoint(self) -> tuple[str, Checkpoint]:
        """GET the checkpoint once the interval has passed, so that it covers every entry so far."""
        time.sleep(INTERVAL * 1.5)
        response = self.get(None, "/v1/audit/checkpoint")
        assert response.status_code == 200, response.text
        text, _signers = open_note(response.text, [self.verifier()])
        checkpoint = parse_checkpoint(text)
        assert checkpoint.size == self.log.size()
        return response.text, checkpoint


@pytest.fixture
def audited(start_gateway: Any, serve: Any) -> Any:
    """A gateway with a client, a provider, an unrelated member and a supervisor, after one exchange."""

    def build(**settings: Any) -> Audited:
        upstream = serve(Starlette(routes=[Route("/{path:path}", partner, methods=["GET", "POST"])]))
        settings.setdefault("audit_checkpoint_interval_seconds", INTERVAL)
        gateway = start_gateway(**settings)
        for member_id in (CLIENT, STRANGER, SUPERVISOR, WITNESS):
            gateway.add_member(member_id)
        gateway.add_member(PROVIDER, "ecdsa-p256")
        service = gateway.add_service(PROVIDER, "records", upstream.url + "/api")
        gateway.grant(CLIENT, service)
        gateway.grant(SUPERVISOR, "audit.read")
        state = Audited(gateway, service)
        state.exchange()
        return state

    return build


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def b64decode(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


# ---- the public checkpoint ----------------------------------------------------------------------


def test_checkpoint_is_public_signed_note_text_verifiable_with_the_published_key(audited: Any) -> None:
    state = audited()
    well_known = state.well_known()
    note, checkpoint = state.fresh_checkpoint()
    response = state.get(None, "/v1/audit/checkpoint")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == note
    origin, size, root, blank, signature, end = note.split("\n")
    assert (origin, blank, end) == (well_known["audit_origin"], "", "")
    assert (int(size), b64decode(root)) == (checkpoint.size, checkpoint.root_hash)
    assert signature.startswith(f"\u2014 {well_known['audit_origin']} ")
    assert checkpoint.origin == well_known["audit_origin"] == state.gateway.settings.audit_origin
    assert checkpoint.size == 2  # request and response of the one exchange
    with pytest.raises(ValueError):  # and no other key opens it
        open_note(note, [Verifier.from_public_key(origin, Ed25519PrivateKey.generate().public_key())])


# ---- entries and proofs -------------------------------------------------------------------------


def test_entry_answers_index_entry_and_leaf_hash_of_its_jcs_bytes(audited: Any) -> None:
    state = audited()
    for index in (0, 1):
        response = state.get(CLIENT, f"/v1/audit/entries/{index}")
        assert response.status_code == 200, response.text
        answer = response.json()
        assert set(answer) == {"index", "entry", "leaf_hash"}
        assert answer["index"] == index
        assert answer["entry"]["exchange_id"] == state.exchange_ids[0]
        assert b64decode(answer["leaf_hash"]) == hashlib.sha256(b"\x00" + rfc8785.dumps(answer["entry"])).digest()
    assert state.get(CLIENT, "/v1/audit/entries/0").json()["entry"]["kind"] == "exchange.request"


def test_inclusion_proof_verifies_against_the_checkpoint_root(audited: Any) -> None:
    state = audited()
    state.exchange()
    _note, checkpoint = state.fresh_checkpoint()
    assert checkpoint.size == 4
    for index in range(checkpoint.size):
        leaf = b64decode(state.get(CLIENT, f"/v1/audit/entries/{index}").json()["leaf_hash"])
        response = state.get(CLIENT, f"/v1/audit/entries/{index}/proof?tree_size={checkpoint.size}")
        assert response.status_code == 200, response.text
        proof = response.json()
        assert proof.keys() == {"leaf_index", "tree_size", "hashes"}
        assert (proof["leaf_index"], proof["tree_size"]) == (index, checkpoint.size)
        hashes = [b64decode(value) for value in proof["hashes"]]
        verify_inclusion(leaf, index, checkpoint.size, hashes, checkpoint.root_hash)
    default = state.get(CLIENT, "/v1/audit/entries/1/proof")
    assert default.status_code == 200 and default.json()["tree_size"] == checkpoint.size


def test_consistency_proof_verifies_between_two_checkpoints(audited: Any) -> None:
    state = audited()
    _note, first = state.fresh_checkpoint()
    state.exchange()
    state.exchange()
    _note, second = state.fresh_checkpoint()
    assert (first.size, second.size) == (2, 6)
    response = state.get(STRANGER, f"/v1/audit/consistency?first={first.size}&second={second.size}")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer.keys() == {"first", "second", "hashes"}
    assert (answer["first"], answer["second"]) == (first.size, second.size)
    hashes = [b64decode(value) for value in answer["hashes"]]
    verify_consistency(first.size, second.size, first.root_hash, second.root_hash, hashes)


def test_evidence_endpoint_returns_a_bundle_that_checks(audited: Any) -> None:
    state = audited()
    exchange_id = state.exchange_ids[0]
    response = state.get(CLIENT, f"/v1/audit/exchanges/{exchange_id}/evidence")
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["exchange_id"] == exchange_id
    assert [item["entry"]["kind"] for item in bundle["entries"]] == ["exchange.request", "exchange.response"]
    assert bundle["checkpoint"].startswith(state.gateway.settings.audit_origin + "\n")
    report = check_evidence(bundle, state.verifier().public_key)
    assert report.passed, report.checks


# ---- who may read --------------------------------------------------------------------------------


def test_client_provider_and_audit_readers_may_read_an_exchange_others_may_not(audited: Any) -> None:
    state = audited()
    exchange_id = state.exchange_ids[0]
    paths = ["/v1/audit/entries/0", "/v1/audit/entries/1/proof", f"/v1/audit/exchanges/{exchange_id}/evidence"]
    state.fresh_checkpoint()
    for path in paths:
        for reader in (CLIENT, PROVIDER, SUPERVISOR):
            response = state.get(reader, path)
            assert response.status_code == 200, (reader, path, response.text)
        problem(state.get(STRANGER, path), 403, "access.denied")
    state.gateway.grant(STRANGER, "audit.read")
    assert all(state.get(STRANGER, path).status_code == 200 for path in paths)


def test_every_audit_read_but_the_checkpoint_needs_authentication(audited: Any) -> None:
    state = audited()
    assert state.get(None, "/v1/audit/checkpoint").status_code == 200
    for path in (
        "/v1/audit/entries/0",
        "/v1/audit/entries/0/proof?tree_size=2",
        "/v1/audit/consistency?first=1&second=2",
        f"/v1/audit/exchanges/{state.exchange_ids[0]}/evidence",
    ):
        problem(state.get(None, path), 401, "auth.missing_token")
    problem(
        httpx.post(state.gateway.url + "/v1/audit/checkpoint/cosignatures?size=2", content=b"x", trust_env=False),
        401,
        "auth.missing_token",
    )


def test_unknown_entries_and_exchanges_are_404(audited: Any) -> None:
    state = audited()
    problem(state.get(SUPERVISOR, "/v1/audit/entries/999"), 404, "request.not_found")
    problem(state.get(SUPERVISOR, "/v1/audit/entries/999/proof?tree_size=2"), 404, "request.not_found")
    problem(
        state.get(SUPERVISOR, "/v1/audit/exchanges/00000000-0000-7000-8000-000000000000/evidence"),
        404,
        "request.not_found",
    )


@pytest.mark.parametrize("tree_size", ["0", "1", "3", "999", "-1", "abc", "1.5", ""])
def test_bad_tree_size_is_422(audited: Any, tree_size: str) -> None:
    state = audited()  # two entries: entry 1 is in trees of size 2 only
    problem(state.get(CLIENT, f"/v1/audit/entries/1/proof?tree_size={tree_size}"), 422, "request.invalid")


def test_bad_consistency_sizes_are_422(audited: Any) -> None:
    state = audited()
    for query in ("first=2&second=1", "first=1&second=3", "first=-1&second=2", "first=x&second=2", "first=1"):
        problem(state.get(CLIENT, f"/v1/audit/consistency?{query}"), 422, "request.invalid")


@pytest.mark.parametrize(
    "path",
    ["/v1/audit/entries/1/proof?tree_size=%C2%B2&tree_size=2", "/v1/audit/consistency?first=%C2%B2&first=1&second=2"],
)
def test_malformed_repeated_numbers_are_422_never_500(audited: Any, path: str) -> None:
    state = audited()
    problem(state.get(CLIENT, path), 422, "request.invalid")


@pytest.mark.parametrize(
    "path",
    [
        "/v1/audit/entries/9223372036854775808",  # 2^63: past SQLite's integers
        "/v1/audit/entries/99999999999999999999",
        "/v1/audit/entries/99999999999999999999/proof",
        "/v1/audit/entries/9223372036854775807/proof?tree_size=2",
        "/v1/audit/entries/9007199254740992",  # 2^53: the first index out of range
        "/v1/audit/entries/-1",
        "/v1/audit/entries/1/proof?tree_size=99999999999999999999",
        "/v1/audit/entries/1/proof?tree_size=9007199254740993",
        "/v1/audit/consistency?first=1&second=99999999999999999999",
        "/v1/audit/consistency?first=9223372036854775808&second=9223372036854775809",
        "/v1/members?page=99999999999999999999",
        "/v1/members?page=1000001",
        "/v1/services?page_size=99999999999999999999",
        "/v1/services?page=%D9%A1",  # an Arabic-Indic one: int() would take it
    ],
)
def test_numbers_out_of_their_documented_range_are_422(audited: Any, path: str) -> None:
    state = audited()
    problem(state.get(SUPERVISOR, path), 422, "request.invalid")


def test_an_index_in_range_but_past_the_end_of_the_log_is_404(audited: Any) -> None:
    state = audited()
    for path in ("/v1/audit/entries/9007199254740991", "/v1/audit/entries/9007199254740991/proof"):
        problem(state.get(SUPERVISOR, path), 404, "request.not_found")


def test_a_cosignature_of_a_size_out_of_range_is_422(audited: Any) -> None:
    state = audited()
    state.gateway.grant(WITNESS, "audit.witness")
    response = state.gateway.call(
        state.member(WITNESS), "POST", "/v1/audit/checkpoint/cosignatures?size=99999999999999999999", body=b"x"
    )
    problem(response, 422, "request.invalid")


def test_the_ranges_are_in_the_openapi_document(audited: Any) -> None:
    state = audited()
    spec = httpx.get(state.gateway.url + "/openapi.json", trust_env=False).json()
    parameters = {p["name"]: p["schema"] for p in spec["paths"]["/v1/audit/entries/{index}/proof"]["get"]["parameters"]}
    assert parameters["index"]["maximum"] == 2**53 - 1 and parameters["index"]["minimum"] == 0
    members = {p["name"]: p["schema"] for p in spec["paths"]["/v1/members"]["get"]["parameters"]}
    assert members["page_size"]["maximum"] == 500


def test_proof_without_tree_size_covers_even_the_newest_entry(audited: Any) -> None:
    state = audited(audit_checkpoint_interval_seconds=30)  # the first append's checkpoint covers entry 0 only
    response = state.get(CLIENT, "/v1/audit/entries/1/proof")
    assert response.status_code == 200, response.text
    assert response.json()["tree_size"] >= 2


def test_audit_reads_add_no_entries(audited: Any) -> None:
    state = audited()
    state.fresh_checkpoint()
    before = state.log.size()
    exchange_id = state.exchange_ids[0]
    for member_id in (CLIENT, STRANGER, None):
        state.get(member_id, "/v1/audit/checkpoint")
        state.get(member_id, "/v1/audit/entries/0")
        state.get(member_id, "/v1/audit/entries/0/proof?tree_size=2")
        state.get(member_id, "/v1/audit/entries/77")
        state.get(member_id, "/v1/audit/consistency?first=1&second=2")
        state.get(member_id, f"/v1/audit/exchanges/{exchange_id}/evidence")
    assert state.log.size() == before == 2
    assert [entry["kind"] for _index, entry in state.log.entries_for(exchange_id)] == [
        "exchange.request",
        "exchange.response",
    ]


# ---- cosignatures -------------------------------------------------------------------------------


def cosign(state: Audited, member_id: str, size: int, note: str) -> httpx.Response:
    return state.gateway.call(
        state.member(member_id),
        "POST",
        f"/v1/audit/checkpoint/cosignatures?size={size}",
        body=note.encode(),
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )


@pytest.fixture
def witnessed(audited: Any) -> tuple[Audited, Ed25519PrivateKey]:
    witness_key = Ed25519PrivateKey.generate()
    state = audited(audit_witness_keys=[verifier_key_string(WITNESS_ORIGIN, witness_key.public_key())])
    state.gateway.grant(WITNESS, "audit.witness")
    return state, witness_key


def test_a_configured_witness_cosigns_and_the_checkpoint_carries_both_signatures(
    witnessed: tuple[Audited, Ed25519PrivateKey],
) -> None:
    state, witness_key = witnessed
    note, checkpoint = state.fresh_checkpoint()
    cosigned = add_signature(note, WITNESS_ORIGIN, witness_key)
    response = cosign(state, WITNESS, checkpoint.size, cosigned)
    assert response.status_code == 200, response.text
    assert response.json()["note"] == cosigned

    served = state.get(None, "/v1/audit/checkpoint").text
    assert served == cosigned
    signature_lines = served.split("\n\n", 1)[1].splitlines()
    assert [line.split(" ")[1] for line in signature_lines] == [state.gateway.settings.audit_origin, WITNESS_ORIGIN]
    witness = Verifier.from_public_key(WITNESS_ORIGIN, witness_key.public_key())
    _text, signers = open_note(served, [state.verifier(), witness])
    assert signers == [state.gateway.settings.audit_origin, WITNESS_ORIGIN]
    stored = state.log.checkpoint_at(checkpoint.size)
    assert stored is not None and stored.note == cosigned
    assert state.log.verify() == state.log.size()  # the cosigned note still verifies as ours


def test_a_cosignature_by_an_unconfigured_key_is_422(witnessed: tuple[Audited, Ed25519PrivateKey]) -> None:
    state, _witness_key = witnessed
    note, checkpoint = state.fresh_checkpoint()
    stranger_key = Ed25519PrivateKey.generate()
    response = cosign(state, WITNESS, checkpoint.size, add_signature(note, WITNESS_ORIGIN, stranger_key))
    problem(response, 422, "request.invalid")
    assert state.get(None, "/v1/audit/checkpoint").text == note


def test_a_cosignature_of_another_size_or_text_is_422(witnessed: tuple[Audited, Ed25519PrivateKey]) -> None:
    state, witness_key = witnessed
    note, checkpoint = state.fresh_checkpoint()
    cosigned = add_signature(note, WITNESS_ORIGIN, witness_key)
    problem(cosign(state, WITNESS, checkpoint.size + 5, cosigned), 422, "request.invalid")
    problem(cosign(state, WITNESS, checkpoint.size, "not a note"), 422, "request.invalid")
    problem(cosign(state, WITNESS, checkpoint.size, note), 422, "request.invalid")  # our signature alone


def test_two_witnesses_cosigning_the_same_checkpoint_both_stay_on_it(audited: Any) -> None:
    first_key, second_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    second_origin = "440600.tongban.gateway/audit"
    state = audited(
        audit_witness_keys=[
            verifier_key_string(WITNESS_ORIGIN, first_key.public_key()),
            verifier_key_string(second_origin, second_key.public_key()),
        ]
    )
    state.gateway.grant(WITNESS, "audit.witness")
    note, checkpoint = state.fresh_checkpoint()
    for name, key in ((WITNESS_ORIGIN, first_key), (second_origin, second_key)):
        response = cosign(state, WITNESS, checkpoint.size, add_signature(note, name, key))
        assert response.status_code == 200, response.text
    witnesses = [
        Verifier.from_public_key(WITNESS_ORIGIN, first_key.public_key()),
        Verifier.from_public_key(second_origin, second_key.public_key()),
    ]
    _text, signers = open_note(state.get(None, "/v1/audit/checkpoint").text, [state.verifier(), *witnesses])
    assert sorted(signers) == sorted([state.gateway.settings.audit_origin, WITNESS_ORIGIN, second_origin])


def test_cosigning_needs_the_witness_right(witnessed: tuple[Audited, Ed25519PrivateKey]) -> None:
    state, witness_key = witnessed
    note, checkpoint = state.fresh_checkpoint()
    cosigned = add_signature(note, WITNESS_ORIGIN, witness_key)
    for member_id in (CLIENT, SUPERVISOR):
        problem(cosign(state, member_id, checkpoint.size, cosigned), 403, "access.denied")
    assert state.get(None, "/v1/audit/checkpoint").text == note

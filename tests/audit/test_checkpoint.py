"""C2SP checkpoints and signed notes: golang.org/x/mod/sumdb/note and sum.golang.org vectors, round trips."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit._checkpoint import (
    MAX_SIGNATURES,
    Checkpoint,
    InvalidKey,
    MalformedCheckpoint,
    MalformedNote,
    UnverifiedNote,
    Verifier,
    add_signature,
    format_checkpoint,
    key_id,
    open_note,
    parse_checkpoint,
    parse_verifier_key,
    sign_note,
    verifier_key_string,
)

# golang.org/x/mod/sumdb/note, note.go documentation and note_test.go.
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
PETER_B64 = "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM="
ENOCH_B64 = "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ="
PETER_SIG = f"— PeterNeumann {PETER_B64}\n"
ENOCH_SIG = f"— EnochRoot {ENOCH_B64}\n"

# sum.golang.org: its verifier key (cmd/go/internal/modfetch/key.go) and tree heads it published.
SUMDB_VKEY = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"
SUMDB_NOTES = [
    (
        "go.sum database tree\n15368405\n/g9am3I6YWNKaZX/jkne1fqd9zEyjss+JXyPXG0WfkY=\n\n"
        "— sum.golang.org "
        "Az3grqJGUaSGukG9p8nI2vKgiFn7qGHxn0W+mrwyI6Gz3F0t1J3LzmWk/p96Ybf295EjwdSwlzgijq5WA9d1Ded7owM=\n",
        15368405,
    ),
    (
        "go.sum database tree\n63512409\nF7eHRPqN/cqPtqti14NKdGGaI1Giw8coWP3KxihFZbg=\n\n"
        "— sum.golang.org "
        "Az3gri1OBHKT87Xj8UXU8zjoHGy/X+7Nl94f8TZkELVaasolmGApUsWqwVG9vE6hgqYb/ph/w2vdkLIVRH7bMB/FPQ4=\n",
        63512409,
    ),
]

# The examples in the C2SP texts; their keys are not published.
C2SP_NOTE = (
    "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n\n"
    "— quasimodo.example/salvatore "
    "NnugSzTjtVAewIS+Z/iJhUPeFDkO/5QQ2i5ddnGITLlC+EhfLW9oJKONrMouFSQU0xMcXxj99ihAQwaqP3ZekRwNtIc=\n"
)
C2SP_CHECKPOINT = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def _go_signer_key(skey: str) -> Ed25519PrivateKey:
    """The Ed25519 key inside a Go "PRIVATE+KEY+name+hash+base64(0x01 || seed)" string."""
    raw = base64.b64decode(skey.split("+", 4)[4])
    assert raw[0] == 1
    return Ed25519PrivateKey.from_private_bytes(raw[1:])


PETER = parse_verifier_key(PETER_VKEY)
ENOCH = parse_verifier_key(ENOCH_VKEY)


# -- golang.org/x/mod/sumdb/note vectors ----------------------------------------------------------


def test_verifier_key_vector() -> None:
    assert PETER.name == "PeterNeumann"
    assert PETER.key_id == 0xC74F20A3
    assert verifier_key_string(PETER.name, PETER.public_key) == PETER_VKEY
    private_key = _go_signer_key(PETER_SKEY)
    assert key_id("PeterNeumann", private_key.public_key()) == 0xC74F20A3
    assert verifier_key_string("PeterNeumann", private_key.public_key()) == PETER_VKEY


def test_sign_matches_go_vector() -> None:
    assert sign_note(TEXT, "PeterNeumann", _go_signer_key(PETER_SKEY)) == TEXT + "\n" + PETER_SIG


def test_open_go_vector() -> None:
    assert open_note(TEXT + "\n" + PETER_SIG, [PETER]) == (TEXT, ["PeterNeumann"])
    assert open_note((TEXT + "\n" + PETER_SIG).encode("utf-8"), [PETER]) == (TEXT, ["PeterNeumann"])


def test_open_go_cosigned_vector() -> None:
    note = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(note, [PETER, ENOCH]) == (TEXT, ["PeterNeumann", "EnochRoot"])
    # Unknown keys' lines are ignored.
    assert open_note(note, [PETER]) == (TEXT, ["PeterNeumann"])
    assert open_note(note, [ENOCH]) == (TEXT, ["EnochRoot"])
    with pytest.raises(UnverifiedNote):
        open_note(note, [])


def test_open_rejects_bad_signature_from_known_key() -> None:
    # note_test.go: four base64 characters inserted into the signature.
    bad = TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(UnverifiedNote):
        open_note(bad, [PETER])
    # One failing known signature rejects the note even when another known key verifies.
    with pytest.raises(UnverifiedNote):
        open_note(bad + ENOCH_SIG, [PETER, ENOCH])


def test_open_ignores_repeated_lines() -> None:
    note = TEXT + "\n" + PETER_SIG + PETER_SIG + ENOCH_SIG + ENOCH_SIG
    assert open_note(note, [PETER]) == (TEXT, ["PeterNeumann"])


@pytest.mark.parametrize(
    "message",
    [
        TEXT,
        TEXT + "\n",
        TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + TEXT + "\n" + PETER_SIG,
        TEXT + "\n" + f"— Bad Name {PETER_B64}",
        TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        TEXT + "\n" + PETER_SIG.replace("— ", "- "),
        TEXT + "\n" + PETER_SIG.replace("\n", "\r\n"),
        TEXT + "\n" + "— PeterNeumann AAAA\n",
        TEXT + "\n" + "— PeterNeumann x08go/ZJkuBS9UG\n",
        TEXT + "\n" + f"— Peter+Neumann {PETER_B64}\n",
        TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
    ],
)
def test_open_rejects_malformed_notes(message: str) -> None:
    with pytest.raises(MalformedNote):
        open_note(message, [PETER])


def test_open_rejects_invalid_utf8() -> None:
    with pytest.raises(MalformedNote):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode("utf-8"), [PETER])


def test_verifier_key_manglings_rejected() -> None:
    # note_test.go TestNewVerifier: every proper substring and every one-character change fails.
    for i in range(len(PETER_VKEY) + 1):
        for j in range(i + 1, len(PETER_VKEY) + 1):
            if (i, j) != (0, len(PETER_VKEY)):
                with pytest.raises(InvalidKey):
                    parse_verifier_key(PETER_VKEY[i:j])
    for i, ch in enumerate(PETER_VKEY):
        with pytest.raises(InvalidKey):
            parse_verifier_key(PETER_VKEY[:i] + chr(ord(ch) + 1) + PETER_VKEY[i + 1 :])
    # Wrong-length key and unknown algorithm, each with its key hash adjusted.
    with pytest.raises(InvalidKey):
        parse_verifier_key("PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(InvalidKey):
        parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


# -- sum.golang.org checkpoints and the C2SP examples ---------------------------------------------


@pytest.mark.parametrize(("note", "size"), SUMDB_NOTES)
def test_sumdb_checkpoints_verify_and_parse(note: str, size: int) -> None:
    sumdb = parse_verifier_key(SUMDB_VKEY)
    text, names = open_note(note, [sumdb])
    assert names == ["sum.golang.org"]
    checkpoint = parse_checkpoint(text)
    assert (checkpoint.origin, checkpoint.size, checkpoint.extensions) == ("go.sum database tree", size, ())
    assert len(checkpoint.root_hash) == 32
    assert format_checkpoint(checkpoint) == text
    tampered = note.replace(f"\n{size}\n", f"\n{size + 1}\n")
    with pytest.raises(UnverifiedNote):
        open_note(tampered, [sumdb])


def test_c2sp_examples() -> None:
    # Well formed, but signed by keys we do not know: not malformed, unverified.
    with pytest.raises(UnverifiedNote):
        open_note(C2SP_NOTE, [PETER])
    checkpoint = parse_checkpoint(C2SP_CHECKPOINT)
    assert (checkpoint.origin, checkpoint.size) == ("example.com/behind-the-sofa", 20852163)
    assert format_checkpoint(checkpoint) == C2SP_CHECKPOINT


def test_text_with_blank_lines_round_trips() -> None:
    key = Ed25519PrivateKey.generate()
    text = C2SP_NOTE[: C2SP_NOTE.rindex("\n\n") + 1]
    note = sign_note(text, "quasimodo.example/salvatore", key)
    verifier = Verifier.from_public_key("quasimodo.example/salvatore", key.public_key())
    assert open_note(note, [verifier]) == (text, ["quasimodo.example/salvatore"])


# -- our own keys: signing, tampering, cosigning ------------------------------------------------------


ORIGIN = "tongban.example/shanghai"
LOG_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
LOG = Verifier.from_public_key(ORIGIN, LOG_KEY.public_key())
ROOT_8 = bytes.fromhex("5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328")  # RFC 9162 vectors
CHECKPOINT = Checkpoint(ORIGIN, 8, ROOT_8)


def test_signed_checkpoint_round_trip() -> None:
    note = sign_note(format_checkpoint(CHECKPOINT), ORIGIN, LOG_KEY)
    assert note.startswith(f"{ORIGIN}\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n\n— {ORIGIN} ")
    text, names = open_note(note, [parse_verifier_key(verifier_key_string(ORIGIN, LOG_KEY.public_key()))])
    assert names == [ORIGIN]
    assert parse_checkpoint(text) == CHECKPOINT


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_tampered_text_rejected(data: st.DataObject) -> None:
    note = sign_note(format_checkpoint(CHECKPOINT), ORIGIN, LOG_KEY)
    text_end = note.rindex("\n\n") + 1
    position = data.draw(st.integers(min_value=0, max_value=text_end - 1))
    if note[position] == "\n":
        return
    replacement = data.draw(st.sampled_from("abcXYZ019+/=.").filter(lambda ch: ch != note[position]))
    with pytest.raises(UnverifiedNote):
        open_note(note[:position] + replacement + note[position + 1 :], [LOG])


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=67), st.integers(min_value=0, max_value=7))
def test_tampered_signature_rejected(position: int, bit: int) -> None:
    note = sign_note(format_checkpoint(CHECKPOINT), ORIGIN, LOG_KEY)
    head, encoded = note[:-1].rsplit(" ", 1)
    raw = bytearray(base64.b64decode(encoded))
    raw[position] ^= 1 << bit
    with pytest.raises(UnverifiedNote):
        open_note(f"{head} {base64.b64encode(bytes(raw)).decode()}\n", [LOG])


def test_unknown_key_lines_ignored() -> None:
    stranger = Ed25519PrivateKey.generate()
    signed = sign_note(format_checkpoint(CHECKPOINT), "stranger.example", stranger)
    note = add_signature(signed, ORIGIN, LOG_KEY)
    assert open_note(note, [LOG])[1] == [ORIGIN]
    # Same name as a known key but another key ID, and another name with the known key ID: unknown.
    text = format_checkpoint(CHECKPOINT)
    impostor = sign_note(text, ORIGIN, stranger)
    assert open_note(add_signature(impostor, ORIGIN, LOG_KEY), [LOG])[1] == [ORIGIN]
    with pytest.raises(UnverifiedNote):
        open_note(impostor, [LOG])
    renamed = sign_note(text, ORIGIN, LOG_KEY).replace(f"— {ORIGIN} ", "— other.example ")
    with pytest.raises(UnverifiedNote):
        open_note(renamed, [LOG])


def test_cosigned_note_carries_both_signatures() -> None:
    witness_key = Ed25519PrivateKey.generate()
    witness = Verifier.from_public_key("beijing.example/witness", witness_key.public_key())
    signed = sign_note(format_checkpoint(CHECKPOINT), ORIGIN, LOG_KEY)
    cosigned = add_signature(signed, witness.name, witness_key)
    assert cosigned.startswith(signed)
    assert open_note(cosigned, [LOG, witness]) == (format_checkpoint(CHECKPOINT), [ORIGIN, witness.name])
    assert open_note(cosigned, [witness])[1] == [witness.name]
    # Cosigning again replaces the witness's line rather than adding a second one.
    assert add_signature(cosigned, witness.name, witness_key) == cosigned


def test_ambiguous_verifiers_rejected() -> None:
    other = Verifier(LOG.name, LOG.key_id, Ed25519PrivateKey.generate().public_key())
    note = sign_note(format_checkpoint(CHECKPOINT), ORIGIN, LOG_KEY)
    with pytest.raises(InvalidKey):
        open_note(note, [LOG, other])
    assert open_note(note, [LOG, LOG])[1] == [ORIGIN]


@pytest.mark.parametrize("text", ["no newline", "", "tab\there\n", "cr\r\n"])
def test_sign_rejects_bad_text(text: str) -> None:
    with pytest.raises(MalformedNote):
        sign_note(text, ORIGIN, LOG_KEY)


@pytest.mark.parametrize("name", ["", "a+b", "a b", "a\u3000b", "a\nb"])
def test_sign_rejects_bad_names(name: str) -> None:
    with pytest.raises(InvalidKey):
        sign_note(format_checkpoint(CHECKPOINT), name, LOG_KEY)
    with pytest.raises(InvalidKey):
        verifier_key_string(name, LOG_KEY.public_key())


# -- checkpoint text ------------------------------------------------------------------------------

_ROOT_B64 = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg="


@pytest.mark.parametrize(
    "text",
    [
        f"log\n8\n{_ROOT_B64}",  # no final newline
        "log\n8\n",
        f"\n8\n{_ROOT_B64}\n",
        f"log\n08\n{_ROOT_B64}\n",
        f"log\n-8\n{_ROOT_B64}\n",
        f"log\n+8\n{_ROOT_B64}\n",
        f"log\n 8\n{_ROOT_B64}\n",
        f"log\n1_000\n{_ROOT_B64}\n",
        f"log\n\u0668\n{_ROOT_B64}\n",  # an Arabic-Indic digit
        f"log\n{1 << 64}\n{_ROOT_B64}\n",
        "log\n8\nThisIsn'tBase64\n",
        "log\n8\nYmFuYW5hcw==\n",  # 7 bytes, not a SHA-256 root
        f"log\n8\n{_ROOT_B64[:-2]}h=\n",  # the same bytes with non-zero padding bits
        f"log\n8\n{_ROOT_B64}\n\n",  # empty extension line
        f"log\n8\n{_ROOT_B64}\next\n\nmore\n",
        f"lo\tg\n8\n{_ROOT_B64}\n",
    ],
)
def test_parse_rejects_malformed_checkpoints(text: str) -> None:
    with pytest.raises(MalformedCheckpoint):
        parse_checkpoint(text)


def test_checkpoint_with_extensions_and_empty_tree() -> None:
    text = "log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nfirst ext\nsecond\n"
    checkpoint = parse_checkpoint(text)
    assert checkpoint.size == 0 and checkpoint.extensions == ("first ext", "second")
    assert format_checkpoint(checkpoint) == text


@pytest.mark.parametrize(
    ("origin", "size", "root", "extensions"),
    [
        ("", 1, bytes(32), ()),
        ("a\nb", 1, bytes(32), ()),
        ("log", -1, bytes(32), ()),
        ("log", True, bytes(32), ()),
        ("log", 1, bytes(31), ()),
        ("log", 1, bytes(32), ("",)),
        ("log", 1, bytes(32), ("x\ny",)),
    ],
)
def test_checkpoint_rejects_bad_fields(origin: str, size: int, root: bytes, extensions: tuple[str, ...]) -> None:
    with pytest.raises(MalformedCheckpoint):
        Checkpoint(origin, size, root, extensions)


_line = st.text(alphabet=st.characters(min_codepoint=0x20, codec="utf-8"), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    _line,
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.binary(min_size=32, max_size=32),
    st.lists(_line, max_size=3),
)
def test_checkpoint_round_trip(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    checkpoint = Checkpoint(origin, size, root, tuple(extensions))
    text = format_checkpoint(checkpoint)
    assert parse_checkpoint(text) == checkpoint
    note = sign_note(text, ORIGIN, LOG_KEY)
    opened, _ = open_note(note, [LOG])
    assert parse_checkpoint(opened) == checkpoint

"""RFC 9162 Merkle hashing and proofs: published CT vectors, then Hypothesis round trips and tampering."""

from __future__ import annotations

import pytest
from conftest import load_vectors
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.audit._merkle import (
    EMPTY_ROOT,
    CompactRange,
    InvalidProof,
    InvalidRange,
    NodeReader,
    consistency_proof,
    consistency_proof_from_nodes,
    inclusion_proof,
    inclusion_proof_from_nodes,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    root_from_nodes,
    verify_consistency,
    verify_inclusion,
)

VECTORS = load_vectors("rfc9162-merkle.json")


def _hexes(values: list[str]) -> list[bytes]:
    return [bytes.fromhex(value) for value in values]


def _leaves(size: int) -> list[bytes]:
    return [leaf_hash(b"entry %d" % i) for i in range(size)]


def _node_reader(leaves: list[bytes]) -> NodeReader:
    """A node store as the log would keep it: every subtree CompactRange.append completes."""
    nodes: dict[tuple[int, int], bytes] = {}
    compact = CompactRange()
    for leaf in leaves:
        for level, index, value in compact.append(leaf):
            nodes[level, index] = value

    def get_node(level: int, index: int) -> bytes:
        return nodes[level, index]

    return get_node


def _flip(value: bytes, position: int) -> bytes:
    position %= len(value)
    return value[:position] + bytes([value[position] ^ 0x01]) + value[position + 1 :]


# -- published vectors ----------------------------------------------------------------------


def test_leaf_hashes_match_vectors() -> None:
    data = VECTORS
    inputs = _hexes(data["leaf_inputs_hex"])
    assert [leaf_hash(entry) for entry in inputs] == _hexes(data["leaf_hashes_hex"])


def test_roots_match_vectors() -> None:
    data = VECTORS
    leaves = _hexes(data["leaf_hashes_hex"])
    assert root_from_leaf_hashes([]) == EMPTY_ROOT == bytes.fromhex(data["empty_root_hex"])
    for size, root in data["roots_by_tree_size_hex"].items():
        n = int(size)
        assert root_from_leaf_hashes(leaves[:n]) == bytes.fromhex(root), size
        assert root_from_nodes(_node_reader(leaves[:n]), n) == bytes.fromhex(root), size
        compact = CompactRange()
        for leaf in leaves[:n]:
            compact.append(leaf)
        assert compact.root() == bytes.fromhex(root), size


def test_inclusion_proofs_match_vectors() -> None:
    data = VECTORS
    leaves = _hexes(data["leaf_hashes_hex"])
    roots = data["roots_by_tree_size_hex"]
    for case in data["inclusion_proofs"]:
        index, size, path = case["leaf_index"], case["tree_size"], _hexes(case["path_hex"])
        assert inclusion_proof(leaves, index, size) == path
        assert inclusion_proof_from_nodes(_node_reader(leaves), index, size) == path
        verify_inclusion(leaves[index], index, size, path, bytes.fromhex(roots[str(size)]))


def test_consistency_proofs_match_vectors() -> None:
    data = VECTORS
    leaves = _hexes(data["leaf_hashes_hex"])
    roots = data["roots_by_tree_size_hex"]
    for case in data["consistency_proofs"]:
        first, second, path = case["first"], case["second"], _hexes(case["path_hex"])
        assert consistency_proof(leaves, first, second) == path
        assert consistency_proof_from_nodes(_node_reader(leaves), first, second) == path
        verify_consistency(first, second, bytes.fromhex(roots[str(first)]), bytes.fromhex(roots[str(second)]), path)


def test_node_hash_is_rfc9162() -> None:
    data = VECTORS
    leaves = _hexes(data["leaf_hashes_hex"])
    assert node_hash(leaves[0], leaves[1]) == bytes.fromhex(data["roots_by_tree_size_hex"]["2"])


# -- edges and documented errors ---------------------------------------------------------------


def test_single_leaf_tree() -> None:
    leaf = leaf_hash(b"only")
    assert root_from_leaf_hashes([leaf]) == leaf
    assert inclusion_proof([leaf], 0, 1) == []
    verify_inclusion(leaf, 0, 1, [], leaf)


def test_empty_tree_consistency() -> None:
    leaves = _leaves(5)
    root = root_from_leaf_hashes(leaves)
    assert consistency_proof(leaves, 0, 5) == []
    verify_consistency(0, 5, EMPTY_ROOT, root, [])
    verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    with pytest.raises(InvalidProof):
        verify_consistency(0, 5, root, root, [])
    with pytest.raises(InvalidProof):
        verify_consistency(0, 5, EMPTY_ROOT, root, [root])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_inclusion_out_of_range(index: int, size: int) -> None:
    leaves = _leaves(3)
    with pytest.raises(InvalidRange):
        inclusion_proof(leaves, index, size)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaves[0], index, size, [], root_from_leaf_hashes(leaves))


def test_proofs_beyond_the_leaves_given() -> None:
    leaves = _leaves(3)
    with pytest.raises(InvalidRange):
        inclusion_proof(leaves, 0, 4)
    with pytest.raises(InvalidRange):
        consistency_proof(leaves, 1, 4)
    with pytest.raises(InvalidRange):
        consistency_proof(leaves, 3, 2)


def test_consistency_first_after_second() -> None:
    leaves = _leaves(4)
    with pytest.raises(InvalidProof):
        verify_consistency(4, 2, root_from_leaf_hashes(leaves), root_from_leaf_hashes(leaves[:2]), [])


def test_wrong_hash_sizes_are_invalid_proofs() -> None:
    leaves = _leaves(4)
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(leaves, 1, 4)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaves[1][:31], 1, 4, proof, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaves[1], 1, 4, [*proof[:-1], proof[-1] + b"\x00"], root)


def test_compact_range_resumes_from_nodes() -> None:
    leaves = _leaves(1000)
    get_node = _node_reader(leaves)
    for size in (0, 1, 2, 7, 64, 513, 999):
        resumed = CompactRange.from_nodes(get_node, size)
        assert resumed.size == size
        for leaf in leaves[size:]:
            resumed.append(leaf)
        assert resumed.root() == root_from_leaf_hashes(leaves)
        frontier = CompactRange.from_nodes(get_node, size).hashes
        assert CompactRange(size, frontier).root() == root_from_leaf_hashes(leaves[:size])
    with pytest.raises(InvalidRange):
        CompactRange(3, [leaves[0]])


def test_compact_range_streams_many_leaves() -> None:
    # A smaller stand-in for re-hashing a million entries: the root at every size matches.
    leaves = _leaves(4099)
    compact = CompactRange()
    for size, leaf in enumerate(leaves, start=1):
        compact.append(leaf)
        assert len(compact.hashes) == size.bit_count()
        if size & (size - 1) == 0 or size % 1000 == 0 or size == len(leaves):
            assert compact.root() == root_from_leaf_hashes(leaves[:size])


# -- properties ----------------------------------------------------------------------------------


@st.composite
def _inclusion_case(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(min_value=1, max_value=300))
    return draw(st.integers(min_value=0, max_value=size - 1)), size


@st.composite
def _consistency_case(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(min_value=1, max_value=300))
    return draw(st.integers(min_value=1, max_value=second)), second


@settings(max_examples=200, deadline=None)
@given(_inclusion_case(), st.integers(min_value=0))
def test_inclusion_round_trip_and_tampering(case: tuple[int, int], position: int) -> None:
    index, size = case
    leaves = _leaves(size)
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(leaves, index, size)
    assert proof == inclusion_proof_from_nodes(_node_reader(leaves), index, size)
    verify_inclusion(leaves[index], index, size, proof, root)

    with pytest.raises(InvalidProof):
        verify_inclusion(_flip(leaves[index], position), index, size, proof, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaves[index], index, size, proof, _flip(root, position))
    for i in range(len(proof)):
        tampered = [*proof]
        tampered[i] = _flip(tampered[i], position)
        with pytest.raises(InvalidProof):
            verify_inclusion(leaves[index], index, size, tampered, root)
    with pytest.raises(InvalidProof):
        verify_inclusion(leaves[index], index, size, [*proof, root], root)
    if proof:
        with pytest.raises(InvalidProof):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)


@settings(max_examples=200, deadline=None)
@given(_consistency_case(), st.integers(min_value=0))
def test_consistency_round_trip_and_tampering(case: tuple[int, int], position: int) -> None:
    first, second = case
    leaves = _leaves(second)
    first_root = root_from_leaf_hashes(leaves[:first])
    second_root = root_from_leaf_hashes(leaves)
    proof = consistency_proof(leaves, first, second)
    assert proof == consistency_proof_from_nodes(_node_reader(leaves), first, second)
    verify_consistency(first, second, first_root, second_root, proof)

    with pytest.raises(InvalidProof):
        verify_consistency(first, second, _flip(first_root, position), second_root, proof)
    with pytest.raises(InvalidProof):
        verify_consistency(first, second, first_root, _flip(second_root, position), proof)
    for i in range(len(proof)):
        tampered = [*proof]
        tampered[i] = _flip(tampered[i], position)
        with pytest.raises(InvalidProof):
            verify_consistency(first, second, first_root, second_root, tampered)
    with pytest.raises(InvalidProof):
        verify_consistency(first, second, first_root, second_root, [*proof, second_root])
    if proof:
        with pytest.raises(InvalidProof):
            verify_consistency(first, second, first_root, second_root, proof[:-1])


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=600))
def test_compact_range_matches_recursive_root(size: int) -> None:
    leaves = _leaves(size)
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    assert compact.root() == root_from_leaf_hashes(leaves) == root_from_nodes(_node_reader(leaves), size)

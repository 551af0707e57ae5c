"""RFC 9162 Merkle tree hashing, inclusion and consistency proofs, and a streaming compact range."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "CompactRange",
    "InvalidProof",
    "InvalidRange",
    "NodeReader",
    "consistency_proof",
    "consistency_proof_from_nodes",
    "inclusion_proof",
    "inclusion_proof_from_nodes",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
    "root_from_nodes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

# get_node(level, index) is the hash of the perfect subtree of 2**level leaves that starts at
# leaf index * 2**level; level 0 is the leaf hashes themselves. A store that keeps these node
# hashes answers every proof and root in O(log n) reads.
NodeReader = Callable[[int, int], bytes]


class InvalidProof(ValueError):
    """A proof, leaf hash or root hash that does not verify. Deliberately unspecific."""


class InvalidRange(ValueError):
    """A leaf index or tree size outside the tree asked about, or a leaf that is not a hash."""


def leaf_hash(entry: bytes) -> bytes:
    """SHA-256(0x00 || entry), RFC 9162 section 2.1.1."""
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right), RFC 9162 section 2.1.1."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than size (size > 1): where RFC 9162 splits a tree."""
    return 1 << ((size - 1).bit_length() - 1)


def _subtree(get_node: NodeReader, start: int, end: int) -> bytes:
    """MTH(D[start:end]) for a subtree RFC 9162 recursion reaches; start is aligned for it."""
    size = end - start
    if size & (size - 1) == 0:
        level = size.bit_length() - 1
        return get_node(level, start >> level)
    k = _split(size)
    level = k.bit_length() - 1
    return node_hash(get_node(level, start >> level), _subtree(get_node, start + k, end))


def _list_reader(leaf_hashes: Sequence[bytes]) -> NodeReader:
    def get_node(level: int, index: int) -> bytes:
        start = index << level
        return _root_of_slice(leaf_hashes, start, start + (1 << level))

    return get_node


def _root_of_slice(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    if end - start == 1:
        return leaf_hashes[start]
    k = _split(end - start)
    return node_hash(_root_of_slice(leaf_hashes, start, start + k), _root_of_slice(leaf_hashes, start + k, end))


def root_from_nodes(get_node: NodeReader, tree_size: int) -> bytes:
    """MTH of the first tree_size leaves, from perfect-subtree hashes (O(log n) reads)."""
    if tree_size < 0:
        raise InvalidRange("tree size must not be negative")
    if tree_size == 0:
        return EMPTY_ROOT
    return _subtree(get_node, 0, tree_size)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]), RFC 9162 section 2.1.1; the empty tree's root is SHA-256 of nothing."""
    if not leaf_hashes:
        return EMPTY_ROOT
    return _root_of_slice(leaf_hashes, 0, len(leaf_hashes))


def inclusion_proof_from_nodes(get_node: NodeReader, index: int, tree_size: int) -> list[bytes]:
    """PATH(index, D[tree_size]), RFC 9162 section 2.1.3.1, leaf to root."""
    if not 0 <= index < tree_size:
        raise InvalidRange(f"leaf index {index} is not in a tree of size {tree_size}")
    path: list[bytes] = []
    start, end = 0, tree_size
    # Walk down from the root, collecting the sibling of each subtree holding the leaf.
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            path.append(_subtree(get_node, start + k, end))
            end = start + k
        else:
            path.append(_subtree(get_node, start, start + k))
            start += k
    path.reverse()
    return path


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, tree_size: int) -> list[bytes]:
    """PATH(index, D[tree_size]) over the first tree_size of the given leaf hashes."""
    if tree_size > len(leaf_hashes):
        raise InvalidRange(f"tree size {tree_size} exceeds the {len(leaf_hashes)} leaves given")
    return inclusion_proof_from_nodes(_list_reader(leaf_hashes), index, tree_size)


def consistency_proof_from_nodes(get_node: NodeReader, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]), RFC 9162 section 2.1.4.1; empty when first is 0 or second."""
    if not 0 <= first <= second:
        raise InvalidRange(f"no consistency proof from size {first} to size {second}")
    if first in (0, second):
        return []
    proof: list[bytes] = []
    start, end, complete = 0, second, True
    m = first
    # SUBPROOF(m, D[start:end], complete), unrolled; siblings are collected top-down.
    while m != end - start:
        k = _split(end - start)
        if m <= k:
            proof.append(_subtree(get_node, start + k, end))
            end = start + k
        else:
            proof.append(_subtree(get_node, start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        proof.append(_subtree(get_node, start, end))
    proof.reverse()
    return proof


def consistency_proof(leaf_hashes: Sequence[bytes], first: int, second: int) -> list[bytes]:
    """PROOF(first, D[second]) over the first second of the given leaf hashes."""
    if second > len(leaf_hashes):
        raise InvalidRange(f"tree size {second} exceeds the {len(leaf_hashes)} leaves given")
    return consistency_proof_from_nodes(_list_reader(leaf_hashes), first, second)


def _check_hashes(*hashes: bytes, error: type[ValueError] = InvalidProof) -> None:
    for value in hashes:
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            raise error("not a SHA-256 hash")


def verify_inclusion(leaf: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that leaf is at index in the tree of tree_size with this root (RFC 9162 2.1.3.2).

    Returns nothing or raises InvalidProof.
    """
    _check_hashes(leaf, root, *proof)
    if not 0 <= index < tree_size:
        raise InvalidProof("leaf index outside the tree")
    fn, sn = index, tree_size - 1
    r = leaf
    for p in proof:
        if sn == 0:
            raise InvalidProof("inclusion proof too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0 or r != root:
        raise InvalidProof("inclusion proof does not verify")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> None:
    """Check that the tree of size second with second_root extends the first (RFC 9162 2.1.4.2).

    Returns nothing or raises InvalidProof. Beyond the RFC's 0 < first < second: an empty tree
    is consistent with any tree (its root must be the empty root), and a tree with itself.
    """
    _check_hashes(first_root, second_root, *proof)
    if not 0 <= first <= second:
        raise InvalidProof("first tree is larger than the second")
    if first == 0:
        if proof or first_root != EMPTY_ROOT:
            raise InvalidProof("consistency proof does not verify")
        return
    if first == second:
        if proof or first_root != second_root:
            raise InvalidProof("consistency proof does not verify")
        return
    if not proof:
        raise InvalidProof("consistency proof is empty")
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0 or fr != first_root or sr != second_root:
        raise InvalidProof("consistency proof does not verify")


class CompactRange:
    """The leaves [0, size) as the hashes of their perfect subtrees, largest first.

    Appending is amortised O(1) and memory is O(log n), so a whole log can be re-hashed as it
    streams past; root() is O(log n) at any moment.
    """

    __slots__ = ("_hashes", "_size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        """Resume at size from its perfect-subtree hashes (one per set bit of size, largest first)."""
        if size < 0 or len(hashes) != size.bit_count():
            raise InvalidRange("a compact range holds one hash per set bit of its size")
        _check_hashes(*hashes, error=InvalidRange)
        self._size = size
        self._hashes = list(hashes)

    @classmethod
    def from_nodes(cls, get_node: NodeReader, size: int) -> CompactRange:
        """Resume at size, reading its perfect-subtree hashes from a node store."""
        if size < 0:
            raise InvalidRange("size must not be negative")
        hashes: list[bytes] = []
        start = 0
        for level in range(size.bit_length() - 1, -1, -1):
            if size >> level & 1:
                hashes.append(get_node(level, start >> level))
                start += 1 << level
        return cls(size, hashes)

    @property
    def size(self) -> int:
        return self._size

    @property
    def hashes(self) -> tuple[bytes, ...]:
        return tuple(self._hashes)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add the next leaf hash; return each (level, index, hash) subtree it completes, leaf first."""
        _check_hashes(leaf, error=InvalidRange)
        index = self._size
        level = 0
        value = leaf
        completed = [(0, index, value)]
        # A right child (odd index) completes its parent with the left sibling on the stack.
        while index & 1:
            value = node_hash(self._hashes.pop(), value)
            index >>= 1
            level += 1
            completed.append((level, index, value))
        self._hashes.append(value)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the leaves so far."""
        if not self._hashes:
            return EMPTY_ROOT
        value = self._hashes[-1]
        for left in reversed(self._hashes[:-1]):
            value = node_hash(left, value)
        return value

"""Binary Merkle roots the STF computes: the state multiproof, and roots over digest lists.

The state tree is an indexed Merkle tree of depth TREE_DEPTH whose leaves are appended left to
right; unused positions hold the zero digest. A block's witness is a multiproof: the touched
positions plus the sibling digests needed to climb to the root. The STF climbs twice with the same
siblings — once over the old leaves (must give the pre-state root) and once over the new leaves
(gives the post-state root) — so the root it reports is computed, never taken on trust.
"""

from numba import njit

from .blake2s import hash_pair, hash_words
from .layout import TREE_DEPTH


@njit(cache=True)
def multiproof_root(pos, pos_off, dig, dig_off, n, proof, proof_off, n_proof, block, b_off):
    """Climb from n leaf digests at ascending positions to the root, consuming sibling digests.

    pos[pos_off:] and dig[dig_off:] are overwritten; the root ends in dig[dig_off:dig_off+8].
    Returns False unless exactly n_proof siblings were used, which rejects padded proofs.
    """
    pi = 0
    cur = n
    for _level in range(TREE_DEPTH):
        j = 0
        o = 0
        while j < cur:
            p = pos[pos_off + j]
            here = dig_off + 8 * j
            dest = dig_off + 8 * o
            if (p & 1) == 0 and j + 1 < cur and pos[pos_off + j + 1] == p + 1:
                hash_pair(dig, here, dig, here + 8, block, b_off, dig, dest)
                j += 2
            else:
                if pi >= n_proof:
                    return False
                sib = proof_off + 8 * pi
                if (p & 1) == 0:
                    hash_pair(dig, here, proof, sib, block, b_off, dig, dest)
                else:
                    hash_pair(proof, sib, dig, here, block, b_off, dig, dest)
                pi += 1
                j += 1
            pos[pos_off + o] = p >> 1
            o += 1
        cur = o
    return pi == n_proof


@njit(cache=True)
def list_root(dig, dig_off, n, block, b_off, out, out_off):
    """Merkle root of n digests (in place); an odd node pairs with the zero digest, none is zero."""
    if n == 0:
        for i in range(8):
            out[out_off + i] = 0
        return
    cur = n
    while cur > 1:
        o = 0
        for j in range(0, cur, 2):
            if j + 1 < cur:
                hash_pair(
                    dig,
                    dig_off + 8 * j,
                    dig,
                    dig_off + 8 * j + 8,
                    block,
                    b_off,
                    dig,
                    dig_off + 8 * o,
                )
            else:
                for i in range(8):
                    block[b_off + i] = dig[dig_off + 8 * j + i]
                    block[b_off + 8 + i] = 0
                hash_words(block, b_off, 1, dig, dig_off + 8 * o)
            o += 1
        cur = o
    for i in range(8):
        out[out_off + i] = dig[dig_off + i]


@njit(cache=True)
def state_root(tree_root, t_off, tree_size, block, b_off, out, out_off):
    """The state root binds the tree root and the leaf count (where the next insert goes)."""
    for i in range(8):
        block[b_off + i] = tree_root[t_off + i]
        block[b_off + 8 + i] = 0
    block[b_off + 8] = tree_size
    hash_words(block, b_off, 1, out, out_off)

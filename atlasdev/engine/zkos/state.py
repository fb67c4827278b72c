"""State access inside the STF: the witnessed rows of the indexed Merkle tree.

The host hands the STF every state leaf a block may touch (existing leaves with their positions,
absent keys with the leaf that brackets them) and a multiproof. `load_witness` checks all of it
against the pre-state root before any transaction runs; afterwards reads and writes go to the rows
in the work area, found through an open-addressing table on the key. A write to an absent key
inserts it into the sorted linked list that makes the tree "indexed" (each leaf names the next
larger key), which is what lets a witness prove that a key does not exist.
"""

from numba import int64 as i64
from numba import njit

from .blake2s import hash_words
from .layout import (
    ERR_ABSENT_PROOF,
    ERR_WITNESS_MISSING,
    ERR_WITNESS_ORDER,
    ERR_WITNESS_ROOT,
    IN_ABSENT_OFF,
    IN_LEAVES_OFF,
    IN_LOW_OFF,
    IN_N_ABSENT,
    IN_N_EXIST,
    IN_N_PROOF,
    IN_POS_OFF,
    IN_PRE_ROOT,
    IN_PROOF_OFF,
    IN_TREE_SIZE,
    LEAF_KEY,
    LEAF_NEXT,
    LEAF_WORDS,
    OK,
)
from .merkle import multiproof_root, state_root

# indices into the work-offsets tuple (layout.work_offsets)
L_TABLE, L_ROWS, L_ROW_POS, L_ROW_STATE, L_INSERT_ROWS, L_MP_POS, L_MP_DIG, L_SCRATCH = range(8)
L_TX_LEAVES = 8

ROW_LIVE = 0
ROW_ABSENT = 1
ROW_INSERTED = 2

# scratch area (L_SCRATCH) layout
S_BLOCK = 0  # 16 words: hashing block
S_KEYBLOCK = 16  # 16 words: key preimage
S_KEY = 32  # 8 words: last derived key
S_SLOT = 40  # 8 words: slot being derived
S_ADDR = 48  # 5 words: an address operand
S_T0 = 56  # u256 temporaries
S_T1 = 64
S_T2 = 72
S_TXBLOCK = 80  # 48 words: transaction leaf preimage
V_N_INSERTED = 128
V_N_LOGS = 129
V_N_MSGS = 130  # must stay below S_RELAY
S_RELAY = 136  # 80 words for relaying a message (messenger.py), up to layout.SCRATCH_WORDS

DOMAIN_ACCOUNT = 1
DOMAIN_STORAGE = 2
DOMAIN_FEED = 3
DOMAIN_INTEROP = 4  # the messenger's imported interop roots (slot: the root)
DOMAIN_EXECUTED = 5  # the messenger's executed messages (slot: the message hash)


@njit(cache=True)
def key_less(a, ao, b, bo):
    """Key order of the indexed tree: the 8 words compared as unsigned, word 0 first."""
    for i in range(8):
        if a[ao + i] != b[bo + i]:
            return a[ao + i] < b[bo + i]
    return False


@njit(inline="always", cache=True)
def key_eq(a, ao, b, bo):
    for i in range(8):
        if a[ao + i] != b[bo + i]:
            return False
    return True


@njit(inline="always", cache=True)
def key_is_zero(a, ao):
    for i in range(8):
        if a[ao + i] != 0:
            return False
    return True


@njit(cache=True)
def derive_key(domain, addr, a_off, slot, s_off, work, L):
    """Key of a leaf: Blake2s(domain, address, slot), left in the scratch key slot."""
    sc = L[L_SCRATCH]
    kb = sc + S_KEYBLOCK
    work[kb] = domain
    for i in range(5):
        work[kb + 1 + i] = addr[a_off + i]
    for i in range(8):
        work[kb + 6 + i] = slot[s_off + i]
    work[kb + 14] = 0
    work[kb + 15] = 0
    hash_words(work, kb, 1, work, sc + S_KEY)


@njit(cache=True)
def account_key(addr, a_off, work, L):
    sc = L[L_SCRATCH]
    for i in range(8):
        work[sc + S_SLOT + i] = 0
    derive_key(DOMAIN_ACCOUNT, addr, a_off, work, sc + S_SLOT, work, L)


@njit(cache=True)
def _table_slot(work, L, key, k_off):
    size = L[L_ROWS] - L[L_TABLE]
    return i64(key[k_off]) & (size - 1), size


@njit(cache=True)
def find_row(work, L, key, k_off):
    """Row holding `key`, or -1 when the witness does not cover it."""
    slot, size = _table_slot(work, L, key, k_off)
    rows = L[L_ROWS]
    while True:
        entry = work[L[L_TABLE] + slot]
        if entry == 0:
            return -1
        row = i64(entry) - 1
        if key_eq(work, rows + row * LEAF_WORDS + LEAF_KEY, key, k_off):
            return row
        slot = (slot + 1) & (size - 1)


@njit(cache=True)
def _table_add(work, L, row):
    rows = L[L_ROWS]
    slot, size = _table_slot(work, L, work, rows + row * LEAF_WORDS + LEAF_KEY)
    while work[L[L_TABLE] + slot] != 0:
        slot = (slot + 1) & (size - 1)
    work[L[L_TABLE] + slot] = row + 1


@njit(cache=True)
def _witness_root(inp, work, L, n_new_leaves):
    """Climb the multiproof from the rows' current digests; result in the digest area."""
    n_exist = i64(inp[IN_N_EXIST])
    n_absent = i64(inp[IN_N_ABSENT])
    tree_size = i64(inp[IN_TREE_SIZE])
    rows, mp_pos, mp_dig = L[L_ROWS], L[L_MP_POS], L[L_MP_DIG]
    for r in range(n_exist):
        work[mp_pos + r] = work[L[L_ROW_POS] + r]
        hash_words(work, rows + r * LEAF_WORDS, 2, work, mp_dig + 8 * r)
    for i in range(n_absent):
        work[mp_pos + n_exist + i] = tree_size + i
        d = mp_dig + 8 * (n_exist + i)
        if i < n_new_leaves:
            row = i64(work[L[L_INSERT_ROWS] + i])
            hash_words(work, rows + row * LEAF_WORDS, 2, work, d)
        else:
            for w in range(8):
                work[d + w] = 0
    sc = L[L_SCRATCH]
    return multiproof_root(
        work,
        mp_pos,
        work,
        mp_dig,
        n_exist + n_absent,
        inp,
        i64(inp[IN_PROOF_OFF]),
        i64(inp[IN_N_PROOF]),
        work,
        sc + S_BLOCK,
    )


@njit(cache=True)
def load_witness(inp, work, L):
    """Copy the witness into rows, index it, and check it against the pre-state root."""
    n_exist = i64(inp[IN_N_EXIST])
    n_absent = i64(inp[IN_N_ABSENT])
    tree_size = i64(inp[IN_TREE_SIZE])
    rows = L[L_ROWS]
    for i in range(L[L_ROWS] - L[L_TABLE]):
        work[L[L_TABLE] + i] = 0
    src = i64(inp[IN_LEAVES_OFF])
    for r in range(n_exist):
        pos = i64(inp[i64(inp[IN_POS_OFF]) + r])
        if pos >= tree_size or (r > 0 and pos <= work[L[L_ROW_POS] + r - 1]):
            return ERR_WITNESS_ORDER
        work[L[L_ROW_POS] + r] = pos
        work[L[L_ROW_STATE] + r] = ROW_LIVE
        for w in range(LEAF_WORDS):
            work[rows + r * LEAF_WORDS + w] = inp[src + r * LEAF_WORDS + w]
    for i in range(n_absent):
        r = n_exist + i
        base = rows + r * LEAF_WORDS
        for w in range(LEAF_WORDS):
            work[base + w] = 0
        for w in range(8):
            work[base + LEAF_KEY + w] = inp[i64(inp[IN_ABSENT_OFF]) + 8 * i + w]
        work[L[L_ROW_POS] + r] = 0
        work[L[L_ROW_STATE] + r] = ROW_ABSENT
        low = i64(inp[i64(inp[IN_LOW_OFF]) + i])
        if low >= n_exist:
            return ERR_ABSENT_PROOF
        lb = rows + low * LEAF_WORDS
        if not key_less(work, lb + LEAF_KEY, work, base + LEAF_KEY):
            return ERR_ABSENT_PROOF
        if not key_is_zero(work, lb + LEAF_NEXT) and not key_less(
            work, base + LEAF_KEY, work, lb + LEAF_NEXT
        ):
            return ERR_ABSENT_PROOF
    for r in range(n_exist + n_absent):
        if find_row(work, L, work, rows + r * LEAF_WORDS + LEAF_KEY) >= 0:
            return ERR_WITNESS_ORDER  # a key witnessed twice
        _table_add(work, L, r)
    work[L[L_SCRATCH] + V_N_INSERTED] = 0
    if n_exist + n_absent == 0:
        return OK if inp[IN_N_PROOF] == 0 else ERR_WITNESS_ROOT
    if not _witness_root(inp, work, L, 0):
        return ERR_WITNESS_ROOT
    sc = L[L_SCRATCH]
    state_root(work, L[L_MP_DIG], tree_size, work, sc + S_BLOCK, work, sc + S_T0)
    for i in range(8):
        if work[sc + S_T0 + i] != inp[IN_PRE_ROOT + i]:
            return ERR_WITNESS_ROOT
    return OK


@njit(cache=True)
def post_state_root(inp, work, L, out, out_off):
    """Root after the block: the same multiproof over the rows' new contents and new leaves."""
    n_inserted = i64(work[L[L_SCRATCH] + V_N_INSERTED])
    tree_size = i64(inp[IN_TREE_SIZE]) + n_inserted
    if inp[IN_N_EXIST] + inp[IN_N_ABSENT] == 0:
        for i in range(8):
            out[out_off + i] = inp[IN_PRE_ROOT + i]
        return tree_size
    _witness_root(inp, work, L, n_inserted)
    sc = L[L_SCRATCH]
    state_root(work, L[L_MP_DIG], tree_size, work, sc + S_BLOCK, out, out_off)
    return tree_size


@njit(cache=True)
def lookup(work, L):
    """Row of the key last derived into scratch; -1 if the witness lacks it (a block fault)."""
    return find_row(work, L, work, L[L_SCRATCH] + S_KEY)


@njit(cache=True)
def make_writable(inp, work, L, row):
    """Insert an absent key into the tree before its first write; False on a witness fault."""
    state = work[L[L_ROW_STATE] + row]
    if state != ROW_ABSENT:
        return True
    rows = L[L_ROWS]
    sc = L[L_SCRATCH]
    base = rows + row * LEAF_WORDS
    cur = i64(inp[i64(inp[IN_LOW_OFF]) + row - i64(inp[IN_N_EXIST])])
    # Keys inserted earlier in this block may now sit between the low leaf and this key.
    while True:
        cb = rows + cur * LEAF_WORDS
        if key_is_zero(work, cb + LEAF_NEXT) or not key_less(work, cb + LEAF_NEXT, work, base):
            break
        nxt = find_row(work, L, work, cb + LEAF_NEXT)
        if nxt < 0 or work[L[L_ROW_STATE] + nxt] != ROW_INSERTED:
            return False
        cur = nxt
    cb = rows + cur * LEAF_WORDS
    for i in range(8):
        work[base + LEAF_NEXT + i] = work[cb + LEAF_NEXT + i]
        work[cb + LEAF_NEXT + i] = work[base + LEAF_KEY + i]
    n = i64(work[sc + V_N_INSERTED])
    work[L[L_ROW_POS] + row] = i64(inp[IN_TREE_SIZE]) + n
    work[L[L_ROW_STATE] + row] = ROW_INSERTED
    work[L[L_INSERT_ROWS] + n] = row
    work[sc + V_N_INSERTED] = n + 1
    return True


ERR_MISSING = ERR_WITNESS_MISSING

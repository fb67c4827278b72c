"""Fixed word layouts shared by the STF and the host: the input region, work area and output.

The STF takes exactly three u32 arrays — input, work, output — so that on the RISC-V target the
entry stub only has to point them at the image's input, scratch and public-values regions. Every
offset the STF uses is a constant here or is computed from the header by the functions below, which
the host calls too, so both sides agree on one layout.
"""

from numba import njit

# ---- input region: header ----------------------------------------------------------------------
IN_VERSION = 0
IN_CHAIN_ID = 1  # u64
IN_NUMBER = 3  # u64
IN_TIMESTAMP = 5  # u64
IN_BASE_FEE = 7  # u64
IN_FLAGS = 9
IN_PRE_ROOT = 10  # 8 words
IN_TREE_SIZE = 18  # leaves in the pre-state tree
IN_INTEROP_ROOT = 19  # 8 words
IN_N_TXS = 27
IN_TXS_OFF = 28
IN_DATA_OFF = 29  # calldata byte arena, packed 4 bytes per word, little-endian within a word
IN_DATA_BYTES = 30
IN_N_EXIST = 31  # K: witnessed existing leaves
IN_N_ABSENT = 32  # A: witnessed absent keys (each may be inserted)
IN_POS_OFF = 33  # K tree positions, strictly ascending
IN_LEAVES_OFF = 34  # K leaves of LEAF_WORDS
IN_ABSENT_OFF = 35  # A absent keys of 8 words
IN_LOW_OFF = 36  # A row numbers (into the K existing) of each absent key's low leaf
IN_N_PROOF = 37
IN_PROOF_OFF = 38  # multiproof sibling digests, 8 words each
IN_HEADER_WORDS = 40

LAYOUT_VERSION = 1
FLAG_SIMULATE = 1  # eth_call / estimateGas: no nonce or fee checks, nothing charged

# ---- transaction record ------------------------------------------------------------------------
TX_SENDER = 0  # 5 words: address bytes packed
TX_TO = 5  # 5 words
TX_HAS_TO = 10
TX_NONCE = 11  # u64
TX_VALUE = 13  # u256 limbs
TX_GAS_LIMIT = 21  # u64
TX_MAX_FEE = 23  # u64
TX_PRIORITY_FEE = 25  # u64
TX_DATA_START = 27  # byte offset into the arena
TX_DATA_LEN = 28
TX_WORDS = 32
TX_COMMITTED_WORDS = 27  # the semantic prefix that enters the transaction commitment

# ---- state leaf: key, next key (sorted linked list of the indexed tree), 64-byte value ----------
LEAF_KEY = 0
LEAF_NEXT = 8
LEAF_VALUE = 16
LEAF_WORDS = 32  # two Blake2s blocks
ACCOUNT_BALANCE = LEAF_VALUE  # u256 limbs
ACCOUNT_NONCE = LEAF_VALUE + 8  # u64
TREE_DEPTH = 32

# ---- output region -----------------------------------------------------------------------------
OUT_CHAIN_ID = 0
OUT_NUMBER = 2
OUT_PRE_ROOT = 4
OUT_POST_ROOT = 12
OUT_TX_COMMITMENT = 20
OUT_MESSAGE_ROOT = 28
OUT_INTEROP_ROOT = 36
PUBLIC_WORDS = 44  # the public values a proof attests
OUT_TREE_SIZE = 44
OUT_N_INCLUDED = 45
OUT_GAS_USED = 46  # u64
OUT_N_LOGS = 48
OUT_N_MSGS = 49
OUT_RET_LEN = 50  # return data of the last transaction, in bytes
OUT_RET = 52  # return data, packed bytes
RET_MAX_BYTES = 128
OUT_HEADER_WORDS = 96

RECEIPT_INCLUDED = 0
RECEIPT_STATUS = 1
RECEIPT_REASON = 2
RECEIPT_GAS_USED = 3  # u64
RECEIPT_LOG_START = 5
RECEIPT_N_LOGS = 6
RECEIPT_MSG = 7  # message number in this block, or NO_MESSAGE
RECEIPT_WORDS = 8
NO_MESSAGE = 0xFFFFFFFF

LOG_TX = 0
LOG_EMITTER = 1  # system contract number
LOG_EVENT = 2
LOG_N_TOPICS = 3  # topics after topic0 (the event signature, which the host knows by LOG_EVENT)
LOG_TOPICS = 4  # 3 x 8 words, 32-byte values as packed bytes
LOG_DATA = 28  # 64 bytes of data, packed bytes
LOG_WORDS = 48

MSG_SRC_CHAIN = 0  # u64
MSG_DST_CHAIN = 2  # u64
MSG_NONCE = 4  # u64
MSG_SENDER = 6  # 5 words
MSG_TO = 11  # 5 words
MSG_VALUE = 16  # u256 limbs
MSG_DATA_HASH = 24  # 8 words
MSG_HASH = 32  # Blake2s of words 0..31
MSG_WORDS = 40

# ---- STF status (block-level faults: the sequencer has a bug, or the witness is dishonest) ------
OK = 0
ERR_LAYOUT = 1
ERR_WITNESS_ROOT = 2
ERR_WITNESS_MISSING = 3
ERR_WITNESS_ORDER = 4
ERR_ABSENT_PROOF = 5
ERR_CAPACITY = 6

STATUS_TEXT = {
    OK: "ok",
    ERR_LAYOUT: "input layout is malformed",
    ERR_WITNESS_ROOT: "witness does not match the pre-state root",
    ERR_WITNESS_MISSING: "witness lacks a state key the block touches",
    ERR_WITNESS_ORDER: "witness positions are not strictly ascending",
    ERR_ABSENT_PROOF: "absent-key witness is not bracketed by its low leaf",
    ERR_CAPACITY: "a buffer is too small for the block",
}


SCRATCH_WORDS = 216  # the STF's scratch area; state.py names its parts


@njit(inline="always", cache=True)
def table_size(n_rows):
    """Power-of-two hash table size with load factor <= 1/2."""
    t = 16
    while t < 2 * n_rows:
        t *= 2
    return t


@njit(cache=True)
def work_offsets(n_exist, n_absent, n_txs):
    """(table, rows, row_pos, row_state, insert_rows, mp_pos, mp_dig, scratch, tx_leaves, end)."""
    rows = n_exist + n_absent
    table = 0
    rows_off = table + table_size(rows)
    row_pos = rows_off + rows * LEAF_WORDS
    row_state = row_pos + rows
    insert_rows = row_state + rows
    mp_pos = insert_rows + n_absent
    mp_dig = mp_pos + rows
    scratch = mp_dig + rows * 8
    tx_leaves = scratch + SCRATCH_WORDS
    end = tx_leaves + n_txs * 8 + 8
    return table, rows_off, row_pos, row_state, insert_rows, mp_pos, mp_dig, scratch, tx_leaves, end


@njit(cache=True)
def out_offsets(n_txs):
    """(receipts, logs, messages, end): each transaction emits at most one log and one message."""
    receipts = OUT_HEADER_WORDS
    logs = receipts + n_txs * RECEIPT_WORDS
    msgs = logs + n_txs * LOG_WORDS
    end = msgs + n_txs * MSG_WORDS
    return receipts, logs, msgs, end

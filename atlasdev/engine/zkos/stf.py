"""The zkOS state transition function: execute one block, compute its public values.

    execute_block(input, work, output) -> status

This is the one program that both targets run: the sequencer calls it natively (numba, x86) and
the prover runs the same LLVM IR compiled for RV32IM. It reads nothing but `input`, writes only
`work` and `output`, allocates nothing and uses only fixed-width integers (see DESIGN.md, "zkOS").

A block, as the STF sees it: a header, already-decoded transaction records (senders recovered by
the sequencer; proving signatures in the guest comes later), calldata, and a witness of every
state leaf the block may touch. For each transaction, in order:

1. validity — nonce equals the account's, fee caps cover the base fee, gas limit covers the
   intrinsic gas, balance covers gas_limit * max_fee + value. An invalid transaction changes
   nothing and is not included (the sequencer drops it).
2. the nonce is bumped, the call runs (ETH transfer, or a system contract); a failing call
   changes no state but still pays for its gas and gets a receipt with status 0 and a reason.
3. the fee (gas_used * effective price) is burned.

Finally the STF commits to the included transactions, the messages the block sent, and the
post-state root, which it computes itself from the witness multiproof.
"""

from numba import int64 as i64
from numba import njit
from numba import uint32 as u32
from numba import uint64 as u64

from . import messenger, oracle, stablecoin
from .abi import calldata_gas
from .blake2s import hash_packed, hash_words
from .env import raw_slot_row, value_at, writable
from .layout import (
    ACCOUNT_NONCE,
    ERR_CAPACITY,
    ERR_LAYOUT,
    ERR_WITNESS_MISSING,
    FLAG_SIMULATE,
    IN_BASE_FEE,
    IN_CHAIN_ID,
    IN_DATA_BYTES,
    IN_DATA_OFF,
    IN_FLAGS,
    IN_HEADER_WORDS,
    IN_INTEROP_ROOT,
    IN_N_ABSENT,
    IN_N_EXIST,
    IN_N_TXS,
    IN_NUMBER,
    IN_PRE_ROOT,
    IN_TXS_OFF,
    IN_VERSION,
    LAYOUT_VERSION,
    LEAF_VALUE,
    MSG_HASH,
    MSG_WORDS,
    NO_MESSAGE,
    OK,
    OUT_CHAIN_ID,
    OUT_GAS_USED,
    OUT_HEADER_WORDS,
    OUT_INTEROP_ROOT,
    OUT_MESSAGE_ROOT,
    OUT_N_INCLUDED,
    OUT_NUMBER,
    OUT_POST_ROOT,
    OUT_PRE_ROOT,
    OUT_RET_LEN,
    OUT_TREE_SIZE,
    OUT_TX_COMMITMENT,
    RECEIPT_GAS_USED,
    RECEIPT_INCLUDED,
    RECEIPT_LOG_START,
    RECEIPT_MSG,
    RECEIPT_N_LOGS,
    RECEIPT_REASON,
    RECEIPT_STATUS,
    RECEIPT_WORDS,
    TX_COMMITTED_WORDS,
    TX_DATA_LEN,
    TX_DATA_START,
    TX_GAS_LIMIT,
    TX_HAS_TO,
    TX_MAX_FEE,
    TX_NONCE,
    TX_PRIORITY_FEE,
    TX_SENDER,
    TX_TO,
    TX_VALUE,
    TX_WORDS,
    out_offsets,
    work_offsets,
)
from .merkle import list_root
from .state import (
    DOMAIN_INTEROP,
    L_SCRATCH,
    L_TX_LEAVES,
    S_BLOCK,
    S_T0,
    S_T1,
    S_TXBLOCK,
    V_N_LOGS,
    V_N_MSGS,
    account_key,
    load_witness,
    lookup,
    post_state_root,
)
from .system import (
    GAS_TX,
    MESSENGER_WORDS,
    ORACLE_WORDS,
    REASON_BALANCE_OVERFLOW,
    REASON_CREATE_UNSUPPORTED,
    REASON_FAULT,
    REASON_FEE_CAP_TOO_LOW,
    REASON_INSUFFICIENT_FUNDS,
    REASON_INTRINSIC_GAS,
    REASON_NONCE_TOO_HIGH,
    REASON_NONCE_TOO_LOW,
    REASON_NONE,
    REASON_OUT_OF_GAS,
    REASON_TIP_ABOVE_FEE_CAP,
    STABLECOIN_WORDS,
)
from .u256 import add_in_place, cmp, copy, mul_u64_u64, set_u64, sub_in_place, to_u64

NONCE_IN_VALUE = ACCOUNT_NONCE - LEAF_VALUE


@njit(inline="always", cache=True)
def _u64(words, off):
    return to_u64(words, off)


@njit(inline="always", cache=True)
def _gas_limit(inp, tx):
    """The gas limit as a signed count; limits above 2**62 are clamped (they buy nothing)."""
    g = _u64(inp, tx + TX_GAS_LIMIT)
    return i64(g) if g < u64(1 << 62) else i64(1 << 62)


@njit(cache=True)
def _is_address(words, off, address):
    for i in range(5):
        if words[off + i] != address[i]:
            return False
    return True


@njit(cache=True)
def _transfer_value(inp, work, L, tx, sender_row):
    """Plain ETH transfer to an account; returns the reason."""
    account_key(inp, tx + TX_TO, work, L)
    to_row = lookup(work, L)
    if to_row < 0:
        return REASON_FAULT
    if to_row == sender_row:
        return REASON_NONE
    sc = L[L_SCRATCH]
    copy(work, sc + S_T1, work, value_at(L, to_row))
    if add_in_place(work, sc + S_T1, inp, tx + TX_VALUE):
        return REASON_BALANCE_OVERFLOW
    if not writable(inp, work, L, to_row):
        return REASON_FAULT
    sub_in_place(work, value_at(L, sender_row), inp, tx + TX_VALUE)
    copy(work, value_at(L, to_row), work, sc + S_T1)
    return REASON_NONE


@njit(cache=True)
def _call(inp, work, L, out, logs_off, msgs_off, i, tx, sender_row, gas_avail):
    """Dispatch a transaction's call by its target; returns (reason, execution gas)."""
    if inp[tx + TX_HAS_TO] == 0:
        return REASON_CREATE_UNSUPPORTED, u32(0)
    dbase = i64(inp[IN_DATA_OFF])
    dstart = i64(inp[tx + TX_DATA_START])
    dlen = i64(inp[tx + TX_DATA_LEN])
    if _is_address(inp, tx + TX_TO, STABLECOIN_WORDS):
        return stablecoin.call(inp, work, L, out, logs_off, i, tx, dbase, dstart, dlen, gas_avail)
    if _is_address(inp, tx + TX_TO, ORACLE_WORDS):
        return oracle.call(inp, work, L, out, logs_off, i, tx, dbase, dstart, dlen, gas_avail)
    if _is_address(inp, tx + TX_TO, MESSENGER_WORDS):
        chain_id = _u64(inp, IN_CHAIN_ID)
        return messenger.call(
            inp,
            work,
            L,
            out,
            logs_off,
            msgs_off,
            i,
            tx,
            sender_row,
            dbase,
            dstart,
            dlen,
            chain_id,
            gas_avail,
        )
    return _transfer_value(inp, work, L, tx, sender_row), u32(0)


@njit(cache=True)
def _validate(inp, work, L, tx, sender_row, intrinsic):
    """Why the transaction cannot be included (REASON_NONE if it can), and its gas price.

    A simulation (eth_call) skips the nonce and fee checks and pays nothing, but the sender
    must still afford the value.
    """
    sc = L[L_SCRATCH]
    if (inp[IN_FLAGS] & FLAG_SIMULATE) != 0:
        if cmp(work, value_at(L, sender_row), inp, tx + TX_VALUE) < 0:
            return REASON_INSUFFICIENT_FUNDS, u64(0)
        return REASON_NONE, u64(0)
    nonce = _u64(work, value_at(L, sender_row) + NONCE_IN_VALUE)
    tx_nonce = _u64(inp, tx + TX_NONCE)
    if tx_nonce < nonce:
        return REASON_NONCE_TOO_LOW, u64(0)
    if tx_nonce > nonce:
        return REASON_NONCE_TOO_HIGH, u64(0)
    base_fee = _u64(inp, IN_BASE_FEE)
    max_fee = _u64(inp, tx + TX_MAX_FEE)
    tip = _u64(inp, tx + TX_PRIORITY_FEE)
    if tip > max_fee:
        return REASON_TIP_ABOVE_FEE_CAP, u64(0)
    if max_fee < base_fee:
        return REASON_FEE_CAP_TOO_LOW, u64(0)
    if _gas_limit(inp, tx) < intrinsic:
        return REASON_INTRINSIC_GAS, u64(0)
    mul_u64_u64(work, sc + S_T0, _u64(inp, tx + TX_GAS_LIMIT), max_fee)
    if add_in_place(work, sc + S_T0, inp, tx + TX_VALUE):
        return REASON_INSUFFICIENT_FUNDS, u64(0)
    if cmp(work, value_at(L, sender_row), work, sc + S_T0) < 0:
        return REASON_INSUFFICIENT_FUNDS, u64(0)
    # min(max_fee, base_fee + tip), written so that base_fee + tip cannot wrap
    price = base_fee + tip if tip < max_fee - base_fee else max_fee
    return REASON_NONE, price


@njit(cache=True)
def _commit_tx(inp, work, L, tx, n_included):
    """Leaf of the transaction commitment: the record's semantic words and its calldata hash."""
    sc = L[L_SCRATCH]
    b = sc + S_TXBLOCK
    for w in range(48):
        work[b + w] = 0
    for w in range(TX_COMMITTED_WORDS):
        work[b + w] = inp[tx + w]
    work[b + TX_COMMITTED_WORDS] = inp[tx + TX_DATA_LEN]
    hash_packed(
        inp,
        i64(inp[IN_DATA_OFF]),
        i64(inp[tx + TX_DATA_START]),
        i64(inp[tx + TX_DATA_LEN]),
        work,
        sc + S_BLOCK,
        work,
        b + 32,
    )
    hash_words(work, b, 3, work, L[L_TX_LEAVES] + 8 * n_included)


@njit(cache=True)
def _apply_tx(inp, work, L, out, receipts_off, logs_off, msgs_off, i, n_included):
    """Execute transaction i; returns (block status, included?, gas used)."""
    tx = i64(inp[IN_TXS_OFF]) + i * TX_WORDS
    rec = receipts_off + i * RECEIPT_WORDS
    for w in range(RECEIPT_WORDS):
        out[rec + w] = 0
    out[rec + RECEIPT_MSG] = NO_MESSAGE
    out[OUT_RET_LEN] = 0  # return data is the last transaction's, never an earlier one's
    account_key(inp, tx + TX_SENDER, work, L)
    sender_row = lookup(work, L)
    if sender_row < 0:
        return ERR_WITNESS_MISSING, False, i64(0)
    intrinsic = GAS_TX + calldata_gas(
        inp, i64(inp[IN_DATA_OFF]), i64(inp[tx + TX_DATA_START]), i64(inp[tx + TX_DATA_LEN])
    )
    reason, price = _validate(inp, work, L, tx, sender_row, intrinsic)
    if reason != REASON_NONE:
        out[rec + RECEIPT_REASON] = reason
        return OK, False, i64(0)
    if not writable(inp, work, L, sender_row):
        return ERR_WITNESS_MISSING, False, i64(0)
    nonce_at = value_at(L, sender_row) + NONCE_IN_VALUE
    set_nonce = _u64(work, nonce_at) + u64(1)
    set_u64(work, nonce_at, set_nonce)

    simulate = (inp[IN_FLAGS] & FLAG_SIMULATE) != 0
    gas_limit = _gas_limit(inp, tx)
    if simulate and gas_limit < intrinsic:
        gas_limit = intrinsic
    sc = L[L_SCRATCH]
    log_start = work[sc + V_N_LOGS]
    msgs_before = work[sc + V_N_MSGS]
    reason, exec_gas = _call(
        inp, work, L, out, logs_off, msgs_off, i, tx, sender_row, gas_limit - intrinsic
    )
    if reason == REASON_FAULT:
        return ERR_WITNESS_MISSING, False, i64(0)
    gas_used = gas_limit if reason == REASON_OUT_OF_GAS else intrinsic + i64(exec_gas)
    if gas_used > gas_limit:  # contracts check first; never charge beyond what was paid for
        gas_used = gas_limit
    mul_u64_u64(work, sc + S_T0, u64(gas_used), price)
    sub_in_place(work, value_at(L, sender_row), work, sc + S_T0)

    out[rec + RECEIPT_INCLUDED] = 1
    out[rec + RECEIPT_STATUS] = 1 if reason == REASON_NONE else 0
    out[rec + RECEIPT_REASON] = reason
    out[rec + RECEIPT_GAS_USED] = u32(gas_used & 0xFFFFFFFF)
    out[rec + RECEIPT_GAS_USED + 1] = u32(gas_used >> 32)
    out[rec + RECEIPT_LOG_START] = log_start
    out[rec + RECEIPT_N_LOGS] = work[sc + V_N_LOGS] - log_start
    if work[sc + V_N_MSGS] != msgs_before:
        out[rec + RECEIPT_MSG] = msgs_before
    _commit_tx(inp, work, L, tx, n_included)
    return OK, True, gas_used


@njit(cache=True)
def _layout_ok(inp, work, out):
    """Every section the header names lies inside the arrays."""
    n = len(inp)
    if n < IN_HEADER_WORDS or inp[IN_VERSION] != LAYOUT_VERSION:
        return ERR_LAYOUT
    n_txs = i64(inp[IN_N_TXS])
    if i64(inp[IN_TXS_OFF]) + n_txs * TX_WORDS > n:
        return ERR_LAYOUT
    data_bytes = i64(inp[IN_DATA_BYTES])
    if i64(inp[IN_DATA_OFF]) + (data_bytes + 3) // 4 > n:
        return ERR_LAYOUT
    for i in range(n_txs):
        tx = i64(inp[IN_TXS_OFF]) + i * TX_WORDS
        if (
            i64(inp[tx + TX_DATA_START]) + i64(inp[tx + TX_DATA_LEN]) > data_bytes
            or inp[tx + TX_HAS_TO] > 1
        ):
            return ERR_LAYOUT
    return OK


@njit(cache=True)
def _import_interop_root(inp, work, L):
    """The block's interop root (all zero: none) becomes a messenger slot set to 1, so that a
    later block can execute messages proven against it; importing a root twice changes nothing."""
    imported = False
    for w in range(8):
        if inp[IN_INTEROP_ROOT + w] != 0:
            imported = True
    if not imported:
        return OK
    row = raw_slot_row(work, L, DOMAIN_INTEROP, MESSENGER_WORDS, inp, IN_INTEROP_ROOT)
    if row < 0 or not writable(inp, work, L, row):
        return ERR_WITNESS_MISSING
    set_u64(work, value_at(L, row), 1)
    return OK


@njit(cache=True)
def execute_block(inp, work, out):
    """Execute the block in `inp`; fill `out` with public values, receipts, logs and messages.

    Returns OK, or a block-level fault (layout.STATUS_TEXT) when the input is malformed or the
    witness does not prove what the block touches.
    """
    status = _layout_ok(inp, work, out)
    if status != OK:
        return status
    n_txs = i64(inp[IN_N_TXS])
    L = work_offsets(i64(inp[IN_N_EXIST]), i64(inp[IN_N_ABSENT]), n_txs)
    if L[9] > len(work):
        return ERR_CAPACITY
    receipts_off, logs_off, msgs_off, out_end = out_offsets(n_txs)
    if out_end > len(out):
        return ERR_CAPACITY
    for w in range(OUT_HEADER_WORDS):
        out[w] = 0
    status = load_witness(inp, work, L)
    if status != OK:
        return status
    status = _import_interop_root(inp, work, L)
    if status != OK:
        return status
    sc = L[L_SCRATCH]
    work[sc + V_N_LOGS] = 0
    work[sc + V_N_MSGS] = 0

    n_included = 0
    gas_total = i64(0)
    for i in range(n_txs):
        status, included, gas_used = _apply_tx(
            inp, work, L, out, receipts_off, logs_off, msgs_off, i, n_included
        )
        if status != OK:
            return status
        if included:
            n_included += 1
            gas_total += gas_used

    list_root(work, L[L_TX_LEAVES], n_included, work, sc + S_BLOCK, out, OUT_TX_COMMITMENT)
    n_msgs = i64(work[sc + V_N_MSGS])
    for m in range(n_msgs):
        for w in range(8):
            work[L[L_TX_LEAVES] + 8 * m + w] = out[msgs_off + m * MSG_WORDS + MSG_HASH + w]
    list_root(work, L[L_TX_LEAVES], n_msgs, work, sc + S_BLOCK, out, OUT_MESSAGE_ROOT)
    tree_size = post_state_root(inp, work, L, out, OUT_POST_ROOT)

    for w in range(2):
        out[OUT_CHAIN_ID + w] = inp[IN_CHAIN_ID + w]
        out[OUT_NUMBER + w] = inp[IN_NUMBER + w]
    for w in range(8):
        out[OUT_PRE_ROOT + w] = inp[IN_PRE_ROOT + w]
        out[OUT_INTEROP_ROOT + w] = inp[IN_INTEROP_ROOT + w]
    out[OUT_TREE_SIZE] = tree_size
    out[OUT_N_INCLUDED] = n_included
    out[OUT_GAS_USED] = u32(gas_total & 0xFFFFFFFF)
    out[OUT_GAS_USED + 1] = u32(gas_total >> 32)
    return OK

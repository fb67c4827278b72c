"""The messenger system contract: `sendMessage(uint256 destChainId, address to, bytes data)`.

A message is recorded in the block's output and its hash becomes a leaf of the block's message
root, which the gateway later proves and routes. Value sent with a message is burned here; the
gateway issue mints it on the destination. `messageCount()` is the per-chain message nonce.
"""

from numba import int64 as i64
from numba import njit
from numba import uint32 as u32
from numba import uint64 as u64

from .abi import address_to_bytes32, read_address, read_selector, read_uint, uint_to_bytes32
from .blake2s import hash_packed, hash_words
from .env import emit_log, slot_row, value_at, writable
from .layout import (
    LOG_DATA,
    LOG_TOPICS,
    MSG_DATA_HASH,
    MSG_DST_CHAIN,
    MSG_HASH,
    MSG_NONCE,
    MSG_SENDER,
    MSG_SRC_CHAIN,
    MSG_TO,
    MSG_VALUE,
    MSG_WORDS,
    OUT_N_MSGS,
    OUT_RET,
    OUT_RET_LEN,
    TX_SENDER,
    TX_VALUE,
)
from .state import DOMAIN_STORAGE, L_SCRATCH, S_BLOCK, S_T0, S_T1, S_T2, V_N_MSGS
from .system import (
    EMITTER_MESSENGER,
    EVENT_MESSAGE_SENT,
    GAS_MESSAGE_BYTE,
    GAS_SEND_MESSAGE,
    GAS_VIEW,
    MAX_MESSAGE_BYTES,
    MESSENGER_WORDS,
    REASON_BAD_CALLDATA,
    REASON_FAULT,
    REASON_MESSAGE_TO_SELF,
    REASON_MESSAGE_TOO_LONG,
    REASON_NON_PAYABLE,
    REASON_NONE,
    REASON_OUT_OF_GAS,
    REASON_UNKNOWN_SELECTOR,
    SEL_MESSAGE_COUNT,
    SEL_SEND_MESSAGE,
    SLOT_MESSAGE_COUNT,
)
from .u256 import copy, fits_u64, set_u64, sub_in_place, to_u64

ME = MESSENGER_WORDS


@njit(inline="always", cache=True)
def _put_u64(dst, do, value):
    dst[do] = u32(u64(value) & u64(0xFFFFFFFF))
    dst[do + 1] = u32(u64(value) >> u64(32))


@njit(cache=True)
def _small_uint(inp, dbase, p, work, tmp):
    """An ABI uint at byte p that must fit u32 (offsets, lengths); -1 when it does not."""
    read_uint(inp, dbase, p, work, tmp)
    for i in range(1, 8):
        if work[tmp + i] != 0:
            return -1
    return i64(work[tmp])


@njit(cache=True)
def _send(
    inp,
    work,
    L,
    out,
    logs_off,
    msgs_off,
    tx_i,
    tx,
    sender_row,
    dbase,
    dstart,
    dlen,
    chain_id,
    gas_avail,
):
    """Returns (reason, execution gas)."""
    sc = L[L_SCRATCH]
    if gas_avail < GAS_SEND_MESSAGE:
        return REASON_OUT_OF_GAS, gas_avail
    args = dlen - 4
    if args < 96:
        return REASON_BAD_CALLDATA, GAS_SEND_MESSAGE
    offset = _small_uint(inp, dbase, dstart + 68, work, sc + S_T0)
    if offset < 0 or offset + 32 > args:
        return REASON_BAD_CALLDATA, GAS_SEND_MESSAGE
    length = _small_uint(inp, dbase, dstart + 4 + offset, work, sc + S_T0)
    if length < 0 or offset + 32 + length > args:
        return REASON_BAD_CALLDATA, GAS_SEND_MESSAGE
    if length > MAX_MESSAGE_BYTES:
        return REASON_MESSAGE_TOO_LONG, GAS_SEND_MESSAGE
    gas = GAS_SEND_MESSAGE + GAS_MESSAGE_BYTE * length
    if gas > gas_avail:
        return REASON_OUT_OF_GAS, gas_avail
    dest = sc + S_T1
    read_uint(inp, dbase, dstart + 4, work, dest)
    if not fits_u64(work, dest):
        return REASON_BAD_CALLDATA, gas
    dest_chain = to_u64(work, dest)
    if dest_chain == chain_id:
        return REASON_MESSAGE_TO_SELF, gas
    to = sc + S_T2
    if not read_address(inp, dbase, dstart + 36, work, to):
        return REASON_BAD_CALLDATA, gas
    r_count = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_MESSAGE_COUNT, work, 0, False)
    if r_count < 0 or not writable(inp, work, L, r_count):
        return REASON_FAULT, gas
    nonce = to_u64(work, value_at(L, r_count))
    set_u64(work, value_at(L, r_count), nonce + u64(1))
    # the value leaves the source chain with the message (upfront check covered the balance)
    sub_in_place(work, value_at(L, sender_row), inp, tx + TX_VALUE)

    n = i64(work[sc + V_N_MSGS])
    m = msgs_off + n * MSG_WORDS
    for i in range(MSG_WORDS):
        out[m + i] = 0
    _put_u64(out, m + MSG_SRC_CHAIN, chain_id)
    _put_u64(out, m + MSG_DST_CHAIN, dest_chain)
    _put_u64(out, m + MSG_NONCE, nonce)
    for i in range(5):
        out[m + MSG_SENDER + i] = inp[tx + TX_SENDER + i]
        out[m + MSG_TO + i] = work[to + i]
    copy(out, m + MSG_VALUE, inp, tx + TX_VALUE)
    data_start = dstart + 4 + offset + 32
    hash_packed(inp, dbase, data_start, length, work, sc + S_BLOCK, out, m + MSG_DATA_HASH)
    hash_words(out, m, 2, out, m + MSG_HASH)
    work[sc + V_N_MSGS] = n + 1
    out[OUT_N_MSGS] = n + 1

    base = emit_log(work, L, out, logs_off, tx_i, EMITTER_MESSENGER, EVENT_MESSAGE_SENT, 3)
    uint_to_bytes32(work, dest, out, base + LOG_TOPICS)
    address_to_bytes32(inp, tx + TX_SENDER, out, base + LOG_TOPICS + 8)
    address_to_bytes32(work, to, out, base + LOG_TOPICS + 16)
    set_u64(work, sc + S_T0, nonce)
    uint_to_bytes32(work, sc + S_T0, out, base + LOG_DATA)
    for i in range(8):
        out[base + LOG_DATA + 8 + i] = out[m + MSG_HASH + i]
        out[OUT_RET + i] = out[m + MSG_HASH + i]
    out[OUT_RET_LEN] = 32
    return REASON_NONE, gas


@njit(cache=True)
def call(
    inp,
    work,
    L,
    out,
    logs_off,
    msgs_off,
    tx_i,
    tx,
    sender_row,
    dbase,
    dstart,
    dlen,
    chain_id,
    gas_avail,
):
    """Run one call to the messenger; returns (reason, execution gas)."""
    if dlen < 4:
        return REASON_UNKNOWN_SELECTOR, u32(0)
    sel = read_selector(inp, dbase, dstart)
    if sel == SEL_SEND_MESSAGE:
        reason, gas = _send(
            inp,
            work,
            L,
            out,
            logs_off,
            msgs_off,
            tx_i,
            tx,
            sender_row,
            dbase,
            dstart,
            dlen,
            chain_id,
            gas_avail,
        )
        return reason, u32(gas)
    if sel != SEL_MESSAGE_COUNT:
        return REASON_UNKNOWN_SELECTOR, u32(0)
    if gas_avail < GAS_VIEW:
        return REASON_OUT_OF_GAS, u32(gas_avail)
    for i in range(8):
        if inp[tx + TX_VALUE + i] != 0:
            return REASON_NON_PAYABLE, u32(GAS_VIEW)
    row = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_MESSAGE_COUNT, work, 0, False)
    if row < 0:
        return REASON_FAULT, u32(GAS_VIEW)
    uint_to_bytes32(work, value_at(L, row), out, OUT_RET)
    out[OUT_RET_LEN] = 32
    return REASON_NONE, u32(GAS_VIEW)

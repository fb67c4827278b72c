"""The messenger system contract: `sendMessage(uint256 destChainId, address to, bytes data)`.

A message is recorded in the block's output and its hash becomes a leaf of the block's message
root, which the gateway later proves and routes. Value sent with a message is burned here; the
gateway issue mints it on the destination. `messageCount()` is the per-chain message nonce.
"""

from numba import int64 as i64
from numba import njit
from numba import uint32 as u32
from numba import uint64 as u64

from .abi import (
    address_to_bytes32,
    read_address,
    read_bytes32,
    read_selector,
    read_uint,
    uint_to_bytes32,
)
from .blake2s import hash_packed, hash_pair, hash_words
from .env import emit_log, raw_slot_row, slot_row, value_at, writable
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
from .state import (
    DOMAIN_EXECUTED,
    DOMAIN_INTEROP,
    DOMAIN_STORAGE,
    L_SCRATCH,
    S_BLOCK,
    S_RELAY,
    S_T0,
    S_T1,
    S_T2,
    V_N_MSGS,
    account_key,
    lookup,
)
from .system import (
    EMITTER_MESSENGER,
    EVENT_MESSAGE_EXECUTED,
    EVENT_MESSAGE_SENT,
    GAS_MESSAGE_BYTE,
    GAS_PROOF_STEP,
    GAS_RELAY_MESSAGE,
    GAS_SEND_MESSAGE,
    GAS_SEND_TOKEN,
    GAS_VIEW,
    MAX_MESSAGE_BYTES,
    MAX_PROOF_DEPTH,
    MESSENGER_WORDS,
    REASON_ALREADY_EXECUTED,
    REASON_BAD_CALLDATA,
    REASON_BAD_MESSAGE_PROOF,
    REASON_BALANCE_OVERFLOW,
    REASON_FAULT,
    REASON_MESSAGE_TO_SELF,
    REASON_MESSAGE_TOO_LONG,
    REASON_NON_PAYABLE,
    REASON_NONE,
    REASON_OUT_OF_GAS,
    REASON_SUPPLY_OVERFLOW,
    REASON_TOKEN_BALANCE,
    REASON_UNKNOWN_SELECTOR,
    SEL_MESSAGE_COUNT,
    SEL_RELAY_MESSAGE,
    SEL_SEND_MESSAGE,
    SEL_SEND_TOKEN,
    SLOT_BALANCE,
    SLOT_MESSAGE_COUNT,
    SLOT_TOTAL_SUPPLY,
    STABLECOIN_WORDS,
    TOKEN_MESSAGE_BYTES,
)
from .u256 import add_in_place, cmp, copy, fits_u64, is_zero, set_u64, sub_in_place, to_u64

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

    data_start = dstart + 4 + offset + 32
    _put_message(work, L, out, logs_off, msgs_off, tx_i, chain_id, dest, nonce, inp,
                 tx + TX_SENDER, to, inp, tx + TX_VALUE, inp, dbase, data_start, length)  # fmt: skip
    return REASON_NONE, gas


@njit(cache=True)
def _put_message(
    work, L, out, logs_off, msgs_off, tx_i, chain_id, dest, nonce, sender, s_off, to, value,
    v_off, data, d_base, d_start, d_len,
):  # fmt: skip
    """Write a message record (its hash over the payload's Blake2s) and its MessageSent log;
    the call returns the message hash."""
    sc = L[L_SCRATCH]
    n = i64(work[sc + V_N_MSGS])
    m = msgs_off + n * MSG_WORDS
    for i in range(MSG_WORDS):
        out[m + i] = 0
    _put_u64(out, m + MSG_SRC_CHAIN, chain_id)
    out[m + MSG_DST_CHAIN] = work[dest]
    out[m + MSG_DST_CHAIN + 1] = work[dest + 1]
    _put_u64(out, m + MSG_NONCE, nonce)
    for i in range(5):
        out[m + MSG_SENDER + i] = sender[s_off + i]
        out[m + MSG_TO + i] = work[to + i]
    copy(out, m + MSG_VALUE, value, v_off)
    hash_packed(data, d_base, d_start, d_len, work, sc + S_BLOCK, out, m + MSG_DATA_HASH)
    hash_words(out, m, 2, out, m + MSG_HASH)
    work[sc + V_N_MSGS] = n + 1
    out[OUT_N_MSGS] = n + 1

    base = emit_log(work, L, out, logs_off, tx_i, EMITTER_MESSENGER, EVENT_MESSAGE_SENT, 3)
    uint_to_bytes32(work, dest, out, base + LOG_TOPICS)
    address_to_bytes32(sender, s_off, out, base + LOG_TOPICS + 8)
    address_to_bytes32(work, to, out, base + LOG_TOPICS + 16)
    set_u64(work, sc + S_T0, nonce)
    uint_to_bytes32(work, sc + S_T0, out, base + LOG_DATA)
    for i in range(8):
        out[base + LOG_DATA + 8 + i] = out[m + MSG_HASH + i]
        out[OUT_RET + i] = out[m + MSG_HASH + i]
    out[OUT_RET_LEN] = 32


# the relay's scratch (state.S_RELAY): the message record, the running digest, a sibling, the
# message hash, the recipient and the value
R_RECORD, R_CUR, R_SIB, R_HASH, R_TO, R_VALUE, R_SENDER = 0, 32, 40, 48, 56, 64, 72
LEAF_TAG_WORDS = (0x616C7461, 0x76656473, 0x746E692F, 0x706F7265)  # b"atlasdev/interop"
RELAY_HEAD = 13 * 32  # the ABI head: 13 words


@njit(cache=True)
def _climb(inp, dbase, p, count, index, work, cur, sib, block):
    """Hash the digest at work[cur:] up a path of `count` siblings at calldata byte p."""
    for k in range(count):
        read_bytes32(inp, dbase, p + 32 * k, work, sib)
        if index & 1:
            hash_pair(work, sib, work, cur, work, block, work, cur)
        else:
            hash_pair(work, cur, work, sib, work, block, work, cur)
        index >>= 1


@njit(cache=True)
def _array(inp, dbase, p0, args, head_word, work, tmp):
    """(byte offset of the first element, length) of a bytes32[] argument; (-1, -1) if it does
    not fit the calldata or is longer than MAX_PROOF_DEPTH."""
    off = _small_uint(inp, dbase, p0 + 32 * head_word, work, tmp)
    if off < 0 or off + 32 > args:
        return -1, -1
    n = _small_uint(inp, dbase, p0 + off, work, tmp)
    if n < 0 or n > MAX_PROOF_DEPTH or off + 32 + 32 * n > args:
        return -1, -1
    return p0 + off + 32, n


@njit(cache=True)
def _relay(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen, chain_id, gas_avail):
    """Execute a message from another chain, proven against an imported interop root, once:
    its value is minted to its recipient and a MessageExecuted log records it. Returns
    (reason, execution gas). Every check comes before the first write."""
    sc = L[L_SCRATCH]
    r = sc + S_RELAY
    rec, cur, sib, mh, to, value = (
        r + R_RECORD,
        r + R_CUR,
        r + R_SIB,
        r + R_HASH,
        r + R_TO,
        r + R_VALUE,
    )
    tmp = sc + S_T0
    if gas_avail < GAS_RELAY_MESSAGE:
        return REASON_OUT_OF_GAS, gas_avail
    args = dlen - 4
    p0 = dstart + 4
    if args < RELAY_HEAD:
        return REASON_BAD_CALLDATA, GAS_RELAY_MESSAGE
    for i in range(8):
        if inp[tx + TX_VALUE + i] != 0:
            return REASON_NON_PAYABLE, GAS_RELAY_MESSAGE
    d_off = _small_uint(inp, dbase, p0 + 6 * 32, work, tmp)
    if d_off < 0 or d_off + 32 > args:
        return REASON_BAD_CALLDATA, GAS_RELAY_MESSAGE
    d_len = _small_uint(inp, dbase, p0 + d_off, work, tmp)
    if d_len < 0 or d_off + 32 + d_len > args:
        return REASON_BAD_CALLDATA, GAS_RELAY_MESSAGE
    if d_len > MAX_MESSAGE_BYTES:
        return REASON_MESSAGE_TOO_LONG, GAS_RELAY_MESSAGE
    mp, mp_len = _array(inp, dbase, p0, args, 9, work, tmp)
    hp, hp_len = _array(inp, dbase, p0, args, 12, work, tmp)
    m_index = _small_uint(inp, dbase, p0 + 8 * 32, work, tmp)
    h_index = _small_uint(inp, dbase, p0 + 10 * 32, work, tmp)
    h_count = _small_uint(inp, dbase, p0 + 11 * 32, work, tmp)
    if mp < 0 or hp < 0 or m_index < 0 or h_index < 0 or h_count < 0:
        return REASON_BAD_CALLDATA, GAS_RELAY_MESSAGE
    gas = GAS_RELAY_MESSAGE + GAS_MESSAGE_BYTE * d_len + GAS_PROOF_STEP * (mp_len + hp_len)
    if gas > gas_avail:
        return REASON_OUT_OF_GAS, gas_avail

    # the message record, as the source STF wrote it (this chain is its destination)
    for i in range(32):
        work[rec + i] = 0
    for k, w in ((0, 0), (2, 4)):  # source chain, nonce: u64
        read_uint(inp, dbase, p0 + 32 * k, work, tmp)
        if not fits_u64(work, tmp):
            return REASON_BAD_CALLDATA, gas
        work[rec + w] = work[tmp]
        work[rec + w + 1] = work[tmp + 1]
    _put_u64(work, rec + 2, chain_id)
    if not read_address(inp, dbase, p0 + 3 * 32, work, rec + 6):
        return REASON_BAD_CALLDATA, gas
    if not read_address(inp, dbase, p0 + 4 * 32, work, rec + 11):
        return REASON_BAD_CALLDATA, gas
    read_uint(inp, dbase, p0 + 5 * 32, work, rec + 16)
    hash_packed(inp, dbase, p0 + d_off + 32, d_len, work, sc + S_BLOCK, work, rec + 24)
    for i in range(5):
        work[to + i] = work[rec + 11 + i]
        work[r + R_SENDER + i] = work[rec + 6 + i]
    copy(work, value, work, rec + 16)
    hash_words(work, rec, 2, work, mh)

    # the message hash up to its block's message root
    for i in range(8):
        work[cur + i] = work[mh + i]
    _climb(inp, dbase, mp, mp_len, m_index, work, cur, sib, sc + S_BLOCK)
    read_bytes32(inp, dbase, p0 + 7 * 32, work, sib)
    for i in range(8):
        if work[cur + i] != work[sib + i]:
            return REASON_BAD_MESSAGE_PROOF, gas
    # the block's leaf up to the history's list root, bound to its length
    read_uint(inp, dbase, p0 + 32, work, tmp)
    if not fits_u64(work, tmp):
        return REASON_BAD_CALLDATA, gas
    work[rec + 2] = work[tmp]  # rec 0..1 still hold the source chain
    work[rec + 3] = work[tmp + 1]
    for i in range(8):
        work[rec + 4 + i] = work[sib + i]
    for i in range(4):
        work[rec + 12 + i] = LEAF_TAG_WORDS[i]
    hash_words(work, rec, 1, work, cur)
    depth = 0
    while (1 << depth) < h_count:
        depth += 1
    if h_index >= h_count or hp_len != depth:
        return REASON_BAD_MESSAGE_PROOF, gas
    _climb(inp, dbase, hp, hp_len, h_index, work, cur, sib, sc + S_BLOCK)
    for i in range(8):
        work[rec + i] = work[cur + i]
    work[rec + 8] = u32(h_count)
    for i in range(9, 16):
        work[rec + i] = 0
    hash_words(work, rec, 1, work, cur)  # the interop root

    # an imported root (a witness without it only fails the relay), not executed before
    r_root = raw_slot_row(work, L, DOMAIN_INTEROP, ME, work, cur)
    if r_root < 0 or is_zero(work, value_at(L, r_root)):
        return REASON_BAD_MESSAGE_PROOF, gas
    r_done = raw_slot_row(work, L, DOMAIN_EXECUTED, ME, work, mh)
    if r_done < 0:
        return REASON_FAULT, gas
    if not is_zero(work, value_at(L, r_done)):
        return REASON_ALREADY_EXECUTED, gas
    token = True  # a token message: its sender is the stablecoin (messenger._send_token)
    for i in range(5):
        if work[r + R_SENDER + i] != STABLECOIN_WORDS[i]:
            token = False
    if token:
        if d_len != TOKEN_MESSAGE_BYTES or not is_zero(work, value):
            return REASON_BAD_CALLDATA, gas  # unreachable for a proven record: the hash binds it
        read_uint(inp, dbase, p0 + d_off + 32 + 20, work, value)  # the amount, reusing `value`
        r_to = slot_row(work, L, DOMAIN_STORAGE, STABLECOIN_WORDS, SLOT_BALANCE, work, to, True)
        r_sup = slot_row(work, L, DOMAIN_STORAGE, STABLECOIN_WORDS, SLOT_TOTAL_SUPPLY, work, 0,
                         False)  # fmt: skip
        if r_to < 0 or r_sup < 0:
            return REASON_FAULT, gas
        copy(work, sc + S_T1, work, value_at(L, r_sup))
        if add_in_place(work, sc + S_T1, work, value):
            return REASON_SUPPLY_OVERFLOW, gas
        if (
            not writable(inp, work, L, r_done)
            or not writable(inp, work, L, r_to)
            or not writable(inp, work, L, r_sup)
        ):
            return REASON_FAULT, gas
        set_u64(work, value_at(L, r_done), 1)
        copy(work, value_at(L, r_sup), work, sc + S_T1)
        add_in_place(work, value_at(L, r_to), work, value)  # bounded by the supply
    else:
        account_key(work, to, work, L)
        r_to = lookup(work, L)
        if r_to < 0:
            return REASON_FAULT, gas
        copy(work, sc + S_T1, work, value_at(L, r_to))
        if add_in_place(work, sc + S_T1, work, value):
            return REASON_BALANCE_OVERFLOW, gas
        if not writable(inp, work, L, r_done) or not writable(inp, work, L, r_to):
            return REASON_FAULT, gas
        set_u64(work, value_at(L, r_done), 1)
        copy(work, value_at(L, r_to), work, sc + S_T1)

    base = emit_log(work, L, out, logs_off, tx_i, EMITTER_MESSENGER, EVENT_MESSAGE_EXECUTED, 3)
    read_uint(inp, dbase, p0, work, tmp)
    uint_to_bytes32(work, tmp, out, base + LOG_TOPICS)
    address_to_bytes32(work, to, out, base + LOG_TOPICS + 8)
    for i in range(8):
        out[base + LOG_TOPICS + 16 + i] = work[mh + i]
    read_uint(inp, dbase, p0 + 2 * 32, work, tmp)
    uint_to_bytes32(work, tmp, out, base + LOG_DATA)
    uint_to_bytes32(work, value, out, base + LOG_DATA + 8)
    out[OUT_RET_LEN] = 0
    return REASON_NONE, gas


@njit(cache=True)
def _send_token(
    inp, work, L, out, logs_off, msgs_off, tx_i, tx, dbase, dstart, dlen, chain_id, gas_avail
):
    """Burn aUSD here and send a token message: its record's sender is the stablecoin (no
    account can send as it), its payload the burner and the amount; the destination mints.
    Returns (reason, execution gas)."""
    sc = L[L_SCRATCH]
    if gas_avail < GAS_SEND_TOKEN:
        return REASON_OUT_OF_GAS, gas_avail
    gas = GAS_SEND_TOKEN
    if dlen - 4 < 96:
        return REASON_BAD_CALLDATA, gas
    for i in range(8):
        if inp[tx + TX_VALUE + i] != 0:
            return REASON_NON_PAYABLE, gas
    dest, to, amount = sc + S_T1, sc + S_T2, sc + S_RELAY + R_VALUE
    read_uint(inp, dbase, dstart + 4, work, dest)
    if not fits_u64(work, dest):
        return REASON_BAD_CALLDATA, gas
    dest_chain = to_u64(work, dest)
    if dest_chain == chain_id:
        return REASON_MESSAGE_TO_SELF, gas
    if not read_address(inp, dbase, dstart + 36, work, to):
        return REASON_BAD_CALLDATA, gas
    read_uint(inp, dbase, dstart + 68, work, amount)
    r_bal = slot_row(work, L, DOMAIN_STORAGE, STABLECOIN_WORDS, SLOT_BALANCE, inp, tx + TX_SENDER,
                     True)  # fmt: skip
    r_sup = slot_row(work, L, DOMAIN_STORAGE, STABLECOIN_WORDS, SLOT_TOTAL_SUPPLY, work, 0, False)
    r_count = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_MESSAGE_COUNT, work, 0, False)
    if r_bal < 0 or r_sup < 0 or r_count < 0:
        return REASON_FAULT, gas
    if cmp(work, value_at(L, r_bal), work, amount) < 0:
        return REASON_TOKEN_BALANCE, gas
    if (
        not writable(inp, work, L, r_bal)
        or not writable(inp, work, L, r_sup)
        or not writable(inp, work, L, r_count)
    ):
        return REASON_FAULT, gas
    sub_in_place(work, value_at(L, r_bal), work, amount)
    sub_in_place(work, value_at(L, r_sup), work, amount)  # supply >= any balance: no borrow
    nonce = to_u64(work, value_at(L, r_count))
    set_u64(work, value_at(L, r_count), nonce + u64(1))

    payload = sc + S_RELAY + R_RECORD  # 52 packed bytes: the burner, then the amount (BE)
    for i in range(5):
        work[payload + i] = inp[tx + TX_SENDER + i]
    uint_to_bytes32(work, amount, work, payload + 5)
    zero = sc + S_RELAY + R_CUR
    for i in range(8):
        work[zero + i] = 0
    _put_message(work, L, out, logs_off, msgs_off, tx_i, chain_id, dest, nonce, STABLECOIN_WORDS,
                 0, to, work, zero, work, payload, 0, TOKEN_MESSAGE_BYTES)  # fmt: skip
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
    if sel == SEL_SEND_TOKEN:
        reason, gas = _send_token(inp, work, L, out, logs_off, msgs_off, tx_i, tx, dbase, dstart,
                                  dlen, chain_id, gas_avail)  # fmt: skip
        return reason, u32(gas)
    if sel == SEL_RELAY_MESSAGE:
        reason, gas = _relay(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen, chain_id,
                             gas_avail)  # fmt: skip
        return reason, u32(gas)
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

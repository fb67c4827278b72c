"""The oracle system contract: `setPrice(bytes32 feed, uint256 price)` by authorised feeders,
`getPrice(bytes32)`, `isFeeder(address)`.

Storage: price of a feed under its own key domain (a feed id can never alias a feeder slot),
feeder flag at [SLOT_FEEDER, account]; the dev accounts are feeders at genesis.
"""

from numba import njit
from numba import uint32 as u32

from .abi import read_address, read_bytes32, read_selector, read_uint, uint_to_bytes32
from .env import emit_log, raw_slot_row, slot_row, value_at, writable
from .layout import LOG_DATA, LOG_TOPICS, OUT_RET, OUT_RET_LEN, TX_SENDER, TX_VALUE
from .state import DOMAIN_FEED, DOMAIN_STORAGE, L_SCRATCH, S_T0, S_T1, S_T2
from .system import (
    EMITTER_ORACLE,
    EVENT_PRICE_UPDATED,
    GAS_SET_PRICE,
    GAS_VIEW,
    ORACLE_WORDS,
    REASON_BAD_CALLDATA,
    REASON_FAULT,
    REASON_NON_PAYABLE,
    REASON_NONE,
    REASON_NOT_FEEDER,
    REASON_OUT_OF_GAS,
    REASON_UNKNOWN_SELECTOR,
    SEL_GET_PRICE,
    SEL_IS_FEEDER,
    SEL_SET_PRICE,
    SLOT_FEEDER,
)
from .u256 import copy, is_zero, set_u64

ME = ORACLE_WORDS


@njit(cache=True)
def _set_price(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen):
    sc = L[L_SCRATCH]
    feed, price = sc + S_T2, sc + S_T1
    if dlen < 68:
        return REASON_BAD_CALLDATA
    read_bytes32(inp, dbase, dstart + 4, work, feed)
    read_uint(inp, dbase, dstart + 36, work, price)
    r_feeder = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_FEEDER, inp, tx + TX_SENDER, True)
    if r_feeder < 0:
        return REASON_FAULT
    if is_zero(work, value_at(L, r_feeder)):
        return REASON_NOT_FEEDER
    row = raw_slot_row(work, L, DOMAIN_FEED, ME, work, feed)
    if row < 0 or not writable(inp, work, L, row):
        return REASON_FAULT
    copy(work, value_at(L, row), work, price)
    base = emit_log(work, L, out, logs_off, tx_i, EMITTER_ORACLE, EVENT_PRICE_UPDATED, 1)
    for i in range(8):
        out[base + LOG_TOPICS + i] = work[feed + i]
    uint_to_bytes32(work, price, out, base + LOG_DATA)
    out[OUT_RET_LEN] = 0
    return REASON_NONE


@njit(cache=True)
def _view(inp, work, L, out, sel, dbase, dstart, dlen):
    sc = L[L_SCRATCH]
    if dlen < 36:
        return REASON_BAD_CALLDATA
    if sel == SEL_GET_PRICE:
        read_bytes32(inp, dbase, dstart + 4, work, sc + S_T2)
        row = raw_slot_row(work, L, DOMAIN_FEED, ME, work, sc + S_T2)
        if row < 0:
            return REASON_FAULT
        uint_to_bytes32(work, value_at(L, row), out, OUT_RET)
    else:
        if not read_address(inp, dbase, dstart + 4, work, sc + S_T2):
            return REASON_BAD_CALLDATA
        row = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_FEEDER, work, sc + S_T2, True)
        if row < 0:
            return REASON_FAULT
        set_u64(work, sc + S_T0, 0 if is_zero(work, value_at(L, row)) else 1)
        uint_to_bytes32(work, sc + S_T0, out, OUT_RET)
    out[OUT_RET_LEN] = 32
    return REASON_NONE


@njit(cache=True)
def call(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen, gas_avail):
    """Run one call to the oracle; returns (reason, execution gas)."""
    if dlen < 4:
        return REASON_UNKNOWN_SELECTOR, u32(0)
    sel = read_selector(inp, dbase, dstart)
    if sel == SEL_SET_PRICE:
        gas = GAS_SET_PRICE
    elif sel == SEL_GET_PRICE or sel == SEL_IS_FEEDER:
        gas = GAS_VIEW
    else:
        return REASON_UNKNOWN_SELECTOR, u32(0)
    if gas > gas_avail:
        return REASON_OUT_OF_GAS, u32(gas_avail)
    if not is_zero(inp, tx + TX_VALUE):
        return REASON_NON_PAYABLE, u32(gas)
    if sel == SEL_SET_PRICE:
        return _set_price(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen), u32(gas)
    return _view(inp, work, L, out, sel, dbase, dstart, dlen), u32(gas)

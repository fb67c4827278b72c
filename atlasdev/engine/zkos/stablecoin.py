"""The stablecoin system contract: an ERC-20 (transfer, balanceOf, totalSupply, decimals, symbol,
name) with a mint reserved to the accounts its minter list holds (the dev accounts at genesis).

Storage: balance[holder] at [SLOT_BALANCE, holder], total supply at [SLOT_TOTAL_SUPPLY],
minter flag at [SLOT_MINTER, account]. approve/transferFrom are not part of the first release.
"""

from numba import njit
from numba import uint32 as u32

from .abi import address_to_bytes32, read_address, read_selector, read_uint, uint_to_bytes32
from .env import emit_log, return_words, slot_row, value_at, writable
from .layout import LOG_DATA, LOG_TOPICS, OUT_RET, OUT_RET_LEN, TX_SENDER, TX_VALUE
from .state import DOMAIN_STORAGE, L_SCRATCH, S_T0, S_T1, S_T2
from .system import (
    EMITTER_STABLECOIN,
    EVENT_TRANSFER,
    GAS_TOKEN_MINT,
    GAS_TOKEN_TRANSFER,
    GAS_VIEW,
    NAME_ABI,
    REASON_BAD_CALLDATA,
    REASON_FAULT,
    REASON_NON_PAYABLE,
    REASON_NONE,
    REASON_NOT_MINTER,
    REASON_OUT_OF_GAS,
    REASON_SUPPLY_OVERFLOW,
    REASON_TOKEN_BALANCE,
    REASON_UNKNOWN_SELECTOR,
    SEL_BALANCE_OF,
    SEL_DECIMALS,
    SEL_IS_MINTER,
    SEL_MINT,
    SEL_NAME,
    SEL_SYMBOL,
    SEL_TOTAL_SUPPLY,
    SEL_TRANSFER,
    SLOT_BALANCE,
    SLOT_MINTER,
    SLOT_TOTAL_SUPPLY,
    STABLECOIN_DECIMALS,
    STABLECOIN_WORDS,
    SYMBOL_ABI,
)
from .u256 import add_in_place, cmp, copy, is_zero, set_u64, sub_in_place

ME = STABLECOIN_WORDS


@njit(cache=True)
def _return_uint(out, src, so):
    uint_to_bytes32(src, so, out, OUT_RET)
    out[OUT_RET_LEN] = 32


@njit(cache=True)
def _return_bool(work, L, out, flag):
    sc = L[L_SCRATCH]
    set_u64(work, sc + S_T0, 1 if flag else 0)
    _return_uint(out, work, sc + S_T0)


@njit(cache=True)
def _transfer_log(work, L, out, logs_off, tx_i, frm, f_off, to, t_off, amount, a_off):
    base = emit_log(work, L, out, logs_off, tx_i, EMITTER_STABLECOIN, EVENT_TRANSFER, 2)
    address_to_bytes32(frm, f_off, out, base + LOG_TOPICS)
    address_to_bytes32(to, t_off, out, base + LOG_TOPICS + 8)
    uint_to_bytes32(amount, a_off, out, base + LOG_DATA)


@njit(cache=True)
def _transfer(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen):
    sc = L[L_SCRATCH]
    to, amount = sc + S_T2, sc + S_T1
    if dlen < 68 or not read_address(inp, dbase, dstart + 4, work, to):
        return REASON_BAD_CALLDATA
    read_uint(inp, dbase, dstart + 36, work, amount)
    r_from = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_BALANCE, inp, tx + TX_SENDER, True)
    r_to = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_BALANCE, work, to, True)
    if r_from < 0 or r_to < 0:
        return REASON_FAULT
    if cmp(work, value_at(L, r_from), work, amount) < 0:
        return REASON_TOKEN_BALANCE
    if r_from != r_to:
        # the recipient can never overflow: its balance is bounded by the total supply
        if not writable(inp, work, L, r_from) or not writable(inp, work, L, r_to):
            return REASON_FAULT
        sub_in_place(work, value_at(L, r_from), work, amount)
        add_in_place(work, value_at(L, r_to), work, amount)
    _transfer_log(work, L, out, logs_off, tx_i, inp, tx + TX_SENDER, work, to, work, amount)
    _return_bool(work, L, out, True)
    return REASON_NONE


@njit(cache=True)
def _mint(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen):
    sc = L[L_SCRATCH]
    to, amount = sc + S_T2, sc + S_T1
    if dlen < 68 or not read_address(inp, dbase, dstart + 4, work, to):
        return REASON_BAD_CALLDATA
    read_uint(inp, dbase, dstart + 36, work, amount)
    r_minter = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_MINTER, inp, tx + TX_SENDER, True)
    r_supply = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_TOTAL_SUPPLY, work, 0, False)
    r_to = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_BALANCE, work, to, True)
    if r_minter < 0 or r_supply < 0 or r_to < 0:
        return REASON_FAULT
    if is_zero(work, value_at(L, r_minter)):
        return REASON_NOT_MINTER
    copy(work, sc + S_T0, work, value_at(L, r_supply))
    if add_in_place(work, sc + S_T0, work, amount):
        return REASON_SUPPLY_OVERFLOW
    if not writable(inp, work, L, r_supply) or not writable(inp, work, L, r_to):
        return REASON_FAULT
    copy(work, value_at(L, r_supply), work, sc + S_T0)
    add_in_place(work, value_at(L, r_to), work, amount)
    for i in range(5):
        work[sc + S_T0 + i] = 0
    _transfer_log(work, L, out, logs_off, tx_i, work, sc + S_T0, work, to, work, amount)
    _return_bool(work, L, out, True)
    return REASON_NONE


@njit(cache=True)
def _view(inp, work, L, out, sel, dbase, dstart, dlen):
    sc = L[L_SCRATCH]
    if sel == SEL_TOTAL_SUPPLY:
        row = slot_row(work, L, DOMAIN_STORAGE, ME, SLOT_TOTAL_SUPPLY, work, 0, False)
        if row < 0:
            return REASON_FAULT
        _return_uint(out, work, value_at(L, row))
        return REASON_NONE
    if sel == SEL_DECIMALS:
        set_u64(work, sc + S_T0, STABLECOIN_DECIMALS)
        _return_uint(out, work, sc + S_T0)
        return REASON_NONE
    if sel == SEL_SYMBOL:
        return_words(out, SYMBOL_ABI, 0, 4 * len(SYMBOL_ABI))
        return REASON_NONE
    if sel == SEL_NAME:
        return_words(out, NAME_ABI, 0, 4 * len(NAME_ABI))
        return REASON_NONE
    # balanceOf / isMinter take one address
    holder = sc + S_T2
    if dlen < 36 or not read_address(inp, dbase, dstart + 4, work, holder):
        return REASON_BAD_CALLDATA
    tag = SLOT_BALANCE if sel == SEL_BALANCE_OF else SLOT_MINTER
    row = slot_row(work, L, DOMAIN_STORAGE, ME, tag, work, holder, True)
    if row < 0:
        return REASON_FAULT
    if sel == SEL_BALANCE_OF:
        _return_uint(out, work, value_at(L, row))
    else:
        _return_bool(work, L, out, not is_zero(work, value_at(L, row)))
    return REASON_NONE


@njit(cache=True)
def call(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen, gas_avail):
    """Run one call to the stablecoin; returns (reason, execution gas)."""
    if dlen < 4:
        return REASON_UNKNOWN_SELECTOR, u32(0)
    sel = read_selector(inp, dbase, dstart)
    if sel == SEL_TRANSFER or sel == SEL_MINT:
        gas = GAS_TOKEN_TRANSFER if sel == SEL_TRANSFER else GAS_TOKEN_MINT
    elif (
        sel == SEL_BALANCE_OF
        or sel == SEL_TOTAL_SUPPLY
        or sel == SEL_DECIMALS
        or sel == SEL_SYMBOL
        or sel == SEL_NAME
        or sel == SEL_IS_MINTER
    ):
        gas = GAS_VIEW
    else:
        return REASON_UNKNOWN_SELECTOR, u32(0)
    if gas > gas_avail:
        return REASON_OUT_OF_GAS, u32(gas_avail)
    if not is_zero(inp, tx + TX_VALUE):
        return REASON_NON_PAYABLE, u32(gas)
    if sel == SEL_TRANSFER:
        reason = _transfer(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen)
    elif sel == SEL_MINT:
        reason = _mint(inp, work, L, out, logs_off, tx_i, tx, dbase, dstart, dlen)
    else:
        reason = _view(inp, work, L, out, sel, dbase, dstart, dlen)
    return reason, u32(gas)

"""What a system contract sees: its storage slots, its return data and its event log.

Kept apart from the contracts so that each contract module reads as its ABI and nothing else.
"""

from numba import int64 as i64
from numba import njit

from .layout import (
    LEAF_VALUE,
    LEAF_WORDS,
    LOG_EMITTER,
    LOG_EVENT,
    LOG_N_TOPICS,
    LOG_TX,
    LOG_WORDS,
    OUT_N_LOGS,
    OUT_RET,
    OUT_RET_LEN,
)
from .state import L_ROWS, L_SCRATCH, S_ADDR, S_SLOT, V_N_LOGS, derive_key, lookup, make_writable


@njit(cache=True)
def slot_row(work, L, domain, contract, tag, holder, h_off, has_holder):
    """Row of storage slot [tag, holder] (or [tag]) of a system contract; -1 if unwitnessed."""
    sc = L[L_SCRATCH]
    for i in range(5):
        work[sc + S_ADDR + i] = contract[i]
    for i in range(8):
        work[sc + S_SLOT + i] = 0
    work[sc + S_SLOT] = tag
    if has_holder:
        for i in range(5):
            work[sc + S_SLOT + 1 + i] = holder[h_off + i]
    derive_key(domain, work, sc + S_ADDR, work, sc + S_SLOT, work, L)
    return lookup(work, L)


@njit(cache=True)
def raw_slot_row(work, L, domain, contract, slot, s_off):
    """Row of a slot named by 8 raw words (an oracle feed id); -1 if unwitnessed."""
    sc = L[L_SCRATCH]
    for i in range(5):
        work[sc + S_ADDR + i] = contract[i]
    derive_key(domain, work, sc + S_ADDR, slot, s_off, work, L)
    return lookup(work, L)


@njit(inline="always", cache=True)
def value_at(L, row):
    """Offset in the work area of a row's value (u256 limbs for balances and slots)."""
    return L[L_ROWS] + row * LEAF_WORDS + LEAF_VALUE


@njit(cache=True)
def writable(inp, work, L, row):
    return make_writable(inp, work, L, row)


@njit(cache=True)
def return_words(out, src, so, n_bytes):
    """Set the return data to n_bytes (a multiple of 4) of packed bytes from src[so:]."""
    for i in range(n_bytes // 4):
        out[OUT_RET + i] = src[so + i]
    out[OUT_RET_LEN] = n_bytes


@njit(cache=True)
def emit_log(work, L, out, logs_off, tx_i, emitter, event, n_topics):
    """Append a log record; returns its offset so the caller fills topics and data."""
    n = i64(work[L[L_SCRATCH] + V_N_LOGS])
    base = logs_off + n * LOG_WORDS
    for i in range(LOG_WORDS):
        out[base + i] = 0
    out[base + LOG_TX] = tx_i
    out[base + LOG_EMITTER] = emitter
    out[base + LOG_EVENT] = event
    out[base + LOG_N_TOPICS] = n_topics
    work[L[L_SCRATCH] + V_N_LOGS] = n + 1
    out[OUT_N_LOGS] = n + 1
    return base

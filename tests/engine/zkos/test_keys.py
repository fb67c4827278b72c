"""keys.py (hashlib, host) derives exactly the state keys the STF derives (state.py / env.py)."""

import hashlib
import struct

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from atlasdev.engine.zkos import env, keys, layout, state, system
from atlasdev.engine.zkos.blake2s import digest_to_bytes, pack_bytes

SETTINGS = settings(max_examples=50, deadline=None)
addresses = st.binary(min_size=20, max_size=20)


def _work():
    L = layout.work_offsets(3, 2, 1)
    return np.zeros(L[9], dtype=np.uint32), L


def _scratch_key(work, L) -> bytes:
    at = L[7] + state.S_KEY
    return digest_to_bytes(work[at : at + 8])


def stf_account_key(address: bytes) -> bytes:
    work, L = _work()
    state.account_key(pack_bytes(address), 0, work, L)
    return _scratch_key(work, L)


def stf_derive(domain: int, address: bytes, slot: bytes) -> bytes:
    work, L = _work()
    state.derive_key(np.uint32(domain), pack_bytes(address), 0, pack_bytes(slot), 0, work, L)
    return _scratch_key(work, L)


def stf_slot_row_key(contract: bytes, tag: int, holder: bytes | None) -> bytes:
    """Through env.slot_row, as the contracts call it (an empty table: the lookup misses)."""
    work, L = _work()
    h = pack_bytes(holder or bytes(20))
    row = env.slot_row(
        work, L, state.DOMAIN_STORAGE, pack_bytes(contract), tag, h, 0, holder is not None
    )
    assert row == -1
    return _scratch_key(work, L)


def stf_feed_key(feed: bytes) -> bytes:
    work, L = _work()
    row = env.raw_slot_row(
        work, L, state.DOMAIN_FEED, pack_bytes(system.ORACLE_ADDRESS), pack_bytes(feed), 0
    )
    assert row == -1
    return _scratch_key(work, L)


def test_domains_agree() -> None:
    assert (keys.DOMAIN_ACCOUNT, keys.DOMAIN_STORAGE, keys.DOMAIN_FEED) == (
        state.DOMAIN_ACCOUNT,
        state.DOMAIN_STORAGE,
        state.DOMAIN_FEED,
    )


def test_account_key_spelled_out() -> None:
    a = bytes(range(1, 21))
    pre = struct.pack("<I", 1) + a + bytes(32) + bytes(8)
    assert len(pre) == 64
    assert keys.account_key(a) == hashlib.blake2s(pre).digest() == stf_account_key(a)


@SETTINGS
@given(addresses)
def test_account_key(address: bytes) -> None:
    assert keys.account_key(address) == stf_account_key(address)


@SETTINGS
@given(st.integers(0, 3), addresses, st.binary(min_size=32, max_size=32))
def test_derive_key(domain: int, address: bytes, slot: bytes) -> None:
    assert keys._key(domain, address, slot) == stf_derive(domain, address, slot)


@SETTINGS
@given(
    st.sampled_from(system.SYSTEM_ADDRESSES),
    st.sampled_from([system.SLOT_BALANCE, system.SLOT_TOTAL_SUPPLY, system.SLOT_MINTER]),
    st.one_of(st.none(), addresses),
)
def test_storage_key(contract: bytes, tag: int, holder: bytes | None) -> None:
    assert keys.storage_key(contract, tag, holder) == stf_slot_row_key(contract, tag, holder)


@SETTINGS
@given(addresses)
def test_named_storage_keys(holder: bytes) -> None:
    coin, oracle = system.STABLECOIN_ADDRESS, system.ORACLE_ADDRESS
    assert keys.token_balance_key(holder) == stf_slot_row_key(coin, system.SLOT_BALANCE, holder)
    assert keys.token_minter_key(holder) == stf_slot_row_key(coin, system.SLOT_MINTER, holder)
    assert keys.oracle_feeder_key(holder) == stf_slot_row_key(oracle, system.SLOT_FEEDER, holder)


def test_singleton_keys() -> None:
    assert (
        stf_slot_row_key(system.STABLECOIN_ADDRESS, system.SLOT_TOTAL_SUPPLY, None)
        == keys.TOKEN_SUPPLY_KEY
    )
    assert (
        stf_slot_row_key(system.MESSENGER_ADDRESS, system.SLOT_MESSAGE_COUNT, None)
        == keys.MESSAGE_COUNT_KEY
    )


@SETTINGS
@given(st.binary(min_size=32, max_size=32))
def test_feed_key(feed: bytes) -> None:
    assert keys.feed_key(feed) == stf_feed_key(feed)


def test_keys_of_distinct_kinds_differ() -> None:
    a = b"\x11" * 20
    ks = {
        keys.account_key(a),
        keys.token_balance_key(a),
        keys.token_minter_key(a),
        keys.oracle_feeder_key(a),
        keys.feed_key(a + bytes(12)),
        keys.TOKEN_SUPPLY_KEY,
        keys.MESSAGE_COUNT_KEY,
    }
    assert len(ks) == 7

"""The zkOS state transition function, through the host API (block.execute) and directly.

Every executed block is applied to the host tree, and the host's root must equal the root the STF
proved (result.public.post_root). Expected values are computed here from first principles: fees
from the gas rules, ABI with eth_abi, event topics with keccak, hashes with hashlib.
"""

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from eth_abi import decode, encode
from eth_hash.auto import keccak
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from atlasdev.engine.zkos import block as blk
from atlasdev.engine.zkos import keys, layout, stf, system
from atlasdev.engine.zkos.block import BlockHeader, StfFault, TxInput, execute
from atlasdev.engine.zkos.layout import LEAF_KEY, LEAF_NEXT, LEAF_VALUE, LEAF_WORDS
from atlasdev.engine.zkos.tree import StateTree, sort_key
from atlasdev.engine.zkos.u256 import from_int, to_int

# ---- fixtures: a dev-like genesis ----------------------------------------------------------------
CHAIN = 270
ALICE = bytes.fromhex("f39fd6e51aad88f6f4ce6ab8827279cfffb92266")  # minter, feeder
BOB = bytes.fromhex("70997970c51812dc3a010c7d01b50e0d17dc79c8")  # minter
CAROL = bytes.fromhex("3c44cdddb6a900fa2b585dd299e03d12fa4293bc")
DAVE = bytes.fromhex("90f79bf6eb2c4f870365e785982e1f101e93b906")  # no privileges
DEV = (ALICE, BOB, CAROL, DAVE)
FRESH = (b"\xab" * 20, b"\x01" + bytes(19), b"\xfe" * 20, bytes(19) + b"\x07")
ETH = 10_000 * 10**18
TOKENS = {ALICE: 10**24, BOB: 5 * 10**20}
FEED = keccak(b"ETH/USD")
BASE_FEE = 7
HDR = BlockHeader(chain_id=CHAIN, number=1, timestamp=1_700_000_000, base_fee=BASE_FEE)

COIN, ORACLE, MESSENGER = system.STABLECOIN_ADDRESS, system.ORACLE_ADDRESS, system.MESSENGER_ADDRESS
GAS_TX = 21_000
TOPIC_TRANSFER = keccak(b"Transfer(address,address,uint256)")
TOPIC_PRICE = keccak(b"PriceUpdated(bytes32,uint256)")
TOPIC_MESSAGE = keccak(b"MessageSent(uint256,address,address,uint256,bytes32)")


def sel(signature: str) -> bytes:
    return keccak(signature.encode())[:4]


def account_value(balance: int, nonce: int = 0) -> np.ndarray:
    v = np.zeros(16, dtype=np.uint32)
    v[:8] = from_int(balance)
    v[8] = nonce & 0xFFFFFFFF
    v[9] = nonce >> 32
    return v


def uint_value(x: int) -> np.ndarray:
    v = np.zeros(16, dtype=np.uint32)
    v[:8] = from_int(x)
    return v


def genesis(capacity: int = 1024, balances: dict[bytes, int] | None = None) -> StateTree:
    t = StateTree(capacity)
    for a, bal in (balances or dict.fromkeys(DEV, ETH)).items():
        t.set_value(keys.account_key(a), account_value(bal))
    for m in (ALICE, BOB):
        t.set_value(keys.token_minter_key(m), uint_value(1))
    t.set_value(keys.oracle_feeder_key(ALICE), uint_value(1))
    for h, amount in TOKENS.items():
        t.set_value(keys.token_balance_key(h), uint_value(amount))
    t.set_value(keys.TOKEN_SUPPLY_KEY, uint_value(sum(TOKENS.values())))
    return t


@pytest.fixture
def tree() -> StateTree:
    return genesis()


# ---- helpers -------------------------------------------------------------------------------------
def tx(sender, to, nonce=0, value=0, data=b"", gas=100_000, max_fee=10, prio=1) -> TxInput:
    return TxInput(sender, to, nonce, value, gas, max_fee, prio, data)


def run(tree: StateTree, txs, header: BlockHeader = HDR) -> blk.BlockResult:
    """Execute, check the public values' frame, apply, and check host root == STF post root."""
    pre = tree.root()
    res = execute(header, txs, tree)
    assert res.public.pre_root == pre
    assert res.public.chain_id == header.chain_id and res.public.number == header.number
    assert res.public.interop_root == header.interop_root
    tree.apply(res.changed_positions, res.changed_leaves)
    assert tree.root() == res.public.post_root
    assert tree.size == res.tree_size
    assert res.gas_used == sum(r.gas_used for r in res.receipts if r.included)
    return res


def _value(tree: StateTree, key: bytes) -> np.ndarray:
    leaf = tree.leaf(key)
    return np.zeros(16, dtype=np.uint32) if leaf is None else leaf[LEAF_VALUE:]


def eth(tree, a) -> int:
    return to_int(_value(tree, keys.account_key(a)))


def nonce(tree, a) -> int:
    v = _value(tree, keys.account_key(a))
    return int(v[8]) | int(v[9]) << 32


def token(tree, a) -> int:
    return to_int(_value(tree, keys.token_balance_key(a)))


def supply(tree) -> int:
    return to_int(_value(tree, keys.TOKEN_SUPPLY_KEY))


def price(t: TxInput, base_fee: int = BASE_FEE) -> int:
    return min(t.max_fee, base_fee + t.priority_fee)


def calldata_gas(data: bytes) -> int:
    return sum(16 if b else 4 for b in data)


def intrinsic(t: TxInput) -> int:
    return GAS_TX + calldata_gas(t.data)


def assert_sorted_list(tree: StateTree) -> None:
    rows = tree.leaves[: tree.size * LEAF_WORDS].reshape(-1, LEAF_WORDS)
    ks = [r[LEAF_KEY : LEAF_KEY + 8].astype("<u4").tobytes() for r in rows]
    ordered = sorted(ks, key=sort_key)
    nxt = {
        k: (ordered[i + 1] if i + 1 < len(ordered) else bytes(32)) for i, k in enumerate(ordered)
    }
    for r, k in zip(rows, ks, strict=True):
        assert r[LEAF_NEXT : LEAF_NEXT + 8].astype("<u4").tobytes() == nxt[k]


def pad(a: bytes) -> bytes:
    return bytes(12) + a


def transfer_data(to: bytes, amount: int) -> bytes:
    return sel("transfer(address,uint256)") + encode(["address", "uint256"], [to, amount])


def mint_data(to: bytes, amount: int) -> bytes:
    return sel("mint(address,uint256)") + encode(["address", "uint256"], [to, amount])


def set_price_data(feed: bytes, p: int) -> bytes:
    return sel("setPrice(bytes32,uint256)") + encode(["bytes32", "uint256"], [feed, p])


def send_data(dst: int, to: bytes, data: bytes) -> bytes:
    return sel("sendMessage(uint256,address,bytes)") + encode(
        ["uint256", "address", "bytes"], [dst, to, data]
    )


def blake(data: bytes) -> bytes:
    return hashlib.blake2s(data).digest()


def message_hash(src, dst, n, sender, to, value, data) -> bytes:
    pre = (
        struct.pack("<QQQ", src, dst, n) + sender + to + value.to_bytes(32, "little") + blake(data)
    )
    assert len(pre) == 128
    return blake(pre)


def list_root(digests: list[bytes]) -> bytes:
    if not digests:
        return bytes(32)
    level = list(digests)
    while len(level) > 1:
        if len(level) % 2:
            level.append(bytes(32))
        level = [blake(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def commitment_leaf(t: TxInput) -> bytes:
    """The transaction commitment leaf, spelled out from stf._commit_tx / layout TX_*."""
    rec = (
        t.sender
        + (t.to or bytes(20))
        + struct.pack("<I", t.to is not None)
        + struct.pack("<Q", t.nonce)
        + t.value.to_bytes(32, "little")
        + struct.pack("<QQQ", t.gas_limit, t.max_fee, t.priority_fee)
    )
    assert len(rec) == 4 * layout.TX_COMMITTED_WORDS
    pre = rec + struct.pack("<I", len(t.data)) + bytes(16) + blake(t.data) + bytes(32)
    return blake(pre)


def fresh_buffers(inp: np.ndarray, fill: int | None = None):
    n_txs = int(inp[layout.IN_N_TXS])
    offs = layout.work_offsets(int(inp[layout.IN_N_EXIST]), int(inp[layout.IN_N_ABSENT]), n_txs)
    work = np.zeros(offs[-1], dtype=np.uint32)
    out = np.zeros(layout.out_offsets(n_txs)[-1], dtype=np.uint32)
    if fill is not None:
        rng = np.random.default_rng(fill)
        work[:] = rng.integers(0, 2**32, len(work), dtype=np.uint64)
        out[:] = rng.integers(0, 2**32, len(out), dtype=np.uint64)
    return work, out


# ---- native ETH ----------------------------------------------------------------------------------
@pytest.mark.parametrize(("max_fee", "prio", "effective"), [(10, 2, 9), (8, 2, 8), (7, 0, 7)])
def test_eth_transfer(tree, max_fee, prio, effective) -> None:
    t = tx(ALICE, BOB, value=12_345, gas=50_000, max_fee=max_fee, prio=prio)
    assert price(t) == effective
    res = run(tree, [t])
    (r,) = res.receipts
    assert (r.included, r.status, r.reason, r.gas_used) == (True, 1, 0, GAS_TX)
    assert r.logs == () and r.message is None
    assert eth(tree, ALICE) == ETH - 12_345 - GAS_TX * effective
    assert eth(tree, BOB) == ETH + 12_345
    assert nonce(tree, ALICE) == 1 and nonce(tree, BOB) == 0
    assert res.messages == [] and res.public.message_root == bytes(32)
    assert res.public.tx_commitment == commitment_leaf(t)
    assert res.tree_size == genesis().size


def test_transfer_to_new_account_inserts_a_leaf(tree) -> None:
    size = tree.size
    funds = GAS_TX * BASE_FEE + 7
    res = run(tree, [tx(ALICE, FRESH[0], value=funds), tx(ALICE, FRESH[1], nonce=1, value=1)])
    assert all(r.status == 1 for r in res.receipts)
    assert res.tree_size == size + 2 == tree.size
    assert eth(tree, FRESH[0]) == funds and nonce(tree, FRESH[0]) == 0
    assert eth(tree, FRESH[1]) == 1
    assert_sorted_list(tree)
    assert StateTree.from_leaves(tree.leaves[: tree.size * LEAF_WORDS].copy()).root() == tree.root()
    # the new account can spend in the next block
    res = run(tree, [tx(FRESH[0], DAVE, value=7, gas=GAS_TX, max_fee=BASE_FEE, prio=0)])
    assert res.receipts[0].status == 1
    assert eth(tree, FRESH[0]) == 0 and nonce(tree, FRESH[0]) == 1


def test_zero_value_transfer_to_new_account_is_fine(tree) -> None:
    res = run(tree, [tx(ALICE, FRESH[2], value=0)])
    assert res.receipts[0].status == 1
    assert eth(tree, FRESH[2]) == 0


def test_self_transfer_pays_only_the_fee(tree) -> None:
    t = tx(ALICE, ALICE, value=10**18)
    res = run(tree, [t])
    assert res.receipts[0].status == 1
    assert eth(tree, ALICE) == ETH - GAS_TX * price(t)
    assert nonce(tree, ALICE) == 1


def test_sequential_nonces_in_one_block(tree) -> None:
    txs = [tx(ALICE, BOB, nonce=i, value=i + 1) for i in range(4)]
    res = run(tree, txs)
    assert [r.included for r in res.receipts] == [True] * 4
    assert nonce(tree, ALICE) == 4
    assert eth(tree, BOB) == ETH + 10
    assert res.gas_used == 4 * GAS_TX
    assert res.public.tx_commitment == list_root([commitment_leaf(t) for t in txs])


def test_balance_overflow_of_recipient_fails_the_call() -> None:
    tree = genesis(balances={ALICE: ETH, BOB: 2**256 - 1})
    t = tx(ALICE, BOB, value=1)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_BALANCE_OVERFLOW)
    assert eth(tree, BOB) == 2**256 - 1
    assert eth(tree, ALICE) == ETH - GAS_TX * price(t)


# ---- invalid transactions: not included, nothing changes ----------------------------------------
def _invalid_case(name: str, tree: StateTree) -> tuple[TxInput, int]:
    if name == "nonce_low":
        run(tree, [tx(ALICE, BOB)])
        return tx(ALICE, BOB, nonce=0), system.REASON_NONCE_TOO_LOW
    if name == "nonce_high":
        return tx(ALICE, BOB, nonce=1), system.REASON_NONCE_TOO_HIGH
    if name == "insufficient":
        return tx(CAROL, BOB, value=ETH - 100_000 * 10 + 1), system.REASON_INSUFFICIENT_FUNDS
    if name == "insufficient_gas_only":
        tree.set_value(keys.account_key(CAROL), account_value(10**15))
        return tx(CAROL, BOB, gas=10**14 + 1, max_fee=10), system.REASON_INSUFFICIENT_FUNDS
    if name == "unfunded":
        return tx(FRESH[0], BOB, value=0), system.REASON_INSUFFICIENT_FUNDS
    if name == "fee_cap_low":
        return tx(ALICE, BOB, max_fee=BASE_FEE - 1, prio=0), system.REASON_FEE_CAP_TOO_LOW
    if name == "intrinsic":
        return tx(ALICE, BOB, gas=GAS_TX - 1), system.REASON_INTRINSIC_GAS
    if name == "intrinsic_calldata":
        return tx(ALICE, BOB, data=b"\x01\x00", gas=GAS_TX + 19), system.REASON_INTRINSIC_GAS
    if name == "tip_above_cap":
        return tx(ALICE, BOB, max_fee=10, prio=11), system.REASON_TIP_ABOVE_FEE_CAP
    raise AssertionError(name)


INVALID = [
    "nonce_low",
    "nonce_high",
    "insufficient",
    "insufficient_gas_only",
    "unfunded",
    "fee_cap_low",
    "intrinsic",
    "intrinsic_calldata",
    "tip_above_cap",
]


@pytest.mark.parametrize("case", INVALID)
def test_invalid_tx_is_not_included(tree, case) -> None:
    bad, reason = _invalid_case(case, tree)
    pre = tree.root()
    res = run(tree, [bad])
    (r,) = res.receipts
    assert (r.included, r.status, r.reason, r.gas_used) == (False, 0, reason, 0)
    assert res.public.post_root == pre
    assert len(res.changed_positions) == 0
    assert res.public.tx_commitment == bytes(32) and res.gas_used == 0


@pytest.mark.parametrize("case", ["nonce_high", "insufficient", "fee_cap_low", "tip_above_cap"])
def test_invalid_tx_between_valid_ones_is_skipped(case) -> None:
    t1 = genesis()
    bad, _ = _invalid_case(case, t1)
    good = [tx(DAVE, BOB, value=5), tx(DAVE, CAROL, nonce=1, value=6)]
    res1 = run(t1, [good[0], bad, good[1]])
    t2 = genesis()
    _invalid_case(case, t2)
    res2 = run(t2, good)
    assert [r.included for r in res1.receipts] == [True, False, True]
    assert res1.public.tx_commitment == res2.public.tx_commitment
    assert res1.public.post_root == res2.public.post_root


def test_balance_exactly_covering_the_max_cost_is_enough() -> None:
    value, gas, max_fee = 1_000, 30_000, 9
    cost = gas * max_fee + value
    for balance, ok in ((cost, True), (cost - 1, False)):
        tree = genesis(balances={ALICE: ETH, CAROL: balance})
        t = tx(CAROL, BOB, value=value, gas=gas, max_fee=max_fee, prio=5)
        res = run(tree, [t])
        assert res.receipts[0].included is ok
        if ok:
            assert eth(tree, CAROL) == balance - value - GAS_TX * price(t)
        else:
            assert res.receipts[0].reason == system.REASON_INSUFFICIENT_FUNDS


def test_intrinsic_gas_counts_calldata(tree) -> None:
    data = b"\x01\x00\xff\x00"
    need = GAS_TX + 16 + 4 + 16 + 4
    res = run(tree, [tx(ALICE, BOB, data=data, gas=need - 1)])
    assert res.receipts[0].reason == system.REASON_INTRINSIC_GAS
    t = tx(ALICE, BOB, data=data, gas=need, value=3)
    res = run(tree, [t])
    assert res.receipts[0].status == 1 and res.receipts[0].gas_used == need
    assert eth(tree, ALICE) == ETH - 3 - need * price(t)


def test_contract_creation_is_unsupported(tree) -> None:
    t = tx(ALICE, None, value=10**18, data=b"\x60\x80")
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_CREATE_UNSUPPORTED)
    assert r.gas_used == intrinsic(t)
    assert eth(tree, ALICE) == ETH - intrinsic(t) * price(t)
    assert nonce(tree, ALICE) == 1
    assert res.public.tx_commitment == commitment_leaf(t)


# ---- stablecoin ----------------------------------------------------------------------------------
def test_token_transfer(tree) -> None:
    t = tx(ALICE, COIN, data=transfer_data(BOB, 1234))
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 1, 0)
    assert r.gas_used == intrinsic(t) + system.GAS_TOKEN_TRANSFER
    assert token(tree, ALICE) == TOKENS[ALICE] - 1234
    assert token(tree, BOB) == TOKENS[BOB] + 1234
    assert supply(tree) == sum(TOKENS.values())
    assert eth(tree, ALICE) == ETH - r.gas_used * price(t)
    assert decode(["bool"], res.return_data) == (True,)
    (log,) = r.logs
    assert log.address == COIN
    assert log.topics == (TOPIC_TRANSFER, pad(ALICE), pad(BOB))
    assert log.topics[1:] == (encode(["address"], [ALICE]), encode(["address"], [BOB]))
    assert log.data == encode(["uint256"], [1234])


def test_token_transfer_to_new_holder_and_to_self(tree) -> None:
    size = tree.size
    res = run(
        tree,
        [
            tx(ALICE, COIN, 0, data=transfer_data(FRESH[0], 10**20)),
            tx(BOB, COIN, 0, data=transfer_data(BOB, 5)),
        ],
    )
    assert [r.status for r in res.receipts] == [1, 1]
    assert tree.size == size + 1
    assert token(tree, FRESH[0]) == 10**20
    assert token(tree, BOB) == TOKENS[BOB]
    assert res.receipts[1].logs[0].topics == (TOPIC_TRANSFER, pad(BOB), pad(BOB))
    assert_sorted_list(tree)


def test_token_transfer_exceeding_balance_changes_only_nonce_and_fee(tree) -> None:
    before = {h: token(tree, h) for h in (CAROL, BOB)}
    t = tx(CAROL, COIN, data=transfer_data(BOB, 1))
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_TOKEN_BALANCE)
    assert r.logs == ()
    assert {h: token(tree, h) for h in (CAROL, BOB)} == before
    assert eth(tree, CAROL) == ETH - r.gas_used * price(t)
    assert nonce(tree, CAROL) == 1
    # exactly one leaf changed: the sender's account (nonce and fee)
    assert len(res.changed_positions) == 1
    assert int(res.changed_positions[0]) == tree.index[keys.account_key(CAROL)]


def test_token_transfer_of_whole_balance(tree) -> None:
    res = run(tree, [tx(BOB, COIN, data=transfer_data(CAROL, TOKENS[BOB]))])
    assert res.receipts[0].status == 1
    assert token(tree, BOB) == 0 and token(tree, CAROL) == TOKENS[BOB]


def test_mint_by_minter(tree) -> None:
    t = tx(BOB, COIN, data=mint_data(FRESH[1], 10**18))
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.status, r.gas_used) == (1, intrinsic(t) + system.GAS_TOKEN_MINT)
    assert token(tree, FRESH[1]) == 10**18
    assert supply(tree) == sum(TOKENS.values()) + 10**18
    assert r.logs[0].topics == (TOPIC_TRANSFER, bytes(32), pad(FRESH[1]))
    assert r.logs[0].data == encode(["uint256"], [10**18])


def test_mint_by_non_minter_fails(tree) -> None:
    res = run(tree, [tx(DAVE, COIN, data=mint_data(DAVE, 10**18))])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_NOT_MINTER)
    assert token(tree, DAVE) == 0
    assert supply(tree) == sum(TOKENS.values())


def test_mint_overflowing_supply_fails(tree) -> None:
    res = run(tree, [tx(ALICE, COIN, data=mint_data(CAROL, 2**256 - 1))])
    assert res.receipts[0].reason == system.REASON_SUPPLY_OVERFLOW
    assert supply(tree) == sum(TOKENS.values()) and token(tree, CAROL) == 0


@pytest.mark.parametrize("simulate", [False, True])
def test_token_views(tree, simulate) -> None:
    header = BlockHeader(CHAIN, 1, 0, BASE_FEE, simulate=simulate)

    def call(data: bytes, n: int) -> bytes:
        res = execute(header, [tx(CAROL, COIN, nonce=n, data=data)], tree)
        assert res.receipts[0].status == 1, res.receipts[0]
        assert res.receipts[0].logs == ()
        if not simulate:
            tree.apply(res.changed_positions, res.changed_leaves)
            assert tree.root() == res.public.post_root
        return res.return_data

    n = iter(range(100)) if not simulate else iter([0] * 100)
    bal = sel("balanceOf(address)")
    assert decode(["uint256"], call(bal + encode(["address"], [ALICE]), next(n))) == (
        TOKENS[ALICE],
    )
    assert decode(["uint256"], call(bal + encode(["address"], [FRESH[3]]), next(n))) == (0,)
    assert decode(["uint256"], call(sel("totalSupply()"), next(n))) == (sum(TOKENS.values()),)
    assert decode(["uint8"], call(sel("decimals()"), next(n))) == (18,)
    assert decode(["string"], call(sel("symbol()"), next(n))) == ("aUSD",)
    assert decode(["string"], call(sel("name()"), next(n))) == ("Atlas USD",)
    is_minter = sel("isMinter(address)")
    assert decode(["bool"], call(is_minter + encode(["address"], [BOB]), next(n))) == (True,)
    assert decode(["bool"], call(is_minter + encode(["address"], [DAVE]), next(n))) == (False,)


@pytest.mark.parametrize(
    ("data", "value", "reason"),
    [
        (b"\x12\x34\x56\x78", 0, system.REASON_UNKNOWN_SELECTOR),
        (b"\x12", 0, system.REASON_UNKNOWN_SELECTOR),
        (sel("transfer(address,uint256)") + bytes(40), 0, system.REASON_BAD_CALLDATA),
        (b"\xa9\x05\x9c\xbb" + b"\x01" * 64, 0, system.REASON_BAD_CALLDATA),  # dirty address
        (transfer_data(BOB, 1), 1, system.REASON_NON_PAYABLE),
    ],
)
def test_token_failures(tree, data, value, reason) -> None:
    res = run(tree, [tx(ALICE, COIN, data=data, value=value)])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, reason)
    assert token(tree, ALICE) == TOKENS[ALICE] and token(tree, BOB) == TOKENS[BOB]
    assert eth(tree, COIN) == 0


def test_token_out_of_gas_charges_the_whole_limit(tree) -> None:
    data = transfer_data(BOB, 1)
    t = tx(ALICE, COIN, data=data, gas=intrinsic(tx(ALICE, COIN, data=data)) + 29_999)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.status, r.reason, r.gas_used) == (0, system.REASON_OUT_OF_GAS, t.gas_limit)
    assert token(tree, BOB) == TOKENS[BOB]
    assert eth(tree, ALICE) == ETH - t.gas_limit * price(t)


# ---- oracle --------------------------------------------------------------------------------------
def test_set_price_by_feeder_and_get_price(tree) -> None:
    t = tx(ALICE, ORACLE, data=set_price_data(FEED, 3_141_592_653))
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.status, r.gas_used) == (1, intrinsic(t) + system.GAS_SET_PRICE)
    (log,) = r.logs
    assert log.address == ORACLE
    assert log.topics == (TOPIC_PRICE, FEED)
    assert log.data == encode(["uint256"], [3_141_592_653])
    assert to_int(_value(tree, keys.feed_key(FEED))) == 3_141_592_653
    get = sel("getPrice(bytes32)") + encode(["bytes32"], [FEED])
    res = run(tree, [tx(DAVE, ORACLE, data=get)])
    assert res.receipts[0].status == 1
    assert decode(["uint256"], res.return_data) == (3_141_592_653,)
    # an unknown feed reads 0; a second update overwrites
    other = sel("getPrice(bytes32)") + encode(["bytes32"], [b"\x01" * 32])
    res = run(
        tree, [tx(DAVE, ORACLE, 1, data=other), tx(ALICE, ORACLE, 1, data=set_price_data(FEED, 5))]
    )
    assert to_int(_value(tree, keys.feed_key(FEED))) == 5
    res = execute(
        BlockHeader(CHAIN, 2, 0, BASE_FEE, simulate=True), [tx(DAVE, ORACLE, data=other)], tree
    )
    assert decode(["uint256"], res.return_data) == (0,)


def test_set_price_by_non_feeder_fails(tree) -> None:
    res = run(tree, [tx(BOB, ORACLE, data=set_price_data(FEED, 1))])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_NOT_FEEDER)
    assert r.logs == ()
    assert tree.leaf(keys.feed_key(FEED)) is None


def test_is_feeder(tree) -> None:
    f = sel("isFeeder(address)")
    hdr = BlockHeader(CHAIN, 1, 0, BASE_FEE, simulate=True)
    for who, expect in ((ALICE, True), (BOB, False)):
        res = execute(hdr, [tx(DAVE, ORACLE, data=f + encode(["address"], [who]))], tree)
        assert decode(["bool"], res.return_data) == (expect,)


# ---- messenger -----------------------------------------------------------------------------------
def test_send_message(tree) -> None:
    payload = b"hello, gateway" * 5
    t = tx(ALICE, MESSENGER, value=10**17, data=send_data(300, CAROL, payload), gas=200_000)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 1, 0)
    gas = intrinsic(t) + system.GAS_SEND_MESSAGE + system.GAS_MESSAGE_BYTE * len(payload)
    assert r.gas_used == gas
    assert eth(tree, ALICE) == ETH - 10**17 - gas * price(t)  # the value is burned
    assert sum(eth(tree, a) for a in (BOB, CAROL, DAVE, MESSENGER)) == 3 * ETH
    (m,) = res.messages
    assert r.message == m
    assert (m.src_chain, m.dst_chain, m.nonce) == (CHAIN, 300, 0)
    assert (m.sender, m.to, m.value) == (ALICE, CAROL, 10**17)
    assert m.data_hash == blake(payload)
    assert m.hash == message_hash(CHAIN, 300, 0, ALICE, CAROL, 10**17, payload)
    assert res.public.message_root == m.hash
    assert decode(["bytes32"], res.return_data) == (m.hash,)
    (log,) = r.logs
    assert log.address == MESSENGER
    assert log.topics == (TOPIC_MESSAGE, encode(["uint256"], [300]), pad(ALICE), pad(CAROL))
    assert log.data == encode(["uint256", "bytes32"], [0, m.hash])


def test_two_messages_root_and_nonces(tree) -> None:
    t1 = tx(ALICE, MESSENGER, 0, data=send_data(300, BOB, b""), gas=200_000)
    t2 = tx(BOB, MESSENGER, 0, value=5, data=send_data(2**64 - 1, DAVE, b"\x00" * 70), gas=200_000)
    res = run(tree, [t1, t2])
    assert [r.status for r in res.receipts] == [1, 1]
    m1, m2 = res.messages
    assert (m1.nonce, m2.nonce) == (0, 1)
    assert m1.hash == message_hash(CHAIN, 300, 0, ALICE, BOB, 0, b"")
    assert m2.hash == message_hash(CHAIN, 2**64 - 1, 1, BOB, DAVE, 5, b"\x00" * 70)
    assert res.public.message_root == blake(m1.hash + m2.hash)
    # three messages in the next block: an odd node pairs with the zero digest; nonces go on
    t3 = [
        tx(CAROL, MESSENGER, i, data=send_data(9, CAROL, bytes([i])), gas=200_000) for i in range(3)
    ]
    res = run(tree, t3)
    assert [m.nonce for m in res.messages] == [2, 3, 4]
    hs = [m.hash for m in res.messages]
    assert res.public.message_root == blake(blake(hs[0] + hs[1]) + blake(hs[2] + bytes(32)))
    count = execute(
        BlockHeader(CHAIN, 3, 0, BASE_FEE, simulate=True),
        [tx(DAVE, MESSENGER, data=sel("messageCount()"))],
        tree,
    )
    assert decode(["uint256"], count.return_data) == (5,)


def test_message_to_own_chain_fails(tree) -> None:
    t = tx(ALICE, MESSENGER, value=10**17, data=send_data(CHAIN, BOB, b"x"), gas=200_000)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_MESSAGE_TO_SELF)
    assert res.messages == [] and r.message is None and r.logs == ()
    assert res.public.message_root == bytes(32)
    assert eth(tree, ALICE) == ETH - r.gas_used * price(t)  # the value stays
    assert tree.leaf(keys.MESSAGE_COUNT_KEY) is None


def _malformed_messages() -> list[bytes]:
    good = send_data(300, BOB, b"abc")
    s = sel("sendMessage(uint256,address,bytes)")
    return [
        good[:50],  # fewer than 3 words
        s + encode(["uint256", "address", "uint256"], [300, BOB, 2**40]),  # offset past the end
        s + encode(["uint256", "address", "uint256", "uint256"], [300, BOB, 96, 100]),  # length
        s + encode(["uint256", "uint256", "bytes"], [300, 2**200, b"abc"]),  # dirty address
        s + encode(["uint256", "address", "bytes"], [2**64, BOB, b"abc"]),  # chain id > u64
    ]


@pytest.mark.parametrize("data", _malformed_messages())
def test_malformed_send_message_fails(tree, data) -> None:
    t = tx(ALICE, MESSENGER, value=3, data=data, gas=300_000)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_BAD_CALLDATA)
    assert res.messages == []
    assert r.gas_used <= t.gas_limit
    assert eth(tree, ALICE) == ETH - r.gas_used * price(t)


def test_malformed_message_never_charges_more_than_the_gas_limit() -> None:
    data = send_data(300, BOB, b"abc")[:50]
    t = tx(CAROL, MESSENGER, data=data, gas=GAS_TX + calldata_gas(data), max_fee=BASE_FEE, prio=0)
    tree = genesis(balances={ALICE: ETH, CAROL: t.gas_limit * t.max_fee})
    res = run(tree, [t])
    r = res.receipts[0]
    assert r.gas_used <= t.gas_limit
    assert eth(tree, CAROL) <= t.gas_limit * t.max_fee  # no wrap-around to ~2**256


# ---- simulate (eth_call / estimateGas) -----------------------------------------------------------
def test_simulate_charges_nothing(tree) -> None:
    hdr = BlockHeader(CHAIN, 1, 0, base_fee=10**9, simulate=True)
    t = tx(CAROL, COIN, nonce=42, data=transfer_data(BOB, 0), gas=10**6, max_fee=0, prio=0)
    res = execute(hdr, [t], tree)
    r = res.receipts[0]
    assert (r.included, r.status) == (True, 1)
    assert r.gas_used == intrinsic(t) + system.GAS_TOKEN_TRANSFER
    rows = {int(p): row for p, row in zip(res.changed_positions, res.changed_leaves, strict=True)}
    carol = rows.get(tree.index[keys.account_key(CAROL)])
    if carol is not None:
        assert to_int(carol[LEAF_VALUE : LEAF_VALUE + 8]) == ETH
    # and an unfunded sender can simulate too
    res = execute(
        hdr, [tx(FRESH[3], ORACLE, data=sel("getPrice(bytes32)") + FEED, max_fee=0)], tree
    )
    assert res.receipts[0].status == 1


def test_simulate_value_above_balance_does_not_wrap(tree) -> None:
    hdr = BlockHeader(CHAIN, 1, 0, BASE_FEE, simulate=True)
    res = execute(hdr, [tx(DAVE, BOB, value=ETH + 1, max_fee=0, prio=0)], tree)
    rows = {int(p): row for p, row in zip(res.changed_positions, res.changed_leaves, strict=True)}
    dave = rows.get(tree.index[keys.account_key(DAVE)])
    assert res.receipts[0].status == 0 or (
        dave is not None and to_int(dave[LEAF_VALUE : LEAF_VALUE + 8]) <= ETH
    )


# ---- fee arithmetic at the edges -----------------------------------------------------------------
def test_fee_is_exact_for_prices_above_2_pow_53() -> None:
    p = 2**53 + 1
    hdr = BlockHeader(CHAIN, 1, 0, base_fee=p)
    t = tx(ALICE, BOB, gas=GAS_TX, max_fee=p, prio=0)
    tree = genesis(balances={ALICE: 10**30, BOB: 0})
    run(tree, [t], hdr)
    assert eth(tree, ALICE) == 10**30 - GAS_TX * p


def test_effective_price_when_base_plus_tip_exceeds_u64() -> None:
    base = 2**63
    hdr = BlockHeader(CHAIN, 1, 0, base_fee=base)
    t = tx(ALICE, BOB, gas=GAS_TX, max_fee=2**64 - 1, prio=2**63 + 2**40)
    tree = genesis(balances={ALICE: 10**30, BOB: 0})
    run(tree, [t], hdr)
    paid = 10**30 - eth(tree, ALICE)
    assert paid >= GAS_TX * base  # never below the base fee
    assert paid == GAS_TX * min(t.max_fee, base + t.priority_fee)


def test_return_data_is_the_last_transactions(tree) -> None:
    view = sel("totalSupply()")
    res = execute(HDR, [tx(ALICE, COIN, 0, data=view), tx(ALICE, BOB, 1, value=1)], tree)
    assert [r.status for r in res.receipts] == [1, 1]
    assert res.return_data == b""


# ---- more call failures --------------------------------------------------------------------------
def test_message_too_long_fails(tree) -> None:
    t = tx(ALICE, MESSENGER, value=9, data=send_data(300, BOB, b"\x01" * 4097), gas=2_000_000)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, system.REASON_MESSAGE_TOO_LONG)
    assert res.messages == [] and eth(tree, ALICE) == ETH - r.gas_used * price(t)
    ok = tx(ALICE, MESSENGER, 1, data=send_data(300, BOB, b"\x01" * 4096), gas=2_000_000)
    res = run(tree, [ok])
    assert res.receipts[0].status == 1
    assert res.messages[0].data_hash == blake(b"\x01" * 4096)


@pytest.mark.parametrize(
    ("to", "data", "value", "reason"),
    [
        (ORACLE, set_price_data(FEED, 1), 1, system.REASON_NON_PAYABLE),
        (ORACLE, set_price_data(FEED, 1)[:60], 0, system.REASON_BAD_CALLDATA),
        (ORACLE, b"\xde\xad\xbe\xef", 0, system.REASON_UNKNOWN_SELECTOR),
        (MESSENGER, sel("messageCount()"), 1, system.REASON_NON_PAYABLE),
        (MESSENGER, b"", 5, system.REASON_UNKNOWN_SELECTOR),
        (COIN, b"", 5, system.REASON_UNKNOWN_SELECTOR),
    ],
)
def test_system_call_failures_keep_value_and_state(tree, to, data, value, reason) -> None:
    t = tx(ALICE, to, value=value, data=data)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.included, r.status, r.reason) == (True, 0, reason)
    assert eth(tree, ALICE) == ETH - r.gas_used * price(t)
    assert eth(tree, to) == 0
    assert tree.leaf(keys.feed_key(FEED)) is None and tree.leaf(keys.MESSAGE_COUNT_KEY) is None


def test_oracle_out_of_gas(tree) -> None:
    data = set_price_data(FEED, 1)
    t = tx(ALICE, ORACLE, data=data, gas=GAS_TX + calldata_gas(data) + system.GAS_SET_PRICE - 1)
    res = run(tree, [t])
    r = res.receipts[0]
    assert (r.status, r.reason, r.gas_used) == (0, system.REASON_OUT_OF_GAS, t.gas_limit)
    assert tree.leaf(keys.feed_key(FEED)) is None


# ---- several inserts in one block behind the same low leaf ---------------------------------------
def _addresses_sharing_a_low_leaf(tree, n: int) -> list[bytes]:
    groups: dict[int, list[bytes]] = {}
    for i in range(10_000):
        a = hashlib.sha256(i.to_bytes(4, "big")).digest()[:20]
        g = groups.setdefault(tree.low_leaf(keys.account_key(a)), [])
        g.append(a)
        if len(g) == n:
            return g
    raise AssertionError("no group")


@pytest.mark.parametrize("order", ["ascending", "descending", "middle_first"])
def test_inserts_sharing_a_low_leaf(order) -> None:
    tree = genesis()
    group = sorted(
        _addresses_sharing_a_low_leaf(tree, 4), key=lambda a: sort_key(keys.account_key(a))
    )
    if order == "descending":
        group.reverse()
    elif order == "middle_first":
        group = [group[2], group[0], group[3], group[1]]
    size = tree.size
    txs = [tx(ALICE, a, i, value=i + 1) for i, a in enumerate(group)]
    txs.append(tx(BOB, COIN, 0, data=transfer_data(group[0], 3)))  # and a token-balance insert
    res = run(tree, txs)
    assert all(r.status == 1 for r in res.receipts)
    assert tree.size == size + 5
    for i, a in enumerate(group):
        assert eth(tree, a) == i + 1
        assert tree.index[keys.account_key(a)] == size + i  # appended in execution order
    assert token(tree, group[0]) == 3
    assert_sorted_list(tree)
    assert StateTree.from_leaves(tree.leaves[: tree.size * LEAF_WORDS].copy()).root() == tree.root()


def test_witnessed_absent_key_that_is_not_written_stays_absent(tree) -> None:
    """A failed call to a new holder: the absent key is witnessed but never inserted."""
    size = tree.size
    res = run(tree, [tx(CAROL, COIN, data=transfer_data(FRESH[0], 1))])
    assert res.receipts[0].reason == system.REASON_TOKEN_BALANCE
    assert tree.size == size and tree.leaf(keys.token_balance_key(FRESH[0])) is None
    # a view of an absent key inserts nothing either
    res = run(tree, [tx(CAROL, COIN, 1, data=sel("balanceOf(address)") + pad(FRESH[1]))])
    assert res.receipts[0].status == 1 and tree.size == size


# ---- the transaction commitment ------------------------------------------------------------------
def test_tx_commitment_binds_every_field() -> None:
    base = tx(ALICE, BOB, nonce=0, value=5, data=b"\x01\x02", gas=60_000, max_fee=10, prio=1)
    variants = {
        "base": (base, {}),
        "sender": (tx(BOB, BOB, 0, 5, b"\x01\x02", 60_000, 10, 1), {}),
        "to": (tx(ALICE, CAROL, 0, 5, b"\x01\x02", 60_000, 10, 1), {}),
        "nonce": (tx(ALICE, BOB, 1, 5, b"\x01\x02", 60_000, 10, 1), {ALICE: 1}),
        "value": (tx(ALICE, BOB, 0, 6, b"\x01\x02", 60_000, 10, 1), {}),
        "data": (tx(ALICE, BOB, 0, 5, b"\x01\x03", 60_000, 10, 1), {}),
        "data_len": (tx(ALICE, BOB, 0, 5, b"\x01\x02\x00", 60_000, 10, 1), {}),
        "gas": (tx(ALICE, BOB, 0, 5, b"\x01\x02", 60_001, 10, 1), {}),
        "max_fee": (tx(ALICE, BOB, 0, 5, b"\x01\x02", 60_000, 11, 1), {}),
        "prio": (tx(ALICE, BOB, 0, 5, b"\x01\x02", 60_000, 10, 2), {}),
        "create": (tx(ALICE, None, 0, 5, b"\x01\x02", 60_000, 10, 1), {}),
    }
    seen = {}
    for name, (t, nonces) in variants.items():
        tree = genesis()
        for a, n in nonces.items():
            tree.set_value(keys.account_key(a), account_value(ETH, n))
        res = execute(HDR, [t], tree)
        assert res.receipts[0].included, name
        c = res.public.tx_commitment
        assert c == commitment_leaf(t), name
        assert c not in seen, (name, seen.get(c))
        seen[c] = name
    # the commitment does not depend on where a transaction's calldata sits in the arena
    tree = genesis()
    pair = [tx(BOB, CAROL, 0, data=b"\x09" * 7), base]
    res = execute(HDR, pair, tree)
    assert res.public.tx_commitment == blake(commitment_leaf(pair[0]) + commitment_leaf(base))


# ---- the witness: tampering and omissions --------------------------------------------------------
def _block_for_tamper(tree):
    txs = [
        tx(ALICE, BOB, value=1),
        tx(ALICE, COIN, 1, data=transfer_data(FRESH[0], 9)),
        tx(DAVE, FRESH[1], value=2),
    ]
    return execute(HDR, txs, tree)


def test_rerun_of_the_input_is_ok_and_identical(tree) -> None:
    res = _block_for_tamper(tree)
    inp = res.input_words.copy()
    w1, o1 = fresh_buffers(inp)
    w2, o2 = fresh_buffers(inp)
    assert stf.execute_block(inp, w1, o1) == layout.OK
    assert stf.execute_block(inp, w2, o2) == layout.OK
    np.testing.assert_array_equal(o1, o2)
    np.testing.assert_array_equal(inp, res.input_words)  # the STF does not write its input
    assert blk.PublicValues.from_words(o1) == res.public


@pytest.mark.parametrize(
    "where", ["leaf_value", "leaf_key", "leaf_next", "proof", "pre_root", "tree_size"]
)
def test_tampered_witness_is_rejected(tree, where) -> None:
    res = _block_for_tamper(tree)
    inp = res.input_words.copy()
    leaves = int(inp[layout.IN_LEAVES_OFF])
    at = {
        "leaf_value": leaves + LEAF_WORDS + LEAF_VALUE,  # the second witnessed leaf's balance
        "leaf_key": leaves + LEAF_WORDS + LEAF_KEY + 3,
        "leaf_next": leaves + LEAF_NEXT + 7,
        "proof": int(inp[layout.IN_PROOF_OFF]) + 5,
        "pre_root": layout.IN_PRE_ROOT + 2,
        "tree_size": layout.IN_TREE_SIZE,
    }[where]
    assert int(inp[layout.IN_N_PROOF]) > 0
    inp[at] ^= 1
    work, out = fresh_buffers(inp)
    status = stf.execute_block(inp, work, out)
    expected = {layout.ERR_WITNESS_ROOT}
    if where in ("leaf_key", "leaf_next"):  # may also trip the bracket check of an absent key
        expected.add(layout.ERR_ABSENT_PROOF)
    if where == "tree_size":
        expected.add(layout.ERR_WITNESS_ORDER)
    assert status in expected


def test_tampered_balance_upwards_is_rejected(tree) -> None:
    """The attack that matters: the witness claims a richer sender than the state holds."""
    res = execute(HDR, [tx(DAVE, BOB, value=1)], tree)
    inp = res.input_words.copy()
    leaves, n = int(inp[layout.IN_LEAVES_OFF]), int(inp[layout.IN_N_EXIST])
    dave = keys.account_key(DAVE)
    rows = [inp[leaves + r * LEAF_WORDS :][:LEAF_WORDS] for r in range(n)]
    (r,) = [i for i, row in enumerate(rows) if row[:8].astype("<u4").tobytes() == dave]
    inp[leaves + r * LEAF_WORDS + LEAF_VALUE + 7] = 0x7FFFFFFF
    work, out = fresh_buffers(inp)
    assert stf.execute_block(inp, work, out) == layout.ERR_WITNESS_ROOT


def test_malformed_layout_is_rejected(tree) -> None:
    res = execute(HDR, [tx(ALICE, BOB, value=1)], tree)
    for word, val in ((layout.IN_VERSION, 99), (layout.IN_N_TXS, 10**6)):
        inp = res.input_words.copy()
        inp[word] = val
        work, out = fresh_buffers(res.input_words)
        assert stf.execute_block(inp, work, out) == layout.ERR_LAYOUT
    work, out = fresh_buffers(res.input_words)
    assert stf.execute_block(res.input_words, work[:10], out) == layout.ERR_CAPACITY


def _drop_keys(monkeypatch, drop) -> None:
    real = blk.touched_keys

    def fake(sender, to, data, chain_id=0):
        return {k for k in real(sender, to, data, chain_id) if k not in drop}

    monkeypatch.setattr(blk, "touched_keys", fake)


@pytest.mark.parametrize(
    ("txn", "missing"),
    [
        (tx(ALICE, BOB, value=1), keys.account_key(BOB)),
        (tx(ALICE, FRESH[2], value=1), keys.account_key(FRESH[2])),
        (tx(ALICE, BOB, value=1), keys.account_key(ALICE)),
        (tx(ALICE, COIN, data=transfer_data(BOB, 1)), keys.token_balance_key(BOB)),
        (tx(ALICE, COIN, data=mint_data(BOB, 1)), keys.TOKEN_SUPPLY_KEY),
        (tx(ALICE, ORACLE, data=set_price_data(FEED, 1)), keys.feed_key(FEED)),
        (tx(ALICE, MESSENGER, data=send_data(1, BOB, b""), gas=200_000), keys.MESSAGE_COUNT_KEY),
    ],
)
def test_witness_missing_a_key_is_a_block_fault(tree, monkeypatch, txn, missing) -> None:
    execute(HDR, [txn], tree)  # fine with the full witness
    _drop_keys(monkeypatch, {missing})
    with pytest.raises(StfFault) as e:
        execute(HDR, [txn], tree)
    assert e.value.status == layout.ERR_WITNESS_MISSING


# ---- the property: random blocks -----------------------------------------------------------------
UNIVERSE = (*DEV, *FRESH[:3])
FEEDS = (FEED, keccak(b"BTC/USD"))

op_st = st.one_of(
    st.tuples(
        st.just("eth"),
        st.sampled_from(UNIVERSE),
        st.sampled_from(UNIVERSE),
        st.integers(0, 2 * 10**18),
    ),
    st.tuples(
        st.just("tok"), st.sampled_from(UNIVERSE), st.sampled_from(UNIVERSE), st.integers(0, 10**21)
    ),
    st.tuples(
        st.just("mint"), st.sampled_from(DEV), st.sampled_from(UNIVERSE), st.integers(0, 10**21)
    ),
    st.tuples(
        st.just("price"), st.sampled_from(DEV), st.sampled_from(FEEDS), st.integers(0, 2**256 - 1)
    ),
    st.tuples(
        st.just("msg"),
        st.sampled_from(UNIVERSE),
        st.sampled_from([1, 324, 324, CHAIN]),
        st.integers(0, 10**18),
        st.binary(max_size=80),
    ),
)
block_st = st.tuples(
    st.integers(1, 30),  # base fee
    st.lists(
        st.tuples(op_st, st.integers(-1, 10), st.integers(0, 12)),  # (op, fee cap - base, tip)
        min_size=1,
        max_size=8,
    ),
)


def _txs_for(tree, ops, base_fee):
    nonces: dict[bytes, int] = {}
    out = []
    for op, cap_delta, prio in ops:
        max_fee = max(0, base_fee + cap_delta)
        kind, sender = op[0], op[1]
        n = nonces.get(sender, nonce(tree, sender))
        nonces[sender] = n + 1
        if kind == "eth":
            t = tx(sender, op[2], n, value=op[3], gas=GAS_TX, max_fee=max_fee, prio=prio)
        elif kind == "tok":
            t = tx(sender, COIN, n, data=transfer_data(op[2], op[3]), max_fee=max_fee, prio=prio)
        elif kind == "mint":
            t = tx(sender, COIN, n, data=mint_data(op[2], op[3]), max_fee=max_fee, prio=prio)
        elif kind == "price":
            t = tx(sender, ORACLE, n, data=set_price_data(op[2], op[3]), max_fee=max_fee, prio=prio)
        else:
            data = send_data(op[2], DAVE, op[4])
            t = tx(
                sender, MESSENGER, n, value=op[3], data=data, gas=80_000, max_fee=max_fee, prio=prio
            )
        out.append(t)
    return out


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(block_st, min_size=1, max_size=4))
def test_random_blocks_keep_every_invariant(blocks) -> None:
    tree = genesis(capacity=8)
    tree.set_value(keys.account_key(CAROL), account_value(3 * 10**18))  # a poorer account
    for number, (base_fee, ops) in enumerate(blocks, start=1):
        hdr = BlockHeader(CHAIN, number, 1000 + number, base_fee)
        txs = _txs_for(tree, ops, base_fee)
        eth_before = sum(eth(tree, a) for a in UNIVERSE)
        size_before = tree.size
        res = run(tree, txs, hdr)
        burned = sum(
            r.gas_used * price(t, base_fee)
            for r, t in zip(res.receipts, txs, strict=True)
            if r.included
        )
        sent = sum(m.value for m in res.messages)
        assert sum(eth(tree, a) for a in UNIVERSE) == eth_before - burned - sent
        assert eth(tree, COIN) == eth(tree, ORACLE) == eth(tree, MESSENGER) == 0
        assert supply(tree) == sum(token(tree, a) for a in UNIVERSE)
        assert res.public.message_root == list_root([m.hash for m in res.messages])
        assert res.public.tx_commitment == list_root(
            [commitment_leaf(t) for r, t in zip(res.receipts, txs, strict=True) if r.included]
        )
        for r in res.receipts:
            assert r.gas_used <= max(t.gas_limit for t in txs)
        assert_sorted_list(tree)
        event(f"included {sum(r.included for r in res.receipts)}/{len(txs)}")
        event(f"status-1 calls {sum(r.status for r in res.receipts) > 0}")
        event(f"messages {len(res.messages) > 0}")
        event(f"inserted {res.tree_size > size_before}")
        # determinism: same input, same output words, whatever the buffers held before
        inp = res.input_words
        w1, o1 = fresh_buffers(inp)
        w2, o2 = fresh_buffers(inp, fill=number)
        assert stf.execute_block(inp, w1, o1) == layout.OK
        assert stf.execute_block(inp, w2, o2) == layout.OK
        _, logs, msgs, _ = layout.out_offsets(len(txs))
        n_logs, n_msgs = int(o1[layout.OUT_N_LOGS]), int(o1[layout.OUT_N_MSGS])
        np.testing.assert_array_equal(o1[:logs], o2[:logs])
        np.testing.assert_array_equal(
            o1[logs : logs + n_logs * layout.LOG_WORDS], o2[logs : logs + n_logs * layout.LOG_WORDS]
        )
        np.testing.assert_array_equal(
            o1[msgs : msgs + n_msgs * layout.MSG_WORDS], o2[msgs : msgs + n_msgs * layout.MSG_WORDS]
        )
        assert blk.PublicValues.from_words(o1) == res.public
    assert StateTree.from_leaves(tree.leaves[: tree.size * LEAF_WORDS].copy()).root() == tree.root()


# ---- no floating point in the compiled STF ------------------------------------------------------
_FLOAT_TYPES = (" double", " float", " half", " fp128", " x86_fp80", " bfloat")
_FLOAT_INSTR = re.compile(
    r"\b(fadd|fsub|fmul|fdiv|frem|fcmp|fneg|fptoui|fptosi|uitofp|sitofp|fpext|fptrunc)\b"
)
_FLOAT_INTRINSIC = re.compile(
    r"@llvm\.(sqrt|powi?|exp2?|log(2|10)?|fabs|floor|ceil|trunc|rint|nearbyint|round(even)?|fma"
    r"|fmuladd|minnum|maxnum|minimum|maximum|copysign|sin|cos|l?lround|l?lrint|canonicalize"
    r"|is\.fpclass|experimental\.constrained)\."
)
_DUMP_IR = """
import json, sys
from atlasdev.engine.zkos import block, stf, tree
block.execute(block.BlockHeader(1, 1, 0, 1), [], tree.StateTree())
irs = {str(sig): ir for sig, ir in stf.execute_block.inspect_llvm().items()}
open(sys.argv[1], "w").write(json.dumps(irs))
"""


# numba's runtime allocators: the STF must work in the buffers it is given (DESIGN.md, zkOS)
_ALLOC = re.compile(r"@(NRT_MemInfo_alloc\w*|NRT_Allocate\w*|NRT_MemInfo_new\w*|malloc|calloc)\(")


def _scan_ir(irs: dict[str, str]) -> dict[str, dict]:
    report = {}
    for sig, ir in irs.items():
        hits = [
            line.strip()[:160]
            for line in ir.splitlines()
            if any(t in line for t in _FLOAT_TYPES)
            or _FLOAT_INSTR.search(line)
            or _FLOAT_INTRINSIC.search(line)
        ]
        # complete: execute_block and every zkOS helper it calls are defined in this module
        undefined = [
            line[:120]
            for line in ir.splitlines()
            if line.startswith("declare") and "atlasdev" in line
        ]
        allocs = [
            line.strip()[:160] for line in ir.splitlines() if "call" in line and _ALLOC.search(line)
        ]
        report[sig] = {
            "complete": "define" in ir and "atlasdev" in ir and not undefined,
            "hits": hits[:40],
            "n_hits": len(hits),
            "allocs": allocs[:40],
        }
    return report


def _zkos_fingerprint() -> str:
    import llvmlite
    import numba

    h = hashlib.sha256(f"{numba.__version__}/{llvmlite.__version__}/report-v2".encode())
    for p in sorted(Path(stf.__file__).parent.glob("*.py")):
        h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()[:24]


def _ir_report(request, tmp_path) -> dict[str, dict]:
    """The float scan of execute_block's LLVM IR, and of everything linked into it.

    numba can only show IR it compiled in this process: a dispatcher loaded from the on-disk
    cache has none (inspect_llvm warns, returns a stub, and LLVM may abort the process later).
    So the IR comes from this process when it compiled the STF afresh, else from a subprocess
    that compiles it with an empty cache dir (as long as a cold compile); the report is kept in
    pytest's cache, keyed by the zkOS sources and the numba/llvmlite versions.
    """
    execute(HDR, [], genesis())  # at least one signature
    cache = getattr(request.config, "cache", None)
    key = f"atlasdev/zkos_float_scan_v2/{_zkos_fingerprint()}"
    if not stf.execute_block.stats.cache_hits:
        report = _scan_ir({str(s): ir for s, ir in stf.execute_block.inspect_llvm().items()})
        if all(r["complete"] for r in report.values()):
            if cache is not None:
                cache.set(key, report)
            return report
    report = cache.get(key, None) if cache is not None else None
    if report is None:
        root = Path(stf.__file__).resolve().parents[3]
        env = dict(
            os.environ,
            NUMBA_CACHE_DIR=str(tmp_path / "numba"),
            PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
        )
        dump = tmp_path / "ir.json"
        proc = subprocess.run(
            [sys.executable, "-c", _DUMP_IR, str(dump)],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            timeout=540,
        )
        assert proc.returncode == 0 and dump.exists(), proc.stderr[-3000:]
        report = _scan_ir(json.loads(dump.read_text()))
        if cache is not None:
            cache.set(key, report)
    return report


def test_float_scan_detects_floats() -> None:
    """The scanner itself: it flags what a float leak looks like and passes integer IR."""
    ok = "define i32 @_ZN8atlasdev1f(i64 %a) {\n  %b = add i64 %a, 1\n  ret i32 0\n}"
    assert _scan_ir({"s": ok})["s"] == {"complete": True, "hits": [], "n_hits": 0, "allocs": []}
    alloc = "  %m = call i8* @NRT_MemInfo_alloc_aligned(i64 64, i32 32)"
    assert _scan_ir({"s": ok + "\n" + alloc})["s"]["allocs"], "allocation not detected"
    for bad in (
        "  %x = uitofp i64 %a to double",
        "  %y = alloca { i64, double }",
        "  %z = call float @llvm.sqrt.f32(float %q)",
        "  %w = fptosi x86_fp80 %v to i64",
    ):
        assert _scan_ir({"s": ok + "\n" + bad})["s"]["n_hits"] >= 1, bad
    assert not _scan_ir({"s": ok + "\ndeclare i32 @_ZN8atlasdev1g()"})["s"]["complete"]


def test_compiled_stf_uses_no_floating_point(request, tmp_path) -> None:
    report = _ir_report(request, tmp_path)
    assert report, "no compiled signature of execute_block"
    for sig, r in report.items():
        assert r["complete"], f"{sig}: the IR lacks some zkOS functions it calls"
        assert r["n_hits"] == 0, f"{sig}: {r['n_hits']} floating-point lines, e.g.\n" + "\n".join(
            r["hits"]
        )


def test_compiled_stf_allocates_nothing(request, tmp_path) -> None:
    report = _ir_report(request, tmp_path)
    assert report, "no compiled signature of execute_block"
    for sig, r in report.items():
        assert r["complete"], f"{sig}: the IR lacks some zkOS functions it calls"
        assert not r["allocs"], f"{sig}: the STF allocates:\n" + "\n".join(r["allocs"])


# ---- interop roots -------------------------------------------------------------------------------
ROOT = hashlib.blake2s(b"an interop root the gateway published").digest()


def test_importing_an_interop_root_records_it_once(tree) -> None:
    header = BlockHeader(CHAIN, 1, 1_700_000_000, BASE_FEE, interop_root=ROOT)
    first = run(tree, [], header)
    assert first.public.post_root != first.public.pre_root
    assert to_int(_value(tree, keys.interop_root_key(ROOT))) == 1
    again = run(tree, [], BlockHeader(CHAIN, 2, 1_700_000_001, BASE_FEE, interop_root=ROOT))
    assert again.public.post_root == again.public.pre_root  # importing twice changes nothing
    plain = run(tree, [], BlockHeader(CHAIN, 3, 1_700_000_002, BASE_FEE))
    assert plain.public.post_root == plain.public.pre_root


def test_an_import_without_its_witness_is_a_block_fault(tree, monkeypatch) -> None:
    monkeypatch.setattr(blk, "interop_root_key", lambda root: keys.account_key(b"\x01" * 20))
    header = BlockHeader(CHAIN, 1, 1_700_000_000, BASE_FEE, interop_root=ROOT)
    with pytest.raises(StfFault) as fault:
        execute(header, [], tree)
    assert fault.value.status == layout.ERR_WITNESS_MISSING


# ---- relaying messages ---------------------------------------------------------------------------
from atlasdev.engine.zkos import relay as rl  # noqa: E402

DEST_CHAIN = 272
TOPIC_EXECUTED = keccak(b"MessageExecuted(uint256,address,bytes32,uint256,uint256)")
RECIPIENT = b"\x5e" * 20


def _sent_message(value: int = 3 * 10**18, data: bytes = b"\xca\xfe") -> tuple[blk.Message, bytes]:
    """A message from chain CHAIN to DEST_CHAIN, sent in block 1 (its record and payload)."""
    call = sel("sendMessage(uint256,address,bytes)") + encode(
        ["uint256", "address", "bytes"], [DEST_CHAIN, RECIPIENT, data]
    )
    res = run(genesis(), [tx(ALICE, MESSENGER, value=value, data=call, gas=300_000)])
    (message,) = res.messages
    return message, data


def _relay_of(message: blk.Message, data: bytes, others: int = 2) -> tuple[rl.Relay, bytes]:
    """The relay of ``message`` from a history where its block is entry 1 of ``others`` + 1;
    and the interop root it is proven under."""
    hashes = [message.hash]
    entries = [(CHAIN + 9, 5, b"\x11" * 32), (CHAIN, 1, rl.list_root(hashes))]
    entries += [(CHAIN + 9, 6 + i, bytes([i + 2]) * 32) for i in range(others - 1)]
    leaves = [rl.leaf(*e) for e in entries]
    relay = rl.Relay(
        CHAIN, 1, message.nonce, message.sender, message.to, message.value, data,
        rl.list_root(hashes), 0, rl.list_path(hashes, 0), 1, len(leaves), rl.list_path(leaves, 1),
    )  # fmt: skip
    return relay, rl.interop_root(leaves)


def _dest(root: bytes | None) -> StateTree:
    """The destination chain, after a block that imported ``root`` (if any)."""
    t = genesis()
    if root is not None:
        header = BlockHeader(DEST_CHAIN, 1, 1_700_000_000, BASE_FEE, interop_root=root)
        run(t, [], header)
    return t


def _run_relay(t: StateTree, calldata: bytes, nonce: int = 0) -> blk.Receipt:
    header = BlockHeader(DEST_CHAIN, 2, 1_700_000_001, BASE_FEE)
    res = run(t, [tx(BOB, MESSENGER, nonce=nonce, data=calldata, gas=400_000)], header)
    return res.receipts[0]


def test_a_relayed_message_executes_once() -> None:
    message, data = _sent_message()
    relay, root = _relay_of(message, data)
    assert relay.root(DEST_CHAIN) == root and relay.message_hash(DEST_CHAIN) == message.hash
    t = _dest(root)
    before = eth(t, RECIPIENT)
    receipt = _run_relay(t, relay.calldata())
    assert receipt.status == 1, system.REASON_TEXT.get(receipt.reason)
    assert eth(t, RECIPIENT) == before + message.value
    assert to_int(_value(t, keys.executed_key(message.hash))) == 1
    (log,) = receipt.logs
    assert log.address == MESSENGER and log.topics[0] == TOPIC_EXECUTED
    assert log.topics[1:] == (CHAIN.to_bytes(32, "big"), bytes(12) + RECIPIENT, message.hash)
    assert decode(["uint256", "uint256"], log.data) == (message.nonce, message.value)
    again = _run_relay(t, relay.calldata(), nonce=1)
    assert (again.status, again.reason) == (0, system.REASON_ALREADY_EXECUTED)
    assert eth(t, RECIPIENT) == before + message.value


@pytest.mark.parametrize(
    "forge",
    [
        "value",  # a record that is not the one sent
        "data",
        "message path",
        "message root",
        "history path",
        "history index",
        "history count",
        "not imported",
        "another destination",
    ],
)
def test_a_forged_or_unimported_relay_does_nothing(forge: str) -> None:
    import dataclasses as dc

    message, data = _sent_message()
    relay, root = _relay_of(message, data)
    imported = root
    if forge == "value":
        relay = dc.replace(relay, value=relay.value + 1)
    elif forge == "data":
        relay = dc.replace(relay, data=b"\xca\xff")
    elif forge == "message path":
        relay = dc.replace(relay, message_path=[b"\x01" * 32])
    elif forge == "message root":
        relay = dc.replace(relay, message_root=b"\x02" * 32)
    elif forge == "history path":
        relay = dc.replace(relay, history_path=[b"\x03" * 32, *relay.history_path[1:]])
    elif forge == "history index":
        relay = dc.replace(relay, history_index=0)
    elif forge == "history count":
        relay = dc.replace(relay, history_count=relay.history_count + 1)
    elif forge == "not imported":
        imported = None
    t = _dest(imported)
    before = eth(t, RECIPIENT)
    if forge == "another destination":  # the right relay, on a chain the message is not for
        header = BlockHeader(DEST_CHAIN + 1, 2, 1_700_000_001, BASE_FEE, interop_root=root)
        res = run(t, [tx(BOB, MESSENGER, data=relay.calldata(), gas=400_000)], header)
        receipt = res.receipts[0]
    else:
        receipt = _run_relay(t, relay.calldata())
    assert (receipt.status, receipt.reason) == (0, system.REASON_BAD_MESSAGE_PROOF)
    assert eth(t, RECIPIENT) == before
    assert to_int(_value(t, keys.executed_key(message.hash))) == 0


def test_malformed_relay_calldata_fails_cleanly() -> None:
    message, data = _sent_message()
    relay, root = _relay_of(message, data)
    t = _dest(root)
    good = relay.calldata()
    for i, bad in enumerate((good[:100], good[:4] + b"\xff" * 32 + good[36:], good[:-1])):
        receipt = _run_relay(t, bad, nonce=i)
        assert receipt.status == 0 and receipt.reason in (
            system.REASON_BAD_CALLDATA,
            system.REASON_BAD_MESSAGE_PROOF,
        )


def _sent_token(amount: int) -> tuple[blk.Message, bytes, StateTree]:
    """ALICE burns ``amount`` aUSD on CHAIN to send it to RECIPIENT on DEST_CHAIN."""
    t = genesis()
    call = sel("sendToken(uint256,address,uint256)") + encode(
        ["uint256", "address", "uint256"], [DEST_CHAIN, RECIPIENT, amount]
    )
    res = run(t, [tx(ALICE, MESSENGER, data=call, gas=300_000)])
    assert res.receipts[0].status == 1, system.REASON_TEXT.get(res.receipts[0].reason)
    (message,) = res.messages
    return message, ALICE + amount.to_bytes(32, "big"), t


def test_a_token_message_burns_here_and_mints_there_once() -> None:
    amount = 4 * 10**18
    before_source = genesis()
    message, payload, source = _sent_token(amount)
    assert message.sender == COIN and message.value == 0 and message.to == RECIPIENT
    assert token(source, ALICE) == token(before_source, ALICE) - amount
    assert supply(source) == supply(before_source) - amount
    assert message.hash == rl.message_hash(CHAIN, DEST_CHAIN, message.nonce, COIN, RECIPIENT, 0,
                                           payload)  # fmt: skip
    relay, root = _relay_of(message, payload)
    dest = _dest(root)
    supply_before = supply(dest)
    receipt = _run_relay(dest, relay.calldata())
    assert receipt.status == 1, system.REASON_TEXT.get(receipt.reason)
    assert token(dest, RECIPIENT) == amount
    assert supply(dest) == supply_before + amount  # conserved across the two chains
    assert supply(source) + supply(dest) == supply(before_source) + supply_before
    again = _run_relay(dest, relay.calldata(), nonce=1)
    assert again.reason == system.REASON_ALREADY_EXECUTED and token(dest, RECIPIENT) == amount


def test_a_plain_message_cannot_pose_as_a_token_message() -> None:
    amount = 10**21
    message, data = _sent_message(value=0, data=ALICE + amount.to_bytes(32, "big"))
    relay, root = _relay_of(message, data)
    dest = _dest(root)
    receipt = _run_relay(dest, relay.calldata())
    assert receipt.status == 1  # a payload message from ALICE: nothing minted
    assert token(dest, RECIPIENT) == 0
    forged = rl.Relay(**{**relay.__dict__, "sender": COIN})  # claim the stablecoin sent it
    assert _run_relay(dest, forged.calldata(), nonce=1).reason == system.REASON_BAD_MESSAGE_PROOF


def test_sending_more_tokens_than_held_fails() -> None:
    t = genesis()
    call = sel("sendToken(uint256,address,uint256)") + encode(
        ["uint256", "address", "uint256"], [DEST_CHAIN, RECIPIENT, token(t, CAROL) + 1]
    )
    res = run(t, [tx(CAROL, MESSENGER, data=call, gas=300_000)])
    assert res.receipts[0].reason == system.REASON_TOKEN_BALANCE and not res.messages

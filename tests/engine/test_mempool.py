"""Tests for atlasdev.engine.mempool: ordering, replacement, limits, and a model-based check."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from eth_account import Account
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlasdev.engine.mempool import Mempool, MempoolError
from atlasdev.engine.transactions import SignedTransaction, decode_raw_transaction

GWEI = 10**9


def addr(i: int) -> bytes:
    return i.to_bytes(20, "big")


def make_tx(
    sender: int | bytes,
    nonce: int,
    max_fee: int = 100 * GWEI,
    tip: int = 10 * GWEI,
    value: int = 1,
) -> SignedTransaction:
    """A fake (unsigned) transaction; the hash only has to be unique per content."""
    sender_b = addr(sender) if isinstance(sender, int) else sender
    tx_hash = hashlib.sha256(sender_b + repr((nonce, max_fee, tip, value)).encode()).digest()
    return SignedTransaction(
        tx_type=2,
        chain_id=1337,
        nonce=nonce,
        max_priority_fee_per_gas=tip,
        max_fee_per_gas=max_fee,
        gas_limit=21_000,
        to=addr(0xDEAD),
        value=value,
        data=b"",
        access_list=(),
        v=0,
        r=1,
        s=1,
        hash=tx_hash,
        sender=sender_b,
        raw=b"",
    )


def nonces_from(mapping: dict[bytes, int]):
    return lambda sender: mapping.get(sender, 0)


ZERO = nonces_from({})


def keys(txs: list[SignedTransaction]) -> list[tuple[int, int]]:
    return [(int.from_bytes(tx.sender, "big"), tx.nonce) for tx in txs]


def assert_error(exc_info: pytest.ExceptionInfo[MempoolError], message: str) -> None:
    assert str(exc_info.value) == message
    assert exc_info.value.code == -32000
    assert isinstance(exc_info.value, ValueError)


# ------------------------------------------------------------------------------------------
# Ordering
# ------------------------------------------------------------------------------------------


def test_fifo_across_senders() -> None:
    pool = Mempool()
    order = [(2, 0), (1, 0), (3, 0), (1, 1), (2, 1)]
    for s, n in order:
        pool.add(make_tx(s, n), 0)
    assert keys(pool.take(100, ZERO)) == order
    assert keys(pool.take(3, ZERO)) == order[:3]
    assert pool.take(0, ZERO) == []


def test_sender_nonce_order_when_added_out_of_order() -> None:
    pool = Mempool()
    pool.add(make_tx(1, 2), 0)
    pool.add(make_tx(2, 0), 0)
    pool.add(make_tx(1, 1), 0)
    pool.add(make_tx(3, 0), 0)
    pool.add(make_tx(1, 0), 0)
    # Sender 1's run becomes executable when nonce 0 arrives (last); 1 and 2 follow at once.
    assert keys(pool.take(100, ZERO)) == [(2, 0), (3, 0), (1, 0), (1, 1), (1, 2)]
    assert pool.pending_count(ZERO) == 5 and pool.queued_count(ZERO) == 0


def test_gap_holds_later_nonces_until_filled() -> None:
    pool = Mempool()
    pool.add(make_tx(1, 0), 0)
    pool.add(make_tx(1, 2), 0)
    pool.add(make_tx(1, 3), 0)
    pool.add(make_tx(2, 0), 0)
    assert keys(pool.take(100, ZERO)) == [(1, 0), (2, 0)]
    assert pool.pending_count(ZERO) == 2 and pool.queued_count(ZERO) == 2
    assert pool.pending_count() == 2  # from the nonces the pool last saw
    assert pool.next_pending_nonce(addr(1), 0) == 1
    pool.add(make_tx(1, 1), 0)
    assert keys(pool.take(100, ZERO)) == [(1, 0), (2, 0), (1, 1), (1, 2), (1, 3)]
    assert pool.next_pending_nonce(addr(1), 0) == 4
    assert pool.next_pending_nonce(addr(9), 7) == 7


def test_take_starts_at_account_nonce() -> None:
    pool = Mempool()
    for n in (5, 6, 8):
        pool.add(make_tx(1, n), 5)
    assert keys(pool.take(100, nonces_from({addr(1): 5}))) == [(1, 5), (1, 6)]
    assert pool.take(100, nonces_from({addr(1): 4})) == []  # nonce 4 missing: a gap
    assert keys(pool.take(100, nonces_from({addr(1): 6}))) == [(1, 6)]


def test_take_does_not_remove() -> None:
    pool = Mempool()
    for n in range(3):
        pool.add(make_tx(1, n), 0)
    first = pool.take(10, ZERO)
    assert pool.take(10, ZERO) == first
    assert len(pool) == 3


def test_remove_then_take_after_seal() -> None:
    pool = Mempool()
    for n in range(4):
        pool.add(make_tx(1, n), 0)
    pool.add(make_tx(2, 0), 0)
    pool.add(make_tx(2, 1), 0)
    batch = pool.take(3, ZERO)
    assert keys(batch) == [(1, 0), (1, 1), (1, 2)]
    pool.remove(batch)  # sealed: sender 1's account nonce is now 3
    assert len(pool) == 3
    assert all(pool.get(tx.hash) is None for tx in batch)
    nonces = nonces_from({addr(1): 3})
    assert keys(pool.take(10, nonces)) == [(1, 3), (2, 0), (2, 1)]
    assert pool.pending_count() == 3  # the hint advanced with the removal
    pool.remove([make_tx(7, 0)])  # unknown: ignored
    assert len(pool) == 3


def test_remove_and_readd_goes_to_the_back() -> None:
    pool = Mempool()
    a = make_tx(1, 0)
    pool.add(make_tx(2, 0), 0)
    pool.add(a, 0)  # its FIFO entry is not at the front, so it stays behind as a stale entry
    pool.add(make_tx(3, 0), 0)
    pool.remove([a])
    pool.add(a, 0)
    assert keys(pool.take(10, ZERO)) == [(2, 0), (3, 0), (1, 0)]


def test_stale_fifo_entries_do_not_pile_up() -> None:
    pool = Mempool()
    pool.add(make_tx(0, 5), 0)  # queued forever at the FIFO's head
    for n in range(5_000):
        tx = make_tx(1, n)
        pool.add(tx, n)
        pool.remove([tx])
    assert len(pool) == 1
    assert len(pool._fifo) <= 2_100  # rebuilt once stale entries dominated


def test_drop_stale() -> None:
    pool = Mempool()
    for n in range(4):
        pool.add(make_tx(1, n), 0)
    pool.add(make_tx(2, 0), 0)
    dropped = pool.drop_stale(nonces_from({addr(1): 2, addr(2): 1}))
    assert keys(dropped) == [(1, 0), (1, 1), (2, 0)]
    assert len(pool) == 2
    assert [tx.nonce for tx in pool.content()[addr(1)]] == [2, 3]
    assert addr(2) not in pool.content()
    assert pool.pending_count() == 2
    assert pool.drop_stale(nonces_from({addr(1): 2})) == []


def test_content_and_get() -> None:
    pool = Mempool()
    txs = [make_tx(1, 3), make_tx(1, 1), make_tx(2, 0)]
    for tx in txs:
        pool.add(tx, 0)
    content = pool.content()
    assert [tx.nonce for tx in content[addr(1)]] == [1, 3]
    assert content[addr(2)] == [txs[2]]
    assert pool.get(txs[0].hash) is txs[0]
    assert txs[0].hash in pool
    assert pool.get(b"\x00" * 32) is None


def test_real_signed_transactions() -> None:
    account = Account.from_key(b"\x01" * 32)

    def signed(nonce: int, max_fee: int, tip: int) -> SignedTransaction:
        raw = account.sign_transaction(
            {
                "type": 2,
                "chainId": 1337,
                "nonce": nonce,
                "maxFeePerGas": max_fee,
                "maxPriorityFeePerGas": tip,
                "gas": 21_000,
                "to": "0x" + "11" * 20,
                "value": 1,
            }
        ).raw_transaction
        return decode_raw_transaction(bytes(raw))

    pool = Mempool()
    tx0, tx1 = signed(0, 2 * GWEI, GWEI), signed(1, 2 * GWEI, GWEI)
    pool.add(tx1, 0)
    pool.add(tx0, 0)
    assert pool.take(10, ZERO) == [tx0, tx1]
    bumped = signed(1, 2 * GWEI * 11 // 10, GWEI * 11 // 10)
    pool.add(bumped, 0)
    assert pool.take(10, ZERO) == [tx0, bumped]
    assert pool.get(tx1.hash) is None


# ------------------------------------------------------------------------------------------
# Rejections
# ------------------------------------------------------------------------------------------


def test_replacement_with_ten_percent_bump() -> None:
    pool = Mempool()
    old = make_tx(1, 0, max_fee=100 * GWEI, tip=10 * GWEI)
    pool.add(old, 0)
    pool.add(make_tx(2, 0), 0)
    new = make_tx(1, 0, max_fee=110 * GWEI, tip=11 * GWEI)
    pool.add(new, 0)
    assert pool.get(old.hash) is None
    assert pool.get(new.hash) is new
    assert len(pool) == 2
    assert pool.take(10, ZERO)[0] is new  # kept the old one's place
    pool.remove([old])  # the replaced one is gone already: no effect
    assert len(pool) == 2


@pytest.mark.parametrize(
    ("max_fee", "tip"),
    [
        (109 * GWEI, 11 * GWEI),  # fee cap +9%
        (110 * GWEI, 10 * GWEI + GWEI * 9 // 10),  # tip +9%
        (200 * GWEI, 10 * GWEI),  # tip unchanged
        (100 * GWEI, 10 * GWEI - 1),  # both lower
    ],
)
def test_replacement_underpriced(max_fee: int, tip: int) -> None:
    pool = Mempool()
    old = make_tx(1, 0, max_fee=100 * GWEI, tip=10 * GWEI)
    pool.add(old, 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(make_tx(1, 0, max_fee=max_fee, tip=tip), 0)
    assert_error(exc_info, "replacement transaction underpriced")
    assert pool.get(old.hash) is old and len(pool) == 1


def test_replacement_of_zero_fee_needs_a_higher_fee() -> None:
    pool = Mempool()
    pool.add(make_tx(1, 0, max_fee=0, tip=0), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(make_tx(1, 0, max_fee=0, tip=0, value=2), 0)
    assert_error(exc_info, "replacement transaction underpriced")
    with pytest.raises(MempoolError):  # the tip must rise too, even from zero
        pool.add(make_tx(1, 0, max_fee=GWEI, tip=0), 0)
    pool.add(make_tx(1, 0, max_fee=1, tip=1), 0)


def test_already_known() -> None:
    pool = Mempool()
    tx = make_tx(1, 0)
    pool.add(tx, 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx, 0)
    assert_error(exc_info, "already known")
    with pytest.raises(MempoolError) as exc_info:
        pool.add(tx, 5)  # checked before the nonce, like geth
    assert_error(exc_info, "already known")


def test_nonce_too_low() -> None:
    pool = Mempool()
    with pytest.raises(MempoolError) as exc_info:
        pool.add(make_tx(1, 3), 5)
    assert_error(exc_info, "nonce too low: next nonce 5, tx nonce 3")
    assert len(pool) == 0


def test_per_sender_limit() -> None:
    pool = Mempool(max_per_sender=2)
    pool.add(make_tx(1, 0), 0)
    pool.add(make_tx(1, 5), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(make_tx(1, 1), 0)
    assert_error(exc_info, "account txpool limit reached")
    pool.add(make_tx(1, 0, max_fee=200 * GWEI, tip=20 * GWEI), 0)  # replacing is fine
    pool.add(make_tx(2, 0), 0)  # other senders unaffected
    assert len(pool) == 3


def test_total_limit() -> None:
    pool = Mempool(max_total=2)
    pool.add(make_tx(1, 0), 0)
    pool.add(make_tx(2, 0), 0)
    with pytest.raises(MempoolError) as exc_info:
        pool.add(make_tx(3, 0), 0)
    assert_error(exc_info, "txpool is full")
    pool.add(make_tx(1, 0, max_fee=200 * GWEI, tip=20 * GWEI), 0)  # replacing is fine
    pool.remove(pool.take(1, ZERO))
    pool.add(make_tx(3, 0), 0)
    assert len(pool) == 2


def test_invalid_limits() -> None:
    with pytest.raises(ValueError):
        Mempool(max_total=0)


# ------------------------------------------------------------------------------------------
# Model-based property test
# ------------------------------------------------------------------------------------------

N_SENDERS = 2
MAX_NONCE = 3
BUMPS = (0, 9, 10, 50)  # percent over the slot's current fees (0 re-sends the same tx)

# (kind, sender, nonce, bump index, count); kinds 0-5 add (mostly adds, so runs form out of
# order and limits bite), 6 take, 7 seal, 8 set the sender's nonce, 9 remove a pooled tx.
ops = st.lists(
    st.tuples(
        st.integers(0, 9),
        st.integers(0, N_SENDERS - 1),
        st.integers(0, MAX_NONCE),
        st.integers(0, len(BUMPS) - 1),
        st.integers(1, 12),
    ),
    min_size=5,
    max_size=50,
)


class Model:
    """A slow, obviously-correct pool: sort everything by each transaction's effective time."""

    def __init__(self, max_per_sender: int, max_total: int) -> None:
        self.max_per_sender, self.max_total = max_per_sender, max_total
        self.slots: dict[tuple[bytes, int], tuple[int, SignedTransaction]] = {}
        self.seq = 0
        self.account: dict[bytes, int] = {}

    def add(self, tx: SignedTransaction) -> str | None:
        acct = self.account.get(tx.sender, 0)
        key = (tx.sender, tx.nonce)
        if any(t.hash == tx.hash for _, t in self.slots.values()):
            return "already known"
        if tx.nonce < acct:
            return f"nonce too low: next nonce {acct}, tx nonce {tx.nonce}"
        if key in self.slots:
            seq, old = self.slots[key]
            ok = all(
                new > old_v and new >= old_v * 110 // 100
                for new, old_v in (
                    (tx.max_fee_per_gas, old.max_fee_per_gas),
                    (tx.max_priority_fee_per_gas, old.max_priority_fee_per_gas),
                )
            )
            if not ok:
                return "replacement transaction underpriced"
            self.slots[key] = (seq, tx)
            return None
        if len(self.slots) >= self.max_total:
            return "txpool is full"
        if sum(1 for s, _ in self.slots if s == tx.sender) >= self.max_per_sender:
            return "account txpool limit reached"
        self.slots[key] = (self.seq, tx)
        self.seq += 1
        return None

    def executable(self) -> list[SignedTransaction]:
        ranked = []
        for sender in {s for s, _ in self.slots}:
            nonce, effective = self.account.get(sender, 0), -1
            while (sender, nonce) in self.slots:
                seq, tx = self.slots[(sender, nonce)]
                effective = max(effective, seq)  # cannot run before its predecessor
                ranked.append((effective, nonce, tx))
                nonce += 1
        return [tx for *_, tx in sorted(ranked, key=lambda r: r[:2])]

    def remove(self, tx: SignedTransaction) -> None:
        key = (tx.sender, tx.nonce)
        if key in self.slots and self.slots[key][1].hash == tx.hash:
            del self.slots[key]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=ops, max_per_sender=st.integers(1, 6), max_total=st.integers(1, 16))
def test_matches_model(
    ops: list[tuple[int, int, int, int, int]], max_per_sender: int, max_total: int
) -> None:
    pool = Mempool(max_per_sender=max_per_sender, max_total=max_total)
    model = Model(max_per_sender, max_total)
    account = model.account
    next_nonce = nonces_from(account)
    for kind, s, nonce, bump_index, count in ops:
        sender = addr(s)
        if kind <= 5:
            current = model.slots.get((sender, nonce))
            fee, tip = (
                (current[1].max_fee_per_gas, current[1].max_priority_fee_per_gas)
                if current
                else (100, 10)
            )
            bump = BUMPS[bump_index]
            tx = make_tx(sender, nonce, fee * (100 + bump) // 100, tip * (100 + bump) // 100)
            expected = model.add(tx)
            try:
                pool.add(tx, account.get(sender, 0))
                assert expected is None
            except MempoolError as exc:
                assert str(exc) == expected
        elif kind in (6, 7):
            batch = pool.take(count, next_nonce)
            assert batch == model.executable()[:count]
            # Invariants independent of the model: executable runs, in nonce order.
            seen: dict[bytes, int] = {}
            for tx in batch:
                assert tx.nonce == seen.get(tx.sender, account.get(tx.sender, 0))
                seen[tx.sender] = tx.nonce + 1
            if kind == 7:  # seal: the batch is included, so its senders' nonces advance
                pool.remove(batch)
                for tx in batch:
                    model.remove(tx)
                account.update(seen)
        elif kind == 8:
            account[sender] = nonce
            dropped = pool.drop_stale(next_nonce)
            stale = [t for (s_, n), (_, t) in model.slots.items() if n < account.get(s_, 0)]
            assert sorted(t.hash for t in dropped) == sorted(t.hash for t in stale)
            for tx in stale:
                model.remove(tx)
        else:
            pooled = [tx for _, tx in sorted(model.slots.values(), key=lambda slot: slot[0])]
            if pooled:
                victim = pooled[count % len(pooled)]
                pool.remove([victim])
                model.remove(victim)
        assert len(pool) == len(model.slots)
        assert pool.take(100, next_nonce) == model.executable()
        assert pool.pending_count(next_nonce) == len(model.executable())
        assert pool.queued_count(next_nonce) == len(model.slots) - len(model.executable())


# ------------------------------------------------------------------------------------------
# Concurrency and speed
# ------------------------------------------------------------------------------------------


def test_thread_safety_smoke() -> None:
    pool = Mempool()
    per_thread, errors = 400, []
    done = threading.Event()

    def producer(first_sender: int) -> None:
        try:
            for n in range(per_thread // 4):
                for s in range(first_sender, first_sender + 4):
                    pool.add(make_tx(s, n), 0)
        except Exception as exc:  # surfaced by the assertion below
            errors.append(exc)

    def consumer() -> None:
        try:
            while not done.is_set():
                seen: dict[bytes, int] = {}
                for tx in pool.take(10_000, ZERO):
                    assert tx.nonce == seen.get(tx.sender, 0)
                    seen[tx.sender] = tx.nonce + 1
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=producer, args=(i * 4,)) for i in range(2)]
    taker = threading.Thread(target=consumer)
    taker.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    taker.join()
    assert errors == []
    assert len(pool) == 2 * per_thread
    assert len(pool.take(10_000, ZERO)) == 2 * per_thread


def test_take_is_fast_with_many_senders() -> None:
    pool = Mempool()
    senders, per_sender = 2_000, 10
    for n in range(per_sender):
        for s in range(senders):
            pool.add(make_tx(s, n), 0)
    # Sender 0 has a gap far ahead; its entry must not slow the walk down much.
    pool.add(make_tx(0, 50), 0)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        batch = pool.take(senders * per_sender, ZERO)
        best = min(best, time.perf_counter() - start)
    assert len(batch) == senders * per_sender
    assert best < 0.05, f"take() of 20k txs took {best * 1e3:.1f} ms"
    # Draining in 1k-tx blocks: each take costs its batch, not the whole pool.
    account: dict[bytes, int] = {}
    start = time.perf_counter()
    blocks = 0
    while batch := pool.take(1_000, nonces_from(account)):
        pool.remove(batch)
        for tx in batch:
            account[tx.sender] = tx.nonce + 1
        blocks += 1
    elapsed = time.perf_counter() - start
    assert blocks == 20 and len(pool) == 1  # only the gapped nonce 50 is left
    assert elapsed < 0.5, f"draining 20 blocks took {elapsed * 1e3:.1f} ms"

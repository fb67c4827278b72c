"""Settlement to the L1: the gateway reads L1 blocks as final (a deposit block joins the interop
history with no proof), settles a batch of every L2's verified head with its interop root, one
batch in flight at a time, marks it landed in the L1 block that imports the root, and hands a
batch made before a restart to the L1 again."""

import time
from pathlib import Path

from atlasdev.engine.gateway import interop
from atlasdev.engine.gateway.service import Gateway
from atlasdev.engine.gateway.settlement import due, lands, next_batch
from atlasdev.engine.store import BlockRow, SettledHead, SettlementRow, Store, VerificationRow

L2, L1 = 271, 900
ZERO = bytes(32)


def _block(
    chain: int, number: int, message_root: bytes = ZERO, interop_root: bytes = ZERO
) -> BlockRow:
    state = bytes([chain % 256, number % 256]) * 16
    return BlockRow(chain, number, bytes([number % 256]) * 32, ZERO, 1000 + number, state, ZERO,
                    message_root, interop_root, 10**9, 0, 0, 0, time.time())  # fmt: skip


def _network(tmp_path: Path) -> tuple[Store, Gateway, list[bytes], list[bytes]]:
    store = Store(tmp_path)
    store.write_block(_block(L2, 0), [], [], [], [])
    store.write_block(_block(L1, 0), [], [], [], [])
    published: list[bytes] = []
    settled: list[bytes] = []
    gateway = Gateway(store, [L2], published.append, L1, 10.0, settled.append)
    return store, gateway, published, settled


def _verify_l2(store: Store, number: int) -> None:
    store.put_verification(VerificationRow(L2, number, "verified", b"\x05" * 32, ZERO, 1.0, 1, "",
                                           time.time()))  # fmt: skip


# ---- the pure rules ----------------------------------------------------------------------------


def test_the_first_batch_settles_whatever_there_is() -> None:
    heads = (SettledHead(L2, 0, b"\x01" * 32),)
    first = next_batch(None, heads, interop.EMPTY_ROOT, 0, 5.0)
    assert first == SettlementRow(1, interop.EMPTY_ROOT, 0, heads, 5.0)
    assert due(None, 0.0, 10.0)


def test_one_batch_in_flight_at_most_once_per_interval_and_only_when_something_moved() -> None:
    heads = (SettledHead(L2, 3, b"\x01" * 32),)
    pending = SettlementRow(4, b"\x02" * 32, 1, heads, 100.0)
    assert not due(pending, 1000.0, 10.0)  # not landed yet
    landed = SettlementRow(4, b"\x02" * 32, 1, heads, 100.0, l1_block=7, landed_at=101.0)
    assert not due(landed, 109.9, 10.0) and due(landed, 110.0, 10.0)
    assert next_batch(landed, heads, b"\x02" * 32, 1, 110.0) is None  # nothing new
    moved = (SettledHead(L2, 4, b"\x03" * 32),)
    batch = next_batch(landed, moved, b"\x02" * 32, 1, 110.0)
    assert batch is not None and batch.batch == 5 and batch.heads == moved
    assert lands(pending, b"\x02" * 32) and not lands(pending, b"\x03" * 32)
    assert not lands(landed, b"\x02" * 32) and not lands(None, b"\x02" * 32)


# ---- the gateway over a store ------------------------------------------------------------------


def test_l1_blocks_are_final_and_a_deposit_block_joins_the_history(tmp_path: Path) -> None:
    store, gateway, published, _ = _network(tmp_path)
    assert not gateway.read_l1()  # no L1 block after genesis yet
    store.write_block(_block(L1, 1), [], [], [], [])
    deposit_root = b"\x09" * 32
    store.write_block(_block(L1, 2, message_root=deposit_root), [], [], [], [])
    assert gateway.read_l1() and gateway.read_l1() and not gateway.read_l1()
    assert store.verified_head(L1) == 2
    row = store.verification(L1, 2)
    assert row is not None and row.status == "final" and row.message_root == deposit_root
    assert store.verified_count() == 0  # no proof was verified: the L1 needs none
    entry = store.latest_interop()
    assert entry is not None and (entry.chain_id, entry.number) == (L1, 2)
    assert published == [entry.root]
    assert entry.root == interop.History([(L1, 2, deposit_root)]).root()


def test_a_batch_lands_in_the_l1_block_that_imports_its_root(tmp_path: Path) -> None:
    store, gateway, _, settled = _network(tmp_path)
    assert gateway.settle()  # batch 1: the genesis heads, the empty history's root
    (first,) = store.settlements(5)
    assert first.batch == 1 and first.root == interop.EMPTY_ROOT and first.history_count == 0
    assert first.heads == (SettledHead(L2, 0, _block(L2, 0).state_root),)
    assert settled == [interop.EMPTY_ROOT]
    _verify_l2(store, 1)
    gateway.settle_interval_s = 0.0
    assert not gateway.settle()  # batch 1 has not landed: nothing more is settled
    store.write_block(_block(L1, 1), [], [], [], [])
    store.write_block(_block(L1, 2, interop_root=interop.EMPTY_ROOT), [], [], [], [])
    gateway.read_l1()
    assert store.settlements(1)[0].l1_block is None  # block 1 imported nothing
    gateway.read_l1()
    assert store.settlements(1)[0].l1_block == 2
    assert gateway.settle()  # landed, and alpha's verified head moved
    second = store.settlements(1)[0]
    assert second.batch == 2 and second.heads == (SettledHead(L2, 1, b"\x05" * 32),)
    assert settled == [interop.EMPTY_ROOT, interop.EMPTY_ROOT]  # imported again: a new L1 block


def test_nothing_is_settled_when_nothing_moved(tmp_path: Path) -> None:
    store, gateway, _, settled = _network(tmp_path)
    gateway.settle_interval_s = 0.0
    assert gateway.settle()
    store.write_block(_block(L1, 1, interop_root=interop.EMPTY_ROOT), [], [], [], [])
    gateway.read_l1()
    assert not gateway.settle() and len(settled) == 1


def test_a_batch_made_before_a_restart_is_handed_to_the_l1_again(tmp_path: Path) -> None:
    store, gateway, _, settled = _network(tmp_path)
    assert gateway.settle()
    again: list[bytes] = []
    restarted = Gateway(store, [L2], None, L1, 10.0, again.append)
    assert not restarted.settle()  # the pending batch is offered, no new one is made
    assert again == settled and len(store.settlements(5)) == 1
    assert not restarted.settle() and len(again) == 1  # offered once per run

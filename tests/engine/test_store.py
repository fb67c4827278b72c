"""The SQLite store: one transaction per block, history by block, and nothing half-written."""

import sqlite3
from pathlib import Path

import pytest

from atlasdev.engine.store import BlockRow, LogRow, MessageRow, Store, StoreError, TxRow


def block(number: int, chain_id: int = 7) -> BlockRow:
    h = number.to_bytes(32, "big")
    return BlockRow(
        chain_id,
        number,
        h,
        (number - 1).to_bytes(32, "big", signed=True),
        1000 + number,
        b"r" * 32,
        b"t" * 32,
        b"m" * 32,
        bytes(32),
        10**9,
        21_000,
        1,
        number + 1,
        1.5,
    )


def tx(number: int, index: int = 0, value: int = 2**255 + 1) -> TxRow:
    return TxRow(
        7,
        bytes([number, index]) * 16,
        number,
        index,
        b"s" * 20,
        b"d" * 20,
        number,
        value,
        21_000,
        2 * 10**9,
        10**9,
        2 * 10**9,
        2,
        b"\x01\x02",
        b"raw",
        0,
        "out of gas",
        21_000,
        21_000,
        None,
    )


def test_block_roundtrip_with_everything(tmp_path: Path) -> None:
    store = Store(tmp_path)
    t = tx(1)
    log = LogRow(7, 1, 0, 0, t.hash, b"a" * 20, (b"x" * 32, b"y" * 32), b"data")
    msg = MessageRow(7, 1, t.hash, 0, 8, b"s" * 20, b"d" * 20, 5, b"payload", b"h" * 32)
    store.write_block(block(1), [t], [log], [msg], [(0, b"L0"), (1, b"L1")])
    assert store.head(7) == block(1)
    assert store.block_by_hash(7, block(1).hash) == block(1)
    assert store.tx(7, t.hash) == t  # u256 values survive as hex text
    assert store.block_transactions(7, 1) == [t]
    assert store.logs(7, 0, 5) == [log]
    assert store.logs(7, 0, 5, addresses=[b"b" * 20]) == []
    assert store.messages(7) == [msg]
    assert store.all_leaves(7) == [b"L0", b"L1"]
    assert store.head(8) is None


def test_leaf_history_by_block(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_block(block(0), [], [], [], [(0, b"v0")])
    store.write_block(block(1), [], [], [], [(0, b"v1")])
    store.write_block(block(2), [], [], [], [(1, b"w2")])
    assert store.leaf_at_block(7, 0, 0) == b"v0"
    assert store.leaf_at_block(7, 0, 5) == b"v1"
    assert store.leaf_at_block(7, 1, 1) is None
    assert store.all_leaves(7) == [b"v1", b"w2"]


def test_failed_block_write_leaves_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_block(block(1), [tx(1)], [], [], [(0, b"a")])
    # the same transaction hash again violates the primary key half way through the write
    with pytest.raises(sqlite3.IntegrityError):
        store.write_block(block(2), [tx(2), tx(1)], [], [], [(0, b"b")])
    assert store.head(7).number == 1
    assert store.block_transactions(7, 2) == []
    assert store.all_leaves(7) == [b"a"]
    assert store.leaf_at_block(7, 0, 9) == b"a"


def test_survives_reopen_and_rejects_gaps(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_block(block(1), [], [], [], [(0, b"a"), (2, b"c")])
    store.close()
    again = Store(tmp_path)
    assert again.head(7) == block(1)
    with pytest.raises(StoreError, match="not contiguous"):
        again.all_leaves(7)


def test_dev_edit_writes_leaves_and_meta_together(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.write_leaves(7, 3, [(0, b"z")], meta=("dev_state_root:7", "3:abcd"))
    assert store.get_meta("dev_state_root:7") == "3:abcd"
    assert store.leaf_at_block(7, 0, 3) == b"z"

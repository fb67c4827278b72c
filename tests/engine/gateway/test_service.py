"""The gateway over a real store: proofs verified in order from the genesis root, a rejected
proof recorded with its reason while the verified head stays, re-checked only when the proof
record changes."""

import time
from pathlib import Path

import numpy as np

from atlasdev.engine.gateway.service import Gateway
from atlasdev.engine.store import BlockRow, ProofRow, Store
from atlasdev.engine.zkos.tree import StateTree
from tests.engine.proven_blocks import CHAIN_ID, empty_block


def _store(tmp_path: Path, genesis_root: bytes) -> Store:
    store = Store(tmp_path)
    zero = bytes(32)
    genesis = BlockRow(CHAIN_ID, 0, b"\x01" * 32, zero, 1000, genesis_root, zero, zero, zero,
                       10**9, 0, 0, 0, time.time())  # fmt: skip
    store.write_block(genesis, [], [], [], [])
    return store


def _put(store: Store, number: int, proof: bytes | None = None, status: str = "proven") -> None:
    made, _ = empty_block(number)
    report = np.array(made.report, dtype="<u4").tobytes()
    data = made.proof if proof is None else proof
    store.put_proof(
        ProofRow(CHAIN_ID, number, status, "cpu", made.cycles, made.trace_rows, 1, len(data),
                 data, report, "", time.time())
    )  # fmt: skip


def test_blocks_are_verified_in_order_from_the_genesis_root(tmp_path: Path) -> None:
    store = _store(tmp_path, StateTree().root())
    gateway = Gateway(store, [CHAIN_ID])
    _put(store, 2)
    assert not gateway.verify_next(CHAIN_ID)  # block 1 first
    _put(store, 1, status="proving")
    assert not gateway.verify_next(CHAIN_ID)  # not proven yet
    _put(store, 1)
    assert gateway.verify_next(CHAIN_ID) and gateway.verify_next(CHAIN_ID)
    assert not gateway.verify_next(CHAIN_ID)  # nothing left
    assert store.verified_head(CHAIN_ID) == 2 and store.verified_count() == 2
    for n in (1, 2):
        row = store.verification(CHAIN_ID, n)
        assert row is not None and row.status == "verified" and row.reason == ""
        assert row.post_root == empty_block(n)[1].public.post_root


def test_a_rejected_proof_keeps_the_head_until_a_good_one_arrives(tmp_path: Path) -> None:
    store = _store(tmp_path, StateTree().root())
    gateway = Gateway(store, [CHAIN_ID])
    made, _ = empty_block(1)
    bad = bytearray(made.proof)
    bad[-100] ^= 1
    _put(store, 1, bytes(bad))
    assert gateway.verify_next(CHAIN_ID)
    row = store.verification(CHAIN_ID, 1)
    assert row is not None and row.status == "rejected" and row.reason.startswith("invalid proof")
    assert store.verified_head(CHAIN_ID) == 0
    assert not gateway.verify_next(CHAIN_ID)  # the same record is not judged twice
    _put(store, 1)  # a new proof record for the block
    assert gateway.verify_next(CHAIN_ID)
    assert store.verified_head(CHAIN_ID) == 1


def test_a_proof_from_another_root_is_rejected(tmp_path: Path) -> None:
    store = _store(tmp_path, b"\x07" * 32)  # this chain did not start from the empty tree
    gateway = Gateway(store, [CHAIN_ID])
    _put(store, 1)
    assert gateway.verify_next(CHAIN_ID)
    row = store.verification(CHAIN_ID, 1)
    assert row is not None and row.status == "rejected" and "last verified" in row.reason
    assert store.verified_head(CHAIN_ID) == 0

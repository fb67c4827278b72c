"""The gateway over a real store: proofs verified in order from the genesis root, a rejected
proof recorded with its reason while the verified head stays, re-checked only when the proof
record changes; verified blocks that sent messages extend the interop history."""

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from atlasdev.engine.gateway import interop, service
from atlasdev.engine.gateway.checks import Expected
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


def test_verified_blocks_with_messages_extend_the_interop_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The history's bookkeeping, with the proof check replaced by one that attests a chosen
    message root (the check itself is tested above and in test_checks)."""
    store = _store(tmp_path, StateTree().root())
    roots = {1: b"\x11" * 32, 2: bytes(32), 3: b"\x33" * 32}  # block 2 sent no message

    def attest(
        program: object, expected: Expected, proof: bytes, report: list[int], published: object
    ) -> object:
        return dataclasses.replace(
            empty_block(1)[1].public,
            number=expected.number,
            message_root=roots[expected.number],
        )

    monkeypatch.setattr(service, "check_block_proof", attest)
    monkeypatch.setattr(Gateway, "_load_program", lambda self: None)
    gateway = Gateway(store, [CHAIN_ID])
    for n in (1, 2):
        _put(store, n if n == 1 else 1)  # any stored bytes: the check is replaced
        _renumber(store, n)
        assert gateway.verify_next(CHAIN_ID)
    history = store.interop_history()
    assert [(e.index, e.number, e.message_root) for e in history] == [(0, 1, roots[1])]
    assert history[0].root == interop.History([(CHAIN_ID, 1, roots[1])]).root()

    restarted = Gateway(store, [CHAIN_ID])  # a new node: the history comes from the store
    _put(store, 1)
    _renumber(store, 3)
    assert restarted.verify_next(CHAIN_ID)
    latest = store.latest_interop()
    expected = interop.History([(CHAIN_ID, 1, roots[1]), (CHAIN_ID, 3, roots[3])])
    assert latest is not None and (latest.index, latest.root) == (1, expected.root())
    assert expected.proof(0).check() and expected.proof(1).check()


def _renumber(store: Store, number: int) -> None:
    """Store block 1's proof record as block ``number``'s."""
    row = store.proof(CHAIN_ID, 1)
    assert row is not None
    store.put_proof(dataclasses.replace(row, number=number, updated_at=time.time()))


def test_an_empty_block_is_verified_by_rule_and_a_false_one_rejected(tmp_path: Path) -> None:
    root = StateTree().root()
    store = _store(tmp_path, root)
    zero = bytes(32)
    for number, state_root in ((1, root), (2, b"\x09" * 32)):  # block 2 claims a new state
        block = BlockRow(CHAIN_ID, number, bytes([number]) * 32, zero, 1000, state_root, zero,
                         zero, zero, 10**9, 0, 0, 0, time.time())  # fmt: skip
        store.write_block(block, [], [], [], [])
        store.put_proof(ProofRow(CHAIN_ID, number, "empty", "cpu", 0, 0, 0, 0, b"", b"", "",
                                 time.time()))  # fmt: skip
    gateway = Gateway(store, [CHAIN_ID])
    assert gateway.verify_next(CHAIN_ID) and gateway.verify_next(CHAIN_ID)
    one, two = store.verification(CHAIN_ID, 1), store.verification(CHAIN_ID, 2)
    assert one is not None and one.status == "verified" and one.post_root == root
    assert two is not None and two.status == "rejected" and "as it was" in two.reason
    assert store.verified_head(CHAIN_ID) == 1

"""Messages from the gateway's side: the hash a relayer recomputes is the STF's, the lifecycle
stage follows the source block (sealed, proven, verified), and a verified message's proof climbs
to the interop root while a tampered one does not."""

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest
from eth_abi import encode

from atlasdev.engine.gateway import interop, messages, service
from atlasdev.engine.gateway.checks import Expected
from atlasdev.engine.gateway.service import Gateway
from atlasdev.engine.store import BlockRow, MessageRow, ProofRow, Store
from atlasdev.engine.zkos import keys
from atlasdev.engine.zkos.block import BlockHeader, PublicValues, TxInput, execute
from atlasdev.engine.zkos.system import MESSENGER_ADDRESS, SEL_SEND_MESSAGE
from atlasdev.engine.zkos.tree import StateTree
from atlasdev.engine.zkos.u256 import from_int

CHAIN, DEST = 271, 272
SENDER = b"\xaa" * 20


def test_the_message_hash_is_the_stfs() -> None:
    tree = StateTree()
    v = np.zeros(16, np.uint32)
    v[:8] = from_int(10**21)
    tree.set_value(keys.account_key(SENDER), v)
    call = SEL_SEND_MESSAGE.to_bytes(4, "big") + encode(
        ["uint256", "address", "bytes"], [DEST, b"\xbb" * 20, b"\x12\x34\x56"]
    )
    tx = TxInput(SENDER, MESSENGER_ADDRESS, 0, 7 * 10**17, 300_000, 2 * 10**9, 10**9, call)
    result = execute(BlockHeader(CHAIN, 1, 1000, 10**9), [tx], tree)
    (sent,) = result.messages
    assert sent.hash == messages.message_hash(
        CHAIN, DEST, sent.nonce, SENDER, b"\xbb" * 20, 7 * 10**17, b"\x12\x34\x56"
    )
    assert result.public.message_root == interop.list_root([sent.hash])


def _message(nonce: int, data: bytes) -> MessageRow:
    to = bytes([nonce + 1]) * 20
    h = messages.message_hash(CHAIN, DEST, nonce, SENDER, to, 10 * nonce, data)
    return MessageRow(CHAIN, 1, b"\x01" * 32, nonce, DEST, SENDER, to, 10 * nonce, data, h)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Chain 271's genesis and block 1, which sent three messages."""
    store = Store(tmp_path)
    sent = [_message(n, bytes([n]) * n) for n in range(3)]
    root = interop.list_root([m.hash for m in sent])
    zero = bytes(32)
    for number, message_root, out in ((0, zero, []), (1, root, sent)):
        block = BlockRow(CHAIN, number, bytes([number]) * 32, zero, 1000, b"\x05" * 32, zero,
                         message_root, zero, 10**9, 0, 0, 0, time.time())  # fmt: skip
        store.write_block(block, [], [], out, [])
    return store


def _verify_block_1(store: Store, monkeypatch: pytest.MonkeyPatch) -> Gateway:
    """Store a proof record for block 1 and let the gateway accept it, the proof check
    replaced by one that attests the sealed block (the real check is test_checks')."""

    def attest(
        program: object, expected: Expected, proof: bytes, report: list[int], published: object
    ) -> object:
        block = store.block(CHAIN, expected.number)
        assert block is not None
        return PublicValues(CHAIN, block.number, expected.pre_root, block.state_root,
                            block.tx_commitment, block.message_root, block.interop_root)  # fmt: skip

    monkeypatch.setattr(service, "check_block_proof", attest)
    monkeypatch.setattr(Gateway, "_load_program", lambda self: None)
    store.put_proof(ProofRow(CHAIN, 1, "proven", "cpu", 1, 1, 1, 1, b"p", b"", "", time.time()))
    gateway = Gateway(store, [CHAIN])
    assert gateway.verify_next(CHAIN)
    return gateway


def test_the_stage_follows_the_source_block(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    target = store.messages(CHAIN)[1]
    found = messages.status(store, target.hash)
    assert (found.stage, found.proof) == ("sealed", None) and "not proven" in found.reason
    store.put_proof(ProofRow(CHAIN, 1, "proving", "cpu", 0, 0, 0, 0, b"", b"", "", time.time()))
    assert messages.status(store, target.hash).stage == "sealed"
    _verify_block_1(store, monkeypatch)
    found = messages.status(store, target.hash)
    assert found.stage == "verified" and found.proof is not None
    assert f"chain {DEST} has not imported" in found.reason
    root = interop.History([(CHAIN, 1, found.proof.message_root)]).root()
    assert found.proof.history.root == root
    zero = bytes(32)
    for number, imported in ((0, zero), (1, root)):  # the destination imports the root
        block = BlockRow(DEST, number, bytes([9, number]) * 16, zero, 1000, b"\x05" * 32, zero,
                         zero, imported, 10**9, 0, 0, 0, time.time())  # fmt: skip
        store.write_block(block, [], [], [], [])
    assert messages.status(store, target.hash).stage == "imported"
    with pytest.raises(messages.MessageNotFound):
        messages.status(store, b"\x09" * 32)


def test_every_verified_message_proof_checks_and_tampers_do_not(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    _verify_block_1(store, monkeypatch)
    sent = store.messages(CHAIN)
    for m in sent:
        proof = messages.status(store, m.hash).proof
        assert proof is not None and proof.check(m.hash)
        assert proof.history.root == store.latest_interop().root  # type: ignore[union-attr]
    proof = messages.status(store, sent[0].hash).proof
    assert proof is not None
    assert not proof.check(sent[1].hash)  # another message with this one's path
    assert not dataclasses.replace(proof, index=1).check(sent[0].hash)
    assert not dataclasses.replace(proof, path=[bytes(32), *proof.path[1:]]).check(sent[0].hash)
    forged = dataclasses.replace(proof.history, number=2)  # another block's claim
    assert not dataclasses.replace(proof, history=forged).check(sent[0].hash)
    other_chain = dataclasses.replace(proof.history, chain_id=DEST)
    assert not dataclasses.replace(proof, history=other_chain).check(sent[0].hash)

"""Stand-ins for the STARKs in network tests: a prover that stores a proof record for every
sealed block, and a gateway proof check that attests what the block was sealed with. Only the
proofs are replaced; the real ones are tested in tests/engine/airbender and tests/engine/gateway.
`standin_network` runs a real node with both; `wait_stage` follows a message through it.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from atlasdev.engine.gateway import service
from atlasdev.engine.gateway.checks import Rejected
from atlasdev.engine.gateway.service import Gateway
from atlasdev.engine.store import ProofRow
from atlasdev.engine.zkos.block import PublicValues
from atlasdev.node import Node
from atlasdev.profiles import Profile
from atlasdev.rpc_client import RpcClient


class StandInProver:
    """Stores a proof record for every sealed block of every L2, in order (the L1 is never
    proven)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        store = self.node.store
        assert store is not None
        while not self.stop.wait(0.1):
            for chain_id in self.node.l2_ids:
                head = self.node.chains[chain_id].head.number
                for n in range(store.last_settled_proof(chain_id) + 1, head + 1):
                    row = ProofRow(chain_id, n, "proven", "stand-in", 1, 1, 1, 1, b"x",
                                   b"", "", time.time())  # fmt: skip
                    store.put_proof(row)


def attest_sealed(node: Node, tampered: bool):  # type: ignore[no-untyped-def]
    """The gateway's proof check, attesting what the block was sealed with; with ``tampered``,
    the proof of every block that sent messages is rejected (as a tampered proof is)."""

    def attest(program, expected, proof, report, published):  # type: ignore[no-untyped-def]
        block = node.store.block(expected.chain_id, expected.number)  # type: ignore[union-attr]
        if tampered and block.message_root != bytes(32):
            raise Rejected("invalid proof: query 3: main row is not under its commitment")
        if block.interop_root != bytes(32) and block.interop_root not in published:
            raise Rejected("imports a root the gateway never published")
        return PublicValues(block.chain_id, block.number, expected.pre_root, block.state_root,
                            block.tx_commitment, block.message_root, block.interop_root)  # fmt: skip

    return attest


@contextmanager
def standin_network(
    profile: Profile,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    tampered: bool = False,
    **node_options: Any,
) -> Iterator[Node]:
    """A started node of ``profile`` whose STARKs are the stand-ins above."""
    node = Node(profile, data_dir, **node_options)
    monkeypatch.setattr(service, "check_block_proof", attest_sealed(node, tampered))
    monkeypatch.setattr(Gateway, "_load_program", lambda self: None)
    node.start()
    prover = StandInProver(node)
    try:
        yield node
    finally:
        prover.stop.set()
        node.stop()


def wait_stage(rpc: str, message: str, stage: str) -> dict:
    """``atlasdev_getMessage`` once the message reached ``stage`` (bounded, not timed)."""
    client = RpcClient(rpc)
    found: dict = {}
    for _ in range(600):  # some dozens of blocks
        found = client.call("atlasdev_getMessage", message)
        if found["stage"] == stage:
            return found
        time.sleep(0.05)
    raise AssertionError(f"message stuck at {found.get('stage')}: {found.get('waitingFor')}")

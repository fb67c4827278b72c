"""Stand-ins for the STARKs in network tests: a prover that stores a proof record for every
sealed block, and a gateway proof check that attests what the block was sealed with. Only the
proofs are replaced; the real ones are tested in tests/engine/airbender and tests/engine/gateway.
"""

import threading
import time

from atlasdev.engine.gateway.checks import Rejected
from atlasdev.engine.store import ProofRow
from atlasdev.engine.zkos.block import PublicValues
from atlasdev.node import Node


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

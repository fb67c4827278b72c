"""Re-executing a sealed block from the store: what the prover (and `atlasdev zkos run`) feeds
the RISC-V target.

The pre-state is rebuilt from the stored leaf versions as they stood before the block, the
transactions are decoded again from their raw bytes, and the block is executed natively to get
the STF input words and the public values the sequencer committed to.
"""

from dataclasses import dataclass

import numpy as np

from .chain import tx_input
from .store import BlockRow, Store
from .transactions import decode_raw_transaction
from .zkos.block import BlockHeader, BlockResult, execute
from .zkos.tree import StateTree


class ReplayError(LookupError):
    """The block to replay does not exist or has nothing to execute."""


@dataclass(frozen=True)
class Replay:
    block: BlockRow
    result: BlockResult  # the native execution: its input_words go to the RISC-V guest

    @property
    def matches_sealed(self) -> bool:
        """The re-execution reproduces the roots the sequencer sealed."""
        pv = self.result.public
        return (pv.post_root, pv.tx_commitment, pv.message_root) == (
            self.block.state_root,
            self.block.tx_commitment,
            self.block.message_root,
        )


def replay_block(store: Store, chain_id: int, number: int) -> Replay:
    block = store.block(chain_id, number)
    if block is None:
        raise ReplayError(f"chain {chain_id} has no block {number}")
    if number == 0:
        raise ReplayError("block 0 is the genesis state: it has no transactions to execute")
    leaves = store.leaves_at_block(chain_id, number - 1)
    tree = StateTree.from_leaves(np.frombuffer(b"".join(leaves), dtype="<u4"))
    txs = [
        tx_input(decode_raw_transaction(t.raw)) for t in store.block_transactions(chain_id, number)
    ]
    header = BlockHeader(
        chain_id=chain_id,
        number=number,
        timestamp=block.timestamp,
        base_fee=block.base_fee,
        interop_root=block.interop_root,
    )
    return Replay(block, execute(header, txs, tree))

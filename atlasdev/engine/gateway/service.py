"""The node's gateway thread: each chain's proofs verified in order, the verdicts in SQLite.

For each chain the gateway looks at the block after its verified head. Once the prover has
stored a proof for it, the gateway checks it (checks.py) against the root it verified last (the
chain's genesis root for block 1) and records the verdict: verified, with the post-state and
message roots the proof attests, which moves the verified head; or rejected, with the reason,
and the head stays where it was. A rejected block is checked again only when its proof record
changes (a new proof). The genesis root is the one block 0 was stored with: where a real
gateway's bridge contract is initialised with it.

A verified block that sent messages (a message root other than the empty list's zero digest) is
appended to the interop history in the same database transaction as its verdict, and the new
interop root (interop.py) is published with it: the `interop_history` table holds every entry
with the root after it, which destination chains import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..chain_worker import ChainWorker
from ..store import InteropEntry, Store, VerificationRow
from .checks import Expected, Rejected, check_block_proof, check_empty_block, report_words
from .interop import ZERO, History

log = logging.getLogger("atlasdev.gateway")


class Gateway(ChainWorker):
    name = "gateway"
    idle_s = 0.25

    def __init__(
        self,
        store: Store,
        chain_ids: list[int],
        on_root: Callable[[bytes], None] | None = None,
    ) -> None:
        super().__init__(chain_ids)
        self.store = store
        self.on_root = on_root  # called with each newly published interop root
        entries = store.interop_history()
        self.history = History([(e.chain_id, e.number, e.message_root) for e in entries])
        self.published = {e.root for e in entries}  # every root destinations may import

    def step(self, chain_id: int) -> bool:
        return self.verify_next(chain_id)

    def verify_next(self, chain_id: int) -> bool:
        """Judge the proof of the block after the chain's verified head, if there is a new one;
        True if a verdict was recorded."""
        number = self.store.verified_head(chain_id) + 1
        proof = self.store.proof(chain_id, number)
        if proof is None or proof.status not in ("proven", "empty"):
            return False
        earlier = self.store.verification(chain_id, number)
        if earlier is not None and earlier.proof_updated_at == proof.updated_at:
            return False  # this very record was judged already
        expected = Expected(chain_id, number, self._pre_root(chain_id, number))
        started = time.perf_counter()
        try:
            if proof.status == "empty":
                public = check_empty_block(self.store.block(chain_id, number), expected)
            else:
                public = check_block_proof(
                    self._load_program(),
                    expected,
                    proof.proof,
                    report_words(proof.report),
                    self.published,
                )
        except Rejected as exc:
            status, post_root, message_root, reason = "rejected", b"", b"", str(exc)
            log.warning("chain %d block %d: proof rejected: %s", chain_id, number, reason)
        else:
            status, post_root, message_root, reason = (
                "verified",
                public.post_root,
                public.message_root,
                "",
            )
        entry = None
        if status == "verified" and message_root != ZERO:  # the block sent messages
            history = self.history.copy()
            root = history.append(chain_id, number, message_root)
            entry = InteropEntry(
                len(history.entries) - 1, chain_id, number, message_root, root, time.time()
            )
        self.store.put_verification(
            VerificationRow(
                chain_id,
                number,
                status,
                post_root,
                message_root,
                proof.updated_at,
                round(1000 * (time.perf_counter() - started)),
                reason,
                time.time(),
            ),
            entry,
        )
        if entry is not None:
            self.history = history
            self.published.add(entry.root)
            if self.on_root is not None:
                self.on_root(entry.root)
            log.info(
                "interop root 0x%s… (%d blocks with messages)",
                entry.root.hex()[:16],
                entry.index + 1,
            )
        return True

    def _pre_root(self, chain_id: int, number: int) -> bytes:
        if number == 1:
            genesis = self.store.block(chain_id, 0)
            if genesis is None:
                raise RuntimeError(f"chain {chain_id} has no genesis block")
            return genesis.state_root
        previous = self.store.verification(chain_id, number - 1)
        assert previous is not None and previous.status == "verified"
        return previous.post_root

    def _load_program(self):  # type: ignore[no-untyped-def]
        from ..airbender import block_prover  # heavy: the verifying keys come with numba kernels

        return block_prover.installed_program()

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

The L1 is the settlement layer, so its blocks need no proof: the gateway reads each sealed L1
block in order and records it as `final` (a deposit, a message the L1 sent, enters the history
the same way). On the L1's turn it also settles (settlement.py): at most once per interval, a
batch of every L2's verified head and the interop root, which the L1 imports in its next block.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from ..chain_worker import ChainWorker
from ..store import InteropEntry, SettledHead, Store, VerificationRow
from .checks import Expected, Rejected, check_block_proof, check_empty_block, report_words
from .interop import EMPTY_ROOT, ZERO, History
from .settlement import due, lands, next_batch

log = logging.getLogger("atlasdev.gateway")


class Gateway(ChainWorker):
    name = "gateway"
    idle_s = 0.25

    def __init__(
        self,
        store: Store,
        chain_ids: list[int],
        on_root: Callable[[bytes], None] | None = None,
        l1: int | None = None,
        settle_interval_s: float = 5.0,
        on_settle: Callable[[bytes], None] | None = None,
    ) -> None:
        super().__init__(chain_ids + ([] if l1 is None else [l1]))
        self.store = store
        self.l2s = list(chain_ids)
        self.l1 = l1
        self.on_root = on_root  # called with each newly published interop root
        self.settle_interval_s = settle_interval_s
        self.on_settle = on_settle  # called with a batch's root: the L1 imports it
        self.offered_batch = 0  # the batch handed to the L1 in this run
        entries = store.interop_history()
        self.history = History([(e.chain_id, e.number, e.message_root) for e in entries])
        self.published = {e.root for e in entries}  # every root destinations may import

    def step(self, chain_id: int) -> bool:
        if chain_id == self.l1:
            return self.read_l1() | self.settle()
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
        self._record(
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
            )
        )
        return True

    def read_l1(self) -> bool:
        """Record the next sealed L1 block as final (its messages enter the history), and the
        pending settlement as landed if this block imported its root; True if there was one."""
        assert self.l1 is not None
        number = self.store.verified_head(self.l1) + 1
        block = self.store.block(self.l1, number)
        if block is None:
            return False
        row = VerificationRow(
            self.l1, number, "final", block.state_root, block.message_root, 0.0, 0, "", time.time()
        )
        self._record(row)
        pending = self.store.settlements(1)
        if pending and lands(pending[0], block.interop_root):
            self.store.settlement_landed(pending[0].batch, number, time.time())
            log.info("settlement batch %d landed in L1 block %d", pending[0].batch, number)
        return True

    def settle(self) -> bool:
        """Settle a batch to the L1 if one is due (settlement.py); True if one was made."""
        if self.on_settle is None:
            return False
        found = self.store.settlements(1)
        last = found[0] if found else None
        if last is not None and last.l1_block is None and last.batch != self.offered_batch:
            self.offered_batch = last.batch  # made before a restart: hand it to the L1 again
            self.on_settle(last.root)
        now = time.time()
        if not due(last, now, self.settle_interval_s):
            return False
        latest = self.store.latest_interop()
        root, count = (EMPTY_ROOT, 0) if latest is None else (latest.root, latest.index + 1)
        batch = next_batch(last, self._heads(), root, count, now)
        if batch is None:
            return False
        self.store.put_settlement(batch)
        self.offered_batch = batch.batch
        self.on_settle(batch.root)
        return True

    def _heads(self) -> tuple[SettledHead, ...]:
        """Every L2's verified head with its root (the next block's pre-state root)."""
        heads = []
        for chain_id in self.l2s:
            number = self.store.verified_head(chain_id)
            heads.append(SettledHead(chain_id, number, self._pre_root(chain_id, number + 1)))
        return tuple(heads)

    def _record(self, row: VerificationRow) -> None:
        """Store a verdict; a verified (or final) block that sent messages joins the history in
        the same transaction, and its new interop root is published."""
        entry = None
        if row.status != "rejected" and row.message_root != ZERO:  # the block sent messages
            history = self.history.copy()
            root = history.append(row.chain_id, row.number, row.message_root)
            entry = InteropEntry(
                len(history.entries) - 1, row.chain_id, row.number, row.message_root, root,
                time.time(),
            )  # fmt: skip
        self.store.put_verification(row, entry)
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

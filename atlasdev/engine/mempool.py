"""The sequencer's transaction pool: FIFO by arrival, nonce-ordered per sender.

RPC threads call :meth:`Mempool.add`; the sequencer thread calls :meth:`Mempool.take` for
each block and :meth:`Mempool.remove` after sealing it. One lock guards everything; every
operation is short, so contention stays low.

Ordering is first-come-first-served (a devnet has no fee market to respect), except that a
sender's transactions must run in nonce order. A transaction whose predecessor arrived later
therefore goes out right after that predecessor.

``take`` must stay cheap with tens of thousands of pending transactions, so it does not scan
every sender. Instead the pool keeps one arrival-ordered FIFO of ``(seq, sender, nonce)``
entries and walks it from the front, skipping entries made stale by removal; the stale ones
are dropped lazily (at the front) or by an occasional rebuild, for an amortized O(1) cost.
Replacing a transaction reuses its slot and sequence number, so it keeps its place.

Error messages follow geth's wording, since clients (and their tests) match on them.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable

from atlasdev.engine.transactions import SignedTransaction

__all__ = ["Mempool", "MempoolError"]

NextNonce = Callable[[bytes], int]
"""The sender's nonce in the latest sealed state (must not call back into the pool)."""

# Rebuild the FIFO once it holds this many stale entries and more stale than live ones.
_MIN_STALE_FOR_REBUILD = 1024


class MempoolError(ValueError):
    """A rejected submission; the one-line message goes to the client verbatim."""

    code = -32000  # JSON-RPC "server error", what geth returns for pool rejections


class Mempool:
    """Thread-safe pool of signed transactions, allowing nonce gaps (queued) like geth/anvil."""

    def __init__(
        self, max_per_sender: int = 1024, max_total: int = 100_000, price_bump_percent: int = 10
    ) -> None:
        if max_per_sender < 1 or max_total < 1 or price_bump_percent < 0:
            raise ValueError("mempool limits must be positive and the price bump non-negative")
        self.max_per_sender = max_per_sender
        self.max_total = max_total
        self.price_bump_percent = price_bump_percent
        self._lock = threading.Lock()
        # sender -> nonce -> (arrival seq, tx); the seq identifies the live FIFO entry.
        self._senders: dict[bytes, dict[int, tuple[int, SignedTransaction]]] = {}
        self._by_hash: dict[bytes, SignedTransaction] = {}
        self._fifo: deque[tuple[int, bytes, int]] = deque()
        self._stale = 0  # FIFO entries whose slot is gone
        self._next_seq = 0
        # Last account nonce seen per sender; only for the counts when no callable is given.
        self._nonce_hint: dict[bytes, int] = {}

    # ----------------------------------------------------------------------------------------
    # Admission
    # ----------------------------------------------------------------------------------------

    def add(self, tx: SignedTransaction, account_nonce: int) -> None:
        """Admit ``tx``; ``account_nonce`` is the sender's nonce in the latest sealed state.

        Raises :class:`MempoolError` for a duplicate, a stale nonce, an underpriced
        replacement or a full pool. Balance and chain id checks are the caller's job.
        """
        sender, nonce = tx.sender, tx.nonce
        with self._lock:
            if tx.hash in self._by_hash:
                raise MempoolError("already known")
            if nonce < account_nonce:
                raise MempoolError(f"nonce too low: next nonce {account_nonce}, tx nonce {nonce}")
            slots = self._senders.get(sender)
            old = slots.get(nonce) if slots is not None else None
            if old is not None:
                seq, old_tx = old
                if not self._outbids(tx, old_tx):
                    raise MempoolError("replacement transaction underpriced")
                del self._by_hash[old_tx.hash]
                self._by_hash[tx.hash] = tx
                slots[nonce] = (seq, tx)  # same seq: keeps the old one's FIFO place
                self._nonce_hint[sender] = account_nonce
                return
            if len(self._by_hash) >= self.max_total:
                raise MempoolError("txpool is full")
            if slots is None:
                slots = self._senders[sender] = {}
            elif len(slots) >= self.max_per_sender:
                raise MempoolError("account txpool limit reached")
            seq = self._next_seq
            self._next_seq = seq + 1
            slots[nonce] = (seq, tx)
            self._by_hash[tx.hash] = tx
            self._fifo.append((seq, sender, nonce))
            self._nonce_hint[sender] = account_nonce

    def _outbids(self, new: SignedTransaction, old: SignedTransaction) -> bool:
        """Geth's rule: both fee caps strictly higher and at least ``old * (100+bump) / 100``.

        The threshold is floored like geth's integer arithmetic; "strictly higher" makes a
        zero-fee transaction replaceable only by a paying one.
        """
        factor = 100 + self.price_bump_percent
        return (
            new.max_fee_per_gas > old.max_fee_per_gas
            and new.max_priority_fee_per_gas > old.max_priority_fee_per_gas
            and new.max_fee_per_gas >= old.max_fee_per_gas * factor // 100
            and new.max_priority_fee_per_gas >= old.max_priority_fee_per_gas * factor // 100
        )

    # ----------------------------------------------------------------------------------------
    # Sequencer side
    # ----------------------------------------------------------------------------------------

    def take(self, max_count: int, next_nonce: NextNonce) -> list[SignedTransaction]:
        """The next block's batch: executable transactions in arrival order, not removed.

        Executable means part of a run of consecutive nonces starting at
        ``next_nonce(sender)``. Costs O(entries walked), which is the batch plus entries
        skipped on the way (queued ones ahead of it); ``next_nonce`` is called once per sender
        met.
        """
        out: list[SignedTransaction] = []
        if max_count <= 0:
            return out
        append = out.append
        with self._lock:
            self._trim_front()
            senders = self._senders
            hints = self._nonce_hint
            cursors: dict[bytes, int] = {}  # next nonce to emit, per sender met
            count = 0
            for seq, sender, nonce in self._fifo:
                slots = senders.get(sender)
                if slots is None:
                    continue  # stale entry of a sender with nothing left
                cursor = cursors.get(sender)
                if cursor is None:
                    cursor = cursors[sender] = hints[sender] = next_nonce(sender)
                # Below the cursor: already emitted, or stale. Above it: a gap, or the
                # predecessor arrived later and will pull this one along when emitted.
                if nonce != cursor:
                    continue
                slot = slots.get(nonce)
                if slot is None or slot[0] != seq:
                    continue  # stale: removed (and perhaps re-added later in the FIFO)
                append(slot[1])
                count += 1
                cursor += 1
                # Successors that arrived earlier were skipped while waiting for this one.
                while count < max_count:
                    slot = slots.get(cursor)
                    if slot is None or slot[0] > seq:
                        break
                    append(slot[1])
                    count += 1
                    cursor += 1
                cursors[sender] = cursor
                if count >= max_count:
                    break
        return out

    def remove(self, txs: Iterable[SignedTransaction]) -> None:
        """Forget ``txs`` (sealed, or permanently invalid); unknown ones are ignored."""
        with self._lock:
            hints = self._nonce_hint
            for tx in txs:
                if self._discard(tx.hash) is not None and hints.get(tx.sender) == tx.nonce:
                    hints[tx.sender] = tx.nonce + 1  # most likely included: nonce advanced
            self._maybe_rebuild()

    def drop_stale(self, next_nonce: NextNonce) -> list[SignedTransaction]:
        """Remove and return transactions below their sender's account nonce.

        Needed when nonces move outside the normal seal path (e.g. a set-nonce cheat or a state
        reset); it walks every sender, so call it on such events, not per block.
        """
        dropped: list[SignedTransaction] = []
        with self._lock:
            for sender in list(self._senders):
                account_nonce = self._nonce_hint[sender] = next_nonce(sender)
                slots = self._senders[sender]
                for nonce in sorted(n for n in slots if n < account_nonce):
                    tx = slots[nonce][1]
                    self._discard(tx.hash)
                    dropped.append(tx)
            self._maybe_rebuild()
        return dropped

    def _discard(self, tx_hash: bytes) -> SignedTransaction | None:
        """Drop one transaction by hash (lock held); its FIFO entry becomes stale."""
        tx = self._by_hash.pop(tx_hash, None)
        if tx is None:
            return None
        slots = self._senders[tx.sender]
        del slots[tx.nonce]
        if not slots:
            del self._senders[tx.sender]
            self._nonce_hint.pop(tx.sender, None)
        self._stale += 1
        return tx

    def _is_live(self, entry: tuple[int, bytes, int]) -> bool:
        seq, sender, nonce = entry
        slots = self._senders.get(sender)
        if slots is None:
            return False
        slot = slots.get(nonce)
        return slot is not None and slot[0] == seq

    def _trim_front(self) -> None:
        """Pop stale entries at the FIFO's head so later walks skip them for good."""
        fifo = self._fifo
        while fifo and not self._is_live(fifo[0]):
            fifo.popleft()
            self._stale -= 1

    def _maybe_rebuild(self) -> None:
        """Drop stale entries everywhere once they dominate (amortized O(1) per removal)."""
        self._trim_front()
        if self._stale >= _MIN_STALE_FOR_REBUILD and self._stale * 2 > len(self._fifo):
            self._fifo = deque(e for e in self._fifo if self._is_live(e))
            self._stale = 0

    # ----------------------------------------------------------------------------------------
    # Queries
    # ----------------------------------------------------------------------------------------

    def get(self, tx_hash: bytes) -> SignedTransaction | None:
        """The pooled transaction with this hash (replaced or removed ones are gone)."""
        with self._lock:
            return self._by_hash.get(tx_hash)

    def __len__(self) -> int:
        with self._lock:
            return len(self._by_hash)

    def __contains__(self, tx_hash: object) -> bool:
        with self._lock:
            return tx_hash in self._by_hash

    def content(self) -> dict[bytes, list[SignedTransaction]]:
        """Every transaction, per sender in nonce order (for ``txpool_content``)."""
        with self._lock:
            return {
                sender: [slots[n][1] for n in sorted(slots)]
                for sender, slots in self._senders.items()
            }

    def next_pending_nonce(self, sender: bytes, account_nonce: int) -> int:
        """Nonce after the sender's executable run, for ``eth_getTransactionCount("pending")``."""
        with self._lock:
            slots = self._senders.get(sender)
            nonce = account_nonce
            if slots:
                while nonce in slots:
                    nonce += 1
            return nonce

    def pending_count(self, next_nonce: NextNonce | None = None) -> int:
        """Executable transactions (see :meth:`take`).

        Without ``next_nonce`` it uses the last account nonce the pool saw per sender, which
        is exact right after ``take``/``drop_stale`` and a close estimate otherwise.
        """
        with self._lock:
            return self._pending_locked(next_nonce)

    def queued_count(self, next_nonce: NextNonce | None = None) -> int:
        """Transactions held back by a nonce gap (or stale); same estimate as pending_count."""
        with self._lock:
            return len(self._by_hash) - self._pending_locked(next_nonce)

    def _pending_locked(self, next_nonce: NextNonce | None) -> int:
        total = 0
        for sender, slots in self._senders.items():
            nonce = next_nonce(sender) if next_nonce is not None else self._nonce_hint[sender]
            start = nonce
            while nonce in slots:
                nonce += 1
            total += nonce - start
        return total

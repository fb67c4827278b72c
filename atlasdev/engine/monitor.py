"""The dashboard's one narrow read interface to the node: plain frozen records, no chain logic.

The TUI calls these methods from worker threads and renders what they return; it never touches
a Chain, the store or the STF directly. Each method is a short read (a lock held for a moment, or
a SQLite query on the caller's own connection), so a refresh never stalls the sequencer. Parts of
the network that later issues add (prover, gateway, message delivery) answer None here, which the
dashboard shows as "not running".
"""

import logging
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any

from .accounts import dev_accounts
from .chain import Chain
from .store import BlockRow, ProofRow, TxRow
from .zkos.system import REASON_TEXT

TPS_WINDOW_S = 10.0
SERIES_POINTS = 120


@dataclass(frozen=True)
class ChainSummary:
    name: str
    chain_id: int
    private: bool
    rpc_url: str
    block_time_ms: int
    height: int
    tps: float  # sealed transactions per second over the last TPS_WINDOW_S
    latency_ms: float | None  # median inclusion latency of recent transactions
    mempool: int
    verified_height: int | None  # None: no prover or gateway running yet
    prover_backend: str | None
    proof_queue: int | None
    l1: bool = False  # the model L1: final when sealed, never proven; the gateway settles to it


@dataclass(frozen=True)
class BlockSummary:
    chain_id: int
    number: int
    hash: bytes
    timestamp: int
    tx_count: int
    gas_used: int
    state_root: bytes
    proof_status: str  # "not proven" without a prover; else queued, proving, proven, failed;
    # "L1" for the L1's blocks (final when sealed, never proven)


@dataclass(frozen=True)
class TxSummary:
    chain_id: int
    hash: bytes
    block_number: int
    index: int
    sender: bytes
    to: bytes | None
    value: int
    nonce: int
    status: int
    reason: str
    gas_used: int
    gas_price: int
    data: bytes
    message_hash: bytes | None


@dataclass(frozen=True)
class LogEntry:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class BlockDetail:
    block: BlockSummary
    parent_hash: bytes
    tx_commitment: bytes
    message_root: bytes
    interop_root: bytes
    base_fee: int
    txs: tuple[TxSummary, ...]


@dataclass(frozen=True)
class TxDetail:
    tx: TxSummary
    max_fee: int
    priority_fee: int
    gas_limit: int
    tx_type: int
    logs: tuple[LogEntry, ...]


@dataclass(frozen=True)
class AccountRow:
    index: int
    address: bytes
    private_key: bytes
    balances: tuple[tuple[str, int], ...]  # (chain name, wei) per chain


@dataclass(frozen=True)
class MessageSummary:
    src_chain: int
    dst_chain: int
    nonce: int
    hash: bytes
    sender: bytes
    to: bytes
    value: int
    block_number: int
    stage: str  # sealed, proven (its block), verified (by the gateway), imported, executed
    sealed_at: float


@dataclass(frozen=True)
class SearchHit:
    kind: str  # "block", "tx" or "address"
    chain_id: int
    block_number: int | None = None
    tx_hash: bytes | None = None
    address: bytes | None = None


@dataclass(frozen=True)
class LogLine:
    created: float
    level: str
    logger: str
    message: str


@dataclass(frozen=True)
class NetworkSummary:
    name: str
    data_dir: str


@dataclass(frozen=True)
class AddressBalance:
    chain_id: int
    chain: str
    balance: int  # wei
    nonce: int


@dataclass(frozen=True)
class AddressSummary:
    address: bytes
    dev_index: int | None  # the dev account's index when the address is one
    balances: tuple[AddressBalance, ...]


@dataclass(frozen=True)
class GatewaySummary:
    """What the gateway reports; `Monitor.gateway()` answers None when it is not running."""

    verified_proofs: int
    interop_root: bytes | None  # None until a verified block has sent a message
    last_settlement_block: int | None
    last_settlement_at: float | None


@dataclass(frozen=True)
class ProofSummary:
    """One block's proof job as the prover (issue 5) will report it."""

    chain_id: int
    block_number: int
    stage: str  # "queued", "proving", "proven", "verified" or "failed"
    backend: str  # "gpu" or "cpu"
    cycles: int | None
    trace_rows: int | None
    prove_ms: float | None
    size_bytes: int | None
    verify_ms: float | None


@dataclass(frozen=True)
class ProofPipeline:
    backend: str
    jobs: tuple[ProofSummary, ...]  # recent jobs, newest first
    proofs_per_s: float  # proving throughput now


class _LogBuffer(logging.Handler):
    """The node's log, kept in memory for the dashboard's log view."""

    def __init__(self, size: int = 2000) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[LogLine] = deque(maxlen=size)
        self.count = 0  # lines ever appended, so a reader can ask for "what is new"

    def emit(self, record: logging.LogRecord) -> None:
        try:  # Handler.handle holds self.lock around emit
            self.lines.append(
                LogLine(record.created, record.levelname, record.name, record.getMessage())
            )
            self.count += 1
        except Exception:  # a logging handler must never raise
            self.handleError(record)

    def since(self, seen: int) -> tuple[int, list[LogLine]]:
        """(count now, the lines appended after the first ``seen`` that are still kept)."""
        with self.lock:  # type: ignore[union-attr]  # createLock() set it in __init__
            count, lines = self.count, list(self.lines)
        new = count - seen
        return count, (lines[-new:] if new > 0 else [])


class Monitor:
    """Read-only view of a running node for the dashboard (and anything else that watches)."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self._lock = threading.Lock()
        self._sealed: dict[int, deque[tuple[float, int]]] = {}  # chain -> (when, tx count)
        self._tps_series: dict[int, deque[float]] = {}
        self._latency_series: dict[int, deque[float]] = {}
        self.log_buffer = _LogBuffer()
        root = logging.getLogger("atlasdev")
        root.addHandler(self.log_buffer)
        if root.getEffectiveLevel() > logging.INFO:
            root.setLevel(logging.INFO)
        for chain in node.chains.values():
            self._sealed[chain.chain_id] = deque(maxlen=4096)
            self._tps_series[chain.chain_id] = deque(maxlen=SERIES_POINTS)
            self._latency_series[chain.chain_id] = deque(maxlen=SERIES_POINTS)
            chain.listeners.append(self._on_block(chain))

    def close(self) -> None:
        logging.getLogger("atlasdev").removeHandler(self.log_buffer)

    def _on_block(self, chain: Chain):
        def record(block: BlockRow, txs: list[TxRow]) -> None:
            now = time.monotonic()
            with self._lock:
                self._sealed[chain.chain_id].append((now, len(txs)))
            if txs:  # empty blocks every 250 ms would drown the log
                logging.getLogger("atlasdev.chain").info(
                    "%s sealed #%d: %d txs, gas %d",
                    chain.config.name,
                    block.number,
                    len(txs),
                    block.gas_used,
                )

        return record

    # ---- overview --------------------------------------------------------------------------------
    def _tps(self, chain_id: int) -> float:
        cutoff = time.monotonic() - TPS_WINDOW_S
        with self._lock:
            sealed = [n for t, n in self._sealed[chain_id] if t >= cutoff]
        return sum(sealed) / TPS_WINDOW_S

    def chains(self) -> list[ChainSummary]:
        out = []
        prover = getattr(self.node, "prover", None)
        for chain in self.node.chains.values():
            recent = list(chain.latencies)[-500:]
            proven = prover is not None and not chain.is_l1
            out.append(
                ChainSummary(
                    name=chain.config.name,
                    chain_id=chain.chain_id,
                    private=chain.config.private,
                    rpc_url=f"http://127.0.0.1:{chain.config.rpc_port}",
                    block_time_ms=chain.config.block_time_ms,
                    height=chain.head.number,
                    tps=self._tps(chain.chain_id),
                    latency_ms=1000 * statistics.median(recent) if recent else None,
                    mempool=len(chain.mempool),
                    verified_height=self._verified_height(chain.chain_id),
                    prover_backend=prover.backend if proven else None,
                    proof_queue=prover.queue_length(chain.chain_id, chain.head.number)
                    if proven
                    else None,
                    l1=chain.is_l1,
                )
            )
        return out

    def sample(self) -> None:
        """Append one point per chain to the TPS and latency series (the dashboard calls this
        about once a second)."""
        for summary in self.chains():
            self._tps_series[summary.chain_id].append(summary.tps)
            self._latency_series[summary.chain_id].append(summary.latency_ms or 0.0)

    def series(self, chain_id: int) -> tuple[list[float], list[float]]:
        """(TPS, inclusion latency ms) over time, oldest first."""
        return list(self._tps_series[chain_id]), list(self._latency_series[chain_id])

    def network(self) -> NetworkSummary:
        return NetworkSummary(self.node.profile.name, str(self.node.data_dir))

    def gateway(self) -> GatewaySummary | None:
        """The gateway's verified proofs; None when it is not running."""
        if getattr(self.node, "gateway", None) is None or self.node.store is None:
            return None
        latest = self.node.store.latest_interop()
        root = None if latest is None else latest.root
        landed = next((s for s in self.node.store.settlements(2) if s.l1_block is not None), None)
        return GatewaySummary(
            self.node.store.verified_count(),
            root,
            None if landed is None else landed.l1_block,
            None if landed is None else landed.landed_at,
        )

    def _job(self, r: ProofRow) -> ProofSummary:
        """A proof record with the gateway's verdict on it: a verified proof's stage is
        "verified", a rejected one's "failed"."""
        assert self.node.store is not None
        stage, verify_ms = r.status, None
        if r.status in ("proven", "empty"):
            verdict = self.node.store.verification(r.chain_id, r.number)
            if verdict is not None and verdict.proof_updated_at == r.updated_at:
                stage = "verified" if verdict.status == "verified" else "failed"
                verify_ms = float(verdict.verify_ms)
        return ProofSummary(
            r.chain_id,
            r.number,
            stage,
            r.backend,
            r.cycles or None,
            r.trace_rows or None,
            float(r.prove_ms) if r.prove_ms else None,
            r.size or None,
            verify_ms,
        )

    def _verified_height(self, chain_id: int) -> int | None:
        if getattr(self.node, "gateway", None) is None or self.node.store is None:
            return None
        return self.node.store.verified_head(chain_id)

    def proofs(self) -> ProofPipeline | None:
        """The prover's recent jobs; None when the node runs without a prover."""
        prover = getattr(self.node, "prover", None)
        if prover is None or self.node.store is None:
            return None
        rows = self.node.store.recent_proofs(50)
        jobs = tuple(self._job(r) for r in rows)
        done = [r for r in rows if r.status == "proven" and r.prove_ms]
        rate = len(done) / (sum(r.prove_ms for r in done) / 1000) if done else 0.0
        return ProofPipeline(prover.backend, jobs, rate)

    # ---- blocks and transactions -------------------------------------------------------------
    def _chain(self, chain_id: int) -> Chain:
        return self.node.chains[chain_id]

    @staticmethod
    def _block(row: BlockRow) -> BlockSummary:
        return BlockSummary(
            row.chain_id,
            row.number,
            row.hash,
            row.timestamp,
            row.tx_count,
            row.gas_used,
            row.state_root,
            "not proven",
        )

    @staticmethod
    def _tx(row: TxRow) -> TxSummary:
        return TxSummary(
            row.chain_id,
            row.hash,
            row.block_number,
            row.tx_index,
            row.sender,
            row.to,
            row.value,
            row.nonce,
            row.status,
            row.reason,
            row.gas_used,
            row.gas_price,
            row.data,
            row.message_hash,
        )

    def recent_blocks(self, chain_id: int, limit: int = 50) -> list[BlockSummary]:
        """The newest blocks, newest first."""
        chain = self._chain(chain_id)
        head = chain.head.number
        rows = chain.store.blocks(chain_id, max(0, head - limit + 1), head)
        return self._with_proofs([self._block(r) for r in reversed(rows)])

    def _with_proofs(self, blocks: list[BlockSummary]) -> list[BlockSummary]:
        """Fill in each block's proof status when a prover runs (one query for the range)."""
        if not blocks:
            return blocks
        chain_id = blocks[0].chain_id
        if self._chain(chain_id).is_l1:
            return [replace(b, proof_status="L1") for b in blocks]  # final when sealed
        if getattr(self.node, "prover", None) is None:
            return blocks
        numbers = [b.number for b in blocks]
        statuses = self._chain(chain_id).store.proof_statuses(chain_id, min(numbers), max(numbers))
        return [
            replace(b, proof_status=statuses.get(b.number, "queued" if b.number else "genesis"))
            for b in blocks
        ]

    def blocks_after(self, chain_id: int, number: int, limit: int = 100) -> list[BlockSummary]:
        """Blocks above ``number``, oldest first: at most the newest ``limit`` of them (a reader
        that fell further behind gets the newest and a gap)."""
        chain = self._chain(chain_id)
        head = chain.head.number
        first = max(number + 1, head - limit + 1, 0)
        if first > head:
            return []
        return self._with_proofs(
            [self._block(r) for r in chain.store.blocks(chain_id, first, head)]
        )

    def block(self, chain_id: int, number: int) -> BlockDetail | None:
        store = self._chain(chain_id).store
        row = store.block(chain_id, number)
        if row is None:
            return None
        txs = tuple(self._tx(t) for t in store.block_transactions(chain_id, number))
        return BlockDetail(
            self._block(row),
            row.parent_hash,
            row.tx_commitment,
            row.message_root,
            row.interop_root,
            row.base_fee,
            txs,
        )

    def tx(self, chain_id: int, tx_hash: bytes) -> TxDetail | None:
        store = self._chain(chain_id).store
        row = store.tx(chain_id, tx_hash)
        if row is None:
            return None
        logs = store.logs(chain_id, row.block_number, row.block_number, tx_hash=tx_hash)
        return TxDetail(
            self._tx(row),
            row.max_fee,
            row.priority_fee,
            row.gas_limit,
            row.tx_type,
            tuple(LogEntry(lg.address, lg.topics, lg.data) for lg in logs),
        )

    def search(self, text: str) -> list[SearchHit]:
        """Find a block number, block hash, transaction hash or address on any chain."""
        text = text.strip().lower()
        hits: list[SearchHit] = []
        if text.isdigit():
            n = int(text)
            return [
                SearchHit("block", c.chain_id, block_number=n)
                for c in self.node.chains.values()
                if n <= c.head.number
            ]
        raw = text[2:] if text.startswith("0x") else text
        try:
            value = bytes.fromhex(raw)
        except ValueError:
            return []
        for chain in self.node.chains.values():
            if len(value) == 32:
                row = chain.store.tx(chain.chain_id, value)
                if row is not None:
                    hits.append(SearchHit("tx", chain.chain_id, row.block_number, value))
                blk = chain.store.block_by_hash(chain.chain_id, value)
                if blk is not None:
                    hits.append(SearchHit("block", chain.chain_id, blk.number))
            elif len(value) == 20:
                hits.append(SearchHit("address", chain.chain_id, address=value))
        return hits

    # ---- accounts, messages, log ---------------------------------------------------------------
    def accounts(self) -> list[AccountRow]:
        chains = list(self.node.chains.values())
        return [
            AccountRow(
                a.index,
                a.address,
                a.private_key,
                tuple((c.config.name, c.balance(a.address)) for c in chains),
            )
            for a in dev_accounts()
        ]

    def address(self, address: bytes) -> AddressSummary:
        """Balance and nonce of any address on every chain."""
        dev = next((a.index for a in dev_accounts() if a.address == address), None)
        balances = []
        for chain in self.node.chains.values():
            balance, nonce = chain.account(address)
            balances.append(AddressBalance(chain.chain_id, chain.config.name, balance, nonce))
        return AddressSummary(address, dev, tuple(balances))

    def messages(self, limit: int = 200) -> list[MessageSummary]:
        """Cross-chain messages sent on any chain, newest first."""
        out: list[MessageSummary] = []
        for chain in self.node.chains.values():
            verified = chain.store.verified_head(chain.chain_id)
            sent = chain.store.messages(chain.chain_id)
            numbers = [m.block_number for m in sent]
            proofs = (
                chain.store.proof_statuses(chain.chain_id, min(numbers), max(numbers))
                if numbers
                else {}
            )
            for m in sent:
                blk = chain.store.block(chain.chain_id, m.block_number)
                if m.block_number <= verified:
                    stage = "verified"
                elif proofs.get(m.block_number) == "proven":
                    stage = "proven"
                else:
                    stage = "sealed"
                out.append(
                    MessageSummary(
                        m.chain_id,
                        m.dst_chain,
                        m.nonce,
                        m.hash,
                        m.sender,
                        m.to,
                        m.value,
                        m.block_number,
                        stage,
                        blk.sealed_at if blk else 0.0,
                    )
                )
        out.sort(key=lambda m: m.sealed_at, reverse=True)
        return [self._delivery(m) for m in out[:limit]]

    def _delivery(self, m: MessageSummary) -> MessageSummary:
        """A verified message's later stages (imported on its destination, executed there)."""
        if m.stage != "verified" or self.node.store is None:
            return m
        from .gateway.messages import status

        return replace(m, stage=status(self.node.store, m.hash).stage)

    def log_lines(self, contains: str = "", limit: int = 500) -> list[LogLine]:
        needle = contains.lower()
        lines = [
            ln
            for ln in self.log_buffer.lines
            if not needle or needle in f"{ln.level} {ln.logger} {ln.message}".lower()
        ]
        return lines[-limit:]

    def log_since(
        self, seen: int, contains: str = "", limit: int = 500
    ) -> tuple[int, list[LogLine]]:
        """(a count to pass as ``seen`` next time, the new lines that contain ``contains``):
        lets a log view append instead of reloading."""
        count, lines = self.log_buffer.since(seen)
        needle = contains.lower()
        if needle:
            lines = [ln for ln in lines if needle in f"{ln.level} {ln.logger} {ln.message}".lower()]
        return count, lines[-limit:]

    @staticmethod
    def reason_text(reason: int) -> str:
        return REASON_TEXT.get(reason, "")

"""The network's SQLite file: blocks, transactions with their receipts, logs, messages and state.

One file per network (WAL mode). A sealed block is written by `write_block` in ONE database
transaction together with its transactions, receipts, logs, messages and state changes, so a crash
at any moment leaves either the whole block or none of it. The current state leaves are kept in
`leaves` (rebuilt into the in-memory tree on start); `state_changes` keeps every leaf version by
block for historical reads. sqlite-utils defines the schema; the hot write path uses executemany.
"""

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

SCHEMA_VERSION = 1
DB_NAME = "atlasdev.db"


@dataclass(frozen=True)
class BlockRow:
    chain_id: int
    number: int
    hash: bytes
    parent_hash: bytes
    timestamp: int
    state_root: bytes
    tx_commitment: bytes
    message_root: bytes
    interop_root: bytes
    base_fee: int
    gas_used: int
    tx_count: int
    tree_size: int
    sealed_at: float


@dataclass(frozen=True)
class TxRow:
    """A transaction as stored, with its receipt."""

    chain_id: int
    hash: bytes
    block_number: int
    tx_index: int
    sender: bytes
    to: bytes | None
    nonce: int
    value: int
    gas_limit: int
    max_fee: int
    priority_fee: int
    gas_price: int  # effective
    tx_type: int
    data: bytes
    raw: bytes
    status: int
    reason: str
    gas_used: int
    cumulative_gas_used: int
    message_hash: bytes | None


@dataclass(frozen=True)
class LogRow:
    chain_id: int
    block_number: int
    tx_index: int
    log_index: int
    tx_hash: bytes
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class MessageRow:
    chain_id: int
    block_number: int
    tx_hash: bytes
    nonce: int
    dst_chain: int
    sender: bytes
    to: bytes
    value: int
    data: bytes
    hash: bytes


@dataclass(frozen=True)
class ProofRow:
    chain_id: int
    number: int
    status: str  # queued | proving | proven | failed | empty (no transactions: nothing to prove)
    backend: str
    cycles: int
    trace_rows: int
    prove_ms: int
    size: int
    proof: bytes
    report: bytes  # the proof's public output words, u32 little-endian
    error: str
    updated_at: float


PROOF_STATUSES = ("queued", "proving", "proven", "failed", "empty")


@dataclass(frozen=True)
class VerificationRow:
    """The gateway's verdict on one block's proof record (the one last updated at
    ``proof_updated_at``): verified, with the roots the proof attests, or rejected, with why."""

    chain_id: int
    number: int
    status: str  # verified | rejected | final (an L1 block: final when sealed, no proof)
    post_root: bytes
    message_root: bytes
    proof_updated_at: float
    verify_ms: int
    reason: str
    verified_at: float


VERIFICATION_STATUSES = ("verified", "rejected", "final")


@dataclass(frozen=True)
class SettledHead:
    """One L2's verified head as a settlement batch records it."""

    chain_id: int
    number: int
    state_root: bytes


@dataclass(frozen=True)
class SettlementRow:
    """A batch the gateway settled to the L1: the interop root the L1 imports (withdrawals are
    proven against it) and every L2's verified head at that moment; ``l1_block`` is the L1 block
    that imported the root (None while the batch waits for it)."""

    batch: int
    root: bytes
    history_count: int
    heads: tuple[SettledHead, ...]
    created_at: float
    l1_block: int | None = None
    landed_at: float | None = None


@dataclass(frozen=True)
class InteropEntry:
    """One verified block that sent messages, in the gateway's history, with the interop root
    the history had once it was added."""

    index: int
    chain_id: int
    number: int
    message_root: bytes
    root: bytes
    created_at: float


class StoreError(RuntimeError):
    """The stored state is inconsistent (a gap in the leaves): the file was damaged."""


def _u256(value: int) -> str:
    """Big integers are stored as fixed-width hex text so they sort and never overflow."""
    return f"{value:064x}"


def _settlement(r: tuple) -> SettlementRow:  # type: ignore[type-arg]
    heads = []
    for item in filter(None, r[3].split(",")):
        chain, number, root = item.split(":")
        heads.append(SettledHead(int(chain), int(number), bytes.fromhex(root)))
    return SettlementRow(r[0], r[1], r[2], tuple(heads), r[4], r[5], r[6])


class Store:
    """Thread-safe access: one connection per thread, writes serialised by SQLite itself."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        self._local = threading.local()
        self._create_schema()

    # ---- connections ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    @contextmanager
    def atomic(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _create_schema(self) -> None:
        db = sqlite_utils.Database(self._conn())
        db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
        db["chains"].create(
            {"chain_id": int, "name": str, "private": int, "block_time_ms": int, "rpc_port": int},
            pk="chain_id",
            if_not_exists=True,
        )
        db["blocks"].create(
            {
                "chain_id": int,
                "number": int,
                "hash": bytes,
                "parent_hash": bytes,
                "timestamp": int,
                "state_root": bytes,
                "tx_commitment": bytes,
                "message_root": bytes,
                "interop_root": bytes,
                "base_fee": int,
                "gas_used": int,
                "tx_count": int,
                "tree_size": int,
                "sealed_at": float,
            },
            pk=("chain_id", "number"),
            if_not_exists=True,
        )
        db["transactions"].create(
            {
                "chain_id": int,
                "hash": bytes,
                "block_number": int,
                "tx_index": int,
                "sender": bytes,
                "to": bytes,
                "nonce": int,
                "value": str,
                "gas_limit": int,
                "max_fee": int,
                "priority_fee": int,
                "gas_price": int,
                "tx_type": int,
                "data": bytes,
                "raw": bytes,
                "status": int,
                "reason": str,
                "gas_used": int,
                "cumulative_gas_used": int,
                "message_hash": bytes,
            },
            pk=("chain_id", "hash"),
            if_not_exists=True,
        )
        db["logs"].create(
            {
                "chain_id": int,
                "block_number": int,
                "tx_index": int,
                "log_index": int,
                "tx_hash": bytes,
                "address": bytes,
                "topic0": bytes,
                "topic1": bytes,
                "topic2": bytes,
                "topic3": bytes,
                "data": bytes,
            },
            pk=("chain_id", "block_number", "log_index"),
            if_not_exists=True,
        )
        db["messages"].create(
            {
                "chain_id": int,
                "hash": bytes,
                "block_number": int,
                "tx_hash": bytes,
                "nonce": int,
                "dst_chain": int,
                "sender": bytes,
                "to": bytes,
                "value": str,
                "data": bytes,
            },
            pk=("chain_id", "hash"),
            if_not_exists=True,
        )
        db["leaves"].create(
            {"chain_id": int, "position": int, "data": bytes},
            pk=("chain_id", "position"),
            if_not_exists=True,
        )
        db["state_changes"].create(
            {"chain_id": int, "position": int, "block_number": int, "data": bytes},
            pk=("chain_id", "position", "block_number"),
            if_not_exists=True,
        )
        db["blocks"].create_index(["chain_id", "hash"], if_not_exists=True)
        db["transactions"].create_index(
            ["chain_id", "block_number", "tx_index"], if_not_exists=True
        )
        db["transactions"].create_index(["chain_id", "sender"], if_not_exists=True)
        db["logs"].create_index(["chain_id", "address", "block_number"], if_not_exists=True)
        db["messages"].create_index(["hash"], if_not_exists=True)  # relayers look up by hash
        db["proofs"].create(
            {
                "chain_id": int,
                "number": int,
                "status": str,
                "backend": str,
                "cycles": int,
                "trace_rows": int,
                "prove_ms": int,
                "size": int,
                "proof": bytes,
                "report": bytes,
                "error": str,
                "updated_at": float,
            },
            pk=("chain_id", "number"),
            if_not_exists=True,
        )
        db["verifications"].create(
            {
                "chain_id": int,
                "number": int,
                "status": str,
                "post_root": bytes,
                "message_root": bytes,
                "proof_updated_at": float,
                "verify_ms": int,
                "reason": str,
                "verified_at": float,
            },
            pk=("chain_id", "number"),
            if_not_exists=True,
        )
        db["interop_history"].create(
            {
                "idx": int,
                "chain_id": int,
                "number": int,
                "message_root": bytes,
                "root": bytes,
                "created_at": float,
            },
            pk="idx",
            if_not_exists=True,
        )
        db["settlements"].create(
            {
                "batch": int,
                "root": bytes,
                "history_count": int,
                "heads": str,  # chain:number:state root hex, comma separated
                "created_at": float,
                "l1_block": int,
                "landed_at": float,
            },
            pk="batch",
            if_not_exists=True,
        )
        db["access_tokens"].create(  # Prividium tokens created at run time (sha256 only)
            {"chain_id": int, "token_hash": bytes, "accounts": str, "created_at": float},
            pk=("chain_id", "token_hash"),
            if_not_exists=True,
        )
        db["meta"].insert({"key": "schema_version", "value": str(SCHEMA_VERSION)}, replace=True)

    # ---- meta and chains -----------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._conn().execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def l1_chain_id(self) -> int | None:
        """The network's L1 (the node records it at start); None in a file without one."""
        value = self.get_meta("l1_chain")
        return None if value is None else int(value)

    def register_chain(
        self, chain_id: int, name: str, private: bool, block_time_ms: int, rpc_port: int
    ) -> None:
        self._conn().execute(
            "INSERT OR REPLACE INTO chains VALUES (?, ?, ?, ?, ?)",
            (chain_id, name, int(private), block_time_ms, rpc_port),
        )

    # ---- Prividium access tokens (written by the RPC server) ------------------------------------
    def put_access_token(
        self, chain_id: int, token_hash: bytes, accounts: Sequence[bytes], created_at: float
    ) -> None:
        """Keep a run-time token of a private chain: its sha256 and its 20-byte accounts."""
        self._conn().execute(
            "INSERT OR REPLACE INTO access_tokens VALUES (?, ?, ?, ?)",
            (chain_id, token_hash, ",".join(a.hex() for a in accounts), created_at),
        )

    def access_tokens(self, chain_id: int) -> list[tuple[bytes, tuple[bytes, ...]]]:
        """The run-time tokens of a chain: (sha256 of the token, its accounts), oldest first."""
        cur = self._conn().execute(
            "SELECT token_hash, accounts FROM access_tokens WHERE chain_id=? ORDER BY created_at",
            (chain_id,),
        )
        return [
            (h, tuple(bytes.fromhex(a) for a in accounts.split(",") if a))
            for h, accounts in cur.fetchall()
        ]

    # ---- proofs (written by the prover worker) -------------------------------------------------
    def put_proof(self, row: ProofRow) -> None:
        """Insert or replace a block's proof record (one transaction)."""
        if row.status not in PROOF_STATUSES:
            raise StoreError(f"unknown proof status {row.status!r}")
        with self.atomic() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO proofs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.chain_id, row.number, row.status, row.backend, row.cycles,
                    row.trace_rows, row.prove_ms, row.size, row.proof, row.report, row.error,
                    row.updated_at,
                ),
            )  # fmt: skip

    def proof(self, chain_id: int, number: int) -> ProofRow | None:
        cur = self._conn().execute(
            "SELECT * FROM proofs WHERE chain_id=? AND number=?", (chain_id, number)
        )
        row = cur.fetchone()
        return ProofRow(*row) if row else None

    def last_settled_proof(self, chain_id: int) -> int:
        """The highest block number whose proof finished (proven or failed); 0 if none."""
        row = (
            self._conn()
            .execute(
                "SELECT MAX(number) FROM proofs WHERE chain_id=? "
                "AND status IN ('proven', 'failed', 'empty')",
                (chain_id,),
            )
            .fetchone()
        )
        return int(row[0] or 0)

    def recent_proofs(self, limit: int = 50) -> list[ProofRow]:
        """The most recently updated proof records of every chain, newest first (no bytes; empty
        blocks, which need no proof, left out)."""
        cur = self._conn().execute(
            "SELECT chain_id, number, status, backend, cycles, trace_rows, prove_ms, size, x'', "
            "x'', error, updated_at FROM proofs WHERE status != 'empty' "
            "ORDER BY updated_at DESC LIMIT ?",
            (limit,),
        )
        return [ProofRow(*row) for row in cur.fetchall()]

    def proof_statuses(self, chain_id: int, first: int, last: int) -> dict[int, str]:
        cur = self._conn().execute(
            "SELECT number, status FROM proofs WHERE chain_id=? AND number BETWEEN ? AND ?",
            (chain_id, first, last),
        )
        return dict(cur.fetchall())

    # ---- verifications (written by the gateway) ---------------------------------------------------
    def put_verification(self, row: VerificationRow, interop: InteropEntry | None = None) -> None:
        """Record a verdict and, for a verified block that sent messages, its history entry
        (one transaction: the entry exists exactly when the verdict does)."""
        if row.status not in VERIFICATION_STATUSES:
            raise StoreError(f"unknown verification status {row.status!r}")
        with self.atomic() as conn:
            if interop is not None:
                conn.execute(
                    "INSERT INTO interop_history VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        interop.index, interop.chain_id, interop.number, interop.message_root,
                        interop.root, interop.created_at,
                    ),
                )  # fmt: skip
            conn.execute(
                "INSERT OR REPLACE INTO verifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.chain_id, row.number, row.status, row.post_root, row.message_root,
                    row.proof_updated_at, row.verify_ms, row.reason, row.verified_at,
                ),
            )  # fmt: skip

    def verification(self, chain_id: int, number: int) -> VerificationRow | None:
        cur = self._conn().execute(
            "SELECT * FROM verifications WHERE chain_id=? AND number=?", (chain_id, number)
        )
        row = cur.fetchone()
        return VerificationRow(*row) if row else None

    def verified_head(self, chain_id: int) -> int:
        """The highest verified block (the gateway verifies in order, so all below it are
        verified too); 0 if none."""
        row = (
            self._conn()
            .execute(
                "SELECT MAX(number) FROM verifications WHERE chain_id=? "
                "AND status IN ('verified', 'final')",
                (chain_id,),
            )
            .fetchone()
        )
        return int(row[0] or 0)

    def interop_history(self) -> list[InteropEntry]:
        cur = self._conn().execute("SELECT * FROM interop_history ORDER BY idx")
        return [InteropEntry(*row) for row in cur.fetchall()]

    def latest_interop(self) -> InteropEntry | None:
        row = (
            self._conn()
            .execute("SELECT * FROM interop_history ORDER BY idx DESC LIMIT 1")
            .fetchone()
        )
        return InteropEntry(*row) if row else None

    # ---- settlements (written by the gateway) ----------------------------------------------------
    def put_settlement(self, row: SettlementRow) -> None:
        heads = ",".join(f"{h.chain_id}:{h.number}:{h.state_root.hex()}" for h in row.heads)
        self._conn().execute(
            "INSERT INTO settlements VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                row.batch, row.root, row.history_count, heads, row.created_at, row.l1_block,
                row.landed_at,
            ),
        )  # fmt: skip

    def settlement_landed(self, batch: int, l1_block: int, landed_at: float) -> None:
        self._conn().execute(
            "UPDATE settlements SET l1_block=?, landed_at=? WHERE batch=?",
            (l1_block, landed_at, batch),
        )

    def settlements(self, limit: int = 1) -> list[SettlementRow]:
        """The newest ``limit`` batches, newest first."""
        cur = self._conn().execute(
            "SELECT * FROM settlements ORDER BY batch DESC LIMIT ?", (limit,)
        )
        return [_settlement(r) for r in cur.fetchall()]

    def settlement(self, batch: int) -> SettlementRow | None:
        row = self._conn().execute("SELECT * FROM settlements WHERE batch=?", (batch,)).fetchone()
        return _settlement(row) if row else None

    def verified_count(self) -> int:
        row = (
            self._conn()
            .execute("SELECT COUNT(*) FROM verifications WHERE status='verified'")
            .fetchone()
        )
        return int(row[0])

    # ---- the write path ------------------------------------------------------------------------
    def write_block(
        self,
        block: BlockRow,
        txs: Sequence[TxRow],
        logs: Sequence[LogRow],
        messages: Sequence[MessageRow],
        leaves: Sequence[tuple[int, bytes]],
    ) -> None:
        """Persist a sealed block and everything it changed, atomically."""
        c = block.chain_id
        with self.atomic() as conn:
            conn.execute(
                "INSERT INTO blocks VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    c,
                    block.number,
                    block.hash,
                    block.parent_hash,
                    block.timestamp,
                    block.state_root,
                    block.tx_commitment,
                    block.message_root,
                    block.interop_root,
                    block.base_fee,
                    block.gas_used,
                    block.tx_count,
                    block.tree_size,
                    block.sealed_at,
                ),
            )
            conn.executemany(
                "INSERT INTO transactions VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        c,
                        t.hash,
                        t.block_number,
                        t.tx_index,
                        t.sender,
                        t.to,
                        t.nonce,
                        _u256(t.value),
                        t.gas_limit,
                        t.max_fee,
                        t.priority_fee,
                        t.gas_price,
                        t.tx_type,
                        t.data,
                        t.raw,
                        t.status,
                        t.reason,
                        t.gas_used,
                        t.cumulative_gas_used,
                        t.message_hash,
                    )
                    for t in txs
                ],
            )
            conn.executemany(
                "INSERT INTO logs VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        c,
                        lg.block_number,
                        lg.tx_index,
                        lg.log_index,
                        lg.tx_hash,
                        lg.address,
                        *(list(lg.topics) + [None] * (4 - len(lg.topics))),
                        lg.data,
                    )
                    for lg in logs
                ],
            )
            conn.executemany(
                "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        c,
                        m.hash,
                        m.block_number,
                        m.tx_hash,
                        m.nonce,
                        m.dst_chain,
                        m.sender,
                        m.to,
                        _u256(m.value),
                        m.data,
                    )
                    for m in messages
                ],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO leaves VALUES (?,?,?)",
                [(c, pos, data) for pos, data in leaves],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO state_changes VALUES (?,?,?,?)",
                [(c, pos, block.number, data) for pos, data in leaves],
            )

    def write_leaves(
        self,
        chain_id: int,
        block_number: int,
        leaves: Sequence[tuple[int, bytes]],
        meta: tuple[str, str],
    ) -> None:
        """State edits outside a block (dev methods such as anvil_setBalance), atomically, with
        a meta entry recording the resulting root so a restart accepts the edited state."""
        with self.atomic() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", meta)
            conn.executemany(
                "INSERT OR REPLACE INTO leaves VALUES (?,?,?)",
                [(chain_id, pos, data) for pos, data in leaves],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO state_changes VALUES (?,?,?,?)",
                [(chain_id, pos, block_number, data) for pos, data in leaves],
            )

    # ---- reads ---------------------------------------------------------------------------------
    def all_leaves(self, chain_id: int) -> list[bytes]:
        rows = (
            self._conn()
            .execute(
                "SELECT position, data FROM leaves WHERE chain_id=? ORDER BY position", (chain_id,)
            )
            .fetchall()
        )
        for i, (pos, _) in enumerate(rows):
            if pos != i:
                raise StoreError(f"chain {chain_id}: state leaves are not contiguous at {i}")
        return [data for _, data in rows]

    def leaf_at_block(self, chain_id: int, position: int, block_number: int) -> bytes | None:
        row = (
            self._conn()
            .execute(
                "SELECT data FROM state_changes WHERE chain_id=? AND position=? AND block_number<=? "
                "ORDER BY block_number DESC LIMIT 1",
                (chain_id, position, block_number),
            )
            .fetchone()
        )
        return row[0] if row else None

    def leaves_at_block(self, chain_id: int, block_number: int) -> list[bytes]:
        """Every leaf as it stood after `block_number` (and the dev edits made before the next)."""
        rows = (
            self._conn()
            .execute(
                "SELECT s.position, s.data FROM state_changes s WHERE s.chain_id=? AND "
                "s.block_number = (SELECT MAX(block_number) FROM state_changes t WHERE "
                "t.chain_id=s.chain_id AND t.position=s.position AND t.block_number<=?) "
                "ORDER BY s.position",
                (chain_id, block_number),
            )
            .fetchall()
        )
        for i, (pos, _) in enumerate(rows):
            if pos != i:
                raise StoreError(f"chain {chain_id}: leaves at block {block_number} have a gap")
        return [data for _, data in rows]

    def head(self, chain_id: int) -> BlockRow | None:
        row = (
            self._conn()
            .execute(
                "SELECT * FROM blocks WHERE chain_id=? ORDER BY number DESC LIMIT 1", (chain_id,)
            )
            .fetchone()
        )
        return BlockRow(*row) if row else None

    def block(self, chain_id: int, number: int) -> BlockRow | None:
        row = (
            self._conn()
            .execute("SELECT * FROM blocks WHERE chain_id=? AND number=?", (chain_id, number))
            .fetchone()
        )
        return BlockRow(*row) if row else None

    def block_by_hash(self, chain_id: int, block_hash: bytes) -> BlockRow | None:
        row = (
            self._conn()
            .execute("SELECT * FROM blocks WHERE chain_id=? AND hash=?", (chain_id, block_hash))
            .fetchone()
        )
        return BlockRow(*row) if row else None

    def blocks(self, chain_id: int, first: int, last: int) -> list[BlockRow]:
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM blocks WHERE chain_id=? AND number BETWEEN ? AND ? ORDER BY number",
                (chain_id, first, last),
            )
            .fetchall()
        )
        return [BlockRow(*r) for r in rows]

    @staticmethod
    def _tx(row: tuple) -> TxRow:
        r = list(row)
        r[7] = int(r[7], 16)
        return TxRow(*r)

    def tx(self, chain_id: int, tx_hash: bytes) -> TxRow | None:
        row = (
            self._conn()
            .execute("SELECT * FROM transactions WHERE chain_id=? AND hash=?", (chain_id, tx_hash))
            .fetchone()
        )
        return self._tx(row) if row else None

    def block_transactions(self, chain_id: int, number: int) -> list[TxRow]:
        rows = (
            self._conn()
            .execute(
                "SELECT * FROM transactions WHERE chain_id=? AND block_number=? ORDER BY tx_index",
                (chain_id, number),
            )
            .fetchall()
        )
        return [self._tx(r) for r in rows]

    def logs(
        self,
        chain_id: int,
        first: int,
        last: int,
        addresses: Sequence[bytes] = (),
        tx_hash: bytes | None = None,
    ) -> list[LogRow]:
        sql = "SELECT * FROM logs WHERE chain_id=? AND block_number BETWEEN ? AND ?"
        args: list = [chain_id, first, last]
        if addresses:
            sql += f" AND address IN ({','.join('?' * len(addresses))})"
            args.extend(addresses)
        if tx_hash is not None:
            sql += " AND tx_hash=?"
            args.append(tx_hash)
        sql += " ORDER BY block_number, log_index"
        out = []
        for r in self._conn().execute(sql, args).fetchall():
            topics = tuple(t for t in r[6:10] if t is not None)
            out.append(LogRow(r[0], r[1], r[2], r[3], r[4], r[5], topics, r[10]))
        return out

    def log_with_topics(
        self, chain_id: int, address: bytes, topic0: bytes, topic3: bytes
    ) -> LogRow | None:
        """The first log of ``address`` on the chain with these first and fourth topics."""
        r = (
            self._conn()
            .execute(
                "SELECT * FROM logs WHERE chain_id=? AND address=? AND topic0=? AND topic3=? "
                "ORDER BY block_number, log_index LIMIT 1",
                (chain_id, address, topic0, topic3),
            )
            .fetchone()
        )
        if r is None:
            return None
        return LogRow(r[0], r[1], r[2], r[3], r[4], r[5], tuple(t for t in r[6:10] if t), r[10])

    def messages_to(self, dst_chain: int) -> list[MessageRow]:
        """Every message of the network for ``dst_chain``, oldest first."""
        return self._messages("dst_chain=? ORDER BY chain_id, nonce", (dst_chain,))

    def last_imported_root(self, chain_id: int) -> bytes | None:
        """The interop root the chain's latest importing block imported; None if none did."""
        row = (
            self._conn()
            .execute(
                "SELECT interop_root FROM blocks WHERE chain_id=? AND interop_root != ? "
                "ORDER BY number DESC LIMIT 1",
                (chain_id, bytes(32)),
            )
            .fetchone()
        )
        return bytes(row[0]) if row else None

    def _messages(self, where: str, args: tuple) -> list[MessageRow]:  # type: ignore[type-arg]
        rows = (
            self._conn()
            .execute(
                'SELECT chain_id, block_number, tx_hash, nonce, dst_chain, sender, "to", value, '
                f"data, hash FROM messages WHERE {where}",
                args,
            )
            .fetchall()
        )
        return [MessageRow(*r[:7], int(r[7], 16), r[8], r[9]) for r in rows]

    def message_by_hash(self, message_hash: bytes) -> MessageRow | None:
        found = self._messages("hash=?", (message_hash,))
        return found[0] if found else None

    def messages(self, chain_id: int, first: int = 0, last: int = 2**62) -> list[MessageRow]:
        return self._messages(
            "chain_id=? AND block_number BETWEEN ? AND ? ORDER BY nonce", (chain_id, first, last)
        )

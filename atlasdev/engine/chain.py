"""One chain (an L2, or the model L1): its state, mempool and sealed history, and the operations the node offers on it.

The sequencer thread calls `seal()`; RPC threads call `submit()` and the read methods. One lock
guards the in-memory state tree and the head; reads of sealed history go straight to SQLite.
Sealing order: take executable transactions from the mempool, execute them with zkOS, write the
block in one database transaction, then update the in-memory tree and head — so a crash between
steps loses nothing that a client was told is sealed.
"""

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from eth_hash.auto import keccak

from ..profiles import ChainConfig
from .accounts import DEV_BALANCE_WEI, dev_accounts
from .mempool import Mempool, MempoolError
from .store import BlockRow, LogRow, MessageRow, Store, TxRow
from .transactions import InvalidTransaction, SignedTransaction, decode_raw_transaction
from .zkos import keys
from .zkos.block import BlockHeader, BlockResult, TxInput, execute
from .zkos.system import GAS_TX, REASON_FIRST_FAILURE, REASON_TEXT, SEL_SEND_TOKEN
from .zkos.tree import StateTree
from .zkos.u256 import from_int, to_int

BASE_FEE_WEI = 1_000_000_000  # fixed 1 gwei: a devnet has no congestion to price
BLOCK_GAS_LIMIT = 1_000_000_000
MAX_TXS_PER_BLOCK = 20_000
GENESIS_TOKEN_WEI = 1_000_000 * 10**18  # stablecoin pre-minted to each dev account
CALL_GAS_LIMIT = 30_000_000
U64_MAX = 2**64 - 1


class ChainError(Exception):
    """An error a client caused; `code` is the JSON-RPC error code geth/anvil use for it."""

    def __init__(self, message: str, code: int = -32000, data: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.data = data


@dataclass(frozen=True)
class CallResult:
    status: int
    reason: str
    return_data: bytes
    gas_used: int


def block_hash(
    chain_id: int,
    number: int,
    parent: bytes,
    timestamp: int,
    state_root: bytes,
    tx_commitment: bytes,
    message_root: bytes,
    gas_used: int,
) -> bytes:
    """Keccak of the header fields: clients expect 32-byte keccak-looking block hashes."""
    return keccak(
        chain_id.to_bytes(8, "big")
        + number.to_bytes(8, "big")
        + parent
        + timestamp.to_bytes(8, "big")
        + state_root
        + tx_commitment
        + message_root
        + gas_used.to_bytes(8, "big")
    )


def intrinsic_gas(data: bytes) -> int:
    zeros = data.count(0)
    return GAS_TX + 4 * zeros + 16 * (len(data) - zeros)


def _account_value(balance: int, nonce: int) -> np.ndarray:
    v = np.zeros(16, dtype=np.uint32)
    v[:8] = from_int(balance)
    v[8] = nonce & 0xFFFFFFFF
    v[9] = nonce >> 32
    return v


def _uint_value(value: int) -> np.ndarray:
    v = np.zeros(16, dtype=np.uint32)
    v[:8] = from_int(value)
    return v


def tx_input(tx: SignedTransaction) -> TxInput:
    return TxInput(
        sender=tx.sender,
        to=tx.to,
        nonce=tx.nonce,
        value=tx.value,
        gas_limit=tx.gas_limit,
        max_fee=tx.max_fee_per_gas,
        priority_fee=tx.max_priority_fee_per_gas,
        data=tx.data,
    )


class Chain:
    def __init__(
        self,
        config: ChainConfig,
        store: Store,
        clock: Callable[[], float] = time.time,
        is_l1: bool = False,
    ) -> None:
        self.config = config
        self.chain_id = config.chain_id
        self.is_l1 = is_l1  # the settlement layer: final when sealed, never proven
        self.store = store
        self.clock = clock
        self.mempool = Mempool()
        self.lock = threading.RLock()
        self.arrivals: dict[bytes, float] = {}  # tx hash -> submit time, for inclusion latency
        self.latencies: deque[float] = deque(maxlen=10_000)  # recent inclusion latencies, s
        self.listeners: list[Callable[[BlockRow, list[TxRow]], None]] = []
        self.interop_offer: bytes | None = None  # an interop root to import in the next block
        store.register_chain(
            config.chain_id, config.name, config.private, config.block_time_ms, config.rpc_port
        )
        head = store.head(config.chain_id)
        if head is None:
            self.tree = StateTree()
            self.head = self._genesis()
        else:
            leaves = store.all_leaves(config.chain_id)
            self.tree = StateTree.from_leaves(np.frombuffer(b"".join(leaves), dtype="<u4"))
            self.head = head
            dev_edit = store.get_meta(self._dev_root_key)
            if self.tree.root() != head.state_root and dev_edit != self._dev_root_tag():
                raise RuntimeError(
                    f"chain {config.name}: stored state does not match block {head.number}'s root"
                )

    @property
    def _dev_root_key(self) -> str:
        return f"dev_state_root:{self.chain_id}"

    def _dev_root_tag(self) -> str:
        return f"{self.head.number}:{self.tree.root().hex()}"

    # ---- genesis -------------------------------------------------------------------------------
    def _genesis(self) -> BlockRow:
        changed: set[int] = set()
        accounts = dev_accounts()
        for acct in accounts:
            changed.update(
                self.tree.set_value(
                    keys.account_key(acct.address), _account_value(DEV_BALANCE_WEI, 0)
                )
            )
            changed.update(
                self.tree.set_value(
                    keys.token_balance_key(acct.address), _uint_value(GENESIS_TOKEN_WEI)
                )
            )
            changed.update(self.tree.set_value(keys.token_minter_key(acct.address), _uint_value(1)))
            changed.update(
                self.tree.set_value(keys.oracle_feeder_key(acct.address), _uint_value(1))
            )
        changed.update(
            self.tree.set_value(
                keys.TOKEN_SUPPLY_KEY, _uint_value(GENESIS_TOKEN_WEI * len(accounts))
            )
        )
        root = self.tree.root()
        timestamp = int(self.clock())
        zero = bytes(32)
        block = BlockRow(
            chain_id=self.chain_id,
            number=0,
            hash=block_hash(self.chain_id, 0, zero, timestamp, root, zero, zero, 0),
            parent_hash=zero,
            timestamp=timestamp,
            state_root=root,
            tx_commitment=zero,
            message_root=zero,
            interop_root=zero,
            base_fee=BASE_FEE_WEI,
            gas_used=0,
            tx_count=0,
            tree_size=self.tree.size,
            sealed_at=self.clock(),
        )
        leaves = [(p, self.tree.leaf_at(p).tobytes()) for p in range(self.tree.size)]
        self.store.write_block(block, [], [], [], leaves)
        return block

    # ---- state reads ---------------------------------------------------------------------------
    def _value(self, key: bytes, block: int | None) -> np.ndarray:
        with self.lock:
            if block is None or block >= self.head.number:
                return self.tree.value(key)
            pos = self.tree.index.get(key)
        if pos is None:
            return np.zeros(16, dtype=np.uint32)
        data = self.store.leaf_at_block(self.chain_id, pos, block)
        if data is None:
            return np.zeros(16, dtype=np.uint32)
        return np.frombuffer(data, dtype="<u4")[16:].astype(np.uint32)

    def account(self, address: bytes, block: int | None = None) -> tuple[int, int]:
        """(balance, nonce) in one state read."""
        v = self._value(keys.account_key(address), block)
        return to_int(v[:8]), int(v[8]) | int(v[9]) << 32

    def balance(self, address: bytes, block: int | None = None) -> int:
        return to_int(self._value(keys.account_key(address), block)[:8])

    def nonce(self, address: bytes, block: int | None = None) -> int:
        v = self._value(keys.account_key(address), block)
        return int(v[8]) | int(v[9]) << 32

    def pending_nonce(self, address: bytes) -> int:
        """Next nonce counting the mempool, as eth_getTransactionCount(..., "pending") answers."""
        nonce = self.nonce(address)
        for tx in self.mempool.content().get(address, []):
            if tx.nonce == nonce:
                nonce += 1
        return nonce

    # ---- admission -----------------------------------------------------------------------------
    def submit(self, raw: bytes) -> bytes:
        """Validate a raw signed transaction and queue it; returns its hash."""
        try:
            tx = decode_raw_transaction(raw)
        except InvalidTransaction as exc:
            raise ChainError(f"failed to decode transaction: {exc}", -32602) from None
        return self.admit(tx)

    def admit(self, tx: SignedTransaction) -> bytes:
        """Queue a decoded transaction after geth's admission checks; returns its hash."""
        balance, nonce = self.account(tx.sender)
        self.validate(tx, balance)
        try:
            self.mempool.add(tx, nonce)
        except MempoolError as exc:
            raise ChainError(str(exc)) from None
        self.arrivals[tx.hash] = self.clock()
        return tx.hash

    def validate(self, tx: SignedTransaction, balance: int) -> None:
        """The admission checks geth applies, with geth's messages."""
        if tx.chain_id is None:
            raise ChainError("only replay-protected (EIP-155) transactions allowed over RPC")
        if tx.chain_id != self.chain_id:
            raise ChainError(
                f"invalid chain id for signer: have {tx.chain_id} want {self.chain_id}"
            )
        if tx.to is None:
            raise ChainError(
                "contract creation is not supported: this chain runs zkOS system "
                "contracts, not the EVM"
            )
        if tx.max_fee_per_gas > U64_MAX or tx.max_priority_fee_per_gas > U64_MAX:
            raise ChainError("max fee per gas higher than 2^64-1")
        if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
            raise ChainError("max priority fee per gas higher than max fee per gas")
        if tx.gas_limit > BLOCK_GAS_LIMIT:
            raise ChainError("exceeds block gas limit")
        needed = intrinsic_gas(tx.data)
        if tx.gas_limit < needed:
            raise ChainError(f"intrinsic gas too low: gas {tx.gas_limit}, minimum needed {needed}")
        if tx.max_fee_per_gas < BASE_FEE_WEI:
            raise ChainError(
                f"max fee per gas less than block base fee: address 0x{tx.sender.hex()}, "
                f"maxFeePerGas: {tx.max_fee_per_gas}, baseFee: {BASE_FEE_WEI}"
            )
        have = balance
        want = tx.gas_limit * tx.max_fee_per_gas + tx.value
        if have < want:
            raise ChainError(
                f"insufficient funds for gas * price + value: address 0x{tx.sender.hex()} "
                f"have {have} want {want}"
            )

    # ---- interop -------------------------------------------------------------------------------
    def offer_interop_root(self, root: bytes, again: bool = False) -> None:
        """The gateway published ``root``: the next block imports it (the messenger records it in
        state, and the block's public values carry it), unless this chain imported it last and
        not ``again`` (a settlement batch lands on the L1 even when its root is not new; the
        import is idempotent)."""
        if again or self.store.last_imported_root(self.chain_id) != root:
            self.interop_offer = root

    # ---- sealing -------------------------------------------------------------------------------
    def seal(self) -> tuple[BlockRow, list[TxRow]]:
        """Seal the next block from the mempool's executable transactions (possibly none)."""
        with self.lock:
            batch = self.mempool.take(MAX_TXS_PER_BLOCK, self.nonce)
            parent = self.head
            offer = self.interop_offer
            header = BlockHeader(
                chain_id=self.chain_id,
                number=parent.number + 1,
                timestamp=max(int(self.clock()), parent.timestamp),
                base_fee=BASE_FEE_WEI,
                interop_root=offer or bytes(32),
            )
            result = execute(header, [tx_input(t) for t in batch], self.tree)
            invalid = [t for t, r in zip(batch, result.receipts, strict=True) if not r.included]
            if invalid:
                # rare (e.g. two spends of one balance): the sealed block holds only included txs
                batch = [t for t, r in zip(batch, result.receipts, strict=True) if r.included]
                result = execute(header, [tx_input(t) for t in batch], self.tree)
            block, txs, logs, messages = self._rows(header, parent, batch, result)
            leaves = [
                (int(p), result.changed_leaves[i].tobytes())
                for i, p in enumerate(result.changed_positions)
            ]
            self.store.write_block(block, txs, logs, messages, leaves)
            self.tree.apply(result.changed_positions, result.changed_leaves.reshape(-1))
            if self.tree.root() != block.state_root:
                raise RuntimeError(f"chain {self.config.name}: host tree diverged from zkOS root")
            self.head = block
            if offer is not None and self.interop_offer == offer:
                self.interop_offer = None  # imported (a newer offer waits for the next block)
            self.mempool.remove(batch + invalid)
            sealed = self.clock()
            for t in batch:
                arrived = self.arrivals.pop(t.hash, None)
                if arrived is not None:
                    self.latencies.append(sealed - arrived)
            for t in invalid:
                self.arrivals.pop(t.hash, None)
        for listener in self.listeners:
            listener(block, txs)
        return block, txs

    def _rows(
        self,
        header: BlockHeader,
        parent: BlockRow,
        batch: list[SignedTransaction],
        result: BlockResult,
    ) -> tuple[BlockRow, list[TxRow], list[LogRow], list[MessageRow]]:
        pv = result.public
        number = header.number
        bhash = block_hash(
            self.chain_id,
            number,
            parent.hash,
            header.timestamp,
            pv.post_root,
            pv.tx_commitment,
            pv.message_root,
            result.gas_used,
        )
        block = BlockRow(
            chain_id=self.chain_id,
            number=number,
            hash=bhash,
            parent_hash=parent.hash,
            timestamp=header.timestamp,
            state_root=pv.post_root,
            tx_commitment=pv.tx_commitment,
            message_root=pv.message_root,
            interop_root=pv.interop_root,
            base_fee=BASE_FEE_WEI,
            gas_used=result.gas_used,
            tx_count=len(batch),
            tree_size=result.tree_size,
            sealed_at=self.clock(),
        )
        txs: list[TxRow] = []
        logs: list[LogRow] = []
        messages: list[MessageRow] = []
        cumulative = 0
        for i, (tx, r) in enumerate(zip(batch, result.receipts, strict=True)):
            cumulative += r.gas_used
            txs.append(
                TxRow(
                    chain_id=self.chain_id,
                    hash=tx.hash,
                    block_number=number,
                    tx_index=i,
                    sender=tx.sender,
                    to=tx.to,
                    nonce=tx.nonce,
                    value=tx.value,
                    gas_limit=tx.gas_limit,
                    max_fee=tx.max_fee_per_gas,
                    priority_fee=tx.max_priority_fee_per_gas,
                    gas_price=tx.effective_gas_price(BASE_FEE_WEI),
                    tx_type=tx.tx_type,
                    data=tx.data,
                    raw=tx.raw,
                    status=r.status,
                    reason=REASON_TEXT.get(r.reason, f"reason {r.reason}")
                    if r.reason >= REASON_FIRST_FAILURE
                    else "",
                    gas_used=r.gas_used,
                    cumulative_gas_used=cumulative,
                    message_hash=r.message.hash if r.message else None,
                )
            )
            for lg in r.logs:
                logs.append(
                    LogRow(
                        self.chain_id, number, i, len(logs), tx.hash, lg.address, lg.topics, lg.data
                    )
                )
            if r.message is not None:
                m = r.message
                payload = _message_payload(tx.sender, tx.data)
                messages.append(
                    MessageRow(
                        self.chain_id,
                        number,
                        tx.hash,
                        m.nonce,
                        m.dst_chain,
                        m.sender,
                        m.to,
                        m.value,
                        payload,
                        m.hash,
                    )
                )
        return block, txs, logs, messages

    # ---- simulation and dev methods ------------------------------------------------------------
    def call(
        self,
        sender: bytes | None,
        to: bytes | None,
        data: bytes,
        value: int = 0,
        gas: int | None = None,
    ) -> CallResult:
        """Execute a call against the latest state without changing it (eth_call, estimateGas)."""
        with self.lock:
            header = BlockHeader(
                chain_id=self.chain_id,
                number=self.head.number + 1,
                timestamp=max(int(self.clock()), self.head.timestamp),
                base_fee=BASE_FEE_WEI,
                simulate=True,
            )
            tx = TxInput(
                sender=sender or bytes(20),
                to=to,
                nonce=0,
                value=value,
                gas_limit=gas if gas is not None else CALL_GAS_LIMIT,
                max_fee=0,
                priority_fee=0,
                data=data,
            )
            result = execute(header, [tx], self.tree)
        r = result.receipts[0]
        if not r.included:
            raise ChainError(REASON_TEXT.get(r.reason, "invalid transaction"))
        reason = REASON_TEXT.get(r.reason, "") if r.reason >= REASON_FIRST_FAILURE else ""
        return CallResult(r.status, reason, result.return_data, r.gas_used)

    def warm_up(self) -> None:
        """Run the STF once (a read-only call) so numba compiles or loads it now, not while a
        client's first request waits for the chain lock."""
        self.call(None, bytes(20), b"")

    def set_balance(self, address: bytes, wei: int) -> None:
        """anvil_setBalance: the account keeps its nonce."""
        key = keys.account_key(address)
        with self.lock:
            value = self.tree.value(key)
            value[:8] = from_int(wei)
            self.dev_edit({key: value})

    def dev_edit(self, values: dict[bytes, np.ndarray]) -> None:
        """Write state leaves directly, outside the STF (dev methods, benchmark funding).

        The edit is persisted atomically with a note of the resulting root, so a restart accepts
        a state that no block produced (see docs/decisions.md).
        """
        with self.lock:
            changed: set[int] = set()
            for key, value in values.items():
                changed.update(self.tree.set_value(key, value))
            self.store.write_leaves(
                self.chain_id,
                self.head.number,
                [(p, self.tree.leaf_at(p).tobytes()) for p in sorted(changed)],
                meta=(self._dev_root_key, self._dev_root_tag()),
            )

    def latency_of(self, tx_hash: bytes) -> float | None:
        t = self.arrivals.get(tx_hash)
        return None if t is None else self.clock() - t


def _message_payload(sender: bytes, calldata: bytes) -> bytes:
    """A message's payload: sendToken's is the burner and the amount (as the STF hashes it),
    sendMessage's its `bytes data` argument (the STF validated the encoding already)."""
    if int.from_bytes(calldata[:4], "big") == SEL_SEND_TOKEN:
        return sender + calldata[68:100]
    offset = int.from_bytes(calldata[68:100], "big")
    length = int.from_bytes(calldata[4 + offset : 36 + offset], "big")
    return calldata[36 + offset : 36 + offset + length]

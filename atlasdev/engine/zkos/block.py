"""Host side of a block execution: marshal a block into the STF's input, run it, read the output.

`execute()` is what the sequencer (sealing), the RPC (eth_call, estimateGas) and the tests call;
the RISC-V target will take the very same input array.
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from . import layout as Lo
from .blake2s import digest_to_bytes, pack_bytes
from .keys import interop_root_key, touched_keys
from .stf import execute_block
from .system import EMITTER_ADDRESSES, EVENT_DATA_BYTES, EVENT_TOPICS
from .tree import StateTree

U32 = np.uint32


class StfFault(RuntimeError):
    """The STF rejected the whole block (a host bug or a dishonest witness)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"zkOS rejected the block: {Lo.STATUS_TEXT.get(status, status)}")
        self.status = status


@dataclass(frozen=True)
class TxInput:
    """A decoded transaction as the STF executes it (signature already checked by the host)."""

    sender: bytes
    to: bytes | None
    nonce: int
    value: int
    gas_limit: int
    max_fee: int
    priority_fee: int
    data: bytes = b""


@dataclass(frozen=True)
class BlockHeader:
    chain_id: int
    number: int
    timestamp: int
    base_fee: int
    interop_root: bytes = bytes(32)
    simulate: bool = False


@dataclass(frozen=True)
class Log:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class Message:
    src_chain: int
    dst_chain: int
    nonce: int
    sender: bytes
    to: bytes
    value: int
    data_hash: bytes
    hash: bytes


@dataclass(frozen=True)
class Receipt:
    included: bool
    status: int
    reason: int
    gas_used: int
    logs: tuple[Log, ...]
    message: Message | None


@dataclass(frozen=True)
class PublicValues:
    """What a proof of this block attests (layout OUT_CHAIN_ID .. OUT_INTEROP_ROOT)."""

    chain_id: int
    number: int
    pre_root: bytes
    post_root: bytes
    tx_commitment: bytes
    message_root: bytes
    interop_root: bytes

    @classmethod
    def from_words(cls, out: np.ndarray) -> "PublicValues":
        def u64(i: int) -> int:
            return int(out[i]) | int(out[i + 1]) << 32

        def digest(i: int) -> bytes:
            return digest_to_bytes(out[i : i + 8])

        return cls(
            chain_id=u64(Lo.OUT_CHAIN_ID),
            number=u64(Lo.OUT_NUMBER),
            pre_root=digest(Lo.OUT_PRE_ROOT),
            post_root=digest(Lo.OUT_POST_ROOT),
            tx_commitment=digest(Lo.OUT_TX_COMMITMENT),
            message_root=digest(Lo.OUT_MESSAGE_ROOT),
            interop_root=digest(Lo.OUT_INTEROP_ROOT),
        )


@dataclass
class BlockResult:
    public: PublicValues
    receipts: list[Receipt]
    messages: list[Message]
    return_data: bytes
    gas_used: int
    tree_size: int
    changed_positions: np.ndarray = field(repr=False)
    changed_leaves: np.ndarray = field(repr=False)
    input_words: np.ndarray = field(repr=False)


def _u64(value: int) -> list[int]:
    return [value & 0xFFFFFFFF, value >> 32]


# A record's bytes are its words' little-endian bytes: addresses stay as raw bytes, integers are
# little-endian (so a u256 is its 8 limbs), matching layout.TX_* offsets.
_TX_STRUCT = struct.Struct("<20s20sIQ32sQQQII12x")
assert _TX_STRUCT.size == 4 * Lo.TX_WORDS


def _tx_record(tx: TxInput, data_start: int) -> bytes:
    return _TX_STRUCT.pack(
        tx.sender,
        tx.to or bytes(20),
        0 if tx.to is None else 1,
        tx.nonce,
        tx.value.to_bytes(32, "little"),
        tx.gas_limit,
        tx.max_fee,
        tx.priority_fee,
        data_start,
        len(tx.data),
    )


def build_input(
    header: BlockHeader, pre_root: bytes, tree_size: int, txs: Sequence[TxInput], witness
) -> np.ndarray:
    """The STF input region for a block (layout.IN_*)."""
    arena = b"".join(tx.data for tx in txs)
    records: list[bytes] = []
    start = 0
    for tx in txs:
        records.append(_tx_record(tx, start))
        start += len(tx.data)
    sections = [
        np.frombuffer(b"".join(records), dtype="<u4").astype(U32),
        pack_bytes(arena),
        witness.positions,
        witness.leaves,
        witness.absent_keys,
        witness.absent_low,
        witness.proof,
    ]
    head = np.zeros(Lo.IN_HEADER_WORDS, dtype=U32)
    offsets = []
    at = Lo.IN_HEADER_WORDS
    for s in sections:
        offsets.append(at)
        at += len(s)
    head[Lo.IN_VERSION] = Lo.LAYOUT_VERSION
    head[Lo.IN_CHAIN_ID : Lo.IN_CHAIN_ID + 2] = _u64(header.chain_id)
    head[Lo.IN_NUMBER : Lo.IN_NUMBER + 2] = _u64(header.number)
    head[Lo.IN_TIMESTAMP : Lo.IN_TIMESTAMP + 2] = _u64(header.timestamp)
    head[Lo.IN_BASE_FEE : Lo.IN_BASE_FEE + 2] = _u64(header.base_fee)
    head[Lo.IN_FLAGS] = Lo.FLAG_SIMULATE if header.simulate else 0
    head[Lo.IN_PRE_ROOT : Lo.IN_PRE_ROOT + 8] = np.frombuffer(pre_root, dtype="<u4")
    head[Lo.IN_TREE_SIZE] = tree_size
    head[Lo.IN_INTEROP_ROOT : Lo.IN_INTEROP_ROOT + 8] = np.frombuffer(header.interop_root, "<u4")
    head[Lo.IN_N_TXS] = len(txs)
    head[Lo.IN_TXS_OFF] = offsets[0]
    head[Lo.IN_DATA_OFF] = offsets[1]
    head[Lo.IN_DATA_BYTES] = len(arena)
    head[Lo.IN_N_EXIST] = len(witness.positions)
    head[Lo.IN_N_ABSENT] = len(witness.absent_low)
    head[Lo.IN_POS_OFF] = offsets[2]
    head[Lo.IN_LEAVES_OFF] = offsets[3]
    head[Lo.IN_ABSENT_OFF] = offsets[4]
    head[Lo.IN_LOW_OFF] = offsets[5]
    head[Lo.IN_N_PROOF] = len(witness.proof) // 8
    head[Lo.IN_PROOF_OFF] = offsets[6]
    return np.concatenate([head, *sections]).astype(U32)


def _parse_log(words: np.ndarray) -> Log:
    event = int(words[Lo.LOG_EVENT])
    n_topics = int(words[Lo.LOG_N_TOPICS])
    topics = [EVENT_TOPICS[event]]
    for t in range(n_topics):
        at = Lo.LOG_TOPICS + 8 * t
        topics.append(words[at : at + 8].astype("<u4").tobytes())
    data = words[Lo.LOG_DATA : Lo.LOG_DATA + 16].astype("<u4").tobytes()[: EVENT_DATA_BYTES[event]]
    return Log(EMITTER_ADDRESSES[int(words[Lo.LOG_EMITTER])], tuple(topics), data)


def _parse_message(w: np.ndarray) -> Message:
    def u64(i: int) -> int:
        return int(w[i]) | int(w[i + 1]) << 32

    return Message(
        src_chain=u64(Lo.MSG_SRC_CHAIN),
        dst_chain=u64(Lo.MSG_DST_CHAIN),
        nonce=u64(Lo.MSG_NONCE),
        sender=w[Lo.MSG_SENDER : Lo.MSG_SENDER + 5].astype("<u4").tobytes(),
        to=w[Lo.MSG_TO : Lo.MSG_TO + 5].astype("<u4").tobytes(),
        value=sum(int(x) << (32 * i) for i, x in enumerate(w[Lo.MSG_VALUE : Lo.MSG_VALUE + 8])),
        data_hash=digest_to_bytes(w[Lo.MSG_DATA_HASH : Lo.MSG_DATA_HASH + 8]),
        hash=digest_to_bytes(w[Lo.MSG_HASH : Lo.MSG_HASH + 8]),
    )


def execute(
    header: BlockHeader,
    txs: Sequence[TxInput],
    tree: StateTree,
    extra_keys: set[bytes] | None = None,
) -> BlockResult:
    """Run the STF over `txs` against `tree` (not modified); raise StfFault on a block fault."""
    keys: set[bytes] = set(extra_keys or ())
    if header.interop_root != bytes(32):
        keys.add(interop_root_key(header.interop_root))
    for tx in txs:
        keys |= touched_keys(tx.sender, tx.to, tx.data, header.chain_id)
    witness = tree.witness(keys)
    inp = build_input(header, tree.root(), tree.size, txs, witness)
    n_exist, n_absent = len(witness.positions), len(witness.absent_low)
    offs = Lo.work_offsets(n_exist, n_absent, len(txs))
    work = np.zeros(offs[-1], dtype=U32)
    out = np.zeros(Lo.out_offsets(len(txs))[-1], dtype=U32)
    status = execute_block(inp, work, out)
    if status != Lo.OK:
        raise StfFault(int(status))
    return _read_result(inp, work, out, offs, n_exist, n_absent, witness, len(txs))


def _read_result(inp, work, out, offs, n_exist, n_absent, witness, n_txs) -> BlockResult:
    receipts_off, logs_off, msgs_off, _ = Lo.out_offsets(n_txs)
    logs = [
        _parse_log(out[logs_off + i * Lo.LOG_WORDS : logs_off + (i + 1) * Lo.LOG_WORDS])
        for i in range(int(out[Lo.OUT_N_LOGS]))
    ]
    messages = [
        _parse_message(out[msgs_off + i * Lo.MSG_WORDS : msgs_off + (i + 1) * Lo.MSG_WORDS])
        for i in range(int(out[Lo.OUT_N_MSGS]))
    ]
    receipts = []
    table = out[receipts_off : receipts_off + n_txs * Lo.RECEIPT_WORDS]
    for r in table.reshape(n_txs, Lo.RECEIPT_WORDS).tolist():  # plain ints: fast to unpack
        start, count = r[Lo.RECEIPT_LOG_START], r[Lo.RECEIPT_N_LOGS]
        msg = r[Lo.RECEIPT_MSG]
        receipts.append(
            Receipt(
                included=r[Lo.RECEIPT_INCLUDED] == 1,
                status=r[Lo.RECEIPT_STATUS],
                reason=r[Lo.RECEIPT_REASON],
                gas_used=r[Lo.RECEIPT_GAS_USED] | r[Lo.RECEIPT_GAS_USED + 1] << 32,
                logs=tuple(logs[start : start + count]) if count else (),
                message=None if msg == Lo.NO_MESSAGE else messages[msg],
            )
        )
    rows_off, pos_off, state_off = offs[1], offs[2], offs[3]
    n_rows = n_exist + n_absent
    rows = work[rows_off : rows_off + n_rows * Lo.LEAF_WORDS].reshape(n_rows, Lo.LEAF_WORDS)
    states = work[state_off : state_off + n_rows]
    positions = work[pos_off : pos_off + n_rows]
    old = witness.leaves.reshape(-1, Lo.LEAF_WORDS)
    changed = np.zeros(n_rows, dtype=bool)
    if n_exist:
        changed[:n_exist] = (rows[:n_exist] != old).any(axis=1)
    changed[n_exist:] = states[n_exist:] == 2  # ROW_INSERTED
    ret_len = int(out[Lo.OUT_RET_LEN])
    return BlockResult(
        public=PublicValues.from_words(out),
        receipts=receipts,
        messages=messages,
        return_data=out[Lo.OUT_RET : Lo.OUT_RET + 32].astype("<u4").tobytes()[:ret_len],
        gas_used=int(out[Lo.OUT_GAS_USED]) | int(out[Lo.OUT_GAS_USED + 1]) << 32,
        tree_size=int(out[Lo.OUT_TREE_SIZE]),
        changed_positions=positions[changed].astype(np.int64),
        changed_leaves=rows[changed].copy(),
        input_words=inp,
    )

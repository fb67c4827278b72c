"""Cross-chain messages seen from the gateway: where each one is in its lifecycle, and the proof a
relayer hands to the destination.

A message's hash is what the source STF computed (zkos/messenger.py): Blake2s of its 128-byte
record, source chain, destination chain and nonce (u64 LE), sender and recipient (20 bytes
each), value (u256 LE) and the Blake2s of its payload; `message_hash` recomputes it, so anyone
can check a record against its hash. Once the gateway has verified the source block, the proof
is two Merkle paths of the STF's list-root shape (interop.py): the message hash up to its
block's message root (the block's messages in nonce order, as the STF emitted them), and the
block's entry up to the interop root.

Lifecycle stages: sealed (in a sealed source block), proven (the block's proof is stored),
verified (the gateway accepted that proof, or read the block as final for a deposit: a message
the L1 sent; the message is provable against the interop root),
imported (the destination imported a root whose history holds the message's block), executed
(a relay transaction on the destination ran it: its MessageExecuted log is there).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..store import LogRow, MessageRow, Store
from ..zkos.relay import Relay
from ..zkos.relay import message_hash as message_hash
from ..zkos.system import EVENT_MESSAGE_EXECUTED, EVENT_TOPICS, MESSENGER_ADDRESS
from . import interop

EXECUTED_TOPIC = EVENT_TOPICS[EVENT_MESSAGE_EXECUTED]


@dataclass(frozen=True)
class MessageProof:
    """Everything a destination needs to accept a message against ``history.root``."""

    index: int  # the message's position in its block's message list
    path: list[bytes]  # up to the block's message root
    message_root: bytes
    history: interop.HistoryProof

    def check(self, message: bytes) -> bool:
        """Whether the message hash ``message`` is under the interop root this proof names."""
        if interop.climb(message, self.index, self.path) != self.message_root:
            return False
        return self.history.message_root == self.message_root and self.history.check()


@dataclass(frozen=True)
class MessageStatus:
    message: MessageRow
    stage: str  # sealed | proven | verified | imported | executed
    proof: MessageProof | None  # once verified
    reason: str  # what the message waits for
    executed: LogRow | None = None  # its MessageExecuted log on the destination

    def relay(self) -> Relay | None:
        """The destination's `relayMessage` call for this message, once it has a proof."""
        if self.proof is None:
            return None
        m, p, h = self.message, self.proof, self.proof.history
        return Relay(
            m.chain_id, m.block_number, m.nonce, m.sender, m.to, m.value, m.data,
            p.message_root, p.index, p.path, h.index, h.count, h.path,
        )  # fmt: skip


class MessageNotFound(LookupError):
    """No chain of this network sent a message with that hash."""


def status(store: Store, message: bytes) -> MessageStatus:
    """Where the message with hash ``message`` is, with its proof once there is one (against
    the latest interop root)."""
    row = store.message_by_hash(message)
    if row is None:
        raise MessageNotFound(f"no message 0x{message.hex()} on any chain of this network")
    verdict = store.verification(row.chain_id, row.block_number)
    l1 = store.l1_chain_id()
    if verdict is None or verdict.status == "rejected":
        if row.chain_id == l1:  # final when read: no proof to wait for
            reason = f"the gateway has not read L1 block {row.block_number} yet"
            return MessageStatus(row, "sealed", None, reason)
        proof = store.proof_statuses(row.chain_id, row.block_number, row.block_number)
        proven = proof.get(row.block_number) == "proven"
        why = "the gateway has not verified" if proven else "the prover has not proven"
        reason = f"{why} block {row.block_number} yet"
        if verdict is not None and proven:
            reason = f"the gateway rejected block {row.block_number}'s proof: {verdict.reason}"
        return MessageStatus(row, "proven" if proven else "sealed", None, reason)
    siblings = store.messages(row.chain_id, row.block_number, row.block_number)
    hashes = [m.hash for m in siblings]
    if interop.list_root(hashes) != verdict.message_root:
        raise RuntimeError(
            f"the stored messages of chain {row.chain_id} block {row.block_number} do not give "
            "the message root its proof attests"
        )
    entries = store.interop_history()
    history = interop.History([(e.chain_id, e.number, e.message_root) for e in entries])
    at = history.index_of(row.chain_id, row.block_number)
    if at is None:
        raise RuntimeError(f"verified block {row.block_number} is missing from the interop history")
    index = hashes.index(row.hash)
    proof = MessageProof(
        index, interop.list_path(hashes, index), verdict.message_root, history.proof(at)
    )
    executed = store.log_with_topics(row.dst_chain, MESSENGER_ADDRESS, EXECUTED_TOPIC, row.hash)
    if executed is not None:
        return MessageStatus(row, "executed", proof, "", executed)
    imported = store.last_imported_root(row.dst_chain)
    covered = [e.index for e in entries if e.root == imported]
    if covered and covered[0] >= at:
        return MessageStatus(row, "imported", proof, "a relay transaction on the destination")
    waits = f"chain {row.dst_chain} has not imported an interop root with it yet"
    if row.dst_chain == l1:
        waits = "the gateway has not settled an interop root with it to the L1 yet"
    return MessageStatus(row, "verified", proof, waits)

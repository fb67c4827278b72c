"""Ethereum JSON-RPC methods of one chain, plus anvil/hardhat dev methods and atlasdev_network.

Parameters are parsed strictly (a malformed hex string is -32602 with the reason); results use
the shapes geth returns so that web3.py, ethers and cast work unchanged.
"""

import re
from collections.abc import Callable
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from ... import __version__
from ..accounts import dev_accounts
from ..chain import BASE_FEE_WEI, BLOCK_GAS_LIMIT, Chain, ChainError
from ..store import BlockRow, LogRow, TxRow
from ..transactions import decode_raw_transaction
from ..zkos.system import MESSENGER_ADDRESS, SYSTEM_ADDRESSES

HEX_RE = re.compile(r"^0x[0-9a-fA-F]*$")
EMPTY_UNCLES = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347"
ZERO32 = "0x" + "00" * 32
ZERO_BLOOM = "0x" + "00" * 256
LOG_RANGE_LIMIT = 10_000
DEFAULT_TIP_WEI = 1_000_000_000


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def invalid(message: str) -> RpcError:
    return RpcError(-32602, f"invalid params: {message}")


# ---- parameter parsing -------------------------------------------------------------------------
def quantity(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if not isinstance(value, str) or not HEX_RE.match(value) or value == "0x":
        raise invalid(f"{name} must be a hex quantity, got {value!r}")
    return int(value, 16)


def data_bytes(value: Any, name: str) -> bytes:
    if not isinstance(value, str) or not HEX_RE.match(value) or len(value) % 2:
        raise invalid(f"{name} must be 0x-prefixed hex bytes, got {str(value)[:80]!r}")
    return bytes.fromhex(value[2:])


def address(value: Any, name: str = "address") -> bytes:
    raw = data_bytes(value, name)
    if len(raw) != 20:
        raise invalid(f"{name} must be 20 bytes, got {len(raw)}")
    return raw


def hash32(value: Any, name: str) -> bytes:
    raw = data_bytes(value, name)
    if len(raw) != 32:
        raise invalid(f"{name} must be 32 bytes, got {len(raw)}")
    return raw


def hx(value: int) -> str:
    return hex(value)


def hb(value: bytes | None) -> str | None:
    return None if value is None else "0x" + value.hex()


def _checksum(value: bytes) -> str:
    return to_checksum_address(value)


class EthApi:
    """The JSON-RPC surface of one chain."""

    def __init__(self, chain: Chain, node: Any) -> None:
        self.chain = chain
        self.node = node
        self.methods: dict[str, Callable[..., Any]] = {
            "web3_clientVersion": lambda: f"atlasdev/v{__version__}/zkos",
            "web3_sha3": self.web3_sha3,
            "net_version": lambda: str(chain.chain_id),
            "net_listening": lambda: True,
            "net_peerCount": lambda: "0x0",
            "eth_chainId": lambda: hx(chain.chain_id),
            "eth_syncing": lambda: False,
            "eth_mining": lambda: True,
            "eth_coinbase": lambda: "0x" + "00" * 20,
            "eth_blockNumber": lambda: hx(chain.head.number),
            "eth_gasPrice": lambda: hx(BASE_FEE_WEI + DEFAULT_TIP_WEI),
            "eth_maxPriorityFeePerGas": lambda: hx(DEFAULT_TIP_WEI),
            "eth_blobBaseFee": lambda: "0x1",
            "eth_feeHistory": self.fee_history,
            "eth_accounts": lambda: [_checksum(a.address) for a in dev_accounts()],
            "eth_getBalance": self.get_balance,
            "eth_getTransactionCount": self.get_transaction_count,
            "eth_getCode": self.get_code,
            "eth_call": self.call,
            "eth_estimateGas": self.estimate_gas,
            "eth_sendRawTransaction": self.send_raw_transaction,
            "eth_sendTransaction": self.send_transaction,
            "eth_getTransactionByHash": self.get_transaction_by_hash,
            "eth_getTransactionReceipt": self.get_transaction_receipt,
            "eth_getBlockByNumber": self.get_block_by_number,
            "eth_getBlockByHash": self.get_block_by_hash,
            "eth_getBlockTransactionCountByNumber": self.block_tx_count_by_number,
            "eth_getTransactionByBlockNumberAndIndex": self.tx_by_number_and_index,
            "eth_getLogs": self.get_logs,
            "anvil_setBalance": self.set_balance,
            "hardhat_setBalance": self.set_balance,
            "evm_mine": self.mine,
            "anvil_mine": self.mine_many,
            "hardhat_mine": self.mine_many,
            "atlasdev_network": self.network,
            "atlasdev_getProof": self.get_proof,
            "atlasdev_interopRoot": self.interop_root,
            "atlasdev_getMessage": self.get_message,
            "atlasdev_getSettlement": self.get_settlement,
        }

    def dispatch(self, method: str, params: list | dict) -> Any:
        fn = self.methods.get(method)
        if fn is None:
            raise RpcError(-32601, f"the method {method} does not exist/is not available")
        if isinstance(params, dict):
            raise invalid("named parameters are not supported")
        try:
            return fn(*params)
        except TypeError as exc:
            if "positional argument" in str(exc):
                raise invalid(f"wrong number of parameters for {method}") from None
            raise
        except ChainError as exc:
            raise RpcError(exc.code, exc.message, exc.data) from None

    # ---- blocks ----------------------------------------------------------------------------------
    def block_number(self, tag: Any) -> int:
        """A block tag or number; EIP-1898 objects are accepted."""
        head = self.chain.head.number
        if isinstance(tag, dict):
            if "blockHash" in tag:
                row = self.chain.store.block_by_hash(
                    self.chain.chain_id, hash32(tag["blockHash"], "blockHash")
                )
                if row is None:
                    raise RpcError(-32000, "header not found")
                return row.number
            tag = tag.get("blockNumber", "latest")
        if tag is None or tag in ("latest", "pending", "safe", "finalized"):
            return head
        if tag == "earliest":
            return 0
        n = quantity(tag, "block")
        if n > head:
            raise RpcError(-32000, "header not found")
        return n

    def _block_json(self, row: BlockRow, full: bool) -> dict:
        txs = self.chain.store.block_transactions(self.chain.chain_id, row.number)
        return {
            "number": hx(row.number),
            "hash": hb(row.hash),
            "parentHash": hb(row.parent_hash),
            "nonce": "0x0000000000000000",
            "sha3Uncles": EMPTY_UNCLES,
            "logsBloom": ZERO_BLOOM,
            "transactionsRoot": hb(row.tx_commitment),
            "stateRoot": hb(row.state_root),
            "receiptsRoot": hb(row.tx_commitment),
            "miner": "0x" + "00" * 20,
            "difficulty": "0x0",
            "totalDifficulty": "0x0",
            "extraData": "0x",
            "size": hx(500 + sum(len(t.raw) for t in txs)),
            "gasLimit": hx(BLOCK_GAS_LIMIT),
            "gasUsed": hx(row.gas_used),
            "timestamp": hx(row.timestamp),
            "transactions": [self._tx_json(t, row) for t in txs]
            if full
            else [hb(t.hash) for t in txs],
            "uncles": [],
            "baseFeePerGas": hx(row.base_fee),
            "mixHash": ZERO32,
            "messageRoot": hb(row.message_root),
            "interopRoot": hb(row.interop_root),
        }

    def get_block_by_number(self, tag: Any, full: Any = False) -> dict | None:
        try:
            n = self.block_number(tag)
        except RpcError as exc:
            if exc.message == "header not found":
                return None
            raise
        row = self.chain.store.block(self.chain.chain_id, n)
        return None if row is None else self._block_json(row, bool(full))

    def get_block_by_hash(self, block_hash: Any, full: Any = False) -> dict | None:
        row = self.chain.store.block_by_hash(self.chain.chain_id, hash32(block_hash, "hash"))
        return None if row is None else self._block_json(row, bool(full))

    def block_tx_count_by_number(self, tag: Any) -> str:
        row = self.chain.store.block(self.chain.chain_id, self.block_number(tag))
        return hx(row.tx_count if row else 0)

    def tx_by_number_and_index(self, tag: Any, index: Any) -> dict | None:
        n = self.block_number(tag)
        txs = self.chain.store.block_transactions(self.chain.chain_id, n)
        i = quantity(index, "index")
        if i >= len(txs):
            return None
        row = self.chain.store.block(self.chain.chain_id, n)
        return self._tx_json(txs[i], row)

    # ---- accounts --------------------------------------------------------------------------------
    def get_balance(self, addr: Any, tag: Any = "latest") -> str:
        return hx(self.chain.balance(address(addr), self._state_block(tag)))

    def get_transaction_count(self, addr: Any, tag: Any = "latest") -> str:
        a = address(addr)
        if tag == "pending":
            return hx(self.chain.pending_nonce(a))
        return hx(self.chain.nonce(a, self._state_block(tag)))

    def _state_block(self, tag: Any) -> int | None:
        n = self.block_number(tag)
        return None if n >= self.chain.head.number else n

    def get_code(self, addr: Any, tag: Any = "latest") -> str:
        # system contracts run natively in zkOS; report a non-empty marker so tools see "contract"
        return "0xfe" if address(addr) in SYSTEM_ADDRESSES else "0x"

    def set_balance(self, addr: Any, value: Any) -> None:
        self.chain.set_balance(address(addr), quantity(value, "balance"))
        return None

    # ---- calls -----------------------------------------------------------------------------------
    def _call_args(self, tx: Any) -> tuple[bytes | None, bytes | None, bytes, int, int | None]:
        if not isinstance(tx, dict):
            raise invalid("transaction must be an object")
        sender = address(tx["from"], "from") if tx.get("from") else None
        to = address(tx["to"], "to") if tx.get("to") else None
        raw = tx.get("input", tx.get("data")) or "0x"
        data = data_bytes(raw, "input")
        value = quantity(tx["value"], "value") if tx.get("value") is not None else 0
        gas = quantity(tx["gas"], "gas") if tx.get("gas") is not None else None
        return sender, to, data, value, gas

    def _run_call(self, tx: Any, tag: Any) -> Any:
        n = self.block_number(tag)
        if n < self.chain.head.number:
            raise RpcError(-32000, "eth_call on past blocks is not implemented yet; use latest")
        sender, to, data, value, gas = self._call_args(tx)
        if to is None:
            raise RpcError(
                -32000,
                "contract creation is not supported: this chain runs zkOS "
                "system contracts, not the EVM",
            )
        result = self.chain.call(sender, to, data, value, gas)
        if result.status == 0:
            revert = "0x08c379a0" + abi_encode(["string"], [result.reason]).hex()
            raise RpcError(3, f"execution reverted: {result.reason}", revert)
        return result

    def call(self, tx: Any, tag: Any = "latest", *_overrides: Any) -> str:
        return hb(self._run_call(tx, tag).return_data)

    def estimate_gas(self, tx: Any, tag: Any = "latest") -> str:
        return hx(self._run_call(tx, tag).gas_used)

    def fee_history(self, count: Any, newest: Any, percentiles: Any = None) -> dict:
        n = min(quantity(count, "blockCount"), 1024)
        last = self.block_number(newest)
        first = max(0, last - n + 1)
        rows = self.chain.store.blocks(self.chain.chain_id, first, last)
        out: dict[str, Any] = {
            "oldestBlock": hx(first),
            "baseFeePerGas": [hx(r.base_fee) for r in rows] + [hx(BASE_FEE_WEI)],
            "gasUsedRatio": [r.gas_used / BLOCK_GAS_LIMIT for r in rows],
        }
        if percentiles:
            rewards = []
            for r in rows:
                tips = sorted(
                    t.gas_price - r.base_fee
                    for t in self.chain.store.block_transactions(self.chain.chain_id, r.number)
                )
                rewards.append(
                    [
                        hx(tips[min(len(tips) - 1, int(len(tips) * p / 100))] if tips else 0)
                        for p in percentiles
                    ]
                )
            out["reward"] = rewards
        return out

    # ---- transactions ------------------------------------------------------------------------------
    def send_raw_transaction(self, raw: Any) -> str:
        return hb(self.chain.submit(data_bytes(raw, "transaction")))

    def send_transaction(self, tx: Any) -> str:
        """Sign with a dev account's key, as anvil and hardhat do for their unlocked accounts."""
        if not isinstance(tx, dict) or not tx.get("from"):
            raise invalid("transaction needs a from address")
        sender = address(tx["from"], "from")
        keys = {a.address: a.private_key for a in dev_accounts()}
        if sender not in keys:
            raise RpcError(
                -32000,
                f"no key for 0x{sender.hex()}: only dev accounts can use "
                "eth_sendTransaction; sign and use eth_sendRawTransaction",
            )
        to = address(tx["to"], "to") if tx.get("to") else None
        data = data_bytes(tx.get("input", tx.get("data")) or "0x", "input")
        value = quantity(tx["value"], "value") if tx.get("value") is not None else 0
        gas = quantity(tx["gas"], "gas") if tx.get("gas") is not None else None
        if gas is None:
            gas = self.chain.call(sender, to, data, value).gas_used if to else 21_000
        nonce = (
            quantity(tx["nonce"], "nonce")
            if tx.get("nonce") is not None
            else self.chain.pending_nonce(sender)
        )
        tip = (
            quantity(tx["maxPriorityFeePerGas"], "maxPriorityFeePerGas")
            if tx.get("maxPriorityFeePerGas") is not None
            else DEFAULT_TIP_WEI
        )
        max_fee = (
            quantity(tx["maxFeePerGas"], "maxFeePerGas")
            if tx.get("maxFeePerGas") is not None
            else 2 * BASE_FEE_WEI + tip
        )
        fields = {
            "chainId": self.chain.chain_id,
            "nonce": nonce,
            "gas": gas,
            "value": value,
            "data": data,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
            "type": 2,
        }
        if to is not None:
            fields["to"] = _checksum(to)
        signed = Account.sign_transaction(fields, keys[sender])
        return hb(self.chain.submit(bytes(signed.raw_transaction)))

    def _tx_json(self, t: TxRow, block: BlockRow | None) -> dict:
        signed = decode_raw_transaction(t.raw)
        out: dict[str, Any] = {
            "blockHash": hb(block.hash) if block else None,
            "blockNumber": hx(t.block_number),
            "from": _checksum(t.sender),
            "gas": hx(t.gas_limit),
            "gasPrice": hx(t.gas_price),
            "hash": hb(t.hash),
            "input": hb(t.data),
            "nonce": hx(t.nonce),
            "to": _checksum(t.to) if t.to else None,
            "transactionIndex": hx(t.tx_index),
            "value": hx(t.value),
            "type": hx(t.tx_type),
            "v": hx(signed.v),
            "r": hx(signed.r),
            "s": hx(signed.s),
        }
        if signed.chain_id is not None:
            out["chainId"] = hx(signed.chain_id)
        if t.tx_type >= 1:
            out["accessList"] = [
                {"address": _checksum(a), "storageKeys": [hb(k) for k in slots]}
                for a, slots in signed.access_list
            ]
            out["yParity"] = hx(signed.v)
        if t.tx_type == 2:
            out["maxFeePerGas"] = hx(t.max_fee)
            out["maxPriorityFeePerGas"] = hx(t.priority_fee)
        return out

    def get_transaction_by_hash(self, tx_hash: Any) -> dict | None:
        h = hash32(tx_hash, "hash")
        row = self.chain.store.tx(self.chain.chain_id, h)
        if row is not None:
            return self._tx_json(row, self.chain.store.block(self.chain.chain_id, row.block_number))
        pending = self.chain.mempool.get(h)
        if pending is None:
            return None
        out = {
            "blockHash": None,
            "blockNumber": None,
            "transactionIndex": None,
            "from": _checksum(pending.sender),
            "gas": hx(pending.gas_limit),
            "gasPrice": hx(pending.effective_gas_price(BASE_FEE_WEI)),
            "hash": hb(pending.hash),
            "input": hb(pending.data),
            "nonce": hx(pending.nonce),
            "to": _checksum(pending.to) if pending.to else None,
            "value": hx(pending.value),
            "type": hx(pending.tx_type),
            "v": hx(pending.v),
            "r": hx(pending.r),
            "s": hx(pending.s),
        }
        return out

    def get_transaction_receipt(self, tx_hash: Any) -> dict | None:
        row = self.chain.store.tx(self.chain.chain_id, hash32(tx_hash, "hash"))
        if row is None:
            return None
        block = self.chain.store.block(self.chain.chain_id, row.block_number)
        logs = self.chain.store.logs(
            self.chain.chain_id, row.block_number, row.block_number, tx_hash=row.hash
        )
        out = {
            "transactionHash": hb(row.hash),
            "transactionIndex": hx(row.tx_index),
            "blockHash": hb(block.hash),
            "blockNumber": hx(row.block_number),
            "from": _checksum(row.sender),
            "to": _checksum(row.to) if row.to else None,
            "cumulativeGasUsed": hx(row.cumulative_gas_used),
            "gasUsed": hx(row.gas_used),
            "effectiveGasPrice": hx(row.gas_price),
            "contractAddress": None,
            "logs": [self._log_json(lg, block) for lg in logs],
            "logsBloom": ZERO_BLOOM,
            "status": hx(row.status),
            "type": hx(row.tx_type),
        }
        if row.status == 0:
            out["revertReason"] = row.reason
        if row.message_hash is not None:
            out["messageHash"] = hb(row.message_hash)
        return out

    # ---- logs ------------------------------------------------------------------------------------
    def _log_json(self, lg: LogRow, block: BlockRow) -> dict:
        return {
            "address": _checksum(lg.address),
            "topics": [hb(t) for t in lg.topics],
            "data": hb(lg.data),
            "blockNumber": hx(lg.block_number),
            "blockHash": hb(block.hash),
            "transactionHash": hb(lg.tx_hash),
            "transactionIndex": hx(lg.tx_index),
            "logIndex": hx(lg.log_index),
            "removed": False,
        }

    def get_logs(self, flt: Any) -> list[dict]:
        if not isinstance(flt, dict):
            raise invalid("filter must be an object")
        if flt.get("blockHash"):
            row = self.chain.store.block_by_hash(
                self.chain.chain_id, hash32(flt["blockHash"], "blockHash")
            )
            if row is None:
                raise RpcError(-32000, "unknown block")
            first = last = row.number
        else:
            first = self.block_number(flt.get("fromBlock", "latest"))
            last = self.block_number(flt.get("toBlock", "latest"))
        if last - first > LOG_RANGE_LIMIT:
            raise RpcError(-32005, f"query exceeds max block range {LOG_RANGE_LIMIT}")
        addrs = flt.get("address") or []
        if isinstance(addrs, str):
            addrs = [addrs]
        addresses = [address(a) for a in addrs]
        topics = flt.get("topics") or []
        if not isinstance(topics, list) or len(topics) > 4:
            raise invalid("topics must be an array of at most 4 entries")
        wanted: list[set[bytes] | None] = []
        for t in topics:
            if t is None:
                wanted.append(None)
            elif isinstance(t, list):
                wanted.append({hash32(x, "topic") for x in t} if t else None)
            else:
                wanted.append({hash32(t, "topic")})
        blocks: dict[int, BlockRow] = {}
        out = []
        for lg in self.chain.store.logs(self.chain.chain_id, first, last, addresses):
            if any(
                w is not None and (i >= len(lg.topics) or lg.topics[i] not in w)
                for i, w in enumerate(wanted)
            ):
                continue
            if lg.block_number not in blocks:
                blocks[lg.block_number] = self.chain.store.block(
                    self.chain.chain_id, lg.block_number
                )
            out.append(self._log_json(lg, blocks[lg.block_number]))
        return out

    # ---- dev and network -------------------------------------------------------------------------
    def mine(self, *_args: Any) -> str:
        self.chain.seal()
        return "0x0"

    def mine_many(self, count: Any = "0x1", *_args: Any) -> None:
        for _ in range(min(quantity(count, "blocks"), 10_000)):
            self.chain.seal()
        return None

    def web3_sha3(self, data: Any) -> str:
        return hb(keccak(data_bytes(data, "data")))

    def get_proof(self, tag: Any, with_bytes: Any = False) -> dict | None:
        """A block's proof record: status (not proven, queued, proving, proven, failed),
        backend, cycles, trace rows, prove time, size, the gateway's verdict ("gateway":
        verified or rejected, with "gatewayReason"), and with ``with_bytes`` the proof and the
        report words it proves (hex). None when the block does not exist."""
        number = self.block_number(tag)
        if self.chain.store.block(self.chain.chain_id, number) is None:
            return None
        row = self.chain.store.proof(self.chain.chain_id, number)
        prover = getattr(self.node, "prover", None)
        out: dict[str, Any] = {"chainId": self.chain.chain_id, "number": number}
        if self.chain.is_l1:
            out["status"] = "final"  # the L1 is the settlement layer: its blocks have no proof
            return out
        if row is None:
            queued = prover is not None and number > 0
            out["status"] = "queued" if queued else "not proven"
            return out
        out.update(
            {
                "status": row.status,
                "backend": row.backend,
                "cycles": row.cycles,
                "traceRows": row.trace_rows,
                "proveMs": row.prove_ms,
                "size": row.size,
            }
        )
        if row.error:
            out["error"] = row.error
        verdict = self.chain.store.verification(self.chain.chain_id, number)
        if verdict is not None and verdict.proof_updated_at == row.updated_at:
            out["gateway"] = verdict.status
            if verdict.reason:
                out["gatewayReason"] = verdict.reason
        if with_bytes and row.status == "proven":
            out["proof"] = "0x" + row.proof.hex()
            out["report"] = "0x" + row.report.hex()
        return out

    def get_message(self, message_hash: Any) -> dict | None:
        """A cross-chain message by its hash (sent by any chain of the network): its record,
        lifecycle stage, once the gateway verified its block the inclusion proof and the
        destination's relayMessage call, and once executed where (docs/gateway.md). None for an
        unknown hash."""
        from ..gateway.messages import MessageNotFound, status

        digest = data_bytes(message_hash, "message hash")
        if len(digest) != 32:
            raise invalid("message hash: expected 32 bytes")
        try:
            found = status(self.chain.store, digest)
        except MessageNotFound:
            return None
        m = found.message
        out: dict[str, Any] = {
            "hash": hb(m.hash),
            "sourceChainId": m.chain_id,
            "destinationChainId": m.dst_chain,
            "nonce": m.nonce,
            "sender": _checksum(m.sender),
            "to": _checksum(m.to),
            "value": hx(m.value),
            "data": hb(m.data),
            "blockNumber": m.block_number,
            "transactionHash": hb(m.tx_hash),
            "stage": found.stage,
        }
        if found.reason:
            out["waitingFor"] = found.reason
        if found.proof is not None:
            p, h = found.proof, found.proof.history
            out["proof"] = {
                "messageIndex": p.index,
                "messagePath": [hb(s) for s in p.path],
                "messageRoot": hb(p.message_root),
                "historyIndex": h.index,
                "historyCount": h.count,
                "historyPath": [hb(s) for s in h.path],
                "interopRoot": hb(h.root),
            }
            relay = found.relay()
            assert relay is not None
            out["relay"] = {"to": _checksum(MESSENGER_ADDRESS), "data": hb(relay.calldata())}
        if found.executed is not None:
            out["executedIn"] = {
                "chainId": m.dst_chain,
                "blockNumber": found.executed.block_number,
                "transactionHash": hb(found.executed.tx_hash),
            }
        return out

    def get_settlement(self, batch: Any = "latest") -> dict | None:
        """A settlement batch (its number, or "latest"): the interop root the L1 imports with
        it, every L2's verified head it settles, and the L1 block it landed in (null while it
        waits for the L1). None when there is no such batch."""
        store = self.chain.store
        if batch == "latest":
            found = store.settlements(1)
            s = found[0] if found else None
        else:
            s = store.settlement(quantity(batch, "batch"))
        if s is None:
            return None
        return {
            "batch": s.batch,
            "interopRoot": hb(s.root),
            "historyCount": s.history_count,
            "chains": [
                {"chainId": h.chain_id, "verifiedBlock": h.number, "stateRoot": hb(h.state_root)}
                for h in s.heads
            ],
            "createdAt": s.created_at,
            "l1ChainId": store.l1_chain_id(),
            "l1Block": s.l1_block,
            "landedAt": s.landed_at,
        }

    def interop_root(self) -> dict:
        """The gateway's latest interop root and how many verified blocks with messages it
        commits to (the empty history's root before any)."""
        from ..gateway.interop import EMPTY_ROOT

        latest = self.chain.store.latest_interop()
        if latest is None:
            return {"root": hb(EMPTY_ROOT), "count": 0}
        return {
            "root": hb(latest.root),
            "count": latest.index + 1,
            "lastChainId": latest.chain_id,
            "lastBlock": latest.number,
        }

    def network(self) -> dict:
        return {
            "name": self.node.profile.name,
            "chains": [
                {
                    "name": c.config.name,
                    "chainId": c.chain_id,
                    "rpcPort": c.config.rpc_port,
                    "private": c.config.private,
                    "blockTimeMs": c.config.block_time_ms,
                    "height": c.head.number,
                    "l1": c.is_l1,
                }
                for c in self.node.chains.values()
            ],
        }

"""A fixed network for snapshot tests: the Monitor's methods and records, no clock, no randomness.

Two L2s (alpha public, gamma private) and the L1, 40, 25 and 5 blocks, a few transactions (one failed, one
that sends a message with a log), two messages, the dev accounts, a log, two minutes of samples.
Every value derives from the block number, so each run renders the same screen.
"""

from __future__ import annotations

import hashlib
from datetime import UTC

from atlasdev.engine.accounts import dev_accounts
from atlasdev.engine.monitor import (
    AccountRow,
    AddressBalance,
    AddressSummary,
    BlockDetail,
    BlockSummary,
    ChainSummary,
    GatewaySummary,
    LogEntry,
    LogLine,
    MessageSummary,
    NetworkSummary,
    ProofPipeline,
    SearchHit,
    TxDetail,
    TxSummary,
)
from atlasdev.engine.zkos.system import MESSENGER_ADDRESS

T0 = 1_767_225_600  # 2026-01-01 00:00:00 UTC, genesis of both chains
NOW = T0 + 60  # the clock the snapshot app sees
TZ = UTC
CHAINS = {
    271: ("alpha", False, 40, 8545),
    273: ("gamma", True, 25, 8547),
    900: ("l1", False, 5, 8544),
}
L1 = 900
DEV = dev_accounts()
MESSENGER = MESSENGER_ADDRESS


def h(*parts: object) -> bytes:
    return hashlib.blake2s(repr(parts).encode()).digest()


def block_txs(chain_id: int, number: int) -> int:
    return (number * 7 + chain_id) % 5 if number else 0


def clock() -> float:
    return float(NOW)


class FakeMonitor:
    def __init__(
        self,
        gateway: GatewaySummary | None = None,
        proofs: ProofPipeline | None = None,
    ) -> None:
        self._gateway = gateway
        self._proofs = proofs
        self.samples = 0

    # ---- overview -------------------------------------------------------------------------
    def chains(self) -> list[ChainSummary]:
        proving = self._proofs is not None
        return [
            ChainSummary(
                name=name,
                chain_id=cid,
                private=private,
                rpc_url=f"http://127.0.0.1:{port}",
                block_time_ms=2000 if cid == L1 else 250,
                height=height,
                tps=12.5 if cid == 271 else 3.0,
                latency_ms=182.0 if cid == 271 else None,
                mempool=0,
                verified_height=(height if cid == L1 else height - 4) if proving else None,
                prover_backend="gpu" if proving and cid != L1 else None,
                proof_queue=2 if proving and cid != L1 else None,
                l1=cid == L1,
            )
            for cid, (name, private, height, port) in CHAINS.items()
        ]

    def sample(self) -> None:
        self.samples += 1

    def series(self, chain_id: int) -> tuple[list[float], list[float]]:
        tps = [float((i * 37 + chain_id) % 50) for i in range(120)]
        latency = [150.0 + (i * 13 + chain_id) % 90 for i in range(120)]
        return tps, latency

    def network(self) -> NetworkSummary:
        return NetworkSummary("prividium", "/data/atlasdev/prividium")

    def gateway(self) -> GatewaySummary | None:
        return self._gateway

    def proofs(self) -> ProofPipeline | None:
        return self._proofs

    # ---- blocks and transactions --------------------------------------------------------------
    def _block(self, chain_id: int, number: int) -> BlockSummary:
        txs = block_txs(chain_id, number)
        return BlockSummary(
            chain_id=chain_id,
            number=number,
            hash=h("block", chain_id, number),
            timestamp=T0 + number // 4,
            tx_count=txs,
            gas_used=21_000 * txs,
            state_root=h("root", chain_id, number),
            proof_status="L1" if chain_id == L1 else "not proven",
        )

    def _txs(self, chain_id: int, number: int) -> tuple[TxSummary, ...]:
        out = []
        for i in range(block_txs(chain_id, number)):
            sender = DEV[i % len(DEV)].address
            failed = i == 1
            message = i == 2
            out.append(
                TxSummary(
                    chain_id=chain_id,
                    hash=h("tx", chain_id, number, i),
                    block_number=number,
                    index=i,
                    sender=sender,
                    to=MESSENGER if message else DEV[(i + 1) % len(DEV)].address,
                    value=(i + 1) * 10**17,
                    nonce=number,
                    status=0 if failed else 1,
                    reason="insufficient funds for gas * price + value" if failed else "",
                    gas_used=21_000,
                    gas_price=2 * 10**9,
                    data=bytes.fromhex("8b5bf5c5") + bytes(28) if message else b"",
                    message_hash=h("msg", chain_id, number) if message else None,
                )
            )
        return tuple(out)

    def recent_blocks(self, chain_id: int, limit: int = 50) -> list[BlockSummary]:
        height = CHAINS[chain_id][2]
        first = max(0, height - limit + 1)
        return [self._block(chain_id, n) for n in range(height, first - 1, -1)]

    def blocks_after(self, chain_id: int, number: int, limit: int = 100) -> list[BlockSummary]:
        height = CHAINS[chain_id][2]
        first = max(number + 1, height - limit + 1, 0)
        return [self._block(chain_id, n) for n in range(first, height + 1)]

    def block(self, chain_id: int, number: int) -> BlockDetail | None:
        if chain_id not in CHAINS or not 0 <= number <= CHAINS[chain_id][2]:
            return None
        return BlockDetail(
            block=self._block(chain_id, number),
            parent_hash=h("block", chain_id, number - 1) if number else bytes(32),
            tx_commitment=h("txs", chain_id, number),
            message_root=bytes(32),
            interop_root=bytes(32),
            base_fee=10**9,
            txs=self._txs(chain_id, number),
        )

    def tx(self, chain_id: int, tx_hash: bytes) -> TxDetail | None:
        for number in range(CHAINS[chain_id][2] + 1):
            for t in self._txs(chain_id, number):
                if t.hash == tx_hash:
                    logs = ()
                    if t.message_hash is not None:
                        logs = (
                            LogEntry(
                                MESSENGER,
                                (h("topic", 0), (273).to_bytes(32, "big")),
                                t.message_hash,
                            ),
                        )
                    return TxDetail(t, 3 * 10**9, 10**9, 60_000, 2, logs)
        return None

    def search(self, text: str) -> list[SearchHit]:
        text = text.strip().lower()
        if text.isdigit():
            n = int(text)
            return [
                SearchHit("block", cid, block_number=n) for cid in CHAINS if n <= CHAINS[cid][2]
            ]
        try:
            value = bytes.fromhex(text.removeprefix("0x"))
        except ValueError:
            return []
        hits = []
        for cid, (_, _, height, _) in CHAINS.items():
            if len(value) == 20:
                hits.append(SearchHit("address", cid, address=value))
                continue
            for number in range(height + 1):
                if h("block", cid, number) == value:
                    hits.append(SearchHit("block", cid, number))
                for t in self._txs(cid, number):
                    if t.hash == value:
                        hits.append(SearchHit("tx", cid, number, value))
        return hits

    # ---- accounts, messages, log ----------------------------------------------------------
    def _balance(self, index: int, chain_id: int) -> int:
        return 10_000 * 10**18 - index * 123_456_789 * 10**9 - (chain_id - 271) * 10**17

    def accounts(self) -> list[AccountRow]:
        return [
            AccountRow(
                a.index,
                a.address,
                a.private_key,
                tuple((name, self._balance(a.index, cid)) for cid, (name, *_) in CHAINS.items()),
            )
            for a in DEV
        ]

    def address(self, address: bytes) -> AddressSummary:
        dev = next((a.index for a in DEV if a.address == address), None)
        return AddressSummary(
            address,
            dev,
            tuple(
                AddressBalance(
                    cid, name, self._balance(dev, cid) if dev is not None else 0, dev or 0
                )
                for cid, (name, *_) in CHAINS.items()
            ),
        )

    def messages(self, limit: int = 200) -> list[MessageSummary]:
        return [
            MessageSummary(273, 271, 0, h("msg", 273, 12), DEV[3].address, DEV[4].address, 0, 12,
                           "sealed", T0 + 50.0),
            MessageSummary(271, 273, 0, h("msg", 271, 37), DEV[2].address, DEV[5].address,
                           10**17, 37, "sealed", T0 + 9.25),
        ][:limit]  # fmt: skip

    def _log(self) -> list[LogLine]:
        return [
            LogLine(T0, "INFO", "atlasdev.node", "network prividium started: alpha (271) on :8545, gamma (273) on :8547, l1 (900) on :8544"),
            LogLine(T0 + 2, "INFO", "atlasdev.chain", "alpha sealed #8: 1 txs, gas 21000"),
            LogLine(T0 + 3, "WARNING", "atlasdev.rpc", "gamma: request without a token refused"),
            LogLine(T0 + 5, "INFO", "atlasdev.chain", "gamma sealed #20: 3 txs, gas 63000"),
            LogLine(T0 + 9, "INFO", "atlasdev.chain", "alpha sealed #37: 2 txs, gas 42000"),
        ]  # fmt: skip

    def log_lines(self, contains: str = "", limit: int = 500) -> list[LogLine]:
        return self.log_since(0, contains, limit)[1]

    def log_since(
        self, seen: int, contains: str = "", limit: int = 500
    ) -> tuple[int, list[LogLine]]:
        lines = self._log()
        new = lines[seen:]
        needle = contains.lower()
        new = [ln for ln in new if needle in f"{ln.level} {ln.logger} {ln.message}".lower()]
        return len(lines), new[-limit:]

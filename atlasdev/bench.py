"""Sequencer benchmark: pre-signed transactions fed at full speed, sealed and persisted.

Measures what a user of the node sees: from the first `submit` (decode, sender recovery,
admission) to the last block that holds the workload being committed to SQLite, with blocks
sealed on the chain's normal timer. Reports TPS, inclusion latency p50/p99 (submit -> sealed and
persisted), and where the sealing time goes.
"""

import json
import platform
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_utils import to_checksum_address

from .engine.accounts import dev_accounts
from .engine.chain import Chain
from .engine.sequencer import Sequencer
from .engine.store import Store
from .engine.zkos import keys
from .engine.zkos.system import (
    ORACLE_ADDRESS,
    SEL_SET_PRICE,
    SEL_TRANSFER,
    STABLECOIN_ADDRESS,
)
from .engine.zkos.u256 import from_int
from .node import tune_gc
from .profiles import ChainConfig

WORKLOADS = ("transfer", "stablecoin", "oracle")


@dataclass
class BenchResult:
    workload: str
    feeders: int
    transactions: int
    senders: int
    seconds: float
    tps: float
    submit_tps: float
    latency_p50_ms: float
    latency_p99_ms: float
    blocks: int
    seal_ms_mean: float
    machine: str
    date: str


def _calldata(selector: int, types: list[str], args: list) -> bytes:
    return selector.to_bytes(4, "big") + abi_encode(types, args)


def _sign_workload(workload: str, count: int, chain_id: int, senders: int) -> tuple[list, list]:
    """Pre-signed raw transactions and the sender accounts that must be funded first."""
    if workload == "oracle":
        accounts = [Account.from_key(a.private_key) for a in dev_accounts()]  # the feeders
    else:
        accounts = [Account.create() for _ in range(senders)]
    raws = []
    for i in range(count):
        acct = accounts[i % len(accounts)]
        nonce = i // len(accounts)
        tx = {
            "chainId": chain_id,
            "nonce": nonce,
            "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "value": 0,
        }
        if workload == "transfer":
            tx.update(to=accounts[(i + 1) % len(accounts)].address, value=1, gas=21_000)
        elif workload == "stablecoin":
            data = _calldata(
                SEL_TRANSFER, ["address", "uint256"], [accounts[(i + 1) % len(accounts)].address, 1]
            )
            tx.update(to="0x" + STABLECOIN_ADDRESS.hex(), data=data, gas=60_000)
        else:
            data = _calldata(
                SEL_SET_PRICE,
                ["bytes32", "uint256"],
                [i.to_bytes(2, "big").ljust(32, b"\0"), 1000 + i],
            )
            tx.update(to="0x" + ORACLE_ADDRESS.hex(), data=data, gas=60_000)
        tx["to"] = to_checksum_address(tx["to"])
        raws.append(bytes(acct.sign_transaction(tx).raw_transaction))
    return raws, accounts


def _fund(chain: Chain, accounts: list, workload: str) -> None:
    """Give benchmark senders ETH (and stablecoin) outside the measured window."""
    if workload == "oracle":
        return  # the feeders are the dev accounts
    edits = {}
    for acct in accounts:
        address = bytes.fromhex(acct.address[2:])
        edits[keys.account_key(address)] = _value(10**24)
        if workload == "stablecoin":
            edits[keys.token_balance_key(address)] = _value(10**24)
    chain.dev_edit(edits)


def _value(amount: int) -> np.ndarray:
    v = np.zeros(16, dtype=np.uint32)
    v[:8] = from_int(amount)
    return v


def run_sequencer_bench(
    workload: str,
    count: int = 20_000,
    senders: int = 500,
    block_time_ms: int = 250,
    feeders: int = 2,
    log: Callable[[str], None] = print,
) -> BenchResult:
    """`feeders` threads submit concurrently, like that many RPC clients; sender recovery
    releases the GIL, so they recover on both cores while the sequencer seals."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: choose {', '.join(WORKLOADS)}")
    cfg = ChainConfig(name="bench", chain_id=271, block_time_ms=block_time_ms, rpc_port=1)
    log(f"signing {count} {workload} transactions ...")
    raws, accounts = _sign_workload(workload, count, cfg.chain_id, senders)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        chain = Chain(cfg, store)
        chain.mempool.max_per_sender = max(chain.mempool.max_per_sender, count)
        chain.mempool.max_total = max(chain.mempool.max_total, count)
        _fund(chain, accounts, workload)
        chain.seal()  # warm up: compile and seal one empty block
        tune_gc()
        sealed_at: dict[bytes, float] = {}
        seal_times: list[float] = []
        done = threading.Event()

        def on_block(block, txs) -> None:
            now = time.perf_counter()
            for t in txs:
                sealed_at[t.hash] = now
            if len(sealed_at) >= count:
                done.set()

        chain.listeners.append(on_block)
        original_seal = chain.seal

        def timed_seal():
            t0 = time.perf_counter()
            out = original_seal()
            seal_times.append(time.perf_counter() - t0)
            return out

        chain.seal = timed_seal  # type: ignore[method-assign]
        submitted: dict[bytes, float] = {}
        seq = Sequencer(chain)
        seq.start()

        def feed(part: list[bytes]) -> None:
            for raw in part:
                h = chain.submit(raw)
                submitted[h] = time.perf_counter()

        # a sender's nonces must arrive in order, so each sender belongs to one feeder
        n_senders = len(accounts)
        parts = [
            [raw for i, raw in enumerate(raws) if (i % n_senders) % feeders == f]
            for f in range(feeders)
        ]
        threads = [threading.Thread(target=feed, args=(p,)) for p in parts]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        submit_done = time.perf_counter()
        done.wait(timeout=600)
        end = time.perf_counter()
        seq.stop()
        store.close()
    latencies = sorted((sealed_at[h] - t) * 1000 for h, t in submitted.items() if h in sealed_at)
    elapsed = end - start
    result = BenchResult(
        workload=workload,
        feeders=feeders,
        transactions=len(latencies),
        senders=len(accounts),
        seconds=round(elapsed, 3),
        tps=round(len(latencies) / elapsed, 1),
        submit_tps=round(count / (submit_done - start), 1),
        latency_p50_ms=round(statistics.median(latencies), 1),
        latency_p99_ms=round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        blocks=len(seal_times),
        seal_ms_mean=round(1000 * statistics.mean(seal_times), 2) if seal_times else 0.0,
        machine=f"{platform.machine()} {platform.processor() or ''} {_cpus()} cores".strip(),
        date=time.strftime("%Y-%m-%d"),
    )
    return result


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def write_result(result: BenchResult, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"sequencer-{result.workload}.json"
    path.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return path

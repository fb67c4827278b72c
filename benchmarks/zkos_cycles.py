"""RISC-V cycles per transaction kind: what each transaction will cost to prove.

Runs the zkOS image on the emulator for blocks of N transactions of one kind and reports
(cycles(N) - cycles(0)) / N, plus the emulator's speed on those runs. Writes
benchmarks/results/zkos-cycles.json. Usage: python benchmarks/zkos_cycles.py [N]
"""

import json
import re
import sys
import time
from pathlib import Path

import numpy as np
from eth_abi import encode

from atlasdev.engine.airbender.guest import run_block
from atlasdev.engine.zkos import keys
from atlasdev.engine.zkos.block import BlockHeader, TxInput, execute
from atlasdev.engine.zkos.image import load_image
from atlasdev.engine.zkos.system import (
    MESSENGER_ADDRESS,
    ORACLE_ADDRESS,
    SEL_SEND_MESSAGE,
    SEL_SET_PRICE,
    SEL_TRANSFER,
    STABLECOIN_ADDRESS,
)
from atlasdev.engine.zkos.tree import StateTree
from atlasdev.engine.zkos.u256 import from_int

SENDERS = [bytes([1 + i]) * 20 for i in range(16)]


def _value(amount: int) -> np.ndarray:
    v = np.zeros(16, np.uint32)
    v[:8] = from_int(amount)
    return v


def genesis() -> StateTree:
    tree = StateTree()
    for s in SENDERS:
        tree.set_value(keys.account_key(s), _value(10**24))
        tree.set_value(keys.token_balance_key(s), _value(10**24))
        tree.set_value(keys.oracle_feeder_key(s), _value(1))
    return tree


def block(kind: str, n: int) -> list[TxInput]:
    txs = []
    for i in range(n):
        sender, nonce = SENDERS[i % len(SENDERS)], i // len(SENDERS)
        recipient = (1000 + i).to_bytes(20, "big")  # a new account or holder each time
        if kind == "transfer":
            txs.append(TxInput(sender, recipient, nonce, 1, 21_000, 2 * 10**9, 10**9))
            continue
        if kind == "stablecoin":
            to, data = (
                STABLECOIN_ADDRESS,
                SEL_TRANSFER.to_bytes(4, "big") + encode(["address", "uint256"], [recipient, 1]),
            )
        elif kind == "oracle":
            to, data = (
                ORACLE_ADDRESS,
                SEL_SET_PRICE.to_bytes(4, "big")
                + encode(["bytes32", "uint256"], [i.to_bytes(32, "big"), 1000 + i]),
            )
        else:
            to, data = (
                MESSENGER_ADDRESS,
                SEL_SEND_MESSAGE.to_bytes(4, "big")
                + encode(["uint256", "address", "bytes"], [272, recipient, b"x" * 32]),
            )
        txs.append(TxInput(sender, to, nonce, 0, 200_000, 2 * 10**9, 10**9, data))
    return txs


def profile(img, kind: str, n: int = 20) -> dict[str, float]:
    """Share of cycles per guest function (top 6) for an n-transaction block, from the trace."""
    native = execute(BlockHeader(271, 1, 1, 10**9), block(kind, n), genesis())
    run = run_block(img, native.input_words, max_cycles=50_000_000, trace=True)
    pcs = run.result.trace.column("pc")
    starts = np.array([a for a, _, _ in img.symbols], dtype=np.int64)
    owner = np.searchsorted(starts, pcs, side="right") - 1
    counts = np.bincount(owner, minlength=len(starts))
    top = np.argsort(counts)[::-1][:6]
    return {_short(img.symbols[i][2]): float(round(100 * counts[i] / len(pcs), 1)) for i in top}


def _short(symbol: str) -> str:
    """`blake2s.compress` from numba's mangled `_ZN8atlasdev6engine4zkos7blake2s8compressB...`."""
    m = re.match(r"_ZN8atlasdev6engine4zkos(\d+)", symbol)
    if not m:
        return symbol
    rest, parts = symbol[m.start(1) :], []
    while rest and rest[0].isdigit() and len(parts) < 2:
        k = int(re.match(r"\d+", rest).group(0))
        digits = len(str(k))
        parts.append(rest[digits : digits + k])
        rest = rest[digits + k :]
    return ".".join(parts)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    img = load_image()
    empty = run_block(img, execute(BlockHeader(271, 1, 1, 10**9), [], genesis()).input_words)
    results = {
        "image_id": img.image_id.hex(),
        "transactions_per_block": n,
        "empty_block_cycles": empty.cycles,
        "kinds": {},
    }
    for kind in ("transfer", "stablecoin", "oracle", "message"):
        native = execute(BlockHeader(271, 1, 1, 10**9), block(kind, n), genesis())
        t0 = time.perf_counter()
        run = run_block(img, native.input_words)
        seconds = time.perf_counter() - t0
        assert run.public == native.public, kind
        results["kinds"][kind] = {
            "block_cycles": run.cycles,
            "cycles_per_tx": round((run.cycles - empty.cycles) / n),
            "emulator_mips": round(run.cycles / seconds / 1e6, 1),
            "where_cycles_go": profile(img, kind),
        }
        print(kind, results["kinds"][kind], flush=True)
    results["date"] = time.strftime("%Y-%m-%d")
    out = Path("benchmarks/results/zkos-cycles.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

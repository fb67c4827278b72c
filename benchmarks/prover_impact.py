"""What the background prover costs the sequencer: block cadence and TPS with `--prover cpu` vs off.

    python benchmarks/prover_impact.py [--count N] [--idle-seconds S]

For each mode (`off`, then `cpu`) one in-process node runs the default profile's two chains in a
fresh data dir. With `cpu` the prover thread starts on block 1 and stays busy (it proves far
slower than blocks are sealed), so every phase runs while proofs are in progress. Phases:

- idle: S seconds of empty blocks; the intervals between chain alpha's block seals (target
  250 ms) as median, p99 and max. A prover that held the interpreter lock through its numba
  kernels would show here as seals seconds late.
- load: N pre-signed native transfers fed at full speed into alpha (as `atlasdev bench
  sequencer` does); sealed TPS and the seal intervals while loaded.

The numba cache is warmed first (one empty-block proof) so that compilation is not counted.
Prints JSON and writes benchmarks/results/prover-impact.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import free_port_base, write_result

from atlasdev.bench import _fund, _sign_workload
from atlasdev.node import Node
from atlasdev.profiles import load_profile, with_port_base

RESULTS = Path(__file__).parent / "results" / "prover-impact.json"
ALPHA = 271


class Seals:
    """Wall-clock times of chain alpha's block seals, and transactions sealed."""

    def __init__(self, node: Node) -> None:
        self.chain = node.chains[ALPHA]
        self.times: list[float] = []
        self.sealed = 0
        self.target = 0
        self.done = threading.Event()
        self.chain.listeners.append(self._on_block)

    def _on_block(self, block: Any, txs: list[Any]) -> None:
        self.times.append(time.perf_counter())
        self.sealed += len(txs)
        if self.target and self.sealed >= self.target:
            self.done.set()

    def intervals_ms(self) -> dict[str, float]:
        gaps = sorted(1000 * (b - a) for a, b in zip(self.times, self.times[1:], strict=False))
        if not gaps:
            return {}
        return {
            "blocks": len(self.times),
            "median_ms": round(statistics.median(gaps), 1),
            "p99_ms": round(gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))], 1),
            "max_ms": round(gaps[-1], 1),
        }

    def close(self) -> None:
        self.chain.listeners.remove(self._on_block)


def run_mode(prover: str, count: int, idle: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        profile = with_port_base(load_profile("default"), free_port_base(2))
        node = Node(profile, Path(tmp), prover=prover)
        node.start()
        try:
            chain = node.chains[ALPHA]
            raws, accounts = _sign_workload("transfer", count, ALPHA, 500)
            _fund(chain, accounts, "transfer")
            chain.mempool.max_per_sender = max(chain.mempool.max_per_sender, count)
            chain.mempool.max_total = max(chain.mempool.max_total, count)
            seals = Seals(node)
            time.sleep(idle)
            idle_stats = seals.intervals_ms()
            seals.close()

            seals = Seals(node)
            seals.target = count
            started = time.perf_counter()
            cpu0 = time.process_time()

            def submit() -> None:
                for raw in raws:
                    chain.submit(raw)

            threading.Thread(target=submit, daemon=True).start()
            seals.done.wait(600)
            wall = time.perf_counter() - started
            load_stats = {
                "sequencer_tps": round(seals.sealed / wall, 1),
                "process_cpu_share": round((time.process_time() - cpu0) / wall, 3),
                **seals.intervals_ms(),
            }
            seals.close()
            assert node.store is not None
            statuses = node.store.proof_statuses(ALPHA, 1, 1 << 62).values()
            proofs = {s: sum(1 for v in statuses if v == s) for s in set(statuses)}
        finally:
            node.stop()
    return {"idle": idle_stats, "load": load_stats, "proof_statuses": proofs}


def warm_numba() -> None:
    from atlasdev.engine.airbender import block_prover
    from atlasdev.engine.zkos.block import BlockHeader, execute
    from atlasdev.engine.zkos.image import load_image
    from atlasdev.engine.zkos.tree import StateTree

    program = block_prover.Program.of(load_image())
    native = execute(BlockHeader(ALPHA, 1, 1000, 10**9), [], StateTree())
    block_prover.prove_block(program, native.input_words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="transfers in the load phase")
    parser.add_argument("--idle-seconds", type=float, default=30.0, help="length of idle phase")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    args = parser.parse_args()
    print("warming the numba cache ...", file=sys.stderr)
    warm_numba()
    modes = {}
    for prover in ("off", "cpu"):
        print(f"prover {prover} ...", file=sys.stderr)
        modes[prover] = run_mode(prover, args.count, args.idle_seconds)
        print(json.dumps(modes[prover]), file=sys.stderr)
    result = {
        "what": "chain alpha's seal intervals and TPS with the background prover off vs cpu",
        "transfers": args.count,
        "idle_seconds": args.idle_seconds,
        "modes": modes,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()

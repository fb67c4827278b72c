"""Airbender on the CPU: proving zkOS blocks, where the time goes, proof size, verify time.

    python benchmarks/prover.py [--transfers 0,1,4] [--max-log-n 20] [--out FILE]

For each block size (native ETH transfers from dev accounts, executed natively first so that the
public values can be compared), the block's input runs through the zkOS image on the emulator and
is proven with the default parameters (blowup 4, 44 queries, 16 bits of proof of work); the
proof is verified. A block whose run needs more than 2^max-log-n rows is proven in segments of
that size (continuations; `segments` in the output). The first proof in a process also builds the proving key for its trace size
(the preprocessed commitment, reported as "setup"), which later blocks of that size reuse.
`peak_rss_gib_so_far` is the process's peak resident memory after that block (Linux ru_maxrss):
run one size per process to read a size's own peak. Prints JSON and writes
benchmarks/results/prover.json (or --out).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import write_result

from atlasdev.engine.airbender import block_prover
from atlasdev.engine.zkos import keys
from atlasdev.engine.zkos.block import BlockHeader, TxInput, execute
from atlasdev.engine.zkos.image import load_image
from atlasdev.engine.zkos.tree import StateTree
from atlasdev.engine.zkos.u256 import from_int

RESULTS = Path(__file__).parent / "results" / "prover.json"


def block(transfers: int) -> tuple[BlockHeader, list[TxInput], StateTree]:
    import numpy as np

    tree = StateTree()
    senders = [(0xA000 + i).to_bytes(2, "big") * 10 for i in range(max(transfers, 1))]
    for s in senders:
        v = np.zeros(16, np.uint32)
        v[:8] = from_int(10**22)
        tree.set_value(keys.account_key(s), v)
    txs = [
        TxInput(
            senders[i], (0xB000 + i).to_bytes(2, "big") * 10, 0, 10**18, 21_000, 2 * 10**9, 10**9
        )
        for i in range(transfers)
    ]
    return BlockHeader(271, 1, 1000, 10**9), txs, tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", default="0,1", help="block sizes, comma separated")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--max-log-n",
        type=int,
        default=block_prover.MAX_SEGMENT_LOG,
        help="largest segment: 2^N rows (longer runs are proven in segments of this size)",
    )
    args = parser.parse_args()
    program = block_prover.Program.of(load_image())
    runs = []
    for n in (int(v) for v in args.transfers.split(",")):
        header, txs, tree = block(n)
        native = execute(header, txs, tree)
        t0 = time.perf_counter()
        proof = block_prover.prove_block(program, native.input_words, max_log_n=args.max_log_n)
        wall = time.perf_counter() - t0
        assert proof.public == native.public
        t0 = time.perf_counter()
        block_prover.verify_block(program, proof.proof, proof.report)
        verify = time.perf_counter() - t0
        prove_s = proof.seconds["prove"]
        run = {
            "transfers": n,
            "cycles": proof.cycles,
            "segments": proof.segments,
            "segment_rows": 1 << proof.log_n,
            "trace_rows": proof.trace_rows,
            "prove_seconds": round(prove_s, 2),
            "end_to_end_seconds": round(wall, 2),
            "proven_cycles_per_second": round(proof.cycles / wall),
            "rows_per_second": round(proof.trace_rows / prove_s),
            "proof_bytes": len(proof.proof),
            "verify_seconds": round(verify, 3),
            "peak_rss_gib_so_far": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2
            ),
            "stages": {k: round(v, 2) for k, v in proof.seconds.items()},
        }
        print(json.dumps(run), file=sys.stderr)
        runs.append(run)
    result = {
        "what": "zkOS block proofs on the CPU backend (numba), default parameters",
        "runs": runs,
    }
    write_result(args.out, result)


if __name__ == "__main__":
    main()

"""Airbender on the CPU: proving zkOS blocks, where the time goes, proof size, verify time.

    python benchmarks/prover.py [--transfers 0,1,4] [--max-log-n 20] [--backend cpu] [--out FILE]

(`atlasdev bench prover` runs the same measurement, atlasdev/bench_prover.py.)

For each block size (native ETH transfers from dev accounts, executed natively first so that the
public values can be compared), the block's input runs through the zkOS image on the emulator and
is proven with the default parameters (blowup 2, 100 queries, 16 bits of proof of work); the
proof is verified. A block whose run needs more than 2^max-log-n rows is proven in segments of
that size (continuations; `segments` in the output). The first proof in a process also builds the proving key for its trace size
(the preprocessed commitment, reported as "setup"), which later blocks of that size reuse.
`peak_rss_gib_so_far` is the process's peak resident memory after that block (Linux ru_maxrss):
run one size per process to read a size's own peak. Prints JSON and writes
benchmarks/results/prover.json (or --out), rewritten after each block, so a run stopped by a
time limit keeps the blocks it finished.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import write_result

from atlasdev.bench_prover import BACKENDS, run_prover_bench
from atlasdev.engine.airbender import block_prover

RESULTS = Path(__file__).parent / "results" / "prover.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--transfers", default="0,1", help="block sizes, comma separated")
    parser.add_argument("--backend", choices=BACKENDS, default="cpu")
    parser.add_argument(
        "--no-check", action="store_true", help="skip the byte comparison with a CPU proof"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--kernel-times",
        action="store_true",
        help="gpu or host: each block once more with its kernel launches timed one by one",
    )
    parser.add_argument(
        "--max-log-n",
        type=int,
        default=block_prover.MAX_SEGMENT_LOG,
        help="largest segment: 2^N rows (longer runs are proven in segments of this size)",
    )
    args = parser.parse_args()
    sizes = [int(v) for v in args.transfers.split(",")]
    try:
        result = run_prover_bench(
            args.backend,
            sizes,
            args.max_log_n,
            not args.no_check,
            log=lambda line: print(line, file=sys.stderr),
            progress=lambda partial: write_result(args.out, partial, echo=False),  # if cut off
            kernels_timed=args.kernel_times,
        )
    except block_prover.SegmentTooBig as exc:
        sys.exit(f"prover.py: {exc} (--max-log-n)")
    except ValueError as exc:  # --kernel-times on a backend without kernels
        sys.exit(f"prover.py: {exc}")
    write_result(args.out, result)


if __name__ == "__main__":
    main()

"""The prover's hot loops alone: NTT butterflies and Blake2s hashes per second on one backend.

    python benchmarks/kernels.py [--backend cpu|gpu|numpy|host] [--log-n 20] [--columns 16]
                                 [--repeats 3] [--no-check] [--out FILE]

(`atlasdev bench kernels` runs the same measurement, atlasdev/bench_kernels.py.) Interpolation
over 2^log-n points, the LDE to the prover's blowup (twice as many; four times before 2026-12-01),
Blake2s over 64-byte leaves of the LDE and
one tree level above them, and a whole commitment, each the best of --repeats runs, beside the
issue's anchors for plain CuPy kernels on one H100 (150 G butterflies/s, 17 G Blake2s hashes/s).
Prints JSON and writes benchmarks/results/kernels-BACKEND.json (or --out).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from common import write_result

from atlasdev.bench_kernels import run_kernels_bench
from atlasdev.bench_prover import BACKENDS

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=BACKENDS, default="cpu")
    parser.add_argument("--log-n", type=int, default=20)
    parser.add_argument("--columns", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-check", action="store_true", help="skip the CPU root comparison")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    result = run_kernels_bench(
        args.backend,
        args.log_n,
        args.columns,
        args.repeats,
        not args.no_check,
        log=lambda line: print(line, file=sys.stderr),
    )
    write_result(args.out or RESULTS / f"kernels-{args.backend}.json", result)


if __name__ == "__main__":
    main()

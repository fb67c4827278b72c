"""The prover benchmark behind `atlasdev bench prover` and benchmarks/prover.py: zkOS blocks of
native transfers proven with a chosen backend, where the time goes, proof size, verify time.

Each block (ETH transfers between fresh accounts, executed natively first so the proven public
values can be compared) runs through the zkOS image on the emulator and is proven with the
default parameters, in segments of at most 2^max_log_n rows; the proof is verified with the
independent verifier. With a backend other than the CPU, `check` also proves the block on the
CPU and reports whether the bytes are identical (the backends' contract, issue 8). Peak memory:
the process's resident peak (Linux ru_maxrss) and, on a GPU, CuPy's memory pool. End to end
means from the block's input to its proof: the emulator run, the replay and the proof; the
proving key of a trace size (its preprocessed commitment, built once per process and size, like
a key generation) is reported apart as setup_seconds.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .engine.airbender import block_prover
from .engine.airbender.backend import Backend, named
from .engine.zkos import keys
from .engine.zkos.block import BlockHeader, TxInput, execute
from .engine.zkos.image import load_image
from .engine.zkos.tree import StateTree
from .engine.zkos.u256 import from_int

# numpy: the GPU backend's array code on the CPU; host: its CUDA kernels built for the CPU
BACKENDS = ("cpu", "gpu", "numpy", "host")


def transfers_block(transfers: int) -> tuple[BlockHeader, list[TxInput], StateTree]:
    """Block 1 of a chain holding ``transfers`` funded senders, each sending 1 ETH."""
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


def make_backend(name: str) -> Backend:
    """The prover worker's backends, and the GPU backend's two CPU twins."""
    if name == "numpy":
        from .engine.airbender.gpu import ArrayBackend

        return ArrayBackend(np)
    if name == "host":
        from .engine.airbender.kernel_backend import KernelBackend
        from .engine.airbender.kernels import HostKernels

        return KernelBackend(HostKernels())
    return named(name)


def timed_backend(name: str, backend: Backend) -> tuple[Backend, dict[str, list[float]]]:
    """``backend`` (named ``name``) with every kernel launch timed (kernels.TimedKernels): its
    own kernels, built once, and the table their launches add to; only the backends with
    kernels (gpu, host) have launches to time."""
    from .engine.airbender.kernel_backend import KernelBackend
    from .engine.airbender.kernels import TimedKernels

    if not isinstance(backend, KernelBackend):
        raise ValueError(f"the {name} backend launches no kernels to time (gpu or host do)")
    timing = TimedKernels(backend.kernels)
    return KernelBackend(timing), timing.seconds


def kernel_times(seconds: dict[str, list[float]]) -> dict[str, Any]:
    """The timed launches' table, the slowest kernel first."""
    ranked = sorted(seconds.items(), key=lambda item: -item[1][0])
    return {name: {"seconds": round(s, 4), "launches": int(k)} for name, (s, k) in ranked}


def _gpu_pool_bytes(backend: Backend) -> int | None:
    xp = getattr(backend, "xp", None)
    if xp is None or xp.__name__ != "cupy":
        return None
    return int(xp.get_default_memory_pool().total_bytes())


def run_prover_bench(
    backend_name: str,
    transfers: list[int],
    max_log_n: int = block_prover.MAX_SEGMENT_LOG,
    check: bool = True,
    log: Callable[[str], None] = lambda line: None,
    progress: Callable[[dict[str, Any]], None] = lambda partial: None,
    kernels_timed: bool = False,
) -> dict[str, Any]:
    """The runs as a result dict; ``progress`` gets it after each block (a caller whose time
    may run out keeps what was measured). With ``kernels_timed`` each block is proven once more
    with every kernel launch timed (`timed_backend`): its table and that proof's seconds."""
    backend = make_backend(backend_name)
    timed, seconds = timed_backend(backend_name, backend) if kernels_timed else (None, {})
    program = block_prover.Program.of(load_image())
    # the GPU's kernels (and the RV32IM AIR's programs) compile here, not in the first block's time
    backend.warm_up(program.air.air, program.air.logup)
    if timed is not None:
        timed.warm_up(program.air.air, program.air.logup)
    runs: list[dict[str, Any]] = []
    result = {
        "what": f"zkOS block proofs on the {backend.name} backend, default parameters",
        "backend": backend_name,
        "max_log_n": max_log_n,
        "runs": runs,
    }
    for n in transfers:
        header, txs, tree = transfers_block(n)
        native = execute(header, txs, tree)
        t0 = time.perf_counter()
        proof = block_prover.prove_block(
            program, native.input_words, max_log_n=max_log_n, backend=backend
        )
        setup = proof.seconds["setup"]
        wall = time.perf_counter() - t0 - setup
        if proof.public != native.public:
            raise RuntimeError("the proven public values differ from the native run's")
        t0 = time.perf_counter()
        block_prover.verify_block(program, proof.proof, proof.report)
        verify = time.perf_counter() - t0
        prove_s = proof.seconds["prove"]
        run: dict[str, Any] = {
            "transfers": n,
            "cycles": proof.cycles,
            "segments": proof.segments,
            "segment_rows": 1 << proof.log_n,
            "trace_rows": proof.trace_rows,
            "prove_seconds": round(prove_s, 2),
            "end_to_end_seconds": round(wall, 2),
            "setup_seconds": round(setup, 2),
            "proven_cycles_per_second": round(proof.cycles / wall),  # end to end
            "cycles_per_prove_second": round(proof.cycles / prove_s),  # the STARK alone
            "rows_per_second": round(proof.trace_rows / prove_s),
            "proof_bytes": len(proof.proof),
            "verify_seconds": round(verify, 3),
            "peak_rss_gib_so_far": round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2
            ),
            "gpu_pool_bytes": _gpu_pool_bytes(backend),
            "stages": {k: round(v, 2) for k, v in proof.seconds.items()},
        }
        if check and backend_name != "cpu":
            reference = block_prover.prove_block(program, native.input_words, max_log_n=max_log_n)
            run["byte_identical_to_cpu"] = reference.proof == proof.proof
        log(
            f"{n} transfers: {proof.cycles:,} cycles in {proof.segments} x 2^{proof.log_n} rows, "
            f"{wall:.1f} s ({run['proven_cycles_per_second']:,} cycles/s), "
            f"{len(proof.proof):,} bytes, verified in {verify:.2f} s"
        )
        runs.append(run)
        progress(result)
        if timed is not None:  # after the block's figures are out: this proof may not finish
            seconds.clear()
            again = block_prover.prove_block(
                program, native.input_words, max_log_n=max_log_n, backend=timed
            )
            run["kernel_times"] = kernel_times(seconds)
            run["kernel_times_prove_seconds"] = round(again.seconds["prove"], 2)
            run["kernel_times_same_proof"] = again.proof == proof.proof
            progress(result)
    return result

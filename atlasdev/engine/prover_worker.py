"""The node's prover: proves every chain's sealed blocks, in order, off the sequencer's path.

One background thread takes the chains in turn: the lowest block not yet proven is re-executed
from the store (replay.py: the same STF input the sequencer ran), run through the zkOS image on
the emulator and proven (block_prover.py); the record (status, backend, cycles, trace rows,
time, size, proof bytes, report words, or the error) goes to SQLite. The thread runs at the
lowest CPU priority (nice 19, inherited by numba's worker threads), so the sequencer's threads
get the cores first; proving then takes whatever is left. Every prover kernel is compiled with
`nogil=True`: a kernel runs for seconds, and one that held the interpreter lock would stop the
sequencer's Python code (and so block sealing) for that long, whatever the thread priorities.

A block whose re-execution does not reproduce the sealed roots, or whose run cannot be proven,
is recorded as failed with the reason, and the worker moves on (the gateway will not move a
chain's verified head past it).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from .chain_worker import ChainWorker
from .replay import ReplayError, replay_block
from .store import ProofRow, Store

if TYPE_CHECKING:
    from .airbender.backend import Backend

log = logging.getLogger("atlasdev.prover")

BACKENDS = ("cpu", "gpu", "auto", "off")


class ProverUnavailable(RuntimeError):
    """The requested backend cannot run here (one line for the CLI)."""


def resolve_backend(requested: str) -> str | None:
    """The backend to run for ``--prover``: 'cpu', 'gpu', or None for off. `gpu` needs a device
    CuPy can use (else a one-line error); `auto` takes the GPU when there is one, else the CPU,
    and logs which and why."""
    if requested not in BACKENDS:
        raise ProverUnavailable(f"--prover must be one of {', '.join(BACKENDS)}, not {requested!r}")
    if requested in ("off", "cpu"):
        return None if requested == "off" else "cpu"
    from .airbender.device import probe

    found = probe()
    if found.gpu is not None:
        log.info("prover: GPU %s (%d MiB)", found.gpu.name, found.gpu.memory_bytes >> 20)
        return "gpu"
    if requested == "gpu":
        raise ProverUnavailable(f"--prover gpu: no usable GPU ({found.reason}); use --prover cpu")
    log.info("prover: --prover auto found no usable GPU (%s); proving on the CPU", found.reason)
    return "cpu"


def gpu_segment_log() -> int:
    """Rows per segment (log) for the GPU the probe finds: as many as its memory holds."""
    from .airbender.device import probe, segment_log

    found = probe()
    if found.gpu is None:
        raise ProverUnavailable(f"no usable GPU ({found.reason})")
    log_n = segment_log(found.gpu.memory_bytes)
    log.info("prover: %s, segments of 2^%d rows", found.gpu.name, log_n)
    return log_n


def out_of_memory(exc: BaseException) -> bool:
    """CuPy's OutOfMemoryError (or the host's MemoryError): a block too big for the device is
    proven on the CPU instead, never dropped."""
    return isinstance(exc, MemoryError) or type(exc).__name__ == "OutOfMemoryError"


def airbender_backend(name: str) -> Backend:
    """The prover backend a ProverWorker named ``name`` runs (backend.named; imported here, at
    the first proof, not with the node)."""
    from .airbender.backend import named

    return named(name)


class ProverWorker(ChainWorker):
    """`stop()` abandons a proof in flight: its record stays 'proving' and is redone on the
    next start."""

    name = "prover"
    nice = 19
    # the memory a proof freed is kept this long for the next (a first proof in a fresh heap
    # takes a third longer: docs/prover.md), then handed back
    idle_after_s = 30.0

    def __init__(
        self,
        store: Store,
        chain_ids: list[int],
        backend: str = "cpu",
        prove_empty_blocks: bool = False,
    ) -> None:
        super().__init__(chain_ids)
        self.store = store
        self.backend = backend
        self._impl: Backend | None = None  # made on the first proof (imports numba or CuPy)
        self.max_log_n = 0  # rows per segment (log), set with the backend: what the GPU holds,
        # or the CPU's default (block_prover.MAX_SEGMENT_LOG)
        self.prove_empty_blocks = prove_empty_blocks  # else recorded "empty", checked by rule

    def queue_length(self, chain_id: int, head: int) -> int:
        return max(0, head - self.store.last_settled_proof(chain_id))

    def step(self, chain_id: int) -> bool:
        """Prove the chain's lowest block without a settled proof, if it is sealed."""
        head = self.store.head(chain_id)
        number = self.store.last_settled_proof(chain_id) + 1
        if head is None or number > head.number:
            return False
        block = self.store.block(chain_id, number)
        empty = block is not None and block.tx_count == 0 and block.interop_root == bytes(32)
        if empty and not self.prove_empty_blocks:
            self._record(chain_id, number, "empty")  # the identity: the gateway checks it as such
            return True
        self._record(chain_id, number, "proving")
        started = time.perf_counter()
        try:
            row = self._prove(chain_id, number)
        except Exception as exc:
            row = None
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = ""
        if self.stopping:
            return False
        if row is None:
            self._record(chain_id, number, "failed", error=error)
            log.warning("chain %d block %d: proof failed: %s", chain_id, number, error)
        else:
            self.store.put_proof(row)
            log.info(
                "chain %d block %d proven: %d cycles, %.1f s, %d bytes",
                chain_id, number, row.cycles, time.perf_counter() - started, row.size,
            )  # fmt: skip
        return True

    def went_idle(self) -> None:
        """Nothing to prove for a while: the memory the heap kept for the next proof goes back."""
        from .airbender import heap

        heap.give_back()

    def _prove(self, chain_id: int, number: int) -> ProofRow:
        from .airbender import block_prover  # heavy: numba kernels, loaded when proving starts

        try:
            replay = replay_block(self.store, chain_id, number)
        except ReplayError as exc:
            raise RuntimeError(str(exc)) from None
        if not replay.matches_sealed:
            raise RuntimeError("re-execution does not reproduce the sealed roots")
        program, words = block_prover.installed_program(), replay.result.input_words
        started = time.perf_counter()
        try:
            backend, proof = self.backend, self._prove_on_backend(program, words)
        except Exception as exc:
            # a block the prover cannot prove (its run faults or outlasts a proof) fails the
            # same on the CPU: not a reason to drop the GPU
            if self.backend == "cpu" or isinstance(exc, block_prover.BlockProofError):
                raise
            backend, proof = "cpu", self._fall_back(chain_id, number, exc, program, words)
        if proof.public != replay.result.public:
            raise RuntimeError("the proven public values differ from the sealed block's")
        return ProofRow(
            chain_id=chain_id,
            number=number,
            status="proven",
            backend=backend,
            cycles=proof.cycles,
            trace_rows=proof.trace_rows,
            prove_ms=round(1000 * (time.perf_counter() - started)),
            size=len(proof.proof),
            proof=proof.proof,
            report=np.array(proof.report, dtype="<u4").tobytes(),
            error="",
            updated_at=time.time(),
        )

    def _prove_on_backend(self, program: Any, words: np.ndarray) -> Any:
        """The block's proof on this worker's backend. A GPU proof must pass the CPU verifier
        before it is kept: the GPU backend is held to the CPU's proofs, never trusted blindly."""
        from .airbender import block_prover

        if self._impl is None:
            impl = airbender_backend(self.backend)  # CuPy compiles kernels.cu here
            gpu = self.backend == "gpu"
            if gpu:
                log.info(
                    "prover: building the GPU kernels of the zkOS AIR's quotient and LogUp "
                    "columns (about a minute the first time on this machine, cached after)"
                )
                impl.warm_up(program.air.air, program.air.logup)
            self._impl = impl
            self.max_log_n = gpu_segment_log() if gpu else block_prover.MAX_SEGMENT_LOG
        proof = block_prover.prove_block(
            program, words, max_log_n=self.max_log_n, backend=self._impl
        )
        if self.backend != "cpu":
            block_prover.verify_block(program, proof.proof, proof.report)
        return proof

    def _fall_back(
        self, chain_id: int, number: int, exc: Exception, program: Any, words: np.ndarray
    ) -> Any:
        """Prove on the CPU what the GPU did not. Out of memory: this block, and the GPU takes
        later ones in segments half the size. Anything else (no kernels, a proof the verifier rejects): the GPU is
        dropped for the rest of the run, loudly, and every later block is proven on the CPU."""
        from .airbender import block_prover

        reason = f"{type(exc).__name__}: {exc}"
        if out_of_memory(exc) and self._impl is not None:
            self._impl.release()
            smaller = max(block_prover.MIN_LOG_N, self.max_log_n - 1)
            log.warning(
                "chain %d block %d: the GPU ran out of memory (%s); proving it on the CPU, "
                "and later blocks on the GPU in segments of 2^%d rows",
                chain_id, number, reason, smaller,
            )  # fmt: skip
            self.max_log_n = smaller
        else:
            log.error(
                "chain %d block %d: the GPU backend failed (%s); proving on the CPU from now on",
                chain_id, number, reason,
            )  # fmt: skip
            self.backend, self._impl = "cpu", None  # the next block makes the CPU backend
        return block_prover.prove_block(program, words, backend=airbender_backend("cpu"))

    def _record(self, chain_id: int, number: int, status: str, error: str = "") -> None:
        self.store.put_proof(
            ProofRow(
                chain_id, number, status, self.backend, 0, 0, 0, 0, b"", b"", error, time.time()
            )
        )

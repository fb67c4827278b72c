"""The prover's seam: the heavy steps behind one interface, so that a GPU can take them.

Everything above this interface (prover.py: the transcript, the order of the steps, what goes
into the proof) is the same for every backend; below it are the steps that touch whole
matrices: building LogUp's auxiliary columns, committing columns (interpolate, coset low-degree
extension, Merkle tree over the rows), the quotient evaluation, out-of-domain evaluation, the
DEEP composition, FRI's folds and layer trees, and the openings at the query positions. A
backend keeps its matrices where it likes (a GPU: in device memory, uploaded once) and hands
back only roots, a few field elements and the openings. The CPU backend (cpu.py, numba) is the
reference: every other backend must produce byte-identical proofs (issue 8).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import device, heap
from .extension import Ext
from .fri import CommitState, FriParams, LayerOpening
from .proof import RowOpening
from .transcript import Transcript

if TYPE_CHECKING:
    from .air import Air
    from .lookup import AuxTrace, LogUp


class UnsatisfiedConstraints(ValueError):
    """The trace does not satisfy the AIR: there is nothing true to prove."""


@dataclass(frozen=True)
class QuotientInputs:
    """What the quotient evaluation reads besides the committed matrices."""

    kernel: Any  # evaluation.QuotientKernel: the constraints as a register program
    public_columns: np.ndarray  # on the trace rows (air.Air.n_pubcols, n)
    log_n: int
    log_blowup: int
    challenges: list[Ext]
    publics: list[int]
    claims: list[Ext]
    alpha_powers: np.ndarray  # one per constraint (4 words each)
    # the quotient's values are wanted at the first 2^log_points (bit-reversed) positions of
    # the blown-up coset: the coset g <w_e>, e = 2^log_points, enough points for a quotient of
    # degree below air.quotient_chunks * n (quotient_points)
    log_points: int


def quotient_points(log_n: int, chunks: int) -> int:
    """log e for a quotient of degree below chunks * n: e = n times chunks rounded up to a power
    of two. The blown-up coset's first e bit-reversed positions are the coset g <w_e>, and
    a point's next row (x w_n) lies in it too, so the constraints are evaluated there alone:
    all of the blown-up coset for degree-3 constraints at blowup 2, half of it at blowup 4."""
    return log_n + max(0, chunks - 1).bit_length()


def deep_sizes(coeffs: list[Any], log_domain: int) -> tuple[int, int]:
    """n, the columns' coefficient count, and log_blowup for DEEP's matrices, which must all be
    of one length: the CPU's and the kernels' sums check no bounds."""
    n = int(coeffs[0].shape[1])
    if any(int(mat.shape[1]) != n for mat in coeffs):
        raise ValueError("DEEP needs every matrix's columns to have the same length")
    return n, log_domain - (n.bit_length() - 1)


class Matrix(ABC):
    """Columns a backend committed to: their Merkle root, and what the prover may ask of them."""

    coeffs: Any  # in the backend's memory
    lde: Any
    tree: Any  # its layers, leaves first

    @property
    @abstractmethod
    def root(self) -> bytes: ...

    @property
    @abstractmethod
    def width(self) -> int: ...

    @property
    def nbytes(self) -> int:
        """The memory it holds: coefficients, blown-up values and Merkle layers (what keeping
        it costs)."""
        held = [self.coeffs, self.lde, *self.tree.layers]
        return sum(int(a.nbytes) for a in held)


class Backend(ABC):
    name = "backend"

    @abstractmethod
    def warm_up(self, air: Air | None = None, logup: LogUp | None = None) -> None:
        """Build what the first proof would otherwise build on the clock (a GPU's kernels, and
        those written for ``air``'s constraints and ``logup``'s columns when given)."""

    @abstractmethod
    def synchronize(self) -> None:
        """Wait until the work handed to the device so far is done, so that a stage's measured
        time is its own (kernel launches return at once)."""

    @abstractmethod
    def release(self) -> None:
        """Give cached memory back after an out-of-memory error (a GPU's pool)."""

    def memory_limit(self) -> int:
        """All the memory the prover's arrays could take: the host's free memory now and what
        this process's heap keeps free (a GPU backend: the device's); 0 where unknown."""
        return device.host_available_bytes() + heap.reusable_bytes()

    def memory_budget(self) -> int:
        """Bytes the prover's arrays may take in all: half of `memory_limit` (a GPU backend:
        its share of the device's)."""
        return self.memory_limit() // 2

    @abstractmethod
    def adopt(self, matrix: Matrix) -> Matrix:
        """A matrix the reference backend committed (a proving key's preprocessed columns),
        made usable here; the CPU backend returns it as it is."""

    def logup(
        self,
        aux: AuxTrace,
        challenges: list[Ext],
        pre_values: np.ndarray,
        main_values: Any,
        publics: list[int],
    ) -> tuple[Any, np.ndarray]:
        """LogUp's auxiliary columns on the trace rows, kept where `commit_values` takes them,
        and their last row (on the host: the claims are read from it). Here: on the CPU."""
        values = aux.build(challenges, pre_values, main_values, publics)
        return values, values[:, -1].copy()

    @abstractmethod
    def commit_values(self, values: Any, log_blowup: int) -> Matrix:
        """Commit to columns given by their values on the trace rows (width, n): a host array,
        or one this backend made (`logup`)."""

    @abstractmethod
    def commit_quotient(self, q_values: Any, log_n: int, log_blowup: int, chunks: int) -> Matrix:
        """Split the quotient (its values on the coset g <w_e>, from `quotient`) into
        ``chunks`` polynomials of degree < n and commit to them; raise
        `UnsatisfiedConstraints` if it is not of that degree (which e values can show only
        when e > chunks n: `quotient_points` makes them equal for a power-of-two count, and the
        prover checks the trace at zeta)."""

    @abstractmethod
    def quotient(
        self,
        pre: Matrix,
        main: Matrix,
        aux: Matrix,
        q: QuotientInputs,
    ) -> Any:
        """The alpha-combination of every constraint over its vanishing polynomial at the
        first 2^q.log_points positions of the blown-up coset (bit-reversed order: the coset
        g <w_e>); kept by the backend for `commit_quotient`."""

    @abstractmethod
    def evaluate_at(self, matrix: Matrix, x: Ext) -> list[Ext]:
        """Every column's polynomial at the extension point ``x``."""

    @abstractmethod
    def deep(
        self,
        matrices: list[Matrix],
        n_trace: int,
        log_domain: int,
        zeta: Ext,
        zeta_next: Ext,
        weights: np.ndarray,
        f_z: Ext,
        f_tzn: Ext,
    ) -> Any:
        """The DEEP composition on the blown-up coset, for `fri_commit`: column c (in matrix
        order) weighted by weights[c], the trace's openings at zeta_next by weights[-1]; f_z and
        f_tzn are the openings' weighted sums (the prover's, from the out-of-domain values)."""

    @abstractmethod
    def fri_commit(
        self, deep: Any, log_degree: int, params: FriParams, transcript: Transcript
    ) -> CommitState:
        """FRI's commit phase over the DEEP composition (absorbs each layer root, draws each
        folding challenge)."""

    @abstractmethod
    def fri_open(self, state: CommitState, positions: list[int]) -> list[list[LayerOpening]]:
        """Every FRI layer's opening on the path of each query position."""

    @abstractmethod
    def open(self, matrix: Matrix, positions: list[int]) -> list[RowOpening]:
        """The rows of the blown-up matrix at the query positions, with their Merkle paths (all
        at once: a GPU gathers them in a few copies, not one per row and tree level)."""


def named(name: str) -> Backend:
    """The backend `--prover NAME` runs: for 'gpu', kernels.cu on the device through CuPy
    (compiled by NVRTC on first use); for 'cpu', the numba reference."""
    if name == "gpu":
        from .gpu import cupy_module
        from .kernel_backend import KernelBackend
        from .kernels import CudaKernels

        return KernelBackend(CudaKernels(cupy_module()))
    if name != "cpu":
        raise ValueError(f"no prover backend named {name!r} (cpu or gpu)")
    from .cpu import CPU

    return CPU

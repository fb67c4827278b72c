"""Proving zkOS blocks: the image and a block's input in, a STARK proof of its public values out.

The guest runs on the emulator with a trace; the RV32IM AIR's witness is built from that trace
and proven, in segments when the run is longer than one trace (`MAX_SEGMENT_LOG`). The statement a
proof makes: "the zkOS image (its code and initial data, committed in
the preprocessed columns) run on some input exits after writing exactly these report words to
its output region": numba's status, the STF's status, and the STF's output header, which holds
the block's public values (chain id, block number, pre/post state roots, transaction
commitment, message root, interop root) and its meta (tree size, gas used, counts). A checker
of a proof reads those fields from the report it verified. The
verifier recomputes the preprocessed commitment from the image itself, once per trace size.
"""

from __future__ import annotations

import functools
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from ..zkos.block import PublicValues
from ..zkos.image import Image
from ..zkos.linker import to_elf
from ..zkos.riscv import REPORTED_OUTPUT_WORDS
from . import device, lookup, prover, rv32_air, rv32_trace, rv32_witness, verifier
from .backend import Backend
from .cpu import CPU
from .elf import load_elf
from .emulator import ST_CYCLE_LIMIT, EmulatorError, record
from .kernel_backend import KernelBackend
from .proof import MalformedProof, SegmentedProof
from .rom import Rom
from .stark import DEFAULT_PARAMS, StarkParams, VerifyingKey

REPORT_HEADER_WORDS = 2  # numba status, STF status; the STF's output header follows


class BlockProofError(ValueError):
    """The block cannot be proven (the message says why)."""


class SegmentTooBig(MemoryError):
    """A segment's working set exceeds all the memory the backend has (a GPU worker takes it
    as it takes an out-of-memory error: smaller segments)."""


def publics_of(words: list[int]) -> list[int]:
    """The STARK's public inputs: each output word as (low, high) 16-bit limbs."""
    return [v for w in words for v in (w & 0xFFFF, w >> 16)]


@dataclass(frozen=True)
class Program:
    """The image as the prover sees it: entry, ROM, initial image words, memory layout."""

    image: Image
    rom: Rom
    image_words: np.ndarray
    layout: rv32_air.MemoryLayout

    @classmethod
    def of(cls, image: Image) -> Program:
        m = image.memory
        end = max(s.address + s.size for s in image.segments)
        end = (end + 3) & ~3
        mem = np.zeros(end - m.text_base, dtype=np.uint8)
        for seg in image.segments:
            mem[seg.address - m.text_base : seg.address - m.text_base + len(seg.data)] = (
                np.frombuffer(seg.data, dtype=np.uint8)
            )
        words = mem.view("<u4").astype(np.uint32)
        text = next(s for s in image.segments if s.name == "text")
        rom = Rom.build(text.address, words[(text.address - m.text_base) // 4 :][: text.size // 4])
        k = REPORTED_OUTPUT_WORDS
        layout = rv32_air.MemoryLayout(m.text_base, end, m.input_base, m.output_base, k)
        return cls(image, rom, words, layout)

    @property
    def air(self) -> rv32_air.Rv32Air:
        return _air(self.image.entry, self.layout)


@cache
def installed_program() -> Program:
    """This installation's zkOS image as the prover and every verifier see it (built once)."""
    from ..zkos.image import load_image

    return Program.of(load_image())


@cache
def _air(entry: int, layout: rv32_air.MemoryLayout) -> rv32_air.Rv32Air:
    return rv32_air.build(entry, layout)


_KEYS: dict[tuple[bytes, int, StarkParams], prover.ProvingKey] = {}


def proving_key(
    program: Program, log_n: int, params: StarkParams = DEFAULT_PARAMS
) -> prover.ProvingKey:
    """The proving key for traces of 2^log_n rows (built once per process and size)."""
    key = (program.image.image_id, log_n, params)
    if key not in _KEYS:
        pre = rv32_trace.preprocessed(program.air, program.rom, program.image_words, log_n)
        _KEYS[key] = prover.setup(program.air.air, log_n, pre, params)
    return _KEYS[key]


def verifying_key(
    program: Program, log_n: int, params: StarkParams = DEFAULT_PARAMS
) -> VerifyingKey:
    return proving_key(program, log_n, params).vk


MAX_CYCLES = (1 << rv32_air.MAX_ROWS_LOG) - 1  # a run needs a row more than its cycles
MAX_SEGMENT_LOG = 18  # segments of 2^18 rows: faster per cycle than larger ones, under 3 GiB
MIN_LOG_N = 16  # the byte table's size
BLOCK_MAGIC = b"ATLBLK02"  # 02: FRI at rate 1/2 (2026-12-01)
OLD_MAGICS = {b"ATLBLK01": "FRI at rate 1/4"}  # formats this version no longer verifies


@dataclass
class BlockProof:
    proof: bytes  # the segment boundaries, then the segmented STARK proof
    report: list[int]  # the output words the proof's public values are
    cycles: int
    log_n: int  # rows per segment: 2^log_n
    segments: int = 1
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def public(self) -> PublicValues:
        return PublicValues.from_words(np.array(self.report[REPORT_HEADER_WORDS:], dtype=np.uint32))

    @property
    def trace_rows(self) -> int:
        return self.segments << self.log_n


def segment_log(rows: int, max_log_n: int = MAX_SEGMENT_LOG) -> int:
    """Rows per segment for a run needing ``rows`` rows: one trace when it fits, else the
    largest segments allowed."""
    return min(max(rv32_trace.trace_length(rows).bit_length() - 1, MIN_LOG_N), max_log_n)


def _check_fits(backend: Backend, log_n: int) -> None:
    """Refuse a segment bigger than all the memory there is (8 KiB a row: device.py), before
    it takes the machine's memory and gets its process killed."""
    need, limit = device.DEVICE_BYTES_PER_ROW << log_n, backend.memory_limit()
    if limit and need > limit:
        raise SegmentTooBig(
            f"a segment of 2^{log_n} rows needs about {need / 2**30:.1f} GiB and the "
            f"{backend.name} backend has {limit / 2**30:.1f} GiB: prove in smaller segments"
        )


def prove_block(
    program: Program,
    input_words: np.ndarray,
    params: StarkParams = DEFAULT_PARAMS,
    max_log_n: int = MAX_SEGMENT_LOG,
    backend: Backend = CPU,
    keep_bytes: int | None = None,
) -> BlockProof:
    """Run the block's input through the image and prove the run, in segments of at most
    2^max_log_n rows when it does not fit one, with ``backend`` doing the heavy steps.
    Segments committed before the lookup challenges are kept for their proofs, not committed
    again, while they fit in ``keep_bytes`` (by default what the backend's memory budget leaves
    beside one segment's working set: device.keep_budget)."""
    if not MIN_LOG_N <= max_log_n <= rv32_air.MAX_ROWS_LOG:
        raise ValueError(f"segments of 2^{max_log_n} rows are not supported")
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    m = program.image.memory
    payload = struct.pack("<I", len(input_words)) + np.asarray(input_words, dtype="<u4").tobytes()
    elf = load_elf(to_elf(program.image, payload), mem_size=m.end - m.text_base)
    try:  # the trace the replay reads: 12 B a cycle
        result = record(elf.mem, elf.mem_base, elf.initial_regs(), elf.entry, MAX_CYCLES)
    except EmulatorError as e:
        if e.status == ST_CYCLE_LIMIT:
            raise BlockProofError(
                f"the block's run is longer than {MAX_CYCLES:,} cycles, more than a proof covers"
            ) from None
        raise BlockProofError(f"the block's run failed: {e}") from None
    assert result.trace is not None
    seconds["execute"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rv = program.air
    try:
        run = rv32_trace.replay(rv, program.rom, result.trace.array[: result.trace.rows])
        del result  # the trace: the replayed run holds what proving needs
        log_n = segment_log(run.rows_needed, max_log_n)
        segments = run.segments(log_n)
    except rv32_trace.TraceError as e:
        raise BlockProofError(str(e)) from None
    seconds["replay"] = time.perf_counter() - t0
    _check_fits(backend, log_n)
    t0 = time.perf_counter()
    pk = proving_key(program, log_n, params)
    seconds["setup"] = time.perf_counter() - t0
    t0 = time.perf_counter()

    build = _witness_builder(backend)

    def main_of(i: int) -> Any:
        try:
            return build(rv, program.rom, run, segments[i], log_n)
        except rv32_trace.TraceError as e:
            raise BlockProofError(str(e)) from None

    aux = lookup.AuxTrace(rv.air, rv.logup)
    stages: dict[str, float] = {}
    publics = [seg.publics(run.outputs) for seg in segments]
    if keep_bytes is None:
        keep_bytes = device.keep_budget(backend.memory_budget(), log_n)
    proofs = prover.prove_segments(
        pk, len(segments), main_of, publics, aux, stages, backend, keep_bytes
    )
    seconds["prove"] = time.perf_counter() - t0
    seconds.update({f"prove: {k}": v for k, v in stages.items()})
    report = [lo | (hi << 16) for lo, hi in zip(run.outputs[::2], run.outputs[1::2], strict=True)]
    data = _encode([seg.end_pc for seg in segments[:-1]], SegmentedProof(proofs))
    return BlockProof(data, report, run.cycles, log_n, len(segments), seconds)


def _witness_builder(backend: Backend) -> Callable[..., Any]:
    """Where a segment's main columns are built: by the backend's kernels where it has them (on
    its device, next to the rest of the proof: rv32_witness.py), else by NumPy on the host."""
    if isinstance(backend, KernelBackend):
        return functools.partial(rv32_witness.segment_witness, backend.kernels)
    return lambda *args: rv32_trace.segment_witness(*args).main


def verify_block(program: Program, proof: bytes, report: list[int]) -> None:
    """Check a block proof against the report words it claims; raise InvalidProof (or
    MalformedProof) if it does not prove them."""
    boundaries, segmented = _decode(proof)
    log_n = segmented.segments[0].log_n
    count = len(segmented.segments)
    if (
        not MIN_LOG_N <= log_n <= rv32_air.MAX_ROWS_LOG
        or count << log_n > 1 << rv32_air.MAX_ROWS_LOG
    ):
        raise verifier.InvalidProof(f"{count} segments of 2^{log_n} rows are out of range")
    if len(boundaries) != count - 1:
        raise MalformedProof(f"{len(boundaries)} segment boundaries for {count} segments")
    if len(report) != program.layout.output_words or any(not 0 <= w < 1 << 32 for w in report):
        raise verifier.InvalidProof(f"a report is {program.layout.output_words} u32 words")
    limbs = publics_of(report)
    publics = [seg.publics(limbs) for seg in rv32_air.chain(program.image.entry, boundaries, log_n)]
    vk = verifying_key(program, log_n)
    verifier.verify_segments(program.air.air, vk, publics, segmented)


def proof_shape(proof: bytes) -> tuple[int, int]:
    """(segments, log2 of rows per segment) of a block proof's bytes."""
    _, segmented = _decode(proof)
    return len(segmented.segments), segmented.segments[0].log_n


def _encode(boundaries: list[int], proof: SegmentedProof) -> bytes:
    head = BLOCK_MAGIC + struct.pack(f"<I{len(boundaries)}I", len(boundaries), *boundaries)
    return head + proof.to_bytes()


def _decode(data: bytes) -> tuple[list[int], SegmentedProof]:
    magic = data[: len(BLOCK_MAGIC)]
    if magic in OLD_MAGICS:
        raise MalformedProof(
            f"a proof in an earlier atlasdev's format ({OLD_MAGICS[magic]}): prove the block again"
        )
    if magic != BLOCK_MAGIC:
        raise MalformedProof("not an atlasdev block proof (bad magic)")
    at = len(BLOCK_MAGIC)
    if len(data) < at + 4:
        raise MalformedProof("proof truncated")
    (count,) = struct.unpack_from("<I", data, at)
    if count > 1 << rv32_air.MAX_ROWS_LOG or len(data) < at + 4 + 4 * count:
        raise MalformedProof("proof truncated")
    boundaries = list(struct.unpack_from(f"<{count}I", data, at + 4))
    return boundaries, SegmentedProof.from_bytes(data[at + 4 + 4 * count :])
